"""The gRPC server interceptors every service runs with: auth, request id, metrics and error
mapping (STYLE.md §4).

Installed by :func:`harcopa.serving.create_server`; ``caller_identity`` is read by servicers that
record who made a request.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from harcopa import errors, grpc_metrics, status
from harcopa import logging as hlog
from harcopa.metrics import LONG_BUCKETS, child, counter, histogram

logger = logging.getLogger(__name__)

REQUEST_ID_KEY = "x-request-id"


def _wrap_handler(
    handler: grpc.RpcMethodHandler,
    wrap: Callable[[Callable[..., Any], bool], Callable[..., Any]],
    deserializer: Callable[[Any], Any] | None = None,
) -> grpc.RpcMethodHandler:
    """Return ``handler`` with its behaviour wrapped (unary, server-streaming and coroutine
    bidirectional methods) and, when given, its request deserializer replaced."""
    if handler is None:
        return handler
    decode = deserializer or handler.request_deserializer
    if handler.unary_unary is not None or (
        # A streaming method written with ``context.write`` is a plain coroutine: wrap it as unary.
        handler.unary_stream is not None and not inspect.isasyncgenfunction(handler.unary_stream)
    ):
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                wrap(handler.unary_stream, False),
                request_deserializer=decode,
                response_serializer=handler.response_serializer,
            )
        return grpc.unary_unary_rpc_method_handler(
            wrap(handler.unary_unary, False),
            request_deserializer=decode,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            wrap(handler.unary_stream, True),
            request_deserializer=decode,
            response_serializer=handler.response_serializer,
        )
    if handler.stream_stream is not None and not inspect.isasyncgenfunction(handler.stream_stream):
        # A bidirectional stream written with ``context.write`` (Exchange): wrapped as one call
        # (counted, timed, its own failure mapped); it answers each message itself and refuses
        # one that does not decode (the request iterator yields the decoder's stand-in).
        return grpc.stream_stream_rpc_method_handler(
            wrap(handler.stream_stream, False),
            request_deserializer=decode,
            response_serializer=handler.response_serializer,
        )
    return handler


@dataclass(frozen=True, slots=True)
class _Undecodable:
    """Stands for a request whose bytes did not decode as the method's message type."""

    error: str


def caller_identity(context: grpc.aio.ServicerContext) -> str:
    """Who is calling: the client certificate's common name under mTLS, else the peer's host."""
    auth = context.auth_context() or {}
    names = auth.get("x509_common_name") or []
    if names:
        return "cn:" + bytes(names[0]).decode(errors="replace")[:128]
    peer = str(context.peer() or "")
    host = peer.rsplit(":", 1)[0] if peer.count(":") >= 2 else peer
    return host[:128] or "unknown"


def _method_name(details: grpc.HandlerCallDetails) -> str:
    return str(details.method).rsplit("/", 1)[-1]


class RequestIdInterceptor(grpc.aio.ServerInterceptor):
    """Takes ``x-request-id`` from metadata (or makes one) and puts it in the log context."""

    async def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        if details.method.startswith("/grpc."):
            return await continuation(details)
        metadata = dict(details.invocation_metadata or ())
        rid = str(metadata.get(REQUEST_ID_KEY) or uuid.uuid4().hex[:16])

        def wrap(behavior: Callable[..., Any], streaming: bool) -> Callable[..., Any]:
            if streaming:

                async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                    hlog.request_id.set(rid)
                    async for item in behavior(request, context):
                        yield item

                return stream

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                hlog.request_id.set(rid)
                return await behavior(request, context)

            return unary

        return _wrap_handler(await continuation(details), wrap)


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Rejects calls without ``authorization: Bearer <token>`` (health and reflection stay open);
    the token is compared in constant time."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def allows(self, metadata: Any) -> bool:
        given = dict(metadata or ()).get("authorization", "")
        given = given.encode() if isinstance(given, str) else bytes(given)
        return hmac.compare_digest(given, self._expected)

    async def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        if details.method.startswith(("/grpc.health.", "/grpc.reflection.")):
            return await continuation(details)
        handler = await continuation(details)
        if self.allows(details.invocation_metadata):
            return handler

        async def deny(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

        async def deny_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
            yield  # pragma: no cover - abort raises

        if handler is not None and handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                deny_stream, request_deserializer=lambda _bytes: None
            )
        if handler is not None and handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                deny, request_deserializer=lambda _bytes: None
            )
        return grpc.unary_unary_rpc_method_handler(deny, request_deserializer=lambda _bytes: None)


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):
    """Maps harcopa exceptions to status codes with rich details (harcopa.status: field
    violations, retry delays, capped texts); a request that does not decode is INVALID_ARGUMENT
    with one log line; anything else becomes INTERNAL, logged once with its traceback."""

    async def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        method = _method_name(details)
        if details.method.startswith("/grpc."):
            return await continuation(details)
        handler = await continuation(details)
        if handler is None:
            return handler
        decode = handler.request_deserializer

        def guarded(data: bytes) -> Any:
            try:
                return decode(data) if decode is not None else data
            except Exception as exc:  # DecodeError and friends: the caller's bytes, not our bug
                return _Undecodable(f"{type(exc).__name__}")

        async def fail(context: grpc.aio.ServicerContext, exc: BaseException) -> None:
            await context.abort_with_status(status.failure_status(exc, method))

        async def refuse(request: _Undecodable, context: grpc.aio.ServicerContext) -> None:
            logger.warning("%s: a request that does not decode (%s)", method, request.error)
            invalid = errors.InvalidRequest(f"the request does not decode as {method}'s message")
            await context.abort_with_status(status.status_of(invalid))

        def wrap(behavior: Callable[..., Any], streaming: bool) -> Callable[..., Any]:
            if streaming:

                async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                    if isinstance(request, _Undecodable):
                        await refuse(request, context)
                    try:
                        async for item in behavior(request, context):
                            yield item
                    except (asyncio.CancelledError, grpc.aio.AbortError):
                        raise
                    except Exception as exc:
                        await fail(context, exc)

                return stream

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                if isinstance(request, _Undecodable):
                    await refuse(request, context)
                try:
                    return await behavior(request, context)
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as exc:
                    await fail(context, exc)

            return unary

        return _wrap_handler(handler, wrap, guarded)


