"""Settings shared by every service (ports, limits, logging); each service subclasses them.

Parsed once at the edge (``__main__``) from ``HARCOPA_<SERVICE>_*`` environment variables and
passed down explicitly; there is no module-level instance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from harcopa.tls import TlsServerConfig


class ServiceSettings(BaseSettings):
    """Common server settings. Subclasses set ``model_config`` with their own env prefix."""

    model_config = SettingsConfigDict(env_prefix="HARCOPA_", env_nested_delimiter="__")

    host: str = Field("127.0.0.1", description="Address the gRPC server binds to.")
    port: int = Field(50051, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(
        8000, ge=0, le=65535, description="Prometheus HTTP port; 0 picks one, -1 is not allowed."
    )
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics over HTTP.")
    grace_seconds: float = Field(
        10.0, ge=0, description="On SIGTERM, in-flight calls get this long before cancellation."
    )
    max_message_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest gRPC request or response accepted."
    )
    max_concurrent_rpcs: int | None = Field(
        None, ge=1, description="Calls beyond this many in flight are rejected (None: no cap)."
    )
    log_level: str = Field("INFO", description="Root log level.")
    log_format: Literal["text", "json"] = Field(
        "text", description="Human-readable text locally, JSON lines in the cluster."
    )
    auth_token: str | None = Field(
        None, description="When set, callers must send `authorization: Bearer <token>`."
    )
    auth_token_file: Path | None = Field(
        None, description="File holding the bearer token (a mounted Secret); wins over auth_token."
    )
    metrics_auth: bool = Field(
        False, description="The metrics endpoint requires the same bearer token (off by default)."
    )
    tls: TlsServerConfig | None = Field(
        None,
        description="Serve TLS with this certificate and key; with client_ca_file, clients must "
        "present a certificate signed by that CA (mTLS). None: plaintext.",
    )

    def token(self) -> str | None:
        """The bearer token callers must send (from ``auth_token_file`` first), or None."""
        return read_secret(self.auth_token_file) or self.auth_token


def read_secret(path: Path | None) -> str | None:
    """The stripped contents of a credential file (a mounted Secret); None without a path.

    A missing or unreadable file is bad configuration: InvalidRequest with the path.
    """
    from harcopa.errors import InvalidRequest

    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InvalidRequest(f"cannot read the credential file {path}: {exc}") from exc
