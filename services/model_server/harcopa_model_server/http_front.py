"""The model server's OpenAI-compatible HTTP front (aiohttp), served beside gRPC in one process.

Started by ``server.ModelBackend`` when ``http_port`` is set; it listens before the model has
loaded (``/health`` answers 503 until then, and again once shutdown begins). Routes:
``GET /v1/models``, ``POST /v1/completions``, ``POST /v1/chat/completions`` and ``GET /health``.
Requests go through :meth:`ModelServicer.serve`, the path gRPC uses, so the request limits,
admission (``max_pending_requests``), time limit (``default_timeout_seconds``), token metrics and
the backend are the same. When ``auth_token`` is set, ``/v1/*`` needs ``Authorization: Bearer
<token>`` as gRPC does (``/health`` stays open). Bodies above ``http_max_request_bytes`` get 413.

Errors are OpenAI-shaped (``{"error": {"message", "type", "param", "code"}}``): 400 bad input,
401 bad or missing token, 404 another model or an unknown path, 413 too large, 429 queue full,
503 not ready or backend down, 504 time limit, 500 anything else (logged). A client that
disconnects cancels its request's generation.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from harcopa import errors
from harcopa.domain import Generation, LogprobsMode, Prompt, SamplingParams
from harcopa_model_server import metrics, openai_api
from harcopa_model_server.servicer import ModelServicer

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS: tuple[tuple[type[errors.HarcopaError], int, str, str], ...] = (
    (errors.InvalidRequest, 400, "invalid_request_error", "invalid_request"),
    (errors.Overloaded, 429, "rate_limit_error", "server_overloaded"),
    (errors.DeadlineExceeded, 504, "timeout_error", "timeout"),
    (errors.BackendUnavailable, 503, "service_unavailable", "backend_unavailable"),
)
_ENDPOINTS = {
    "/v1/models": "models",
    "/v1/completions": "completions",
    "/v1/chat/completions": "chat_completions",
    "/health": "health",
}


def _error(status: int, message: str, kind: str, code: str) -> web.Response:
    return web.json_response(openai_api.error_body(message, kind, code), status=status)


def _for_exception(exc: Exception) -> web.Response:
    """The error response for an exception raised while handling a request."""
    if isinstance(exc, web.HTTPException):  # aiohttp's own: 404/405 routes, 413 body size
        kind = "invalid_request_error" if exc.status < 500 else "server_error"
        return _error(exc.status, exc.reason, kind, exc.reason.lower().replace(" ", "_"))
    for known, status, kind, code in _STATUS:
        if isinstance(exc, known):
            return _error(status, str(exc) or kind, kind, code)
    logger.error("unhandled error in the HTTP front", exc_info=exc)
    return _error(500, f"internal error: {type(exc).__name__}", "server_error", "internal_error")


class HttpFront:
    """The HTTP server; ``ready`` is set by the owner once the backend has started."""

    def __init__(
        self,
        servicer: ModelServicer,
        *,
        host: str,
        port: int,
        max_request_bytes: int,
        logprobs_mode: LogprobsMode,
        auth_token: str | None = None,
        grace_seconds: float = 10.0,
    ) -> None:
        self.servicer = servicer
        self.host, self.port = host, port
        self.max_request_bytes = max_request_bytes
        self.logprobs_mode = logprobs_mode
        self.ready = False
        self._expected = f"Bearer {auth_token}".encode() if auth_token else None
        self._grace = grace_seconds
        self._runner: web.AppRunner | None = None
        self._created = int(time.time())
        metrics.init_http()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> None:
        """Bind and listen; afterwards ``port`` is the bound port."""
        app = web.Application(
            client_max_size=self.max_request_bytes, middlewares=[self._errors, self._auth]
        )
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_post("/v1/chat/completions", self._chat)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=self._grace
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        logger.info("OpenAI-compatible HTTP front listening on %s:%s", self.host, self.port)

    async def close(self) -> None:
        """Refuse new requests, give running ones ``grace_seconds``, then stop listening."""
        self.ready = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except Exception as exc:
            response = _for_exception(exc)
        endpoint = _ENDPOINTS.get(request.path, "other")
        metrics.HTTP_REQUESTS.labels(endpoint, str(response.status)).inc()
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._expected is not None and request.path.startswith("/v1/"):
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, self._expected):
                return _error(
                    401, "missing or wrong bearer token", "authentication_error", "invalid_api_key"
                )
        if request.path.startswith("/v1/") and not self.ready:
            return _error(503, "the model is not ready", "service_unavailable", "not_ready")
        return await handler(request)

    async def _health(self, request: web.Request) -> web.Response:
        status = "ok" if self.ready else "unavailable"
        return web.json_response({"status": status}, status=200 if self.ready else 503)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(openai_api.models_reply(self.servicer.model_name, self._created))

    async def _body(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise errors.InvalidRequest(f"the body is not JSON: {exc}") from None

    def _check_model(self, name: str | None) -> web.Response | None:
        served = self.servicer.model_name
        if name and name != served:
            message = f"the model {name!r} does not exist; this server serves {served!r}"
            return _error(404, message, "invalid_request_error", "model_not_found")
        return None

    async def _completions(self, request: web.Request) -> web.Response:
        def parse(body: object) -> tuple[Any, Prompt, SamplingParams]:
            return openai_api.completion_request(body, self.logprobs_mode)

        return await self._generate(request, parse, openai_api.completion_reply)

    async def _chat(self, request: web.Request) -> web.Response:
        def parse(body: object) -> tuple[Any, Prompt, SamplingParams]:
            limit = self.servicer.limits.max_tokens
            return openai_api.chat_request(body, self.logprobs_mode, limit)

        return await self._generate(request, parse, openai_api.chat_reply)

    async def _generate(
        self,
        request: web.Request,
        parse: Callable[[object], tuple[Any, Prompt, SamplingParams]],
        reply: Callable[[Generation, SamplingParams], dict[str, Any]],
    ) -> web.Response:
        """Parse the body, check the model name, generate through the servicer, answer."""
        body, prompt, params = parse(await self._body(request))
        wrong = self._check_model(body.model)
        if wrong is not None:
            return wrong
        timeout = self.servicer.default_timeout_seconds
        generation = await self.servicer.serve(prompt, params, timeout)
        return web.json_response(reply(generation, params))
