"""``harcopa run report RUN...`` over a real SQLite store: the paper's formula on three recorded
runs (concatenated, and mean ± std per run), exclusions by problem identity, JSON output."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
from pathlib import Path
from typing import Any

import pytest

from harcopa import domain as d
from harcopa_cli.main import main
from harcopa_orchestrator.store import RunStore
from tests.conftest import require_benchmarks

SOLVER = d.ModelRef("solver")
K_S = 80
#: Problems solved per run among the 378 scored FormalMath500 problems: 500 / 1134 = 44.09%.
SOLVED_PER_RUN = (170, 165, 165)
PAPER_EXCLUDED = {31, 42, 111, 119, 124, 188, 196, 204, 205}


def _attempt(index: int, solved: bool, steps: int) -> d.Attempt:
    return d.Attempt(
        index,
        d.AttemptOutcome.SOLVED if solved else d.AttemptOutcome.WRONG_ANSWER,
        steps=tuple(d.SolutionStep(f"have h{k} : True := trivial") for k in range(steps)),
        submission_step="exact h -- submit" if solved else None,
        paper_budget=float(steps + (1 if solved else 0)),
        stats=d.SearchStats(model_calls=steps + 1),
    )


def _recorded_run(rng: random.Random, solved: int, problems: int = 387) -> list[d.ProblemResult]:
    """A HAR run on FormalMath500: ``solved`` scored problems solved, every excluded one too."""
    scored = [i for i in range(problems) if i not in PAPER_EXCLUDED]
    winners = set(rng.sample(scored, solved)) | PAPER_EXCLUDED
    results = []
    for i in range(problems):
        failures = [_attempt(k, False, rng.randint(1, 9)) for k in range(rng.randint(0, 3))]
        attempts = [*failures, _attempt(len(failures), True, rng.randint(0, 6))]
        if i not in winners:
            attempts = failures or [_attempt(0, False, 4)]
        results.append(d.ProblemResult(f"formal_math500/{i}", "har", "strict", tuple(attempts)))
    return results


def _notebook(results: list[d.ProblemResult]) -> tuple[int, int, float, int]:
    """All, Solved, Budget, Steps(correct) as the paper's notebook computes them (§5)."""
    kept = [r for r in results if int(r.problem_id.split("/")[1]) not in PAPER_EXCLUDED]
    solved = budget = steps = 0
    for result in kept:
        first = next((i for i, a in enumerate(result.attempts) if a.solved), None)
        if first is None:
            budget += K_S
            continue
        solved += 1
        budget += sum(a.paper_budget for a in result.attempts[: first + 1])
        steps += len(result.attempts[first].steps) + 1
    return len(kept), solved, budget, steps


def _store(path: Path, runs: dict[str, tuple[d.RunSpec, list[d.ProblemResult]]]) -> Path:
    async def write() -> None:
        store = RunStore(path)
        try:
            for run_id, (spec, results) in runs.items():
                await store.create_run(run_id, spec, len(results))
                for result in results:
                    await store.record_result(run_id, result)
                await store.set_status(run_id, d.RunStatus.SUCCEEDED)
        finally:
            store.close()

    asyncio.run(write())
    return path


