"""gRPC channel construction for harcopa clients: retries in the service config, sizes, auth.

Used by VerifierClient, ModelClient and the CLI. Retries (UNAVAILABLE, RESOURCE_EXHAUSTED with
exponential backoff) live in the channel's service config, not in hand-written loops.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc


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
    """An aio channel to ``target`` (``host:port`` or ``dns:///name:port``); TLS when
    ``credentials`` are given, plaintext otherwise."""
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
