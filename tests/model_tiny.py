"""Tiny random-weight causal LMs with a local tokenizer, and a model server on port 0, for tests.

Used by the model-server service tests and by ``scripts/test-vllm-cpu.sh``
(``python -m tests.model_tiny OUT_DIR``). Nothing is downloaded:
the tokenizer is character-level (every printable ASCII character is one token, so decoding and
re-encoding a generated text gives back the same token ids) and the weights are random.
"""

from __future__ import annotations

import contextlib
import string
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

#: ChatML, the layout SmolLM2 and Qwen2 checkpoints use.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def build_tokenizer(out_dir: Path) -> None:
    """Save a character-level fast tokenizer with ChatML special tokens into ``out_dir``."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    chars = sorted(set(string.printable) - set("\r\x0b\x0c"))
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    vocab.update({c: len(SPECIAL_TOKENS) + i for i, c in enumerate(chars)})
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<|endoftext|>"))
    core.decoder = decoders.Fuse()  # tokens are characters: join them with nothing between
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=None,
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(out_dir))


def build_tiny_model(out_dir: Path, *, seed: int = 0, layers: int = 2) -> Path:
    """Write a Llama-architecture model (head_dim 64, as vLLM's CPU kernels need) + tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir.mkdir(parents=True, exist_ok=True)
    build_tokenizer(out_dir)
    vocab_size = len(SPECIAL_TOKENS) + len(set(string.printable) - set("\r\x0b\x0c"))
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=64,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
        initializer_range=0.2,
        bos_token_id=None,
        eos_token_id=SPECIAL_TOKENS.index("<|im_end|>"),
        pad_token_id=SPECIAL_TOKENS.index("<|endoftext|>"),
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = config.eos_token_id
    model.save_pretrained(str(out_dir))
    return out_dir


class TinyReference:
    """The tiny model loaded directly (no server), to check what the server returns."""

    def __init__(self, model_dir: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir).eval()

    def prompt_ids(self, prompt: Any) -> list[int]:
        """Token ids of a domain Prompt as the server renders it (the checkpoint's template)."""
        if prompt.text is not None:
            return list(self.tokenizer(prompt.text)["input_ids"])
        chat = [{"role": m.role, "content": m.content} for m in prompt.messages]
        text = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def logits(self, prompt: Any, text: str) -> tuple[Any, list[int]]:
        """(float32 logits before each token of ``text``, those token ids) after ``prompt``."""
        import torch

        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        context = self.prompt_ids(prompt)
        with torch.inference_mode():
            out = self.model(torch.tensor([context + ids])).logits[0].float()
        return out[len(context) - 1 : len(context) - 1 + len(ids)], ids


@contextlib.asynccontextmanager
async def serve_model(backend: Any, generator: Any = None, **settings: Any) -> AsyncIterator[Any]:
    """A started model server on 127.0.0.1 port 0 (metrics off); yields its ServiceRunner."""
    from harcopa_model_server.server import build_runner
    from harcopa_model_server.settings import ModelSettings

    fields = {"port": 0, "metrics_enabled": False, "grace_seconds": 0.5, **settings}
    runner = build_runner(ModelSettings(backend=backend, **fields), generator)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


if __name__ == "__main__":
    print(build_tiny_model(Path(sys.argv[1])))
