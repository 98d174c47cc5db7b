"""Conversions of the training messages in ``orchestrator.proto``: requests, outcomes, trainings.

Part of the ``harcopa.wire`` package, the only proto <-> domain conversion code; used by the
orchestrator's servicer and by ``OrchestratorClient`` (``harcopa cycle --kubernetes``).
"""

from __future__ import annotations

from harcopa import domain as d
from harcopa.v1 import orchestrator_pb2 as o
from harcopa.wire.common import inverse

_STATES: dict[d.TrainingState, o.TrainingState] = {
    s: getattr(o, f"TRAINING_STATE_{s.name}") for s in d.TrainingState
}
_STATES_R = inverse(_STATES)


def to_training_request(request: d.TrainingRequest) -> o.TrainingRequest:
    return o.TrainingRequest(
        name=request.name,
        run_ids=list(request.run_ids),
        base_model=request.base_model,
        output_dir=request.output_dir,
        recipes=list(request.recipes),
        tasks=list(request.tasks),
        include_unsolved=request.include_unsolved,
        datasets=list(request.datasets),
        recipe=request.recipe,
        processes=request.processes,
    )


def from_training_request(msg: o.TrainingRequest) -> d.TrainingRequest:
    return d.TrainingRequest(
        name=msg.name,
        run_ids=tuple(msg.run_ids),
        base_model=msg.base_model,
        output_dir=msg.output_dir,
        recipes=tuple(msg.recipes),
        tasks=tuple(msg.tasks),
        include_unsolved=msg.include_unsolved,
        datasets=tuple(msg.datasets),
        recipe=msg.recipe,
        processes=msg.processes,
    )


def to_training(training: d.Training) -> o.Training:
    outcome = training.outcome
    return o.Training(
        name=training.name,
        job_name=training.job_name,
        state=_STATES[training.state],
        message=training.message,
        log_tail=list(training.log_tail),
        outcome=o.TrainingOutcome(
            sft_path=outcome.sft_path,
            sft_sha256=outcome.sft_sha256,
            sft_records=outcome.sft_records,
            checkpoint=outcome.checkpoint,
            metrics_json=outcome.metrics_json,
        ),
        rolled_out=training.rolled_out,
    )


def from_training(msg: o.Training) -> d.Training:
    if msg.state not in _STATES_R:
        raise ValueError(f"unknown training state {msg.state}")
    outcome = msg.outcome
    return d.Training(
        name=msg.name,
        job_name=msg.job_name,
        state=_STATES_R[msg.state],
        message=msg.message,
        log_tail=tuple(msg.log_tail),
        outcome=d.TrainingOutcome(
            sft_path=outcome.sft_path,
            sft_sha256=outcome.sft_sha256,
            sft_records=outcome.sft_records,
            checkpoint=outcome.checkpoint,
            metrics_json=outcome.metrics_json or "{}",
        ),
        rolled_out=msg.rolled_out,
    )