def _report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["run", "report", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_three_runs_reproduce_the_papers_formula(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = require_benchmarks()
    rng = random.Random(2025)
    spec = d.RunSpec(d.Pipeline.HAR, "formal_math500", SOLVER)
    recorded = {f"run{k}": (spec, _recorded_run(rng, n)) for k, n in enumerate(SOLVED_PER_RUN)}
    wg = d.RunSpec(d.Pipeline.WG, "putnam_solving", SOLVER)
    wg_results = [
        d.ProblemResult("putnam_solving/0", "wg", "strict", (_attempt(0, True, 3),)),
        d.ProblemResult("putnam_solving/1", "wg", "strict", (_attempt(0, False, 5),)),
    ]
    store = _store(tmp_path / "runs.sqlite", {**recorded, "wg0": (wg, wg_results)})
    argv = [*recorded, "wg0", "--store", str(store), "--benchmark-root", str(root)]
    code, out, _ = _report(capsys, *argv, "--json")
    assert code == 0
    har, putnam = json.loads(out)["tables"]
    per_run = [_notebook(results) for _, results in recorded.values()]
    total = [sum(figures[i] for figures in per_run) for i in range(4)]
    assert total[:2] == [1134, 500]
    concatenated = har["concatenated"]
    assert [concatenated[k] for k in ("all", "solved", "budget", "steps")] == total
    assert concatenated["excluded"] == 27
    assert concatenated["solve_rate"] == pytest.approx(500 / 1134)
    assert round(100 * concatenated["solve_rate"], 2) == 44.09  # the paper's headline figure
    rates = [solved / all_ for all_, solved, _, _ in per_run]
    assert har["per_run"]["solve_rate"] == pytest.approx(
        {"mean": statistics.fmean(rates), "std": statistics.pstdev(rates)}
    )
    budgets = [budget for _, _, budget, _ in per_run]
    assert har["per_run"]["budget"] == pytest.approx(
        {"mean": statistics.fmean(budgets), "std": statistics.pstdev(budgets)}
    )
    assert [r["run_id"] for r in har["runs"]] == ["run0", "run1", "run2"]
    assert [(r["all"], r["solved"]) for r in har["runs"]] == [(378, n) for n in SOLVED_PER_RUN]
    assert (putnam["pipeline"], putnam["concatenated"]["solved"], len(putnam["runs"])) == (
        "wg",
        1,
        1,
    )
    code, text, _ = _report(capsys, *argv)
    assert code == 0
    assert "3 runs  (27 excluded by the paper's lists)" in text
    concatenated_row = next(line for line in text.splitlines() if line.startswith("concatenated"))
    assert concatenated_row.split()[1:4] == ["1134", "500", "44.1%"]
    assert "rate 44.09% ±" in text


def test_one_run_prints_the_single_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = d.RunSpec(d.Pipeline.AR, "putnam_solving", SOLVER)
    results = [d.ProblemResult("putnam_solving/0", "ar", "strict", (_attempt(0, True, 2),))]
    store = _store(tmp_path / "runs.sqlite", {"one": (spec, results)})
    code, text, _ = _report(capsys, "one", "--store", str(store))
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "pipeline ar  benchmark putnam_solving"
    assert lines[1].split()[:3] == ["All", "Solved", "Rate"]
    assert lines[2].split()[:4] == ["1", "1", "100.0%", "3.0"]
    assert lines[3].startswith("cost: 3 model calls")


def test_a_reduced_reordered_run_excludes_by_identity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = require_benchmarks()
    records = json.loads((root / "formal_math500.json").read_text(encoding="utf-8"))
    picked = [35, 31, 0, 42]  # a reduced file: positions 1 and 3 are on the paper's list
    small = tmp_path / "small.json"
    small.write_text(json.dumps([records[i] for i in picked]), encoding="utf-8")
    spec = d.RunSpec(d.Pipeline.AR, str(small), SOLVER)
    results = [
        d.ProblemResult(f"small/{i}", "ar", "strict", (_attempt(0, i == 0, 1),)) for i in range(4)
    ]
    store = _store(tmp_path / "runs.sqlite", {"small": (spec, results)})
    code, out, _ = _report(capsys, "small", "--store", str(store), "--json")
    assert code == 0
    (table,) = json.loads(out)["tables"]
    figures: dict[str, Any] = table["concatenated"]
    assert (figures["all"], figures["solved"], figures["excluded"]) == (2, 1, 2)
    assert figures["budget"] == 2 + K_S  # source 35 solved with budget 2, source 0 unsolved
    code, out, _ = _report(capsys, "small", "--store", str(store), "--json", "--no-exclusions")
    assert json.loads(out)["tables"][0]["concatenated"]["all"] == 4


def test_report_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = d.RunSpec(d.Pipeline.AR, "formal_math500", SOLVER)
    store = _store(tmp_path / "runs.sqlite", {"r": (spec, [])})
    code, _, err = _report(capsys, "nope", "--store", str(store))
    assert code == 2 and err == "harcopa: error: no run 'nope' in the store\n"
    code, _, err = _report(capsys, "r", "--store", str(store), "--benchmark-root", str(tmp_path))
    assert code == 2 and "cannot apply the paper's exclusion lists" in err
    assert "--no-exclusions" in err and err.count("\n") == 1
    code, _, _ = _report(capsys, "r", "--store", str(tmp_path / "missing.sqlite"))
    assert code == 2
