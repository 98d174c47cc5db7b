"""Settings of the model_server service (env prefix ``HARCOPA_MODEL_``); parsed in __main__.

The backend is a discriminated union on ``kind`` (``transformers``, ``openai``, ``sim``,
``vllm``); nested fields use ``__``, e.g. ``HARCOPA_MODEL_BACKEND__KIND=sim`` and
``HARCOPA_MODEL_BACKEND__SCENARIO_PATH=scenario.json``. ``HARCOPA_MODEL_HTTP_PORT`` turns on the
OpenAI-compatible HTTP front beside gRPC (off by default).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from harcopa.settings import ServiceSettings
from harcopa_model_server.backends import BackendConfig, SimulatedConfig

SERVICE_NAME = "harcopa.v1.ModelService"


class RequestLimits(BaseModel):
    """Bounds every Generate request must respect (INVALID_ARGUMENT otherwise)."""

    max_n: int = Field(64, ge=1, description="Most samples per request.")
    max_tokens: int = Field(8192, ge=1, description="Largest max_tokens a request may ask for.")
    max_prompt_chars: int = Field(
        1_000_000, ge=1, description="Longest prompt accepted, in characters (all messages)."
    )
    max_stop_strings: int = Field(16, ge=0, description="Most stop strings per request.")


class ModelSettings(ServiceSettings):
    """Everything the model server reads at start; durations in seconds."""

    model_config = SettingsConfigDict(env_prefix="HARCOPA_MODEL_", env_nested_delimiter="__")

    port: int = Field(50052, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(8001, ge=0, le=65535, description="Prometheus HTTP port.")
    backend: BackendConfig = Field(
        default_factory=SimulatedConfig,
        description="Which backend generates: transformers, openai, sim (simulator) or vllm.",
    )
    limits: RequestLimits = Field(default_factory=RequestLimits, description="Request bounds.")
    max_pending_requests: int = Field(
        1024, ge=1, description="Requests admitted at once; more get RESOURCE_EXHAUSTED."
    )
    default_timeout_seconds: float | None = Field(
        None, gt=0, description="Time limit of a request whose caller set no deadline."
    )
    http_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port of the OpenAI-compatible HTTP front (/v1/...) on `host`; None turns "
        "it off, 0 picks a free port.",
    )
    http_max_request_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest HTTP request body accepted (413 above)."
    )
    http_logprobs_mode: Literal["raw", "processed"] = Field(
        "raw",
        description="Log-probabilities of HTTP requests without a `logprobs_mode` field: `raw` "
        "(the model's distribution) or `processed` (after temperature and top_p, paper mode).",
    )
