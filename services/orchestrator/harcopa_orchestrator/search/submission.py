"""Sessions, submissions and attempt records shared by the step-level solution searches.

Called by ``search/autoregressive.py`` and ``search/best_first.py``: validate a submission on
the solving state, read the answer, attempt the backward proof, run RPE, and in strict mode
re-check the assembled solution as a whole file (official-impl §2.4–2.7, DESIGN §2.4).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from harcopa.domain import (
    AppliedTactic,
    Attempt,
    AttemptOutcome,
    Equivalence,
    FormalProblem,
    Framework,
    ProofSearchResult,
    ProofState,
    RejectedCandidate,
    SearchStats,
    Session,
    SolutionStep,
    TacticError,
    TacticResult,
    TacticTimeout,
    Validation,
)
from harcopa.errors import HarcopaError, InvalidRequest
from harcopa.fps import strict_audit, submission_line
from harcopa_orchestrator.context import CLOSE_ON_CANCEL_SECONDS, SearchContext
from harcopa_orchestrator.search.assembly import inline_gap_proofs, solving_file
from harcopa_orchestrator.search.candidates import Rejection
from harcopa_orchestrator.search.concurrent import in_order
from harcopa_orchestrator.search.hierarchical import GapOutcome, Hierarchy
from harcopa_orchestrator.search.prover import prove

logger = logging.getLogger(__name__)


@asynccontextmanager
async def opened(
    ctx: SearchContext, problem: FormalProblem, frameworks: Sequence[Framework]
) -> AsyncIterator[Session]:
    """A verifier session for ``problem`` that is closed on exit, whatever happens."""
    session = await ctx.verifier.open_session(problem, frameworks, ctx.mode)
    cancelled = False
    try:
        yield session
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        closing = ctx.verifier.close_session(session.session_id)
        try:
            if cancelled:  # a shutdown: a verifier that is down must not hold it up (the
                # session's lease ends it on the verifier)
                await asyncio.wait_for(closing, CLOSE_ON_CANCEL_SECONDS)
            else:
                await closing
        except (HarcopaError, TimeoutError) as error:
            logger.warning("closing session %s failed: %s", session.session_id, error or "timeout")


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted step with the per-gap scripts that inline its gap proofs."""

    step: SolutionStep
    scripts: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Conclusion:
    """What happened to a validated submission."""

    submission: str | None
    rpe_tactic: str | None
    backward_proof: tuple[AppliedTactic, ...] | None
    final_check_ok: bool | None
    solved: bool
    detail: str = ""
    strict_audit_passed: bool | None = None
    forbidden_axioms: tuple[str, ...] = ()


def malformed_submission(step: str) -> str | None:
    """Why a submission step is malformed (e.g. several lines), or None when it is fine."""
    try:
        submission_line(step)
    except InvalidRequest as error:
        return str(error)
    return None


async def validate(
    ctx: SearchContext, session: Session, path: Sequence[Accepted], step: str
) -> Validation:
    """Validate path + ``step`` on ``h.mp``; its ``state`` is ``h.mpr`` when it validated."""
    return await ctx.verifier.validate_submission(
        session.session_id, [a.step.text for a in path], step
    )


def lean_said(result: TacticResult) -> str:
    """Why Lean refused a step or submission, in words: its first message (trimmed) or the
    timeout."""
    if isinstance(result, TacticTimeout):
        return f"Lean timed out after {result.seconds:.0f} s"
    if isinstance(result, TacticError) and result.messages:
        return "Lean rejected it: " + " ".join(result.messages[0].split())
    return "Lean rejected it"


def gap_refusal(hierarchy: Hierarchy, drafted: ProofState, gaps: GapOutcome) -> str | None:
    """Why a drafted step whose gap search ended as ``gaps`` is not accepted, or None."""
    if not gaps.proved:
        if hierarchy.drafting:
            return "a gap could not be proven"
        left = len(drafted.goals) - 1
        return f"the step left {left} gap{'s' if left != 1 else ''} (a flat pipeline accepts none)"
    if len(gaps.state.goals) != 1 or not gaps.state.goals[0].same_shape(drafted.goals[-1]):
        return "the continuation changed: the gap proof altered the goal after the step"
    return None


async def conclude(
    ctx: SearchContext,
    problem: FormalProblem,
    session: Session,
    path: Sequence[Accepted],
    step: str,
    backward_state: ProofState,
    hierarchy: Hierarchy,
) -> Conclusion:
    """Read the submitted answer, try the backward proof, run RPE, re-check (strict)."""
    submission = await ctx.verifier.read_submission(backward_state.handle)
    backward: ProofSearchResult | None = None
    rpe: str | None = None
    jobs: list[Awaitable[ProofSearchResult | Equivalence]] = []
    if hierarchy.backward_proof and ctx.prover is not None:
        jobs.append(prove(ctx, backward_state, 0))
    if submission is not None and session.parsed.formal_answer is not None:
        jobs.append(ctx.verifier.check_equivalence(session.session_id, submission))
    results = await in_order(jobs)
    for result in results:
        if isinstance(result, ProofSearchResult):
            backward = result
        else:
            rpe = result.tactic
    final_ok: bool | None = None
    audited: bool | None = None
    forbidden: tuple[str, ...] = ()
    detail = "" if rpe else "RPE found no equivalence proof"
    if session.parsed.formal_answer is None:
        detail = "unsupervised problem: no ground truth to compare with"
    if ctx.strict and rpe is not None:
        final_ok, detail, forbidden = await final_check(ctx, problem, session, path, step)
    elif rpe is not None:  # paper mode accepted it: would strict mode's filter have?
        steps = [inline_gap_proofs(a.step.text, a.scripts) or a.step.text for a in path]
        audited = strict_audit("\n".join([*steps, step]))[0]
    return Conclusion(
        submission=submission,
        rpe_tactic=rpe,
        backward_proof=backward.proof if backward is not None and backward.success else None,
        final_check_ok=final_ok,
        solved=rpe is not None and final_ok is not False,
        detail=detail,
        strict_audit_passed=audited,
        forbidden_axioms=forbidden,
    )


