"""H-SA: CoPA solution drafting used as a solver (official-impl §4.8).

Called from ``pipelines.py`` as ``hierarchical(solution_drafting, per_gap_search)``, and by the
CoPA pipeline (``search/autoformalization.py``) on the statement it autoformalized. The model
sees the informal answer and solution and the answer-bearing statement; a draft is accepted
when it type-checks on the statement (drafted ``sorry``s become gaps) and passes the
forward-only check (its body, without the final ``exact``, elaborates on ``False`` after
``exfalso``). Success = an accepted draft whose gaps are all proven (no RPE).

Budget: paper mode runs all K_W outer tries of up to K_W inner samples each (up to 64
samples, as the reference); strict mode stops at the first success. Paper mode also applies no
banned-token filter to drafts, its session skips the FPS parse of the problem (the verifier
compiles the statement as it is), and its system prompt follows the reference's rule on the
solver's model name (``paper.drafting_system_prompt``). The header bug of the
reference (official-impl §8 item 7) does not exist here: the verifier always compiles
header + statement. Every attempt records the statement its drafts were prompted with as its
``prompt_state`` (the SFT export of a CoPA run reads the autoformalized statement there).
"""

from __future__ import annotations

import dataclasses
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
    state_of,
)
from harcopa.errors import InvalidRequest
from harcopa.fps import (
    collapse_by_sorry,
    extract_single_block,
    find_banned,
    is_submission,
)
from harcopa.fps.steps import FENCE
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.search import paper
from harcopa_orchestrator.search.assembly import statement_file
from harcopa_orchestrator.search.candidates import sample
from harcopa_orchestrator.search.hierarchical import FLAT, Hierarchy
from harcopa_orchestrator.search.restarts import in_one_session
from harcopa_orchestrator.search.whole_generation import DraftTry, check_proved_draft, gap_search

logger = logging.getLogger(__name__)


async def solution_drafting(
    problem: FormalProblem,
    ctx: SearchContext,
    hierarchy: Hierarchy = FLAT,
    *,
    pipeline: Pipeline = Pipeline.H_SA,
    stage_stats: SearchStats | None = None,
) -> ProblemResult:
    """H-SA: outer tries, each drafting until one draft is accepted, then proving its gaps.

    ``pipeline`` names the run's pipeline in the result (CoPA drafts as H-SA does);
    ``stage_stats``, the work of an earlier stage of the same problem, is added to the first
    try's stats so the problem's cost stays complete.
    """

    async def run_try(session: Session, index: int) -> Attempt:
        attempt = await outer_try(ctx, problem, hierarchy, session, index)
        if stage_stats is None or index != 0:
            return attempt
        return dataclasses.replace(attempt, stats=attempt.stats + stage_stats)

    return await in_one_session(
        problem, ctx, pipeline, (Framework.STATEMENT,), run_try, stop_at_success=ctx.strict
    )


def _body_without_submission(draft: str) -> str:
    lines = draft.rstrip().split("\n")
    return "\n".join(lines[:-1])


async def accept_draft(
    ctx: SearchContext, text: str, statement: ProofState, exfalso: ProofState
) -> tuple[str, ProofState] | None:
    """The draft and its gap state when it passes the reference's checks, else None."""
    block = extract_single_block(text)
    if not block or (not ctx.strict and text.count(FENCE) == 1):
        return None  # paper mode: H-SA takes a complete block only (not text before a fence)
    draft = collapse_by_sorry(block)
    if not (is_submission(draft) if ctx.strict else paper.is_submission(draft, draft=True)):
        return None
    if ctx.strict and find_banned(draft, allow_sorry=True, policy=ctx.banned_policy) is not None:
        return None
    gaps = (await ctx.verifier.apply_step(statement.handle, 0, draft, whole=True)).state
    if gaps is None:
        return None
    body = _body_without_submission(draft)
    if body.strip():
        forward = await ctx.verifier.apply_step(exfalso.handle, 0, body)
        if forward.state is None:
            return None
    return draft, gaps


async def outer_try(
    ctx: SearchContext,
    problem: FormalProblem,
    hierarchy: Hierarchy,
    session: Session,
    index: int,
) -> Attempt:
    """Up to K_W inner samples until a draft is accepted; then its gaps, one by one."""
    attempt = DraftTry(index, ctx.meter.snapshot(), prompt_state=problem.formal_statement.rstrip())
    statement = session.state(Framework.STATEMENT)
    exfalso = state_of(await ctx.verifier.run_tactic(statement.handle, 0, "exfalso"))
    if exfalso is None:
        raise InvalidRequest("`exfalso` failed on the problem statement")
    prompt = ctx.templates.solution_drafting(
        problem.informal_problem,
        problem.informal_answer,
        problem.informal_solution,
        problem.formal_statement.rstrip(),
    )
    if not ctx.strict:
        prompt = paper.with_system(prompt, paper.drafting_system_prompt(ctx.solver_name))
    inner = ctx.params.tries_for(Pipeline.H_SA)
    for sample_index in range(1, inner + 1):
        generation = await sample(
            ctx, ctx.solver, prompt, n=1, max_tokens=ctx.params.solver_max_tokens, logprobs=False
        )
        text = generation.completions[0].text if generation.completions else ""
        accepted = await accept_draft(ctx, text, statement, exfalso)
        if accepted is not None:
            return await prove_draft(ctx, problem, hierarchy, attempt, sample_index, *accepted)
    return attempt.done(ctx, AttemptOutcome.REJECTED, inner, detail="no draft was accepted")


async def prove_draft(
    ctx: SearchContext,
    problem: FormalProblem,
    hierarchy: Hierarchy,
    attempt: DraftTry,
    samples: int,
    draft: str,
    gap_state: ProofState,
) -> Attempt:
    attempt = dataclasses.replace(attempt, draft=draft)
    gaps = await gap_search(ctx, hierarchy, gap_state)
    if not gaps.proved:
        return attempt.done(ctx, AttemptOutcome.GAP_UNPROVEN, samples, detail="a gap is unproven")
    outcome, fields = await check_proved_draft(
        ctx, draft, gaps, lambda text: statement_file(problem, text)
    )
    return attempt.done(ctx, outcome, samples, **fields)
