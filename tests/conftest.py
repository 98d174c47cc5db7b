"""Shared pytest fixtures: paths to the repository, the benchmark data and requirement skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Test servers spawn REPL subprocesses while gRPC threads run; gRPC's fork handlers crash such
# children before exec (SIGSEGV). Must be set before grpc is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARK_ROOT = Path(
    os.environ.get("HARCOPA_BENCHMARK_ROOT", REPO_ROOT.parent / "shared" / "benchmark")
)


def require_benchmarks() -> Path:
    """Skip (with the reason) when the benchmark folder beside the checkout is absent."""
    if not (BENCHMARK_ROOT / "formal_math500.json").exists():
        pytest.skip(f"benchmark data not found at {BENCHMARK_ROOT} (set HARCOPA_BENCHMARK_ROOT)")
    return BENCHMARK_ROOT


@pytest.fixture
def benchmark_root() -> Path:
    return require_benchmarks()
