"""Smoke test of benchmarks/model_throughput.py: both doors run on the simulator and report."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("aiohttp", reason="the HTTP front needs aiohttp (model-server extra)")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "model_throughput.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("model_throughput", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_benchmark_reports_grpc_and_http(capsys: pytest.CaptureFixture[str]) -> None:
    benchmark = _load()
    args = ["--requests", "6", "--concurrency", "2", "--n", "2", "--max-tokens", "4"]
    await benchmark.main(benchmark.parse_args([*args, "--distinct", "2"]))
    out = capsys.readouterr().out
    assert "model simulator" in out
    for door in ("grpc", "http"):
        assert f"via {door}: backend sim" in out, out
    assert len(re.findall(r"requests 6 x n=2", out)) == 2
    assert len(re.findall(r"latency p50/p99 +[0-9.]+ / [0-9.]+ s", out)) == 2
    # 2 distinct prompts asked 3 times each: at least 4 requests per door repeat a cached prompt.
    cached = [int(x) for x in re.findall(r"\((\d+) served from the prefix cache\)", out)]
    assert len(cached) == 2 and all(c > 0 for c in cached)
    assert all(float(x) > 0 for x in re.findall(r"tokens/s +([0-9.]+)", out))
