"""Metrics through real servers, scraped over HTTP: build info, standard gRPC series, no _created.

The Prometheus registry is shared by the whole test process, so counts are compared between
two scrapes of the same exporter rather than against absolute values.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harcopa import __version__
from harcopa.domain import Prompt, SamplingParams
from harcopa.errors import InvalidRequest
from harcopa.model_client import ModelClient
from harcopa.serving import Service, ServiceRunner
from harcopa.settings import ServiceSettings
from harcopa.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from harcopa_lean_verifier.server import lean_version
from harcopa_lean_verifier.settings import PantographConfig
from harcopa_model_server.backends import SimulatedConfig
from tests.fakes import ReadyBackend
from tests.model_tiny import serve_model
from tests.service.verifier_harness import serving, sim_settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

MODEL = "harcopa.v1.ModelService"
ORCHESTRATOR = "harcopa.v1.OrchestratorService"


async def scrape(port: int | None) -> tuple[str, Samples]:
    """The exporter's text and its samples keyed by (name, labels)."""
    url = f"http://127.0.0.1:{port}/metrics"
    text = (
        await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
    ).decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grpc_labels(service: str, method: str, kind: str, **more: str) -> dict[str, str]:
    return {"grpc_service": service, "grpc_method": method, "grpc_type": kind, **more}


async def test_model_server_build_info_standard_grpc_series_and_no_created() -> None:
    async with serve_model(SimulatedConfig(), metrics_enabled=True, metrics_port=0) as runner:
        text, before = await scrape(runner.metrics_port)
        async with ModelClient(f"127.0.0.1:{runner.port}", model="simulator/scripted") as model:
            await model.generate(Prompt(text="hello"), SamplingParams())
            with pytest.raises(InvalidRequest):
                await model.generate(Prompt(text="hello"), SamplingParams(n=10_000))
        text, after = await scrape(runner.metrics_port)

    labels = {"service": "model", "version": __version__, "lean_version": ""}
    assert value(after, "harcopa_build_info", **labels) == 1.0
    unary = grpc_labels(MODEL, "Generate", "unary")
    started = value(after, "grpc_server_started_total", **unary)
    assert started - value(before, "grpc_server_started_total", **unary) == 2
    for code in ("OK", "InvalidArgument"):
        handled = dict(unary, grpc_code=code)
        delta = value(after, "grpc_server_handled_total", **handled) - value(
            before, "grpc_server_handled_total", **handled
        )
        assert delta == 1, code
    # Series exist at zero before any such call, and the histogram counts both calls.
    assert (
        "grpc_server_handled_total",
        frozenset(dict(unary, grpc_code="Unavailable").items()),
    ) in (before)
    count = value(after, "grpc_server_handling_seconds_count", **unary)
    assert count - value(before, "grpc_server_handling_seconds_count", **unary) == 2
    # The service's own series are kept beside the standard ones.
    ok = {"method": "Generate", "code": "OK"}
    assert value(after, "harcopa_model_requests_total", **ok) >= 1
    assert "_created" not in text


async def test_verifier_build_info_names_the_lean_release_or_the_simulator() -> None:
    settings = sim_settings(metrics_enabled=True, metrics_port=0, pool_size=2)
    async with serving(settings):
        pass  # the runner publishes build info when it is built; its exporter is now closed
    from harcopa.metrics import start_exporter

    server, port = start_exporter("127.0.0.1", 0)
    try:
        _, samples = await scrape(port)
    finally:
        server.shutdown()
    labels = {"service": "verifier", "version": __version__, "lean_version": "lean-sim"}
    assert value(samples, "harcopa_build_info", **labels) == 1.0
    assert lean_version(settings.model_copy(update={"backend": PantographConfig()})) == "v4.15.0"


class StreamingOrchestrator(orchestrator_pb2_grpc.OrchestratorServiceServicer):
    """WatchRun streams two events for run "short" and never ends for any other run id."""

    async def WatchRun(
        self, request: orchestrator_pb2.WatchRunRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[orchestrator_pb2.WatchRunResponse]:
        count = 0
        while request.run_id != "short" or count < 2:
            count += 1
            yield orchestrator_pb2.WatchRunResponse()
            await asyncio.sleep(0.01 if request.run_id == "short" else 0.2)


async def test_server_streams_are_typed_and_cancelled_calls_counted_as_canceled() -> None:
    service = Service(
        ORCHESTRATOR,
        StreamingOrchestrator(),
        orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server,
    )
    settings = ServiceSettings(port=0, metrics_port=0, grace_seconds=0.5)
    runner = ServiceRunner(settings, [service], ReadyBackend(), "streamtest")
    await runner.start()
    stream = grpc_labels(ORCHESTRATOR, "WatchRun", "server_stream")
    try:
        _, before = await scrape(runner.metrics_port)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{runner.port}") as channel:
            stub = orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
            short = [
                e async for e in stub.WatchRun(orchestrator_pb2.WatchRunRequest(run_id="short"))
            ]
            assert len(short) == 2
            endless = stub.WatchRun(orchestrator_pb2.WatchRunRequest(run_id="endless"))
            await endless.read()
            endless.cancel()
            canceled = dict(stream, grpc_code="Canceled")
            for _ in range(100):  # until the server has seen the cancellation
                _, after = await scrape(runner.metrics_port)
                if value(after, "grpc_server_handled_total", **canceled) > value(
                    before, "grpc_server_handled_total", **canceled
                ):
                    break
                await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    ok = dict(stream, grpc_code="OK")
    assert (
        value(after, "grpc_server_handled_total", **ok)
        - value(before, "grpc_server_handled_total", **ok)
        == 1
    )
    assert (
        value(after, "grpc_server_handled_total", **canceled)
        - value(before, "grpc_server_handled_total", **canceled)
        == 1
    )
    assert (
        value(after, "grpc_server_started_total", **stream)
        - value(before, "grpc_server_started_total", **stream)
        == 2
    )
    # Unary methods of the same service are initialised with their own type.
    get_run = grpc_labels(ORCHESTRATOR, "GetRun", "unary", grpc_code="OK")
    assert ("grpc_server_handled_total", frozenset(get_run.items())) in after