class CallSeries:
    """A service's per-call series: ``harcopa_<service>_requests_total`` (method, code) and
    ``..._request_duration_seconds`` (method), and the standard ``grpc_server_*`` series
    (grpc_service, grpc_method, grpc_type, grpc_code) that stock gRPC dashboards query. One
    call is ``begin`` then ``end``, whether it came as its own RPC (MetricsInterceptor) or on a
    stream (the verifier's Exchange counts each of its calls as its unary method)."""

    def __init__(self, service: str) -> None:
        self.requests = counter(
            f"harcopa_{service}_requests_total",
            "gRPC calls by method and code.",
            ("method", "code"),
        )
        self.duration = histogram(
            f"harcopa_{service}_request_duration_seconds",
            "gRPC call latency.",
            ("method",),
            buckets=LONG_BUCKETS,
        )

    @staticmethod
    def begin(labels: tuple[str, str, str]) -> float:
        """Count a call of (grpc_service, grpc_method, grpc_type) as started; its start time."""
        child(grpc_metrics.STARTED, *labels).inc()
        return time.perf_counter()

    def end(self, labels: tuple[str, str, str], code: grpc.StatusCode, started: float) -> None:
        """Count the call begun at ``started`` as finished with ``code``, and time it."""
        elapsed, method = time.perf_counter() - started, labels[1]
        child(self.requests, method, code.name).inc()
        child(self.duration, method).observe(elapsed)
        child(grpc_metrics.HANDLED, *labels, grpc_metrics.code_label(code)).inc()
        child(grpc_metrics.HANDLING, *labels).observe(elapsed)


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times every call twice over: ``harcopa_<service>_requests_total`` and
    ``..._request_duration_seconds`` (method, code), and the standard ``grpc_server_*`` series
    (grpc_service, grpc_method, grpc_type, grpc_code) that stock gRPC dashboards query."""

    def __init__(self, service: str, services: Sequence[str] = ()) -> None:
        self.series = CallSeries(service)
        for _service, method, _kind in grpc_metrics.initialize(services):
            self.series.duration.labels(method)
            for code in grpc_metrics.INITIAL_CODES:
                self.series.requests.labels(method, code.name)

    async def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        if details.method.startswith("/grpc."):
            return await continuation(details)
        handler = await continuation(details)
        if handler is None:
            return handler
        service, method = grpc_metrics.split_method(str(details.method))
        labels = (service, method, grpc_metrics.handler_type(handler))
        series = self.series

        def begin() -> float:
            return series.begin(labels)

        def record(context: grpc.aio.ServicerContext, started: float, cancelled: bool) -> None:
            code = context.code() if hasattr(context, "code") else None
            if not isinstance(code, grpc.StatusCode):
                code = grpc.StatusCode.CANCELLED if cancelled else grpc.StatusCode.OK
            series.end(labels, code, started)

        def wrap(behavior: Callable[..., Any], streaming: bool) -> Callable[..., Any]:
            if streaming:

                async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                    started, cancelled = begin(), False
                    try:
                        async for item in behavior(request, context):
                            yield item
                    except asyncio.CancelledError:
                        cancelled = True
                        raise
                    finally:
                        record(context, started, cancelled)

                return stream

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                started, cancelled = begin(), False
                try:
                    return await behavior(request, context)
                except asyncio.CancelledError:
                    cancelled = True
                    raise
                finally:
                    record(context, started, cancelled)

            return unary

        return _wrap_handler(handler, wrap)
