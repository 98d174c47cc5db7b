"""Training layouts: SFT records as token ids with a completion mask (loss on outputs only).

Called by ``harcopa_trainer.train``. A record becomes the chat ``[system, user]`` + the
assistant's output, rendered with the layout's Jinja chat template: ``xtuner-default`` (the
reference's ``<|System|>:...\n<|User|>:...\n<|Bot|>:`` + output + EOS, harcopa.chat_layouts)
or ``chat-template`` (the tokenizer's own). The prompt and the completion are tokenized
separately, as the model server tokenizes a prompt and the model then writes the completion,
so training sees exactly the served token sequence; only completion tokens carry loss. The
layout is saved into the checkpoints as their chat template, so the model server renders
prompts the way the model was trained without any override.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harcopa.chat_layouts import NAMED_LAYOUTS
from harcopa.errors import InvalidRequest
from harcopa_trainer.data import SftRecord


def install_layout(tokenizer: Any, layout: str) -> None:
    """Make ``layout`` the tokenizer's chat template (``chat-template`` keeps its own)."""
    if layout in NAMED_LAYOUTS:
        if tokenizer.eos_token is None:
            raise InvalidRequest(
                f"layout {layout} ends every output with EOS: the tokenizer has none"
            )
        tokenizer.chat_template = NAMED_LAYOUTS[layout]
    elif not getattr(tokenizer, "chat_template", None):
        raise InvalidRequest("layout chat-template: the tokenizer has no chat template")


def _messages(record: SftRecord) -> list[dict[str, str]]:
    messages = [{"role": "user", "content": record.input}]
    if record.system:
        messages.insert(0, {"role": "system", "content": record.system})
    return messages


def encode(tokenizer: Any, record: SftRecord) -> dict[str, list[int]]:
    """``input_ids`` of prompt + completion and ``completion_mask`` (1 on completion tokens)."""
    messages = _messages(record)
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": record.output}], tokenize=False
    )
    if not full.startswith(prompt):
        raise InvalidRequest(
            f"{record.source}: the chat template renders the prompt differently with the answer"
        )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    return {
        "input_ids": [*prompt_ids, *completion_ids],
        "completion_mask": [0] * len(prompt_ids) + [1] * len(completion_ids),
    }


def tokenized(tokenizer: Any, records: Iterable[SftRecord], max_length: int | None) -> Any:
    """A ``datasets.Dataset`` of encoded records; a record longer than ``max_length`` tokens is
    bad input (packing would cut it and train on a truncated output)."""
    from datasets import Dataset

    rows: dict[str, list[list[int]]] = {"input_ids": [], "completion_mask": []}
    for record in records:
        row = encode(tokenizer, record)
        if max_length is not None and len(row["input_ids"]) > max_length:
            raise InvalidRequest(
                f"{record.source}: {len(row['input_ids'])} tokens exceed max_length {max_length}"
            )
        rows["input_ids"].append(row["input_ids"])
        rows["completion_mask"].append(row["completion_mask"])
    if not rows["input_ids"]:
        raise InvalidRequest("the data files hold no SFT record")
    return Dataset.from_dict(rows)
