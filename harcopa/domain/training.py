"""Training-job domain types: what a cycle asks the cluster to train, and how the job is doing.

Built by the cycle runner (``harcopa cycle --kubernetes``) and by the orchestrator's training-job
backend, carried by StartTraining / GetTraining; the same request runs a cycle's training stage
locally.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TrainingRequest:
    """One cycle's training stage: export the runs' SFT records, fine-tune, serve the result.

    ``name`` identifies the training (a cycle id; starting the same name again is a no-op);
    ``recipes``/``tasks``/``include_unsolved``/``datasets`` select the SFT records as
    ``harcopa export-sft`` does; ``base_model`` is the parent checkpoint; ``recipe`` holds the
    training recipe's fields (YAML text; the stage sets the model, data and output folder);
    ``output_dir`` receives ``sft.jsonl``, ``train.yaml`` and the checkpoint (``model/``);
    ``processes`` is the number of training workers (0: one per device).
    """

    name: str
    run_ids: tuple[str, ...]
    base_model: str
    output_dir: str
    recipes: tuple[str, ...] = ("copa",)
    tasks: tuple[str, ...] = ()
    include_unsolved: bool = False
    datasets: tuple[str, ...] = ()
    recipe: str = ""
    processes: int = 0


class TrainingState(enum.Enum):
    """PENDING -> RUNNING -> SUCCEEDED (checkpoint served) | FAILED."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (TrainingState.SUCCEEDED, TrainingState.FAILED)


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """What a finished training stage produced: the SFT file (path, SHA-256, records), the
    checkpoint folder and the trainer's ``train.json`` metrics (without the per-step losses and
    training arguments, which stay in the file)."""

    sft_path: str = ""
    sft_sha256: str = ""
    sft_records: int = 0
    checkpoint: str = ""
    metrics_json: str = "{}"


@dataclass(frozen=True, slots=True)
class Training:
    """A training as the cluster reports it.

    ``message`` says why it is in its state (the Job's failure reason and message);
    ``log_tail`` holds the last lines of its pod's log; ``rolled_out`` is True once the model
    server serves ``outcome.checkpoint``.
    """

    name: str
    job_name: str
    state: TrainingState
    message: str = ""
    log_tail: tuple[str, ...] = ()
    outcome: TrainingOutcome = field(default_factory=TrainingOutcome)
    rolled_out: bool = False
