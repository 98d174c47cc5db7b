"""The paper's table (official-impl §5): budgets per pipeline family, exclusions, steps."""

from __future__ import annotations

import pytest

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa_cli.spec_arguments import parse_indices
from harcopa_orchestrator.report import build_report

SOLVER = d.ModelRef("solver")


def _attempt(
    i: int, solved: bool, budget: float, steps: int = 0, draft: str | None = None
) -> d.Attempt:
    return d.Attempt(
        i,
        d.AttemptOutcome.SOLVED if solved else d.AttemptOutcome.WRONG_ANSWER,
        steps=tuple(d.SolutionStep(f"have h{k} : True := trivial") for k in range(steps)),
        submission_step="exact h -- submit" if solved and draft is None else None,
        draft=draft,
        paper_budget=budget,
        stats=d.SearchStats(model_calls=1),
    )


def test_step_family_budget_and_exclusions() -> None:
    spec = d.RunSpec(d.Pipeline.HAR, "formal_math500", SOLVER)
    results = [
        # solved on the second rollout: budget 3 + 2, steps 2 accepted + submission
        d.ProblemResult(
            "formal_math500/0", "har", "strict", (_attempt(0, False, 3), _attempt(1, True, 2, 2))
        ),
        # unsolved: a flat K_S
        d.ProblemResult("formal_math500/1", "har", "strict", (_attempt(0, False, 7),)),
        # index 31 is on the paper's exclusion list
        d.ProblemResult("formal_math500/31", "har", "strict", (_attempt(0, True, 1, 0),)),
    ]
    report = build_report(spec, results, excluded={"formal_math500/31"})
    assert (report.all, report.solved, report.excluded) == (2, 1, 1)
    assert report.budget_sum == 3 + 2 + 80
    assert report.steps_sum == 3 and report.steps_mean == 3
    assert report.stats.model_calls == 3
    assert "Solved" in report.render()
    everything = build_report(spec, results)
    assert (everything.all, everything.solved) == (3, 2)


def test_whole_draft_family_budget() -> None:
    spec = d.RunSpec(d.Pipeline.WG, "minif2f_solving", SOLVER)
    results = [
        d.ProblemResult(
            "minif2f_solving/0",
            "wg",
            "strict",
            (_attempt(0, False, 4, draft="x"), _attempt(1, True, 5, draft="y")),
        ),
        d.ProblemResult("minif2f_solving/1", "wg", "strict", (_attempt(0, False, 6, draft="z"),)),
    ]
    report = build_report(spec, results)
    assert report.budget_sum == 4 + 5 + 6  # unsolved WG problems add their attempts, not 80
    assert report.steps_sum == 5 and report.solve_rate == 0.5


def test_parse_indices() -> None:
    assert parse_indices("0,3,10-12") == (0, 3, 10, 11, 12)
    assert parse_indices("") == ()
    with pytest.raises(InvalidRequest):
        parse_indices("a-b")


def test_errored_problems_are_counted_apart_and_an_unfinished_run_says_so() -> None:
    spec = d.RunSpec(d.Pipeline.HAR, "toy", SOLVER, params=d.SearchParams(ks=80))
    errored = d.Attempt(0, d.AttemptOutcome.ERROR, detail="BackendUnavailable: gone")
    results = [
        d.ProblemResult("toy/0", "har", "strict", (_attempt(0, True, 2, 1),)),
        d.ProblemResult("toy/1", "har", "strict", (_attempt(0, False, 4),)),
        d.ProblemResult("toy/2", "har", "strict", (errored,)),
    ]
    progress = d.RunProgress(problems_total=5, problems_done=2, problems_errored=1)
    run = d.Run("r1", spec, d.RunStatus.INCOMPLETE, progress, errored_problems=("toy/2",))
    report = build_report(spec, results, run_id="r1", run=run)
    # The errored problem is neither unsolved nor charged K_S: All covers checked problems only.
    assert (report.all, report.solved, report.budget_sum) == (2, 1, 82.0)
    assert (report.errored, report.unfinished, report.problems) == (1, 3, 5)
    assert not report.final
    text = report.render()
    banner = text.splitlines()[:2]
    assert banner[0].startswith("!! run r1 is incomplete: 3 of 5 problems have no result")
    assert "NOT final" in banner[1] and "harcopa eval --resume r1" in banner[1]
    figures = report.figures()
    assert {k: figures[k] for k in ("status", "problems", "solved", "errored", "unfinished")} == {
        "status": "incomplete",
        "problems": 5,
        "solved": 1,
        "errored": 1,
        "unfinished": 3,
    }
    done = d.Run(
        "r2", spec, d.RunStatus.SUCCEEDED, d.RunProgress(problems_total=2, problems_done=2)
    )
    final = build_report(spec, results[:2], run_id="r2", run=done)
    assert final.final and not final.render().startswith("!!")


def _copa_result(index: int, *attempts: d.Attempt) -> d.ProblemResult:
    return d.ProblemResult(f"corpus/{index}", "copa", "strict", attempts)


def test_copa_runs_get_the_chain_table_over_checked_problems() -> None:
    from harcopa_orchestrator.report import aggregate

    statement = "example (answer : ℕ) (h : answer = 7) : answer = 7\n:= sorry"
    outcome = d.AttemptOutcome
    results = [
        _copa_result(0, d.Attempt(0, outcome.REJECTED, detail="no valid statement")),
        _copa_result(1, d.Attempt(0, outcome.REJECTED, prompt_state=statement)),
        _copa_result(2, d.Attempt(0, outcome.GAP_UNPROVEN, draft="d", prompt_state=statement)),
        _copa_result(
            3,
            d.Attempt(0, outcome.REJECTED, draft="d", prompt_state=statement, final_check_ok=False),
        ),
        _copa_result(4, d.Attempt(0, outcome.SOLVED, draft="d", prompt_state=statement)),
        _copa_result(5, d.Attempt(0, outcome.ERROR, detail="BackendCrashed")),  # not checked
    ]
    spec = d.RunSpec(d.Pipeline.COPA, "corpus.jsonl", SOLVER)
    first = build_report(spec, results, run_id="r1")
    assert first.copa is not None
    assert first.copa.json() == {
        "problems": 5,
        "statements_accepted": 4,
        "drafts_verified": 3,
        "gaps_proven": 2,
        "chains_verified": 1,
        "verified_rate": 0.2,
    }
    lines = first.render().splitlines()
    assert lines[0].startswith("!! run r1 is not finished: 1 of 6 problems have no result")
    assert lines[-3:-1] == [
        "Problems  Statements  Drafts  Gaps proven  Verified    Rate",
        "       5           4       3            2         1   20.0%",
    ]
    second = build_report(spec, results[4:5], run_id="r2")
    (table,) = aggregate([first, second])
    lines = table.render().splitlines()
    assert "pipeline copa  benchmark corpus.jsonl  2 runs" in lines
    assert lines[-2].split() == ["concatenated", "6", "5", "4", "3", "2", "33.3%"]
    assert table.json()["concatenated"]["copa"]["chains_verified"] == 2
