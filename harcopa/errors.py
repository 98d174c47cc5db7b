"""The harcopa exception hierarchy and its gRPC status mapping; used by servers and clients.

Lean saying "no" is data (a TacticError result), never one of these. These are for bad input
and infrastructure failures. The server interceptor maps them to status codes; the clients
map the codes back to the same classes.
"""

from __future__ import annotations

import grpc


class HarcopaError(Exception):
    """Base class; ``code`` is the gRPC status the server answers with."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    retryable: bool = False


class InvalidRequest(HarcopaError):
    """Bad input: unparsable statement, unknown pipeline, oversized request.

    ``violations`` name the offending fields, ``(field path, what is wrong)`` each; servers
    send them as a ``google.rpc.BadRequest`` detail.
    """

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, message: str = "", violations: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.violations = violations


class StateNotFound(HarcopaError):
    """Unknown, expired or evicted session or state handle; restart the proof."""

    code = grpc.StatusCode.NOT_FOUND


class Overloaded(HarcopaError):
    """A pool or queue is full past its wait limit; retry with backoff (after
    ``retry_after_seconds``, sent as a ``google.rpc.RetryInfo`` detail)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    retryable = True

    def __init__(self, message: str = "", retry_after_seconds: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class BackendUnavailable(HarcopaError):
    """The backend is not ready or went away (process exited, replica gone)."""

    code = grpc.StatusCode.UNAVAILABLE
    retryable = True


class BackendCrashed(BackendUnavailable):
    """The backend process died or answered garbage during the call; it was replaced."""


class DeadlineExceeded(HarcopaError):
    """A wall-clock limit fired; the caller decides whether to retry."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Cancelled(HarcopaError):
    code = grpc.StatusCode.CANCELLED


class FailedPrecondition(HarcopaError):
    """The request is valid but not in this state (e.g. run already finished)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


#: Trailing-metadata key naming the exception class a server failed a call with.
ERROR_CLASS_KEY = "harcopa-error"

_BY_CODE: dict[grpc.StatusCode, type[HarcopaError]] = {
    InvalidRequest.code: InvalidRequest,
    StateNotFound.code: StateNotFound,
    Overloaded.code: Overloaded,
    BackendUnavailable.code: BackendUnavailable,
    DeadlineExceeded.code: DeadlineExceeded,
    Cancelled.code: Cancelled,
    FailedPrecondition.code: FailedPrecondition,
}


def from_status(code: grpc.StatusCode, details: str) -> HarcopaError:
    """The exception a client raises for a failed call with this status."""
    return _BY_CODE.get(code, HarcopaError)(details)


def error_class(error: grpc.RpcError) -> str:
    """The harcopa exception class a server failed the call with ("" when the failure came
    from the transport: no connection, a server that went away)."""
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == ERROR_CLASS_KEY:
            return str(value)
    return ""


def from_rpc_error(error: grpc.RpcError) -> HarcopaError:
    """The exception a failed call means, with the field violations or retry delay the
    server attached (``harcopa.status``)."""
    from harcopa import status

    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    if error_class(error) == BackendCrashed.__name__:
        return BackendCrashed(details or "")
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidRequest(details or "", status.violations_of(error))
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return Overloaded(details or "", status.retry_delay_of(error))
    return from_status(code, details or "")
