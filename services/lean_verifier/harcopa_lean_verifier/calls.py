"""One ``goal.tactic`` call with Lean's "no" turned into data; used by the FPS operations.

A tactic or draft that Lean rejects (``tacticErrors``, ``parseError``, or a Pantograph error
object other than a bad index) is a TacticError value. Infrastructure failures (timeouts,
crashes) propagate as harcopa.errors exceptions for the caller to handle.
"""

from __future__ import annotations

from dataclasses import dataclass

from harcopa.domain import Goal, ProofComplete, ProofState, TacticError, TacticResult
from harcopa.errors import StateNotFound
from harcopa.metrics import child
from harcopa_lean_verifier.backends.pantograph import PantographError, goals_from_json
from harcopa_lean_verifier.metrics import TACTIC_RESULTS
from harcopa_lean_verifier.repl import LeanCommands


def counted(result: TacticResult) -> TacticResult:
    """``result``, after counting its outcome in ``harcopa_verifier_tactic_results_total``."""
    match result:
        case ProofState():
            outcome = "progress"
        case ProofComplete():
            outcome = "complete"
        case TacticError():
            outcome = "error"
        case _:
            outcome = "timeout"
    child(TACTIC_RESULTS, outcome).inc()
    return result


@dataclass(frozen=True, slots=True)
class TacticReply:
    """A successful ``goal.tactic``: the new Pantograph state and its goals."""

    state_id: int
    goals: tuple[Goal, ...]


def rejection(*messages: str) -> TacticError:
    """A TacticError with the given messages (whitespace-trimmed, never empty)."""
    return TacticError(tuple(m.strip() for m in messages if m.strip()) or ("rejected",))


async def tactic_call(
    repl: LeanCommands,
    state_id: int,
    goal_id: int,
    *,
    tactic: str | None = None,
    draft: str | None = None,
    timeout_seconds: float,
) -> TacticReply | TacticError:
    """Run ``tactic`` (or ``draft``) on one goal of a state."""
    try:
        reply = await repl.goal_tactic(
            state_id, goal_id, tactic=tactic, draft=draft, timeout_seconds=timeout_seconds
        )
    except PantographError as exc:
        kind = str(getattr(exc, "kind", ""))
        if kind == "index":
            raise StateNotFound(f"the Lean process does not know this state: {exc}") from exc
        return rejection(f"{kind}: {getattr(exc, 'desc', exc)}")
    if "nextStateId" in reply:
        return TacticReply(int(reply["nextStateId"]), goals_from_json(reply.get("goals", [])))
    if "tacticErrors" in reply:
        return rejection(*(str(m) for m in reply["tacticErrors"]))
    if "parseError" in reply:
        return rejection(f"parse error: {reply['parseError']}")
    return rejection(f"unexpected reply: {str(reply)[:300]}")
