"""The common server skeleton on port 0: health split, status mapping, metrics, shutdown."""

from __future__ import annotations

import asyncio
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harcopa import errors
from harcopa.serving import Service, ServiceRunner
from harcopa.settings import ServiceSettings
from harcopa.v1 import verifier_pb2, verifier_pb2_grpc

SERVICE = "harcopa.v1.VerifierService"


class SlowBackend:
    """A backend whose start() waits on an event, so readiness can be observed before it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.closed = False

    async def start(self) -> None:
        await self.release.wait()

    async def close(self) -> None:
        self.closed = True


class RaisingVerifier(verifier_pb2_grpc.VerifierServiceServicer):
    """CloseSession raises the exception named by the session id; CheckFile is slow."""

    async def CloseSession(self, request, context):
        raise {
            "invalid": errors.InvalidRequest("bad statement"),
            "missing": errors.StateNotFound("no such session"),
            "busy": errors.Overloaded("pool full"),
            "down": errors.BackendCrashed("repl died"),
            "deadline": errors.DeadlineExceeded("tactic timeout"),
            "bug": RuntimeError("boom"),
        }[request.session_id]

    async def CheckFile(self, request, context):
        await asyncio.sleep(request.timeout_seconds)
        return verifier_pb2.CheckFileResponse(ok=True)


def _settings() -> ServiceSettings:
    return ServiceSettings(port=0, metrics_port=0, grace_seconds=2.0)


async def _health(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    return reply.status


async def test_health_metrics_status_codes_and_shutdown() -> None:
    backend = SlowBackend()
    service = Service(
        SERVICE, RaisingVerifier(), verifier_pb2_grpc.add_VerifierServiceServicer_to_server
    )
    runner = ServiceRunner(_settings(), [service], backend, "testsvc")
    start = asyncio.create_task(runner.start())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{runner.port}") as channel:
        await channel.channel_ready()
        for _ in range(50):
            try:
                assert await _health(channel, "") == health_pb2.HealthCheckResponse.SERVING
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.05)
        # Live but not ready while the backend is still starting.
        assert await _health(channel, SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING
        backend.release.set()
        await start
        assert await _health(channel, SERVICE) == health_pb2.HealthCheckResponse.SERVING

        stub = verifier_pb2_grpc.VerifierServiceStub(channel)
        expected = {
            "invalid": grpc.StatusCode.INVALID_ARGUMENT,
            "missing": grpc.StatusCode.NOT_FOUND,
            "busy": grpc.StatusCode.RESOURCE_EXHAUSTED,
            "down": grpc.StatusCode.UNAVAILABLE,
            "deadline": grpc.StatusCode.DEADLINE_EXCEEDED,
            "bug": grpc.StatusCode.INTERNAL,
        }
        for key, code in expected.items():
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.CloseSession(verifier_pb2.CloseSessionRequest(session_id=key))
            assert info.value.code() == code, key
            mapped = errors.from_rpc_error(info.value)
            if code != grpc.StatusCode.INTERNAL:
                assert mapped.code == code

        url = f"http://127.0.0.1:{runner.metrics_port}/metrics"
        text = (await asyncio.to_thread(lambda: urllib.request.urlopen(url).read())).decode()
        assert 'harcopa_testsvc_requests_total{code="NOT_FOUND",method="CloseSession"} 1.0' in text
        assert 'harcopa_testsvc_requests_total{code="INTERNAL",method="CloseSession"} 1.0' in text
        assert "harcopa_testsvc_request_duration_seconds_bucket" in text

        # Shutdown: a readiness watcher sees NOT_SERVING while an in-flight call drains.
        watcher = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=SERVICE)
        )
        first = await watcher.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        slow = asyncio.ensure_future(
            stub.CheckFile(verifier_pb2.CheckFileRequest(timeout_seconds=0.5))
        )
        await asyncio.sleep(0.1)
        stop = asyncio.create_task(runner.stop())
        update = await asyncio.wait_for(watcher.read(), 2)
        assert update.status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert not slow.done()
        assert (await slow).ok
        await stop
    assert backend.closed
