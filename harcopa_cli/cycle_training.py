"""A cycle's training stage on this machine: export the runs' SFT records, then train on them.

Called by the local cycle runner (``harcopa_cli/cycle_runner.py``, one stage at a time) and by
``harcopa cycle job``, the command a cluster's trainer Job runs (both stages, then the outcome
line the orchestrator reads from the pod's log). Everything goes into the request's output
folder: ``sft.jsonl`` (+ ``.meta.json``), ``train.yaml`` and the checkpoint ``model/`` with the
trainer's ``train.json``. A training whose ``train.json`` exists is finished and never redone; a
killed one resumes from its last complete checkpoint (the recipe's ``resume: auto``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.errors import HarcopaError, InvalidRequest


class StageFailed(HarcopaError):
    """A cycle stage could not finish (a runtime failure: exit 1, never bad input)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_stage(
    request: d.TrainingRequest,
    store: Path,
    benchmark_root: Path,
    templates: Path | None = None,
) -> tuple[Path, str, int]:
    """``export-sft`` of the request's runs into ``output_dir/sft.jsonl``; (path, SHA-256,
    records). StageFailed when nothing verified is left to train on."""
    from harcopa_trainer.export import ExportRequest, export, resolve_tasks

    out = Path(request.output_dir) / "sft.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = export(
        ExportRequest(
            run_ids=request.run_ids,
            tasks=resolve_tasks(request.tasks, request.recipes),
            store=store,
            benchmark_root=benchmark_root,
            out=out,
            templates=templates,
            include_unsolved=request.include_unsolved,
            datasets=tuple(Path(p) for p in request.datasets),
            recipes=request.recipes,
        )
    )
    print(summary.line(out), file=sys.stderr, flush=True)
    records = sum(summary.records.values())
    if records == 0:
        raise StageFailed(
            f"the runs {', '.join(request.run_ids)} gave no SFT records (nothing verified:"
            f" {summary.line(out).split('; ', 1)[-1]}); there is nothing to train on"
        )
    return out, sha256_of(out), records


def recipe_file(request: d.TrainingRequest, sft: Path) -> Path:
    """``output_dir/train.yaml``: the request's recipe with the model, data and output set."""
    import yaml

    try:
        recipe: Any = yaml.safe_load(request.recipe) if request.recipe.strip() else {}
    except yaml.YAMLError as error:
        raise InvalidRequest(f"the training recipe is not YAML: {error}") from error
    if not isinstance(recipe, dict):
        raise InvalidRequest("the training recipe must be a mapping of recipe fields")
    output = Path(request.output_dir)
    recipe |= {
        "model_name_or_path": request.base_model,
        "data_files": [str(sft.resolve())],
        "output_dir": str((output / "model").resolve()),
    }
    path = output / "train.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=True), encoding="utf-8")
    return path


def train_stage(request: d.TrainingRequest, sft: Path) -> tuple[Path, dict[str, Any]]:
    """``harcopa train`` on ``sft`` from the request's base model (a subprocess: torchrun when
    several workers); the checkpoint folder and its ``train.json``."""
    checkpoint = (Path(request.output_dir) / "model").resolve()
    summary = checkpoint / "train.json"
    if not summary.is_file():
        config = recipe_file(request, sft)
        command = [sys.executable, "-m", "harcopa_cli", "train", "--config", str(config)]
        if request.processes:
            command += ["--nproc-per-node", str(request.processes)]
        print(f"harcopa cycle: training {request.name}: {' '.join(command)}", file=sys.stderr)
        # Its progress goes to stderr: stdout stays for what the calling command prints.
        code = subprocess.run(
            command, check=False, env=dict(os.environ), stdout=sys.stderr
        ).returncode
        if code != 0 or not summary.is_file():
            raise StageFailed(
                f"training {request.name} failed (harcopa train exit code {code}); its log is"
                " above; re-run the cycle to resume it from its last complete checkpoint"
            )
    return checkpoint, json.loads(summary.read_text(encoding="utf-8"))
