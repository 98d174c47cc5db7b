"""Log-probability modes of the transformers backend, through the real gRPC server and ModelClient.

PROCESSED must be log-softmax(logits / T) (with the tokens outside top_p removed when top_p < 1)
of a direct forward pass over the sampled text; RAW (the unset default) log-softmax(logits); for
greedy requests both are the raw distribution.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the transformers backend needs torch (model-server extra)")
pytest.importorskip("transformers", reason="the transformers backend needs transformers")

import torch

from harcopa.domain import ChatMessage, Completion, LogprobsMode, Prompt, SamplingParams
from harcopa.model_client import ModelClient
from harcopa_model_server.backends import TransformersConfig
from tests.model_tiny import TinyReference, build_tiny_model, serve_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = Prompt(messages=(ChatMessage("user", "theorem t : 2 + 2 = 4 := by"),))
PROCESSED = LogprobsMode.PROCESSED


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _expected(direct: TinyReference, completion: Completion, params: SamplingParams):
    """(raw, processed) reference log-probabilities of the completion's tokens, or None when the
    text does not give back its tokens (a special token was left out of it)."""
    logits, ids = direct.logits(PROMPT, completion.text)
    if len(ids) != completion.num_tokens:
        return None
    picked = (range(len(ids)), ids)
    raw = torch.log_softmax(logits, dim=-1)[picked].tolist()
    if params.temperature <= 0:
        return raw, raw
    scaled = logits / params.temperature
    if params.top_p < 1:  # drop the tokens past the first ones whose mass reaches top_p
        ordered, order = torch.sort(torch.softmax(scaled, dim=-1), dim=-1, descending=True)
        beyond = torch.cumsum(ordered, dim=-1) - ordered > params.top_p
        outside = torch.zeros_like(beyond).scatter(-1, order, beyond)
        scaled = scaled.masked_fill(outside, float("-inf"))
    return raw, torch.log_softmax(scaled, dim=-1)[picked].tolist()


async def test_processed_and_raw_logprobs_match_a_direct_forward_pass(tiny_model: Path) -> None:
    cases = [
        SamplingParams(n=4, temperature=0.7, max_tokens=16, seed=3, logprobs=True),
        SamplingParams(
            n=4, temperature=0.7, max_tokens=16, seed=3, logprobs=True, logprobs_mode=PROCESSED
        ),
        SamplingParams(
            n=4,
            temperature=1.3,
            top_p=0.8,
            max_tokens=16,
            seed=4,
            logprobs=True,
            logprobs_mode=PROCESSED,
        ),
        SamplingParams(temperature=0, max_tokens=16, logprobs=True, logprobs_mode=PROCESSED),
    ]
    async with serve_model(TransformersConfig(model=str(tiny_model), device="cpu")) as runner:
        async with ModelClient(f"127.0.0.1:{runner.port}") as model:
            replies = [await model.generate(PROMPT, params) for params in cases]
    direct = TinyReference(tiny_model)
    checked = 0
    for params, reply in zip(cases, replies, strict=True):
        for completion in reply.completions:
            expected = _expected(direct, completion, params)
            if expected is None:
                continue
            raw, processed = expected
            is_processed = params.logprobs_mode is PROCESSED
            wanted = processed if is_processed else raw
            assert completion.token_logprobs == pytest.approx(wanted, abs=2e-4)
            if is_processed and params.temperature > 0:  # the modes differ: it was applied
                assert completion.token_logprobs != pytest.approx(raw, abs=1e-2)
            checked += 1
    assert checked >= 8
    # Sampling does not depend on the mode: the same seed draws the same tokens.
    assert [c.text for c in replies[0].completions] == [c.text for c in replies[1].completions]
