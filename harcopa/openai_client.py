"""A Generator over any OpenAI-compatible HTTP endpoint (vLLM's server, OpenAI, ...), via httpx.

Used in process by the orchestrator (a ModelRef with an http(s) target) and by the model
server's ``openai`` backend. Chat prompts go to ``/chat/completions`` unless a ``render``
function is given (then the rendered text goes to ``/completions``, so a chat template of ours
applies); raw-text prompts always go to ``/completions``.

Log-probabilities are whatever the endpoint returns for the sampled tokens. A request for
PROCESSED log-probabilities (``SamplingParams.logprobs_mode``, paper mode: after temperature and
top_p, as vLLM 0.7.3 engine V0 returned) carries the extension field ``"logprobs_mode":
"processed"``. harcopa's own HTTP front honours it and echoes it in the reply; a reply that
echoes another mode raises ``InvalidRequest``. Other servers cannot be checked, so the first such
request logs a warning. vLLM decides per server, not per request, and ignores the field: start
it with ``--logprobs-mode processed_logprobs`` (vLLM >= 0.10.2; the default ``raw_logprobs`` is
the model's distribution; vLLM 0.8 to 0.10.1 return raw values only, older engines processed
ones), e.g. ``python -m vllm.entrypoints.openai.api_server --model CKPT --enable-prefix-caching
--logprobs-mode processed_logprobs``.

Failures: 429 and 5xx answers and connection failures are retried with exponential backoff
(``Retry-After`` is honoured, capped); other 4xx answers are never retried and raise
``InvalidRequest``; a read timeout raises ``DeadlineExceeded``; retries used up raise
``Overloaded`` (429) or ``BackendUnavailable``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from harcopa.domain import (
    ChatMessage,
    Completion,
    FinishReason,
    Generation,
    LogprobsMode,
    Prompt,
    SamplingParams,
    TokenUsage,
)
from harcopa.errors import (
    BackendUnavailable,
    DeadlineExceeded,
    HarcopaError,
    InvalidRequest,
    Overloaded,
)

logger = logging.getLogger(__name__)


class OpenAIGenerator:
    """Generator over an OpenAI-compatible endpoint; ``n`` samples in one HTTP request."""

    backend = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        api: Literal["chat", "completions"] = "chat",
        render: Callable[[Sequence[ChatMessage]], str] | None = None,
        timeout_seconds: float = 3600.0,
        connect_timeout_seconds: float = 10.0,
        max_retries: int = 4,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        max_connections: int = 64,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_name = model
        self.api = api
        self._render = render
        self._api_key = api_key
        self._timeout = (timeout_seconds, connect_timeout_seconds)
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._max_connections = max_connections
        self._headers = dict(headers or {})
        self._client: Any = None
        self._warned_unchecked = False
        #: True once a reply to a request for processed log-probabilities did not confirm them.
        self.logprobs_unconfirmed = False

    async def start(self) -> None:
        # Importing httpx and building the client (its TLS context reads the CA store) take
        # a few tenths of a second, more on a busy machine: off the event loop, so the other
        # work of a starting run (sessions opening) goes on meanwhile.
        self._client = await asyncio.to_thread(self._new_client)

    def _new_client(self) -> Any:
        import httpx

        headers = dict(self._headers)
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        read, connect = self._timeout
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(read, connect=connect),
            limits=httpx.Limits(max_connections=self._max_connections),
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _request(self, prompt: Prompt, params: SamplingParams) -> tuple[str, dict[str, Any]]:
        """(path, JSON body) for ``prompt``: chat endpoint or completions endpoint."""
        body: dict[str, Any] = {
            "model": self.model_name,
            "n": params.n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.logprobs and params.logprobs_mode is LogprobsMode.PROCESSED:
            body["logprobs_mode"] = LogprobsMode.PROCESSED.value
        if prompt.text is None and self._render is None and self.api == "chat":
            body["messages"] = [{"role": m.role, "content": m.content} for m in prompt.messages]
            if params.logprobs:
                body["logprobs"] = True
            return "/chat/completions", body
        if prompt.text is not None:
            body["prompt"] = prompt.text
        elif self._render is not None:
            body["prompt"] = self._render(prompt.messages)
        else:
            raise InvalidRequest("completions API with chat messages needs a chat template")
        if params.logprobs:
            body["logprobs"] = 1  # the sampled token's log-probability is always included
        return "/completions", body

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        if self._client is None:
            raise BackendUnavailable("the OpenAI client is not started")
        started = time.perf_counter()
        path, body = self._request(prompt, params)
        reply = await self._post(path, body)
        if "logprobs_mode" in body:
            self._check_logprobs_mode(reply)
        return _generation(reply, params, self.model_name, time.perf_counter() - started)

    def _check_logprobs_mode(self, reply: Mapping[str, Any]) -> None:
        """Processed log-probabilities were asked: trust the echo, refuse a wrong one, else warn."""
        echoed = reply.get("logprobs_mode")
        if echoed == LogprobsMode.PROCESSED.value:
            return
        if echoed is not None:
            raise InvalidRequest(f"{self.base_url} sent {echoed} log-probabilities, not processed")
        self.logprobs_unconfirmed = True
        if not self._warned_unchecked:
            self._warned_unchecked = True
            logger.warning(
                "%s cannot confirm that its log-probabilities are processed (temperature-scaled); "
                "a vLLM server must run with --logprobs-mode processed_logprobs",
                self.base_url,
            )

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries on 429/5xx/connection failures only."""
        import httpx

        delay = self.backoff_seconds
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = await self._client.post(path, json=body)
            except httpx.ReadTimeout as exc:
                raise DeadlineExceeded(f"{self.base_url}{path} did not answer in time") from exc
            except httpx.TransportError as exc:
                if last:
                    raise BackendUnavailable(f"{self.base_url}{path}: {exc!r}") from exc
                error: HarcopaError = BackendUnavailable(repr(exc))
                wait = delay
            else:
                status = response.status_code
                if status == 200:
                    return response.json()  # type: ignore[no-any-return]
                detail = f"{self.base_url}{path} answered {status}: {response.text[:500]}"
                if status != 429 and status < 500:
                    raise InvalidRequest(detail)
                error = Overloaded(detail) if status == 429 else BackendUnavailable(detail)
                if last:
                    raise error
                wait = _retry_after(response.headers.get("retry-after"), delay)
            logger.warning("retrying %s in %.2f s after %s", path, wait, error)
            await asyncio.sleep(min(wait, self.backoff_max_seconds))
            delay *= 2
        raise AssertionError("unreachable")


