"""Test harness for the verifier service: the real server on 127.0.0.1 port 0 over lean-sim.

Used by tests/service/test_verifier_*.py and tests/integration/test_conformance.py. The
VerifierService runs in-process with the ``sim`` backend (real client, pool, subprocesses and
gRPC); tests talk to it only through VerifierClient.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from harcopa.domain import FormalProblem
from harcopa.verifier_client import VerifierClient
from harcopa_lean_verifier.backends.simulated import SimulatedConfig
from harcopa_lean_verifier.server import build_runner
from harcopa_lean_verifier.settings import VerifierSettings


def sim_settings(scenario: Path | None = None, **overrides: Any) -> VerifierSettings:
    """Settings for a test server: port 0, no metrics port, small pool, short timeouts."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "metrics_enabled": False,
        "grace_seconds": 1.0,
        "replica_id": "test-replica",
        "backend": SimulatedConfig(scenario_path=scenario),
        "pool_size": 3,
        "acquire_timeout_seconds": 20.0,
        "ready_timeout_seconds": 30.0,
        "tactic_timeout_seconds": 10.0,
        "draft_timeout_seconds": 10.0,
        "file_timeout_seconds": 20.0,
    }
    values.update(overrides)
    return VerifierSettings(**values)


@contextlib.asynccontextmanager
async def running(settings: VerifierSettings) -> AsyncIterator[str]:
    """Start the verifier, yield its target, stop it afterwards."""
    runner = build_runner(settings)
    await runner.start()
    try:
        yield f"127.0.0.1:{runner.port}"
    finally:
        await runner.stop()


@contextlib.asynccontextmanager
async def serving(settings: VerifierSettings) -> AsyncIterator[VerifierClient]:
    """Start the verifier, yield a connected client, stop everything afterwards."""
    async with running(settings) as target:
        client = VerifierClient(target, timeout_seconds=60, retries=False)
        try:
            yield client
        finally:
            await client.close()


def problem(statement: str, header: str | None = None, index: int = 0) -> FormalProblem:
    """A hand-written problem with ``statement`` as its formal statement."""
    return FormalProblem(
        benchmark="handwritten", index=index, formal_statement=statement, header=header
    )


#: ``answer`` defined by a closed arithmetic expression; the ground truth is ``answer = 7``.
SIMPLE = (
    "example\n(answer : ℕ)\n  (h_answer : answer = 3 + 4) -- what is 3 + 4?\n: answer = 7\n:= sorry"
)
#: An intro before ``answer`` and two outros.
WITH_VARS = (
    "example\n(x : ℕ)\n(answer : ℕ)\n  (h₀ : x = 2)\n  (h_answer : answer = x + 5)\n"
    ": -- the answer is 7\nanswer = 7\n:= sorry"
)