async def final_check(
    ctx: SearchContext,
    problem: FormalProblem,
    session: Session,
    path: Sequence[Accepted],
    step: str,
) -> tuple[bool, str, tuple[str, ...]]:
    """Assemble steps (gap proofs inlined) + submission and check the whole file."""
    parts: list[str] = []
    for accepted in path:
        inlined = inline_gap_proofs(accepted.step.text, accepted.scripts)
        if inlined is None:
            return False, "cannot inline gap proofs: gaps and proofs do not match", ()
        parts.append(inlined)
    return await check_text(ctx, solving_file(problem, session.parsed, "\n".join([*parts, step])))


async def check_text(ctx: SearchContext, text: str) -> tuple[bool, str, tuple[str, ...]]:
    """Check an assembled file; ``(ok, why not, axioms outside the allowlist)``."""
    check = await ctx.verifier.check_file(text)
    if check.ok:
        return True, "", check.forbidden_axioms
    errors = "; ".join(m.text for m in check.messages)[:500]
    forbidden = (
        f", forbidden axioms {list(check.forbidden_axioms)}" if check.forbidden_axioms else ""
    )
    detail = f"final check failed (sorries={check.sorries}{forbidden}): {errors}"
    return False, detail, check.forbidden_axioms


#: At most this many rejected candidates are recorded per attempt; the rest are only counted.
MAX_REJECTED = 512
#: At most this many characters of a rejected candidate's text (and of its prompt state).
MAX_REJECTED_CHARS = 2000
#: At most this many characters of a rejection's reason.
MAX_REASON_CHARS = 300


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(slots=True)
class AttemptDraft:
    """Mutable builder of an :class:`Attempt` while a rollout runs; ``reject`` collects the
    candidates that were sampled and not accepted (bounded by MAX_REJECTED)."""

    index: int
    steps: list[Accepted] = field(default_factory=list)
    charged: int = 0
    rejected: list[RejectedCandidate] = field(default_factory=list)
    dropped: int = 0

    def reject(self, text: str, reason: str, prompt_state: str) -> None:
        """Record one candidate that was not accepted and why."""
        if len(self.rejected) >= MAX_REJECTED:
            self.dropped += 1
            return
        self.rejected.append(
            RejectedCandidate(
                clip(text, MAX_REJECTED_CHARS),
                clip(reason, MAX_REASON_CHARS),
                clip(prompt_state, MAX_REJECTED_CHARS),
            )
        )

    def rejecting(self, prompt_state: str) -> Rejection:
        """A filter's ``on_reject`` that records here, at the solution state ``prompt_state``."""
        return lambda text, reason: self.reject(text, reason, prompt_state)

    def rejections(self) -> tuple[RejectedCandidate, ...]:
        """The recorded rejections, with a last entry counting those left out."""
        if not self.dropped:
            return tuple(self.rejected)
        more = RejectedCandidate(
            "", f"{self.dropped} more rejected candidates not recorded (at most {MAX_REJECTED})"
        )
        return (*self.rejected, more)

    def finish(
        self,
        outcome: AttemptOutcome,
        stats: SearchStats,
        *,
        paper_budget: float,
        submission_step: str | None = None,
        prompt_state: str = "",
        conclusion: Conclusion | None = None,
        detail: str = "",
    ) -> Attempt:
        c = conclusion
        return Attempt(
            index=self.index,
            outcome=outcome,
            steps=tuple(a.step for a in self.steps),
            submission_step=submission_step,
            submission=c.submission if c else None,
            rpe_tactic=c.rpe_tactic if c else None,
            backward_proof=c.backward_proof if c else None,
            final_check_ok=c.final_check_ok if c else None,
            charged=self.charged,
            paper_budget=paper_budget,
            stats=stats,
            detail=detail or (c.detail if c else ""),
            prompt_state=prompt_state,
            strict_audit_passed=c.strict_audit_passed if c else None,
            forbidden_axioms=c.forbidden_axioms if c else (),
            rejected=self.rejections(),
        )


def outcome_of(conclusion: Conclusion) -> AttemptOutcome:
    if conclusion.solved:
        return AttemptOutcome.SOLVED
    if conclusion.rpe_tactic is not None:
        return AttemptOutcome.REJECTED  # right answer, but the assembled solution failed
    return AttemptOutcome.WRONG_ANSWER


def draft_budget(step_count: int | None) -> float:
    """The WG-family budget of one attempt: its draft's step count, ``inf`` without a draft."""
    return math.inf if step_count is None else float(step_count)
