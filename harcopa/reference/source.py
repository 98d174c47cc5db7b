"""Reads single functions out of the reference's Python files with ``ast`` and compiles each alone.

Used by harcopa.reference.tasks. Nothing of the reference is imported (its modules import vLLM
and transformers at top level): a function's definition is compiled by itself, without
annotations or decorators, into a namespace that holds only the module-level literal constants
and the stand-ins the caller provides. The files were checked by hash first (release.py).
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from harcopa.errors import HarcopaError, InvalidRequest

Namespace = dict[str, Any]


class ReferenceShapeError(InvalidRequest):
    """The reference tree does not have the shape the importer reads (a missing function...)."""


class ReferenceMismatch(HarcopaError):
    """harcopa cannot reproduce what the reference sends (a runtime failure, not bad input)."""


def _strip(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.FunctionDef:
    """A copy of a function definition without decorators and annotations (never evaluated)."""
    if isinstance(node, ast.AsyncFunctionDef):
        raise ReferenceShapeError(f"{node.name} is a coroutine, not a prompt builder")
    node = copy.deepcopy(node)
    node.decorator_list = []
    node.returns = None
    args = node.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None:
            arg.annotation = None
    return node


class ReferenceSource:
    """One parsed file of the reference tree."""

    def __init__(self, relative: str, text: str) -> None:
        self.relative = relative
        try:
            self.tree = ast.parse(text, filename=relative)
        except SyntaxError as error:
            message = f"reference file {relative} does not parse: {error}"
            raise ReferenceShapeError(message) from error

    def constants(self) -> Namespace:
        """Module-level ``NAME = <literal>`` assignments (others are skipped)."""
        found: Namespace = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    continue
        return found

    def definition(self, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
        """The definition named ``Class.method`` or ``function`` at module level."""
        body: list[ast.stmt] = self.tree.body
        node: ast.stmt | None = None
        for part in qualname.split("."):
            node = next(
                (
                    n
                    for n in body
                    if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                    and n.name == part
                ),
                None,
            )
            if node is None:
                raise ReferenceShapeError(f"reference file {self.relative} has no {qualname}")
            body = node.body if isinstance(node, ast.ClassDef) else []
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            raise ReferenceShapeError(f"{qualname} in {self.relative} is not a function")
        return node

    def function(self, qualname: str, namespace: Namespace) -> Callable[..., Any]:
        """``qualname`` compiled alone with ``namespace`` as its globals (a method takes self)."""
        node = _strip(self.definition(qualname))
        module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
        code = compile(module, f"<reference {self.relative}:{qualname}>", "exec")
        namespace.setdefault("__builtins__", builtins)
        for name, value in self.constants().items():
            namespace.setdefault(name, value)
        exec(code, namespace)  # defines the function only; nothing of the reference runs here
        function: Callable[..., Any] = namespace[node.name]
        return function

    def system_expression(
        self, user_content: str, namespace: Namespace, within: str | None = None
    ) -> Callable[[Any], Any]:
        """The system-message content of the chat call whose user content is ``user_content``.

        ``user_content`` names the function called (or the variable passed) for the user
        message. Returns the content expression compiled as a function of ``self``; every such
        chat call in the file (or in ``within``) must have the same system expression.
        """
        scope: ast.AST = self.tree if within is None else self.definition(within)
        found = {ast.dump(node): node for node in _system_contents(scope, user_content)}
        if len(found) != 1:
            where = within or self.relative
            raise ReferenceShapeError(
                f"{where}: expected one system message beside a user message from"
                f" {user_content}, found {len(found)}"
            )
        (node,) = found.values()
        arguments = ast.arguments(
            posonlyargs=[], args=[ast.arg("self")], kwonlyargs=[], kw_defaults=[], defaults=[]
        )
        expression = ast.fix_missing_locations(ast.Expression(ast.Lambda(arguments, node)))
        namespace.setdefault("__builtins__", builtins)
        compiled: Callable[[Any], Any] = eval(
            compile(expression, f"<reference {self.relative}: system message>", "eval"), namespace
        )
        return compiled


def _chat_entry(node: ast.expr) -> tuple[str, ast.expr] | None:
    """(role, content expression) of a ``{"role": ..., "content": ...}`` literal."""
    if not isinstance(node, ast.Dict):
        return None
    entries: Mapping[object, ast.expr] = {
        key.value: value
        for key, value in zip(node.keys, node.values, strict=True)
        if isinstance(key, ast.Constant)
    }
    role, content = entries.get("role"), entries.get("content")
    if not isinstance(role, ast.Constant) or not isinstance(role.value, str) or content is None:
        return None
    return role.value, content


def _names(node: ast.expr, name: str) -> bool:
    """True when ``node`` is ``name``, or a call of ``name`` / ``x.name``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr == name
    return isinstance(node, ast.Name) and node.id == name


def _system_contents(scope: ast.AST, user_content: str) -> Iterator[ast.expr]:
    for node in ast.walk(scope):
        if not isinstance(node, ast.List):
            continue
        entries = [e for e in map(_chat_entry, node.elts) if e is not None]
        roles = dict(entries)
        if "system" in roles and "user" in roles and _names(roles["user"], user_content):
            yield roles["system"]
