"""The fault table: one HAR run per fault scenario on the simulated stack, each compared with the
fault-free run of the same seed (same problems, same decisions?).

Usage: python benchmarks/fault_table.py [--gap-seconds 30] [--workdir DIR]

Every service runs as a real process (benchmarks/fault_stack.py): lean-sim as the verifier's
REPLs (a simulator of Pantograph, not Lean) and the model simulator. Prints one row per
scenario: solved, errored and retried problems, sessions lost, the run's status, whether its
decisions equal the fault-free run's, and its wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.fault_stack import Stack
from harcopa import domain as d

Scenario = Callable[[Stack, float], Awaitable[tuple[str, d.Run]]]


async def _follow(stack: Stack, run_id: str) -> d.Run:
    async with stack.client() as client:
        async for event in client.watch(run_id):
            if event.status.finished:
                break
        return await client.get_run(run_id)


async def _started(stack: Stack, done: int) -> str:
    """Start the run and return its id once ``done`` problems have a final result."""
    async with stack.client() as client:
        run_id = await client.start_run(stack.spec())
        async for event in client.watch(run_id):
            if event.progress.problems_done >= done or event.status.finished:
                return run_id
    return run_id


async def fault_free(stack: Stack, gap: float) -> tuple[str, d.Run]:
    run_id = await _started(stack, 0)
    return run_id, await _follow(stack, run_id)


def restart(name: str) -> Scenario:
    async def scenario(stack: Stack, gap: float) -> tuple[str, d.Run]:
        run_id = await _started(stack, 1)
        stack.kill(name)
        await asyncio.sleep(gap)
        await stack.start(name)
        return run_id, await _follow(stack, run_id)

    return scenario


async def transient_crashes(stack: Stack, gap: float) -> tuple[str, d.Run]:
    return await fault_free(stack, gap)


async def persistent_fault_then_resume(stack: Stack, gap: float) -> tuple[str, d.Run]:
    run_id = await _started(stack, 0)
    first = await _follow(stack, run_id)
    print(
        f"  (before resuming: {first.status.value}, errored {first.progress.problems_errored}:"
        f" {', '.join(first.errored_problems)})"
    )
    stack.kill("verifier")
    stack.write_lean_faults({})
    await stack.start("verifier")
    async with stack.client() as client:
        await client.resume_run(run_id)
    return run_id, await _follow(stack, run_id)


def _scenarios(root: Path) -> list[tuple[str, Scenario, dict[str, Any], dict[str, str]]]:
    crashes = {
        "crash_after_requests": 7,
        "fault_limit": 12,
        "fault_count_file": str(root / "crashes"),
    }
    return [
        ("fault-free", fault_free, {}, {}),
        ("verifier kill -9, back after GAP", restart("verifier"), {}, {}),
        ("model server kill -9, back after GAP", restart("model"), {}, {}),
        ("orchestrator kill -9, restarted after GAP", restart("orchestrator"), {}, {}),
        ("lean-sim: REPLs die every 7 requests (12 times)", transient_crashes, crashes, {}),
        (
            "lean-sim: `simp` always kills Lean, then fixed + resume",
            persistent_fault_then_resume,
            {"crash_on_tactic": "^simp$"},
            {"PROBLEM_RETRIES": "1"},
        ),
    ]


async def main(gap: float, workdir: Path) -> None:
    reference: dict[str, Any] | None = None
    print(f"{'scenario':<58} {'status':<11} solved errored retried lost same? wall s")
    for index, (name, scenario, faults, env) in enumerate(_scenarios(workdir)):
        stack = Stack(workdir / f"s{index}", lean_faults=faults, orchestrator_env=env)
        await stack.start()
        started = time.monotonic()
        try:
            run_id, run = await scenario(stack, gap)
            outcomes = await stack.outcomes(run_id)
        finally:
            await stack.stop()
        reference = reference if reference is not None else outcomes
        p = run.progress
        same = "yes" if outcomes == reference else "NO"
        label = name.replace("GAP", f"{gap:g} s")
        wall = time.monotonic() - started
        print(
            f"{label:<58} {run.status.value:<11} {p.problems_solved:>6} {p.problems_errored:>7}"
            f" {p.problems_retried:>7} {p.sessions_lost:>4} {same:>5} {wall:>6.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gap-seconds", type=float, default=30.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="harcopa-faults-"))
    asyncio.run(main(args.gap_seconds, root))
