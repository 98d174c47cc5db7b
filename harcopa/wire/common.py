"""Conversions of the types in ``common.proto``: modes, frameworks, Lean objects, problems, usage.

Part of the ``harcopa.wire`` package, the only proto <-> domain conversion code.
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf import json_format

from harcopa import domain as d
from harcopa.v1 import common_pb2 as c

K = TypeVar("K")
V = TypeVar("V")

_MODES: dict[d.Mode, c.Mode] = {d.Mode.STRICT: c.MODE_STRICT, d.Mode.PAPER: c.MODE_PAPER}
_FRAMEWORKS: dict[d.Framework, c.Framework] = {
    d.Framework.FORWARD_REASONING: c.FRAMEWORK_FORWARD_REASONING,
    d.Framework.SOLVING: c.FRAMEWORK_SOLVING,
    d.Framework.FORWARD_SOLVING: c.FRAMEWORK_FORWARD_SOLVING,
    d.Framework.STATEMENT: c.FRAMEWORK_STATEMENT,
}


def inverse(table: dict[K, V]) -> dict[V, K]:
    """The reverse lookup of an enum table."""
    return {value: key for key, value in table.items()}


_MODES_R, _FRAMEWORKS_R = inverse(_MODES), inverse(_FRAMEWORKS)


def to_mode(mode: d.Mode) -> c.Mode:
    return _MODES[mode]


def from_mode(value: c.Mode) -> d.Mode:
    """MODE_UNSPECIFIED means strict, our default; an unknown value is a ValueError."""
    if value == c.MODE_UNSPECIFIED:
        return d.Mode.STRICT
    if value not in _MODES_R:
        raise ValueError(f"unknown mode {value}")
    return _MODES_R[value]


def to_framework(framework: d.Framework) -> c.Framework:
    return _FRAMEWORKS[framework]


def from_framework(value: c.Framework) -> d.Framework:
    if value not in _FRAMEWORKS_R:
        raise ValueError(f"unknown framework {value}")
    return _FRAMEWORKS_R[value]


# ----------------------------------------------------------------------------- lean objects


def to_variable(var: d.Variable) -> c.Variable:
    msg = c.Variable(name=var.name or "", type=var.type)
    if var.value is not None:
        msg.value = var.value
    return msg


def from_variable(msg: c.Variable) -> d.Variable:
    return d.Variable(
        name=msg.name or None, type=msg.type, value=msg.value if msg.HasField("value") else None
    )


def to_goal(goal: d.Goal) -> c.Goal:
    return c.Goal(
        variables=[to_variable(x) for x in goal.variables],
        target=goal.target,
        name=goal.name or "",
        sibling_dep=list(goal.sibling_dep),
        is_conversion=goal.is_conversion,
        mvar_id=goal.mvar_id,
    )


def from_goal(msg: c.Goal) -> d.Goal:
    return d.Goal(
        variables=tuple(from_variable(x) for x in msg.variables),
        target=msg.target,
        name=msg.name or None,
        sibling_dep=tuple(msg.sibling_dep),
        is_conversion=msg.is_conversion,
        mvar_id=msg.mvar_id,
    )


def to_handle(handle: d.StateHandle) -> c.StateHandle:
    return c.StateHandle(session_id=handle.session_id, state_id=handle.state_id)


def from_handle(msg: c.StateHandle) -> d.StateHandle:
    return d.StateHandle(session_id=msg.session_id, state_id=msg.state_id)


def to_state(state: d.ProofState) -> c.ProofState:
    return c.ProofState(handle=to_handle(state.handle), goals=[to_goal(g) for g in state.goals])


def from_state(msg: c.ProofState) -> d.ProofState:
    return d.ProofState(
        handle=from_handle(msg.handle), goals=tuple(from_goal(g) for g in msg.goals)
    )


def to_tactic_result(result: d.TacticResult) -> c.TacticResult:
    match result:
        case d.ProofState():
            return c.TacticResult(state=to_state(result))
        case d.ProofComplete(state=state):
            return c.TacticResult(complete=to_state(state))
        case d.TacticError(messages=messages):
            return c.TacticResult(error=c.TacticError(messages=list(messages)))
        case d.TacticTimeout(seconds=seconds):
            return c.TacticResult(timeout=c.TacticTimeout(seconds=seconds))
    raise TypeError(f"not a tactic result: {result!r}")


def from_tactic_result(msg: c.TacticResult) -> d.TacticResult:
    kind = msg.WhichOneof("outcome")
    if kind == "state":
        return from_state(msg.state)
    if kind == "complete":
        return d.ProofComplete(from_state(msg.complete))
    if kind == "error":
        return d.TacticError(tuple(msg.error.messages))
    if kind == "timeout":
        return d.TacticTimeout(msg.timeout.seconds)
    raise ValueError("empty TacticResult")


# ----------------------------------------------------------------------------- problems


def to_problem(problem: d.FormalProblem) -> c.FormalProblem:
    msg = c.FormalProblem(
        benchmark=problem.benchmark,
        index=problem.index,
        formal_statement=problem.formal_statement,
        informal_problem=problem.informal_problem,
        informal_answer=problem.informal_answer,
        informal_solution=problem.informal_solution,
        metainfo=[c.MetaEntry(key=k, json_value=j) for k, j in problem.metainfo],
    )
    if problem.header is not None:
        msg.header = problem.header
    if problem.formal_solution_draft is not None:
        msg.formal_solution_draft = problem.formal_solution_draft
    return msg


def from_problem(msg: c.FormalProblem) -> d.FormalProblem:
    return d.FormalProblem(
        benchmark=msg.benchmark,
        index=msg.index,
        formal_statement=msg.formal_statement,
        informal_problem=msg.informal_problem,
        informal_answer=msg.informal_answer,
        informal_solution=msg.informal_solution,
        header=msg.header if msg.HasField("header") else None,
        formal_solution_draft=(
            msg.formal_solution_draft if msg.HasField("formal_solution_draft") else None
        ),
        metainfo=tuple((e.key, e.json_value) for e in msg.metainfo),
    )


def to_parsed(parsed: d.ParsedProblem) -> c.ParsedProblem:
    msg = c.ParsedProblem(
        intros=[to_variable(x) for x in parsed.intros],
        answer_type=parsed.answer_type,
        outros=[to_variable(x) for x in parsed.outros],
        warnings=list(parsed.warnings),
    )
    if parsed.formal_answer is not None:
        msg.formal_answer = parsed.formal_answer
    return msg


def from_parsed(msg: c.ParsedProblem) -> d.ParsedProblem:
    return d.ParsedProblem(
        intros=tuple(from_variable(x) for x in msg.intros),
        answer_type=msg.answer_type,
        outros=tuple(from_variable(x) for x in msg.outros),
        formal_answer=msg.formal_answer if msg.HasField("formal_answer") else None,
        warnings=tuple(msg.warnings),
    )


# ----------------------------------------------------------------------------- usage


def to_usage(usage: d.TokenUsage) -> c.TokenUsage:
    return c.TokenUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_prompt_tokens=usage.cached_prompt_tokens,
    )


def from_usage(msg: c.TokenUsage) -> d.TokenUsage:
    return d.TokenUsage(msg.prompt_tokens, msg.completion_tokens, msg.cached_prompt_tokens)


# ----------------------------------------------------------------------------- JSON storage


def to_json(message: Any) -> str:
    """A message as one line of protobuf JSON with the proto field names (the stored format)."""
    return str(json_format.MessageToJson(message, indent=None, preserving_proto_field_name=True))
