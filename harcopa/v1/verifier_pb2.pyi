from harcopa.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExchangeRequest(_message.Message):
    __slots__ = ("id", "timeout_seconds", "apply_step", "run_tactic", "validate_submission", "read_submission", "cancel")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    APPLY_STEP_FIELD_NUMBER: _ClassVar[int]
    RUN_TACTIC_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    READ_SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    id: int
    timeout_seconds: float
    apply_step: ApplyStepRequest
    run_tactic: RunTacticRequest
    validate_submission: ValidateSubmissionRequest
    read_submission: ReadSubmissionRequest
    cancel: bool
    def __init__(self, id: _Optional[int] = ..., timeout_seconds: _Optional[float] = ..., apply_step: _Optional[_Union[ApplyStepRequest, _Mapping]] = ..., run_tactic: _Optional[_Union[RunTacticRequest, _Mapping]] = ..., validate_submission: _Optional[_Union[ValidateSubmissionRequest, _Mapping]] = ..., read_submission: _Optional[_Union[ReadSubmissionRequest, _Mapping]] = ..., cancel: _Optional[bool] = ...) -> None: ...

class ExchangeResponse(_message.Message):
    __slots__ = ("id", "apply_step", "run_tactic", "validate_submission", "read_submission", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    APPLY_STEP_FIELD_NUMBER: _ClassVar[int]
    RUN_TACTIC_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    READ_SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    apply_step: ApplyStepResponse
    run_tactic: RunTacticResponse
    validate_submission: ValidateSubmissionResponse
    read_submission: ReadSubmissionResponse
    error: CallError
    def __init__(self, id: _Optional[int] = ..., apply_step: _Optional[_Union[ApplyStepResponse, _Mapping]] = ..., run_tactic: _Optional[_Union[RunTacticResponse, _Mapping]] = ..., validate_submission: _Optional[_Union[ValidateSubmissionResponse, _Mapping]] = ..., read_submission: _Optional[_Union[ReadSubmissionResponse, _Mapping]] = ..., error: _Optional[_Union[CallError, _Mapping]] = ...) -> None: ...

class CallError(_message.Message):
    __slots__ = ("code", "message", "status_details", "error_class")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_DETAILS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    status_details: bytes
    error_class: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., status_details: _Optional[bytes] = ..., error_class: _Optional[str] = ...) -> None: ...

class OpenSessionRequest(_message.Message):
    __slots__ = ("problem", "frameworks", "mode", "imports", "client_id")
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    FRAMEWORKS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    IMPORTS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    problem: _common_pb2.FormalProblem
    frameworks: _containers.RepeatedScalarFieldContainer[_common_pb2.Framework]
    mode: _common_pb2.Mode
    imports: _containers.RepeatedScalarFieldContainer[str]
    client_id: str
    def __init__(self, problem: _Optional[_Union[_common_pb2.FormalProblem, _Mapping]] = ..., frameworks: _Optional[_Iterable[_Union[_common_pb2.Framework, str]]] = ..., mode: _Optional[_Union[_common_pb2.Mode, str]] = ..., imports: _Optional[_Iterable[str]] = ..., client_id: _Optional[str] = ...) -> None: ...

class FrameworkState(_message.Message):
    __slots__ = ("framework", "state")
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    framework: _common_pb2.Framework
    state: _common_pb2.ProofState
    def __init__(self, framework: _Optional[_Union[_common_pb2.Framework, str]] = ..., state: _Optional[_Union[_common_pb2.ProofState, _Mapping]] = ...) -> None: ...

class OpenSessionResponse(_message.Message):
    __slots__ = ("session_id", "replica_id", "parsed", "states")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    PARSED_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    replica_id: str
    parsed: _common_pb2.ParsedProblem
    states: _containers.RepeatedCompositeFieldContainer[FrameworkState]
    def __init__(self, session_id: _Optional[str] = ..., replica_id: _Optional[str] = ..., parsed: _Optional[_Union[_common_pb2.ParsedProblem, _Mapping]] = ..., states: _Optional[_Iterable[_Union[FrameworkState, _Mapping]]] = ...) -> None: ...

