"""Smoke test of benchmarks/verifier_throughput.py: every path runs (the bare stream floors'
servers in their own processes) and the report has every row."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import psutil
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "verifier_throughput.py"


def load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verifier_throughput", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_benchmark_reports_direct_and_grpc_rows(capsys: pytest.CaptureFixture[str]) -> None:
    benchmark = load_benchmark()
    assert (
        benchmark.main(["--calls", "5", "--warmup", "1", "--concurrency", "2", "--in-process"]) == 0
    )
    out = capsys.readouterr().out
    assert "simulator" in out
    labels = (
        "(a) direct",
        "(b) gRPC RunTactic, stream",
        "(b) gRPC RunTactic, unary",
        "(c) gRPC Describe",
        "(d) bare gRPC stream",
        "(e) bare stream + REPL",
    )
    for label in labels:
        assert sum(line.startswith(label) for line in out.splitlines()) == 2, out
    # The bare stream's server runs in its own process: its CPU per call is measured (in clock
    # ticks, so five calls may read 0); the in-process server's is not.
    # The last two columns: the server's CPU per call, this process's.
    lines = out.splitlines()
    floors = [line for line in lines if line.startswith(("(d) bare", "(e) bare"))]
    assert len(floors) == 4 and all(float(line.split()[-2]) >= 0 for line in floors)
    assert all(line.split()[-2] == "-" for line in lines if line.startswith("(b) gRPC"))
    assert all(float(line.split()[-1]) >= 0 for line in lines if line.startswith("(b) gRPC"))
    assert out.count("stream (b - a)") == 2
    assert out.count("unary (b - a)") == 2
    assert out.count("transport (c)") == out.count("ours (b - a - c)") == 2  # unary rows
    assert out.count("transport (d)") == out.count("ours (b - a - d)") == 2  # stream rows
    # and the stream's overhead without any of our code, from the REPL floor (e)
    assert (
        out.count("without any of our code (e - a)") == out.count("ours beyond that (b - e)") == 2
    )


def test_the_echo_server_dies_with_the_benchmark() -> None:
    # A benchmark killed outright (SIGKILL, no cleanup) must not leave its floor server behind.
    launcher = (
        "import os, subprocess, sys, time\n"
        f"server = subprocess.Popen([sys.executable, {str(SCRIPT)!r}, '--echo-server', '0'],"
        " env={**os.environ, 'HARCOPA_PARENT_PID': str(os.getpid())})\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        server = psutil.Process(int(parent.stdout.readline()))
        time.sleep(1.5)  # past its start: the tie is in place
        assert server.is_running()
    finally:
        parent.kill()
        parent.wait()
    server.wait(timeout=30)  # psutil.TimeoutExpired if it outlived its parent


async def test_the_repl_floor_runs_the_tactic_on_its_own_simulator() -> None:
    # (e)'s server answers each message only after its REPL call succeeded on a real simulator
    # process it started for the stream (a failed start or call ends the stream, and the read
    # raises here); its CPU is measured (in clock ticks: three calls may read 0).
    benchmark = load_benchmark()
    row = await benchmark.bare_stream(1, 3, 1, with_repl=True)
    assert row.path.startswith("(e)") and len(row.latencies) == 3
    assert row.server_cpu_seconds is not None and row.server_cpu_seconds >= 0
