"""The only proto <-> domain conversion module; servicers and gRPC clients call it and nothing else.

Every ``to_*`` builds a protobuf message from a domain value and every ``from_*`` goes back, so
``from_x(to_x(v)) == v`` for every domain value (tested for each message kind).
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf import json_format

from harcopa import domain as d
from harcopa.v1 import common_pb2 as c
from harcopa.v1 import model_pb2 as m
from harcopa.v1 import orchestrator_pb2 as o
from harcopa.v1 import verifier_pb2 as v

# ----------------------------------------------------------------------------- enums

K = TypeVar("K")
V = TypeVar("V")

_MODES: dict[d.Mode, c.Mode] = {d.Mode.STRICT: c.MODE_STRICT, d.Mode.PAPER: c.MODE_PAPER}
_FRAMEWORKS: dict[d.Framework, c.Framework] = {
    d.Framework.FORWARD_REASONING: c.FRAMEWORK_FORWARD_REASONING,
    d.Framework.SOLVING: c.FRAMEWORK_SOLVING,
    d.Framework.FORWARD_SOLVING: c.FRAMEWORK_FORWARD_SOLVING,
    d.Framework.STATEMENT: c.FRAMEWORK_STATEMENT,
}
_FINISH = {
    d.FinishReason.STOP: m.FINISH_REASON_STOP,
    d.FinishReason.LENGTH: m.FINISH_REASON_LENGTH,
    d.FinishReason.CANCELLED: m.FINISH_REASON_CANCELLED,
}
_LOGPROBS_MODES = {
    d.LogprobsMode.RAW: m.LOGPROBS_MODE_RAW,
    d.LogprobsMode.PROCESSED: m.LOGPROBS_MODE_PROCESSED,
}
_SEVERITY = {
    d.Severity.INFO: v.LeanMessage.SEVERITY_INFO,
    d.Severity.WARNING: v.LeanMessage.SEVERITY_WARNING,
    d.Severity.ERROR: v.LeanMessage.SEVERITY_ERROR,
}
_PIPELINES: dict[d.Pipeline, o.Pipeline] = {p: getattr(o, f"PIPELINE_{p.name}") for p in d.Pipeline}
_STATUSES = {s: getattr(o, f"RUN_STATUS_{s.name}") for s in d.RunStatus}
_OUTCOMES = {a: getattr(o, f"ATTEMPT_OUTCOME_{a.name}") for a in d.AttemptOutcome}


def _inverse(table: dict[K, V]) -> dict[V, K]:
    return {value: key for key, value in table.items()}


_MODES_R, _FRAMEWORKS_R, _FINISH_R = _inverse(_MODES), _inverse(_FRAMEWORKS), _inverse(_FINISH)
_LOGPROBS_MODES_R = _inverse(_LOGPROBS_MODES)
_SEVERITY_R, _PIPELINES_R = _inverse(_SEVERITY), _inverse(_PIPELINES)
_STATUSES_R, _OUTCOMES_R = _inverse(_STATUSES), _inverse(_OUTCOMES)


def to_mode(mode: d.Mode) -> c.Mode:
    return _MODES[mode]


def from_mode(value: c.Mode) -> d.Mode:
    """MODE_UNSPECIFIED means strict, our default."""
    return _MODES_R.get(value, d.Mode.STRICT)


def to_framework(framework: d.Framework) -> c.Framework:
    return _FRAMEWORKS[framework]


def from_framework(value: c.Framework) -> d.Framework:
    if value not in _FRAMEWORKS_R:
        raise ValueError(f"unknown framework {value}")
    return _FRAMEWORKS_R[value]


def to_pipeline(pipeline: d.Pipeline) -> o.Pipeline:
    return _PIPELINES[pipeline]


def from_pipeline(value: o.Pipeline) -> d.Pipeline:
    if value not in _PIPELINES_R:
        raise ValueError(f"unknown pipeline {value}")
    return _PIPELINES_R[value]


# ----------------------------------------------------------------------------- lean objects


def to_variable(var: d.Variable) -> c.Variable:
    msg = c.Variable(name=var.name or "", type=var.type)
    if var.value is not None:
        msg.value = var.value
    return msg


def from_variable(msg: c.Variable) -> d.Variable:
    return d.Variable(
        name=msg.name or None, type=msg.type, value=msg.value if msg.HasField("value") else None
    )


def to_goal(goal: d.Goal) -> c.Goal:
    return c.Goal(
        variables=[to_variable(x) for x in goal.variables],
        target=goal.target,
        name=goal.name or "",
        sibling_dep=list(goal.sibling_dep),
        is_conversion=goal.is_conversion,
        mvar_id=goal.mvar_id,
    )


def from_goal(msg: c.Goal) -> d.Goal:
    return d.Goal(
        variables=tuple(from_variable(x) for x in msg.variables),
        target=msg.target,
        name=msg.name or None,
        sibling_dep=tuple(msg.sibling_dep),
        is_conversion=msg.is_conversion,
        mvar_id=msg.mvar_id,
    )


def to_handle(handle: d.StateHandle) -> c.StateHandle:
    return c.StateHandle(session_id=handle.session_id, state_id=handle.state_id)


def from_handle(msg: c.StateHandle) -> d.StateHandle:
    return d.StateHandle(session_id=msg.session_id, state_id=msg.state_id)


def to_state(state: d.ProofState) -> c.ProofState:
    return c.ProofState(handle=to_handle(state.handle), goals=[to_goal(g) for g in state.goals])


def from_state(msg: c.ProofState) -> d.ProofState:
    return d.ProofState(
        handle=from_handle(msg.handle), goals=tuple(from_goal(g) for g in msg.goals)
    )


def to_tactic_result(result: d.TacticResult) -> c.TacticResult:
    match result:
        case d.ProofState():
            return c.TacticResult(state=to_state(result))
        case d.ProofComplete(state=state):
            return c.TacticResult(complete=to_state(state))
        case d.TacticError(messages=messages):
            return c.TacticResult(error=c.TacticError(messages=list(messages)))
        case d.TacticTimeout(seconds=seconds):
            return c.TacticResult(timeout=c.TacticTimeout(seconds=seconds))
    raise TypeError(f"not a tactic result: {result!r}")


def from_tactic_result(msg: c.TacticResult) -> d.TacticResult:
    kind = msg.WhichOneof("outcome")
    if kind == "state":
        return from_state(msg.state)
    if kind == "complete":
        return d.ProofComplete(from_state(msg.complete))
    if kind == "error":
        return d.TacticError(tuple(msg.error.messages))
    if kind == "timeout":
        return d.TacticTimeout(msg.timeout.seconds)
    raise ValueError("empty TacticResult")


def to_file_check(check: d.FileCheck) -> v.CheckFileResponse:
    return v.CheckFileResponse(
        ok=check.ok,
        messages=[
            v.LeanMessage(severity=_SEVERITY[x.severity], text=x.text, line=x.line, column=x.column)
            for x in check.messages
        ],
        sorries=check.sorries,
        axioms=list(check.axioms),
        seconds=check.seconds,
    )


def from_file_check(msg: v.CheckFileResponse) -> d.FileCheck:
    return d.FileCheck(
        ok=msg.ok,
        messages=tuple(
            d.Message(_SEVERITY_R.get(x.severity, d.Severity.INFO), x.text, x.line, x.column)
            for x in msg.messages
        ),
        sorries=msg.sorries,
        axioms=tuple(msg.axioms),
        seconds=msg.seconds,
    )


# ----------------------------------------------------------------------------- problems


def to_problem(problem: d.FormalProblem) -> c.FormalProblem:
    msg = c.FormalProblem(
        benchmark=problem.benchmark,
        index=problem.index,
        formal_statement=problem.formal_statement,
        informal_problem=problem.informal_problem,
        informal_answer=problem.informal_answer,
        informal_solution=problem.informal_solution,
        metainfo=[c.MetaEntry(key=k, json_value=j) for k, j in problem.metainfo],
    )
    if problem.header is not None:
        msg.header = problem.header
    if problem.formal_solution_draft is not None:
        msg.formal_solution_draft = problem.formal_solution_draft
    return msg


def from_problem(msg: c.FormalProblem) -> d.FormalProblem:
    return d.FormalProblem(
        benchmark=msg.benchmark,
        index=msg.index,
        formal_statement=msg.formal_statement,
        informal_problem=msg.informal_problem,
        informal_answer=msg.informal_answer,
        informal_solution=msg.informal_solution,
        header=msg.header if msg.HasField("header") else None,
        formal_solution_draft=(
            msg.formal_solution_draft if msg.HasField("formal_solution_draft") else None
        ),
        metainfo=tuple((e.key, e.json_value) for e in msg.metainfo),
    )


def to_parsed(parsed: d.ParsedProblem) -> c.ParsedProblem:
    msg = c.ParsedProblem(
        intros=[to_variable(x) for x in parsed.intros],
        answer_type=parsed.answer_type,
        outros=[to_variable(x) for x in parsed.outros],
        warnings=list(parsed.warnings),
    )
    if parsed.formal_answer is not None:
        msg.formal_answer = parsed.formal_answer
    return msg


def from_parsed(msg: c.ParsedProblem) -> d.ParsedProblem:
    return d.ParsedProblem(
        intros=tuple(from_variable(x) for x in msg.intros),
        answer_type=msg.answer_type,
        outros=tuple(from_variable(x) for x in msg.outros),
        formal_answer=msg.formal_answer if msg.HasField("formal_answer") else None,
        warnings=tuple(msg.warnings),
    )


def to_session(session: d.Session, replica_id: str = "") -> v.OpenSessionResponse:
    return v.OpenSessionResponse(
        session_id=session.session_id,
        replica_id=replica_id,
        parsed=to_parsed(session.parsed),
        states=[
            v.FrameworkState(framework=to_framework(kind), state=to_state(state))
            for kind, state in session.states
        ],
    )


def from_session(msg: v.OpenSessionResponse) -> d.Session:
    return d.Session(
        session_id=msg.session_id,
        parsed=from_parsed(msg.parsed),
        states=tuple((from_framework(s.framework), from_state(s.state)) for s in msg.states),
    )


# ----------------------------------------------------------------------------- generation


def to_prompt(request: m.GenerateRequest, prompt: d.Prompt) -> None:
    """Fill the prompt oneof of a GenerateRequest in place."""
    if prompt.text is not None:
        request.text = prompt.text
    else:
        request.chat.messages.extend(
            m.ChatMessage(role=x.role, content=x.content) for x in prompt.messages
        )


def from_prompt(request: m.GenerateRequest) -> d.Prompt:
    kind = request.WhichOneof("prompt")
    if kind == "text":
        return d.Prompt(text=request.text)
    if kind == "chat" and request.chat.messages:
        return d.Prompt(
            messages=tuple(d.ChatMessage(x.role, x.content) for x in request.chat.messages)
        )
    raise ValueError("the request has no prompt (chat messages or text)")


def to_sampling(params: d.SamplingParams) -> m.SamplingParams:
    msg = m.SamplingParams(
        n=params.n,
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_tokens,
        stop=list(params.stop),
        logprobs=params.logprobs,
        logprobs_mode=_LOGPROBS_MODES[params.logprobs_mode],
    )
    if params.seed is not None:
        msg.seed = params.seed
    return msg


_DEFAULT_MAX_TOKENS = d.SamplingParams().max_tokens


def from_sampling(msg: m.SamplingParams) -> d.SamplingParams:
    return d.SamplingParams(
        n=msg.n or 1,
        temperature=msg.temperature,
        top_p=msg.top_p if msg.HasField("top_p") else 1.0,
        max_tokens=msg.max_tokens or _DEFAULT_MAX_TOKENS,
        stop=tuple(msg.stop),
        seed=msg.seed if msg.HasField("seed") else None,
        logprobs=msg.logprobs,
        # UNSPECIFIED (0) is the raw distribution.
        logprobs_mode=_LOGPROBS_MODES_R.get(msg.logprobs_mode, d.LogprobsMode.RAW),
    )


def to_generate_request(
    prompt: d.Prompt, params: d.SamplingParams, model: str = ""
) -> m.GenerateRequest:
    request = m.GenerateRequest(model=model, params=to_sampling(params))
    to_prompt(request, prompt)
    return request


def to_usage(usage: d.TokenUsage) -> c.TokenUsage:
    return c.TokenUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_prompt_tokens=usage.cached_prompt_tokens,
    )


def from_usage(msg: c.TokenUsage) -> d.TokenUsage:
    return d.TokenUsage(msg.prompt_tokens, msg.completion_tokens, msg.cached_prompt_tokens)


def to_completion(completion: d.Completion) -> m.Completion:
    return m.Completion(
        text=completion.text,
        finish_reason=_FINISH[completion.finish_reason],
        token_logprobs=list(completion.token_logprobs),
        num_tokens=completion.num_tokens,
        mean_nll=completion.mean_nll,
    )


def from_completion(msg: m.Completion) -> d.Completion:
    return d.Completion(
        text=msg.text,
        finish_reason=_FINISH_R.get(msg.finish_reason, d.FinishReason.STOP),
        token_logprobs=tuple(msg.token_logprobs),
        num_tokens=msg.num_tokens,
    )


def to_generation(generation: d.Generation) -> m.GenerateResponse:
    return m.GenerateResponse(
        completions=[to_completion(x) for x in generation.completions],
        usage=to_usage(generation.usage),
        model=generation.model,
        seconds=generation.seconds,
    )


def from_generation(msg: m.GenerateResponse) -> d.Generation:
    return d.Generation(
        completions=tuple(from_completion(x) for x in msg.completions),
        usage=from_usage(msg.usage),
        model=msg.model,
        seconds=msg.seconds,
    )


# ----------------------------------------------------------------------------- search results


def to_proof_steps(steps: tuple[d.ProofStep, ...]) -> list[o.ProofStep]:
    return [o.ProofStep(goal_index=s.goal_index, tactic=s.tactic) for s in steps]


def from_proof_steps(msgs: object) -> tuple[d.ProofStep, ...]:
    return tuple(d.ProofStep(s.goal_index, s.tactic) for s in msgs)  # type: ignore[attr-defined]


def to_stats(stats: d.SearchStats) -> o.SearchStats:
    return o.SearchStats(
        expansions=stats.expansions,
        model_calls=stats.model_calls,
        tactic_calls=stats.tactic_calls,
        usage=to_usage(stats.usage),
        generator_seconds=stats.generator_seconds,
        verifier_seconds=stats.verifier_seconds,
        sessions_lost=stats.sessions_lost,
    )


def from_stats(msg: o.SearchStats) -> d.SearchStats:
    return d.SearchStats(
        expansions=msg.expansions,
        model_calls=msg.model_calls,
        tactic_calls=msg.tactic_calls,
        usage=from_usage(msg.usage),
        generator_seconds=msg.generator_seconds,
        verifier_seconds=msg.verifier_seconds,
        sessions_lost=msg.sessions_lost,
    )


_OPTIONAL_ATTEMPT_TEXT = ("submission_step", "submission", "rpe_tactic", "draft")


def to_attempt(attempt: d.Attempt) -> o.Attempt:
    msg = o.Attempt(
        index=attempt.index,
        outcome=_OUTCOMES[attempt.outcome],
        steps=[
            o.SolutionStep(text=s.text, gap_proof=to_proof_steps(s.gap_proof))
            for s in attempt.steps
        ],
        candidates=attempt.candidates,
        budget_used=attempt.budget_used,
        stats=to_stats(attempt.stats),
        detail=attempt.detail,
    )
    for name in _OPTIONAL_ATTEMPT_TEXT:
        value = getattr(attempt, name)
        if value is not None:
            setattr(msg, name, value)
    if attempt.backward_proof is not None:
        msg.backward_proof.steps.extend(to_proof_steps(attempt.backward_proof))
    if attempt.final_check_ok is not None:
        msg.final_check_ok = attempt.final_check_ok
    return msg


def from_attempt(msg: o.Attempt) -> d.Attempt:
    optional = {
        name: getattr(msg, name) if msg.HasField(name) else None for name in _OPTIONAL_ATTEMPT_TEXT
    }
    return d.Attempt(
        index=msg.index,
        outcome=_OUTCOMES_R.get(msg.outcome, d.AttemptOutcome.ERROR),
        steps=tuple(d.SolutionStep(s.text, from_proof_steps(s.gap_proof)) for s in msg.steps),
        backward_proof=(
            from_proof_steps(msg.backward_proof.steps) if msg.HasField("backward_proof") else None
        ),
        final_check_ok=msg.final_check_ok if msg.HasField("final_check_ok") else None,
        candidates=msg.candidates,
        budget_used=msg.budget_used,
        stats=from_stats(msg.stats),
        detail=msg.detail,
        **optional,
    )


def to_problem_result(result: d.ProblemResult) -> o.ProblemResult:
    return o.ProblemResult(
        problem_id=result.problem_id,
        pipeline=result.pipeline,
        mode=_MODES[d.Mode(result.mode)],
        attempts=[to_attempt(a) for a in result.attempts],
        solved=result.solved,
        seconds=result.seconds,
    )


def from_problem_result(msg: o.ProblemResult) -> d.ProblemResult:
    return d.ProblemResult(
        problem_id=msg.problem_id,
        pipeline=msg.pipeline,
        mode=from_mode(msg.mode).value,
        attempts=tuple(from_attempt(a) for a in msg.attempts),
        seconds=msg.seconds,
    )


# ----------------------------------------------------------------------------- runs


def to_model_ref(ref: d.ModelRef) -> o.ModelRef:
    return o.ModelRef(
        target=ref.target,
        model=ref.model,
        api_key_env=ref.api_key_env,
        system_prompt=ref.system_prompt,
    )


def from_model_ref(msg: o.ModelRef) -> d.ModelRef:
    return d.ModelRef(msg.target, msg.model, msg.api_key_env, msg.system_prompt)


def to_search_params(params: d.SearchParams) -> o.SearchParams:
    return o.SearchParams(
        solver_max_trials=params.solver_max_trials,
        solver_samples_per_trial=params.solver_samples_per_trial,
        prover_max_trials=params.prover_max_trials,
        prover_samples_per_trial=params.prover_samples_per_trial,
        try_num=params.try_num,
        temperature=params.temperature,
        solver_max_tokens=params.solver_max_tokens,
        prover_max_tokens=params.prover_max_tokens,
    )


def from_search_params(msg: o.SearchParams) -> d.SearchParams:
    """Zero or unset fields keep the paper's defaults."""
    return d.SearchParams().merged(
        solver_max_trials=msg.solver_max_trials,
        solver_samples_per_trial=msg.solver_samples_per_trial,
        prover_max_trials=msg.prover_max_trials,
        prover_samples_per_trial=msg.prover_samples_per_trial,
        try_num=msg.try_num,
        temperature=msg.temperature if msg.HasField("temperature") else None,
        solver_max_tokens=msg.solver_max_tokens,
        prover_max_tokens=msg.prover_max_tokens,
    )


