"""Assembles the model server: settings -> backend -> servicer -> ServiceRunner.

Called by ``python -m harcopa_model_server``, ``harcopa model serve`` and the service tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from harcopa.protocols import Generator
from harcopa.serving import Service, ServiceRunner, run_service
from harcopa.v1 import model_pb2_grpc
from harcopa_model_server.backends import build_generator
from harcopa_model_server.servicer import ModelServicer
from harcopa_model_server.settings import SERVICE_NAME, ModelSettings

METRICS_SERVICE = "model"


def build_service(settings: ModelSettings, generator: Generator | None = None) -> Service:
    """The ModelService around ``generator`` (built from ``settings.backend`` when None)."""
    servicer = ModelServicer(
        generator if generator is not None else build_generator(settings.backend),
        backend=settings.backend.kind,
        limits=settings.limits,
        max_pending=settings.max_pending_requests,
        default_timeout_seconds=settings.default_timeout_seconds,
    )
    return Service(SERVICE_NAME, servicer, model_pb2_grpc.add_ModelServiceServicer_to_server)


def build_runner(settings: ModelSettings, generator: Generator | None = None) -> ServiceRunner:
    """A runner whose ``start()`` loads the model and then marks the service SERVING."""
    service = build_service(settings, generator)
    backend = service.servicer.generator  # type: ignore[attr-defined]
    return ServiceRunner(settings, [service], backend, METRICS_SERVICE)


async def main(
    settings: ModelSettings, on_ready: Callable[[ServiceRunner], Awaitable[None]] | None = None
) -> None:
    """Serve until SIGTERM/SIGINT."""
    service = build_service(settings)
    backend = service.servicer.generator  # type: ignore[attr-defined]
    await run_service(settings, [service], backend, METRICS_SERVICE, on_ready)
