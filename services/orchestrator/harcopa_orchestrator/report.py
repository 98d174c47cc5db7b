"""Run reports: the paper's table (All, Solved, Budget, Steps) and cost accounting.

Used by the CLI (`harcopa run report`) and by `harcopa eval`. Budget semantics follow
official-impl §5 per pipeline family, with the paper's exclusion lists applied to the two
benchmarks it scores:

- step family (AR, HAR, BFS, H-BFS): a solved problem adds the ``paper_budget`` of every attempt
  up to and including the first solved one (AR: accepted steps, BFS: graph edges); an unsolved
  problem adds a flat K_S (80 by default);
- whole-draft family (WG, H-WG, H-SA): every problem adds the draft step counts of its attempts
  up to the first success (all attempts when unsolved).

Steps(correct) is the step count of the first successful attempt. The table reports both sums
(the notebook's figures) and means (Budget per problem, Steps per solved problem).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harcopa import domain as d
from harcopa.benchmarks import EXCLUDED


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

    @property
    def solve_rate(self) -> float:
        return self.solved / self.all if self.all else 0.0

    @property
    def budget_mean(self) -> float:
        return self.budget_sum / self.all if self.all else 0.0

    @property
    def steps_mean(self) -> float:
        return self.steps_sum / self.solved if self.solved else 0.0

    def render(self) -> str:
        usage = self.stats.usage
        lines = [
            f"pipeline {self.pipeline}  benchmark {self.benchmark}"
            + (f"  ({self.excluded} excluded by the paper's lists)" if self.excluded else ""),
            f"{'All':>6} {'Solved':>7} {'Rate':>7} {'Budget':>10} {'Budget/prob':>12}"
            f" {'Steps':>7} {'Steps/solved':>13}",
            f"{self.all:>6} {self.solved:>7} {self.solve_rate:>7.1%} {self.budget_sum:>10.1f}"
            f" {self.budget_mean:>12.2f} {self.steps_sum:>7} {self.steps_mean:>13.2f}",
            f"cost: {self.stats.model_calls} model calls, {usage.prompt_tokens} prompt tokens"
            f" ({usage.cached_prompt_tokens} cached), {usage.completion_tokens} completion tokens,"
            f" {self.stats.generator_seconds:.1f} model s, {self.stats.tactic_calls} Lean calls,"
            f" {self.stats.verifier_seconds:.1f} Lean s, {self.stats.sessions_lost} sessions lost",
        ]
        return "\n".join(lines)


def attempt_steps(attempt: d.Attempt) -> int:
    """Steps of an attempt: accepted steps plus the submission step (AR/BFS), or draft steps."""
    if attempt.draft is not None:  # an unparsable draft's budget is inf (the paper's notebook)
        return int(attempt.paper_budget) if math.isfinite(attempt.paper_budget) else 0
    return len(attempt.steps) + (1 if attempt.submission_step is not None else 0)


def _problem_budget(
    result: d.ProblemResult, whole_draft: bool, k_s: int
) -> tuple[float, int | None]:
    """(budget, steps of the first success or None) for one problem."""
    budget = 0.0
    for attempt in result.attempts:
        budget += attempt.paper_budget
        if attempt.solved:
            return budget, attempt_steps(attempt)
    return (budget if whole_draft else float(k_s)), None


def build_report(
    spec: d.RunSpec, results: Iterable[d.ProblemResult], *, apply_exclusions: bool = True
) -> RunReport:
    excluded_indices = (
        EXCLUDED.get(spec.benchmark, frozenset()) if apply_exclusions else frozenset()
    )
    whole = spec.pipeline.whole_draft
    kept: list[d.ProblemResult] = []
    excluded = 0
    for result in results:
        index = int(result.problem_id.rsplit("/", 1)[-1]) if "/" in result.problem_id else -1
        if index in excluded_indices:
            excluded += 1
            continue
        kept.append(result)
    budget_sum, steps_sum, solved = 0.0, 0, 0
    stats = d.SearchStats()
    for result in kept:
        budget, steps = _problem_budget(result, whole, spec.params.ks)
        budget_sum += budget
        if steps is not None:
            solved += 1
            steps_sum += steps
        stats = stats + result.stats
    return RunReport(
        spec.pipeline.value,
        spec.benchmark,
        len(kept),
        solved,
        budget_sum,
        steps_sum,
        excluded,
        stats,
    )


def render_many(reports: Sequence[RunReport]) -> str:
    return "\n\n".join(r.render() for r in reports)
