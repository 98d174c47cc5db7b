"""What the run folder's reports say about one run, gathered once: the table, the per-problem
records, the cost, the provenance, the warnings and the plots.

Built by ``outputs/folder.py``; rendered by ``outputs/markdown.py`` (report.md) and
``outputs/html.py`` (report.html), so both say the same thing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa_orchestrator.report import RunReport


@dataclass(frozen=True, slots=True)
class RunDocument:
    """One run as its reports present it; ``samples`` are the samples.jsonl records."""

    run: d.Run
    report: RunReport
    samples: list[dict[str, Any]]
    cost: dict[str, Any]
    provenance: dict[str, Any]
    resume_command: str
    #: Plot files (names inside the run folder) with their captions.
    plots: list[tuple[str, str]] = field(default_factory=list)
    #: Why plots are missing, when they are.
    plots_note: str = ""

    @property
    def title(self) -> str:
        spec = self.run.spec
        return (
            f"Run {self.run.run_id}: {spec.pipeline.value.upper()} on {spec.benchmark}"
            f" ({spec.mode.value} mode)"
        )

    @property
    def final(self) -> bool:
        return self.run.status is d.RunStatus.SUCCEEDED and self.report.final

    def banner(self) -> list[str]:
        """The warning an unfinished run's reports open with (empty when final)."""
        if self.final:
            return []
        unchecked = self.report.unfinished or len(self.run.errored_problems)
        return [
            f"This run is {self.run.status.value}: {unchecked} problems could not be checked"
            f" ({self.report.errored} errored: infrastructure failures, not results);"
            f" resume with: {self.resume_command}",
            f"The solve rate below covers the {self.report.all} problems checked so far and is"
            " NOT final.",
        ]

    def notes(self) -> list[str]:
        """What a reader must know to weigh the numbers (a simulator, an untrained model)."""
        out = []
        lean = self.provenance.get("lean")
        if isinstance(lean, dict) and lean.get("simulator"):
            out.append(
                "Lean verdicts come from lean-sim, a SIMULATOR of Pantograph (a small rule set),"
                " not from Lean: these are not Lean results."
            )
        models = self.provenance.get("models")
        solver = models.get("solver") if isinstance(models, dict) else None
        if isinstance(solver, dict):
            kind = str(solver.get("kind", ""))
            if "simulator" in kind or "not trained" in kind:
                out.append(f"The model is a {kind}: a smoke run, not a measurement of a prover.")
        return out

    def figures(self) -> list[tuple[str, str]]:
        """(label, value) pairs of the run's headline facts."""
        run, report = self.run, self.report
        rate = f"{report.solve_rate:.1%}" + ("" if self.final else " (not final)")
        return [
            ("status", run.status.value),
            ("solved", f"{report.solved} of {report.all} checked problems: {rate}"),
            ("problems in the run", str(report.problems)),
            ("errored / unfinished", f"{report.errored} / {report.unfinished}"),
            ("excluded by the paper's lists", str(report.excluded)),
            ("started", iso(run.created_unix)),
            ("ended", iso(run.updated_unix) if run.status.finished else "still running"),
            ("executing time", f"{run.progress.elapsed_seconds:,.1f} s"),
            ("seed", "unseeded" if run.spec.seed is None else str(run.spec.seed)),
        ]

    def budget_unit(self) -> str:
        return "drafts" if self.run.spec.pipeline.whole_draft else "step candidates"


def iso(unix: float) -> str:
    """A Unix time as an ISO 8601 UTC string (seconds)."""
    moment = dt.datetime.fromtimestamp(unix, tz=dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def relative(path: Path, folder: Path) -> str:
    """``path`` as the reports link it: relative to the run folder."""
    return path.relative_to(folder).as_posix()
