"""Strict-mode costs: the text filter per step and draft, and the sandbox per REPL start.

Run ``python benchmarks/strict_filter.py [--repeat 2000] [--starts 8]``. It prints:

(a) the strict filter (``harcopa.fps.strict_violation``) and the paper filter on a typical
    step (a commented ``have``), on a 20,000-character whole draft (the verifier's largest step)
    and on every formal statement of the local benchmarks (``../shared/benchmark``, when there):
    microseconds per call, and how many statements the strict filter refuses (it should be 0:
    statements are part of every checked file);
(b) the start of a lean-sim REPL (to ``ready.``) with ``network_isolation`` off and require, and
    with the other limits on: the sandbox's own cost, since lean-sim starts in about the same
    time whatever Lean would need.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harcopa.fps import find_banned, strict_violation
from harcopa_lean_verifier.backends.launcher import network_isolation_available
from harcopa_lean_verifier.backends.pantograph import Repl, ReplConfig
from harcopa_lean_verifier.backends.simulated import SimulatedConfig, simulator_executable

STEP = (
    "-- The sum of the first two terms is 3 + 4 = 7, so the answer is 7.\n"
    "have h₁ : answer = 7 := by\n  rw [h_answer]\n  norm_num [Nat.add_comm, «my lemma»] -- done\n"
)
BENCHMARKS = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmark"


def _micros(function: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat * 1e6


def _statements() -> list[str]:
    texts: list[str] = []
    for path in sorted(BENCHMARKS.glob("*.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            text = record.get("formal_statement") or record.get("formal_problem") or ""
            texts.append(str(record.get("header") or "") + "\n" + str(text))
    return texts


def filters(repeat: int) -> None:
    draft = (STEP * (20000 // len(STEP)))[:20000]
    print(f"{'text':<28}{'chars':>8}{'strict µs':>12}{'paper µs':>11}")
    for name, text, times in (("step", STEP, repeat), ("whole draft", draft, max(repeat // 50, 5))):
        strict = _micros(lambda t=text: strict_violation(t, allow_sorry=True), times)
        paper = _micros(lambda t=text: find_banned(t, allow_sorry=True, policy="paper"), times)
        print(f"{name:<28}{len(text):>8}{strict:>12.1f}{paper:>11.1f}")
    statements = _statements()
    if not statements:
        print(f"(no benchmark statements under {BENCHMARKS})")
        return
    started = time.perf_counter()
    refused = [s for s in statements if strict_violation(s, allow_sorry=True) is not None]
    each = (time.perf_counter() - started) / len(statements) * 1e6
    print(f"{'benchmark statements':<28}{len(statements):>8}{each:>12.1f}{'':>11}")
    print(f"statements the strict filter refuses: {len(refused)} of {len(statements)}")


async def _start_seconds(config: ReplConfig, starts: int) -> list[float]:
    seconds = []
    for _ in range(starts):
        repl = Repl(config)
        started = time.perf_counter()
        await repl.start()
        seconds.append(time.perf_counter() - started)
        await repl.close()
    return seconds


async def sandbox(starts: int) -> None:
    base = ReplConfig(executable=simulator_executable(SimulatedConfig()), ready_timeout_seconds=60)
    rows = [("no sandbox", dataclasses.replace(base, network_isolation="off"))]
    limits = {"max_cpu_seconds": 7200, "max_file_bytes": 64 << 20, "max_open_files": 65536}
    rows.append(("limits only", dataclasses.replace(rows[0][1], **limits)))  # type: ignore[arg-type]
    if network_isolation_available():
        isolated = dataclasses.replace(base, network_isolation="require", **limits)  # type: ignore[arg-type]
        rows.append(("limits + network namespace", isolated))
    else:
        print("(no network namespace on this machine: that row is left out)")
    await _start_seconds(rows[0][1], 2)  # warm the file cache before measuring
    print(f"\n{'lean-sim start':<28}{'p50 ms':>8}{'max ms':>9}")
    for name, config in rows:
        seconds = await _start_seconds(config, starts)
        print(f"{name:<28}{statistics.median(seconds) * 1e3:>8.1f}{max(seconds) * 1e3:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="filter calls per row")
    parser.add_argument("--starts", type=int, default=8, help="REPL starts per row")
    args = parser.parse_args()
    filters(args.repeat)
    asyncio.run(sandbox(args.starts))


if __name__ == "__main__":
    main()
