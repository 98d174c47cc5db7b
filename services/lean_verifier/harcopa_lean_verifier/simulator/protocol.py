"""lean-sim's request layer: line parsing, payload decoding and the Pantograph commands.

Called by the simulator's entry point once per request line; returns the one JSON reply line.
Follows pantograph-protocol.md §4 (framing, required fields), §6 (error shapes) and §7.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harcopa_lean_verifier.simulator import commands, os_probe
from harcopa_lean_verifier.simulator.state import Repl

Reply = dict[str, Any]
#: (Pantograph struct name, {field: (kind, required)}) per command.
FIELDS: dict[str, tuple[str, dict[str, tuple[str, bool]]]] = {
    "reset": ("Reset", {}),
    "stat": ("Stat", {}),
    "options.print": ("OptionsPrint", {}),
    "options.set": ("OptionsSet", {}),
    "expr.echo": ("ExprEcho", {"expr": ("str", True), "type": ("str", False)}),
    "env.describe": ("EnvDescribe", {}),
    "env.catalog": ("EnvCatalog", {}),
    "env.inspect": ("EnvInspect", {"name": ("str", True)}),
    "env.add": (
        "EnvAdd",
        {
            "name": ("str", True),
            "type": ("str", True),
            "value": ("str", True),
            "isTheorem": ("bool", True),
        },
    ),
    "goal.start": ("GoalStart", {"expr": ("str", False), "copyFrom": ("str", False)}),
    "goal.tactic": (
        "GoalTactic",
        {
            "stateId": ("nat", True),
            "goalId": ("nat", True),
            "tactic": ("str", False),
            "expr": ("str", False),
            "have": ("str", False),
            "let": ("str", False),
            "calc": ("str", False),
            "conv": ("bool", False),
            "draft": ("str", False),
            "binderName": ("str", False),
        },
    ),
    "goal.continue": (
        "GoalContinue",
        {"target": ("nat", True), "branch": ("nat", False), "goals": ("strs", False)},
    ),
    "goal.delete": ("GoalDelete", {"stateIds": ("nats", True)}),
    "goal.print": (
        "GoalPrint",
        {
            "stateId": ("nat", True),
            "rootExpr": ("bool", False),
            "parentExpr": ("bool", False),
            "goals": ("bool", False),
            "extraMVars": ("strs", False),
        },
    ),
    "frontend.process": (
        "FrontendProcess",
        {
            "file": ("str", False),
            "fileName": ("str", False),
            "invocations": ("bool", True),
            "sorrys": ("bool", True),
            "typeErrorsAsGoals": ("bool", True),
            "newConstants": ("bool", True),
        },
    ),
    "sim.io": (
        "SimIo",
        {
            "connect": ("str", False),
            "write": ("str", False),
            "bytes": ("nat", False),
            "spin": ("nat", False),
        },
    ),
}
UNSUPPORTED = ("env.save", "env.load", "env.module_read", "goal.save", "goal.load")


def error(kind: str, desc: str) -> Reply:
    return {"error": kind, "desc": desc}


def dumps(reply: Reply) -> str:
    """Compact JSON, keys sorted (Lean's ordered maps), raw UTF-8."""
    return json.dumps(reply, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def parse_line(line: str) -> tuple[str, object] | Reply:
    """``cmd {json}`` or ``{"cmd": ..., "payload": ...}`` -> (command, payload) or an error."""
    text = line.strip()
    try:
        if text.startswith("{"):
            obj = json.loads(text)
            if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str):
                return error("command", "Unable to parse json: Pantograph.Protocol.Command.cmd")
            return obj["cmd"], obj.get("payload")
        cmd, sep, rest = line.rstrip("\r\n").partition(" ")
        if not sep:
            return error("command", f"Unknown command {cmd}")
        return cmd, json.loads(rest)
    except json.JSONDecodeError as exc:
        return error("command", f"Unable to parse json: simulator: {exc}")


def _check(kind: str, value: object) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "nat":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == "nats":
        return isinstance(value, list) and all(_check("nat", v) for v in value)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def decode(command: str, payload: object) -> tuple[dict[str, Any], Reply | None]:
    """Lean's derived FromJson: required fields required, ``null`` = absent, extras ignored.

    Returns the decoded arguments, or an error reply as the second element.
    """
    struct, fields = FIELDS[command]
    prefix = f"Unable to parse json: Pantograph.Protocol.{struct}"
    if not isinstance(payload, dict):
        return {}, error("command", f"{prefix}: expected an object")
    out: dict[str, Any] = {}
    for name, (kind, required) in fields.items():
        value = payload.get(name)
        if value is None:
            if required:
                return {}, error("command", f"{prefix}.{name}: property not found: {name}")
            continue
        if not _check(kind, value):
            got = json.dumps(value, ensure_ascii=False)
            return {}, error("command", f"{prefix}.{name}: expected {kind}, got {got}")
        out[name] = value
    if command == "options.set":
        out.update({k: v for k, v in payload.items() if isinstance(v, bool)})
    return out, None


Handler = Callable[[Repl, dict[str, Any]], Reply]
HANDLERS: dict[str, Handler] = {
    "reset": commands.reset,
    "stat": commands.stat,
    "options.print": commands.options_print,
    "options.set": commands.options_set,
    "expr.echo": commands.expr_echo,
    "env.describe": commands.env_describe,
    "env.catalog": commands.env_catalog,
    "env.inspect": commands.env_inspect,
    "env.add": commands.env_add,
    "goal.start": commands.goal_start,
    "goal.tactic": commands.goal_tactic,
    "goal.continue": commands.goal_continue,
    "goal.delete": commands.goal_delete,
    "goal.print": commands.goal_print,
    "frontend.process": commands.frontend_process,
    "sim.io": lambda repl, args: os_probe.sim_io(args),  # lean-sim only (os_probe.py)
}


def execute(repl: Repl, command: str, payload: object) -> Reply:
    """Run one decoded request."""
    if command in UNSUPPORTED:
        return error("command", f"{command} is not supported by the simulator")
    handler = HANDLERS.get(command)
    if handler is None:
        return error("command", f"Unknown command {command}")
    args, failure = decode(command, payload)
    if failure is not None:
        return failure
    return handler(repl, args)


def fault_text(command: str, payload: object) -> str | None:
    """The text fault regexes are matched against: tactic/draft text, or the file text."""
    if not isinstance(payload, dict):
        return None
    keys = {
        "goal.tactic": ("tactic", "draft", "expr", "have", "let", "calc"),
        "frontend.process": ("file",),
    }.get(command, ())
    for key in keys:
        if isinstance(payload.get(key), str):
            return str(payload[key])
    return None
