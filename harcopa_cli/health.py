"""``harcopa health``: one gRPC health check, plaintext or TLS; the chart's probes run it in-pod
when TLS is on (kubelet gRPC probes speak plaintext only). Registered by harcopa_cli/main.py.

Exit code 0 when the service answers SERVING, 1 when it answers anything else or cannot be
reached, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from harcopa.errors import InvalidRequest
from harcopa_cli.credentials import channel_credentials


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("health", help="check a service's gRPC health (exit 0: SERVING)")
    parser.add_argument("--target", required=True, help="host:port of the server")
    parser.add_argument("--service", default="", help='service name ("" : the process itself)')
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before giving up")
    parser.add_argument("--tls-ca", help="CA bundle: speak TLS and check the server against it")
    parser.add_argument("--tls-cert", help="client certificate (mutual TLS)")
    parser.add_argument("--tls-key", help="client private key (mutual TLS)")
    parser.add_argument("--server-name", help="name the server certificate must carry")
    parser.set_defaults(handler=_health)


def _health(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise InvalidRequest("--timeout must be positive")
    credentials = channel_credentials(args.tls_ca, args.tls_cert, args.tls_key)
    if credentials is None and (args.tls_cert or args.server_name):
        raise InvalidRequest("--tls-cert and --server-name need --tls-ca")
    status = asyncio.run(_check(args, credentials))
    print(status)
    return 0 if status == "SERVING" else 1


async def _check(args: argparse.Namespace, credentials: Any) -> str:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
    if credentials is None:
        channel = grpc.aio.insecure_channel(args.target)
    else:
        channel = grpc.aio.secure_channel(args.target, credentials, options=options)
    async with channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.aio.AioRpcError as error:
            print(f"harcopa health: {error.code().name}: {error.details()}", file=sys.stderr)
            return "UNREACHABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
