"""Bootstrapping cycles as data: the cycle configuration, the lineage record, the outcome line.

The pure parts of ``harcopa cycle`` (harcopa_cli/cycle*.py, which runs the stages): a cycle
generates data (CoPA and/or search runs) with its model, exports the runs' SFT records, trains
its parent checkpoint on them and registers the result as the next cycle's model. Each cycle's
:class:`CycleRecord` (its lineage) lives in the orchestrator's store (``cycles`` table). The
configuration is one YAML file, parsed once into :class:`CycleConfig`; relative paths in it are
read next to the file. The outcome line is how a training stage that ran elsewhere (a
Kubernetes Job) reports what it produced: the last line of its log.
"""

from __future__ import annotations

import enum
import json
import re
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harcopa import domain as d
from harcopa.benchmarks import BENCHMARKS

OUTCOME_PREFIX = "harcopa-cycle-training: "
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSource(_Strict):
    """The model the first cycle's runs sample from, served by local services (later cycles
    serve their parent cycle's checkpoint with ``serve_backend``)."""

    checkpoint: str = Field("", description="A checkpoint folder, or `smollm2`.")
    backend: Literal["auto", "vllm", "transformers", "sim"] = "auto"
    scenario: Path | None = Field(None, description="Scenario file of the model simulator.")
    endpoint: str = Field("", description="An OpenAI-compatible URL instead of a local server.")
    endpoint_model: str = Field("", description="The model name at `endpoint`.")
    template: str = Field("", description="Chat template override (xtuner-default|file).")
    system_prompt: str = Field("", description="System prompt override.")

    @model_validator(mode="after")
    def _one_source(self) -> ModelSource:
        if self.backend == "sim" and self.scenario is None:
            raise ValueError("the sim backend needs a scenario file")
        if not (self.checkpoint or self.endpoint or self.backend == "sim"):
            raise ValueError("name a checkpoint, an endpoint, or the sim backend with a scenario")
        return self

    def describe(self) -> str:
        if self.endpoint:
            return f"endpoint {self.endpoint} ({self.endpoint_model or 'its default model'})"
        if self.backend == "sim":
            return f"model simulator scripted by {self.scenario}"
        return f"{self.checkpoint} ({self.backend})"


class RunTemplate(_Strict):
    """One data-generation run of every cycle (the flags of ``harcopa eval``)."""

    pipeline: d.Pipeline = d.Pipeline.COPA
    benchmark: str = Field(description="A benchmark name, a problems file or a corpus (.jsonl).")
    problems: str = Field("", description="Indices, e.g. 0,3,10-12 (default all).")
    mode: d.Mode = d.Mode.STRICT
    name: str = ""
    ks: int | None = None
    solver_samples: int | None = None
    prover_expansions: int | None = None
    prover_samples: int | None = None
    kw: int | None = None
    temperature: float | None = None
    solver_max_tokens: int | None = None
    prover_max_tokens: int | None = None
    concurrency: int = Field(16, ge=1)
    seed: int | None = None

    def spec(self, solver: d.ModelRef, indices: tuple[int, ...]) -> d.RunSpec:
        params = d.SearchParams().merged(
            **{k: getattr(self, k) for k in RUN_BUDGETS},
        )
        return d.RunSpec(
            pipeline=self.pipeline,
            benchmark=self.benchmark,
            solver=solver,
            prover=solver if self.pipeline.hierarchical else None,
            name=self.name,
            problem_indices=indices,
            params=params,
            mode=self.mode,
            max_concurrent_problems=self.concurrency,
            seed=self.seed,
        )


RUN_BUDGETS = (
    "ks",
    "solver_samples",
    "prover_expansions",
    "prover_samples",
    "kw",
    "temperature",
    "solver_max_tokens",
    "prover_max_tokens",
)


class ExportOptions(_Strict):
    """Which SFT records a cycle trains on (``harcopa export-sft``'s selection)."""

    recipes: tuple[str, ...] = ("copa",)
    tasks: tuple[str, ...] = ()
    include_unsolved: bool = False
    accumulate: bool = Field(False, description="Also the runs of every earlier cycle.")
    datasets: tuple[Path, ...] = ()
    templates: Path | None = None


