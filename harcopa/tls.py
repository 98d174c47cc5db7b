"""TLS and mutual TLS for every harcopa server and client, with certificates read from files.

Used by ``harcopa.serving`` (servers: ``ServiceSettings.tls``) and by the clients' channels
(the orchestrator's verifier and model clients, the CLI). A server with ``client_ca_file``
requires every client to present a certificate signed by that CA (mTLS). Files are read when
the server or channel is built, so a mounted Secret rotated before a restart takes effect.
"""

from __future__ import annotations

from pathlib import Path

import grpc
from pydantic import BaseModel, Field

from harcopa.errors import InvalidRequest


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read the {what} {path}: {exc}") from exc


class TlsServerConfig(BaseModel):
    """A server's certificate and key; with ``client_ca_file``, clients must present a
    certificate signed by that CA."""

    model_config = {"extra": "forbid"}

    cert_file: Path = Field(description="PEM certificate chain of the server.")
    key_file: Path = Field(description="PEM private key of the server.")
    client_ca_file: Path | None = Field(
        None, description="PEM CA bundle; when set, clients must authenticate (mTLS)."
    )

    def server_credentials(self) -> grpc.ServerCredentials:
        chain = _read(self.cert_file, "server certificate")
        key = _read(self.key_file, "server key")
        assert chain is not None and key is not None  # both paths are required fields
        client_ca = _read(self.client_ca_file, "client CA bundle")
        return grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
        )


class TlsClientConfig(BaseModel):
    """How a client verifies a server (``ca_file``) and, for mTLS, proves who it is."""

    model_config = {"extra": "forbid"}

    ca_file: Path | None = Field(
        None, description="PEM CA bundle the server's certificate must chain to (None: system)."
    )
    cert_file: Path | None = Field(None, description="PEM client certificate (mTLS).")
    key_file: Path | None = Field(None, description="PEM client private key (mTLS).")

    def channel_credentials(self) -> grpc.ChannelCredentials:
        if (self.cert_file is None) != (self.key_file is None):
            raise InvalidRequest(
                "a client certificate needs its key, and a key its certificate (cert_file and"
                " key_file)"
            )
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file, "CA bundle"),
            private_key=_read(self.key_file, "client key"),
            certificate_chain=_read(self.cert_file, "client certificate"),
        )
