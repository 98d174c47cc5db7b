"""What a run cost: tokens, model and Lean seconds and wall time, in total, per problem and per
solved problem, and (given hourly prices) an estimate in money.

Called by ``outputs/folder.py`` for ``results.json`` and by the Markdown and HTML reports.
Model seconds are the time the run's model calls took (summed over concurrent calls); Lean
seconds are the time Lean processes worked for the run (process-busy time, not call time).
Money is an estimate: model seconds at the GPU-hour price plus Lean seconds at the CPU-hour
price; it leaves out idle machines, orchestration and storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harcopa import domain as d
from harcopa.errors import InvalidRequest

#: The figures summed over problems, in the order the reports print them.
FIGURES = (
    "prompt_tokens",
    "cached_prompt_tokens",
    "completion_tokens",
    "model_calls",
    "model_seconds",
    "lean_seconds",
    "wall_seconds",
)
_COUNTS = ("prompt_tokens", "cached_prompt_tokens", "completion_tokens", "model_calls")
ESTIMATE_NOTE = (
    "estimate: model seconds x GPU-hour price + Lean process-busy seconds x CPU-hour price;"
    " idle machines, orchestration and storage are not included"
)


@dataclass(frozen=True, slots=True)
class Prices:
    """Hourly prices (any currency) that turn seconds into money; None: not given."""

    gpu_hour: float | None = None
    cpu_hour: float | None = None

    def __post_init__(self) -> None:
        flags = (("--gpu-hour-price", self.gpu_hour), ("--cpu-hour-price", self.cpu_hour))
        for flag, value in flags:
            if value is not None and not value >= 0:
                raise InvalidRequest(f"{flag} must be a non-negative number, got {value}")

    @property
    def given(self) -> bool:
        return self.gpu_hour is not None or self.cpu_hour is not None


def totals(results: Sequence[d.ProblemResult]) -> dict[str, float]:
    """The FIGURES summed over ``results`` (every problem with a result, errored included);
    counts stay integers."""
    sums: dict[str, float] = {name: 0 if name in _COUNTS else 0.0 for name in FIGURES}
    for result in results:
        stats = result.stats
        sums["prompt_tokens"] += stats.usage.prompt_tokens
        sums["cached_prompt_tokens"] += stats.usage.cached_prompt_tokens
        sums["completion_tokens"] += stats.usage.completion_tokens
        sums["model_calls"] += stats.model_calls
        sums["model_seconds"] += stats.generator_seconds
        sums["lean_seconds"] += stats.lean_seconds
        sums["wall_seconds"] += result.seconds
    return sums


def _money(sums: dict[str, float], prices: Prices) -> dict[str, float | None]:
    model = None if prices.gpu_hour is None else sums["model_seconds"] / 3600 * prices.gpu_hour
    lean = None if prices.cpu_hour is None else sums["lean_seconds"] / 3600 * prices.cpu_hour
    return {"model": model, "lean": lean, "total": (model or 0.0) + (lean or 0.0)}


def _divided(sums: dict[str, float], by: int) -> dict[str, float] | None:
    return {name: value / by for name, value in sums.items()} if by else None


def cost_figures(results: Sequence[d.ProblemResult], prices: Prices) -> dict[str, Any]:
    """Totals, per problem (with a result) and per solved problem; money when priced."""
    sums = totals(results)
    problems, solved = len(results), sum(1 for r in results if r.solved)
    figures: dict[str, Any] = {
        "problems": problems,
        "solved": solved,
        "total": sums,
        "per_problem": _divided(sums, problems),
        "per_solved_problem": _divided(sums, solved),
        "prices": {"gpu_hour": prices.gpu_hour, "cpu_hour": prices.cpu_hour},
        "money_estimate": None,
    }
    if prices.given:
        money = _money(sums, prices)
        figures["money_estimate"] = {
            "note": ESTIMATE_NOTE,
            "total": money,
            "per_problem": {k: None if v is None else v / problems for k, v in money.items()}
            if problems
            else None,
            "per_solved_problem": {k: None if v is None else v / solved for k, v in money.items()}
            if solved
            else None,
        }
    return figures


def _cell(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    if name.endswith("seconds"):
        return f"{value:,.1f}"
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"


_MONEY_COLUMNS = ("total", "per_problem", "per_solved_problem")
_MONEY_LABELS = {"model": "model (GPU)", "lean": "Lean (CPU)", "total": "total"}


def cost_rows(figures: dict[str, Any]) -> list[tuple[str, ...]]:
    """(figure, total, per problem, per solved problem) rows for the reports' cost tables."""
    columns = [figures["total"], figures["per_problem"], figures["per_solved_problem"]]
    rows: list[tuple[str, ...]] = [
        (
            name.replace("_", " ").replace("lean", "Lean"),
            *(_cell(name, c[name] if c else None) for c in columns),
        )
        for name in FIGURES
    ]
    money = figures["money_estimate"]
    if money is not None:
        for part, label in _MONEY_LABELS.items():
            cells = [money[k][part] if money[k] else None for k in _MONEY_COLUMNS]
            cells_text = ("—" if c is None else f"{c:.4g}" for c in cells)
            rows.append((f"money estimate: {label}", *cells_text))
    return rows