def to_run_spec(spec: d.RunSpec) -> o.RunSpec:
    msg = o.RunSpec(
        name=spec.name,
        pipeline=_PIPELINES[spec.pipeline],
        benchmark=spec.benchmark,
        problem_indices=list(spec.problem_indices),
        solver=to_model_ref(spec.solver),
        params=to_search_params(spec.params),
        mode=_MODES[spec.mode],
        max_concurrent_problems=spec.max_concurrent_problems,
    )
    if spec.prover is not None:
        msg.prover.CopyFrom(to_model_ref(spec.prover))
    if spec.seed is not None:
        msg.seed = spec.seed
    return msg


def from_run_spec(msg: o.RunSpec) -> d.RunSpec:
    """Validates the enum fields; raises ValueError with a readable message."""
    return d.RunSpec(
        pipeline=from_pipeline(msg.pipeline),
        benchmark=msg.benchmark,
        solver=from_model_ref(msg.solver),
        prover=from_model_ref(msg.prover) if msg.HasField("prover") else None,
        name=msg.name,
        problem_indices=tuple(msg.problem_indices),
        params=from_search_params(msg.params),
        mode=from_mode(msg.mode),
        max_concurrent_problems=msg.max_concurrent_problems or 16,
        seed=msg.seed if msg.HasField("seed") else None,
    )


