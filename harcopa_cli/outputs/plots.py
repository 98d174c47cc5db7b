"""The run folder's plots (matplotlib, PNG): solved vs budget, runs compared, where time went.

Called by ``outputs/folder.py``. Solved vs budget is the curve behind the paper's Budget
column: for each budget b, the problems solved within b budget units (step candidates for the
step pipelines, drafts for the whole-draft ones), counting every attempt's ``charged`` in order
up to the solving one. Time is split into model calls, Lean work, verifier overhead (verifier
call time that was not Lean working) and waiting for a model slot or a verifier session,
summed over concurrent calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.errors import HarcopaError
from harcopa_cli.outputs.records import charged_to_solve

#: Files the plots are written to inside a run folder (or the comparison folder).
SOLVED_VS_BUDGET = "solved_vs_budget.png"
TIME_SPLIT = "time_split.png"
COMPARISON = "comparison.png"
_TIME_PARTS = ("model", "Lean", "verifier overhead", "waiting")
_COLOURS = ("#4C72B0", "#DD8452", "#937860", "#8C8C8C")


class PlottingUnavailable(HarcopaError):
    """matplotlib is not installed: the folder is written without plots."""


@dataclass(frozen=True, slots=True)
class Curve:
    """One run's solved-vs-budget data: the budget unit, its limit, and per scored problem the
    units charged to solve it (None: unsolved)."""

    label: str
    unit: str
    limit: int
    costs: tuple[int | None, ...]

    @classmethod
    def of(cls, label: str, spec: d.RunSpec, results: Sequence[d.ProblemResult]) -> Curve:
        whole = spec.pipeline.whole_draft
        unit = "drafts (K_W)" if whole else "step candidates (K_S)"
        limit = spec.params.tries_for(spec.pipeline) if whole else spec.params.ks
        scored = [r for r in results if r.status is not d.ProblemStatus.ERRORED]
        return cls(label, unit, limit, tuple(charged_to_solve(r) for r in scored))

    def points(self) -> tuple[list[int], list[int]]:
        """Budgets 0..max and the problems solved within each."""
        top = max([self.limit, *(c for c in self.costs if c is not None)])
        budgets = list(range(top + 1))
        return budgets, [sum(1 for c in self.costs if c is not None and c <= b) for b in budgets]


def time_parts(stats: d.SearchStats) -> tuple[float, float, float, float]:
    """(model, Lean, verifier overhead, waiting) seconds of ``stats``."""
    overhead = max(stats.verifier_seconds - stats.lean_seconds, 0.0)
    return stats.generator_seconds, stats.lean_seconds, overhead, stats.wait_seconds


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend; PlottingUnavailable without it."""
    try:
        import matplotlib
    except ImportError as error:
        raise PlottingUnavailable(
            "plots need matplotlib (pip install 'harcopa[reports]')"
        ) from error
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def _rate_axis(ax: Any, curve: Curve, budgets: list[int], solved: list[int]) -> None:
    total = len(curve.costs)
    rates = [100.0 * s / total if total else 0.0 for s in solved]
    ax.step(budgets, rates, where="post", label=f"{curve.label} ({solved[-1]}/{total})")
    ax.set_xlabel(f"budget: {curve.unit} charged per problem")
    ax.set_ylabel("problems solved (%)")
    ax.set_ylim(0, 100)
    ax.axvline(curve.limit, color="grey", linestyle=":", linewidth=1)
    ax.xaxis.get_major_locator().set_params(integer=True)  # budgets are whole units
    ax.grid(True, alpha=0.3)


def solved_vs_budget(curve: Curve, title: str, path: Path) -> Path:
    """The solved-vs-budget curve of one run."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    budgets, solved = curve.points()
    _rate_axis(ax, curve, budgets, solved)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def time_split(groups: Sequence[tuple[str, d.SearchStats]], title: str, path: Path) -> Path:
    """Stacked bars of where the seconds went, one bar per (label, stats) group."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 1.4 + 0.5 * len(groups)), dpi=110)
    labels = [label for label, _ in groups]
    parts = [time_parts(stats) for _, stats in groups]
    left = [0.0] * len(groups)
    for k, (name, colour) in enumerate(zip(_TIME_PARTS, _COLOURS, strict=True)):
        widths = [p[k] for p in parts]
        ax.barh(labels, widths, left=left, color=colour, label=name)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("seconds (summed over concurrent calls)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.5), fontsize=8, ncols=4)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def comparison(curves: Sequence[Curve], rates: Sequence[float], path: Path) -> Path:
    """Several runs: their solved-vs-budget curves side by side with their solve rates."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, 4.4), dpi=110, gridspec_kw={"width_ratios": [3, 2]}
    )
    for curve in curves:
        budgets, solved = curve.points()
        _rate_axis(left, curve, budgets, solved)
    left.legend(loc="lower right", fontsize=7)
    left.set_title("solved vs budget", fontsize=10)
    labels = [curve.label for curve in curves]
    bars = right.barh(labels, [100 * r for r in rates], color="#4C72B0")
    right.bar_label(bars, labels=[f"{100 * r:.1f}%" for r in rates], fontsize=8, padding=2)
    right.set_xlim(0, 100)
    right.invert_yaxis()
    right.set_xlabel("solve rate (%)")
    right.set_title("solve rate (the paper's Solved / All)", fontsize=10)
    right.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
