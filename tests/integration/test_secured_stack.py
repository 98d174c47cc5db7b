"""The trust boundary through the real services as processes: every server (verifier, model
server, orchestrator) behind mutual TLS and a bearer token, with its metrics behind the token;
the orchestrator's own clients using mTLS and tokens to reach the verifier and the model; and no
caller able to make the orchestrator send a credential anywhere it was not configured to."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa.model_client import ModelClient
from harcopa.orchestrator_client import OrchestratorClient
from harcopa.tls import TlsClientConfig
from harcopa.v1 import orchestrator_pb2
from harcopa.verifier_client import VerifierClient
from harcopa_cli.local import ServiceProcess, free_port
from tests.certs import make_certificates, needs_openssl
from tests.service.test_eval_local import MODEL_SCENARIO, PROBLEMS

pytestmark = [needs_openssl, pytest.mark.timeout(300)]

TOKEN = "s3cret-token-of-the-release"
VERIFIER_TOKEN = "verifier-only-secret"


@dataclass
class Stack:
    folder: Path
    verifier: ServiceProcess
    model: ServiceProcess
    orchestrator: ServiceProcess
    metrics: dict[str, int]

    def tls(self, *, client_certificate: bool = True) -> grpc.ChannelCredentials:
        config = TlsClientConfig(
            ca_file=self.folder / "ca.crt",
            cert_file=self.folder / "client.crt" if client_certificate else None,
            key_file=self.folder / "client.key" if client_certificate else None,
        )
        return config.channel_credentials()


def _secured(service: str, folder: Path, token_file: Path, metrics_port: int) -> dict[str, str]:
    prefix = f"HARCOPA_{service}_"
    return {
        prefix + "AUTH_TOKEN_FILE": str(token_file),
        prefix + "TLS__CERT_FILE": str(folder / "server.crt"),
        prefix + "TLS__KEY_FILE": str(folder / "server.key"),
        prefix + "TLS__CLIENT_CA_FILE": str(folder / "ca.crt"),
        prefix + "METRICS_ENABLED": "true",
        prefix + "METRICS_AUTH": "true",
        prefix + "METRICS_PORT": str(metrics_port),
        prefix + "PORT": str(free_port()),
    }


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    make_certificates(tmp_path)
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "verifier-token").write_text(VERIFIER_TOKEN)
    (tmp_path / "problems.json").write_text(json.dumps(PROBLEMS[:1]))
    (tmp_path / "model.json").write_text(json.dumps(MODEL_SCENARIO))
    metrics = {name: free_port() for name in ("VERIFIER", "MODEL", "ORCHESTRATOR")}
    env = {
        name: _secured(name, tmp_path, tmp_path / "token", port) for name, port in metrics.items()
    }
    env["VERIFIER"] |= {
        "HARCOPA_VERIFIER_AUTH_TOKEN_FILE": str(tmp_path / "verifier-token"),
        "HARCOPA_VERIFIER_BACKEND__KIND": "sim",
        "HARCOPA_VERIFIER_POOL_SIZE": "2",
    }
    env["MODEL"] |= {
        "HARCOPA_MODEL_BACKEND__KIND": "sim",
        "HARCOPA_MODEL_BACKEND__SCENARIO_PATH": str(tmp_path / "model.json"),
    }
    client_tls = {
        "tls_ca_file": str(tmp_path / "ca.crt"),
        "tls_cert_file": str(tmp_path / "client.crt"),
        "tls_key_file": str(tmp_path / "client.key"),
    }
    model_port = env["MODEL"]["HARCOPA_MODEL_PORT"]
    models = {
        "default": "solver",
        "models": {
            "solver": {
                "target": f"127.0.0.1:{model_port}",
                "token_file": str(tmp_path / "token"),
                **client_tls,
            }
        },
    }
    (tmp_path / "models.json").write_text(json.dumps(models))
    verifier_port = env["VERIFIER"]["HARCOPA_VERIFIER_PORT"]
    env["ORCHESTRATOR"] |= {
        "HARCOPA_ORCHESTRATOR_VERIFIER_TARGET": f"127.0.0.1:{verifier_port}",
        "HARCOPA_ORCHESTRATOR_VERIFIER_TOKEN_FILE": str(tmp_path / "verifier-token"),
        "HARCOPA_ORCHESTRATOR_VERIFIER_TLS__CA_FILE": str(tmp_path / "ca.crt"),
        "HARCOPA_ORCHESTRATOR_VERIFIER_TLS__CERT_FILE": str(tmp_path / "client.crt"),
        "HARCOPA_ORCHESTRATOR_VERIFIER_TLS__KEY_FILE": str(tmp_path / "client.key"),
        "HARCOPA_ORCHESTRATOR_MODELS_FILE": str(tmp_path / "models.json"),
        "HARCOPA_ORCHESTRATOR_STORE_PATH": str(tmp_path / "harcopa.sqlite"),
        "HARCOPA_ORCHESTRATOR_BENCHMARK_ROOT": str(tmp_path),
        "HARCOPA_ORCHESTRATOR_ALLOWED_ENDPOINT_HOSTS": '["127.0.0.1"]',
    }
    credentials = TlsClientConfig(
        ca_file=tmp_path / "ca.crt",
        cert_file=tmp_path / "client.crt",
        key_file=tmp_path / "client.key",
    ).channel_credentials()
    processes = {
        name: ServiceProcess(
            module,
            service,
            env[name],
            port=int(env[name][f"HARCOPA_{name}_PORT"]),
            log_path=tmp_path / f"{name.lower()}.log",
            credentials=credentials,
        )
        for name, module, service in (
            ("VERIFIER", "harcopa_lean_verifier", "harcopa.v1.VerifierService"),
            ("MODEL", "harcopa_model_server", "harcopa.v1.ModelService"),
            ("ORCHESTRATOR", "harcopa_orchestrator", "harcopa.v1.OrchestratorService"),
        )
    }
    started: list[ServiceProcess] = []
    try:
        for process in processes.values():
            started.append(process)
            await process.start(ready_timeout_seconds=120)
        yield Stack(tmp_path, processes["VERIFIER"], processes["MODEL"],
                    processes["ORCHESTRATOR"], metrics)  # fmt: skip
    finally:
        for process in reversed(started):
            await process.stop()


async def test_a_run_through_mutually_authenticated_services(stack: Stack) -> None:
    async with OrchestratorClient(
        stack.orchestrator.target, token=TOKEN, credentials=stack.tls()
    ) as client:
        spec = d.RunSpec(
            d.Pipeline.HAR,
            str(stack.folder / "problems.json"),
            params=d.SearchParams().merged(ks=6),
            max_concurrent_problems=1,
        )
        run_id = await client.start_run(spec)
        async for _ in client.watch(run_id):
            pass
        run = await client.get_run(run_id)
    assert run.status is d.RunStatus.SUCCEEDED, run.error
    assert (run.progress.problems_done, run.progress.problems_solved) == (1, 1)


async def _rpc_code(call: object) -> grpc.StatusCode | None:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code()
    return None


async def test_every_server_wants_its_token_and_a_client_certificate(stack: Stack) -> None:
    for process in (stack.verifier, stack.model, stack.orchestrator):
        service = process.service_name
        # The right CA and certificate but no token: the service refuses the call.
        async with grpc.aio.secure_channel(process.target, stack.tls()) as channel:
            method = {
                "harcopa.v1.VerifierService": "/harcopa.v1.VerifierService/Describe",
                "harcopa.v1.ModelService": "/harcopa.v1.ModelService/Generate",
                "harcopa.v1.OrchestratorService": "/harcopa.v1.OrchestratorService/ListRuns",
            }[service]
            call = channel.unary_unary(method)(b"", timeout=10)
            assert await _rpc_code(call) is grpc.StatusCode.UNAUTHENTICATED, service
            wrong = channel.unary_unary(method)(
                b"", timeout=10, metadata=(("authorization", "Bearer wrong"),)
            )
            assert await _rpc_code(wrong) is grpc.StatusCode.UNAUTHENTICATED, service
        # No client certificate, or no TLS at all: no connection is made.
        for channel in (
            grpc.aio.secure_channel(process.target, stack.tls(client_certificate=False)),
            grpc.aio.insecure_channel(process.target),
        ):
            async with channel:
                stub = health_pb2_grpc.HealthStub(channel)
                check = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert await _rpc_code(check) is grpc.StatusCode.UNAVAILABLE, service
    # With token and certificate each service answers.
    async with VerifierClient(
        stack.verifier.target, VERIFIER_TOKEN, credentials=stack.tls()
    ) as verifier:
        assert (await verifier.describe()).backend
    async with ModelClient(stack.model.target, token=TOKEN, credentials=stack.tls()) as model:
        prompt = d.Prompt(messages=(d.ChatMessage("user", "Current Solution State"),))
        generation = await model.generate(prompt, d.SamplingParams(max_tokens=64))
        assert generation.completions


def _metrics(port: int, token: str | None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def test_metrics_are_behind_the_token(stack: Stack) -> None:
    for name, port in stack.metrics.items():
        token = VERIFIER_TOKEN if name == "VERIFIER" else TOKEN
        assert await asyncio.to_thread(_metrics, port, None) == 401, name
        assert await asyncio.to_thread(_metrics, port, "wrong") == 401, name
        assert await asyncio.to_thread(_metrics, port, token) == 200, name


@pytest.fixture
def listener() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """An OpenAI-compatible endpoint a caller controls; it records every request's headers."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.rfile.read(int(self.headers.get("content-length", 0)))
            body = json.dumps({"error": {"message": "listener"}}).encode()
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