class ApplyStepRequest(_message.Message):
    __slots__ = ("state", "goal_index", "step", "whole")
    STATE_FIELD_NUMBER: _ClassVar[int]
    GOAL_INDEX_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    WHOLE_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.StateHandle
    goal_index: int
    step: str
    whole: bool
    def __init__(self, state: _Optional[_Union[_common_pb2.StateHandle, _Mapping]] = ..., goal_index: _Optional[int] = ..., step: _Optional[str] = ..., whole: _Optional[bool] = ...) -> None: ...

class ApplyStepResponse(_message.Message):
    __slots__ = ("result", "gap_count")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    GAP_COUNT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.TacticResult
    gap_count: int
    def __init__(self, result: _Optional[_Union[_common_pb2.TacticResult, _Mapping]] = ..., gap_count: _Optional[int] = ...) -> None: ...

class RunTacticRequest(_message.Message):
    __slots__ = ("state", "goal_index", "tactic", "ignored_goals")
    STATE_FIELD_NUMBER: _ClassVar[int]
    GOAL_INDEX_FIELD_NUMBER: _ClassVar[int]
    TACTIC_FIELD_NUMBER: _ClassVar[int]
    IGNORED_GOALS_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.StateHandle
    goal_index: int
    tactic: str
    ignored_goals: int
    def __init__(self, state: _Optional[_Union[_common_pb2.StateHandle, _Mapping]] = ..., goal_index: _Optional[int] = ..., tactic: _Optional[str] = ..., ignored_goals: _Optional[int] = ...) -> None: ...

class RunTacticResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.TacticResult
    def __init__(self, result: _Optional[_Union[_common_pb2.TacticResult, _Mapping]] = ...) -> None: ...

class ValidateSubmissionRequest(_message.Message):
    __slots__ = ("session_id", "path", "submission")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    path: _containers.RepeatedScalarFieldContainer[str]
    submission: str
    def __init__(self, session_id: _Optional[str] = ..., path: _Optional[_Iterable[str]] = ..., submission: _Optional[str] = ...) -> None: ...

class ValidateSubmissionResponse(_message.Message):
    __slots__ = ("result", "submission")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    result: _common_pb2.TacticResult
    submission: str
    def __init__(self, result: _Optional[_Union[_common_pb2.TacticResult, _Mapping]] = ..., submission: _Optional[str] = ...) -> None: ...

class ReadSubmissionRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.StateHandle
    def __init__(self, state: _Optional[_Union[_common_pb2.StateHandle, _Mapping]] = ...) -> None: ...

class ReadSubmissionResponse(_message.Message):
    __slots__ = ("submission",)
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    submission: str
    def __init__(self, submission: _Optional[str] = ...) -> None: ...

class CheckEquivalenceRequest(_message.Message):
    __slots__ = ("session_id", "submission")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    submission: str
    def __init__(self, session_id: _Optional[str] = ..., submission: _Optional[str] = ...) -> None: ...

class CheckEquivalenceResponse(_message.Message):
    __slots__ = ("tactic", "supervised", "messages", "lean_seconds")
    TACTIC_FIELD_NUMBER: _ClassVar[int]
    SUPERVISED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    LEAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    tactic: str
    supervised: bool
    messages: _containers.RepeatedScalarFieldContainer[str]
    lean_seconds: float
    def __init__(self, tactic: _Optional[str] = ..., supervised: _Optional[bool] = ..., messages: _Optional[_Iterable[str]] = ..., lean_seconds: _Optional[float] = ...) -> None: ...

