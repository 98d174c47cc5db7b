"""Prefix reuse and greedy parity of the transformers backend, through gRPC and ModelClient.

Parity: greedy decoding through the server gives the same tokens as transformers' own
``generate()`` on the same tiny model, with per-token log-probabilities within 1e-4 (float32 on
CPU; the server's batched, left-padded decode and generate()'s single-row decode differ only by
rounding), for single requests, concurrent requests batched together, and requests whose prompt
came (wholly or partly) from the prefix cache. Reuse: ``cached_prompt_tokens`` is exactly the
number of prompt tokens shared with a cached prompt (the tiny tokenizer is character-level, so
that number is known), the metric counts the same, and limits are honoured.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the transformers backend needs torch (model-server extra)")
pytest.importorskip("transformers", reason="the transformers backend needs transformers")

import torch
from prometheus_client import REGISTRY

from harcopa.domain import ChatMessage, FinishReason, Generation, Prompt, SamplingParams
from harcopa.model_client import ModelClient
from harcopa_model_server.backends import TransformersConfig
from harcopa_model_server.backends.prefix_cache import BLOCK_TOKENS, common_prefix
from tests.model_tiny import TinyReference, build_tiny_model, serve_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SYSTEM = "You are a Lean 4 expert. Answer with the next tactic only, in one line of Lean code."
QUESTIONS = ("x : ℕ ⊢ x + 0 = x", "h : a = b ⊢ b = a", "⊢ 2 + 2 = 4", "n : ℕ, h : 0 < n ⊢ 1 ≤ n")
PROMPTS = [
    Prompt(messages=(ChatMessage("system", SYSTEM), ChatMessage("user", q))) for q in QUESTIONS
]
GREEDY = SamplingParams(n=2, temperature=0, max_tokens=24, logprobs=True)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def direct(tiny_model: Path) -> TinyReference:
    return TinyReference(tiny_model)


def _config(model: Path, **fields: object) -> TransformersConfig:
    return TransformersConfig(model=str(model), device="cpu", **fields)


def _generate_reference(direct: TinyReference, prompt: Prompt, max_tokens: int):
    """transformers' generate(): greedy token ids and log-softmax of the logits of each step."""
    ids = torch.tensor([direct.prompt_ids(prompt)])
    with torch.inference_mode():
        out = direct.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=max_tokens,
            output_logits=True,
            return_dict_in_generate=True,
        )
    tokens = out.sequences[0, ids.shape[1] :].tolist()
    steps = torch.log_softmax(torch.stack(out.logits)[:, 0].float(), dim=-1)
    return tokens, [steps[i, t].item() for i, t in enumerate(tokens)]


def _assert_parity(direct: TinyReference, prompt: Prompt, reply: Generation) -> None:
    tokens, logprobs = _generate_reference(direct, prompt, GREEDY.max_tokens)
    eos = direct.tokenizer.eos_token_id
    text = direct.tokenizer.decode([t for t in tokens if t != eos], skip_special_tokens=True)
    for completion in reply.completions:
        assert completion.text == text
        assert completion.num_tokens == len(tokens)
        assert completion.token_logprobs == pytest.approx(logprobs, abs=1e-4)
        ended = FinishReason.STOP if tokens[-1] == eos else FinishReason.LENGTH
        assert completion.finish_reason is ended


def _cached_metric() -> float:
    name = "harcopa_model_cached_prompt_tokens_total"
    return REGISTRY.get_sample_value(name, {"backend": "transformers"}) or 0.0


async def test_greedy_decoding_matches_generate_alone_batched_and_cached(
    tiny_model: Path, direct: TinyReference
) -> None:
    async with serve_model(_config(tiny_model, batch_wait_ms=50)) as runner:
        async with ModelClient(f"127.0.0.1:{runner.port}") as model:
            alone = await model.generate(PROMPTS[0], GREEDY)
            together = await asyncio.gather(*(model.generate(p, GREEDY) for p in PROMPTS))
            repeated = await model.generate(PROMPTS[2], GREEDY)
    assert alone.usage.cached_prompt_tokens == 0
    _assert_parity(direct, PROMPTS[0], alone)
    for prompt, reply in zip(PROMPTS, together, strict=True):
        _assert_parity(direct, prompt, reply)
    assert repeated.usage.cached_prompt_tokens == repeated.usage.prompt_tokens
    _assert_parity(direct, PROMPTS[2], repeated)


async def test_cached_prompt_tokens_count_the_shared_prefix(
    tiny_model: Path, direct: TinyReference
) -> None:
    ids = [tuple(direct.prompt_ids(p)) for p in PROMPTS]
    shared = common_prefix(ids[0], ids[1])
    assert shared >= BLOCK_TOKENS  # the system prompt spans whole blocks
    before = _cached_metric()
    async with serve_model(_config(tiny_model)) as runner:
        async with ModelClient(f"127.0.0.1:{runner.port}") as model:
            first = await model.generate(PROMPTS[0], GREEDY)
            again = await model.generate(PROMPTS[0], GREEDY)
            sibling = await model.generate(PROMPTS[1], GREEDY)
    assert [g.usage.prompt_tokens for g in (first, again, sibling)] == [
        len(ids[0]),
        len(ids[0]),
        len(ids[1]),
    ]
    assert [g.usage.cached_prompt_tokens for g in (first, again, sibling)] == [
        0,
        len(ids[0]),
        shared,
    ]
    assert _cached_metric() - before == len(ids[0]) + shared
    assert REGISTRY.get_sample_value("harcopa_model_prefix_cache_entries") == 2
    assert (REGISTRY.get_sample_value("harcopa_model_prefix_cache_bytes") or 0) > 0
    assert [c.text for c in again.completions] == [c.text for c in first.completions]
    _assert_parity(direct, PROMPTS[1], sibling)


async def test_limits_and_a_disabled_cache(tiny_model: Path, direct: TinyReference) -> None:
    ids = [tuple(direct.prompt_ids(p)) for p in PROMPTS]
    sequence = [PROMPTS[0], PROMPTS[1], PROMPTS[0]]
    results: dict[str, list[int]] = {}
    for name, fields in (
        ("off", {"prefix_cache_bytes": 0}),
        ("one entry", {"prefix_cache_entries": 1}),
        ("too small", {"prefix_cache_bytes": 1024}),  # smaller than any prompt's KV cache
    ):
        async with serve_model(_config(tiny_model, **fields)) as runner:
            async with ModelClient(f"127.0.0.1:{runner.port}") as model:
                replies = [await model.generate(p, GREEDY) for p in sequence]
        results[name] = [g.usage.cached_prompt_tokens for g in replies]
        for prompt, reply in zip(sequence, replies, strict=True):
            _assert_parity(direct, prompt, reply)
    shared = common_prefix(ids[0], ids[1])
    assert results == {"off": [0, 0, 0], "one entry": [0, shared, shared], "too small": [0, 0, 0]}
