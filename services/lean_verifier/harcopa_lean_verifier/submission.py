"""Submission validation on the solving framework (official-impl §2.4, DESIGN.md §2.4).

Called by verifier.py with the session's solving state ``[h.mp, h.mpr, w]``. ``strict`` mode (our
default) drafts the path (its ``sorry`` gaps are the prover's business) and then runs the
submission as a tactic on the path's continuation: the submission itself must contain no
``sorry`` and may leave no hole. ``paper`` mode is the reference's rule: path + submission as
one ``{ ... }`` tactic on ``h.mp``, where any ``sorry`` simply closes its goal. Success in both
leaves exactly ``[h.mpr]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from harcopa.domain import Goal, Mode, TacticError, TacticTimeout
from harcopa.errors import InvalidRequest
from harcopa.fps import find_banned, strict_violation, submission_line
from harcopa_lean_verifier.calls import TacticReply, rejection

#: Runs ``tactic`` or ``draft`` on (state, goal); the session layer supplies it.
Call = Callable[..., Awaitable[TacticReply | TacticError | TacticTimeout]]
Outcome = TacticReply | TacticError | TacticTimeout


def refuse_text(mode: Mode, text: str, *, allow_sorry: bool, what: str) -> TacticError | None:
    """The rejection of ``text`` by ``mode``'s filter, or None; ``what`` names the text.

    Paper mode: the reference's banned tokens (plain substrings). Strict mode: every construct
    ``harcopa.fps.strict_violation`` refuses, with its reason.
    """
    if mode is Mode.PAPER:
        banned = find_banned(text, allow_sorry=allow_sorry, policy="paper")
        return None if banned is None else rejection(f"{what} contains the banned token `{banned}`")
    found = strict_violation(text, allow_sorry=allow_sorry)
    if found is None:
        return None
    return rejection(f"{what} is refused by the strict filter: {found.describe()}")


def check_submission_text(mode: Mode, path: Sequence[str], submission: str) -> TacticError | None:
    """Text checks before Lean: one-line submission, the mode's filter on path and submission
    (strict: the submission's own line may not use ``sorry``)."""
    try:
        line = submission_line(submission)
    except InvalidRequest as exc:
        return rejection(str(exc))
    for step in path:
        refused = refuse_text(mode, step, allow_sorry=True, what="a path step")
        if refused is not None:
            return refused
    paper = mode is Mode.PAPER  # the reference tests the comment-free line; we test it all
    return refuse_text(
        mode, line if paper else submission, allow_sorry=paper, what="the submission"
    )


def _only_mpr(goals: Sequence[Goal]) -> TacticError | None:
    names = [g.name for g in goals]
    if names != ["h.mpr"]:
        return rejection(f"the submission leaves goals {names}; expected exactly ['h.mpr']")
    return None


async def validate_paper(
    call: Call, state_id: int, path: Sequence[str], submission: str
) -> Outcome:
    """The reference's validation: ``{\\n<path>\\n<submission>\\n}`` as a tactic on ``h.mp``."""
    block = "{\n" + "\n".join([*path, submission]) + "\n}"
    outcome = await call(state_id, 0, tactic=block)
    if isinstance(outcome, TacticReply):
        return _only_mpr(outcome.goals) or outcome
    return outcome


async def validate_strict(
    call: Call, state_id: int, goals: Sequence[Goal], path: Sequence[str], submission: str
) -> tuple[Outcome, list[int]]:
    """Strict validation; returns the outcome and the intermediate state ids to delete."""
    before = {g.mvar_id for g in goals}
    intermediate: list[int] = []
    cont = 0
    if path:
        drafted = await call(state_id, 0, draft="by\n" + "\n".join(path) + "\nsorry")
        if not isinstance(drafted, TacticReply):
            return drafted, intermediate
        intermediate.append(drafted.state_id)
        new = [i for i, g in enumerate(drafted.goals) if g.mvar_id not in before]
        if not new:
            return rejection("the path closes `h.mp` before the submission"), intermediate
        state_id, goals, cont = drafted.state_id, drafted.goals, new[-1]
    known = {g.mvar_id for g in goals}
    submitted = await call(state_id, cont, tactic=submission)
    if not isinstance(submitted, TacticReply):
        return submitted, intermediate
    holes = [g for g in submitted.goals if g.mvar_id not in known]
    if holes:
        intermediate.append(submitted.state_id)
        return rejection(f"the submission leaves {len(holes)} unproven hole(s)"), intermediate
    return await _close_path_gaps(call, submitted, intermediate)


async def _close_path_gaps(
    call: Call, state: TacticReply, intermediate: list[int]
) -> tuple[Outcome, list[int]]:
    """Close the path's drafted gaps (``sorry``) so only ``h.mpr`` remains.

    The gaps' proofs are found separately and re-checked with the assembled solution; what is
    validated here is the submission.
    """
    for _ in range(len(state.goals)):
        if not state.goals or state.goals[0].name == "h.mpr":
            break
        intermediate.append(state.state_id)
        closed = await call(state.state_id, 0, tactic="sorry")
        if not isinstance(closed, TacticReply):
            return closed, intermediate
        state = closed
    return (_only_mpr(state.goals) or state), intermediate
