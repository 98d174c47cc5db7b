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
    RUN_STATUS_INCOMPLETE: _ClassVar[RunStatus]
    RUN_STATUS_INTERRUPTED: _ClassVar[RunStatus]

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

class ProblemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROBLEM_STATUS_UNSPECIFIED: _ClassVar[ProblemStatus]
    PROBLEM_STATUS_SOLVED: _ClassVar[ProblemStatus]
    PROBLEM_STATUS_UNSOLVED: _ClassVar[ProblemStatus]
    PROBLEM_STATUS_ERRORED: _ClassVar[ProblemStatus]

class TrainingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAINING_STATE_UNSPECIFIED: _ClassVar[TrainingState]
    TRAINING_STATE_PENDING: _ClassVar[TrainingState]
    TRAINING_STATE_RUNNING: _ClassVar[TrainingState]
    TRAINING_STATE_SUCCEEDED: _ClassVar[TrainingState]
    TRAINING_STATE_FAILED: _ClassVar[TrainingState]
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
RUN_STATUS_INCOMPLETE: RunStatus
RUN_STATUS_INTERRUPTED: RunStatus
ATTEMPT_OUTCOME_UNSPECIFIED: AttemptOutcome
ATTEMPT_OUTCOME_SOLVED: AttemptOutcome
ATTEMPT_OUTCOME_WRONG_ANSWER: AttemptOutcome
ATTEMPT_OUTCOME_INVALID_SUBMISSION: AttemptOutcome
ATTEMPT_OUTCOME_GAP_UNPROVEN: AttemptOutcome
ATTEMPT_OUTCOME_REJECTED: AttemptOutcome
ATTEMPT_OUTCOME_BUDGET_EXHAUSTED: AttemptOutcome
ATTEMPT_OUTCOME_ERROR: AttemptOutcome
PROBLEM_STATUS_UNSPECIFIED: ProblemStatus
PROBLEM_STATUS_SOLVED: ProblemStatus
PROBLEM_STATUS_UNSOLVED: ProblemStatus
PROBLEM_STATUS_ERRORED: ProblemStatus
TRAINING_STATE_UNSPECIFIED: TrainingState
TRAINING_STATE_PENDING: TrainingState
TRAINING_STATE_RUNNING: TrainingState
TRAINING_STATE_SUCCEEDED: TrainingState
TRAINING_STATE_FAILED: TrainingState

class ModelRef(_message.Message):
    __slots__ = ("name", "endpoint", "endpoint_model", "system_prompt")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_MODEL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    name: str
    endpoint: str
    endpoint_model: str
    system_prompt: str
    def __init__(self, name: _Optional[str] = ..., endpoint: _Optional[str] = ..., endpoint_model: _Optional[str] = ..., system_prompt: _Optional[str] = ...) -> None: ...

class SearchParams(_message.Message):
    __slots__ = ("ks", "solver_samples", "prover_expansions", "prover_samples", "kw", "temperature", "solver_max_tokens", "prover_max_tokens")
    KS_FIELD_NUMBER: _ClassVar[int]
    SOLVER_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    PROVER_EXPANSIONS_FIELD_NUMBER: _ClassVar[int]
    PROVER_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    KW_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SOLVER_MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROVER_MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ks: int
    solver_samples: int
    prover_expansions: int
    prover_samples: int
    kw: int
    temperature: float
    solver_max_tokens: int
    prover_max_tokens: int
    def __init__(self, ks: _Optional[int] = ..., solver_samples: _Optional[int] = ..., prover_expansions: _Optional[int] = ..., prover_samples: _Optional[int] = ..., kw: _Optional[int] = ..., temperature: _Optional[float] = ..., solver_max_tokens: _Optional[int] = ..., prover_max_tokens: _Optional[int] = ...) -> None: ...

