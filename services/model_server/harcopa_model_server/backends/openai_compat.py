"""The openai backend: forwards Generate to an OpenAI-compatible endpoint (e.g. `vllm serve`).

Built by ``build_generator`` for ``kind: openai``; the HTTP client itself is
:class:`harcopa.openai_client.OpenAIGenerator`, shared with the orchestrator.

Processed log-probabilities (paper mode) depend on the endpoint: a vLLM server returns them only
when started with ``--logprobs-mode processed_logprobs`` (vLLM >= 0.10.2), e.g.
``python -m vllm.entrypoints.openai.api_server --model CKPT --enable-prefix-caching
--logprobs-mode processed_logprobs``. Such a server cannot say which kind it sent, so the first
request for processed ones logs a warning; a harcopa model server's HTTP front echoes the mode
and is checked (see ``harcopa.openai_client``).
"""

from __future__ import annotations

import os
from functools import partial
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from harcopa.openai_client import OpenAIGenerator
from harcopa_model_server.templates import load_template, render_chat


class OpenAIConfig(BaseModel):
    """Forward requests to an OpenAI-compatible HTTP endpoint."""

    kind: Literal["openai"] = "openai"
    base_url: str = Field("http://127.0.0.1:8000/v1", description="Endpoint base URL (…/v1).")
    model: str = Field("default", description="Model name on the endpoint.")
    api_key: SecretStr | None = Field(None, description="Bearer key (wins over api_key_env).")
    api_key_env: str | None = Field(
        "OPENAI_API_KEY", description="Environment variable holding the key, when api_key is unset."
    )
    api: Literal["chat", "completions"] = Field(
        "chat", description="Send chat prompts to the chat API, or render them and use completions."
    )
    template: str | None = Field(
        None,
        description="Render chat prompts ourselves (`xtuner-default` or a Jinja file) and send "
        "them to the completions API.",
    )
    eos_token: str = Field("", description="EOS text used by `template` after assistant turns.")
    timeout_seconds: float = Field(3600.0, gt=0, description="Read timeout of one request.")
    connect_timeout_seconds: float = Field(10.0, gt=0, description="Connect timeout.")
    max_retries: int = Field(4, ge=0, description="Retries on 429, 5xx and connection failures.")
    backoff_seconds: float = Field(0.5, ge=0, description="First retry delay; doubles each time.")
    backoff_max_seconds: float = Field(30.0, ge=0, description="Longest retry delay.")
    max_connections: int = Field(64, ge=1, description="HTTP connections kept to the endpoint.")


def build_openai(config: OpenAIConfig) -> OpenAIGenerator:
    key = config.api_key.get_secret_value() if config.api_key else None
    if key is None and config.api_key_env:
        key = os.environ.get(config.api_key_env) or None
    source = load_template(config.template)
    render = partial(render_chat, source=source, eos_token=config.eos_token) if source else None
    return OpenAIGenerator(
        config.base_url,
        config.model,
        api_key=key,
        api="completions" if render else config.api,
        render=render,
        timeout_seconds=config.timeout_seconds,
        connect_timeout_seconds=config.connect_timeout_seconds,
        max_retries=config.max_retries,
        backoff_seconds=config.backoff_seconds,
        backoff_max_seconds=config.backoff_max_seconds,
        max_connections=config.max_connections,
    )
