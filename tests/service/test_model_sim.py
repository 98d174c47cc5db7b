"""The model simulator through the real model server: scenarios, latency, limits, CLI, process."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from harcopa.domain import ChatMessage, FinishReason, Prompt, SamplingParams
from harcopa.errors import DeadlineExceeded, InvalidRequest, Overloaded
from harcopa.model_client import ModelClient
from harcopa_cli.local import ServiceProcess, free_port
from harcopa_model_server.backends import SimulatedConfig
from harcopa_model_server.backends.simulated import Scenario, SimulatedGenerator
from harcopa_model_server.settings import ModelSettings
from tests.model_tiny import serve_model

SCENARIO = {
    "name": "prover",
    "rules": [
        {
            "match": r"Current tactic state:\n```\n.*⊢ x = 2",
            "system": "Lean 4 expert",
            "responses": [
                ["norm_num", {"text": "simp", "logprobs": [-0.5, -0.25]}],
                [{"text": "linarith", "nll": 2.0}],
            ],
            "after": "last",
        },
        {"match": "count by rule", "count_by": "rule", "responses": [["a"], ["b"]]},
        {"match": "long", "completions": "one two three four five six seven eight"},
    ],
    "default": {"text": "sorry", "finish_reason": "length"},
}


def _chat(user: str, system: str = "You are a Lean 4 expert.") -> Prompt:
    return Prompt(messages=(ChatMessage("system", system), ChatMessage("user", user)))


def _goal(target: str) -> Prompt:
    return _chat(f"Prove it.\nCurrent tactic state:\n```\nx : ℕ\n⊢ {target}\n```\n")


async def test_scripted_responses_per_call_and_sampling_rules(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(SCENARIO, ensure_ascii=False))
    async with serve_model(SimulatedConfig(scenario_path=path)) as runner:
        async with ModelClient(f"127.0.0.1:{runner.port}", model="simulator/prover") as model:
            params = SamplingParams(n=3, logprobs=True)
            first = await model.generate(_goal("x = 2"), params)
            second = await model.generate(_goal("x = 2"), params)
            third = await model.generate(_goal("x = 2"), params)
            other_prompt = await model.generate(_goal("x = 2 ∧ True"), SamplingParams())
            no_system = Prompt(messages=_goal("x = 2").messages[1:])
            wrong_system = await model.generate(no_system, SamplingParams())
            by_rule = [
                (await model.generate(_chat(f"count by rule {i}"), SamplingParams())).completions[0]
                for i in range(3)
            ]
            stopped = await model.generate(_chat("long"), SamplingParams(stop=(" four",)))
            clipped = await model.generate(_chat("long"), SamplingParams(max_tokens=3))
    assert first.model == "simulator/prover"
    assert [c.text for c in first.completions] == ["norm_num", "simp", "norm_num"]
    assert first.completions[1].token_logprobs == (-0.5, -0.25)
    assert len(first.completions[0].token_logprobs) == first.completions[0].num_tokens
    assert [c.text for c in second.completions] == ["linarith"] * 3
    assert second.completions[0].mean_nll == pytest.approx(2.0)
    assert [c.text for c in third.completions] == ["linarith"] * 3  # after: last
    assert other_prompt.completions[0].text == "norm_num"  # counted per distinct prompt
    assert wrong_system.completions[0].text == "sorry"  # no system message: default
    assert wrong_system.completions[0].finish_reason is FinishReason.LENGTH
    assert [c.text for c in by_rule] == ["a", "b", "a"]
    assert stopped.completions[0].text == "one two three"
    assert stopped.completions[0].finish_reason is FinishReason.STOP
    assert clipped.completions[0].text == "one two three"
    assert clipped.completions[0].finish_reason is FinishReason.LENGTH
    assert clipped.completions[0].num_tokens == 3


async def test_invalid_requests_are_rejected() -> None:
    scenario = Scenario(name="strict", default=None)
    async with serve_model(SimulatedConfig(scenario=scenario)) as runner:
        target = f"127.0.0.1:{runner.port}"
        async with ModelClient(target) as model:
            with pytest.raises(InvalidRequest, match="no rule"):
                await model.generate(_chat("anything"), SamplingParams())
            for params in (
                SamplingParams(n=1000),
                SamplingParams(temperature=-1),
                SamplingParams(top_p=0),
                SamplingParams(stop=("",)),
            ):
                with pytest.raises(InvalidRequest):
                    await model.generate(_chat("x"), params)
            with pytest.raises(InvalidRequest, match="roles"):
                await model.generate(
                    Prompt(messages=(ChatMessage("bogus", "x"),)), SamplingParams()
                )
        async with ModelClient(target, model="another-model") as model:
            with pytest.raises(InvalidRequest, match="serves"):
                await model.generate(_chat("x"), SamplingParams())


async def test_latency_model_slots_deadline_and_cancellation() -> None:
    scenario = {
        "rules": [{"match": "slow", "completions": " ".join(["word"] * 500)}],
        "default": "ok",
        "latency": {"request_seconds": 0.2, "token_seconds": 0.02, "slots": 1},
    }
    config = SimulatedConfig(scenario=Scenario.model_validate(scenario))
    async with serve_model(config) as runner:
        async with ModelClient(f"127.0.0.1:{runner.port}", retries=False) as model:
            started = time.perf_counter()
            with pytest.raises(DeadlineExceeded):
                await model.generate(_chat("slow"), SamplingParams(), timeout_seconds=0.4)
            # The cancelled request gave its slot back: two quick ones run one after the other.
            await asyncio.gather(*(model.generate(_chat("q"), SamplingParams()) for _ in range(2)))
            elapsed = time.perf_counter() - started
    assert 0.7 <= elapsed < 3.0  # ~0.4 deadline + 2 x (0.2 + 0.02) in one slot


async def test_admission_limit_and_token_metrics() -> None:
    scenario = Scenario.model_validate({"default": "a b c", "latency": {"request_seconds": 0.3}})
    before = REGISTRY.get_sample_value(
        "harcopa_model_cached_prompt_tokens_total", {"backend": "sim"}
    )
    async with serve_model(SimulatedConfig(scenario=scenario), max_pending_requests=2) as runner:
        async with ModelClient(f"127.0.0.1:{runner.port}", retries=False) as model:
            results = await asyncio.gather(
                *(model.generate(_chat("same prompt"), SamplingParams(n=2)) for _ in range(4)),
                return_exceptions=True,
            )
    done = [r for r in results if not isinstance(r, BaseException)]
    assert sum(isinstance(r, Overloaded) for r in results) == 2 and len(done) == 2
    assert done[0].usage.completion_tokens == 6
    assert max(r.usage.cached_prompt_tokens for r in done) == done[0].usage.prompt_tokens
    after = REGISTRY.get_sample_value(
        "harcopa_model_cached_prompt_tokens_total", {"backend": "sim"}
    )
    assert after - (before or 0) == done[0].usage.prompt_tokens


def test_cli_and_environment_build_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from harcopa_cli.main import build_parser
    from harcopa_cli.model import _backend

    args = build_parser().parse_args(
        ["model", "serve", "--backend", "transformers", "--model", "/ckpt", "--template", "x"]
    )
    settings = ModelSettings(backend=_backend(args))
    assert settings.backend.kind == "transformers"
    assert (settings.backend.model, settings.backend.template) == ("/ckpt", "x")
    monkeypatch.setenv("HARCOPA_MODEL_BACKEND__KIND", "openai")
    monkeypatch.setenv("HARCOPA_MODEL_BACKEND__BASE_URL", "http://h:1/v1")
    assert ModelSettings().backend.base_url == "http://h:1/v1"  # type: ignore[union-attr]


async def test_in_process_simulator_is_a_generator() -> None:
    generator = SimulatedGenerator(scenario=Scenario.model_validate(SCENARIO))
    await generator.start()
    reply = await generator.generate(Prompt(text="long text"), SamplingParams(n=2))
    await generator.close()
    assert [c.num_tokens for c in reply.completions] == [8, 8]


async def test_python_dash_m_serves_the_simulator(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(SCENARIO, ensure_ascii=False))
    port = free_port()
    env = {
        "HARCOPA_MODEL_PORT": str(port),
        "HARCOPA_MODEL_METRICS_ENABLED": "false",
        "HARCOPA_MODEL_BACKEND__KIND": "sim",
        "HARCOPA_MODEL_BACKEND__SCENARIO_PATH": str(path),
    }
    process = ServiceProcess("harcopa_model_server", "harcopa.v1.ModelService", env, port=port)
    await process.start(ready_timeout_seconds=30)
    try:
        async with ModelClient(process.target) as model:
            reply = await model.generate(_chat("long"), SamplingParams())
    finally:
        await process.stop()
    assert reply.model == "simulator/prover"
    assert reply.completions[0].text.startswith("one two")


async def test_seeded_picks_keep_no_state_across_servers() -> None:
    """``pick: seed`` answers a request by its seed alone: a restarted server (a new
    generator) gives a resent request the same completions."""
    scenario = Scenario.model_validate(
        {"rules": [{"match": "goal", "pick": "seed", "completions": ["a", "b", "c", "d", "e"]}]}
    )
    params = SamplingParams(n=4, seed=7)
    first = await SimulatedGenerator(scenario=scenario).generate(_chat("goal"), params)
    again = await SimulatedGenerator(scenario=scenario).generate(_chat("goal"), params)
    assert [c.text for c in first.completions] == [c.text for c in again.completions]
    draws = set()
    for seed in range(20):
        reply = await SimulatedGenerator(scenario=scenario).generate(
            _chat("goal"), SamplingParams(n=4, seed=seed)
        )
        draws.add(tuple(c.text for c in reply.completions))
    assert len(draws) > 10  # different seeds draw differently
