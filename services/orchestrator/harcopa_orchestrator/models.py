"""The models a run may use, as the operator configured them: names -> endpoints + credentials.

Used by the orchestrator's app (one registry per process) to validate a RunSpec at StartRun and
to build the Generators a run's problems share. A caller names a configured model; it never
chooses a secret, and it may name an endpoint directly only when the operator allows that
endpoint's host (``allowed_endpoint_hosts``) — such an endpoint gets no configured credential.
Credentials come from files (mounted secrets) or, for local use, from a named environment
variable of the operator's configuration, never from a run specification.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa.model_client import ModelClient
from harcopa.openai_client import OpenAIGenerator
from harcopa.protocols import Generator
from harcopa.settings import read_secret
from harcopa.tls import TlsClientConfig

logger = logging.getLogger(__name__)


class ModelEndpoint(BaseModel):
    """One configured model: where it is served and how to authenticate."""

    model_config = {"extra": "forbid"}

    target: str = Field(
        description="A ModelService (`host:port`, `dns:///name:port`) or the base URL of an "
        "OpenAI-compatible server (`http(s)://.../v1`)."
    )
    model: str = Field("", description="The model name sent to the endpoint (OpenAI servers).")
    token_file: Path | None = Field(None, description="File holding the ModelService token.")
    api_key_file: Path | None = Field(None, description="File holding the OpenAI API key.")
    api_key_env: str | None = Field(
        None, description="Environment variable of the orchestrator holding the API key."
    )
    tls_ca_file: Path | None = Field(
        None, description="PEM CA bundle to verify a ModelService's TLS certificate (TLS on)."
    )
    tls_cert_file: Path | None = Field(None, description="PEM client certificate (mTLS).")
    tls_key_file: Path | None = Field(None, description="PEM client key (mTLS).")
    timeout_seconds: float | None = Field(
        None, gt=0, description="Per-call deadline (None: no deadline beyond the run's)."
    )

    @property
    def is_openai(self) -> bool:
        return self.target.startswith(("http://", "https://"))

    @property
    def tls(self) -> TlsClientConfig | None:
        """TLS towards a ModelService when any TLS file is configured."""
        if not (self.tls_ca_file or self.tls_cert_file or self.tls_key_file):
            return None
        return TlsClientConfig(
            ca_file=self.tls_ca_file, cert_file=self.tls_cert_file, key_file=self.tls_key_file
        )


class ModelsConfig(BaseModel):
    """The models file: a default model name and the named models."""

    model_config = {"extra": "forbid"}

    default: str = Field("", description="The model used when a run names none.")
    models: dict[str, ModelEndpoint] = Field(default_factory=dict)


def load_models_file(path: Path) -> ModelsConfig:
    """Read a JSON or TOML models file; InvalidRequest with the reason when it is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        return ModelsConfig.model_validate(data)
    except (OSError, ValueError, ValidationError) as exc:
        raise InvalidRequest(f"cannot read the models file {path}: {exc}") from exc


def endpoint_host(endpoint: str) -> str:
    """The host name of an endpoint URL or ``host:port`` target (lower-case)."""
    if "://" in endpoint:
        return (urlsplit(endpoint).hostname or "").lower()
    rest = endpoint.removeprefix("dns:///")
    return rest.rsplit(":", 1)[0].strip("[]").lower()


