"""The OpenAI-compatible HTTP front of the model server, on loopback, beside gRPC.

Clients: the real ``openai`` Python client, raw ``httpx`` for error bodies and limits, and the
project's own OpenAIGenerator. Backends: the model simulator, and the tiny transformers model
(test_model_http_transformers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("openai", reason="the HTTP front tests use the openai client")
pytest.importorskip("httpx", reason="the HTTP front tests use httpx")
pytest.importorskip("aiohttp", reason="the HTTP front needs aiohttp (model-server extra)")

import httpx
import openai

from harcopa.domain import ChatMessage, Generation, LogprobsMode, Prompt, SamplingParams
from harcopa.model_client import ModelClient
from harcopa.openai_client import OpenAIGenerator
from harcopa_model_server.backends import SimulatedConfig
from harcopa_model_server.backends.simulated import Scenario, SimulatedGenerator
from tests.model_tiny import serve_model
from tests.processes import wait_until

SCENARIO = Scenario.model_validate(
    {
        "name": "front",
        "rules": [
            {"match": "slow", "completions": "zzz"},
            {"match": "tactic", "completions": [{"text": "norm_num", "logprobs": [-0.5, -0.25]}]},
        ],
        "default": "one two three four five",
    }
)
SLOW = {"request_seconds": 30.0}
MODEL = "simulator/front"


def _sim(**fields: Any) -> SimulatedConfig:
    return SimulatedConfig(scenario=SCENARIO, **fields)


@contextlib.asynccontextmanager
async def _front(backend: Any = None, **settings: Any) -> AsyncIterator[tuple[Any, str]]:
    """A model server with the HTTP front on a free port: (runner, base URL of /v1)."""
    async with serve_model(backend or _sim(), http_port=0, **settings) as runner:
        yield runner, f"http://127.0.0.1:{runner.backend.http_port}/v1"


def _openai(base_url: str, key: str = "none") -> Any:
    return openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)


async def test_the_openai_client_lists_completes_and_chats() -> None:
    async with _front() as (_, url):
        client = _openai(url)
        models = await client.models.list()
        text = await client.completions.create(
            model=MODEL, prompt="say five words", n=3, temperature=0.7, top_p=0.9,
            max_tokens=4, seed=1, logprobs=1, stop=["six"],
        )  # fmt: skip
        chat = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "system", "content": "Lean"}, {"role": "user", "content": "tactic"}],
            n=2, logprobs=True, top_logprobs=2, stop="\n\n",
        )  # fmt: skip
        cut = await client.completions.create(model=MODEL, prompt="x", stop=[" three"])
        await client.close()
    assert [m.id for m in models.data] == [MODEL]
    assert len(text.choices) == 3 and text.model == MODEL
    assert {c.text for c in text.choices} == {"one two three four"}
    assert {c.finish_reason for c in text.choices} == {"length"}
    assert all(len(c.logprobs.token_logprobs) == 4 for c in text.choices)
    assert text.usage.completion_tokens == 12 and text.usage.prompt_tokens > 0
    assert text.usage.prompt_tokens_details.cached_tokens == 0
    assert [c.message.content for c in chat.choices] == ["norm_num", "norm_num"]
    assert [x.logprob for x in chat.choices[0].logprobs.content] == [-0.5, -0.25]
    assert chat.choices[0].finish_reason == "stop" and chat.object == "chat.completion"
    assert (cut.choices[0].text, cut.choices[0].finish_reason) == ("one two", "stop")


async def test_repeated_prompts_report_cached_tokens_like_grpc() -> None:
    messages = [{"role": "user", "content": "a question asked twice"}]
    async with _front() as (runner, url):
        client = _openai(url)
        first = await client.chat.completions.create(model=MODEL, messages=messages)
        again = await client.chat.completions.create(model=MODEL, messages=messages)
        await client.close()
        async with ModelClient(f"127.0.0.1:{runner.port}") as grpc_client:
            prompt = Prompt(messages=(ChatMessage("user", "a question asked twice"),))
            via_grpc = await grpc_client.generate(prompt, SamplingParams())
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = again.usage.prompt_tokens_details.cached_tokens
    assert cached == again.usage.prompt_tokens > 0
    assert via_grpc.usage.cached_prompt_tokens == cached  # one backend behind both doors
    assert via_grpc.completions[0].text == again.choices[0].message.content


async def _status(url: str, path: str, body: object = None, **kw: Any) -> tuple[int, Any]:
    async with httpx.AsyncClient() as http:
        if body is None and "content" not in kw:
            response = await http.get(url + path, **kw)
        else:
            response = await http.post(url + path, json=body, **kw)
    return response.status_code, response.json()


async def test_bad_input_wrong_model_unknown_path_and_size_limits() -> None:
    async with _front(http_max_request_bytes=4096) as (_, url):
        chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
        cases = {
            "n=0": await _status(url, "/chat/completions", {**chat, "n": 0}),
            "no messages": await _status(url, "/chat/completions", {"model": MODEL}),
            "stream": await _status(url, "/chat/completions", {**chat, "stream": True}),
            "role": await _status(
                url, "/chat/completions", {"messages": [{"role": "tool", "content": "x"}]}
            ),
            "token ids": await _status(url, "/completions", {"prompt": [1, 2, 3]}),
            "not json": await _status(url, "/completions", content=b"{oops"),
            "model": await _status(url, "/completions", {"model": "other", "prompt": "x"}),
            "path": await _status(url, "/nothing-here", {}),
            "size": await _status(url, "/completions", {"prompt": "x" * 5000}),
        }
    expected = {"model": 404, "path": 404, "size": 413}
    for name, (status, body) in cases.items():
        assert status == expected.get(name, 400), (name, body)
        assert set(body["error"]) == {"message", "type", "param", "code"}, name
    assert "stream" in cases["stream"][1]["error"]["message"]
    assert "n must be in" in cases["n=0"][1]["error"]["message"]
    assert cases["model"][1]["error"]["code"] == "model_not_found"


async def test_bearer_token_as_on_grpc() -> None:
    async with _front(auth_token="s3cret") as (_, url):
        with pytest.raises(openai.AuthenticationError):
            await _openai(url, "wrong").models.list()
        assert (await _openai(url, "s3cret").models.list()).data[0].id == MODEL
        assert (await _status(url.removesuffix("/v1"), "/health"))[0] == 200  # stays open


async def test_full_queue_is_429_and_a_disconnect_cancels_generation() -> None:
    async with _front(_sim(latency=SLOW), max_pending_requests=1) as (runner, url):
        servicer = runner.services[0].servicer
        async with httpx.AsyncClient() as http:
            hanging = asyncio.create_task(
                http.post(url + "/completions", json={"prompt": "slow"}, timeout=30)
            )
            await wait_until(lambda: servicer.pending == 1, 5.0)
            status, body = await _status(url, "/completions", {"prompt": "hi"})
            hanging.cancel()  # the client goes away: its generation must stop
            with contextlib.suppress(asyncio.CancelledError):
                await hanging
        await wait_until(lambda: servicer.pending == 0, 5.0)  # not the sim's 30 s
        assert servicer.pending == 0
    assert status == 429 and body["error"]["type"] == "rate_limit_error"


class _GatedGenerator(SimulatedGenerator):
    """The simulator whose start waits for ``gate``: the window in which the model loads."""

    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__(_sim())
        self.gate = gate

    async def start(self) -> None:
        await self.gate.wait()
        await super().start()


async def test_health_and_requests_answer_503_until_the_model_is_ready() -> None:
    from harcopa_model_server.server import build_runner
    from harcopa_model_server.settings import ModelSettings

    gate = asyncio.Event()
    settings = ModelSettings(
        backend=_sim(), port=0, http_port=0, metrics_enabled=False, grace_seconds=0.5
    )
    runner = build_runner(settings, _GatedGenerator(gate))
    starting = asyncio.create_task(runner.start())
    try:
        await wait_until(lambda: runner.backend.http_port, 5.0)  # set once the front listens
        url = f"http://127.0.0.1:{runner.backend.http_port}"
        loading = [await _status(url, "/health"), await _status(url, "/v1/models")]
        gate.set()
        await starting
        ready = [await _status(url, "/health"), await _status(url, "/v1/models")]
    finally:
        gate.set()
        await starting
        await runner.stop()
    assert [status for status, _ in loading] == [503, 503]
    assert loading[1][1]["error"]["code"] == "not_ready"
    assert [status for status, _ in ready] == [200, 200]


async def test_the_projects_openai_generator_end_to_end() -> None:
    async with _front() as (_, url):
        generator = OpenAIGenerator(url, MODEL, max_retries=0)
        await generator.start()
        try:
            chat = await generator.generate(
                Prompt(messages=(ChatMessage("user", "tactic"),)),
                SamplingParams(n=2, logprobs=True, logprobs_mode=LogprobsMode.PROCESSED),
            )
            text = await generator.generate(Prompt(text="hello"), SamplingParams(max_tokens=2))
        finally:
            await generator.close()
    assert isinstance(chat, Generation) and chat.model == MODEL
    assert [c.text for c in chat.completions] == ["norm_num", "norm_num"]
    assert chat.completions[0].token_logprobs == (-0.5, -0.25)
    assert text.completions[0].text == "one two" and text.usage.completion_tokens == 2


async def test_the_tiny_transformers_model_behind_both_doors(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the transformers backend needs torch")
    from harcopa_model_server.backends import TransformersConfig
    from tests.model_tiny import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "tiny")
    messages = [{"role": "user", "content": "theorem t : 1 + 1 = 2 := by"}]
    greedy = {"temperature": 0, "max_tokens": 12, "logprobs": True}
    config = TransformersConfig(model=str(model_dir), device="cpu")
    async with _front(config) as (runner, url):
        client = _openai(url)
        first = await client.chat.completions.create(model="tiny", messages=messages, **greedy)
        again = await client.chat.completions.create(model="tiny", messages=messages, n=2, **greedy)
        processed = await client.chat.completions.create(
            model="tiny", messages=messages, temperature=0.5, max_tokens=8, seed=2,
            logprobs=True, extra_body={"logprobs_mode": "processed"},
        )  # fmt: skip
        await client.close()
        async with ModelClient(f"127.0.0.1:{runner.port}") as grpc_client:
            prompt = Prompt(messages=(ChatMessage("user", messages[0]["content"]),))
            via_grpc = await grpc_client.generate(
                prompt, SamplingParams(temperature=0, max_tokens=12, logprobs=True)
            )
    text = first.choices[0].message.content
    assert [c.message.content for c in again.choices] == [text, text]
    assert text == via_grpc.completions[0].text and first.model == "tiny"
    logprobs = [x.logprob for x in first.choices[0].logprobs.content]
    assert logprobs == pytest.approx(via_grpc.completions[0].token_logprobs, abs=1e-6)
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert again.usage.prompt_tokens_details.cached_tokens == again.usage.prompt_tokens
    assert processed.model_extra["logprobs_mode"] == "processed"
    assert len(processed.choices[0].logprobs.content) == processed.usage.completion_tokens


async def test_a_server_process_serves_http_when_the_port_is_set() -> None:
    from harcopa_cli.local import ServiceProcess, free_port

    port, http_port = free_port(), free_port()
    env = {
        "HARCOPA_MODEL_PORT": str(port),
        "HARCOPA_MODEL_HTTP_PORT": str(http_port),
        "HARCOPA_MODEL_METRICS_ENABLED": "false",
        "HARCOPA_MODEL_BACKEND__KIND": "sim",
    }
    process = ServiceProcess("harcopa_model_server", "harcopa.v1.ModelService", env, port=port)
    await process.start(ready_timeout_seconds=30)
    try:
        client = _openai(f"http://127.0.0.1:{http_port}/v1")
        reply = await client.completions.create(model="simulator/scripted", prompt="hi")
        await client.close()
    finally:
        await process.stop()
    assert reply.model == "simulator/scripted" and reply.choices[0].finish_reason == "stop"


def test_cli_flags_turn_the_front_on_and_pick_the_logprobs_mode() -> None:
    from harcopa_cli.main import build_parser
    from harcopa_cli.model import _backend
    from harcopa_model_server.settings import ModelSettings

    args = build_parser().parse_args(
        ["model", "serve", "--backend", "vllm", "--model", "/ckpt", "--http-port", "8080",
         "--logprobs-mode", "processed"]
    )  # fmt: skip
    settings = ModelSettings(
        backend=_backend(args), http_port=args.http_port, http_logprobs_mode=args.logprobs_mode
    )
    assert settings.backend.logprobs_mode == "processed"  # type: ignore[union-attr]
    assert (settings.http_port, settings.http_logprobs_mode) == (8080, "processed")
    assert ModelSettings().http_port is None  # off unless asked for