class TrainOptions(_Strict):
    """The training stage: recipe fields (``harcopa train``'s YAML; the cycle sets
    ``model_name_or_path``, ``data_files`` and ``output_dir``) and the workers."""

    recipe: dict[str, Any] = Field(default_factory=dict)
    processes: int = Field(0, ge=0, le=1024, description="Workers (0: one per device).")

    @field_validator("recipe")
    @classmethod
    def _cycle_fields(cls, recipe: dict[str, Any]) -> dict[str, Any]:
        set_by_cycle = {"model_name_or_path", "data_files", "output_dir"} & set(recipe)
        if set_by_cycle:
            raise ValueError(f"the cycle sets {', '.join(sorted(set_by_cycle))} itself")
        return recipe


class LocalServices(_Strict):
    """Local services, started per cycle as ``harcopa eval`` starts them."""

    verifier_backend: Literal["auto", "pantograph", "sim"] = "auto"
    lean_scenario: Path | None = None
    pool_size: int | None = Field(None, ge=2)
    serve_backend: Literal["auto", "vllm", "transformers"] = Field(
        "auto", description="How later cycles serve their parent's checkpoint."
    )


class RemoteOrchestrator(_Strict):
    """An orchestrator already running (a cluster's): runs use one of its configured models."""

    target: str
    model: str = Field("", description="Its configured model the runs use (default: its own).")
    store: Path | None = Field(
        None, description="Its store, readable here: needed to train here (without Kubernetes)."
    )
    workspace: str = Field(
        "/workspace/cycles", description="--kubernetes: the Jobs' folder for data and models."
    )
    poll_seconds: float = Field(10.0, gt=0, description="--kubernetes: between two GetTraining.")


