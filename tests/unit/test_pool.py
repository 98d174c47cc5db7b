"""Unit tests of the REPL pool's logic, with in-memory stand-in processes as the factory.

One module for one class (pool.py): acquire, recycle, eviction, reservations, parallel and
partial warm-up share the same fakes, hence its length.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from harcopa.errors import BackendCrashed, BackendUnavailable, DeadlineExceeded, Overloaded
from harcopa_lean_verifier.backends.pantograph import ReplConfig
from harcopa_lean_verifier.pool import PoolConfig, ReplPool
from harcopa_lean_verifier.starts import CEILING_FACTOR, StartGate

_ids = itertools.count()


class StandInRepl:
    """Behaves like a Repl towards the pool: start, kill, close, alive, uses, rss."""

    def __init__(self, config: ReplConfig, *, start_seconds: float = 0.0, fail: bool = False):
        self.config = config
        self.incarnation = f"stand-in-{next(_ids)}"
        self.alive = False
        self.uses = 0
        self.rss = 0
        self.cpu: float | None = None
        self.last_failure: str | None = None
        self.stderr_noise = False
        self.closed = False
        self._start_seconds = start_seconds
        self._fail = fail

    async def start(self) -> None:
        await asyncio.sleep(self._start_seconds)
        if self._fail:
            raise BackendUnavailable("stand-in start failure")
        self.alive = True

    def kill(self, reason: str | None = None) -> None:
        if reason is not None and self.last_failure is None:
            self.last_failure = reason
        self.alive = False

    async def close(self) -> None:
        self.kill()
        self.closed = True

    async def rss_bytes(self) -> int:
        return self.rss

    async def cpu_seconds(self) -> float | None:
        return self.cpu  # None: unknown, so the start counts as CPU-bound throughout


class Factory:
    """Makes stand-ins and remembers them; ``fail``/``start_seconds`` apply to new ones."""

    def __init__(self) -> None:
        self.made: list[StandInRepl] = []
        self.fail = False
        self.start_seconds = 0.0
        #: Start durations of the next stand-ins, in order (then ``start_seconds``).
        self.delays: list[float] = []

    def __call__(self, config: ReplConfig) -> StandInRepl:
        seconds = self.delays.pop(0) if self.delays else self.start_seconds
        repl = StandInRepl(config, start_seconds=seconds, fail=self.fail)
        self.made.append(repl)
        return repl

    def live(self) -> list[StandInRepl]:
        return [r for r in self.made if r.alive]


def restarts(reason: str) -> float:
    value = REGISTRY.get_sample_value("harcopa_verifier_repl_restarts_total", {"reason": reason})
    return value or 0.0


def make_pool(factory: Factory, **overrides: Any) -> ReplPool:
    config = PoolConfig(**{"size": 2, "acquire_timeout_seconds": 0.3, **overrides})
    repl_config = ReplConfig(
        executable=Path("stand-in"),
        imports=("Mathlib",),
        options=("a=1",),
        hard_ceiling_seconds=7.0,
    )
    return ReplPool(config, repl_config, repl_factory=factory)


async def settle(pool: ReplPool) -> None:
    """Let background reaps and refills finish."""
    for _ in range(200):
        await asyncio.sleep(0.005)
        if not pool.starting_count:
            return


async def test_start_warms_size_and_lease_reuses_processes() -> None:
    factory = Factory()
    pool = make_pool(factory)
    await pool.start()
    assert pool.idle_count == 2 and len(factory.made) == 2
    async with pool.lease() as first:
        assert first.config.imports == ("Mathlib",) and first.config.options == ("a=1",)
        assert first.config.hard_ceiling_seconds == 7.0  # the launch description is kept
        assert pool.busy_count == 1
    async with pool.lease() as second:
        assert second is first  # the most recently used process is reused
    assert len(factory.made) == 2
    await pool.close()
    assert all(r.closed for r in factory.made)


async def test_acquire_times_out_with_overloaded_and_counts_waiters() -> None:
    factory = Factory()
    pool = make_pool(factory, size=1)
    await pool.start()
    held = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    assert REGISTRY.get_sample_value("harcopa_verifier_queue_depth") == 1
    with pytest.raises(Overloaded):
        await waiter
    assert REGISTRY.get_sample_value("harcopa_verifier_queue_depth") == 0
    await pool.release(held, destroy=False)
    await pool.close()


async def test_waiter_gets_the_released_process() -> None:
    factory = Factory()
    pool = make_pool(factory, size=1, acquire_timeout_seconds=5)
    await pool.start()
    held = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.02)
    assert not waiter.done()
    await pool.release(held, destroy=False)
    assert await asyncio.wait_for(waiter, 1) is held
    await pool.release(held, destroy=False)
    await pool.close()


@pytest.mark.parametrize(
    ("error", "reason"),
    [(DeadlineExceeded("slow"), "timeout"), (BackendCrashed("gone"), "crash")],
)
async def test_failed_call_destroys_and_refills(error: Exception, reason: str) -> None:
    factory = Factory()
    pool = make_pool(factory)
    await pool.start()
    before = restarts(reason)
    with pytest.raises(type(error)):
        async with pool.lease() as repl:
            repl.kill(reason)  # a real Repl kills itself before raising
            raise error
    assert repl.last_failure == reason
    await settle(pool)
    assert repl.closed and restarts(reason) == before + 1
    assert pool.idle_count == 2 and len(factory.made) == 3
    await pool.close()


async def test_cancelled_body_destroys_the_process() -> None:
    factory = Factory()
    pool = make_pool(factory)
    await pool.start()
    entered = asyncio.Event()
    seen: list[StandInRepl] = []
    before = restarts("cancelled")

    async def body() -> None:
        async with pool.lease() as repl:
            seen.append(repl)
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(body())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle(pool)
    assert seen[0].closed and seen[0].last_failure == "cancelled"
    assert restarts("cancelled") == before + 1 and pool.idle_count == 2
    await pool.close()


async def test_other_errors_return_a_live_process() -> None:
    factory = Factory()
    pool = make_pool(factory)
    await pool.start()
    with pytest.raises(ValueError):
        async with pool.lease():
            raise ValueError("not a process problem")
    assert pool.idle_count == 2 and len(factory.made) == 2
    await pool.close()


@pytest.mark.parametrize("reason", ["max_uses", "rss", "stderr"])
async def test_recycle_after_normal_use(reason: str) -> None:
    factory = Factory()
    pool = make_pool(factory, max_uses=3, max_rss_bytes=1000)
    await pool.start()
    before = restarts(reason)
    async with pool.lease() as repl:
        if reason == "max_uses":
            repl.uses = 3
        elif reason == "rss":
            repl.rss = 1001
        else:
            repl.stderr_noise = True
    await settle(pool)
    assert repl.closed and restarts(reason) == before + 1
    assert pool.idle_count == 2 and len(factory.made) == 3
    await pool.close()


async def test_process_that_died_while_idle_is_skipped() -> None:
    factory = Factory()
    pool = make_pool(factory)
    await pool.start()
    for repl in factory.made:
        repl.alive = False
    async with pool.lease() as fresh:
        assert fresh not in factory.made[:2] and fresh.alive
    await settle(pool)
    assert all(r.closed for r in factory.made[:2])
    await pool.close()


async def test_other_key_evicts_the_longest_idle_process() -> None:
    factory = Factory()
    pool = make_pool(factory)
    await pool.start()
    async with pool.lease() as a, pool.lease() as b:
        assert {a, b} == set(factory.made)
    oldest = b  # the inner lease ends first, so b has been idle longest
    key = (("Mathlib",), ("a=1", "pp.explicit=true"))
    async with pool.lease(key) as other:
        assert other.config.options == key[1]
        assert pool.total == 2
    await settle(pool)
    assert oldest.closed and not a.closed
    async with pool.lease(key) as again:
        assert again is other
    await pool.close()


async def test_start_fails_only_when_no_process_starts() -> None:
    factory = Factory()
    factory.fail = True
    pool = make_pool(factory)
    with pytest.raises(BackendUnavailable):
        await pool.start()
    assert pool.total == 0
    await pool.close()


async def test_spawn_failure_on_acquire_frees_the_slot() -> None:
    factory = Factory()
    pool = make_pool(factory, size=1)
    factory.fail = True
    with pytest.raises(BackendUnavailable):
        await pool.acquire()
    assert pool.total == 0
    factory.fail = False
    repl = await pool.acquire()
    assert repl.alive
    await pool.release(repl, destroy=True)
    await pool.close()


async def test_close_wakes_waiters_and_kills_everything() -> None:
    factory = Factory()
    pool = make_pool(factory, size=1, acquire_timeout_seconds=5)
    await pool.start()
    held = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.02)
    await pool.close()
    with pytest.raises(BackendUnavailable):
        await asyncio.wait_for(waiter, 1)
    assert held.closed and not factory.live()
    await pool.release(held, destroy=False)  # a late release is harmless
    with pytest.raises(BackendUnavailable):
        await pool.acquire()


async def test_close_stops_a_process_that_is_starting() -> None:
    factory = Factory()
    factory.start_seconds = 5
    pool = make_pool(factory, size=1)
    starting = asyncio.create_task(pool.start())
    await asyncio.sleep(0.05)
    assert pool.starting_count == 1
    await pool.close()
    starting.cancel()
    with pytest.raises((asyncio.CancelledError, BackendUnavailable)):
        await starting
    assert not factory.live()


def test_pool_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        PoolConfig(size=0)


async def test_cancelled_start_keeps_the_processes_that_did_start() -> None:
    factory = Factory()
    factory.delays = [0.0, 5.0]
    pool = make_pool(factory, size=2)
    starting = asyncio.create_task(pool.start())
    await asyncio.sleep(0.05)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert pool.idle_count == 1 and pool.starting_count == 0
    await pool.close()
    assert not factory.live() and factory.made[0].closed


async def test_reserved_key_is_warmed_and_never_evicted() -> None:
    factory = Factory()
    pool = make_pool(factory, size=3)
    parse_key = (("Mathlib",), ("a=1", "pp.explicit=true"))
    pool.reserve(parse_key, 1)
    with pytest.raises(ValueError):
        pool.reserve(parse_key, 3)  # nothing would be left for the default key
    await pool.start()
    assert sorted(r.config.options for r in factory.made) == [
        ("a=1",),
        ("a=1",),
        ("a=1", "pp.explicit=true"),
    ]
    async with pool.lease(parse_key) as parser:
        assert parser.config.options == parse_key[1]
    # The default key is saturated: a third default acquire waits rather than evict the parser.
    async with pool.lease(), pool.lease():
        with pytest.raises(Overloaded):
            await pool.acquire()
    assert not parser.closed
    async with pool.lease(parse_key) as again:
        assert again is parser  # still warm
    await pool.close()


async def test_sessions_never_pin_the_last_checking_process() -> None:
    factory = Factory()
    pool = make_pool(factory, size=3)
    parsing = (("Mathlib",), ("pp.explicit=true",))
    await pool.start()
    assert pool.session_capacity == 2
    first = await pool.acquire(pin=True)
    second = await pool.acquire(pin=True)
    assert pool.pinned_count == 2
    with pytest.raises(Overloaded, match="session"):
        await pool.acquire(pin=True)  # a third session would starve RPE and CheckFile
    async with pool.lease() as checker:  # a check still gets a process
        assert checker not in (first, second)
    async with pool.lease(parsing) as parser:  # and so does the parse pass (evicting, here)
        assert parser.alive
    await pool.release(first, destroy=False)
    third = await pool.acquire(pin=True)  # a freed session slot is reused
    assert pool.pinned_count == 2
    for repl in (second, third):
        await pool.release(repl, destroy=False)
    assert pool.pinned_count == 0
    await pool.close()


async def test_a_waiting_session_gets_the_slot_a_closing_one_frees() -> None:
    factory = Factory()
    pool = make_pool(factory, size=2, acquire_timeout_seconds=5.0)
    await pool.start()
    held = await pool.acquire(pin=True)
    waiter = asyncio.create_task(pool.acquire(pin=True))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await pool.release(held, destroy=False)
    second = await asyncio.wait_for(waiter, 1.0)
    assert pool.pinned_count == 1
    await pool.release(second, destroy=False)
    await pool.close()


async def test_rss_sampler_kills_a_process_that_grew_while_held() -> None:
    factory = Factory()
    pool = make_pool(factory, size=2, max_rss_bytes=1000, rss_sample_seconds=0.05)
    await pool.start()
    held = await pool.acquire(pin=True)
    before = restarts("rss")
    held.rss = 5000  # grows while a session holds it
    for _ in range(40):
        if not held.alive:
            break
        await asyncio.sleep(0.05)
    assert not held.alive and held.last_failure == "rss"
    await pool.release(held, destroy=False)
    assert restarts("rss") == before + 1
    assert pool.pinned_count == 0
    await pool.close()


def test_reservations_leave_a_session_and_a_checking_process() -> None:
    pool = make_pool(Factory(), size=3)
    with pytest.raises(ValueError):
        pool.reserve((("Mathlib",), ("x",)), 2)
    pool.reserve((("Mathlib",), ("x",)), 1)
    assert pool.session_capacity == 1


class GatedFactory(Factory):
    """Stand-ins whose start waits on ``gate``; ``starting`` counts starts in progress; ``cpu``
    is what their CPU time reads (None: unknown)."""

    def __init__(self, cpu: float | None = None) -> None:
        super().__init__()
        self.cpu = cpu
        self.gate = asyncio.Event()
        self.starting = 0
        self.most_starting = 0

    def __call__(self, config: ReplConfig) -> StandInRepl:
        repl = super().__call__(config)
        repl.cpu = self.cpu
        plain_start = repl.start

        async def gated_start() -> None:
            self.starting += 1
            self.most_starting = max(self.most_starting, self.starting)
            try:
                await self.gate.wait()
                await plain_start()
            finally:
                self.starting -= 1

        repl.start = gated_start  # type: ignore[method-assign]
        return repl


async def test_starts_run_in_parallel_up_to_the_limit() -> None:
    factory = GatedFactory()
    pool = make_pool(factory, size=6, max_parallel_starts=3)
    starting = asyncio.create_task(pool.start())
    for _ in range(20):
        await asyncio.sleep(0)
    assert factory.starting == 3 and pool.starting_count == 6 and pool.warm_count == 0
    factory.gate.set()
    await starting
    assert factory.most_starting == 3 and pool.warm_count == 6 and pool.starts == 6
    await pool.close()


async def test_starts_that_use_no_cpu_do_not_hold_the_others_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(StartGate, "SAMPLE_SECONDS", 0.02)
    factory = GatedFactory(cpu=0.0)  # each start only waits (as lean-sim's sleep does)
    pool = make_pool(factory, size=12, max_parallel_starts=2)
    starting = asyncio.create_task(pool.start())
    for _ in range(50):
        await asyncio.sleep(0.01)
    # Past the 2 CPU-bound starts, up to the ceiling: 4 x 2 at once.
    assert factory.starting == CEILING_FACTOR * 2, factory.starting
    factory.gate.set()
    await starting
    assert factory.most_starting == 8 and pool.warm_count == 12
    await pool.close()


def test_parallel_starts_default_to_the_core_count() -> None:
    assert PoolConfig().max_parallel_starts == (os.cpu_count() or 1)


async def test_partial_start_returns_once_the_reservation_and_one_process_are_warm() -> None:
    factory = Factory()
    factory.delays = [0.0, 0.0, 30.0, 30.0]  # the parse process, one session process, two slow
    pool = make_pool(factory, size=4)
    parse_key = (("Mathlib",), ("a=1", "pp=1"))
    pool.reserve(parse_key, 1)
    await asyncio.wait_for(pool.start(wait_all=False), 10)
    assert pool.warm_count == 2 and pool.starting_count == 2
    assert pool.idle_count == 2
    async with pool.lease(parse_key) as parser, pool.lease() as checker:
        assert parser.config.options == ("a=1", "pp=1") and checker.config.options == ("a=1",)
    await pool.close()
    assert all(r.closed or not r.alive for r in factory.made)


async def test_the_parse_pass_waits_for_its_own_process_instead_of_evicting() -> None:
    factory = Factory()
    pool = make_pool(factory, size=4, acquire_timeout_seconds=5)
    parse_key = (("Mathlib",), ("a=1", "pp=1"))
    pool.reserve(parse_key, 1)
    await pool.start()
    sessions = [await pool.acquire(pin=True) for _ in range(pool.session_capacity)]
    first = await pool.acquire(parse_key)
    second = asyncio.create_task(pool.acquire(parse_key))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not second.done()  # the idle checking process is not evicted for it
    await pool.release(first, destroy=False)
    assert await asyncio.wait_for(second, 5) is first
    assert pool.evictions == 0 and len(factory.made) == 4 and len(factory.live()) == 4
    await pool.release(first, destroy=False)
    for repl in sessions:
        await pool.release(repl, destroy=False)
    await pool.close()


async def test_a_new_key_takes_a_free_slot_without_evicting() -> None:
    factory = Factory()
    pool = make_pool(factory, size=3)
    await pool.start()
    factory.fail = True  # the replacement of the destroyed process fails: a slot stays free
    held = await pool.acquire()
    await pool.release(held, destroy=True)
    await settle(pool)
    assert pool.total == 2
    factory.fail = False
    other = (("Mathlib",), ("b=2",))
    async with pool.lease(other) as repl:
        assert repl.config.options == ("b=2",)
    assert pool.evictions == 0 and pool.idle_count == 3
    async with pool.lease((("Mathlib",), ("c=3",))):
        pass
    assert pool.evictions == 1  # now the pool was full
    await pool.close()


async def test_sessions_spread_over_the_processes_then_share_them() -> None:
    factory = Factory()
    pool = make_pool(factory, size=3, sessions_per_process=2)
    await pool.start()
    assert (pool.process_capacity, pool.session_capacity) == (2, 4)
    first = await pool.acquire(pin=True)
    second = await pool.acquire(pin=True)
    assert first is not second  # an idle process before a shared one
    third = await pool.acquire(pin=True)
    fourth = await pool.acquire(pin=True)
    assert {third, fourth} == {first, second}  # then each takes a second session
    assert (pool.pinned_count, pool.session_count) == (2, 4)
    assert pool.turn(first) is pool.turn(third if third is first else fourth)  # one per process
    with pytest.raises(Overloaded, match="4 sessions"):
        await pool.acquire(pin=True)  # full: the checking process stays free
    async with pool.lease() as checker:
        assert checker not in (first, second)
    await pool.release(first, destroy=False)  # one of its two sessions leaves
    assert pool.busy_count == 2 and pool.idle_count == 1  # the process stays with the other
    fifth = await pool.acquire(pin=True)  # the freed share is taken again
    assert fifth is first
    for repl in (first, fifth, second, second):
        await pool.release(repl, destroy=False)
    assert (pool.pinned_count, pool.session_count, pool.idle_count) == (0, 0, 3)
    await pool.close()


async def test_a_process_lost_by_one_session_is_lost_by_its_siblings_and_replaced() -> None:
    factory = Factory()
    pool = make_pool(factory, size=2, sessions_per_process=2)
    await pool.start()
    one = await pool.acquire(pin=True)
    two = await pool.acquire(pin=True)
    assert one is two
    await pool.release(one, destroy=True)  # e.g. a call of one session timed out
    assert not two.alive  # its sibling finds the process gone
    await pool.release(two, destroy=True)  # and gives it back harmlessly
    await settle(pool)
    assert (pool.pinned_count, pool.session_count, pool.total) == (0, 0, 2)
    fresh = await pool.acquire(pin=True)
    assert fresh is not one and fresh.alive
    await pool.release(fresh, destroy=False)
    await pool.close()


async def test_a_used_up_process_takes_no_new_session_and_is_recycled_after_its_last() -> None:
    factory = Factory()
    pool = make_pool(factory, size=3, sessions_per_process=2, max_uses=10)
    await pool.start()
    first = await pool.acquire(pin=True)
    second = await pool.acquire(pin=True)
    first.uses = 10  # served its max_uses while its session ran
    third = await pool.acquire(pin=True)
    assert third is second  # the used-up process drains
    await pool.release(first, destroy=False)
    await settle(pool)
    assert first.closed and pool.total == 3  # recycled and replaced
    for repl in (second, third):
        await pool.release(repl, destroy=False)
    await pool.close()


async def test_a_session_shares_a_warm_process_rather_than_wait_for_a_start() -> None:
    factory = Factory()
    factory.delays = [0.0, 2.0, 2.0]  # the others are slow to start
    pool = make_pool(factory, size=3, sessions_per_process=2, acquire_timeout_seconds=0.5)
    await pool.start(wait_all=False)
    one = await pool.acquire(pin=True)
    two = await pool.acquire(pin=True)  # no idle process: joins the warm one at once
    assert one is two and pool.session_count == 2
    for repl in (one, two):
        await pool.release(repl, destroy=False)
    await pool.close()


def test_sessions_per_process_must_be_positive() -> None:
    with pytest.raises(ValueError, match="sessions_per_process"):
        PoolConfig(sessions_per_process=0)
