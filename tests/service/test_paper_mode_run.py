"""A paper-mode run end to end: ``--temperature 0`` from the command line through RunSpec, the
orchestrator's gRPC API and store, the search and the OpenAI client to the HTTP request
(item 9); processed log-probabilities asked, and one warning per run when the endpoint cannot
confirm them (item 2). The endpoint is an OpenAI-compatible recorder on 127.0.0.1 written
here; the verifier is the in-process ScriptedVerifier."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from harcopa import domain as d
from harcopa.orchestrator_client import OrchestratorClient
from harcopa.serving import ServiceRunner
from harcopa_cli.spec_arguments import add_spec_arguments, spec_from_args
from harcopa_orchestrator.models import ModelEndpoint
from harcopa_orchestrator.server import build
from harcopa_orchestrator.settings import OrchestratorSettings
from tests.fakes import ScriptedVerifier, StepRule

STEP = "have h₁ : answer = 7 := by norm_num [h_answer]"
SUBMIT = "exact h₁ -- submit"
RECORD = {
    "informal_problem": "What is 3 + 4?",
    "informal_answer": "7",
    "informal_solution": "3 + 4 = 7.",
    "header": None,
    "formal_problem": "(answer : ℕ)\n(h_answer : answer = 3 + 4)",
    "formal_answer": "answer = 7",
}
WARNING = "cannot confirm processed"


def _verifier() -> ScriptedVerifier:
    return ScriptedVerifier(
        steps=[(r"^have h₁", StepRule((), ("h₁", "answer = 7")))],
        submissions=[(r"^exact h₁ -- submit$", "answer = 7")],
        rpe=[(r"^answer = 7$", "rfl")],
    )


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """An OpenAI-compatible chat endpoint that records every request body and never echoes
    ``logprobs_mode`` (as vLLM does)."""
    bodies: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        bodies.append(body)
        text = SUBMIT if "h₁ : answer = 7" in body["messages"][-1]["content"] else STEP
        logprobs = {"content": [{"token": "x", "logprob": -0.5}]} if body.get("logprobs") else None
        choices = [
            {"index": i, "message": {"role": "assistant", "content": text},
             "finish_reason": "stop", "logprobs": logprobs}
            for i in range(body.get("n", 1))
        ]  # fmt: skip
        usage = {"prompt_tokens": 10, "completion_tokens": len(choices)}
        return web.json_response({"model": body["model"], "choices": choices, "usage": usage})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1", bodies
    finally:
        await runner.cleanup()


def _cli_spec(*flags: str) -> d.RunSpec:
    parser = argparse.ArgumentParser()
    add_spec_arguments(parser, required=False)
    return spec_from_args(parser.parse_args(list(flags)), d.ModelRef("solver"), None)


async def _finish(client: OrchestratorClient, run_id: str) -> d.Run:
    async for event in client.watch(run_id):
        if event.status.finished:
            break
    return await client.get_run(run_id)


async def test_temperature_zero_and_processed_logprobs_reach_the_endpoint(
    tmp_path: Path,
    endpoint: tuple[str, list[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, bodies = endpoint
    (tmp_path / "formal_math500.json").write_text(json.dumps([RECORD, RECORD]))
    settings = OrchestratorSettings(
        port=0,
        metrics_enabled=False,
        store_path=tmp_path / "runs.sqlite",
        benchmark_root=tmp_path,
        models={"solver": ModelEndpoint(target=url, model="/path/to/HAR_CoPA_Cycle2")},
    )
    services, backend = build(settings, lambda _: _verifier())
    runner = ServiceRunner(settings, services, backend, "orchestrator")
    await runner.start()
    flags = ["--pipeline", "bfs", "--benchmark", "formal_math500", "--mode", "paper"]
    spec = _cli_spec(*flags, "--temperature", "0", "--ks", "4", "--solver-samples", "2")
    assert spec.params.temperature == 0.0
    caplog.set_level(logging.WARNING, logger="harcopa_orchestrator.solver")
    try:
        async with OrchestratorClient(f"127.0.0.1:{runner.port}") as client:
            first = await _finish(client, await client.start_run(spec))
            assert first.status is d.RunStatus.SUCCEEDED and first.progress.problems_solved == 2
            assert first.spec.params.temperature == 0.0  # stored and read back as 0
            warned = [r for r in caplog.records if WARNING in r.getMessage()]
            assert len(warned) == 1  # two problems, one run: one warning
            second = await _finish(client, await client.start_run(spec))
            assert second.status is d.RunStatus.SUCCEEDED
    finally:
        await runner.stop()
    assert len([r for r in caplog.records if WARNING in r.getMessage()]) == 2
    assert len(bodies) == 8  # 2 runs x 2 problems x (root expansion + submission expansion)
    for body in bodies:
        assert body["temperature"] == 0 and isinstance(body["temperature"], float)
        assert body["logprobs"] is True and body["logprobs_mode"] == "processed"
        assert body["model"] == "/path/to/HAR_CoPA_Cycle2" and body["n"] == 2
