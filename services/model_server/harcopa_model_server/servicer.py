"""The ModelService servicer: wire -> domain -> backend -> wire, with admission and deadlines.

Registered by the model server's ``__main__`` (and by tests) on the common server skeleton; the
OpenAI-compatible HTTP front (``http_front.py``) calls :meth:`ModelServicer.serve` too, so both
doors share one path. It validates requests against :class:`RequestLimits`, admits at most
``max_pending`` requests (more get RESOURCE_EXHAUSTED), derives the backend's time limit from the
call's deadline and counts tokens per backend. Cancelling the call cancels the backend's work.
"""

from __future__ import annotations

import asyncio
import math

import grpc

from harcopa import wire
from harcopa.domain import Generation, Prompt, SamplingParams
from harcopa.errors import DeadlineExceeded, InvalidRequest, Overloaded
from harcopa.protocols import Generator
from harcopa.v1 import model_pb2, model_pb2_grpc
from harcopa_model_server import metrics
from harcopa_model_server.settings import RequestLimits

ROLES = frozenset({"system", "user", "assistant"})
#: The servicer gives up this long before the caller's deadline, so its answer still arrives.
DEADLINE_MARGIN_SECONDS = 0.05


def validate(prompt: Prompt, params: SamplingParams, limits: RequestLimits) -> None:
    """Raise InvalidRequest when the request is outside the limits or malformed."""
    problems = []
    if not 1 <= params.n <= limits.max_n:
        problems.append(f"n must be in [1, {limits.max_n}]")
    if not (math.isfinite(params.temperature) and params.temperature >= 0):
        problems.append("temperature must be >= 0 (0 is greedy)")
    if not 0 < params.top_p <= 1:
        problems.append("top_p must be in (0, 1]")
    if not 1 <= params.max_tokens <= limits.max_tokens:
        problems.append(f"max_tokens must be in [1, {limits.max_tokens}]")
    if len(params.stop) > limits.max_stop_strings or any(not s for s in params.stop):
        problems.append(f"at most {limits.max_stop_strings} non-empty stop strings")
    if any(m.role not in ROLES for m in prompt.messages):
        problems.append(f"message roles must be one of {sorted(ROLES)}")
    size = len(prompt.text or "") + sum(len(m.content) for m in prompt.messages)
    if size > limits.max_prompt_chars:
        problems.append(f"prompt longer than {limits.max_prompt_chars} characters")
    if problems:
        raise InvalidRequest("; ".join(problems))


class ModelServicer(model_pb2_grpc.ModelServiceServicer):
    """Serves Generate from one started generator."""

    def __init__(
        self,
        generator: Generator,
        *,
        backend: str,
        limits: RequestLimits | None = None,
        max_pending: int = 1024,
        default_timeout_seconds: float | None = None,
    ) -> None:
        self.generator = generator
        self.backend = backend
        self.limits = limits or RequestLimits()
        self.max_pending = max_pending
        self.default_timeout_seconds = default_timeout_seconds
        self.pending = 0
        metrics.init_backend(backend)

    @property
    def model_name(self) -> str:
        return str(getattr(self.generator, "model_name", ""))

    def _parse(self, request: model_pb2.GenerateRequest) -> tuple[Prompt, SamplingParams]:
        try:
            prompt = wire.from_prompt(request)
            params = wire.from_sampling(request.params)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        if request.model and request.model != self.model_name:
            raise InvalidRequest(f"this server serves {self.model_name!r}, not {request.model!r}")
        return prompt, params

    def _timeout(self, context: grpc.aio.ServicerContext) -> float | None:
        remaining = context.time_remaining()
        if remaining is None:
            return self.default_timeout_seconds
        return max(0.0, float(remaining) - DEADLINE_MARGIN_SECONDS)

    async def Generate(
        self, request: model_pb2.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> model_pb2.GenerateResponse:
        prompt, params = self._parse(request)
        generation = await self.serve(prompt, params, self._timeout(context))
        return wire.to_generation(generation)

    async def serve(
        self, prompt: Prompt, params: SamplingParams, time_limit_seconds: float | None
    ) -> Generation:
        """Validate, admit and run one request within ``time_limit_seconds`` (None: no limit)."""
        validate(prompt, params, self.limits)
        if self.pending >= self.max_pending:
            raise Overloaded(f"{self.pending} requests in flight (limit {self.max_pending})")
        self.pending += 1
        metrics.QUEUE_DEPTH.inc()
        try:
            async with asyncio.timeout(time_limit_seconds):
                generation = await self.generator.generate(prompt, params)
        except TimeoutError as exc:
            raise DeadlineExceeded(
                f"generation did not finish in time ({time_limit_seconds} s)"
            ) from exc
        finally:
            self.pending -= 1
            metrics.QUEUE_DEPTH.dec()
        self._count(generation)
        return generation

    def _count(self, generation: Generation) -> None:
        usage = generation.usage
        metrics.GENERATED_TOKENS.labels(self.backend).inc(usage.completion_tokens)
        metrics.PROMPT_TOKENS.labels(self.backend).inc(usage.prompt_tokens)
        metrics.CACHED_PROMPT_TOKENS.labels(self.backend).inc(usage.cached_prompt_tokens)
