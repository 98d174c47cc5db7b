"""Certificates made with openssl for TLS and mutual-TLS tests: a CA, a server certificate and
a client certificate (skip the test with :data:`needs_openssl` where openssl is absent)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl is needed to make certificates"
)

#: Names the server certificate is valid for: the chart's Service names and loopback.
SERVER_NAMES = ("DNS:harcopa-verifier", "DNS:localhost", "IP:127.0.0.1")


def make_certificates(folder: Path, server_names: tuple[str, ...] = SERVER_NAMES) -> None:
    """ca.crt/.key, server.crt/.key (``server_names`` as subjectAltName) and client.crt/.key,
    the client certificate signed by the same CA, in ``folder``."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    for name, extension in (
        ("server", "subjectAltName=" + ",".join(server_names)),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
        (folder / f"{name}.ext").write_text(extension + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext",
            "-out", f"{name}.crt")  # fmt: skip
