"""Fault tests: the real client and pool driving lean-sim processes with injected faults.

Each fault (crash mid-call, hang past the timeout, garbage output, slow or failed start, memory
cap, client cancellation) must raise the right exception, replace the process, leave the pool
healthy, and leave no process behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from prometheus_client import REGISTRY

from harcopa.errors import BackendCrashed, BackendUnavailable, DeadlineExceeded
from harcopa_lean_verifier.backends.pantograph import Repl, ReplConfig
from harcopa_lean_verifier.backends.simulated import SimulatedConfig, simulator_executable
from harcopa_lean_verifier.pool import PoolConfig, ReplPool
from tests.processes import gone, wait_until

STATEMENT = "example (a b : Nat) (h : a = b) : a = b := sorry"
PoolMaker = Callable[..., ReplPool]


@pytest.fixture(autouse=True)
async def no_leftover_processes() -> AsyncIterator[None]:
    """Fail a test that leaves a child process behind (and stop those children)."""
    yield
    await wait_until(lambda: not psutil.Process().children(recursive=True), 3)
    leftovers = psutil.Process().children(recursive=True)
    for process in leftovers:
        process.kill()
    assert leftovers == []


@pytest.fixture
async def make_pool(tmp_path: Path) -> AsyncIterator[PoolMaker]:
    """Builds pools of lean-sim processes with the given faults; closes them at teardown."""
    pools: list[ReplPool] = []

    def make(faults: dict[str, Any] | None = None, **overrides: Any) -> ReplPool:
        scenario = tmp_path / f"scenario-{len(pools)}.json"
        scenario.write_text(json.dumps({"faults": faults or {}}))
        repl_overrides = {
            k: overrides.pop(k)
            for k in ("max_memory_bytes", "ready_timeout_seconds")
            if k in overrides
        }
        repl_config = ReplConfig(
            executable=simulator_executable(SimulatedConfig()),
            env={"LEAN_SIM_SCENARIO": str(scenario)},
            **{"ready_timeout_seconds": 20.0, **repl_overrides},
        )
        pool = ReplPool(PoolConfig(**{"size": 2, **overrides}), repl_config)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()


def restarts(reason: str) -> float:
    value = REGISTRY.get_sample_value("harcopa_verifier_repl_restarts_total", {"reason": reason})
    return value or 0.0


async def goal_state(repl: Repl) -> int:
    units = await repl.frontend_process(STATEMENT, sorrys=True, timeout_seconds=10)
    return int(units[0]["goalStateId"])


async def assert_healthy(pool: ReplPool) -> None:
    """The pool refilled to its size and a fresh lease proves a goal."""
    await wait_until(lambda: pool.idle_count == pool.config.size, 10)
    assert pool.idle_count == pool.config.size
    async with pool.lease() as repl:
        state = await goal_state(repl)
        reply = await repl.goal_tactic(state, 0, tactic="exact h", timeout_seconds=10)
        assert reply["goals"] == []


async def test_simulator_replies_through_the_pty_but_not_through_a_pipe() -> None:
    """lean-sim, like Pantograph v0.2.25, never flushes: a pipe would hold even `ready.`."""
    executable = simulator_executable(SimulatedConfig())
    piped = await asyncio.create_subprocess_exec(
        str(executable), "Mathlib", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert piped.stdin is not None and piped.stdout is not None
    piped.stdin.write(b"stat {}\n")
    await piped.stdin.drain()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):
            await piped.stdout.readline()
    piped.kill()
    await piped.wait()

    repl = Repl(ReplConfig(executable=executable, ready_timeout_seconds=20))
    await repl.start()
    assert (await repl.stat(timeout_seconds=5))["nGoals"] == 0
    await repl.close()


async def test_crash_mid_call(make_pool: PoolMaker) -> None:
    pool = make_pool({"crash_on_tactic": "crash_now"})
    await pool.start()
    before = restarts("crash")
    with pytest.raises(BackendCrashed, match="fault injection: crash") as caught:
        async with pool.lease() as repl:
            await repl.goal_tactic(await goal_state(repl), 0, tactic="crash_now", timeout_seconds=5)
    assert "exit code 134" in str(caught.value)
    assert restarts("crash") == before + 1 and not repl.alive
    await assert_healthy(pool)


async def test_hang_past_the_timeout(make_pool: PoolMaker) -> None:
    pool = make_pool({"hang_on_tactic": "spin"})
    await pool.start()
    before = restarts("timeout")
    began = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        async with pool.lease() as repl:
            await repl.goal_tactic(await goal_state(repl), 0, tactic="spin", timeout_seconds=0.3)
    assert time.monotonic() - began < 5
    assert restarts("timeout") == before + 1
    await assert_healthy(pool)


async def test_garbage_output(make_pool: PoolMaker) -> None:
    pool = make_pool({"garbage_on_tactic": "junk"})
    await pool.start()
    with pytest.raises(BackendCrashed, match="garbage"):
        async with pool.lease() as repl:
            await repl.goal_tactic(await goal_state(repl), 0, tactic="junk", timeout_seconds=5)
    await assert_healthy(pool)


async def test_slow_start_hits_the_ready_timeout(make_pool: PoolMaker) -> None:
    pool = make_pool({"ready_delay_seconds": 30}, ready_timeout_seconds=0.5)
    began = time.monotonic()
    with pytest.raises(BackendUnavailable, match="ready"):
        await pool.start()
    assert time.monotonic() - began < 5 and pool.total == 0


async def test_failed_start_reports_stderr(make_pool: PoolMaker) -> None:
    pool = make_pool({"fail_ready": True})
    with pytest.raises(BackendUnavailable, match="unknown module prefix"):
        await pool.start()
    with pytest.raises(BackendUnavailable, match=r"before `ready\.`"):
        await pool.acquire()
    assert pool.total == 0


async def test_address_space_cap_crashes_as_oom(make_pool: PoolMaker) -> None:
    pool = make_pool({"memory_growth_bytes_per_request": 50 << 20}, max_memory_bytes=300 << 20)
    await pool.start()
    before = restarts("oom")
    with pytest.raises(BackendCrashed, match="MemoryError"):
        async with pool.lease() as repl:
            for _ in range(10):
                await repl.stat(timeout_seconds=5)
    assert restarts("oom") == before + 1


async def test_rss_limit_recycles_the_process(make_pool: PoolMaker) -> None:
    pool = make_pool({"memory_growth_bytes_per_request": 20 << 20}, size=1, max_rss_bytes=120 << 20)
    await pool.start()
    before = restarts("rss")
    incarnations = set()
    for _ in range(8):
        async with pool.lease() as repl:
            incarnations.add(repl.incarnation)
            await repl.stat(timeout_seconds=5)
    assert restarts("rss") >= before + 1 and len(incarnations) >= 2
    await assert_healthy(pool)


async def test_client_cancellation_destroys_the_process(make_pool: PoolMaker) -> None:
    pool = make_pool({"hang_on_tactic": "spin"})
    await pool.start()
    before = restarts("cancelled")
    busy = asyncio.Event()

    async def call() -> None:
        async with pool.lease() as repl:
            state = await goal_state(repl)
            busy.set()
            await repl.goal_tactic(state, 0, tactic="spin", timeout_seconds=60)

    task = asyncio.create_task(call())
    await busy.wait()
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert restarts("cancelled") == before + 1
    await assert_healthy(pool)


async def test_process_killed_while_idle_is_replaced(make_pool: PoolMaker) -> None:
    pool = make_pool(size=1)
    await pool.start()
    async with pool.lease() as first:
        pass
    os.killpg(first.pid, signal.SIGKILL)
    await wait_until(lambda: not first.alive, 5)
    async with pool.lease() as second:
        assert second is not first and second.alive
    await assert_healthy(pool)


async def test_max_uses_recycles_real_processes(make_pool: PoolMaker) -> None:
    pool = make_pool(size=1, max_uses=3)
    await pool.start()
    async with pool.lease() as first:
        for _ in range(3):
            await first.stat(timeout_seconds=5)
    async with pool.lease() as second:
        assert second.incarnation != first.incarnation and second.pid != first.pid
    assert gone(first.pid)
