"""Formal statements as text: construction from benchmark fields and binder recovery.

Used by the benchmark loaders, by ``parse_fps`` (which needs the source text of binder types,
official-impl §2.1 step 6) and by the Lean-free ``parse_fps_from_source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harcopa.errors import InvalidRequest
from harcopa.fps.lexing import remove_comments
from harcopa.fps.tokens import IDENTIFIER

_OPENERS = {"(": ")", "[": "]", "{": "}", "⦃": "⦄"}
_HEAD = re.compile(r"\s*(?:example\b|(?:theorem|lemma)\s+\S+)")
_TRAILER = re.compile(r"\s*:=\s*(?:by\s+)?sorry\s*$")
_NAMED_INSTANCE = re.compile(f"\\s*({IDENTIFIER.pattern})\\s*:(?!=)")


def benchmark_statement(formal_problem: str, formal_answer: str) -> str:
    """The statement of a FormalMath500 / MiniF2F / Putnam record (official-impl §1.4)."""
    return f"example\n{formal_problem}\n: {formal_answer}\n:= sorry"


@dataclass(frozen=True, slots=True)
class Binder:
    """One binder group of a statement, e.g. ``(a b : ℕ)`` or ``[Fintype α]``.

    ``names`` is empty for an anonymous instance binder; ``type`` is the source text (None for
    a group such as ``{α}`` that gives no type).
    """

    bracket: str
    names: tuple[str, ...]
    type: str | None
    text: str

    @property
    def is_instance(self) -> bool:
        return self.bracket == "["


@dataclass(frozen=True, slots=True)
class RecoveredStatement:
    """A statement split into binder groups and conclusion (comments removed)."""

    binders: tuple[Binder, ...]
    conclusion: str

    def named_types(self) -> dict[str, str]:
        """Source type text per binder name (later groups win, as shadowing does in Lean)."""
        types: dict[str, str] = {}
        for binder in self.binders:
            for name in binder.names:
                if binder.type is not None:
                    types[name] = binder.type
        return types

    def anonymous_instance_types(self) -> list[str]:
        return [b.type for b in self.binders if not b.names and b.type is not None]


def _match_group(text: str, start: int) -> int:
    """Index of the bracket closing the group opening at ``start`` (same bracket type only)."""
    opener = text[start]
    closer = _OPENERS[opener]
    depth = 0
    for index in range(start, len(text)):
        if text[index] == opener:
            depth += 1
        elif text[index] == closer:
            depth -= 1
            if depth == 0:
                return index
    raise InvalidRequest(f"unbalanced {opener!r} in the statement's binders")


def _binder(group: str) -> Binder:
    bracket, inner = group[0], group[1:-1]
    if bracket == "[":
        named = _NAMED_INSTANCE.match(inner)
        if named is None:
            return Binder(bracket, (), inner.strip(), group)
        return Binder(bracket, (named.group(1),), inner[named.end() :].strip(), group)
    colon = inner.find(":")
    if colon == -1:
        return Binder(bracket, tuple(inner.split()), None, group)
    return Binder(bracket, tuple(inner[:colon].split()), inner[colon + 1 :].strip(), group)


def recover_binders(statement: str) -> RecoveredStatement:
    """Split ``example <binders> : <conclusion> := sorry`` into binder groups and conclusion.

    Comments are removed first. After the head (``example``, or ``theorem``/``lemma`` and a
    name) every top-level bracket group is captured, nesting counted per bracket type; the
    scan stops at the first top-level ``:``. Raises InvalidRequest on malformed text.
    """
    text = remove_comments(statement)
    head = _HEAD.match(text)
    if head is None:
        raise InvalidRequest("statement does not start with `example`, `theorem` or `lemma`")
    index, binders = head.end(), []
    while index < len(text):
        char = text[index]
        if char in _OPENERS:
            end = _match_group(text, index)
            binders.append(_binder(text[index : end + 1]))
            index = end + 1
        elif char == ":" and not text.startswith(":=", index):
            return RecoveredStatement(tuple(binders), _conclusion(text[index + 1 :]))
        elif char.isspace():
            index += 1
        else:
            raise InvalidRequest(f"unexpected {char!r} between the statement's binders")
    raise InvalidRequest("statement has no top-level `:` before its conclusion")


def _conclusion(rest: str) -> str:
    trailer = _TRAILER.search(rest)
    if trailer is None:
        raise InvalidRequest("statement does not end with `:= sorry`")
    return " ".join(rest[: trailer.start()].split())
