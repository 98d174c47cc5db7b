"""Assembles the model server: settings -> backend -> servicer (+ HTTP front) -> ServiceRunner.

Called by ``python -m harcopa_model_server``, ``harcopa model serve``, the service tests and the
throughput benchmark. The runner's backend is a :class:`ModelBackend`: the generator plus, when
``http_port`` is set, the OpenAI-compatible HTTP front, so one lifecycle starts and stops both
(aiohttp is imported only then).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from harcopa.domain import LogprobsMode
from harcopa.protocols import Generator
from harcopa.serving import Service, ServiceRunner, run_service
from harcopa.v1 import model_pb2_grpc
from harcopa_model_server.backends import build_generator
from harcopa_model_server.servicer import ModelServicer
from harcopa_model_server.settings import SERVICE_NAME, ModelSettings

if TYPE_CHECKING:
    from harcopa_model_server.http_front import HttpFront

METRICS_SERVICE = "model"


class ModelBackend:
    """The generator and the optional HTTP front, started and closed together.

    ``start``: the HTTP front listens first (answering 503 while the model loads), then the
    generator starts, then the front is marked ready. ``close``: the front refuses new requests
    and drains for ``grace_seconds``, then the generator closes. ServiceRunner calls ``close``
    after gRPC has drained.
    """

    def __init__(self, generator: Generator, front: HttpFront | None) -> None:
        self.generator = generator
        self.front = front

    @property
    def http_port(self) -> int | None:
        return self.front.port if self.front is not None else None

    async def start(self) -> None:
        if self.front is not None:
            await self.front.start()
        await self.generator.start()
        if self.front is not None:
            self.front.ready = True

    async def close(self) -> None:
        if self.front is not None:
            await self.front.close()
        await self.generator.close()


def build_servicer(settings: ModelSettings, generator: Generator | None = None) -> ModelServicer:
    """The servicer around ``generator`` (built from ``settings.backend`` when None)."""
    return ModelServicer(
        generator if generator is not None else build_generator(settings.backend),
        backend=settings.backend.kind,
        limits=settings.limits,
        max_pending=settings.max_pending_requests,
        default_timeout_seconds=settings.default_timeout_seconds,
    )


def build_service(
    settings: ModelSettings, generator: Generator | None = None
) -> tuple[Service, ModelBackend]:
    """The gRPC ModelService and the backend lifecycle (generator + optional HTTP front)."""
    servicer = build_servicer(settings, generator)
    front = None
    if settings.http_port is not None:
        from harcopa_model_server.http_front import HttpFront  # aiohttp only when it is on

        front = HttpFront(
            servicer,
            host=settings.host,
            port=settings.http_port,
            max_request_bytes=settings.http_max_request_bytes,
            logprobs_mode=LogprobsMode(settings.http_logprobs_mode),
            auth_token=settings.auth_token,
            grace_seconds=settings.grace_seconds,
        )
    service = Service(SERVICE_NAME, servicer, model_pb2_grpc.add_ModelServiceServicer_to_server)
    return service, ModelBackend(servicer.generator, front)


def build_runner(settings: ModelSettings, generator: Generator | None = None) -> ServiceRunner:
    """A runner whose ``start()`` loads the model and then marks the service SERVING."""
    service, backend = build_service(settings, generator)
    return ServiceRunner(settings, [service], backend, METRICS_SERVICE)


async def main(
    settings: ModelSettings, on_ready: Callable[[ServiceRunner], Awaitable[None]] | None = None
) -> None:
    """Serve until SIGTERM/SIGINT."""
    service, backend = build_service(settings)
    await run_service(settings, [service], backend, METRICS_SERVICE, on_ready)
