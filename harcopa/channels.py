"""gRPC channel construction for harcopa clients: retries in the service config, sizes, auth,
and waiting for a restarting server.

Used by VerifierClient, ModelClient, OrchestratorClient and the CLI. Quick retries (UNAVAILABLE,
RESOURCE_EXHAUSTED with exponential backoff, at most 4 attempts) live in the channel's service
config. A service config cannot wait longer than a few seconds for a server that is restarting
without also stretching every call's deadline, so ``reconnecting`` adds one bounded wait on top:
a call that fails UNAVAILABLE is retried with backoff until the server answers again or
``reconnect_seconds`` pass (a pod restart or a `kill -9` and restart of a local service of up to
that long changes no result). The wait is logged once it passes a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import grpc

from harcopa.errors import BackendCrashed, error_class

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Default longest wait for a server to come back (seconds).
RECONNECT_SECONDS = 90.0
_LOG_AFTER_SECONDS = 3.0


def service_config(service_names: Sequence[str], max_attempts: int = 4) -> str:
    """JSON service config retrying transient failures of the named services."""
    return json.dumps(
        {
            "loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [
                {
                    "name": [{"service": name} for name in service_names],
                    "retryPolicy": {
                        "maxAttempts": max_attempts,
                        "initialBackoff": "0.2s",
                        "maxBackoff": "5s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
                    },
                }
            ],
        }
    )


def open_channel(
    target: str,
    service_names: Sequence[str],
    *,
    max_message_bytes: int = 16 * 1024 * 1024,
    retries: bool = True,
    credentials: grpc.ChannelCredentials | None = None,
) -> grpc.aio.Channel:
    """An aio channel to ``target`` (``host:port`` or ``dns:///name:port``): TLS with
    ``credentials``, plaintext without."""
    options: list[tuple[str, object]] = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.enable_retries", 1 if retries else 0),
    ]
    if retries:
        options.append(("grpc.service_config", service_config(service_names)))
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials, options=options)
    return grpc.aio.insecure_channel(target, options=options)


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


async def reconnecting(
    call: Callable[[], Awaitable[T]], *, what: str, reconnect_seconds: float = RECONNECT_SECONDS
) -> T:
    """``call()``, retried while it fails UNAVAILABLE, for at most ``reconnect_seconds``.

    Any other failure, UNAVAILABLE after the wait, and a server's own BackendCrashed (its
    backend process died during this call: the server is up, and retrying the same call is
    the caller's decision) are raised as they came. ``what`` names the server in the logs.
    """
    started = time.monotonic()
    backoff, logged = 0.1, False
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            waited = time.monotonic() - started
            crashed = error_class(exc) == BackendCrashed.__name__  # the server is up: not a restart
            if (
                exc.code() is not grpc.StatusCode.UNAVAILABLE
                or crashed
                or waited >= reconnect_seconds
            ):
                if logged:
                    logger.warning("%s did not come back within %.0f s", what, waited)
                raise
            if not logged and waited >= _LOG_AFTER_SECONDS:
                logged = True
                logger.warning("%s is unavailable (%s); waiting for it", what, exc.details())
        await asyncio.sleep(min(backoff, max(0.0, reconnect_seconds - waited)))
        backoff = min(backoff * 2, 2.0)
