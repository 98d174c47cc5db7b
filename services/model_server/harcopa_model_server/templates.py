"""Chat templates: the checkpoint's own, a named layout (harcopa.chat_layouts), or a Jinja file.

Every backend that renders chat messages itself (transformers, vllm, openai in completions mode)
calls :func:`load_template` once at start and :func:`render_chat` per request. ``None`` means
"use the checkpoint's own template" (the tokenizer's ``chat_template``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from harcopa.chat_layouts import NAMED_LAYOUTS
from harcopa.domain import ChatMessage
from harcopa.errors import InvalidRequest

NAMED_TEMPLATES: dict[str, str] = NAMED_LAYOUTS


def load_template(spec: str | None) -> str | None:
    """Jinja source for ``spec``: None (checkpoint's own), a named template, or a file path."""
    if spec is None or spec in ("", "checkpoint"):
        return None
    if spec in NAMED_TEMPLATES:
        return NAMED_TEMPLATES[spec]
    path = Path(spec)
    if not path.is_file():
        raise ValueError(
            f"chat template {spec!r} is neither a named template "
            f"({', '.join(sorted(NAMED_TEMPLATES))}) nor a readable file"
        )
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=16)
def _compile(source: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message: str) -> None:
        raise InvalidRequest(f"chat template rejected the conversation: {message}")

    env.globals["raise_exception"] = raise_exception
    return env.from_string(source)


def render_chat(
    messages: Sequence[ChatMessage],
    source: str,
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """Render ``messages`` with the Jinja template ``source`` (HF chat-template variables)."""
    template = _compile(source)
    return str(
        template.render(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
        )
    )


def chat_prompt_text(tokenizer: Any, messages: Sequence[ChatMessage], source: str | None) -> str:
    """The prompt text of a chat: the override template ``source`` when given, else the
    tokenizer's own chat template; InvalidRequest when the checkpoint has none."""
    if source is not None:
        return render_chat(
            messages,
            source,
            bos_token=tokenizer.bos_token or "",
            eos_token=tokenizer.eos_token or "",
        )
    if getattr(tokenizer, "chat_template", None):
        rows = [{"role": m.role, "content": m.content} for m in messages]
        return str(tokenizer.apply_chat_template(rows, add_generation_prompt=True, tokenize=False))
    raise InvalidRequest("the checkpoint has no chat template: send text or set one")
