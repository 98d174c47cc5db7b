"""The transformers and vllm backends on a CUDA GPU, served over gRPC (marker ``gpu``).

Skipped with the reason where no CUDA device (or no vLLM) is present; run with
``pytest -m gpu tests/integration/test_model_gpu.py`` on a GPU machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harcopa.domain import ChatMessage, FinishReason, Prompt, SamplingParams
from harcopa.model_client import ModelClient
from harcopa_model_server.backends import TransformersConfig, VllmConfig
from tests.model_tiny import build_tiny_model, serve_model

pytestmark = pytest.mark.gpu

PROMPT = Prompt(messages=(ChatMessage("user", "Prove that 2 + 2 = 4. " * 12),))


def _require_cuda() -> None:
    torch = pytest.importorskip("torch", reason="needs torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return build_tiny_model(tmp_path_factory.mktemp("gpu") / "model")


async def _greedy(config: object) -> tuple[str, tuple[float, ...], int]:
    async with serve_model(config) as runner, ModelClient(f"127.0.0.1:{runner.port}") as model:
        params = SamplingParams(n=4, temperature=0, max_tokens=32, logprobs=True)
        reply = await model.generate(PROMPT, params)
    texts = {c.text for c in reply.completions}
    assert len(texts) == 1 and len(reply.completions) == 4
    first = reply.completions[0]
    assert first.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    return first.text, first.token_logprobs, reply.usage.cached_prompt_tokens


async def test_transformers_backend_on_cuda(model_dir: Path) -> None:
    _require_cuda()
    cpu = await _greedy(TransformersConfig(model=str(model_dir), device="cpu"))
    gpu = await _greedy(TransformersConfig(model=str(model_dir), device="cuda", dtype="float32"))
    assert gpu[0] == cpu[0]
    assert gpu[1] == pytest.approx(cpu[1], abs=1e-3)


async def test_vllm_backend_on_cuda_matches_transformers(model_dir: Path) -> None:
    _require_cuda()
    pytest.importorskip("vllm", reason="needs the CUDA vllm wheel (extra `vllm`)")
    reference = await _greedy(
        TransformersConfig(model=str(model_dir), device="cuda", dtype="float32")
    )
    engine = await _greedy(
        VllmConfig(
            model=str(model_dir),
            device="cuda",
            dtype="float32",
            gpu_memory_utilization=0.3,
            max_model_len=2048,
        )
    )
    assert engine[0] == reference[0]
    assert engine[1] == pytest.approx(reference[1], abs=1e-2)
