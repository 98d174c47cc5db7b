"""Autoregressive solution generation: AR, and HAR through ``hierarchical`` (official-impl §4.3).

Called from ``pipelines.py``. One rollout extends a single solution step by step with no
backtracking: a rejected step is resampled at the same state (the attempt is consumed), the
rollout ends at the first submission (valid or not) or when its budget is spent; the
restart loop of ``search/restarts.py`` starts over with the remaining budget.

Paper mode also ends the rollout wherever the reference's raised (``paper.RolloutEnded``): a
trial whose samples are all unusable, a multi-line submission, a drafted step whose last goal
is not the anonymous ``False`` continuation, a gap proof that changed the ignored goals. The
trial that raised is charged, as the reference's ``cost = i_trial`` counts it. Strict mode
rejects the candidate (or consumes the trial) and goes on.
"""

from __future__ import annotations

import functools
import logging

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
    SolutionStep,
    state_of,
)
from harcopa.fps import is_submission, solution_state_text
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import stats_since
from harcopa_orchestrator.search import paper
from harcopa_orchestrator.search.candidates import sample, step_candidates
from harcopa_orchestrator.search.hierarchical import FLAT, Hierarchy
from harcopa_orchestrator.search.restarts import restarting
from harcopa_orchestrator.search.submission import (
    Accepted,
    AttemptDraft,
    conclude,
    gap_refusal,
    lean_said,
    malformed_submission,
    opened,
    outcome_of,
    validate,
)

logger = logging.getLogger(__name__)

FRAMEWORKS = (Framework.FORWARD_REASONING, Framework.SOLVING)


async def autoregressive(
    problem: FormalProblem, ctx: SearchContext, hierarchy: Hierarchy = FLAT
) -> ProblemResult:
    """AR (flat) or HAR (hierarchical): rollouts restarted with the remaining K_S budget."""
    pipeline = Pipeline.HAR if hierarchy.drafting else Pipeline.AR
    return await restarting(problem, ctx, pipeline, functools.partial(rollout, hierarchy=hierarchy))


async def next_step(
    ctx: SearchContext, problem: FormalProblem, shown: str, drafting: bool, draft: AttemptDraft
) -> str | None:
    """Up to ``solver_samples`` sequential single samples for the solution state ``shown``;
    the first usable step (the unusable ones are recorded on ``draft``), or None.

    The reference raised when none was usable, which ended the rollout (its restart loop then
    started over from the root with the remaining budget): paper mode does the same; strict
    mode consumes the trial and the rollout goes on.
    """
    prompt = ctx.templates.next_solution_step(problem.informal_problem, shown, drafting=drafting)
    for _ in range(ctx.params.solver_samples):
        generation = await sample(
            ctx, ctx.solver, prompt, n=1, max_tokens=ctx.params.solver_max_tokens, logprobs=False
        )
        steps = step_candidates(ctx, generation, dedup=False, on_reject=draft.rejecting(shown))
        if steps:
            return steps[0].text
    return None


async def rollout(
    problem: FormalProblem,
    ctx: SearchContext,
    index: int,
    budget: int,
    hierarchy: Hierarchy = FLAT,
) -> Attempt:
    """One autoregressive rollout with at most ``budget`` step trials, in a fresh session."""
    before = ctx.meter.snapshot()
    draft = AttemptDraft(index)
    async with opened(ctx, problem, FRAMEWORKS) as session:
        try:
            return await _trials(ctx, problem, session, draft, budget, hierarchy, before)
        except Exception as error:
            why = paper.reference_raise(ctx, error)
            if why is None:
                raise
            return draft.finish(
                AttemptOutcome.REJECTED,
                stats_since(ctx.meter, before),
                paper_budget=len(draft.steps),
                detail=f"the rollout ended as the reference's does: {why}",
            )


async def _trials(
    ctx: SearchContext,
    problem: FormalProblem,
    session: Session,
    draft: AttemptDraft,
    budget: int,
    hierarchy: Hierarchy,
    before: SearchStats,
) -> Attempt:
    """Step trials until a submission or the budget ends the rollout."""
    state = session.state(Framework.FORWARD_REASONING)
    while draft.charged < budget:
        draft.charged += 1
        shown = solution_state_text(state.goals[0])
        step = await next_step(ctx, problem, shown, hierarchy.drafting, draft)
        if step is None:
            if not ctx.strict:
                raise paper.RolloutEnded("no sample of the trial was usable")
            continue
        if is_submission(step) if ctx.strict else paper.is_submission(step):
            why = malformed_submission(step)
            if why is None:
                return await _submit(ctx, problem, session, draft, step, shown, hierarchy, before)
            draft.reject(step, f"malformed submission: {why}", shown)
            if not ctx.strict:
                raise paper.RolloutEnded(why)
            continue  # a rejected candidate
        accepted = await extend(ctx, state, step, hierarchy, shown, draft)
        if accepted is not None:
            draft.steps.append(accepted[0])
            state = accepted[1]
    return draft.finish(
        AttemptOutcome.BUDGET_EXHAUSTED,
        stats_since(ctx.meter, before),
        paper_budget=len(draft.steps),
    )


async def _submit(
    ctx: SearchContext,
    problem: FormalProblem,
    session: Session,
    draft: AttemptDraft,
    step: str,
    shown: str,
    hierarchy: Hierarchy,
    before: SearchStats,
) -> Attempt:
    """Validate the submission and conclude: the rollout ends here, valid or not."""
    validation = await validate(ctx, session, draft.steps, step)
    backward = validation.state
    if backward is None:
        said = lean_said(validation.result)
        draft.reject(step, f"invalid submission: {said}", shown)
        return draft.finish(
            AttemptOutcome.INVALID_SUBMISSION,
            stats_since(ctx.meter, before),
            paper_budget=len(draft.steps),
            submission_step=step,
            prompt_state=shown,
            detail=f"the submission did not validate: {said}",
        )
    conclusion = await conclude(ctx, problem, session, draft.steps, step, backward, hierarchy)
    return draft.finish(
        outcome_of(conclusion),
        stats_since(ctx.meter, before),
        paper_budget=len(draft.steps) + 1,
        submission_step=step,
        prompt_state=shown,
        conclusion=conclusion,
    )


async def extend(
    ctx: SearchContext,
    state: ProofState,
    step: str,
    hierarchy: Hierarchy,
    shown: str,
    draft: AttemptDraft,
) -> tuple[Accepted, ProofState] | None:
    """Draft ``step`` on the state (shown to the model as ``shown``) and close its gaps; the
    accepted step and the continuation (None, the reason recorded on ``draft``, otherwise)."""
    result = (await ctx.verifier.apply_step(state.handle, 0, step)).result
    drafted = state_of(result)
    if drafted is None or not drafted.goals:
        why = lean_said(result) if drafted is None else "the step left no goal to continue from"
        draft.reject(step, why, shown)
        return None
    if not ctx.strict and paper.odd_continuation(drafted):
        raise paper.RolloutEnded("the drafted step's last goal is not the `False` continuation")
    gaps = await hierarchy.gap_search(ctx, drafted, 1)
    refusal = gap_refusal(hierarchy, drafted, gaps)
    if refusal is not None:  # e.g. the gap proof changed the continuation
        draft.reject(step, refusal, shown)
        return None
    return Accepted(SolutionStep(step, gaps.proof, shown), gaps.scripts), gaps.state
