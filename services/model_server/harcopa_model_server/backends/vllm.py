"""The vllm backend: vLLM's in-process async engine with prefix caching, on CUDA, NPU or CPU.

Built by ``build_generator`` for ``kind: vllm``; vllm is imported only in ``start()``. The
engine batches concurrent requests itself (continuous batching); ``n`` samples of a request
share one prefill through ``SamplingParams(n=...)``. Prompts are rendered and tokenized here
(checkpoint chat template, ``xtuner-default`` or a Jinja file) and sent as token ids.
Log-probabilities: vLLM chooses them per engine, not per request (``logprobs_mode``:
``raw_logprobs``, the model's distribution, or ``processed_logprobs``, after temperature and
top-p, what vLLM 0.7.3's engine V0 returned and the paper's NALP priorities use). One engine
serves one mode, so ``VllmConfig.logprobs_mode`` picks it (``processed`` for paper mode) and a
request that wants log-probabilities in the other mode is refused with INVALID_ARGUMENT naming
the setting, rather than answered with the wrong quantity (loading a second engine would double
the device memory). Engines older than the option report what their sampler returns: processed
before vLLM 0.8 (engine V0 and the first V1 sampler), raw from 0.8 on. The accelerator comes
from vLLM's platform detection: CUDA, CPU, or Ascend NPUs through the vllm-ascend platform
plugin; ``device`` checks that the detected platform is the one configured.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import re
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from harcopa.domain import (
    Completion,
    FinishReason,
    Generation,
    LogprobsMode,
    Prompt,
    SamplingParams,
    TokenUsage,
)
from harcopa.errors import BackendUnavailable, InvalidRequest
from harcopa_model_server.templates import chat_prompt_text, load_template

logger = logging.getLogger(__name__)


class VllmConfig(BaseModel):
    """Serve a checkpoint with vLLM's async engine in this process."""

    kind: Literal["vllm"] = "vllm"
    model: str = Field(..., description="Checkpoint folder (or a hub id where a hub is reachable).")
    tokenizer: str | None = Field(None, description="Tokenizer folder (default: the model's).")
    served_model_name: str | None = Field(None, description="Model name reported in responses.")
    device: Literal["auto", "cuda", "npu", "cpu"] = Field(
        "auto", description="Expected accelerator; vLLM's platform detection must agree."
    )
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "bfloat16", description="Weight and activation dtype."
    )
    tensor_parallel_size: int = Field(1, ge=1, description="Devices one replica spans.")
    gpu_memory_utilization: float = Field(
        0.9, gt=0, le=1, description="Share of device memory vLLM may take."
    )
    max_model_len: int | None = Field(None, ge=16, description="Context size in tokens.")
    max_num_seqs: int | None = Field(None, ge=1, description="Sequences decoded at once.")
    enable_prefix_caching: bool = Field(True, description="Reuse KV blocks of shared prefixes.")
    enforce_eager: bool = Field(False, description="Disable CUDA graphs / compilation.")
    logprobs_mode: Literal["raw", "processed"] = Field(
        "raw",
        description="Log-probabilities the engine returns: `raw` (the model's distribution) or "
        "`processed` (after temperature and top_p, as vLLM 0.7.3 engine V0; paper mode).",
    )
    seed: int = Field(0, description="Engine seed (requests carry their own seeds too).")
    template: str | None = Field(
        None, description="Chat template: None (the checkpoint's), `xtuner-default`, or a file."
    )
    trust_remote_code: bool = Field(False, description="Allow code shipped with the checkpoint.")
    engine_args: dict[str, Any] = Field(
        default_factory=dict, description="Further AsyncEngineArgs fields, passed as they are."
    )


def _engine_args(config: VllmConfig, fields: set[str]) -> dict[str, Any]:
    args: dict[str, Any] = {
        "model": config.model,
        "tokenizer": config.tokenizer,
        "dtype": config.dtype,
        "tensor_parallel_size": config.tensor_parallel_size,
        "gpu_memory_utilization": config.gpu_memory_utilization,
        "max_model_len": config.max_model_len,
        "enable_prefix_caching": config.enable_prefix_caching,
        "enforce_eager": config.enforce_eager,
        "seed": config.seed,
        "trust_remote_code": config.trust_remote_code,
        "logprobs_mode": f"{config.logprobs_mode}_logprobs",
        "disable_log_stats": False,
    }
    if config.max_num_seqs is not None:
        args["max_num_seqs"] = config.max_num_seqs
    if config.served_model_name:
        args["served_model_name"] = config.served_model_name
    args.update(config.engine_args)
    # Older engines lack some fields (e.g. logprobs_mode); pass only what this one knows.
    return {k: v for k, v in args.items() if k in fields and v is not None}