class DeleteStatesRequest(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedCompositeFieldContainer[_common_pb2.StateHandle]
    def __init__(self, states: _Optional[_Iterable[_Union[_common_pb2.StateHandle, _Mapping]]] = ...) -> None: ...

class DeleteStatesResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CloseSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class CloseSessionResponse(_message.Message):
    __slots__ = ("lean_seconds",)
    LEAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    lean_seconds: float
    def __init__(self, lean_seconds: _Optional[float] = ...) -> None: ...

class RenewLeaseRequest(_message.Message):
    __slots__ = ("client_id", "release")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    release: bool
    def __init__(self, client_id: _Optional[str] = ..., release: _Optional[bool] = ...) -> None: ...

class RenewLeaseResponse(_message.Message):
    __slots__ = ("sessions", "lease_seconds")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    sessions: int
    lease_seconds: float
    def __init__(self, sessions: _Optional[int] = ..., lease_seconds: _Optional[float] = ...) -> None: ...

class CheckFileRequest(_message.Message):
    __slots__ = ("text", "imports", "timeout_seconds")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IMPORTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    text: str
    imports: _containers.RepeatedScalarFieldContainer[str]
    timeout_seconds: float
    def __init__(self, text: _Optional[str] = ..., imports: _Optional[_Iterable[str]] = ..., timeout_seconds: _Optional[float] = ...) -> None: ...

class LeanMessage(_message.Message):
    __slots__ = ("severity", "text", "line", "column")
    class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SEVERITY_UNSPECIFIED: _ClassVar[LeanMessage.Severity]
        SEVERITY_INFO: _ClassVar[LeanMessage.Severity]
        SEVERITY_WARNING: _ClassVar[LeanMessage.Severity]
        SEVERITY_ERROR: _ClassVar[LeanMessage.Severity]
    SEVERITY_UNSPECIFIED: LeanMessage.Severity
    SEVERITY_INFO: LeanMessage.Severity
    SEVERITY_WARNING: LeanMessage.Severity
    SEVERITY_ERROR: LeanMessage.Severity
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    severity: LeanMessage.Severity
    text: str
    line: int
    column: int
    def __init__(self, severity: _Optional[_Union[LeanMessage.Severity, str]] = ..., text: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ...) -> None: ...

class CheckFileResponse(_message.Message):
    __slots__ = ("ok", "messages", "sorries", "axioms", "seconds", "forbidden_axioms")
    OK_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SORRIES_FIELD_NUMBER: _ClassVar[int]
    AXIOMS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    FORBIDDEN_AXIOMS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    messages: _containers.RepeatedCompositeFieldContainer[LeanMessage]
    sorries: int
    axioms: _containers.RepeatedScalarFieldContainer[str]
    seconds: float
    forbidden_axioms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ok: _Optional[bool] = ..., messages: _Optional[_Iterable[_Union[LeanMessage, _Mapping]]] = ..., sorries: _Optional[int] = ..., axioms: _Optional[_Iterable[str]] = ..., seconds: _Optional[float] = ..., forbidden_axioms: _Optional[_Iterable[str]] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("replica_id", "backend", "version", "lean_version", "mathlib_version", "pantograph_version", "pool_size", "session_capacity", "sessions_open", "imports", "processes_warm")
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LEAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    MATHLIB_VERSION_FIELD_NUMBER: _ClassVar[int]
    PANTOGRAPH_VERSION_FIELD_NUMBER: _ClassVar[int]
    POOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    SESSION_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_OPEN_FIELD_NUMBER: _ClassVar[int]
    IMPORTS_FIELD_NUMBER: _ClassVar[int]
    PROCESSES_WARM_FIELD_NUMBER: _ClassVar[int]
    replica_id: str
    backend: str
    version: str
    lean_version: str
    mathlib_version: str
    pantograph_version: str
    pool_size: int
    session_capacity: int
    sessions_open: int
    imports: _containers.RepeatedScalarFieldContainer[str]
    processes_warm: int
    def __init__(self, replica_id: _Optional[str] = ..., backend: _Optional[str] = ..., version: _Optional[str] = ..., lean_version: _Optional[str] = ..., mathlib_version: _Optional[str] = ..., pantograph_version: _Optional[str] = ..., pool_size: _Optional[int] = ..., session_capacity: _Optional[int] = ..., sessions_open: _Optional[int] = ..., imports: _Optional[_Iterable[str]] = ..., processes_warm: _Optional[int] = ...) -> None: ...
