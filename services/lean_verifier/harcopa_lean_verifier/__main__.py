"""Entry point of the lean_verifier service: ``python -m harcopa_lean_verifier``.

Reads ``HARCOPA_VERIFIER_*`` settings, configures logging and serves until SIGTERM.
"""

import os

# gRPC's fork handlers make REPL processes spawned while calls are in flight crash before
# `exec` (SIGSEGV in the child); REPL children never use gRPC. Must precede the grpc import.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import asyncio

from harcopa import logging as hlog
from harcopa_lean_verifier.server import main
from harcopa_lean_verifier.settings import VerifierSettings


def run() -> None:
    settings = VerifierSettings()
    hlog.configure("verifier", settings.log_level, settings.log_format)
    asyncio.run(main(settings))


if __name__ == "__main__":
    run()