async def test_no_caller_can_send_a_credential_to_its_own_listener(
    stack: Stack, listener: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = listener
    # The specification has no field naming a secret any more.
    assert "api_key_env" not in orchestrator_pb2.RunSpec.DESCRIPTOR.fields_by_name
    assert "api_key_env" not in orchestrator_pb2.ModelRef.DESCRIPTOR.fields_by_name
    problems = str(stack.folder / "problems.json")
    async with OrchestratorClient(
        stack.orchestrator.target, token=TOKEN, credentials=stack.tls()
    ) as client:
        # A host the operator did not allow: refused before anything is sent.
        refused = d.RunSpec(
            d.Pipeline.AR,
            problems,
            solver=d.ModelRef(endpoint=url.replace("127.0.0.1", "localhost")),
        )
        with pytest.raises(InvalidRequest, match="not allowed"):
            await client.start_run(refused)
        assert seen == []
        # An allowed host: the run calls it, but with no configured credential.
        allowed = d.RunSpec(
            d.Pipeline.AR,
            problems,
            solver=d.ModelRef(endpoint=url, endpoint_model="mine"),
            params=d.SearchParams().merged(ks=1, solver_samples=1),
        )
        run_id = await client.start_run(allowed)
        async for _ in client.watch(run_id):
            pass
    assert seen, "the run never called the caller's endpoint"
    for headers in seen:
        assert "authorization" not in headers
        assert not any(secret in value for value in headers.values()
                       for secret in (TOKEN, VERIFIER_TOKEN))  # fmt: skip