class RunSpec(_message.Message):
    __slots__ = ("name", "pipeline", "benchmark", "problem_indices", "solver", "prover", "params", "mode", "max_concurrent_problems", "seed", "limit")
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
    LIMIT_FIELD_NUMBER: _ClassVar[int]
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
    limit: int
    def __init__(self, name: _Optional[str] = ..., pipeline: _Optional[_Union[Pipeline, str]] = ..., benchmark: _Optional[str] = ..., problem_indices: _Optional[_Iterable[int]] = ..., solver: _Optional[_Union[ModelRef, _Mapping]] = ..., prover: _Optional[_Union[ModelRef, _Mapping]] = ..., params: _Optional[_Union[SearchParams, _Mapping]] = ..., mode: _Optional[_Union[_common_pb2.Mode, str]] = ..., max_concurrent_problems: _Optional[int] = ..., seed: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class RunProgress(_message.Message):
    __slots__ = ("problems_total", "problems_done", "problems_solved", "problems_errored", "model_calls", "tactic_calls", "generator_seconds", "verifier_seconds", "sessions_lost", "problems_retried", "problems_in_flight", "elapsed_seconds", "problems_per_hour", "eta_seconds", "lean_seconds")
    PROBLEMS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_DONE_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_SOLVED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_ERRORED_FIELD_NUMBER: _ClassVar[int]
    MODEL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TACTIC_CALLS_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_LOST_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_RETRIED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LEAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    problems_total: int
    problems_done: int
    problems_solved: int
    problems_errored: int
    model_calls: int
    tactic_calls: int
    generator_seconds: float
    verifier_seconds: float
    sessions_lost: int
    problems_retried: int
    problems_in_flight: int
    elapsed_seconds: float
    problems_per_hour: float
    eta_seconds: float
    lean_seconds: float
    def __init__(self, problems_total: _Optional[int] = ..., problems_done: _Optional[int] = ..., problems_solved: _Optional[int] = ..., problems_errored: _Optional[int] = ..., model_calls: _Optional[int] = ..., tactic_calls: _Optional[int] = ..., generator_seconds: _Optional[float] = ..., verifier_seconds: _Optional[float] = ..., sessions_lost: _Optional[int] = ..., problems_retried: _Optional[int] = ..., problems_in_flight: _Optional[int] = ..., elapsed_seconds: _Optional[float] = ..., problems_per_hour: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., lean_seconds: _Optional[float] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("run_id", "spec", "status", "progress", "created_unix", "updated_unix", "error", "errored_problems", "caller")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    UPDATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERRORED_PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    spec: RunSpec
    status: RunStatus
    progress: RunProgress
    created_unix: float
    updated_unix: float
    error: str
    errored_problems: _containers.RepeatedScalarFieldContainer[str]
    caller: str
    def __init__(self, run_id: _Optional[str] = ..., spec: _Optional[_Union[RunSpec, _Mapping]] = ..., status: _Optional[_Union[RunStatus, str]] = ..., progress: _Optional[_Union[RunProgress, _Mapping]] = ..., created_unix: _Optional[float] = ..., updated_unix: _Optional[float] = ..., error: _Optional[str] = ..., errored_problems: _Optional[_Iterable[str]] = ..., caller: _Optional[str] = ...) -> None: ...

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

class WatchRunResponse(_message.Message):
    __slots__ = ("run_id", "status", "progress", "problem_id", "problem_solved", "unix_time", "problem_errored")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_ID_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_SOLVED_FIELD_NUMBER: _ClassVar[int]
    UNIX_TIME_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_ERRORED_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    status: RunStatus
    progress: RunProgress
    problem_id: str
    problem_solved: bool
    unix_time: float
    problem_errored: bool
    def __init__(self, run_id: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., progress: _Optional[_Union[RunProgress, _Mapping]] = ..., problem_id: _Optional[str] = ..., problem_solved: _Optional[bool] = ..., unix_time: _Optional[float] = ..., problem_errored: _Optional[bool] = ...) -> None: ...

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
    __slots__ = ("statuses", "limit")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[RunStatus]
    limit: int
    def __init__(self, statuses: _Optional[_Iterable[_Union[RunStatus, str]]] = ..., limit: _Optional[int] = ...) -> None: ...

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

class ResumeRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class ResumeRunResponse(_message.Message):
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

class AppliedTactic(_message.Message):
    __slots__ = ("goal_index", "tactic", "prompt_state")
    GOAL_INDEX_FIELD_NUMBER: _ClassVar[int]
    TACTIC_FIELD_NUMBER: _ClassVar[int]
    PROMPT_STATE_FIELD_NUMBER: _ClassVar[int]
    goal_index: int
    tactic: str
    prompt_state: str
    def __init__(self, goal_index: _Optional[int] = ..., tactic: _Optional[str] = ..., prompt_state: _Optional[str] = ...) -> None: ...

class SolutionStep(_message.Message):
    __slots__ = ("text", "gap_proof", "prompt_state")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    GAP_PROOF_FIELD_NUMBER: _ClassVar[int]
    PROMPT_STATE_FIELD_NUMBER: _ClassVar[int]
    text: str
    gap_proof: _containers.RepeatedCompositeFieldContainer[AppliedTactic]
    prompt_state: str
    def __init__(self, text: _Optional[str] = ..., gap_proof: _Optional[_Iterable[_Union[AppliedTactic, _Mapping]]] = ..., prompt_state: _Optional[str] = ...) -> None: ...

class SearchStats(_message.Message):
    __slots__ = ("expansions", "model_calls", "tactic_calls", "usage", "generator_seconds", "verifier_seconds", "sessions_lost", "lean_seconds", "wait_seconds")
    EXPANSIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TACTIC_CALLS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_LOST_FIELD_NUMBER: _ClassVar[int]
    LEAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    expansions: int
    model_calls: int
    tactic_calls: int
    usage: _common_pb2.TokenUsage
    generator_seconds: float
    verifier_seconds: float
    sessions_lost: int
    lean_seconds: float
    wait_seconds: float
    def __init__(self, expansions: _Optional[int] = ..., model_calls: _Optional[int] = ..., tactic_calls: _Optional[int] = ..., usage: _Optional[_Union[_common_pb2.TokenUsage, _Mapping]] = ..., generator_seconds: _Optional[float] = ..., verifier_seconds: _Optional[float] = ..., sessions_lost: _Optional[int] = ..., lean_seconds: _Optional[float] = ..., wait_seconds: _Optional[float] = ...) -> None: ...

class BackwardProof(_message.Message):
    __slots__ = ("tactics",)
    TACTICS_FIELD_NUMBER: _ClassVar[int]
    tactics: _containers.RepeatedCompositeFieldContainer[AppliedTactic]
    def __init__(self, tactics: _Optional[_Iterable[_Union[AppliedTactic, _Mapping]]] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("index", "outcome", "steps", "submission_step", "submission", "rpe_tactic", "backward_proof", "draft", "final_check_ok", "charged", "paper_budget", "stats", "detail", "prompt_state", "strict_audit_passed", "forbidden_axioms", "gap_proof", "rejected")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_STEP_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    RPE_TACTIC_FIELD_NUMBER: _ClassVar[int]
    BACKWARD_PROOF_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    FINAL_CHECK_OK_FIELD_NUMBER: _ClassVar[int]
    CHARGED_FIELD_NUMBER: _ClassVar[int]
    PAPER_BUDGET_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_STATE_FIELD_NUMBER: _ClassVar[int]
    STRICT_AUDIT_PASSED_FIELD_NUMBER: _ClassVar[int]
    FORBIDDEN_AXIOMS_FIELD_NUMBER: _ClassVar[int]
    GAP_PROOF_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    index: int
    outcome: AttemptOutcome
    steps: _containers.RepeatedCompositeFieldContainer[SolutionStep]
    submission_step: str
    submission: str
    rpe_tactic: str
    backward_proof: BackwardProof
    draft: str
    final_check_ok: bool
    charged: int
    paper_budget: float
    stats: SearchStats
    detail: str
    prompt_state: str
    strict_audit_passed: bool
    forbidden_axioms: _containers.RepeatedScalarFieldContainer[str]
    gap_proof: _containers.RepeatedCompositeFieldContainer[AppliedTactic]
    rejected: _containers.RepeatedCompositeFieldContainer[RejectedCandidate]
    def __init__(self, index: _Optional[int] = ..., outcome: _Optional[_Union[AttemptOutcome, str]] = ..., steps: _Optional[_Iterable[_Union[SolutionStep, _Mapping]]] = ..., submission_step: _Optional[str] = ..., submission: _Optional[str] = ..., rpe_tactic: _Optional[str] = ..., backward_proof: _Optional[_Union[BackwardProof, _Mapping]] = ..., draft: _Optional[str] = ..., final_check_ok: _Optional[bool] = ..., charged: _Optional[int] = ..., paper_budget: _Optional[float] = ..., stats: _Optional[_Union[SearchStats, _Mapping]] = ..., detail: _Optional[str] = ..., prompt_state: _Optional[str] = ..., strict_audit_passed: _Optional[bool] = ..., forbidden_axioms: _Optional[_Iterable[str]] = ..., gap_proof: _Optional[_Iterable[_Union[AppliedTactic, _Mapping]]] = ..., rejected: _Optional[_Iterable[_Union[RejectedCandidate, _Mapping]]] = ...) -> None: ...

class RejectedCandidate(_message.Message):
    __slots__ = ("text", "reason", "prompt_state")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROMPT_STATE_FIELD_NUMBER: _ClassVar[int]
    text: str
    reason: str
    prompt_state: str
    def __init__(self, text: _Optional[str] = ..., reason: _Optional[str] = ..., prompt_state: _Optional[str] = ...) -> None: ...

class ProblemResult(_message.Message):
    __slots__ = ("problem_id", "pipeline", "mode", "attempts", "solved", "seconds", "status", "retries")
    PROBLEM_ID_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    SOLVED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    problem_id: str
    pipeline: str
    mode: _common_pb2.Mode
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    solved: bool
    seconds: float
    status: ProblemStatus
    retries: int
    def __init__(self, problem_id: _Optional[str] = ..., pipeline: _Optional[str] = ..., mode: _Optional[_Union[_common_pb2.Mode, str]] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., solved: _Optional[bool] = ..., seconds: _Optional[float] = ..., status: _Optional[_Union[ProblemStatus, str]] = ..., retries: _Optional[int] = ...) -> None: ...

class GetProblemResultResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ProblemResult
    def __init__(self, result: _Optional[_Union[ProblemResult, _Mapping]] = ...) -> None: ...

class TrainingRequest(_message.Message):
    __slots__ = ("name", "run_ids", "base_model", "output_dir", "recipes", "tasks", "include_unsolved", "datasets", "recipe", "processes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    RECIPES_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_UNSOLVED_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    name: str
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    base_model: str
    output_dir: str
    recipes: _containers.RepeatedScalarFieldContainer[str]
    tasks: _containers.RepeatedScalarFieldContainer[str]
    include_unsolved: bool
    datasets: _containers.RepeatedScalarFieldContainer[str]
    recipe: str
    processes: int
    def __init__(self, name: _Optional[str] = ..., run_ids: _Optional[_Iterable[str]] = ..., base_model: _Optional[str] = ..., output_dir: _Optional[str] = ..., recipes: _Optional[_Iterable[str]] = ..., tasks: _Optional[_Iterable[str]] = ..., include_unsolved: _Optional[bool] = ..., datasets: _Optional[_Iterable[str]] = ..., recipe: _Optional[str] = ..., processes: _Optional[int] = ...) -> None: ...

class TrainingOutcome(_message.Message):
    __slots__ = ("sft_path", "sft_sha256", "sft_records", "checkpoint", "metrics_json")
    SFT_PATH_FIELD_NUMBER: _ClassVar[int]
    SFT_SHA256_FIELD_NUMBER: _ClassVar[int]
    SFT_RECORDS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    METRICS_JSON_FIELD_NUMBER: _ClassVar[int]
    sft_path: str
    sft_sha256: str
    sft_records: int
    checkpoint: str
    metrics_json: str
    def __init__(self, sft_path: _Optional[str] = ..., sft_sha256: _Optional[str] = ..., sft_records: _Optional[int] = ..., checkpoint: _Optional[str] = ..., metrics_json: _Optional[str] = ...) -> None: ...

class Training(_message.Message):
    __slots__ = ("name", "job_name", "state", "message", "log_tail", "outcome", "rolled_out")
    NAME_FIELD_NUMBER: _ClassVar[int]
    JOB_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LOG_TAIL_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ROLLED_OUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    job_name: str
    state: TrainingState
    message: str
    log_tail: _containers.RepeatedScalarFieldContainer[str]
    outcome: TrainingOutcome
    rolled_out: bool
    def __init__(self, name: _Optional[str] = ..., job_name: _Optional[str] = ..., state: _Optional[_Union[TrainingState, str]] = ..., message: _Optional[str] = ..., log_tail: _Optional[_Iterable[str]] = ..., outcome: _Optional[_Union[TrainingOutcome, _Mapping]] = ..., rolled_out: _Optional[bool] = ...) -> None: ...

class StartTrainingRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: TrainingRequest
    def __init__(self, request: _Optional[_Union[TrainingRequest, _Mapping]] = ...) -> None: ...

class StartTrainingResponse(_message.Message):
    __slots__ = ("training",)
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    training: Training
    def __init__(self, training: _Optional[_Union[Training, _Mapping]] = ...) -> None: ...

class GetTrainingRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetTrainingResponse(_message.Message):
    __slots__ = ("training",)
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    training: Training
    def __init__(self, training: _Optional[_Union[Training, _Mapping]] = ...) -> None: ...
