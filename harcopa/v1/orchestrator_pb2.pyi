from harcopa.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Pipeline(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PIPELINE_UNSPECIFIED: _ClassVar[Pipeline]
    PIPELINE_AR: _ClassVar[Pipeline]
    PIPELINE_HAR: _ClassVar[Pipeline]
    PIPELINE_BFS: _ClassVar[Pipeline]
    PIPELINE_H_BFS: _ClassVar[Pipeline]
    PIPELINE_WG: _ClassVar[Pipeline]
    PIPELINE_H_WG: _ClassVar[Pipeline]
    PIPELINE_H_SA: _ClassVar[Pipeline]
    PIPELINE_COPA: _ClassVar[Pipeline]

class RunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATUS_UNSPECIFIED: _ClassVar[RunStatus]
    RUN_STATUS_PENDING: _ClassVar[RunStatus]
    RUN_STATUS_RUNNING: _ClassVar[RunStatus]
    RUN_STATUS_SUCCEEDED: _ClassVar[RunStatus]
    RUN_STATUS_FAILED: _ClassVar[RunStatus]
    RUN_STATUS_CANCELLED: _ClassVar[RunStatus]

class AttemptOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTEMPT_OUTCOME_UNSPECIFIED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_SOLVED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_WRONG_ANSWER: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_INVALID_SUBMISSION: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_GAP_UNPROVEN: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_REJECTED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_BUDGET_EXHAUSTED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_ERROR: _ClassVar[AttemptOutcome]
PIPELINE_UNSPECIFIED: Pipeline
PIPELINE_AR: Pipeline
PIPELINE_HAR: Pipeline
PIPELINE_BFS: Pipeline
PIPELINE_H_BFS: Pipeline
PIPELINE_WG: Pipeline
PIPELINE_H_WG: Pipeline
PIPELINE_H_SA: Pipeline
PIPELINE_COPA: Pipeline
RUN_STATUS_UNSPECIFIED: RunStatus
RUN_STATUS_PENDING: RunStatus
RUN_STATUS_RUNNING: RunStatus
RUN_STATUS_SUCCEEDED: RunStatus
RUN_STATUS_FAILED: RunStatus
RUN_STATUS_CANCELLED: RunStatus
ATTEMPT_OUTCOME_UNSPECIFIED: AttemptOutcome
ATTEMPT_OUTCOME_SOLVED: AttemptOutcome
ATTEMPT_OUTCOME_WRONG_ANSWER: AttemptOutcome
ATTEMPT_OUTCOME_INVALID_SUBMISSION: AttemptOutcome
ATTEMPT_OUTCOME_GAP_UNPROVEN: AttemptOutcome
ATTEMPT_OUTCOME_REJECTED: AttemptOutcome
ATTEMPT_OUTCOME_BUDGET_EXHAUSTED: AttemptOutcome
ATTEMPT_OUTCOME_ERROR: AttemptOutcome

class ModelRef(_message.Message):
    __slots__ = ("target", "model", "api_key_env", "system_prompt")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ENV_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    target: str
    model: str
    api_key_env: str
    system_prompt: str
    def __init__(self, target: _Optional[str] = ..., model: _Optional[str] = ..., api_key_env: _Optional[str] = ..., system_prompt: _Optional[str] = ...) -> None: ...

class SearchParams(_message.Message):
    __slots__ = ("solver_max_trials", "solver_samples_per_trial", "prover_max_trials", "prover_samples_per_trial", "try_num", "temperature", "solver_max_tokens", "prover_max_tokens")
    SOLVER_MAX_TRIALS_FIELD_NUMBER: _ClassVar[int]
    SOLVER_SAMPLES_PER_TRIAL_FIELD_NUMBER: _ClassVar[int]
    PROVER_MAX_TRIALS_FIELD_NUMBER: _ClassVar[int]
    PROVER_SAMPLES_PER_TRIAL_FIELD_NUMBER: _ClassVar[int]
    TRY_NUM_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SOLVER_MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROVER_MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    solver_max_trials: int
    solver_samples_per_trial: int
    prover_max_trials: int
    prover_samples_per_trial: int
    try_num: int
    temperature: float
    solver_max_tokens: int
    prover_max_tokens: int
    def __init__(self, solver_max_trials: _Optional[int] = ..., solver_samples_per_trial: _Optional[int] = ..., prover_max_trials: _Optional[int] = ..., prover_samples_per_trial: _Optional[int] = ..., try_num: _Optional[int] = ..., temperature: _Optional[float] = ..., solver_max_tokens: _Optional[int] = ..., prover_max_tokens: _Optional[int] = ...) -> None: ...

class RunSpec(_message.Message):
    __slots__ = ("name", "pipeline", "benchmark", "problem_indices", "solver", "prover", "params", "mode", "max_concurrent_problems", "seed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    BENCHMARK_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_INDICES_FIELD_NUMBER: _ClassVar[int]
    SOLVER_FIELD_NUMBER: _ClassVar[int]
    PROVER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    name: str
    pipeline: Pipeline
    benchmark: str
    problem_indices: _containers.RepeatedScalarFieldContainer[int]
    solver: ModelRef
    prover: ModelRef
    params: SearchParams
    mode: _common_pb2.Mode
    max_concurrent_problems: int
    seed: int
    def __init__(self, name: _Optional[str] = ..., pipeline: _Optional[_Union[Pipeline, str]] = ..., benchmark: _Optional[str] = ..., problem_indices: _Optional[_Iterable[int]] = ..., solver: _Optional[_Union[ModelRef, _Mapping]] = ..., prover: _Optional[_Union[ModelRef, _Mapping]] = ..., params: _Optional[_Union[SearchParams, _Mapping]] = ..., mode: _Optional[_Union[_common_pb2.Mode, str]] = ..., max_concurrent_problems: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class RunProgress(_message.Message):
    __slots__ = ("problems_total", "problems_done", "problems_solved", "problems_errored", "model_calls", "tactic_calls", "generator_seconds", "verifier_seconds", "sessions_lost")
    PROBLEMS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_DONE_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_SOLVED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_ERRORED_FIELD_NUMBER: _ClassVar[int]
    MODEL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TACTIC_CALLS_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_LOST_FIELD_NUMBER: _ClassVar[int]
    problems_total: int
    problems_done: int
    problems_solved: int
    problems_errored: int
    model_calls: int
    tactic_calls: int
    generator_seconds: float
    verifier_seconds: float
    sessions_lost: int
    def __init__(self, problems_total: _Optional[int] = ..., problems_done: _Optional[int] = ..., problems_solved: _Optional[int] = ..., problems_errored: _Optional[int] = ..., model_calls: _Optional[int] = ..., tactic_calls: _Optional[int] = ..., generator_seconds: _Optional[float] = ..., verifier_seconds: _Optional[float] = ..., sessions_lost: _Optional[int] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("run_id", "spec", "status", "progress", "created_unix", "updated_unix", "error")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    UPDATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    spec: RunSpec
    status: RunStatus
    progress: RunProgress
    created_unix: float
    updated_unix: float
    error: str
    def __init__(self, run_id: _Optional[str] = ..., spec: _Optional[_Union[RunSpec, _Mapping]] = ..., status: _Optional[_Union[RunStatus, str]] = ..., progress: _Optional[_Union[RunProgress, _Mapping]] = ..., created_unix: _Optional[float] = ..., updated_unix: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class StartRunRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: RunSpec
    def __init__(self, spec: _Optional[_Union[RunSpec, _Mapping]] = ...) -> None: ...

class StartRunResponse(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class WatchRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ("run_id", "status", "progress", "problem_id", "problem_solved", "unix_time")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_ID_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_SOLVED_FIELD_NUMBER: _ClassVar[int]
    UNIX_TIME_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    status: RunStatus
    progress: RunProgress
    problem_id: str
    problem_solved: bool
    unix_time: float
    def __init__(self, run_id: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., progress: _Optional[_Union[RunProgress, _Mapping]] = ..., problem_id: _Optional[str] = ..., problem_solved: _Optional[bool] = ..., unix_time: _Optional[float] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class CancelRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class GetProblemResultRequest(_message.Message):
    __slots__ = ("run_id", "problem_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    problem_id: str
    def __init__(self, run_id: _Optional[str] = ..., problem_id: _Optional[str] = ...) -> None: ...

class ProofStep(_message.Message):
    __slots__ = ("goal_index", "tactic")
    GOAL_INDEX_FIELD_NUMBER: _ClassVar[int]
    TACTIC_FIELD_NUMBER: _ClassVar[int]
    goal_index: int
    tactic: str
    def __init__(self, goal_index: _Optional[int] = ..., tactic: _Optional[str] = ...) -> None: ...

class SolutionStep(_message.Message):
    __slots__ = ("text", "gap_proof")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    GAP_PROOF_FIELD_NUMBER: _ClassVar[int]
    text: str
    gap_proof: _containers.RepeatedCompositeFieldContainer[ProofStep]
    def __init__(self, text: _Optional[str] = ..., gap_proof: _Optional[_Iterable[_Union[ProofStep, _Mapping]]] = ...) -> None: ...

class SearchStats(_message.Message):
    __slots__ = ("expansions", "model_calls", "tactic_calls", "usage", "generator_seconds", "verifier_seconds", "sessions_lost")
    EXPANSIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TACTIC_CALLS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_LOST_FIELD_NUMBER: _ClassVar[int]
    expansions: int
    model_calls: int
    tactic_calls: int
    usage: _common_pb2.TokenUsage
    generator_seconds: float
    verifier_seconds: float
    sessions_lost: int
    def __init__(self, expansions: _Optional[int] = ..., model_calls: _Optional[int] = ..., tactic_calls: _Optional[int] = ..., usage: _Optional[_Union[_common_pb2.TokenUsage, _Mapping]] = ..., generator_seconds: _Optional[float] = ..., verifier_seconds: _Optional[float] = ..., sessions_lost: _Optional[int] = ...) -> None: ...

class BackwardProof(_message.Message):
    __slots__ = ("steps",)
    STEPS_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedCompositeFieldContainer[ProofStep]
    def __init__(self, steps: _Optional[_Iterable[_Union[ProofStep, _Mapping]]] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("index", "outcome", "steps", "submission_step", "submission", "rpe_tactic", "backward_proof", "draft", "final_check_ok", "candidates", "budget_used", "stats", "detail")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_STEP_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    RPE_TACTIC_FIELD_NUMBER: _ClassVar[int]
    BACKWARD_PROOF_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    FINAL_CHECK_OK_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USED_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    index: int
    outcome: AttemptOutcome
    steps: _containers.RepeatedCompositeFieldContainer[SolutionStep]
    submission_step: str
    submission: str
    rpe_tactic: str
    backward_proof: BackwardProof
    draft: str
    final_check_ok: bool
    candidates: int
    budget_used: float
    stats: SearchStats
    detail: str
    def __init__(self, index: _Optional[int] = ..., outcome: _Optional[_Union[AttemptOutcome, str]] = ..., steps: _Optional[_Iterable[_Union[SolutionStep, _Mapping]]] = ..., submission_step: _Optional[str] = ..., submission: _Optional[str] = ..., rpe_tactic: _Optional[str] = ..., backward_proof: _Optional[_Union[BackwardProof, _Mapping]] = ..., draft: _Optional[str] = ..., final_check_ok: _Optional[bool] = ..., candidates: _Optional[int] = ..., budget_used: _Optional[float] = ..., stats: _Optional[_Union[SearchStats, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class ProblemResult(_message.Message):
    __slots__ = ("problem_id", "pipeline", "mode", "attempts", "solved", "seconds")
    PROBLEM_ID_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    SOLVED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    problem_id: str
    pipeline: str
    mode: _common_pb2.Mode
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    solved: bool
    seconds: float
    def __init__(self, problem_id: _Optional[str] = ..., pipeline: _Optional[str] = ..., mode: _Optional[_Union[_common_pb2.Mode, str]] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., solved: _Optional[bool] = ..., seconds: _Optional[float] = ...) -> None: ...

class GetProblemResultResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ProblemResult
    def __init__(self, result: _Optional[_Union[ProblemResult, _Mapping]] = ...) -> None: ...
