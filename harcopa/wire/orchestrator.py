"""Conversions of the types in ``orchestrator.proto``: run specs, runs, events, attempts, results.

Part of the ``harcopa.wire`` package, the only proto <-> domain conversion code. The run store
keeps these messages as protobuf JSON (``*_to_json``), so the stored format is the API's format.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf import json_format

from harcopa import domain as d
from harcopa.v1 import orchestrator_pb2 as o
from harcopa.wire.common import from_mode, from_usage, inverse, to_json, to_mode, to_usage

_PIPELINES: dict[d.Pipeline, o.Pipeline] = {p: getattr(o, f"PIPELINE_{p.name}") for p in d.Pipeline}
_STATUSES: dict[d.RunStatus, o.RunStatus] = {
    s: getattr(o, f"RUN_STATUS_{s.name}") for s in d.RunStatus
}
_OUTCOMES: dict[d.AttemptOutcome, o.AttemptOutcome] = {
    a: getattr(o, f"ATTEMPT_OUTCOME_{a.name}") for a in d.AttemptOutcome
}
_PIPELINES_R, _STATUSES_R, _OUTCOMES_R = inverse(_PIPELINES), inverse(_STATUSES), inverse(_OUTCOMES)


def to_pipeline(pipeline: d.Pipeline) -> o.Pipeline:
    return _PIPELINES[pipeline]


def from_pipeline(value: o.Pipeline) -> d.Pipeline:
    if value not in _PIPELINES_R:
        raise ValueError(f"unknown pipeline {value}")
    return _PIPELINES_R[value]


def to_run_status(status: d.RunStatus) -> o.RunStatus:
    return _STATUSES[status]


def from_run_status(value: o.RunStatus) -> d.RunStatus:
    if value not in _STATUSES_R:
        raise ValueError(f"unknown run status {value}")
    return _STATUSES_R[value]


# ----------------------------------------------------------------------------- search results


def to_tactics(tactics: Iterable[d.AppliedTactic]) -> list[o.AppliedTactic]:
    return [
        o.AppliedTactic(goal_index=t.goal_index, tactic=t.tactic, prompt_state=t.prompt_state)
        for t in tactics
    ]


def from_tactics(msgs: Iterable[o.AppliedTactic]) -> tuple[d.AppliedTactic, ...]:
    return tuple(d.AppliedTactic(t.goal_index, t.tactic, t.prompt_state) for t in msgs)


_STATS_SECONDS = ("generator_seconds", "verifier_seconds", "lean_seconds", "wait_seconds")
_STATS_COUNTS = ("expansions", "model_calls", "tactic_calls", "sessions_lost")


def to_stats(stats: d.SearchStats) -> o.SearchStats:
    fields = {name: getattr(stats, name) for name in (*_STATS_COUNTS, *_STATS_SECONDS)}
    return o.SearchStats(usage=to_usage(stats.usage), **fields)


def from_stats(msg: o.SearchStats) -> d.SearchStats:
    fields = {name: getattr(msg, name) for name in (*_STATS_COUNTS, *_STATS_SECONDS)}
    return d.SearchStats(usage=from_usage(msg.usage), **fields)


_OPTIONAL_ATTEMPT_FIELDS = (
    "submission_step",
    "submission",
    "rpe_tactic",
    "draft",
    "final_check_ok",
    "strict_audit_passed",
)


def to_attempt(attempt: d.Attempt) -> o.Attempt:
    msg = o.Attempt(
        index=attempt.index,
        outcome=_OUTCOMES[attempt.outcome],
        steps=[
            o.SolutionStep(
                text=s.text, gap_proof=to_tactics(s.gap_proof), prompt_state=s.prompt_state
            )
            for s in attempt.steps
        ],
        charged=attempt.charged,
        paper_budget=attempt.paper_budget,
        stats=to_stats(attempt.stats),
        detail=attempt.detail,
        prompt_state=attempt.prompt_state,
        forbidden_axioms=list(attempt.forbidden_axioms),
        gap_proof=to_tactics(attempt.gap_proof),
        rejected=[
            o.RejectedCandidate(text=r.text, reason=r.reason, prompt_state=r.prompt_state)
            for r in attempt.rejected
        ],
    )
    for name in _OPTIONAL_ATTEMPT_FIELDS:
        value = getattr(attempt, name)
        if value is not None:
            setattr(msg, name, value)
    if attempt.backward_proof is not None:
        msg.backward_proof.tactics.extend(to_tactics(attempt.backward_proof))
    return msg


def from_attempt(msg: o.Attempt) -> d.Attempt:
    optional = {
        name: getattr(msg, name) if msg.HasField(name) else None
        for name in _OPTIONAL_ATTEMPT_FIELDS
    }
    return d.Attempt(
        index=msg.index,
        outcome=_OUTCOMES_R.get(msg.outcome, d.AttemptOutcome.ERROR),
        steps=tuple(
            d.SolutionStep(s.text, from_tactics(s.gap_proof), s.prompt_state) for s in msg.steps
        ),
        backward_proof=(
            from_tactics(msg.backward_proof.tactics) if msg.HasField("backward_proof") else None
        ),
        charged=msg.charged,
        paper_budget=msg.paper_budget,
        stats=from_stats(msg.stats),
        detail=msg.detail,
        prompt_state=msg.prompt_state,
        forbidden_axioms=tuple(msg.forbidden_axioms),
        gap_proof=from_tactics(msg.gap_proof),
        rejected=tuple(d.RejectedCandidate(r.text, r.reason, r.prompt_state) for r in msg.rejected),
        **optional,
    )


_PROBLEM_STATUSES: dict[d.ProblemStatus, o.ProblemStatus] = {
    s: getattr(o, f"PROBLEM_STATUS_{s.name}") for s in d.ProblemStatus
}


def to_problem_result(result: d.ProblemResult) -> o.ProblemResult:
    return o.ProblemResult(
        problem_id=result.problem_id,
        pipeline=result.pipeline,
        mode=to_mode(d.Mode(result.mode)),
        attempts=[to_attempt(a) for a in result.attempts],
        solved=result.solved,
        seconds=result.seconds,
        status=_PROBLEM_STATUSES[result.status],
        retries=result.retries,
    )


def from_problem_result(msg: o.ProblemResult) -> d.ProblemResult:
    """``solved`` and ``status`` are derived from the attempts, never trusted from the message."""
    return d.ProblemResult(
        problem_id=msg.problem_id,
        pipeline=msg.pipeline,
        mode=from_mode(msg.mode).value,
        attempts=tuple(from_attempt(a) for a in msg.attempts),
        seconds=msg.seconds,
        retries=msg.retries,
    )


# ----------------------------------------------------------------------------- runs


def to_model_ref(ref: d.ModelRef) -> o.ModelRef:
    return o.ModelRef(
        name=ref.name,
        endpoint=ref.endpoint,
        endpoint_model=ref.endpoint_model,
        system_prompt=ref.system_prompt,
    )


def from_model_ref(msg: o.ModelRef) -> d.ModelRef:
    return d.ModelRef(msg.name, msg.endpoint, msg.endpoint_model, msg.system_prompt)


_PARAM_COUNTS = (
    "ks",
    "solver_samples",
    "prover_expansions",
    "prover_samples",
    "kw",
    "solver_max_tokens",
    "prover_max_tokens",
)


def to_search_params(params: d.SearchParams) -> o.SearchParams:
    fields = {name: getattr(params, name) for name in _PARAM_COUNTS}
    return o.SearchParams(temperature=params.temperature, **fields)


def from_search_params(msg: o.SearchParams) -> d.SearchParams:
    """Zero or unset fields keep the paper's defaults (an explicit temperature 0 is greedy)."""
    counts = {name: getattr(msg, name) or None for name in _PARAM_COUNTS}
    temperature = msg.temperature if msg.HasField("temperature") else None
    return d.SearchParams().merged(temperature=temperature, **counts)


