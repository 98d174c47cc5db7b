"""The OpenAI API shapes of the model server's HTTP front: request bodies -> domain, domain -> JSON.

Used by ``http_front.py`` only; no I/O here. Requests are validated with pydantic (a bad body is
``InvalidRequest``, answered 400): ``/v1/completions`` takes one text ``prompt``;
``/v1/chat/completions`` takes ``messages`` with string content or text parts. Both take ``n``,
``temperature``, ``top_p``, ``max_tokens`` (chat also ``max_completion_tokens``), ``stop``,
``seed``, ``logprobs`` (chat: a boolean; completions: a count) and ``top_logprobs``. Fields
outside the API are ignored as vLLM ignores them, except the extension ``logprobs_mode``
(``raw`` or ``processed``; see ``harcopa.domain.LogprobsMode``), which the reply echoes.
Features the backends cannot honour are refused rather than silently dropped: streaming, echo,
suffix, best_of, penalties, logit_bias, several prompts, token-id prompts, non-text content.

Defaults follow OpenAI's: temperature 1, top_p 1, n 1, ``max_tokens`` 16 for completions; chat
without a limit may generate up to the server's ``max_tokens`` limit (the backend also stops at
the context size). Log-probabilities are those of the sampled tokens only: chat entries carry
``token: ""`` and empty ``top_logprobs``, completions carry ``token_logprobs`` alone.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harcopa.domain import (
    ChatMessage,
    FinishReason,
    Generation,
    LogprobsMode,
    Prompt,
    SamplingParams,
)
from harcopa.errors import InvalidRequest

#: OpenAI's max_tokens default for /v1/completions.
COMPLETIONS_MAX_TOKENS = 16
_FINISH = {
    FinishReason.STOP: "stop",
    FinishReason.LENGTH: "length",
    FinishReason.CANCELLED: "abort",
}


class _Sampling(BaseModel):
    """Fields both endpoints share; unknown fields are allowed and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    n: int | None = 1
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool | None = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    logprobs_mode: Literal["raw", "processed"] | None = None
    presence_penalty: float | None = 0.0
    frequency_penalty: float | None = 0.0
    logit_bias: dict[str, float] | None = None


class CompletionBody(_Sampling):
    prompt: str | list[str] | list[int] | list[list[int]]
    logprobs: int | None = Field(None, ge=0, le=20)
    echo: bool | None = False
    suffix: str | None = None
    best_of: int | None = None


class _TextPart(BaseModel):
    type: Literal["text"]
    text: str


class _Message(BaseModel):
    role: str
    content: str | list[_TextPart] | None = None


class ChatBody(_Sampling):
    messages: list[_Message] = Field(min_length=1)
    max_completion_tokens: int | None = None
    logprobs: bool | None = False


def _parse(kind: type[_Sampling], body: object) -> Any:
    try:
        return kind.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise InvalidRequest(f"invalid request body: {problems}") from None


def _refuse_unsupported(body: _Sampling, extra: dict[str, bool]) -> None:
    unsupported = {
        "stream": bool(body.stream),
        "presence_penalty": bool(body.presence_penalty),
        "frequency_penalty": bool(body.frequency_penalty),
        "logit_bias": bool(body.logit_bias),
        **extra,
    }
    named = [name for name, used in unsupported.items() if used]
    if named:
        raise InvalidRequest(f"not supported by this server: {', '.join(named)}")


def _params(body: _Sampling, max_tokens: int, logprobs: bool, mode: LogprobsMode) -> SamplingParams:
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    chosen = LogprobsMode(body.logprobs_mode) if body.logprobs_mode else mode
    return SamplingParams(
        n=1 if body.n is None else body.n,
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        max_tokens=max_tokens,
        stop=stop,
        seed=body.seed,
        logprobs=logprobs,
        logprobs_mode=chosen,
    )


def completion_request(
    body: object, mode: LogprobsMode
) -> tuple[CompletionBody, Prompt, SamplingParams]:
    """Parse a /v1/completions body; ``mode`` is the server's default log-probability mode."""
    parsed: CompletionBody = _parse(CompletionBody, body)
    _refuse_unsupported(
        parsed,
        {
            "echo": bool(parsed.echo),
            "suffix": parsed.suffix is not None,
            "best_of": parsed.best_of not in (None, 1, parsed.n),
        },
    )
    prompt = parsed.prompt
    if isinstance(prompt, list):
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise InvalidRequest(
                "prompt must be one string (token ids and several prompts are not supported)"
            )
        prompt = prompt[0]
    max_tokens = COMPLETIONS_MAX_TOKENS if parsed.max_tokens is None else parsed.max_tokens
    params = _params(parsed, max_tokens, parsed.logprobs is not None, mode)
    return parsed, Prompt(text=prompt), params


def chat_request(
    body: object, mode: LogprobsMode, max_tokens_limit: int
) -> tuple[ChatBody, Prompt, SamplingParams]:
    """Parse a /v1/chat/completions body; without a limit it may use ``max_tokens_limit``."""
    parsed: ChatBody = _parse(ChatBody, body)
    _refuse_unsupported(parsed, {})
    messages = []
    for message in parsed.messages:
        content = message.content or ""
        if not isinstance(content, str):
            content = "".join(part.text for part in content)
        messages.append(ChatMessage(message.role, content))
    limit = parsed.max_completion_tokens or parsed.max_tokens or max_tokens_limit
    params = _params(parsed, limit, bool(parsed.logprobs), mode)
    return parsed, Prompt(messages=tuple(messages)), params


def _usage(generation: Generation) -> dict[str, Any]:
    usage = generation.usage
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_prompt_tokens},
    }


def _reply(
    kind: str,
    prefix: str,
    generation: Generation,
    params: SamplingParams,
    choices: list[dict[str, Any]],
) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "id": f"{prefix}-{uuid.uuid4().hex}",
        "object": kind,
        "created": int(time.time()),
        "model": generation.model,
        "choices": choices,
        "usage": _usage(generation),
    }
    if params.logprobs:
        reply["logprobs_mode"] = params.logprobs_mode.value
    return reply


def completion_reply(generation: Generation, params: SamplingParams) -> dict[str, Any]:
    """The /v1/completions answer for ``generation``."""
    choices = [
        {
            "index": i,
            "text": c.text,
            "finish_reason": _FINISH[c.finish_reason],
            "logprobs": {"token_logprobs": list(c.token_logprobs)} if params.logprobs else None,
        }
        for i, c in enumerate(generation.completions)
    ]
    return _reply("text_completion", "cmpl", generation, params, choices)


def chat_reply(generation: Generation, params: SamplingParams) -> dict[str, Any]:
    """The /v1/chat/completions answer for ``generation``."""
    choices: list[dict[str, Any]] = []
    for i, c in enumerate(generation.completions):
        content: list[dict[str, Any]] = [
            {"token": "", "logprob": lp, "bytes": None, "top_logprobs": []}
            for lp in c.token_logprobs
        ]
        choices.append(
            {
                "index": i,
                "message": {"role": "assistant", "content": c.text},
                "finish_reason": _FINISH[c.finish_reason],
                "logprobs": {"content": content} if params.logprobs else None,
            }
        )
    return _reply("chat.completion", "chatcmpl", generation, params, choices)


def models_reply(name: str, created: int) -> dict[str, Any]:
    """The /v1/models answer: the one served model."""
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": created, "owned_by": "harcopa"}],
    }


def error_body(
    message: str, kind: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """An OpenAI-shaped error body."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
