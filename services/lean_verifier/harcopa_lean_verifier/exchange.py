"""The server side of ``VerifierService.Exchange``: session calls multiplexed on one stream.

Each ExchangeRequest runs as its own task through the same servicer method as its unary call
(same checks, same verifier call, same answer), under its own deadline; its reply, or an error
reply carrying the status the unary call would have ended with, is written as soon as it is
ready. Calls are counted and timed in the same series as their unary calls, under their unary
method's name: ``harcopa_verifier_requests_total`` and ``..._request_duration_seconds``, and the
standard ``grpc_server_started_total``, ``grpc_server_handled_total`` and
``grpc_server_handling_seconds`` with ``grpc_type="unary"``, so dashboards and alerts see every
call whichever way it came. The Exchange RPC itself is in none of them. Limits: at most
``MAX_PENDING`` unanswered calls per stream (more are answered RESOURCE_EXHAUSTED), ids must be
positive and unique among the unanswered ones (INVALID_ARGUMENT). When the client ends its side
the unanswered calls still finish and are answered; when the stream breaks they are cancelled.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from harcopa import errors, status
from harcopa import logging as hlog
from harcopa.interceptors import REQUEST_ID_KEY, CallSeries
from harcopa.v1 import verifier_pb2 as v
from harcopa.verifier_stream import CALLS
from harcopa_lean_verifier.metrics import METRICS_SERVICE

logger = logging.getLogger(__name__)

#: Unanswered calls one stream may hold.
MAX_PENDING = 1024

Method = Callable[[Any, Any], Awaitable[Any]]

_SERIES = CallSeries(METRICS_SERVICE)


def error_reply(
    call_id: int, code: grpc.StatusCode, message: str, details: bytes = b"", error_class: str = ""
) -> Any:
    error = v.CallError(
        code=code.value[0], message=message, status_details=details, error_class=error_class
    )
    return v.ExchangeResponse(id=call_id, error=error)


def _failure(call_id: int, exc: BaseException, method: str) -> tuple[Any, grpc.StatusCode]:
    """The error reply for ``exc``: the status the unary call would have ended with."""
    failed = status.failure_status(exc, method)
    trailing = dict(failed.trailing_metadata or ())
    details = trailing.get(status.DETAILS_KEY, b"")
    reply = error_reply(
        call_id,
        failed.code,
        failed.details,
        details if isinstance(details, bytes) else details.encode(),
        str(trailing.get(errors.ERROR_CLASS_KEY, "")),
    )
    return reply, failed.code


async def answer(service: str, methods: dict[str, Method], request: Any) -> Any:
    """Run one call of ``service`` through its unary method; its reply (never raises but
    CancelledError)."""
    kind = request.WhichOneof("call")
    method = CALLS[kind]
    labels = (service, method, "unary")  # the series its unary call would be counted in
    started, code = _SERIES.begin(labels), grpc.StatusCode.OK
    try:
        timeout = request.timeout_seconds if request.timeout_seconds > 0 else None
        async with asyncio.timeout(timeout):
            try:
                response = await methods[kind](getattr(request, kind), None)
            except TimeoutError as inner:  # not this deadline's (that one is raised outside)
                raise RuntimeError("a timeout inside the call") from inner
        return v.ExchangeResponse(id=request.id, **{kind: response})
    except TimeoutError:
        code = grpc.StatusCode.DEADLINE_EXCEEDED
        return error_reply(request.id, code, "Deadline Exceeded")
    except asyncio.CancelledError:
        code = grpc.StatusCode.CANCELLED
        raise
    except Exception as exc:
        reply, code = _failure(request.id, exc, method)
        return reply
    finally:
        _SERIES.end(labels, code, started)


async def serve(
    service: str, methods: dict[str, Method], requests: AsyncIterator[Any], context: Any
) -> None:
    """Answer every call of one stream of ``service`` (see the module's docstring)."""
    pending: dict[int, asyncio.Task[None]] = {}
    write = asyncio.Lock()
    metadata = dict(context.invocation_metadata() or ())
    stream_id = str(metadata.get(REQUEST_ID_KEY) or uuid.uuid4().hex[:16])

    async def reply(message: Any) -> None:
        async with write:
            await context.write(message)

    async def run(request: Any) -> None:
        hlog.request_id.set(f"{stream_id}.{request.id}")
        await reply(await answer(service, methods, request))

    try:
        async for request in requests:
            if not isinstance(request, v.ExchangeRequest):  # bytes that did not decode
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, "an Exchange message does not decode"
                )
            call_id, kind = request.id, request.WhichOneof("call")
            if kind is None:
                task = pending.get(call_id)
                if request.cancel and task is not None:
                    task.cancel()
                elif not request.cancel:
                    await reply(
                        error_reply(
                            call_id, grpc.StatusCode.INVALID_ARGUMENT, "the request names no call"
                        )
                    )
                continue
            problem = ""
            if call_id <= 0:
                problem = "the id must be positive"
            elif call_id in pending:
                problem = f"id {call_id} is already in use by an unanswered call"
            if problem:
                await reply(error_reply(call_id, grpc.StatusCode.INVALID_ARGUMENT, problem))
                continue
            if len(pending) >= MAX_PENDING:
                code = grpc.StatusCode.RESOURCE_EXHAUSTED
                limit = f"this stream already holds {MAX_PENDING} unanswered calls"
                await reply(error_reply(call_id, code, limit))
                continue
            task = asyncio.create_task(run(request), name=f"exchange-{call_id}")
            pending[call_id] = task
            task.add_done_callback(functools.partial(_forget, pending, call_id))
        if pending:  # the client is done writing: its calls still get their answers
            await asyncio.gather(*pending.values(), return_exceptions=True)
    finally:
        for task in list(pending.values()):
            task.cancel()
        if pending:
            await asyncio.gather(*pending.values(), return_exceptions=True)


def _forget(pending: dict[int, asyncio.Task[None]], key: int, done: asyncio.Task[None]) -> None:
    if pending.get(key) is done:
        del pending[key]
    if not done.cancelled() and done.exception() is not None:
        logger.warning("an Exchange reply could not be written: %r", done.exception())
