"""Run reports: the paper's table (All, Solved, Budget, Steps) for one run or several, and costs.

Used by the CLI (`harcopa run report`) and by `harcopa eval`. Budget semantics follow
official-impl §5 per pipeline family, with the paper's exclusion lists applied by problem
identity (harcopa.benchmarks.is_excluded):

- step family (AR, HAR, BFS, H-BFS): a solved problem adds the ``paper_budget`` of every attempt
  up to and including the first solved one (AR: accepted steps, BFS: graph edges); an unsolved
  problem adds a flat K_S (80 by default);
- whole-draft family (WG, H-WG, H-SA): every problem adds the draft step counts of its attempts
  up to the first success (all attempts when unsolved).

A copa run (data generation) gets the CoPA table instead (``copa_report.py``) and no exclusions:
CoPA ignores the benchmarks' formal statements, which is what the lists are about.

Steps(correct) is the step count of the first successful attempt. A table reports both sums
(the notebook's figures) and means (Budget per problem, Steps per solved problem). Several runs
of one benchmark and pipeline are reported as the paper does: concatenated (the sums over the
runs, as the notebook does when several result files share a key) and, per run, the mean and
the population standard deviation (numpy's default, ddof=0) of the solve rate and the budget.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.benchmarks import BENCHMARKS, EXCLUDED, excluded_problem_ids
from harcopa.errors import InvalidRequest
from harcopa_orchestrator.copa_report import COPA_HEAD, CopaFigures
from harcopa_orchestrator.problems import problem_loader

STD_NOTE = "population standard deviation over runs (ddof=0)"


@dataclass(frozen=True, slots=True)
class RunReport:
    pipeline: str
    benchmark: str
    all: int
    solved: int
    budget_sum: float
    steps_sum: int
    excluded: int
    stats: d.SearchStats
    run_id: str = ""
    #: The run's status ("" when not known); only "succeeded" has final numbers.
    status: str = ""
    #: Problems that errored (infrastructure failures): not checked, not in All or Solved.
    errored: int = 0
    #: Problems of the run without a final result yet (not started, or errored).
    unfinished: int = 0
    #: Problems in the run.
    problems: int = 0
    #: A copa run's chain figures (None for the solving pipelines).
    copa: CopaFigures | None = None

    @property
    def final(self) -> bool:
        """True when every problem was checked (the numbers are the run's result)."""
        return self.unfinished == 0 and self.errored == 0

    @property
    def solve_rate(self) -> float:
        return self.solved / self.all if self.all else 0.0

    @property
    def budget_mean(self) -> float:
        return self.budget_sum / self.all if self.all else 0.0

    @property
    def steps_mean(self) -> float:
        return self.steps_sum / self.solved if self.solved else 0.0

    def render(self, *, banner: bool = True) -> str:
        """The table as text; ``banner=False`` leaves out an unfinished run's warning lines
        (for a caller that shows the warning itself)."""
        lines = [
            *(self.banner() if banner else []),
            f"pipeline {self.pipeline}  benchmark {self.benchmark}"
            + (f"  ({self.excluded} excluded by the paper's lists)" if self.excluded else ""),
            *((COPA_HEAD, self.copa.row()) if self.copa else (_TABLE_HEAD, _row(self))),
            _cost(self.stats),
        ]
        return "\n".join(lines)

    def banner(self) -> list[str]:
        """The warning lines an unfinished run's table starts with (none when final)."""
        if self.final:
            return []
        who = f"run {self.run_id}" if self.run_id else "this run"
        resume = f"harcopa eval --resume {self.run_id or 'RUN_ID'}"
        return [
            f"!! {who} is {self.status or 'not finished'}: {self.unfinished} of {self.problems}"
            f" problems have no result ({self.errored} errored: infrastructure failures, not"
            " counted as unsolved).",
            f"!! The figures below cover the {self.all} problems checked so far and are NOT"
            f" final; resume the run to finish it ({resume}).",
        ]

    def figures(self) -> dict[str, Any]:
        """The table's figures as JSON values (a non-finite budget is the string "inf")."""
        return {
            "all": self.all,
            "solved": self.solved,
            "solve_rate": self.solve_rate,
            "budget": _number(self.budget_sum),
            "budget_per_problem": _number(self.budget_mean),
            "steps": self.steps_sum,
            "steps_per_solved": self.steps_mean,
            "excluded": self.excluded,
            "status": self.status,
            "final": self.final,
            "problems": self.problems,
            "errored": self.errored,
            "unfinished": self.unfinished,
            **({"copa": self.copa.json()} if self.copa else {}),
        }


_TABLE_HEAD = (
    f"{'All':>6} {'Solved':>7} {'Rate':>7} {'Budget':>10} {'Budget/prob':>12}"
    f" {'Steps':>7} {'Steps/solved':>13}"
)


def _row(r: RunReport) -> str:
    return (
        f"{r.all:>6} {r.solved:>7} {r.solve_rate:>7.1%} {r.budget_sum:>10.1f}"
        f" {r.budget_mean:>12.2f} {r.steps_sum:>7} {r.steps_mean:>13.2f}"
    )


def _cost(stats: d.SearchStats) -> str:
    usage = stats.usage
    return (
        f"cost: {stats.model_calls} model calls, {usage.prompt_tokens} prompt tokens"
        f" ({usage.cached_prompt_tokens} cached), {usage.completion_tokens} completion tokens,"
        f" {stats.generator_seconds:.1f} model s, {stats.tactic_calls} Lean calls,"
        f" {stats.verifier_seconds:.1f} verifier s ({stats.lean_seconds:.1f} s Lean busy),"
        f" {stats.sessions_lost} sessions lost"
    )


def _number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def attempt_steps(attempt: d.Attempt) -> int:
    """Steps of an attempt: accepted steps plus the submission step (AR/BFS), or draft steps."""
    if attempt.draft is not None:  # an unparsable draft's budget is inf (the paper's notebook)
        return int(attempt.paper_budget) if math.isfinite(attempt.paper_budget) else 0
    return len(attempt.steps) + (1 if attempt.submission_step is not None else 0)


def problem_budget(
    result: d.ProblemResult, whole_draft: bool, k_s: int
) -> tuple[float, int | None]:
    """(budget, steps of the first success or None) for one problem."""
    budget = 0.0
    for attempt in result.attempts:
        budget += attempt.paper_budget
        if attempt.solved:
            return budget, attempt_steps(attempt)
    return (budget if whole_draft else float(k_s)), None


def paper_exclusions(spec: d.RunSpec, benchmark_root: Path) -> frozenset[str]:
    """The problem ids of a run that the paper's lists exclude (read from its benchmark file)."""
    if spec.pipeline is d.Pipeline.COPA:
        return frozenset()
    if spec.benchmark in BENCHMARKS and not EXCLUDED[spec.benchmark]:
        return frozenset()
    try:
        problems = problem_loader(Path(benchmark_root))(spec)
    except InvalidRequest as error:
        raise InvalidRequest(
            f"cannot apply the paper's exclusion lists: {error} (set the benchmark folder, or"
            " score every problem with --no-exclusions)"
        ) from error
    return excluded_problem_ids(problems)


def build_report(
    spec: d.RunSpec,
    results: Iterable[d.ProblemResult],
    *,
    excluded: Collection[str] = frozenset(),
    run_id: str = "",
    run: d.Run | None = None,
) -> RunReport:
    """The table of one run; ``excluded`` names problem ids left out (see paper_exclusions).

    Errored problems (infrastructure failures) are counted apart, never as unsolved and never
    charged a budget; with ``run`` the report also knows the run's status and how many of its
    problems have no result yet.
    """
    every = list(results)
    scored = [r for r in every if r.problem_id not in excluded]
    errored = [r for r in scored if r.status is d.ProblemStatus.ERRORED]
    kept = [r for r in scored if r.status is not d.ProblemStatus.ERRORED]
    budget_sum, steps_sum, solved = 0.0, 0, 0
    stats = d.SearchStats()
    for result in kept:
        budget, steps = problem_budget(result, spec.pipeline.whole_draft, spec.params.ks)
        budget_sum += budget
        if steps is not None:
            solved += 1
            steps_sum += steps
        stats = stats + result.stats
    for result in errored:
        stats = stats + result.stats
    problems = run.progress.problems_total if run is not None else len(every)
    unfinished = run.progress.problems_unfinished if run is not None else len(errored)
    return RunReport(
        spec.pipeline.value,
        spec.benchmark,
        len(kept),
        solved,
        budget_sum,
        steps_sum,
        len(every) - len(scored),
        stats,
        run_id,
        status=run.status.value if run is not None else "",
        errored=len(errored),
        unfinished=unfinished,
        problems=problems,
        copa=CopaFigures.of(scored) if spec.pipeline is d.Pipeline.COPA else None,
    )


@dataclass(frozen=True, slots=True)
class Spread:
    """Mean and population standard deviation of one figure over runs."""

    mean: float
    std: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not all(math.isfinite(v) for v in values):
            return cls(math.inf, math.nan)
        return cls(statistics.fmean(values), statistics.pstdev(values))

    def json(self) -> dict[str, float | str]:
        return {"mean": _number(self.mean), "std": _number(self.std)}


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Several runs of one benchmark and pipeline, reported as the paper's tables do."""

    runs: tuple[RunReport, ...]

    @property
    def total(self) -> RunReport:
        """The runs concatenated: All, Solved, Budget, Steps and costs summed."""
        first = self.runs[0]
        stats = d.SearchStats()
        for run in self.runs:
            stats = stats + run.stats
        return RunReport(
            first.pipeline,
            first.benchmark,
            sum(r.all for r in self.runs),
            sum(r.solved for r in self.runs),
            sum(r.budget_sum for r in self.runs),
            sum(r.steps_sum for r in self.runs),
            sum(r.excluded for r in self.runs),
            stats,
            status="" if all(r.final for r in self.runs) else "not final",
            errored=sum(r.errored for r in self.runs),
            unfinished=sum(r.unfinished for r in self.runs),
            problems=sum(r.problems for r in self.runs),
            copa=_copa_total(self.runs),
        )

    def spread(self, figure: Callable[[RunReport], float]) -> Spread:
        return Spread.of([figure(r) for r in self.runs])

    def render(self) -> str:
        if len(self.runs) == 1:
            return self.runs[0].render()
        total = self.total
        if total.copa is not None:
            return self._render_copa(total, total.copa)
        rate = self.spread(lambda r: r.solve_rate)
        budget = self.spread(lambda r: r.budget_sum)
        per_problem = self.spread(lambda r: r.budget_mean)
        lines = [
            *(line for r in self.runs for line in r.banner()),
            f"pipeline {total.pipeline}  benchmark {total.benchmark}  {len(self.runs)} runs"
            + (f"  ({total.excluded} excluded by the paper's lists)" if total.excluded else ""),
            f"{'run':<14}" + _TABLE_HEAD,
            *(f"{r.run_id:<14}" + _row(r) for r in self.runs),
            f"{'concatenated':<14}" + _row(total),
            f"per run, mean ± population std (ddof=0): rate {rate.mean:.2%} ± {rate.std:.2%},"
            f" budget {budget.mean:.1f} ± {budget.std:.1f},"
            f" budget/prob {per_problem.mean:.2f} ± {per_problem.std:.2f}",
            _cost(total.stats),
        ]
        return "\n".join(lines)

    def _render_copa(self, total: RunReport, copa: CopaFigures) -> str:
        lines = [
            *(line for r in self.runs for line in r.banner()),
            f"pipeline {total.pipeline}  benchmark {total.benchmark}  {len(self.runs)} runs",
            f"{'run':<14}" + COPA_HEAD,
            *(f"{r.run_id:<14}" + (r.copa or CopaFigures()).row() for r in self.runs),
            f"{'concatenated':<14}" + copa.row(),
            _cost(total.stats),
        ]
        return "\n".join(lines)

    def json(self) -> dict[str, Any]:
        total = self.total
        stats, usage = total.stats, total.stats.usage
        return {
            "benchmark": total.benchmark,
            "pipeline": total.pipeline,
            "runs": [{"run_id": r.run_id, **r.figures()} for r in self.runs],
            "concatenated": total.figures(),
            "per_run": {
                "std": STD_NOTE,
                "solve_rate": self.spread(lambda r: r.solve_rate).json(),
                "budget": self.spread(lambda r: r.budget_sum).json(),
                "budget_per_problem": self.spread(lambda r: r.budget_mean).json(),
            },
            "cost": {
                "model_calls": stats.model_calls,
                "prompt_tokens": usage.prompt_tokens,
                "cached_prompt_tokens": usage.cached_prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "model_seconds": stats.generator_seconds,
                "tactic_calls": stats.tactic_calls,
                "verifier_seconds": stats.verifier_seconds,
                "lean_seconds": stats.lean_seconds,
                "sessions_lost": stats.sessions_lost,
            },
        }


def _copa_total(runs: Sequence[RunReport]) -> CopaFigures | None:
    if not all(r.copa is not None for r in runs):
        return None
    total = CopaFigures()
    for run in runs:
        total = total + (run.copa or CopaFigures())
    return total


def aggregate(reports: Iterable[RunReport]) -> list[Aggregate]:
    """One Aggregate per (benchmark, pipeline), in the order they first appear."""
    groups: dict[tuple[str, str], list[RunReport]] = {}
    for report in reports:
        groups.setdefault((report.benchmark, report.pipeline), []).append(report)
    return [Aggregate(tuple(runs)) for runs in groups.values()]


def render_many(aggregates: Sequence[Aggregate]) -> str:
    return "\n\n".join(a.render() for a in aggregates)