_DEFAULT_CONCURRENCY = d.RunSpec(d.Pipeline.AR, "").max_concurrent_problems


def to_run_spec(spec: d.RunSpec) -> o.RunSpec:
    msg = o.RunSpec(
        name=spec.name,
        pipeline=_PIPELINES[spec.pipeline],
        benchmark=spec.benchmark,
        problem_indices=list(spec.problem_indices),
        solver=to_model_ref(spec.solver),
        params=to_search_params(spec.params),
        mode=to_mode(spec.mode),
        max_concurrent_problems=spec.max_concurrent_problems,
        limit=spec.limit,
    )
    if spec.prover is not None:
        msg.prover.CopyFrom(to_model_ref(spec.prover))
    if spec.seed is not None:
        msg.seed = spec.seed
    return msg


def from_run_spec(msg: o.RunSpec) -> d.RunSpec:
    """Converts without validating ranges (the orchestrator's validation does that); an
    unknown pipeline raises ValueError."""
    return d.RunSpec(
        pipeline=from_pipeline(msg.pipeline),
        benchmark=msg.benchmark,
        solver=from_model_ref(msg.solver),
        prover=from_model_ref(msg.prover) if msg.HasField("prover") else None,
        name=msg.name,
        problem_indices=tuple(msg.problem_indices),
        params=from_search_params(msg.params),
        mode=from_mode(msg.mode),
        max_concurrent_problems=msg.max_concurrent_problems or _DEFAULT_CONCURRENCY,
        seed=msg.seed if msg.HasField("seed") else None,
        limit=msg.limit,
    )


