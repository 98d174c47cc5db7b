"""Whole-solution generation: WG, and H-WG through ``hierarchical`` (official-impl §4.6, §4.7).

Called from ``pipelines.py``. Up to K_W single-sample tries, stopping at the first success.
Each draft is applied on goal ``h`` of the forward-solving framework; WG needs no goal left,
H-WG proves the gaps one at a time. Every try is recorded, including a completion without a
parsable draft (the reference dropped those, official-impl §8 item 10), whose budget is
``inf`` as in the reference's notebook.

Paper mode applies no banned-token filter to the draft (the reference has none here) and, for
a draft that never assigns ``?w``, still searches the gaps before rejecting it (the reference
proved them, then its RPE raised on the missing submission); strict mode filters banned tokens
and rejects such a draft before any gap search.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from harcopa.domain import (
    Attempt,
    AttemptOutcome,
    FormalProblem,
    Framework,
    Pipeline,
    ProblemResult,
    ProofState,
    SearchStats,
    Session,
)
from harcopa.fps import (
    extract_single_block,
    find_banned,
    initial_solution_state_text,
    replace_block,
    split_solution_steps,
    strict_audit,
)
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import stats_since
from harcopa_orchestrator.search import paper
from harcopa_orchestrator.search.assembly import inline_gap_proofs, solving_file
from harcopa_orchestrator.search.candidates import sample
from harcopa_orchestrator.search.hierarchical import FLAT, GapOutcome, Hierarchy
from harcopa_orchestrator.search.restarts import in_one_session
from harcopa_orchestrator.search.submission import check_text, draft_budget

logger = logging.getLogger(__name__)


async def whole_generation(
    problem: FormalProblem, ctx: SearchContext, hierarchy: Hierarchy = FLAT
) -> ProblemResult:
    """WG (flat) or H-WG (hierarchical): K_W whole drafts, first success wins."""
    pipeline = Pipeline.H_WG if hierarchy.drafting else Pipeline.WG
    run_try = functools.partial(one_draft, ctx, problem, hierarchy)
    return await in_one_session(problem, ctx, pipeline, (Framework.FORWARD_SOLVING,), run_try)


@dataclass(frozen=True, slots=True)
class DraftTry:
    """Builds the Attempt of one whole-draft try."""

    index: int
    before: SearchStats
    draft: str | None = None
    prompt_state: str = ""

    def done(
        self, ctx: SearchContext, outcome: AttemptOutcome, charged: int = 1, **fields: object
    ) -> Attempt:
        steps = None
        if self.draft is not None:
            steps = len(split_solution_steps(replace_block(self.draft)))
        return Attempt(
            index=self.index,
            outcome=outcome,
            draft=self.draft,
            charged=charged,
            paper_budget=draft_budget(steps),
            stats=stats_since(ctx.meter, self.before),
            prompt_state=self.prompt_state,
            **fields,  # type: ignore[arg-type]
        )


async def gap_search(ctx: SearchContext, hierarchy: Hierarchy, state: ProofState) -> GapOutcome:
    """The draft's gap search; in paper mode an exception in it (a changed ignored goal) is a
    gap left unproven, as the reference's H-WG and H-SA caught their prover's exceptions."""
    try:
        return await hierarchy.gap_search(ctx, state, 0)
    except Exception as error:
        if paper.reference_raise(ctx, error) is None:
            raise
        return GapOutcome(False, state)


async def one_draft(
    ctx: SearchContext,
    problem: FormalProblem,
    hierarchy: Hierarchy,
    session: Session,
    index: int,
) -> Attempt:
    """One sampled draft: parse, apply, prove gaps (H-WG), RPE, final check (strict)."""
    root = session.state(Framework.FORWARD_SOLVING)
    shown = initial_solution_state_text(root.goals[0])
    attempt = DraftTry(index, ctx.meter.snapshot(), prompt_state=shown)
    prompt = ctx.templates.whole_solution(
        problem.informal_problem, shown, drafting=hierarchy.drafting
    )
    generation = await sample(
        ctx, ctx.solver, prompt, n=1, max_tokens=ctx.params.solver_max_tokens, logprobs=False
    )
    draft = extract_single_block(generation.completions[0].text if generation.completions else "")
    if not draft:
        return attempt.done(ctx, AttemptOutcome.REJECTED, detail="no single code block")
    attempt = DraftTry(index, attempt.before, draft, shown)
    banned = None
    if ctx.strict:
        banned = find_banned(draft, allow_sorry=hierarchy.drafting, policy=ctx.banned_policy)
    if banned is not None:
        return attempt.done(ctx, AttemptOutcome.REJECTED, detail=f"banned token {banned!r}")
    state = (await ctx.verifier.apply_step(root.handle, 0, draft, whole=True)).state
    if state is None:
        return attempt.done(ctx, AttemptOutcome.REJECTED, detail="the draft does not compile")
    # A draft that never assigns ``?w`` cannot be solved; the reference handed the ``w : Prop``
    # goal to the prover with the gaps and then crashed in RPE (official-impl §4.7).
    submission = await ctx.verifier.read_submission(state.handle)
    if submission is None and ctx.strict:
        return attempt.done(ctx, AttemptOutcome.REJECTED, detail="the draft never submits")
    gaps = await gap_search(ctx, hierarchy, state)
    if submission is None:
        return attempt.done(ctx, AttemptOutcome.REJECTED, detail="the draft never submits")
    if not gaps.proved:
        outcome = AttemptOutcome.GAP_UNPROVEN if hierarchy.drafting else AttemptOutcome.REJECTED
        return attempt.done(ctx, outcome, submission=submission, detail="goals left unproven")
    rpe = None
    if session.parsed.formal_answer is not None:
        rpe = (await ctx.verifier.check_equivalence(session.session_id, submission)).tactic
    if rpe is None:
        return attempt.done(
            ctx, AttemptOutcome.WRONG_ANSWER, submission=submission, gap_proof=gaps.proof
        )
    outcome, fields = await check_proved_draft(
        ctx, draft, gaps, lambda text: solving_file(problem, session.parsed, text)
    )
    return attempt.done(ctx, outcome, 1, submission=submission, rpe_tactic=rpe, **fields)


async def check_proved_draft(
    ctx: SearchContext, draft: str, gaps: GapOutcome, file_of: Callable[[str], str]
) -> tuple[AttemptOutcome, dict[str, object]]:
    """A draft whose gaps are all proved: in strict mode, the draft with its gap proofs inlined,
    made a file by ``file_of``, is checked as one file (the final check and axiom audit); in
    paper mode it is audited against the strict filter. Its outcome and the Attempt's fields."""
    final_ok, detail = None, ""
    forbidden: tuple[str, ...] = ()
    inlined = inline_gap_proofs(draft, gaps.scripts)
    if ctx.strict:
        final_ok, detail = False, "cannot inline gap proofs"
        if inlined is not None:
            final_ok, detail, forbidden = await check_text(ctx, file_of(inlined))
    outcome = AttemptOutcome.SOLVED if final_ok is not False else AttemptOutcome.REJECTED
    return outcome, {
        "final_check_ok": final_ok,
        "detail": detail,
        "gap_proof": gaps.proof,
        "forbidden_axioms": forbidden,
        "strict_audit_passed": None if ctx.strict else strict_audit(inlined or draft)[0],
    }