class ModelRegistry:
    """One started Generator per configured model (or allowed endpoint), shared by every run."""

    def __init__(
        self,
        config: ModelsConfig,
        allowed_endpoint_hosts: tuple[str, ...] = (),
        *,
        factory: Callable[[ModelEndpoint, bool], Generator] | None = None,
    ) -> None:
        """``factory(endpoint, configured)`` builds an endpoint's (not started) Generator;
        default ``generator_for``."""
        self.config = config
        self._factory = factory or generator_for
        self.allowed_hosts = frozenset(h.lower() for h in allowed_endpoint_hosts)
        self._generators: dict[tuple[str, str, str], Generator] = {}
        #: Generators being started: the problems of a starting run all ask at once, and
        #: share one start (a failed start is forgotten, so the next asker tries again).
        self._starting: dict[tuple[str, str, str], asyncio.Task[Generator]] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self.config.models)

    def resolve(self, ref: d.ModelRef) -> tuple[str, ModelEndpoint]:
        """The (key, endpoint) a reference means; InvalidRequest naming the choices if none."""
        if ref.endpoint:
            if ref.name:
                raise InvalidRequest("a model reference names a model or an endpoint, not both")
            host = endpoint_host(ref.endpoint)
            if host not in self.allowed_hosts:
                raise InvalidRequest(
                    f"endpoint host {host!r} is not allowed by this orchestrator; name a configured"
                    f" model instead ({', '.join(self.names) or 'none configured'})"
                )
            return f"endpoint:{ref.endpoint}", ModelEndpoint(
                target=ref.endpoint, model=ref.endpoint_model
            )
        name = ref.name or self.config.default
        endpoint = self.config.models.get(name)
        if endpoint is None:
            known = ", ".join(self.names) or "none configured"
            what = f"model {name!r}" if name else "a default model"
            raise InvalidRequest(f"this orchestrator has no {what} (configured: {known})")
        return f"model:{name}", endpoint

    def model_name(self, ref: d.ModelRef) -> str:
        """The name ``ref``'s model is called by: the name sent to its endpoint, else the
        configured name (the reference's H-SA system prompt depends on it)."""
        key, endpoint = self.resolve(ref)
        return endpoint.model or key.split(":", 1)[1]

    def check(self, ref: d.ModelRef) -> None:
        """Raise InvalidRequest unless ``ref`` resolves (no connection is made)."""
        self.resolve(ref)

    async def prepare(self) -> None:
        """Load the HTTP client library (off the event loop) when a configured model or an
        allowed endpoint host speaks the OpenAI API: its import takes a few tenths of a second,
        which the first run's first model request would otherwise wait for. Never raises."""
        openai = bool(self.allowed_hosts) or any(m.is_openai for m in self.config.models.values())
        if openai:
            try:
                await asyncio.to_thread(importlib.import_module, "httpx")
            except ImportError as exc:  # the first OpenAI request will say so
                logger.warning("the OpenAI client library cannot be loaded: %s", exc)

    async def get(self, ref: d.ModelRef) -> Generator:
        key, endpoint = self.resolve(ref)
        cache_key = (key, endpoint.target, endpoint.model)
        generator = self._generators.get(cache_key)
        if generator is not None:
            return generator
        starting = self._starting.get(cache_key)
        if starting is None:
            built = self._factory(endpoint, key.startswith("model:"))
            starting = asyncio.create_task(self._start(cache_key, built), name=f"start {key}")
            self._starting[cache_key] = starting
        # A caller cancelled while it waits leaves the start running for the others.
        return await asyncio.shield(starting)

    async def _start(self, cache_key: tuple[str, str, str], generator: Generator) -> Generator:
        try:
            await generator.start()
            self._generators[cache_key] = generator
            return generator
        finally:
            self._starting.pop(cache_key, None)

    async def close(self) -> None:
        for task in list(self._starting.values()):
            task.cancel()
        await asyncio.gather(*self._starting.values(), return_exceptions=True)
        for generator in self._generators.values():
            await generator.close()
        self._generators.clear()


def generator_for(endpoint: ModelEndpoint, configured: bool) -> Generator:
    """A Generator for ``endpoint``; credentials only for configured models."""
    if endpoint.is_openai:
        key = None
        if configured:
            key = read_secret(endpoint.api_key_file)
            if key is None and endpoint.api_key_env:
                key = os.environ.get(endpoint.api_key_env) or None
        return OpenAIGenerator(endpoint.target, endpoint.model, api_key=key)
    token = read_secret(endpoint.token_file) if configured else None
    credentials = endpoint.tls.channel_credentials() if configured and endpoint.tls else None
    return ModelClient(
        endpoint.target,
        model=endpoint.model,
        token=token,
        timeout_seconds=endpoint.timeout_seconds,
        credentials=credentials,
    )
