"""CoPA: statement autoformalization, then solution drafting and gap proving on the statement.

Called from ``pipelines.py`` as ``autoformalized(solution_drafting, per_gap_search)``. The
reference has the solution half of the chain only (official-impl §4.8, §7); the statement half
is ours. Per problem:

1. statement autoformalization: up to K_W single samples of the statement-autoformalization
   prompt (P6) from the informal problem and answer; each passes the text filters
   (``harcopa.fps.screen_statement``) and then the verifier (OpenSession of the statement
   framework: it compiles to exactly one goal and FPS-parses, with an ``answer`` the conclusion
   mentions); the first valid candidate wins;
2. solution drafting and per-gap proving on the accepted statement: H-SA's own code
   (``solution_drafting``) with the informal solution, recorded as a copa run.

Attempts are H-SA's tries; each carries the accepted statement as its ``prompt_state`` and the
first also the statement stage's cost. A problem without a valid statement gets one REJECTED
attempt whose ``detail`` counts the rejections per filter; an infrastructure failure during the
stage is an ERROR attempt (retried), never a rejected statement. On resume the accepted
statement is read back from the stored attempts, so it is never autoformalized twice.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from harcopa.domain import (
    Attempt,
    AttemptOutcome,
    FinishReason,
    FormalProblem,
    Framework,
    Pipeline,
    ProblemResult,
    SearchStats,
)
from harcopa.errors import HarcopaError, InvalidRequest
from harcopa.fps import STATEMENT_FILTERS, screen_statement
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import stats_since
from harcopa_orchestrator.search.candidates import sample
from harcopa_orchestrator.search.hierarchical import GapSearch, Hierarchy, drafted
from harcopa_orchestrator.search.restarts import error_attempt, problem_result
from harcopa_orchestrator.search.submission import opened

logger = logging.getLogger(__name__)


class Drafter(Protocol):
    """Solution drafting on a formal statement (``solution_drafting``'s signature)."""

    def __call__(
        self,
        problem: FormalProblem,
        ctx: SearchContext,
        hierarchy: Hierarchy = ...,
        *,
        pipeline: Pipeline = ...,
        stage_stats: SearchStats | None = ...,
    ) -> Awaitable[ProblemResult]: ...


@dataclass(frozen=True, slots=True)
class StatementStage:
    """What the statement stage found: the accepted statement (None: none was valid), the
    candidates it sampled, the rejections per filter and its cost."""

    statement: str | None
    candidates: int
    rejections: Counter[str]
    stats: SearchStats

    def summary(self) -> str:
        counts = ", ".join(
            f"{f} {self.rejections[f]}" for f in STATEMENT_FILTERS if self.rejections[f]
        )
        return f"no valid statement among {self.candidates} candidates ({counts or 'none sampled'})"


async def lean_filter(ctx: SearchContext, problem: FormalProblem, statement: str) -> str | None:
    """Why Lean refuses ``statement`` for ``problem`` (None: it is valid).

    The verifier compiles header + statement, requires exactly one goal and parses it as an FPS
    problem; its InvalidRequest is Lean's "no" (data). Any other failure is infrastructure and
    propagates.
    """
    candidate = dataclasses.replace(problem, formal_statement=statement)
    try:
        async with opened(ctx, candidate, (Framework.STATEMENT,)) as session:
            if session.parsed.formal_answer is None:
                return "no_answer"
    except InvalidRequest as error:
        logger.debug("statement of %s rejected by Lean: %s", problem.problem_id, error)
        return "lean"
    return None


async def autoformalize(ctx: SearchContext, problem: FormalProblem) -> StatementStage:
    """Sample statements until one passes every filter, K_W candidates at most."""
    before = ctx.meter.snapshot()
    prompt = ctx.templates.statement_autoformalization(
        problem.informal_problem, problem.informal_answer, problem.effective_header
    )
    budget = ctx.params.tries_for(Pipeline.COPA)
    rejections: Counter[str] = Counter()
    verdicts: dict[str, str | None] = {}  # the Lean verdict per distinct statement
    for candidate in range(1, budget + 1):
        generation = await sample(
            ctx, ctx.solver, prompt, n=1, max_tokens=ctx.params.solver_max_tokens, logprobs=False
        )
        completion = generation.completions[0] if generation.completions else None
        screened = screen_statement(
            completion.text if completion is not None else "",
            truncated=completion is not None and completion.finish_reason is FinishReason.LENGTH,
        )
        statement = screened.statement
        if statement is None:
            rejections[screened.filter] += 1
            continue
        if statement not in verdicts:
            verdicts[statement] = await lean_filter(ctx, problem, statement)
        verdict = verdicts[statement]
        if verdict is None:
            return StatementStage(statement, candidate, rejections, stats_since(ctx.meter, before))
        rejections[verdict] += 1
    return StatementStage(None, budget, rejections, stats_since(ctx.meter, before))


def _rejected(index: int, stage: StatementStage) -> Attempt:
    return Attempt(
        index=index,
        outcome=AttemptOutcome.REJECTED,
        charged=stage.candidates,
        paper_budget=math.inf,  # no draft (the whole-draft family's convention)
        stats=stage.stats,
        detail=stage.summary(),
    )


async def copa(
    problem: FormalProblem, ctx: SearchContext, *, drafter: Drafter, hierarchy: Hierarchy
) -> ProblemResult:
    """The statement stage (unless a stored attempt already holds its statement), then
    ``drafter`` on the accepted statement."""
    started = time.monotonic()
    prior = ctx.resumed_attempts()
    statement = next((a.prompt_state for a in prior if a.prompt_state), None)
    if statement is None and prior:  # the stage found no valid statement: final
        return problem_result(problem, ctx, Pipeline.COPA, prior, started)
    stage_stats = None
    if statement is None:
        ctx.start_attempt(0)
        before = ctx.meter.snapshot()
        try:
            stage = await autoformalize(ctx, problem)
        except HarcopaError as error:
            failed = error_attempt(0, error, stats_since(ctx.meter, before))
            return problem_result(problem, ctx, Pipeline.COPA, [await ctx.record(failed)], started)
        if stage.statement is None:
            rejected = await ctx.record(_rejected(0, stage))
            return problem_result(problem, ctx, Pipeline.COPA, [rejected], started)
        statement, stage_stats = stage.statement, stage.stats
    accepted = dataclasses.replace(problem, formal_statement=statement)
    return await drafter(accepted, ctx, hierarchy, pipeline=Pipeline.COPA, stage_stats=stage_stats)


def autoformalized(
    drafter: Drafter, gap_search: GapSearch
) -> Callable[[FormalProblem, SearchContext], Awaitable[ProblemResult]]:
    """CoPA: the statement stage, then ``drafter`` whose gaps ``gap_search`` proves."""
    return functools.partial(copa, drafter=drafter, hierarchy=drafted(gap_search))