class CycleConfig(_Strict):
    """``harcopa cycle --config FILE``: the cycles to run and how (see the module docstring)."""

    name: str = Field(description="Names the cycles: their ids are NAME-1, NAME-2, ...")
    cycles: int = Field(1, ge=1, le=100)
    workdir: Path = Path("cycles")
    benchmark_root: Path = Path("../shared/benchmark")
    generator: ModelSource | None = None
    base_model: str = Field(description="The checkpoint the first cycle trains.")
    runs: tuple[RunTemplate, ...] = Field(min_length=1)
    export: ExportOptions = ExportOptions()
    train: TrainOptions = TrainOptions()
    services: LocalServices = LocalServices()
    orchestrator: RemoteOrchestrator | None = None

    @field_validator("name")
    @classmethod
    def _id_safe(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("use letters, digits, '.', '_' and '-' (at most 64)")
        return name

    @model_validator(mode="after")
    def _generator_when_local(self) -> CycleConfig:
        if self.orchestrator is None and self.generator is None:
            raise ValueError("local services need a generator (the first cycle's model)")
        return self

    def cycle_id(self, index: int) -> str:
        return f"{self.name}-{index}"

    def resolved(self, base: Path) -> CycleConfig:
        """Local paths read relative to ``base`` (the config file's folder); a remote
        orchestrator's benchmarks and checkpoints are its own paths and stay as written."""
        services, export = self.services, self.export
        changes: dict[str, Any] = {
            "workdir": _under(base, self.workdir),
            "benchmark_root": _under(base, self.benchmark_root),
            "services": services.model_copy(
                update={"lean_scenario": _under(base, services.lean_scenario)}
            ),
            "export": export.model_copy(
                update={
                    "datasets": tuple(_under(base, p) for p in export.datasets),
                    "templates": _under(base, export.templates),
                }
            ),
        }
        if self.orchestrator is None:
            changes["base_model"] = _existing_under(base, self.base_model)
            changes["runs"] = tuple(
                r.model_copy(update={"benchmark": _existing_under(base, r.benchmark)})
                for r in self.runs
            )
            if self.generator is not None:
                changes["generator"] = self.generator.model_copy(
                    update={
                        "checkpoint": _existing_under(base, self.generator.checkpoint),
                        "scenario": _under(base, self.generator.scenario),
                    }
                )
        return self.model_copy(update=changes)


@overload
def _under(base: Path, path: Path) -> Path: ...


@overload
def _under(base: Path, path: None) -> None: ...


@overload
def _under(base: Path, path: Path | None) -> Path | None: ...


def _under(base: Path, path: Path | None) -> Path | None:
    """``path`` read relative to ``base`` (absolute paths and None as they are)."""
    return path if path is None or path.is_absolute() else base / path


def _existing_under(base: Path, value: str) -> str:
    """A name that may be a path (a checkpoint, a problems file): relative to ``base`` when
    such a file or folder exists there, else as written (``smollm2``, a benchmark name)."""
    if not value or value in BENCHMARKS or Path(value).is_absolute():
        return value
    candidate = base / value
    return str(candidate) if candidate.exists() else value


class CycleStage(enum.Enum):
    """GENERATING -> EXPORTING -> TRAINING -> DONE (the next cycle may start)."""

    GENERATING = "generating"
    EXPORTING = "exporting"
    TRAINING = "training"
    DONE = "done"


class CycleRecord(_Strict):
    """One cycle's lineage: where it is, its model, runs, data, parent and result.

    ``model`` is what its runs sampled from; ``run_ids`` its runs, in config order;
    ``export_runs`` the runs its SFT data came from; ``sft_*`` the data file, its SHA-256 and
    record count; ``parent_checkpoint`` what it trained; ``checkpoint`` the result (the next
    cycle's model); ``train_metrics`` the trainer's ``train.json`` without the per-step losses
    and training arguments (``train_json`` is the file); ``training_job`` the Kubernetes Job
    that trained it, if any.
    """

    cycle_id: str
    name: str
    index: int
    stage: CycleStage = CycleStage.GENERATING
    model: str = ""
    run_ids: tuple[str, ...] = ()
    export_runs: tuple[str, ...] = ()
    sft_path: str = ""
    sft_sha256: str = ""
    sft_records: int = 0
    parent_checkpoint: str = ""
    checkpoint: str = ""
    train_metrics: dict[str, Any] = Field(default_factory=dict)
    train_json: str = ""
    training_job: str = ""
    error: str = ""
    created_unix: float = 0.0
    updated_unix: float = 0.0

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> CycleRecord:
        return cls.model_validate_json(text)


def train_metrics(train_json: dict[str, Any]) -> dict[str, Any]:
    """The lineage's metrics: ``train.json`` without the per-step losses and the full training
    arguments (both stay in the file)."""
    return {k: v for k, v in train_json.items() if k not in ("per_step_loss", "config")}


def outcome_line(outcome: d.TrainingOutcome) -> str:
    """The last log line of a training stage: what it produced, as one JSON line."""
    body = {
        "sft_path": outcome.sft_path,
        "sft_sha256": outcome.sft_sha256,
        "sft_records": outcome.sft_records,
        "checkpoint": outcome.checkpoint,
        "metrics": json.loads(outcome.metrics_json),
    }
    return OUTCOME_PREFIX + json.dumps(body, ensure_ascii=False, sort_keys=True)


def parse_outcome(lines: list[str] | tuple[str, ...]) -> d.TrainingOutcome | None:
    """The outcome in a training stage's log (its last outcome line), or None."""
    for line in reversed(lines):
        if line.startswith(OUTCOME_PREFIX):
            try:
                body = json.loads(line[len(OUTCOME_PREFIX) :])
                return d.TrainingOutcome(
                    sft_path=str(body["sft_path"]),
                    sft_sha256=str(body["sft_sha256"]),
                    sft_records=int(body["sft_records"]),
                    checkpoint=str(body["checkpoint"]),
                    metrics_json=json.dumps(body["metrics"], sort_keys=True),
                )
            except (ValueError, KeyError, TypeError):
                return None
    return None
