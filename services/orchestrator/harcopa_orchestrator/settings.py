"""Orchestrator settings, parsed once from ``HARCOPA_ORCHESTRATOR_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from harcopa.settings import ServiceSettings
from harcopa.tls import TlsClientConfig
from harcopa_orchestrator.models import ModelEndpoint
from harcopa_orchestrator.training_manifests import KubernetesConfig


class OrchestratorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HARCOPA_ORCHESTRATOR_", env_nested_delimiter="__")

    port: int = Field(50050, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(8002, ge=0, le=65535, description="Prometheus HTTP port.")
    store_path: Path = Field(
        Path("runs/harcopa.sqlite"), description="SQLite run store (WAL mode; put it on a volume)."
    )
    benchmark_root: Path = Field(
        Path("benchmark"), description="Folder with the benchmark JSON files."
    )
    verifier_target: str = Field(
        "127.0.0.1:50051",
        description="VerifierService address; `dns:///name:port` resolves every replica.",
    )
    verifier_token: str | None = Field(None, description="Bearer token for the verifier.")
    verifier_token_file: Path | None = Field(
        None, description="File holding the verifier's bearer token (wins over verifier_token)."
    )
    verifier_tls: TlsClientConfig | None = Field(
        None, description="TLS (and mTLS) towards the verifier; None: plaintext."
    )
    models_file: Path | None = Field(
        None,
        description="JSON or TOML file naming the models runs may use: "
        '{"default": NAME, "models": {NAME: {"target": ..., "token_file": ...}}}.',
    )
    models: dict[str, ModelEndpoint] = Field(
        default_factory=dict, description="Models configured inline (merged over models_file)."
    )
    default_model: str = Field("", description="Overrides the models file's default model.")
    allowed_endpoint_hosts: tuple[str, ...] = Field(
        (),
        description="Hosts a run may name as a model endpoint directly (no credential is ever "
        "sent to them); empty: only configured models.",
    )
    templates_path: Path | None = Field(
        None, description="Prompt template TOML (default: the packaged templates)."
    )
    max_active_runs: int = Field(8, ge=1, description="Runs executing at once.")
    max_active_runs_per_caller: int = Field(
        4,
        ge=1,
        description="Runs one caller (client certificate, else peer host) may have executing.",
    )
    max_problems_in_flight: int = Field(
        32, ge=1, description="Problems in flight across all runs (each holds a verifier session)."
    )
    max_model_requests: int = Field(
        64, ge=1, description="Model requests in flight across all runs and problems."
    )
    max_verifier_sessions: int = Field(
        32,
        ge=1,
        description="Verifier sessions open at once across all runs; lowered to what the "
        "verifier can hold (its Describe session capacity) while it reports less.",
    )
    problem_retries: int = Field(
        2,
        ge=0,
        le=20,
        description="Times a problem that errored (infrastructure failure) is retried before "
        "the run ends incomplete with it listed.",
    )
    retry_backoff_seconds: float = Field(
        5.0, ge=0, description="Wait before the first retry of an errored problem (doubles)."
    )
    resume_on_start: bool = Field(
        True, description="Resume the runs that were pending or running when the last stopped."
    )
    interrupt_runs_on_shutdown: bool = Field(
        False,
        description="Mark running runs interrupted on shutdown (a local evaluation) instead of "
        "leaving them running for the next process to resume (a cluster service).",
    )
    kubernetes: KubernetesConfig = Field(
        default_factory=KubernetesConfig,
        description="Training Jobs of CoPA cycles on this cluster (StartTraining, GetTraining).",
    )
