"""SFT export: finished runs, CoPA record files and released datasets into one JSONL of records.

Called by ``harcopa export-sft`` (harcopa_cli/training.py). Prompts are rendered with the
templates the run used (``templates``, default the packaged file; a run's solver system prompt
replaces the default system prompt, as the orchestrator does) from the prompt states each
attempt recorded, so every input is what the model was sent (``harcopa_trainer.pieces``).

Filters (official-impl §6.3), each counted in the summary under its name:

- ``unverified``: only solved attempts and verified CoPA records give records. With
  ``include_unsolved`` an unsolved attempt also gives what Lean accepted: its steps with their
  gap proofs, its backward proof, a whole draft whose only failure was an unproven gap; never a
  failed submission, a wrong answer or a draft that did not compile;
- ``banned_token``: ``harcopa.fps.find_banned`` (strict policy) on the Lean text; ``sorry`` only
  in drafting outputs and statements, never in a submission step;
- ``no_op``: a tactic that left its goal unchanged (``pieces.proof_pieces``). Tactics are taken
  only from proofs the prover ran in Lean (gap and backward proofs), which is the reference's
  "re-executed" filter;
- ``no_prompt_state``: attempts stored before prompt states were recorded cannot be rendered;
- ``duplicate``: exact (input, output) pairs after the first (released-dataset records too).

Released-dataset records (``datasets``) are passed through with deduplication only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.benchmarks import BENCHMARKS, load_benchmark, load_problems_file
from harcopa.corpus import is_corpus_path, load_corpus
from harcopa.errors import InvalidRequest
from harcopa.fps import find_banned, is_submission
from harcopa.prompts import TASKS, PromptTemplates
from harcopa_trainer.copa import copa_pieces, read_copa
from harcopa_trainer.data import Deduplicator, RecordFormat, SftRecord, read_records, write_records
from harcopa_trainer.pieces import (
    PROOF_STEP,
    SOLUTION_DRAFTING,
    STATEMENT,
    STEP_DRAFTING,
    STEP_PREDICTION,
    WHOLE_DRAFTING,
    WHOLE_GENERATION,
    AttemptSource,
    Piece,
    attempt_pieces,
    copa_statement_pieces,
)
from harcopa_trainer.runstore import StoredRun, read_runs

#: Recipe name -> the tasks whose records train that pipeline's model (official-impl §6.3).
RECIPES: dict[str, tuple[str, ...]] = {
    "har": (PROOF_STEP, STEP_DRAFTING),
    "h_bfs": (PROOF_STEP, STEP_DRAFTING),
    "h_wg": (PROOF_STEP, WHOLE_DRAFTING),
    "bfs": (STEP_PREDICTION,),
    "ar": (STEP_PREDICTION,),
    "wg": (WHOLE_GENERATION,),
    "copa": (STATEMENT, SOLUTION_DRAFTING, PROOF_STEP),
    "h_sa": (STATEMENT, SOLUTION_DRAFTING, PROOF_STEP),
}

FILTERS = ("unverified", "banned_token", "no_op", "no_prompt_state", "duplicate")


def resolve_tasks(tasks: Iterable[str], recipes: Iterable[str]) -> tuple[str, ...]:
    """The union of ``tasks`` and the recipes' tasks, in the canonical order of TASKS."""
    wanted = set()
    for task in tasks:
        if task not in TASKS:
            raise InvalidRequest(f"unknown task {task!r} (known: {', '.join(TASKS)})")
        wanted.add(task)
    for recipe in recipes:
        if recipe not in RECIPES:
            raise InvalidRequest(f"unknown recipe {recipe!r} (known: {', '.join(RECIPES)})")
        wanted.update(RECIPES[recipe])
    if not wanted:
        raise InvalidRequest("name at least one --task or --recipe")
    return tuple(task for task in TASKS if task in wanted)


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export and from where (paths as the user gave them)."""

    run_ids: tuple[str, ...]
    tasks: tuple[str, ...]
    store: Path
    benchmark_root: Path
    out: Path
    form: RecordFormat = "flat"
    templates: Path | None = None
    include_unsolved: bool = False
    copa_files: tuple[Path, ...] = ()
    datasets: tuple[Path, ...] = ()
    recipes: tuple[str, ...] = ()


@dataclass
class Summary:
    """Records written per task and candidates dropped per filter, plus provenance."""

    records: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    metadata: dict[str, Any] = field(default_factory=dict)

    def line(self, out: Path) -> str:
        kept = ", ".join(f"{task} {n}" for task, n in sorted(self.records.items())) or "none"
        drops = ", ".join(f"{name} {self.dropped[name]}" for name in FILTERS if self.dropped[name])
        total = sum(self.records.values())
        return f"export-sft: {total} records to {out} ({kept}); dropped: {drops or 'none'}"

    def to_json(self) -> dict[str, Any]:
        return {
            "records": sum(self.records.values()),
            "records_per_task": dict(sorted(self.records.items())),
            "dropped": {name: self.dropped[name] for name in FILTERS},
            **self.metadata,
        }


def templates_digest(path: Path | None) -> tuple[PromptTemplates, dict[str, str]]:
    """The templates and their provenance (path and SHA-256 of the file's bytes)."""
    templates = PromptTemplates.load(path)
    if path is None:
        data = resources.files("harcopa").joinpath("templates/prompts.toml").read_bytes()
        name = "harcopa/templates/prompts.toml (packaged)"
    else:
        data, name = Path(path).read_bytes(), str(path)
    return templates, {"path": name, "sha256": hashlib.sha256(data).hexdigest()}


def file_digest(path: Path) -> dict[str, str]:
    return {"path": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def run_problems(spec: d.RunSpec, benchmark_root: Path) -> dict[str, d.FormalProblem]:
    """The problems of the benchmark a run named, by problem id."""
    if spec.benchmark in BENCHMARKS:
        if not (benchmark_root / f"{spec.benchmark}.json").is_file():
            raise InvalidRequest(f"benchmark {spec.benchmark!r} not found in {benchmark_root}")
        load = load_benchmark(benchmark_root, spec.benchmark)
    elif is_corpus_path(spec.benchmark) and Path(spec.benchmark).is_file():
        return {p.problem_id: p for p in load_corpus(Path(spec.benchmark))}
    elif Path(spec.benchmark).is_file():
        load = load_problems_file(Path(spec.benchmark))
    else:
        raise InvalidRequest(
            f"problems file {spec.benchmark!r} of the run not found (the run names it as the"
            " orchestrator saw it: export from the folder the orchestrator ran in)"
        )
    return {p.problem_id: p for p in load.problems}


def run_pieces(run: StoredRun, templates: PromptTemplates, root: Path) -> Iterator[Piece]:
    """Every candidate record of a run's finished problems, with the run's system prompt."""
    if run.spec.solver.system_prompt:
        templates = templates.with_system(run.spec.solver.system_prompt)
    problems = run_problems(run.spec, root)
    for result in run.results:
        problem = problems.get(result.problem_id)
        if problem is None:
            raise InvalidRequest(
                f"run {run.run_id}: problem {result.problem_id} is not in {run.spec.benchmark}"
            )
        pipeline = d.Pipeline(result.pipeline)
        if pipeline is d.Pipeline.COPA:
            where = f"{run.run_id}/{result.problem_id}/statement"
            yield from copa_statement_pieces(templates, problem, result, where)
        for attempt in result.attempts:
            source = f"{run.run_id}/{result.problem_id}/attempt{attempt.index}"
            ctx = AttemptSource(templates, problem, pipeline, source)
            for piece in attempt_pieces(ctx, attempt):
                yield piece if attempt.solved else dataclasses.replace(piece, solved=False)


def drop_reason(piece: Piece, include_unsolved: bool) -> str | None:
    """The filter that drops ``piece``, or None when it becomes a record."""
    if not piece.solved and not (include_unsolved and piece.lean_accepted):
        return "unverified"
    if not piece.prompt_state:
        return "no_prompt_state"
    if piece.no_op:
        return "no_op"
    allow_sorry = piece.allow_sorry and not (
        piece.task in (STEP_DRAFTING, STEP_PREDICTION) and is_submission(piece.text)
    )
    if find_banned(piece.text, allow_sorry=allow_sorry, policy="strict") is not None:
        return "banned_token"
    return None


def _all_pieces(request: ExportRequest, templates: PromptTemplates) -> Iterator[Piece]:
    runs = read_runs(request.store, list(request.run_ids)) if request.run_ids else []
    for run in runs:
        yield from run_pieces(run, templates, request.benchmark_root)
    for path in request.copa_files:
        for where, record in read_copa(path):
            yield from copa_pieces(templates, where, record)


def build_records(request: ExportRequest, summary: Summary) -> list[SftRecord]:
    """Filtered, deduplicated records of the requested tasks; counts go into ``summary``."""
    templates, provenance = templates_digest(request.templates)
    summary.metadata["templates"] = provenance
    dedup = Deduplicator()
    records: list[SftRecord] = []

    def keep(record: SftRecord) -> None:
        if dedup.first(record):
            records.append(record)
            summary.records[record.task or "unlabelled"] += 1
        else:
            summary.dropped["duplicate"] += 1

    for piece in _all_pieces(request, templates):
        if piece.task not in request.tasks:
            continue
        reason = drop_reason(piece, request.include_unsolved)
        if reason is not None:
            summary.dropped[reason] += 1
        else:
            keep(piece.record())
    for path in request.datasets:
        for record in read_records(path):
            keep(record)
    return records


def export(request: ExportRequest) -> Summary:
    """Write the records and ``<out>.meta.json`` (provenance, counts); the summary."""
    summary = Summary()
    summary.metadata.update(
        runs=list(request.run_ids),
        store=str(request.store),
        tasks=list(request.tasks),
        recipes=list(request.recipes),
        include_unsolved=request.include_unsolved,
        format=request.form,
        copa_files=[file_digest(p) for p in request.copa_files],
        datasets=[file_digest(p) for p in request.datasets],
    )
    records = build_records(request, summary)
    write_records(request.out, records, request.form)
    meta = request.out.with_name(request.out.name + ".meta.json")
    meta.write_text(json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n")
    return summary
