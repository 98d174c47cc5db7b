"""ModelRegistry (the orchestrator's models): the problems of a starting run that ask for a
model at once share one generator and one start; a failed start is forgotten, so the next
asker starts it again; a caller cancelled while it waits leaves the start to the others."""

from __future__ import annotations

import asyncio

import pytest

from harcopa.domain import ModelRef
from harcopa_orchestrator.models import ModelEndpoint, ModelRegistry, ModelsConfig

pytestmark = pytest.mark.asyncio


class _Generator:
    backend = "test"

    def __init__(self, fail: bool) -> None:
        self.fail, self.starts, self.closed = fail, 0, False
        self.release = asyncio.Event()

    async def start(self) -> None:
        self.starts += 1
        await self.release.wait()  # a slow start: every asker arrives meanwhile
        if self.fail:
            raise ConnectionError("the endpoint is not up yet")

    async def close(self) -> None:
        self.closed = True


def _registry(fails: list[bool]) -> tuple[ModelRegistry, list[_Generator]]:
    built: list[_Generator] = []

    def build(endpoint: ModelEndpoint, configured: bool) -> _Generator:
        built.append(_Generator(fails.pop(0)))
        return built[-1]

    config = ModelsConfig(default="m", models={"m": ModelEndpoint(target="x:1")})
    return ModelRegistry(config, factory=build), built


async def test_concurrent_askers_share_one_start() -> None:
    registry, built = _registry([False])
    askers = [asyncio.create_task(registry.get(ModelRef())) for _ in range(8)]
    await asyncio.sleep(0)
    impatient = askers.pop()
    impatient.cancel()  # gives up waiting: the start goes on for the others
    built[0].release.set()
    got = await asyncio.gather(*askers)
    assert len(built) == 1 and built[0].starts == 1
    assert all(g is built[0] for g in got)
    assert await registry.get(ModelRef()) is built[0]  # started: kept
    with pytest.raises(asyncio.CancelledError):
        await impatient
    await registry.close()
    assert built[0].closed


async def test_a_failed_start_is_tried_again_by_the_next_asker() -> None:
    registry, built = _registry([True, False])
    askers = [asyncio.create_task(registry.get(ModelRef())) for _ in range(3)]
    await asyncio.sleep(0)
    built[0].release.set()
    outcomes = await asyncio.gather(*askers, return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)  # all saw the one failure
    later = asyncio.create_task(registry.get(ModelRef()))
    await asyncio.sleep(0)
    assert len(built) == 2  # a new start, not the failed one again
    built[1].release.set()
    assert await later is built[1]
    await registry.close()


async def test_prepare_loads_the_http_client_only_for_openai_endpoints(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from harcopa_orchestrator import models

    loaded: list[str] = []

    def load(name: str) -> object:
        loaded.append(name)
        return object()

    monkeypatch.setattr(models.importlib, "import_module", load)
    grpc_only = ModelsConfig(default="m", models={"m": ModelEndpoint(target="model:50051")})
    await ModelRegistry(grpc_only).prepare()
    assert loaded == []  # a ModelService over gRPC needs no HTTP client
    await ModelRegistry(grpc_only, allowed_endpoint_hosts=("127.0.0.1",)).prepare()
    http = ModelsConfig(default="m", models={"m": ModelEndpoint(target="http://vllm:8000/v1")})
    await ModelRegistry(http).prepare()
    assert loaded == ["httpx", "httpx"]

    def fail(name: str) -> object:
        raise ImportError(f"no module named {name}")

    monkeypatch.setattr(models.importlib, "import_module", fail)
    await ModelRegistry(http).prepare()  # logged, not raised: the first request says so
    assert "cannot be loaded" in caplog.text
