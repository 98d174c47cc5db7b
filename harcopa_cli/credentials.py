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

from harcopa.settings import read_secret
from harcopa.tls import TlsClientConfig

TOKEN_FILE = "HARCOPA_CLIENT_TOKEN_FILE"
CA_FILE = "HARCOPA_CLIENT_TLS__CA_FILE"
CERT_FILE = "HARCOPA_CLIENT_TLS__CERT_FILE"
KEY_FILE = "HARCOPA_CLIENT_TLS__KEY_FILE"


def channel_credentials(ca: str | None, cert: str | None, key: str | None) -> Any:
    """``grpc.ChannelCredentials`` for TLS (mutual when cert and key are given), or None
    (plaintext) without a CA bundle."""
    if not ca:
        return None
    config = TlsClientConfig(
        ca_file=Path(ca),
        cert_file=Path(cert) if cert else None,
        key_file=Path(key) if key else None,
    )
    return config.channel_credentials()


def from_env() -> tuple[str | None, Any]:
    """(bearer token or None, channel credentials or None) from ``HARCOPA_CLIENT_*``."""
    token_file = os.environ.get(TOKEN_FILE)
    token = read_secret(Path(token_file)) if token_file else None
    credentials = channel_credentials(
        os.environ.get(CA_FILE), os.environ.get(CERT_FILE), os.environ.get(KEY_FILE)
    )
    return token or None, credentials
