"""The common gRPC server skeleton every service runs on (STYLE.md §4).

``create_server`` builds a ``grpc.aio`` server with the interceptors of harcopa/interceptors.py
(auth when a token is set, request id, metrics, error mapping), health (liveness on ``""``,
readiness on each service name) and reflection. ``ServiceRunner`` owns the lifecycle: start the
backend, mark SERVING, and on SIGTERM mark NOT_SERVING, drain for ``grace_seconds``, then close
the backend; it also publishes ``harcopa_build_info`` for its service.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from harcopa import __version__, errors
from harcopa.interceptors import (
    AuthInterceptor,
    ErrorMappingInterceptor,
    MetricsInterceptor,
    RequestIdInterceptor,
)
from harcopa.lifecycle import tie_to_parent
from harcopa.metrics import build_info, start_exporter
from harcopa.settings import ServiceSettings

logger = logging.getLogger(__name__)


class Lifecycle(Protocol):
    """What a backend offers the runner: ``start`` (load, warm up) and ``close``."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Service:
    """One gRPC service to host: its full proto name, servicer and generated ``add_*`` function."""

    name: str
    servicer: object
    register: Callable[[Any, grpc.aio.Server], None]


def create_server(
    settings: ServiceSettings, services: Sequence[Service], metrics_service: str
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build (not start) the server; returns (server, bound port, health servicer).

    Interceptor order: auth, request id, metrics (sees the final code), error mapping (innermost,
    so exceptions become statuses before metrics record them).
    """
    interceptors: list[grpc.aio.ServerInterceptor] = []
    token = settings.token()
    if token:
        interceptors.append(AuthInterceptor(token))
    interceptors += [
        RequestIdInterceptor(),
        MetricsInterceptor(metrics_service, [s.name for s in services]),
        ErrorMappingInterceptor(),
    ]
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
    ]
    server = grpc.aio.server(
        interceptors=interceptors,
        options=options,
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    for service in services:
        service.register(service.servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [s.name for s in services]
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    address = f"{settings.host}:{settings.port}"
    if settings.tls is not None:
        port = server.add_secure_port(address, settings.tls.server_credentials())
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise errors.BackendUnavailable(f"cannot bind {settings.host}:{settings.port}")
    return server, port, health_servicer


class ServiceRunner:
    """Runs one service: backend start -> SERVING -> (stop) NOT_SERVING -> drain -> close.

    Liveness (``""``) is SERVING as soon as the server listens; readiness (each service name)
    only after ``backend.start()`` returned.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        services: Sequence[Service],
        backend: Lifecycle,
        metrics_service: str,
        lean_version: str = "",
    ) -> None:
        self.settings = settings
        self.services = list(services)
        self.backend = backend
        self.metrics_service = metrics_service
        self.server, self.port, self.health = create_server(settings, services, metrics_service)
        build_info(metrics_service, __version__, lean_version)
        self.metrics_port: int | None = None
        self._metrics_server: Any = None
        self._stopped = asyncio.Event()

    async def _set_all(self, status: int) -> None:
        for service in self.services:
            await self.health.set(service.name, status)

    async def start(self) -> None:
        if self.settings.metrics_enabled:
            token = self.settings.token() if self.settings.metrics_auth else None
            if self.settings.metrics_auth and not token:
                raise errors.InvalidRequest("metrics_auth needs auth_token or auth_token_file")
            self._metrics_server, self.metrics_port = start_exporter(
                self.settings.host, self.settings.metrics_port, token=token
            )
        await self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.server.start()
        logger.info("%s listening on %s:%s", self.metrics_service, self.settings.host, self.port)
        await self.backend.start()
        await self._set_all(health_pb2.HealthCheckResponse.SERVING)
        logger.info("%s ready", self.metrics_service)

    async def stop(self) -> None:
        """Graceful shutdown; safe to call more than once."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.grace_seconds)
        await self.backend.close()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        logger.info("%s stopped", self.metrics_service)

    async def serve_forever(self) -> None:
        """Start, then stop on SIGTERM/SIGINT."""
        loop = asyncio.get_running_loop()
        stop_requested = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_requested.set)
        try:
            await self.start()
            await stop_requested.wait()
        finally:
            await self.stop()


async def run_service(
    settings: ServiceSettings,
    services: Sequence[Service],
    backend: Lifecycle,
    metrics_service: str,
    on_ready: Callable[[ServiceRunner], Awaitable[None]] | None = None,
    lean_version: str = "",
) -> None:
    """Entry point used by every service's ``__main__``; a service started by a local
    launcher stops when the launcher dies (``harcopa.lifecycle``)."""
    tie_to_parent()
    runner = ServiceRunner(settings, services, backend, metrics_service, lean_version)
    if on_ready is not None:
        await on_ready(runner)
    await runner.serve_forever()
