"""The client side of ``VerifierService.Exchange``: a replica's session calls on one stream.

``SessionStream.call`` sends one ApplyStep, RunTactic, ValidateSubmission or ReadSubmission
request with an id and waits for the reply with that id; any number of calls share the stream.
Failures come back exactly as from the unary call: a failed call's error reply becomes a
``grpc.aio.AioRpcError`` with the same code, message and trailers (field violations, retry
delay, exception class), and a stream that breaks fails every unanswered call with the
stream's own error (a verifier that went away: UNAVAILABLE), so the caller's error mapping and
recovery are the same for both paths. The next call opens a new stream. A deadline that passes
cancels the call on the server too. A server without Exchange (UNIMPLEMENTED) is remembered:
``supported`` turns False and the caller uses unary calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

import grpc

from harcopa.errors import ERROR_CLASS_KEY
from harcopa.status import DETAILS_KEY
from harcopa.v1 import verifier_pb2 as pb

logger = logging.getLogger(__name__)

#: Exchange's call fields -> the unary methods they stand for (client and server use this).
CALLS = {
    "apply_step": "ApplyStep",
    "run_tactic": "RunTactic",
    "validate_submission": "ValidateSubmission",
    "read_submission": "ReadSubmission",
}
_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _rpc_error(
    code: grpc.StatusCode, message: str, trailing: tuple[tuple[str, Any], ...] = ()
) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailing), message, None
    )


def error_of(error: Any) -> grpc.aio.AioRpcError:
    """The AioRpcError a unary call would have raised for this CallError."""
    trailing: list[tuple[str, Any]] = []
    if error.status_details:
        trailing.append((DETAILS_KEY, bytes(error.status_details)))
    if error.error_class:
        trailing.append((ERROR_CLASS_KEY, error.error_class))
    code = _CODES.get(error.code, grpc.StatusCode.UNKNOWN)
    return _rpc_error(code, error.message, tuple(trailing))


class SessionStream:
    """One Exchange stream to one replica (``stub``), opened on first use."""

    def __init__(self, stub: Any, metadata: tuple[tuple[str, str], ...]) -> None:
        self._stub = stub
        self._metadata = metadata
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._call: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._write = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        #: False once the replica answered UNIMPLEMENTED: use unary calls there.
        self.supported = True

    def _open(self) -> Any:
        if self._call is None:
            call = self._stub.Exchange(metadata=self._metadata)
            self._call = call
            self._reader = asyncio.create_task(self._read(call), name="verifier-exchange")
        return self._call

    async def _read(self, call: Any) -> None:
        failure: grpc.aio.AioRpcError
        try:
            while True:
                reply = await call.read()
                if reply is grpc.aio.EOF:
                    failure = _rpc_error(
                        grpc.StatusCode.UNAVAILABLE, "the verifier ended the session stream"
                    )
                    break
                self._answered(reply)
        except grpc.aio.AioRpcError as exc:
            failure = exc
            if exc.code() is grpc.StatusCode.UNIMPLEMENTED:
                self.supported = False
        except asyncio.CancelledError:
            failure = _rpc_error(grpc.StatusCode.CANCELLED, "the client closed the session stream")
            raise
        except Exception as exc:  # anything else: the stream is unusable, say so and fail calls
            logger.error("the verifier session stream failed", exc_info=exc)
            failure = _rpc_error(
                grpc.StatusCode.UNAVAILABLE,
                f"the verifier session stream failed: {type(exc).__name__}",
            )
        finally:
            if self._call is call:
                self._call = None
            pending, self._pending = self._pending, {}
            for future in pending.values():
                if not future.done():
                    future.set_exception(failure)

    def _answered(self, reply: Any) -> None:
        future = self._pending.pop(reply.id, None)
        if future is not None and not future.done():
            future.set_result(reply)

    async def call(self, kind: str, request: Any, deadline_seconds: float | None) -> Any:
        """Send ``request`` as the ``kind`` field (``run_tactic``, ...); the reply's field of
        that name, or the AioRpcError its unary call would have raised."""
        call = self._open()
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        message = pb.ExchangeRequest(
            id=call_id, timeout_seconds=deadline_seconds or 0.0, **{kind: request}
        )
        try:
            try:
                async with self._write:
                    await call.write(message)
            except (grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
                pass  # the stream broke: the reader fails this call with the stream's error
            async with asyncio.timeout(deadline_seconds):
                reply = await future
        except TimeoutError:
            self._cancel(call, call_id)
            raise _rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded") from None
        except asyncio.CancelledError:
            self._cancel(call, call_id)
            raise
        finally:
            self._pending.pop(call_id, None)
        if reply.WhichOneof("result") == "error":
            raise error_of(reply.error)
        return getattr(reply, kind)

    def _cancel(self, call: Any, call_id: int) -> None:
        """Tell the server to stop call ``call_id`` (best effort, in the background)."""
        if self._call is not call:
            return

        async def send() -> None:
            with contextlib.suppress(Exception):
                async with self._write:
                    await call.write(pb.ExchangeRequest(id=call_id, cancel=True))

        task = asyncio.get_running_loop().create_task(send())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """End the stream: unanswered calls fail CANCELLED."""
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
