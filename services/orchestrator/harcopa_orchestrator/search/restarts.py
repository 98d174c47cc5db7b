"""The restart-with-remaining-budget loop of AR, HAR, BFS and H-BFS (official-impl §4.4, §4.5).

``restarting`` runs rollouts (each in a fresh verifier session) until one solves the problem
or their step candidates add up to K_S. Used by ``search/autoregressive.py`` and
``search/best_first.py``; whole-draft pipelines use ``record_all`` for their fixed tries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from harcopa.domain import (
    Attempt,
    AttemptOutcome,
    FormalProblem,
    Framework,
    Pipeline,
    ProblemResult,
    SearchStats,
    Session,
)
from harcopa.errors import HarcopaError, InvalidRequest
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import stats_since
from harcopa_orchestrator.search import paper
from harcopa_orchestrator.search.submission import opened

logger = logging.getLogger(__name__)

#: ``(problem, ctx, attempt index, remaining candidate budget) -> attempt``.
Rollout = Callable[[FormalProblem, SearchContext, int, int], Awaitable[Attempt]]


#: ``(session, attempt index) -> attempt`` for pipelines whose tries share one session.
SessionTry = Callable[[Session, int], Awaitable[Attempt]]


def error_attempt(index: int, error: HarcopaError, stats: SearchStats) -> Attempt:
    """The attempt an exception ended: REJECTED when the verifier refused the problem itself
    (InvalidRequest: e.g. a statement that does not parse — Lean's "no", final), otherwise
    ERROR (an infrastructure failure: never a mathematical result; the problem is retried)."""
    rejected = isinstance(error, InvalidRequest)
    logger.warning(
        "attempt %d %s: %s: %s",
        index,
        "rejected" if rejected else "failed",
        type(error).__name__,
        error,
    )
    return Attempt(
        index=index,
        outcome=AttemptOutcome.REJECTED if rejected else AttemptOutcome.ERROR,
        stats=stats,
        detail=f"{type(error).__name__}: {error}"[:500],
    )


async def guarded(ctx: SearchContext, index: int, run: Awaitable[Attempt]) -> Attempt:
    """``run``, or the attempt its exception means (``error_attempt``).

    A bad candidate never gets here (it is a rejected candidate); this is for a verifier or
    model server that stays unavailable, or a problem the verifier cannot parse.
    """
    before = ctx.meter.snapshot()
    try:
        return await run
    except HarcopaError as error:
        return error_attempt(index, error, stats_since(ctx.meter, before))


def problem_result(
    problem: FormalProblem,
    ctx: SearchContext,
    pipeline: Pipeline,
    attempts: list[Attempt],
    started: float,
) -> ProblemResult:
    """The result of ``attempts`` on ``problem`` (``started``: its ``time.monotonic()``)."""
    return ProblemResult(
        problem_id=problem.problem_id,
        pipeline=pipeline.value,
        mode=ctx.mode.value,
        attempts=tuple(attempts),
        seconds=time.monotonic() - started,
    )


async def in_one_session(
    problem: FormalProblem,
    ctx: SearchContext,
    pipeline: Pipeline,
    frameworks: Sequence[Framework],
    run_try: SessionTry,
    *,
    stop_at_success: bool = True,
) -> ProblemResult:
    """``tries_for(pipeline)`` tries in one verifier session (WG, H-WG, H-SA).

    States are immutable, so sharing a session equals the reference's fresh REPL per try.
    An ERROR attempt (or a session that cannot be opened) ends the problem. Paper mode: a try
    that raises anything but an infrastructure failure is a rejected try and the next follows.
    """
    started = time.monotonic()
    attempts = ctx.resumed_attempts()
    if attempts and attempts[-1].solved and stop_at_success:
        return problem_result(problem, ctx, pipeline, attempts, started)
    if len(attempts) >= ctx.params.tries_for(pipeline):
        return problem_result(problem, ctx, pipeline, attempts, started)
    before = ctx.meter.snapshot()
    try:
        async with opened(ctx, problem, frameworks) as session:
            while len(attempts) < ctx.params.tries_for(pipeline):
                index = len(attempts)
                ctx.start_attempt(index)
                run = run_try(session, index)
                if not ctx.strict:
                    run = paper.next_try_on_exception(ctx, index, run)
                attempt = await guarded(ctx, index, run)
                attempts.append(await ctx.record(attempt))
                if attempt.outcome is AttemptOutcome.ERROR:
                    break
                if attempt.solved and stop_at_success:
                    break
    except HarcopaError as error:
        attempt = error_attempt(len(attempts), error, stats_since(ctx.meter, before))
        attempts.append(await ctx.record(attempt))
    return problem_result(problem, ctx, pipeline, attempts, started)


async def restarting(
    problem: FormalProblem, ctx: SearchContext, pipeline: Pipeline, rollout: Rollout
) -> ProblemResult:
    """Rollouts with the remaining K_S budget until solved or spent.

    Deviation from the reference: a rollout that consumed no candidate (every sample was
    filtered out before the first was charged) ends the loop, where the reference would
    restart forever; an ERROR attempt ends it too.

    Resume: with one try (the paper's setting) the rollouts a previous process finished count
    against K_S and the loop continues after them; with several tries a resumed problem
    starts over, since attempts do not record which try they belonged to.
    """
    started = time.monotonic()
    budget = ctx.params.ks
    tries = ctx.params.tries_for(pipeline)
    attempts = ctx.resumed_attempts() if tries == 1 else []
    if any(a.solved for a in attempts):
        return problem_result(problem, ctx, pipeline, attempts, started)
    if attempts and attempts[-1].charged == 0:
        return problem_result(
            problem, ctx, pipeline, attempts, started
        )  # the loop had already ended
    resumed_used = sum(a.charged for a in attempts)
    for _ in range(tries):
        used, resumed_used = resumed_used, 0
        while used < budget:
            index = len(attempts)
            ctx.start_attempt(index)
            attempt = await guarded(ctx, index, rollout(problem, ctx, index, budget - used))
            attempts.append(await ctx.record(attempt))
            used += attempt.charged
            if attempt.solved or attempt.outcome is AttemptOutcome.ERROR:
                break
            if attempt.charged == 0:
                break
        if attempts and (attempts[-1].solved or attempts[-1].outcome is AttemptOutcome.ERROR):
            break
    return problem_result(problem, ctx, pipeline, attempts, started)