def engine_logprobs_mode(config: VllmConfig, fields: set[str], version: str) -> LogprobsMode:
    """The log-probabilities an engine with these AsyncEngineArgs ``fields`` returns."""
    if "logprobs_mode" in fields:
        return LogprobsMode(config.logprobs_mode)
    found = re.match(r"(\d+)\.(\d+)", version)
    release = (int(found[1]), int(found[2])) if found else (0, 0)
    return LogprobsMode.PROCESSED if release < (0, 8) else LogprobsMode.RAW


class VllmGenerator:
    """Generator over an in-process vLLM engine."""

    backend = "vllm"

    def __init__(self, config: VllmConfig) -> None:
        self.config = config
        self.model_name = config.served_model_name or Path(config.model).name
        self._template = load_template(config.template)
        self._engine: Any = None
        self._tokenizer: Any = None
        self._vllm: Any = None
        self.logprobs_mode = LogprobsMode(config.logprobs_mode)

    async def start(self) -> None:
        import vllm
        from vllm.platforms import current_platform

        try:
            from vllm.v1.engine.async_llm import AsyncLLM as Engine
        except ImportError:  # engines before the v1 rewrite
            from vllm import AsyncLLMEngine as Engine

        detected = str(getattr(current_platform, "device_type", "") or "")
        if self.config.device != "auto" and detected != self.config.device:
            raise BackendUnavailable(
                f"vLLM detected platform {detected!r}, configured device {self.config.device!r}"
            )
        fields = {f.name for f in dataclasses.fields(vllm.AsyncEngineArgs)}
        args = vllm.AsyncEngineArgs(**_engine_args(self.config, fields))
        self.logprobs_mode = engine_logprobs_mode(self.config, fields, vllm.__version__)
        if self.logprobs_mode.value != self.config.logprobs_mode:
            logger.warning(
                "vLLM %s has no logprobs_mode option: its log-probabilities are %s, not %s",
                vllm.__version__,
                self.logprobs_mode.value,
                self.config.logprobs_mode,
            )
        started = time.perf_counter()
        self._vllm = vllm
        self._engine = Engine.from_engine_args(args)
        tokenizer = self._engine.get_tokenizer()
        self._tokenizer = await tokenizer if inspect.isawaitable(tokenizer) else tokenizer
        logger.info(
            "vLLM %s engine for %s on %s ready in %.1f s (%s log-probabilities)",
            vllm.__version__,
            self.model_name,
            detected,
            time.perf_counter() - started,
            self.logprobs_mode.value,
        )

    async def close(self) -> None:
        if self._engine is not None:
            self._engine.shutdown()
            self._engine = None

    def encode(self, prompt: Prompt) -> list[int]:
        tok = self._tokenizer
        if prompt.text is not None:
            return list(tok.encode(prompt.text))
        text = chat_prompt_text(tok, prompt.messages, self._template)
        return list(tok.encode(text, add_special_tokens=False))

    def _sampling(self, params: SamplingParams) -> Any:
        kwargs: dict[str, Any] = {
            "n": params.n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "stop": list(params.stop) or None,
            "seed": params.seed,
            "logprobs": 1 if params.logprobs else None,
        }
        from vllm.sampling_params import RequestOutputKind

        kwargs["output_kind"] = RequestOutputKind.FINAL_ONLY
        return self._vllm.SamplingParams(**kwargs)

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        if self._engine is None:
            raise BackendUnavailable("the vllm backend is not started")
        if params.logprobs and params.logprobs_mode is not self.logprobs_mode:
            raise InvalidRequest(
                f"this vLLM engine returns {self.logprobs_mode.value} log-probabilities, not "
                f"{params.logprobs_mode.value}: serve the model with "
                f"HARCOPA_MODEL_BACKEND__LOGPROBS_MODE={params.logprobs_mode.value}"
            )
        started = time.perf_counter()
        ids = self.encode(prompt)
        request = self._vllm.TokensPrompt(prompt_token_ids=ids)
        final = None
        async for output in self._engine.generate(
            request, self._sampling(params), uuid.uuid4().hex
        ):
            final = output
        if final is None:
            raise BackendUnavailable("the vLLM engine returned no output")
        completions = tuple(_completion(o, params) for o in sorted(final.outputs, key=_index))
        usage = TokenUsage(
            prompt_tokens=len(ids),
            completion_tokens=sum(c.num_tokens for c in completions),
            cached_prompt_tokens=int(getattr(final, "num_cached_tokens", 0) or 0),
        )
        return Generation(completions, usage, self.model_name, time.perf_counter() - started)


def _index(output: Any) -> int:
    return int(output.index)


def _completion(output: Any, params: SamplingParams) -> Completion:
    token_ids = list(output.token_ids)
    logprobs: tuple[float, ...] = ()
    if params.logprobs and output.logprobs is not None:
        logprobs = tuple(
            float(position[token].logprob)
            for token, position in zip(token_ids, output.logprobs, strict=False)
        )
    finish = FinishReason.of_openai(output.finish_reason)
    return Completion(output.text, finish, logprobs, num_tokens=len(token_ids))
