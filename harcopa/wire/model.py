"""Conversions of the types in ``model.proto``: prompts, sampling parameters, generations.

Part of the ``harcopa.wire`` package, the only proto <-> domain conversion code.
"""

from __future__ import annotations

from harcopa import domain as d
from harcopa.v1 import model_pb2 as m
from harcopa.wire.common import from_usage, inverse, to_usage

_FINISH = {
    d.FinishReason.STOP: m.FINISH_REASON_STOP,
    d.FinishReason.LENGTH: m.FINISH_REASON_LENGTH,
    d.FinishReason.CANCELLED: m.FINISH_REASON_CANCELLED,
}
_FINISH_R = inverse(_FINISH)
_LOGPROBS_MODES = {
    d.LogprobsMode.RAW: m.LOGPROBS_MODE_RAW,
    d.LogprobsMode.PROCESSED: m.LOGPROBS_MODE_PROCESSED,
}
_LOGPROBS_MODES_R = inverse(_LOGPROBS_MODES)


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