def to_progress(progress: d.RunProgress) -> o.RunProgress:
    return o.RunProgress(**{f: getattr(progress, f) for f in d.RunProgress.__dataclass_fields__})


def from_progress(msg: o.RunProgress) -> d.RunProgress:
    return d.RunProgress(**{f: getattr(msg, f) for f in d.RunProgress.__dataclass_fields__})


def to_run(run: d.Run) -> o.Run:
    return o.Run(
        run_id=run.run_id,
        spec=to_run_spec(run.spec),
        status=_STATUSES[run.status],
        progress=to_progress(run.progress),
        created_unix=run.created_unix,
        updated_unix=run.updated_unix,
        error=run.error,
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
    )


def to_run_event(event: d.RunEvent) -> o.RunEvent:
    return o.RunEvent(
        run_id=event.run_id,
        status=_STATUSES[event.status],
        progress=to_progress(event.progress),
        problem_id=event.problem_id,
        problem_solved=event.problem_solved,
        unix_time=event.unix_time,
    )


def from_run_event(msg: o.RunEvent) -> d.RunEvent:
    return d.RunEvent(
        run_id=msg.run_id,
        status=_STATUSES_R.get(msg.status, d.RunStatus.PENDING),
        progress=from_progress(msg.progress),
        problem_id=msg.problem_id,
        problem_solved=msg.problem_solved,
        unix_time=msg.unix_time,
    )


# ----------------------------------------------------------------------------- JSON storage


def _to_json(message: Any) -> str:
    return str(json_format.MessageToJson(message, indent=None, preserving_proto_field_name=True))


def attempt_to_json(attempt: d.Attempt) -> str:
    return _to_json(to_attempt(attempt))


def attempt_from_json(text: str) -> d.Attempt:
    return from_attempt(json_format.Parse(text, o.Attempt()))


def result_to_json(result: d.ProblemResult) -> str:
    return _to_json(to_problem_result(result))


def result_from_json(text: str) -> d.ProblemResult:
    return from_problem_result(json_format.Parse(text, o.ProblemResult()))


def run_spec_to_json(spec: d.RunSpec) -> str:
    return _to_json(to_run_spec(spec))


def run_spec_from_json(text: str) -> d.RunSpec:
    return from_run_spec(json_format.Parse(text, o.RunSpec()))
