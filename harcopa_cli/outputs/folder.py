"""The run folder: ``DIR/<run_id>/`` with results.json, samples.jsonl, report.md, report.html,
the plots and (for ``harcopa eval``) the run's service logs.

Called once by ``harcopa eval`` when its run ends (an incomplete run too: its reports say so)
and by ``harcopa run report --output-dir`` for any run in the store. Reads the store and the
paper's table code (``harcopa_orchestrator.report``); every file is rewritten whole (written
beside, then renamed), so a reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa_cli.outputs import plots
from harcopa_cli.outputs.cost import Prices, cost_figures
from harcopa_cli.outputs.document import RunDocument, iso
from harcopa_cli.outputs.html import render_html
from harcopa_cli.outputs.markdown import render_markdown
from harcopa_cli.outputs.provenance import unrecorded
from harcopa_cli.outputs.records import ordered_ids, sample_record
from harcopa_orchestrator.problems import problem_loader
from harcopa_orchestrator.report import RunReport, build_report, paper_exclusions

FORMAT = "harcopa.run-folder/1"
FILES = ("results.json", "samples.jsonl", "report.md", "report.html")


@dataclasses.dataclass(frozen=True, slots=True)
class Loaded:
    """One stored run with its results, table and paper exclusions."""

    run: d.Run
    results: list[d.ProblemResult]
    report: RunReport
    excluded: frozenset[str]


async def load_run(store: Any, run_id: str, benchmark_root: Path | None) -> Loaded:
    """A run from the store with its table (the paper's exclusions unless no root is given)."""
    run = await store.get_run(run_id)
    if run is None:
        raise InvalidRequest(f"no run {run_id!r} in the store")
    excluded = frozenset() if benchmark_root is None else paper_exclusions(run.spec, benchmark_root)
    results = await store.results(run_id)
    report = build_report(run.spec, results, excluded=excluded, run_id=run_id, run=run)
    return Loaded(run, results, report, excluded)


def _problem_ids(spec: d.RunSpec, benchmark_root: Path | None) -> list[str]:
    """The run's problems from its benchmark (unfinished ones included); [] when unreadable."""
    try:
        return [p.problem_id for p in problem_loader(benchmark_root or Path("."))(spec)]
    except InvalidRequest:
        return []


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _previous_provenance(folder: Path) -> dict[str, Any] | None:
    """What an earlier results.json in ``folder`` recorded (``harcopa eval`` wrote it)."""
    try:
        earlier = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = ("harcopa", "models", "lean")
    if not isinstance(earlier, dict) or not all(k in earlier for k in keys):
        return None
    return {k: earlier[k] for k in keys}


def spec_record(spec: d.RunSpec) -> dict[str, Any]:
    """The run's specification as plain JSON (every field, numbers as numbers)."""
    return {
        "pipeline": spec.pipeline.value,
        "benchmark": spec.benchmark,
        "problem_indices": list(spec.problem_indices),
        "mode": spec.mode.value,
        "name": spec.name,
        "params": dataclasses.asdict(spec.params),
        "solver": dataclasses.asdict(spec.solver),
        "prover": None if spec.prover is None else dataclasses.asdict(spec.prover),
        "max_concurrent_problems": spec.max_concurrent_problems,
        "seed": spec.seed,
    }


def results_record(doc: RunDocument, excluded: int) -> dict[str, Any]:
    """results.json: what ran, with what, when, how it ended, the table and the cost."""
    run, report, p = doc.run, doc.report, doc.run.progress
    seeded = (
        "derived per attempt from the run seed and the attempt index (samples: attempts[].seed)"
    )
    return {
        "format": FORMAT,
        "run_id": run.run_id,
        "status": run.status.value,
        "final": doc.final,
        "error": run.error,
        "banner": doc.banner(),
        "notes": doc.notes(),
        "spec": spec_record(run.spec),
        "mode": run.spec.mode.value,
        "models": doc.provenance["models"],
        "harcopa": doc.provenance["harcopa"],
        "lean": doc.provenance["lean"],
        "seeds": {"run": run.spec.seed, "attempts": seeded if run.spec.seed is not None else None},
        "started": iso(run.created_unix),
        "ended": iso(run.updated_unix) if run.status.finished else None,
        "elapsed_seconds": p.elapsed_seconds,
        "progress": {
            "total": p.problems_total,
            "done": p.problems_done,
            "solved": p.problems_solved,
            "errored": p.problems_errored,
            "unfinished": p.problems_unfinished,
            "retried": p.problems_retried,
        },
        "errored_problems": list(run.errored_problems),
        "table": {"pipeline": report.pipeline, "benchmark": report.benchmark, **report.figures()},
        "table_text": report.render(),
        "excluded_problems": excluded,
        "cost": doc.cost,
        "files": [*FILES, *(name for name, _ in doc.plots)],
    }


def _run_plots(folder: Path, loaded: Loaded) -> tuple[list[tuple[str, str]], str]:
    """Write the run's plots; (file, caption) pairs and why there are none, if so."""
    run, report = loaded.run, loaded.report
    scored = [r for r in loaded.results if r.problem_id not in loaded.excluded]
    title = f"{report.pipeline.upper()} on {report.benchmark}, run {run.run_id}"
    groups = [("all problems", report.stats)]
    for status in d.ProblemStatus:
        members = [r for r in loaded.results if r.status is status]
        if members:
            total = sum((r.stats for r in members), d.SearchStats())
            groups.append((f"{status.value} ({len(members)})", total))
    try:
        plots.solved_vs_budget(
            plots.Curve.of(report.pipeline, run.spec, scored),
            f"solved vs budget: {title}",
            folder / plots.SOLVED_VS_BUDGET,
        )
        plots.time_split(groups, f"where the time went: {title}", folder / plots.TIME_SPLIT)
    except plots.PlottingUnavailable as error:
        return [], f"no plots: {error}"
    return [
        (plots.SOLVED_VS_BUDGET, "problems solved within each budget"),
        (plots.TIME_SPLIT, "seconds in model calls, Lean, verifier overhead and waiting"),
    ], ""


async def write_run_folder(
    store: Any,
    run_id: str,
    output_dir: Path,
    *,
    benchmark_root: Path | None,
    prices: Prices | None = None,
    provenance: dict[str, Any] | None = None,
    resume_command: str = "",
) -> Path:
    """Write (or rewrite) ``output_dir/<run_id>/``; its path. ``provenance`` comes from
    ``harcopa eval``; without it an earlier results.json's is kept, or it says "not recorded"."""
    loaded = await load_run(store, run_id, benchmark_root)
    folder = output_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    by_id = {r.problem_id: r for r in loaded.results}
    ids = ordered_ids(loaded.results, _problem_ids(loaded.run.spec, benchmark_root))
    samples = [sample_record(i, by_id.get(i), loaded.run.spec, loaded.excluded) for i in ids]
    figures, note = _run_plots(folder, loaded)
    doc = RunDocument(
        run=loaded.run,
        report=loaded.report,
        samples=samples,
        cost=cost_figures(loaded.results, prices or Prices()),
        provenance=provenance or _previous_provenance(folder) or unrecorded(),
        resume_command=resume_command or f"harcopa eval --resume {run_id}",
        plots=figures,
        plots_note=note,
    )
    record = results_record(doc, loaded.report.excluded)
    if (folder / "logs").is_dir():
        record["files"].append("logs/")
    _write(folder / "results.json", json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    lines = (json.dumps(s, ensure_ascii=False, allow_nan=False) for s in samples)
    _write(folder / "samples.jsonl", "".join(line + "\n" for line in lines))
    _write(folder / "report.md", render_markdown(doc))
    images = {name: (folder / name).read_bytes() for name, _ in figures}
    _write(folder / "report.html", render_html(doc, images))
    return folder


async def write_comparison(
    store: Any, run_ids: Sequence[str], output_dir: Path, benchmark_root: Path | None
) -> Path:
    """``output_dir/comparison.png``: the runs' solved-vs-budget curves and solve rates."""
    curves, rates = [], []
    for run_id in run_ids:
        loaded = await load_run(store, run_id, benchmark_root)
        scored = [r for r in loaded.results if r.problem_id not in loaded.excluded]
        label = f"{loaded.report.pipeline} {run_id}"
        curves.append(plots.Curve.of(label, loaded.run.spec, scored))
        rates.append(loaded.report.solve_rate)
    await asyncio.to_thread(output_dir.mkdir, parents=True, exist_ok=True)
    return await asyncio.to_thread(plots.comparison, curves, rates, output_dir / plots.COMPARISON)


async def write_folders(
    store: Any, run_ids: Sequence[str], output_dir: Path, root: Path | None, prices: Prices
) -> None:
    """``harcopa run report --output-dir``: each run's folder, and with several runs their
    comparison plot; says on stderr what it wrote."""
    for run_id in dict.fromkeys(run_ids):
        folder = await write_run_folder(
            store, run_id, output_dir, benchmark_root=root, prices=prices
        )
        print(f"run folder: {folder}/", file=sys.stderr)
    if len(set(run_ids)) > 1:
        try:
            plot = await write_comparison(store, list(dict.fromkeys(run_ids)), output_dir, root)
        except plots.PlottingUnavailable as error:
            print(f"harcopa run report: no comparison plot: {error}", file=sys.stderr)
        else:
            print(f"comparison plot: {plot}", file=sys.stderr)