def to_progress(progress: d.RunProgress) -> o.RunProgress:
    fields = {f: getattr(progress, f) for f in d.RunProgress.__dataclass_fields__}
    return o.RunProgress(**fields)


def from_progress(msg: o.RunProgress) -> d.RunProgress:
    fields = {f: getattr(msg, f) for f in d.RunProgress.__dataclass_fields__}
    fields["eta_seconds"] = msg.eta_seconds if msg.HasField("eta_seconds") else None
    return d.RunProgress(**fields)


def to_run(run: d.Run) -> o.Run:
    return o.Run(
        run_id=run.run_id,
        spec=to_run_spec(run.spec),
        status=_STATUSES[run.status],
        progress=to_progress(run.progress),
        created_unix=run.created_unix,
        updated_unix=run.updated_unix,
        error=run.error,
        errored_problems=list(run.errored_problems),
        caller=run.caller,
    )


def from_run(msg: o.Run) -> d.Run:
    return d.Run(
        run_id=msg.run_id,
        spec=from_run_spec(msg.spec),
        status=_STATUSES_R.get(msg.status, d.RunStatus.PENDING),
        progress=from_progress(msg.progress),
        created_unix=msg.created_unix,
        updated_unix=msg.updated_unix,
        error=msg.error,
        errored_problems=tuple(msg.errored_problems),
        caller=msg.caller,
    )


def to_run_event(event: d.RunEvent) -> o.WatchRunResponse:
    return o.WatchRunResponse(
        run_id=event.run_id,
        status=_STATUSES[event.status],
        progress=to_progress(event.progress),
        problem_id=event.problem_id,
        problem_solved=event.problem_solved,
        problem_errored=event.problem_errored,
        unix_time=event.unix_time,
    )


def from_run_event(msg: o.WatchRunResponse) -> d.RunEvent:
    return d.RunEvent(
        run_id=msg.run_id,
        status=_STATUSES_R.get(msg.status, d.RunStatus.PENDING),
        progress=from_progress(msg.progress),
        problem_id=msg.problem_id,
        problem_solved=msg.problem_solved,
        problem_errored=msg.problem_errored,
        unix_time=msg.unix_time,
    )


# ----------------------------------------------------------------------------- JSON storage


def attempt_to_json(attempt: d.Attempt) -> str:
    return to_json(to_attempt(attempt))


def attempt_from_json(text: str) -> d.Attempt:
    return from_attempt(json_format.Parse(text, o.Attempt()))


def result_to_json(result: d.ProblemResult) -> str:
    return to_json(to_problem_result(result))


def result_from_json(text: str) -> d.ProblemResult:
    return from_problem_result(json_format.Parse(text, o.ProblemResult()))


def run_spec_to_json(spec: d.RunSpec) -> str:
    return to_json(to_run_spec(spec))


def run_spec_from_json(text: str) -> d.RunSpec:
    return from_run_spec(json_format.Parse(text, o.RunSpec()))
