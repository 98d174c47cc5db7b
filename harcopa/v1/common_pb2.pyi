from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_UNSPECIFIED: _ClassVar[Mode]
    MODE_STRICT: _ClassVar[Mode]
    MODE_PAPER: _ClassVar[Mode]

class Framework(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAMEWORK_UNSPECIFIED: _ClassVar[Framework]
    FRAMEWORK_FORWARD_REASONING: _ClassVar[Framework]
    FRAMEWORK_SOLVING: _ClassVar[Framework]
    FRAMEWORK_FORWARD_SOLVING: _ClassVar[Framework]
    FRAMEWORK_STATEMENT: _ClassVar[Framework]
MODE_UNSPECIFIED: Mode
MODE_STRICT: Mode
MODE_PAPER: Mode
FRAMEWORK_UNSPECIFIED: Framework
FRAMEWORK_FORWARD_REASONING: Framework
FRAMEWORK_SOLVING: Framework
FRAMEWORK_FORWARD_SOLVING: Framework
FRAMEWORK_STATEMENT: Framework

class Variable(_message.Message):
    __slots__ = ("name", "type", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    value: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class Goal(_message.Message):
    __slots__ = ("variables", "target", "name", "sibling_dep", "is_conversion", "mvar_id")
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIBLING_DEP_FIELD_NUMBER: _ClassVar[int]
    IS_CONVERSION_FIELD_NUMBER: _ClassVar[int]
    MVAR_ID_FIELD_NUMBER: _ClassVar[int]
    variables: _containers.RepeatedCompositeFieldContainer[Variable]
    target: str
    name: str
    sibling_dep: _containers.RepeatedScalarFieldContainer[int]
    is_conversion: bool
    mvar_id: str
    def __init__(self, variables: _Optional[_Iterable[_Union[Variable, _Mapping]]] = ..., target: _Optional[str] = ..., name: _Optional[str] = ..., sibling_dep: _Optional[_Iterable[int]] = ..., is_conversion: _Optional[bool] = ..., mvar_id: _Optional[str] = ...) -> None: ...

class StateHandle(_message.Message):
    __slots__ = ("session_id", "state_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    state_id: int
    def __init__(self, session_id: _Optional[str] = ..., state_id: _Optional[int] = ...) -> None: ...

class ProofState(_message.Message):
    __slots__ = ("handle", "goals")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    GOALS_FIELD_NUMBER: _ClassVar[int]
    handle: StateHandle
    goals: _containers.RepeatedCompositeFieldContainer[Goal]
    def __init__(self, handle: _Optional[_Union[StateHandle, _Mapping]] = ..., goals: _Optional[_Iterable[_Union[Goal, _Mapping]]] = ...) -> None: ...

class TacticError(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, messages: _Optional[_Iterable[str]] = ...) -> None: ...

class TacticTimeout(_message.Message):
    __slots__ = ("seconds",)
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    seconds: float
    def __init__(self, seconds: _Optional[float] = ...) -> None: ...

class TacticResult(_message.Message):
    __slots__ = ("state", "complete", "error", "timeout")
    STATE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    state: ProofState
    complete: ProofState
    error: TacticError
    timeout: TacticTimeout
    def __init__(self, state: _Optional[_Union[ProofState, _Mapping]] = ..., complete: _Optional[_Union[ProofState, _Mapping]] = ..., error: _Optional[_Union[TacticError, _Mapping]] = ..., timeout: _Optional[_Union[TacticTimeout, _Mapping]] = ...) -> None: ...

class MetaEntry(_message.Message):
    __slots__ = ("key", "json_value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    JSON_VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    json_value: str
    def __init__(self, key: _Optional[str] = ..., json_value: _Optional[str] = ...) -> None: ...

class FormalProblem(_message.Message):
    __slots__ = ("benchmark", "index", "formal_statement", "informal_problem", "informal_answer", "informal_solution", "header", "formal_solution_draft", "metainfo")
    BENCHMARK_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FORMAL_STATEMENT_FIELD_NUMBER: _ClassVar[int]
    INFORMAL_PROBLEM_FIELD_NUMBER: _ClassVar[int]
    INFORMAL_ANSWER_FIELD_NUMBER: _ClassVar[int]
    INFORMAL_SOLUTION_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    FORMAL_SOLUTION_DRAFT_FIELD_NUMBER: _ClassVar[int]
    METAINFO_FIELD_NUMBER: _ClassVar[int]
    benchmark: str
    index: int
    formal_statement: str
    informal_problem: str
    informal_answer: str
    informal_solution: str
    header: str
    formal_solution_draft: str
    metainfo: _containers.RepeatedCompositeFieldContainer[MetaEntry]
    def __init__(self, benchmark: _Optional[str] = ..., index: _Optional[int] = ..., formal_statement: _Optional[str] = ..., informal_problem: _Optional[str] = ..., informal_answer: _Optional[str] = ..., informal_solution: _Optional[str] = ..., header: _Optional[str] = ..., formal_solution_draft: _Optional[str] = ..., metainfo: _Optional[_Iterable[_Union[MetaEntry, _Mapping]]] = ...) -> None: ...

class ParsedProblem(_message.Message):
    __slots__ = ("intros", "answer_type", "outros", "formal_answer", "warnings")
    INTROS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_TYPE_FIELD_NUMBER: _ClassVar[int]
    OUTROS_FIELD_NUMBER: _ClassVar[int]
    FORMAL_ANSWER_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    intros: _containers.RepeatedCompositeFieldContainer[Variable]
    answer_type: str
    outros: _containers.RepeatedCompositeFieldContainer[Variable]
    formal_answer: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, intros: _Optional[_Iterable[_Union[Variable, _Mapping]]] = ..., answer_type: _Optional[str] = ..., outros: _Optional[_Iterable[_Union[Variable, _Mapping]]] = ..., formal_answer: _Optional[str] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class TokenUsage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens", "cached_prompt_tokens")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cached_prompt_tokens: _Optional[int] = ...) -> None: ...
