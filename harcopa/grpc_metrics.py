"""gRPC server metrics under the standard names stock dashboards query; recorded by the
metrics interceptor (harcopa/interceptors.py).

The names and labels are those of the gRPC ecosystem's Prometheus interceptors:
``grpc_server_started_total`` and ``grpc_server_handling_seconds`` (``grpc_service``,
``grpc_method``, ``grpc_type``) and ``grpc_server_handled_total`` (the same plus ``grpc_code``,
spelled as in the Go implementation: ``OK``, ``InvalidArgument``, ``Canceled``...). Every
method of the hosted services is initialised to zero from the proto descriptors.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pool

from harcopa.metrics import LONG_BUCKETS, counter, histogram

LABELS = ("grpc_service", "grpc_method", "grpc_type")

STARTED = counter("grpc_server_started_total", "RPCs started on the server.", LABELS)
HANDLED = counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, whatever their status code.",
    (*LABELS, "grpc_code"),
)
HANDLING = histogram(
    "grpc_server_handling_seconds",
    "Response latency of RPCs handled by the server, until the last message is sent.",
    LABELS,
    buckets=LONG_BUCKETS,
)

#: The codes created at zero for every method (the ones our services return).
INITIAL_CODES = (
    grpc.StatusCode.OK,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.INTERNAL,
)


def code_label(code: grpc.StatusCode) -> str:
    """The Go spelling of a status code: ``INVALID_ARGUMENT`` -> ``InvalidArgument``."""
    if code is grpc.StatusCode.OK:
        return "OK"
    if code is grpc.StatusCode.CANCELLED:
        return "Canceled"  # the Go enum's spelling
    return "".join(word.capitalize() for word in code.name.split("_"))


def rpc_type(client_streaming: bool, server_streaming: bool) -> str:
    """``unary``, ``client_stream``, ``server_stream`` or ``bidi_stream``."""
    if client_streaming and server_streaming:
        return "bidi_stream"
    if client_streaming:
        return "client_stream"
    return "server_stream" if server_streaming else "unary"


def handler_type(handler: grpc.RpcMethodHandler) -> str:
    """The ``grpc_type`` of a method handler."""
    return rpc_type(bool(handler.request_streaming), bool(handler.response_streaming))


def split_method(full_method: str) -> tuple[str, str]:
    """``/harcopa.v1.VerifierService/OpenSession`` -> (service, method)."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


def methods(service_names: Iterable[str]) -> list[tuple[str, str, str]]:
    """(service, method, grpc_type) of every method of the named services.

    Names unknown to the default descriptor pool are skipped.
    """
    pool = descriptor_pool.Default()
    found: list[tuple[str, str, str]] = []
    for name in service_names:
        try:
            service = pool.FindServiceByName(name)
        except KeyError:
            continue
        for method in service.methods:
            kind = rpc_type(method.client_streaming, method.server_streaming)
            found.append((name, method.name, kind))
    return found


def initialize(service_names: Iterable[str]) -> list[tuple[str, str, str]]:
    """Create every method's series at zero; returns the methods, as ``methods`` does."""
    found = methods(service_names)
    for labels in found:
        STARTED.labels(*labels)
        HANDLING.labels(*labels)
        for code in INITIAL_CODES:
            HANDLED.labels(*labels, code_label(code))
    return found
