"""Client credentials of the ``harcopa`` command line: TLS files and the bearer token, from flags
or from ``HARCOPA_CLIENT_*`` environment variables; used by ``health`` and the ``run`` commands.

Environment: ``HARCOPA_CLIENT_TOKEN_FILE`` (bearer token), ``HARCOPA_CLIENT_TLS__CA_FILE``,
``HARCOPA_CLIENT_TLS__CERT_FILE``, ``HARCOPA_CLIENT_TLS__KEY_FILE`` (the Helm chart's test hook
sets them from the release's Secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harcopa.errors import InvalidRequest

TOKEN_FILE = "HARCOPA_CLIENT_TOKEN_FILE"
CA_FILE = "HARCOPA_CLIENT_TLS__CA_FILE"
CERT_FILE = "HARCOPA_CLIENT_TLS__CERT_FILE"
KEY_FILE = "HARCOPA_CLIENT_TLS__KEY_FILE"


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InvalidRequest(f"cannot read {what} {path}: {error.strerror}") from error


def channel_credentials(ca: str | None, cert: str | None, key: str | None) -> Any:
    """``grpc.ChannelCredentials`` for TLS (mutual when cert and key are given), or None."""
    if not ca:
        return None
    if bool(cert) != bool(key):
        raise InvalidRequest("a client certificate needs its key, and a key its certificate")
    import grpc

    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca, "CA bundle"),
        private_key=_read(key, "client key") if key else None,
        certificate_chain=_read(cert, "client certificate") if cert else None,
    )


def from_env() -> tuple[str | None, Any]:
    """(bearer token or None, channel credentials or None) from ``HARCOPA_CLIENT_*``."""
    token_file = os.environ.get(TOKEN_FILE)
    token = _read(token_file, "token file").decode().strip() if token_file else None
    credentials = channel_credentials(
        os.environ.get(CA_FILE), os.environ.get(CERT_FILE), os.environ.get(KEY_FILE)
    )
    return token or None, credentials
