"""Resuming a problem inside the restart loops: finished rollouts count against K_S, a
solved or stalled problem is not re-run, an ERROR attempt is retried under its index."""

from __future__ import annotations

from harcopa import domain as d
from harcopa.prompts import PromptTemplates
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import Meter
from harcopa_orchestrator.search.restarts import in_one_session, restarting

PROBLEM = d.FormalProblem("toy", 0, "example (answer : ℕ) (h : answer = 1) : answer = 1 := sorry")


def _ctx(prior: tuple[d.Attempt, ...], **params: int) -> tuple[SearchContext, list[d.Attempt]]:
    recorded: list[d.Attempt] = []

    async def record(attempt: d.Attempt) -> None:
        recorded.append(attempt)

    ctx = SearchContext(
        verifier=None,  # type: ignore[arg-type]  # the scripted rollouts never call it
        solver=None,  # type: ignore[arg-type]
        prover=None,
        params=d.SearchParams(**params),
        mode=d.Mode.STRICT,
        templates=PromptTemplates.load(),
        meter=Meter(),
        on_attempt=record,
        prior=prior,
    )
    return ctx, recorded


def _attempt(index: int, outcome: d.AttemptOutcome, candidates: int) -> d.Attempt:
    return d.Attempt(index, outcome, charged=candidates)


async def test_restarting_continues_with_the_remaining_budget() -> None:
    prior = (
        _attempt(0, d.AttemptOutcome.WRONG_ANSWER, 4),
        _attempt(1, d.AttemptOutcome.INVALID_SUBMISSION, 3),
        _attempt(2, d.AttemptOutcome.ERROR, 0),  # the crash: retried as attempt 2
    )
    budgets: list[tuple[int, int]] = []

    async def rollout(problem, ctx, index, remaining):  # type: ignore[no-untyped-def]
        budgets.append((index, remaining))
        return _attempt(index, d.AttemptOutcome.WRONG_ANSWER, min(2, remaining))

    ctx, recorded = _ctx(prior, ks=10)
    result = await restarting(PROBLEM, ctx, d.Pipeline.AR, rollout)
    assert budgets == [(2, 3), (3, 1)]  # 10 - 4 - 3 = 3 left, then 1
    assert [a.index for a in result.attempts] == [0, 1, 2, 3]
    assert [a.index for a in recorded] == [2, 3]  # only new attempts are written again
    assert sum(a.charged for a in result.attempts) == 10


async def test_restarting_does_not_rerun_a_solved_problem() -> None:
    async def rollout(problem, ctx, index, remaining):  # type: ignore[no-untyped-def]
        raise AssertionError("a solved problem must not be searched again")

    prior = (_attempt(0, d.AttemptOutcome.WRONG_ANSWER, 5), _attempt(1, d.AttemptOutcome.SOLVED, 1))
    ctx, recorded = _ctx(prior)
    result = await restarting(PROBLEM, ctx, d.Pipeline.HAR, rollout)
    assert result.solved and recorded == []
    stalled = (_attempt(0, d.AttemptOutcome.BUDGET_EXHAUSTED, 0),)
    ctx, recorded = _ctx(stalled)
    assert not (await restarting(PROBLEM, ctx, d.Pipeline.AR, rollout)).solved


async def test_whole_draft_tries_resume_after_the_finished_ones() -> None:
    async def run_try(session, index):  # type: ignore[no-untyped-def]
        raise AssertionError("all tries were already done")

    prior = tuple(_attempt(i, d.AttemptOutcome.REJECTED, 1) for i in range(8))
    ctx, recorded = _ctx(prior)
    result = await in_one_session(
        PROBLEM, ctx, d.Pipeline.WG, (d.Framework.FORWARD_SOLVING,), run_try
    )
    assert len(result.attempts) == 8 and recorded == []
