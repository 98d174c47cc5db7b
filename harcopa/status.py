"""Rich gRPC error details: ``google.rpc.BadRequest`` field violations and ``RetryInfo``, both
ways, with every text size-capped; used by the server skeleton and by harcopa.errors.

A server never echoes more than ``MAX_MESSAGE_CHARS`` of a message or ``MAX_FIELD_CHARS`` of a
field description (a 10 MB run id in a request cannot blow the client's metadata limit).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from harcopa.errors import ERROR_CLASS_KEY, HarcopaError, InvalidRequest, Overloaded

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 1000
MAX_FIELD_CHARS = 300
MAX_VIOLATIONS = 20


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[: max(0, limit - 30)]}... ({len(text)} characters)"


def status_of(error: HarcopaError) -> grpc.Status:
    """The gRPC status a server answers ``error`` with: code, capped message, details, and the
    exception class in the trailing metadata."""
    message = clip(str(error) or type(error).__name__, MAX_MESSAGE_CHARS)
    status = status_pb2.Status(code=getattr(code_pb2, error.code.name), message=message)
    if isinstance(error, InvalidRequest) and error.violations:
        request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=clip(field, MAX_FIELD_CHARS), description=clip(text, MAX_FIELD_CHARS)
                )
                for field, text in error.violations[:MAX_VIOLATIONS]
            ]
        )
        status.details.add().Pack(request)
    if isinstance(error, Overloaded):
        delay = duration_pb2.Duration()
        delay.FromTimedelta(timedelta(seconds=max(0.0, error.retry_after_seconds)))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    converted = rpc_status.to_status(status)
    trailing = (*tuple(converted.trailing_metadata), (ERROR_CLASS_KEY, type(error).__name__))
    return _Status(converted.code, converted.details, trailing)


#: The trailer carrying the serialized google.rpc.Status of a failed call.
DETAILS_KEY = "grpc-status-details-bin"


def failure_status(error: BaseException, method: str) -> grpc.Status:
    """The status a handler of ``method`` fails with for ``error``: a harcopa exception's own
    (``status_of``), anything else INTERNAL naming only its class, logged with its traceback."""
    if isinstance(error, HarcopaError):
        return status_of(error)
    logger.error("unhandled error in %s", method, exc_info=error)
    return _Status(grpc.StatusCode.INTERNAL, f"internal error: {type(error).__name__}", ())


class _Status(grpc.Status):
    """A concrete grpc.Status (the class is abstract)."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        trailing_metadata: tuple[tuple[str, str | bytes], ...],
    ) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def _details(error: grpc.RpcError) -> status_pb2.Status | None:
    try:
        return rpc_status.from_call(error)
    except (ValueError, AttributeError, TypeError):
        return None


def violations_of(error: grpc.RpcError) -> tuple[tuple[str, str], ...]:
    """The BadRequest field violations of a failed call (empty when it carried none)."""
    status = _details(error)
    found: list[tuple[str, str]] = []
    for detail in status.details if status is not None else ():
        request = error_details_pb2.BadRequest()
        if detail.Unpack(request):
            found += [(v.field, v.description) for v in request.field_violations]
    return tuple(found)


def retry_delay_of(error: grpc.RpcError, default: float = 1.0) -> float:
    """The RetryInfo delay of a failed call, in seconds (``default`` when it carried none)."""
    status = _details(error)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return float(info.retry_delay.ToTimedelta().total_seconds())
    return default