def _retry_after(header: str | None, default: float) -> float:
    try:
        return max(0.0, float(header)) if header else default
    except ValueError:
        return default


def _choice_logprobs(choice: Mapping[str, Any]) -> tuple[float, ...]:
    data = choice.get("logprobs") or {}
    if "content" in data:  # chat API: a list of {token, logprob, ...}
        return tuple(float(x["logprob"]) for x in data.get("content") or ())
    return tuple(float(x) for x in data.get("token_logprobs") or () if x is not None)


def _generation(
    reply: Mapping[str, Any], params: SamplingParams, model: str, seconds: float
) -> Generation:
    choices = sorted(reply.get("choices") or (), key=lambda c: c.get("index", 0))
    usage = reply.get("usage") or {}
    completion_tokens = int(usage.get("completion_tokens") or 0)
    completions = []
    for i, choice in enumerate(choices):
        message = choice.get("message")
        text = (message.get("content") or "") if message is not None else choice.get("text", "")
        logprobs = _choice_logprobs(choice)
        # Without log-probabilities the per-choice count is the even share of the usage.
        share = completion_tokens // len(choices) + (i < completion_tokens % len(choices))
        completions.append(
            Completion(
                text=text,
                finish_reason=FinishReason.of_openai(choice.get("finish_reason")),
                token_logprobs=logprobs if params.logprobs else (),
                num_tokens=len(logprobs) if logprobs else share,
            )
        )
    details = usage.get("prompt_tokens_details") or {}
    token_usage = TokenUsage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=completion_tokens,
        cached_prompt_tokens=int(details.get("cached_tokens") or 0),
    )
    return Generation(tuple(completions), token_usage, reply.get("model") or model, seconds)
