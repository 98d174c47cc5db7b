"""The run-duration bound of ``harcopa eval`` (harcopa_cli.estimate): requests and tokens per
problem from the budgets, and the warning threshold."""

from __future__ import annotations

from harcopa import domain as d
from harcopa_cli.estimate import Bound, Speed, describe, problem_bound


def _spec(pipeline: d.Pipeline, **params: int) -> d.RunSpec:
    return d.RunSpec(pipeline, "minif2f_solving", params=d.SearchParams().merged(**params))


def test_step_pipelines_at_the_paper_budgets() -> None:
    # HAR: 80 trials x (8 solver requests + 16 prover requests); 8 x 2048 + 16 x 4 x 256 tokens.
    assert problem_bound(_spec(d.Pipeline.HAR)) == Bound(80 * 24, 80 * (8 * 2048 + 16 * 4 * 256))
    assert problem_bound(_spec(d.Pipeline.AR)) == Bound(80 * 8, 80 * 8 * 2048)
    # BFS: one n=8 request per expansion, 10 expansions for 80 candidates.
    assert problem_bound(_spec(d.Pipeline.BFS)) == Bound(10, 10 * 8 * 2048)
    assert problem_bound(_spec(d.Pipeline.BFS, ks=9)) == Bound(2, 2 * 8 * 2048)


def test_whole_draft_pipelines_assume_four_gaps_per_draft() -> None:
    assert problem_bound(_spec(d.Pipeline.WG)) == Bound(8, 8 * 2048)
    assert problem_bound(_spec(d.Pipeline.H_WG, kw=2)) == Bound(
        2 + 2 * 4 * 16, 2 * 2048 + 2 * 4 * 16 * 4 * 256
    )
    assert problem_bound(_spec(d.Pipeline.H_SA, kw=2)).requests == 4 + 2 * 4 * 16


def test_describe_warns_from_an_hour() -> None:
    smoke = _spec(d.Pipeline.AR, ks=1, solver_samples=1, solver_max_tokens=100)
    line, warn = describe(smoke, 4, Speed(prompt_seconds=1.0, tokens_per_second=100.0, samples=1))
    assert not warn and "at most 0m08s" in line and "4 requests, 400 completion tokens" in line
    line, warn = describe(_spec(d.Pipeline.HAR), 370, Speed(2.0, 10.0, 8))
    assert warn and "warning: this run may take hours" in line
