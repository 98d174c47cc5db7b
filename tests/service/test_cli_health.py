"""``harcopa health`` (the chart's in-pod probe under TLS) against real servers on loopback:
plaintext through the common server skeleton, and mutual TLS with certificates made by openssl."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from harcopa.serving import Service, ServiceRunner
from harcopa.settings import ServiceSettings
from harcopa.v1 import verifier_pb2_grpc
from tests.certs import make_certificates, needs_openssl
from tests.fakes import ReadyBackend

VERIFIER = "harcopa.v1.VerifierService"


async def harcopa(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harcopa_cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), out.decode(), err.decode()


async def test_health_reports_serving_unknown_services_and_bad_arguments() -> None:
    service = Service(
        VERIFIER,
        verifier_pb2_grpc.VerifierServiceServicer(),
        verifier_pb2_grpc.add_VerifierServiceServicer_to_server,
    )
    settings = ServiceSettings(port=0, metrics_enabled=False, grace_seconds=0.5)
    runner = ServiceRunner(settings, [service], ReadyBackend(), "healthtest")
    await runner.start()
    target = f"--target=127.0.0.1:{runner.port}"
    try:
        assert await harcopa("health", target, f"--service={VERIFIER}") == (0, "SERVING\n", "")
        assert (await harcopa("health", target, "--service="))[0] == 0  # liveness
        code, out, err = await harcopa("health", target, "--service=harcopa.v1.Nothing")
        assert (code, out) == (1, "UNREACHABLE\n") and "NOT_FOUND" in err
        code, _, err = await harcopa("health", target, "--tls-cert=/x")
        assert code == 2 and "need --tls-ca" in err
    finally:
        await runner.stop()


@needs_openssl
async def test_health_over_mutual_tls(tmp_path: Path) -> None:
    make_certificates(tmp_path)
    credentials = grpc.ssl_server_credentials(
        [((tmp_path / "server.key").read_bytes(), (tmp_path / "server.crt").read_bytes())],
        root_certificates=(tmp_path / "ca.crt").read_bytes(),
        require_client_auth=True,
    )
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    await servicer.set(VERIFIER, health_pb2.HealthCheckResponse.SERVING)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    common = [
        "health",
        f"--target=127.0.0.1:{port}",
        f"--service={VERIFIER}",
        f"--tls-ca={tmp_path / 'ca.crt'}",
        "--server-name=harcopa-verifier",
    ]
    client = [f"--tls-cert={tmp_path / 'client.crt'}", f"--tls-key={tmp_path / 'client.key'}"]
    try:
        assert await harcopa(*common, *client) == (0, "SERVING\n", "")
        code, out, _ = await harcopa(*common)  # no client certificate: refused
        assert (code, out) == (1, "UNREACHABLE\n")
        wrong_name = [*common[:-1], "--server-name=someone-else", *client]
        assert (await harcopa(*wrong_name))[0] == 1
        code, _, err = await harcopa(*common, f"--tls-cert={tmp_path / 'client.crt'}")
        assert code == 2 and "needs its key" in err
    finally:
        await server.stop(0)
