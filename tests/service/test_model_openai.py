"""OpenAIGenerator and the model server's openai backend against a real local HTTP server.

The HTTP server is a small asyncio HTTP/1.1 server written here: it answers each POST with the
next scripted (status, JSON) reply for its path and records the requests, so retries (429/5xx
then success), no retries on 4xx, the request bodies and the response parsing are all observed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("httpx", reason="the OpenAI client needs httpx")

from harcopa.domain import ChatMessage, FinishReason, LogprobsMode, Prompt, SamplingParams
from harcopa.errors import BackendUnavailable, InvalidRequest, Overloaded
from harcopa.model_client import ModelClient
from harcopa.openai_client import OpenAIGenerator
from harcopa_model_server.backends import OpenAIConfig
from tests.model_tiny import serve_model

CHAT_REPLY = {
    "model": "served-model",
    "choices": [
        {
            "index": 1,
            "message": {"role": "assistant", "content": "simp"},
            "finish_reason": "length",
            "logprobs": {"content": [{"token": "simp", "logprob": -0.3}]},
        },
        {
            "index": 0,
            "message": {"role": "assistant", "content": "norm_num"},
            "finish_reason": "stop",
            "logprobs": {"content": [{"token": "norm", "logprob": -0.1}, {"logprob": -0.2}]},
        },
    ],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "prompt_tokens_details": {"cached_tokens": 8},
    },
}
TEXT_REPLY = {
    "choices": [
        {"index": 0, "text": " 4", "finish_reason": "stop", "logprobs": {"token_logprobs": [-0.7]}}
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1},
}


class ScriptedHttpServer:
    """HTTP/1.1 with keep-alive; ``replies[path]`` is a queue of (status, body) answers."""

    def __init__(self) -> None:
        self.replies: dict[str, deque[tuple[int, Any]]] = defaultdict(deque)
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _read(self, reader: asyncio.StreamReader) -> tuple[str, dict[str, str], Any] | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {k.lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if x)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return path, headers, json.loads(body) if body else None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                path, headers, body = await self._read(reader)
                self.requests.append((path, headers, body))
                status, reply = self.replies[path].popleft() if self.replies[path] else (404, {})
                data = json.dumps(reply).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\nRetry-After: 0\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        self._writers.discard(writer)
        writer.close()

    async def __aenter__(self) -> ScriptedHttpServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):  # open keep-alive connections end their handlers
            writer.close()
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _client(server: ScriptedHttpServer, **kw: Any) -> AsyncIterator[OpenAIGenerator]:
    generator = OpenAIGenerator(server.base_url, "served-model", backoff_seconds=0.01, **kw)
    await generator.start()
    try:
        yield generator
    finally:
        await generator.close()


PROMPT = Prompt(
    messages=(ChatMessage("system", "You are a Lean 4 expert."), ChatMessage("user", "x"))
)


async def test_chat_request_and_reply_parsing() -> None:
    async with ScriptedHttpServer() as server, _client(server, api_key="k") as model:
        server.replies["/v1/chat/completions"].append((200, CHAT_REPLY))
        params = SamplingParams(
            n=2, temperature=0.7, max_tokens=256, stop=("\n",), seed=3, logprobs=True
        )
        reply = await model.generate(PROMPT, params)
    path, headers, body = server.requests[0]
    assert path == "/v1/chat/completions" and headers["authorization"] == "Bearer k"
    assert body == {
        "model": "served-model",
        "messages": [
            {"role": "system", "content": "You are a Lean 4 expert."},
            {"role": "user", "content": "x"},
        ],
        "n": 2,
        "temperature": 0.7,
        "top_p": 1.0,
        "max_tokens": 256,
        "stop": ["\n"],
        "seed": 3,
        "logprobs": True,
    }
    first, second = reply.completions
    assert (first.text, first.finish_reason, first.token_logprobs) == (
        "norm_num",
        FinishReason.STOP,
        (-0.1, -0.2),
    )
    assert (second.text, second.finish_reason, second.num_tokens) == (
        "simp",
        FinishReason.LENGTH,
        1,
    )
    assert (reply.usage.prompt_tokens, reply.usage.cached_prompt_tokens) == (12, 8)


async def test_text_prompts_use_the_completions_api() -> None:
    async with ScriptedHttpServer() as server, _client(server) as model:
        server.replies["/v1/completions"].append((200, TEXT_REPLY))
        reply = await model.generate(Prompt(text="2+2 ="), SamplingParams(logprobs=True))
    path, headers, body = server.requests[0]
    assert path == "/v1/completions" and "authorization" not in headers
    assert body["prompt"] == "2+2 =" and body["logprobs"] == 1 and "seed" not in body
    assert reply.completions[0].text == " 4" and reply.completions[0].token_logprobs == (-0.7,)


async def test_retries_on_429_and_5xx_only() -> None:
    async with ScriptedHttpServer() as server, _client(server, max_retries=3) as model:
        chat = server.replies["/v1/chat/completions"]
        chat.extend([(429, {}), (500, {}), (503, {}), (200, CHAT_REPLY)])
        reply = await model.generate(PROMPT, SamplingParams(n=2))
        assert len(server.requests) == 4 and len(reply.completions) == 2
        assert reply.completions[0].token_logprobs == ()  # not requested

        chat.extend([(400, {"error": "bad"}), (200, CHAT_REPLY)])
        with pytest.raises(InvalidRequest, match="400"):
            await model.generate(PROMPT, SamplingParams())
        assert len(server.requests) == 5  # no retry on 4xx
        chat.clear()

        chat.extend([(429, {})] * 4)
        with pytest.raises(Overloaded):
            await model.generate(PROMPT, SamplingParams())
        chat.clear()
        chat.extend([(502, {})] * 4)
        with pytest.raises(BackendUnavailable):
            await model.generate(PROMPT, SamplingParams())
        assert len(server.requests) == 5 + 4 + 4


async def test_model_server_openai_backend_with_xtuner_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", "secret")
    async with ScriptedHttpServer() as server:
        config = OpenAIConfig(
            base_url=server.base_url,
            model="served-model",
            template="xtuner-default",
            api_key_env="TEST_OPENAI_KEY",
            backoff_seconds=0.01,
        )
        async with serve_model(config) as runner:
            async with ModelClient(f"127.0.0.1:{runner.port}", model="served-model") as model:
                server.replies["/v1/completions"].append((200, TEXT_REPLY))
                reply = await model.generate(PROMPT, SamplingParams())
                server.replies["/v1/completions"].append((422, {"error": "no"}))
                with pytest.raises(InvalidRequest):
                    await model.generate(PROMPT, SamplingParams())
    path, headers, body = server.requests[0]
    assert path == "/v1/completions" and headers["authorization"] == "Bearer secret"
    assert body["prompt"] == "<|System|>:You are a Lean 4 expert.\n<|User|>:x\n<|Bot|>:"
    assert reply.completions[0].text == " 4" and reply.usage.completion_tokens == 1


async def test_processed_logprobs_are_asked_for_checked_by_echo_and_warned_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    processed = SamplingParams(logprobs=True, logprobs_mode=LogprobsMode.PROCESSED)
    chat = "/v1/chat/completions"
    async with ScriptedHttpServer() as server, _client(server) as model:
        server.replies[chat].extend([(200, CHAT_REPLY)] * 3)
        with caplog.at_level(logging.WARNING, logger="harcopa.openai_client"):
            for _ in range(2):  # an endpoint that does not say which log-probabilities it sent
                await model.generate(PROMPT, processed)
            await model.generate(PROMPT, SamplingParams(logprobs=True))  # raw: nothing to check
        warnings = [r for r in caplog.records if "processed_logprobs" in r.getMessage()]
        assert len(warnings) == 1
        assert [body.get("logprobs_mode") for _, _, body in server.requests] == [
            "processed",
            "processed",
            None,
        ]
        caplog.clear()
        server.replies[chat].append((200, {**CHAT_REPLY, "logprobs_mode": "processed"}))
        reply = await model.generate(PROMPT, processed)
        assert reply.completions[0].token_logprobs == (-0.1, -0.2)
        server.replies[chat].append((200, {**CHAT_REPLY, "logprobs_mode": "raw"}))
        with pytest.raises(InvalidRequest, match="raw log-probabilities"):
            await model.generate(PROMPT, processed)
    assert not caplog.records
