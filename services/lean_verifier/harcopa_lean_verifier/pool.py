"""A bounded pool of warm REPL processes keyed by (imports, options); used by the FPS operations.

Mechanics (STYLE.md §5, verifier-anchors.md §2.2 and §10): at most ``size`` processes over all
keys; ``reserve(key, n)`` sets aside ``n`` of them for another key (e.g. the explicit-printing
parse pass), which are warmed at start and never evicted; ``start()`` warms the reserved
processes and the rest for the default key, at most ``max_parallel_starts`` CPU-bound ones at
once (default: the core count; starts that only wait, on the disk or in a simulator, do not
count, up to ``starts.CEILING_FACTOR`` times that in all), and with
``wait_all=False`` returns as soon as the reserved processes and one default-key process are
warm (the rest warm in the background; ``warm_count`` says how many are). ``acquire`` takes an
idle process of the key, else spawns one in a free slot, else evicts the longest-idle process
of another key (beyond that key's reservation), else waits at most ``acquire_timeout_seconds``
(then Overloaded). A key with a reservation (the parse pass) evicts nothing while its
reservation is met: it waits for its own processes, so parsing a new problem never costs a
session's warm process. A process goes
back idle after use unless it must be destroyed: it died, a call timed out or was cancelled, it
served ``max_uses`` requests, its process tree passed ``max_rss_bytes``, or it wrote to stderr.
Every destroyed process is replaced in the background so the pool refills.

Admission (no deadlock): a session pins its process for its whole life (``acquire(pin=True)``);
at most ``process_capacity`` = size - reserved - 1 processes are ever pinned, so the parse pass
(its reservation) and at least one checking process (CheckFile, RPE) are always available to
the sessions that wait on them. Up to ``sessions_per_process`` sessions share one pinned process
(``session_capacity`` = process_capacity x that): a new session takes an idle process first,
then joins the pinned process with the fewest sessions (starting a process in a free slot in
the background for the next one), and only then starts or evicts one; so sessions spread over
the processes and share only when every process holds one. The sessions of one process take
turns on it (``turn``); a process that served ``max_uses`` requests or wrote to stderr takes no
new session and is recycled when its last session leaves. A pinning caller beyond the capacity
waits like any other.
Waits longer than ``WAIT_LOG_SECONDS`` are logged and every wait is measured in metrics. With
``max_rss_bytes``, a sampler checks the processes in use every ``rss_sample_seconds`` and kills
one that grew past the limit (its session is lost and recovered by the client; reason ``rss``).

Invariant: ``starting + idle + busy <= size``, ``pinned <= process_capacity`` and at most
``sessions_per_process`` sessions per pinned process. Every state
change is synchronous (no ``await`` in between), so the event loop makes it atomic; after each
one every waiter is woken and re-checks (``_changed``), so a waiter that times out never
swallows a wake-up. (Over 400 lines: starting, admission, eviction, recycling and refills all
change the same counts under that invariant, so they stay in one class.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from harcopa.errors import (
    BackendCrashed,
    BackendUnavailable,
    DeadlineExceeded,
    HarcopaError,
    Overloaded,
)
from harcopa_lean_verifier import metrics
from harcopa_lean_verifier.backends import pantograph
from harcopa_lean_verifier.backends.launcher import ReplConfig
from harcopa_lean_verifier.repl import Repl, ReplFactory
from harcopa_lean_verifier.starts import StartGate
from harcopa_lean_verifier.turns import Turn

logger = logging.getLogger(__name__)

#: A wait for a process longer than this is logged (every wait is measured).
WAIT_LOG_SECONDS = 5.0

#: (imports, options) of a REPL process.
PoolKey = tuple[tuple[str, ...], tuple[str, ...]]


@dataclasses.dataclass(frozen=True)
class PoolConfig:
    """Pool limits; durations in seconds, sizes in bytes."""

    size: int = 4
    max_uses: int = 500
    max_rss_bytes: int | None = None
    acquire_timeout_seconds: float = 30.0
    #: Destroy a process that wrote to stderr after ``ready.`` (panics make answers suspect).
    recycle_on_stderr: bool = True
    #: Most processes importing at the same time while using CPU (default: the core count).
    max_parallel_starts: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    #: How often processes in use are checked against ``max_rss_bytes``.
    rss_sample_seconds: float = 5.0
    #: Sessions that may share one pinned process (their calls take turns on it).
    sessions_per_process: int = 1

    def __post_init__(self) -> None:
        if min(self.size, self.max_uses, self.max_parallel_starts, self.sessions_per_process) < 1:
            raise ValueError(
                "size, max_uses, max_parallel_starts and sessions_per_process must be positive"
            )


@dataclasses.dataclass(eq=False)
class _Pin:
    """A pinned process's sessions and the turn they take on it."""

    sessions: int = 1
    turn: Turn = dataclasses.field(default_factory=Turn)


class ReplPool:
    """Warm Pantograph processes; ``lease`` for one call, ``acquire``/``release`` to pin one."""

    def __init__(
        self,
        config: PoolConfig,
        repl_config: ReplConfig,
        repl_factory: ReplFactory = pantograph.Repl,
    ) -> None:
        self.config = config
        self.default_key: PoolKey = (tuple(repl_config.imports), tuple(repl_config.options))
        self._repl_config = repl_config
        self._factory = repl_factory
        self._idle: dict[PoolKey, deque[tuple[Repl, float]]] = {}
        self._busy: dict[Repl, PoolKey] = {}
        self._starting = 0
        self._waiters = 0
        self._closed = False
        self._wakeups: set[asyncio.Future[None]] = set()
        self._start_gate = StartGate(config.max_parallel_starts)
        self._launching: set[Repl] = set()
        self._refills: set[asyncio.Task[None]] = set()
        self._reaps: set[asyncio.Task[None]] = set()
        self._reserved: dict[PoolKey, int] = {}
        #: Pinned processes: the sessions each holds and the turn they take.
        self._pinned: dict[Repl, _Pin] = {}
        self._pins_starting = 0
        self._sampler: asyncio.Task[None] | None = None
        #: Processes started and idle processes evicted so far (the benchmarks print them).
        self.starts = 0
        self.evictions = 0

    # -- counts ----------------------------------------------------------------------------

    @property
    def idle_count(self) -> int:
        return sum(len(q) for q in self._idle.values())

    @property
    def busy_count(self) -> int:
        return len(self._busy)

    @property
    def starting_count(self) -> int:
        return self._starting

    @property
    def warm_count(self) -> int:
        """Processes started and ready (idle or busy); below ``size`` while warming up."""
        return self.idle_count + len(self._busy)

    @property
    def total(self) -> int:
        return self._starting + self.idle_count + len(self._busy)

    @property
    def process_capacity(self) -> int:
        """Most processes pinned at once: the reservations and one checking process stay free."""
        return max(1, self.config.size - sum(self._reserved.values()) - 1)

    @property
    def session_capacity(self) -> int:
        """Most sessions at once: ``sessions_per_process`` on each pinnable process."""
        return self.process_capacity * self.config.sessions_per_process

    @property
    def pinned_count(self) -> int:
        """Processes pinned by sessions."""
        return len(self._pinned)

    @property
    def session_count(self) -> int:
        """Sessions holding a pinned process."""
        return sum(pin.sessions for pin in self._pinned.values())

    def turn(self, repl: Repl) -> Turn:
        """The turn the sessions sharing pinned ``repl`` take (one call at a time, the oldest
        session first, so a call's own timeout never counts a sibling's call)."""
        return self._pinned[repl].turn

    def _publish(self) -> None:
        metrics.set_repls(starting=self._starting, idle=self.idle_count, busy=len(self._busy))
        metrics.set_queue_depth(self._waiters)

    # -- lifecycle -------------------------------------------------------------------------

    def reserve(self, key: PoolKey, count: int) -> None:
        """Keep ``count`` processes of ``key`` warm and safe from eviction (call before start);
        at least one session process and one checking process must remain."""
        if count < 0 or sum(self._reserved.values()) - self._reserved.get(key, 0) + count + 2 > (
            self.config.size
        ):
            raise ValueError(f"cannot reserve {count} of {self.config.size} processes for {key}")
        self._reserved[key] = count

    def _count(self, key: PoolKey) -> int:
        return len(self._idle.get(key, ())) + sum(1 for k in self._busy.values() if k == key)

    async def start(self, *, wait_all: bool = True) -> None:
        """Warm the reserved processes and the rest for the default key; BackendUnavailable if
        no default-key process starts. All start at once (up to ``max_parallel_starts``, reserved
        ones first): holding back the rest until the first are warm made readiness earlier
        but the whole warm-up, and a search run, slower. ``wait_all=False`` returns once the
        reserved processes and one default-key process are warm; the others keep starting in
        the background."""
        reserved = [k for k, n in self._reserved.items() for _ in range(n) if k != self.default_key]
        defaults = self.config.size - len(reserved)
        self._starting += self.config.size
        self._changed()
        # Launched in this order, so the reserved processes take the first start slots.
        tasks = [self._launch(k) for k in reserved + [self.default_key] * defaults]
        if wait_all:
            await asyncio.gather(*tasks, return_exceptions=True)
        else:
            await asyncio.gather(*tasks[: len(reserved)], return_exceptions=True)
            await _first_success(tasks[len(reserved) :])
        errors = [e for t in tasks if (e := _failure(t)) is not None]
        if all(_failure(t) is not None for t in tasks[len(reserved) :]):
            raise BackendUnavailable(f"no REPL process started: {errors[0]}") from errors[0]
        if errors:
            logger.warning(
                "%d of %d REPLs failed to start: %s", len(errors), self.config.size, errors[0]
            )
        if self.config.max_rss_bytes is not None and self._sampler is None:
            self._sampler = asyncio.create_task(self._sample_forever(), name="repl-rss-sampler")

    def _launch(self, key: PoolKey) -> asyncio.Task[None]:
        """Fill one slot counted in ``_starting`` in the background (``close`` cancels it)."""
        task = asyncio.create_task(self._fill(key))
        self._refills.add(task)
        task.add_done_callback(self._refills.discard)
        task.add_done_callback(_forget)
        return task

    async def close(self) -> None:
        """Kill every process (idle, busy and starting) and stop the refills."""
        self._closed = True
        if self._sampler is not None:
            self._sampler.cancel()
            await asyncio.gather(self._sampler, return_exceptions=True)
            self._sampler = None
        for task in list(self._refills):
            task.cancel()
        launching = list(self._launching)  # killed, then reaped with the others below
        for repl in launching:
            repl.kill()
        await asyncio.gather(*self._refills, return_exceptions=True)
        repls = [r for q in self._idle.values() for r, _ in q] + list(self._busy) + launching
        self._idle.clear()
        self._busy.clear()
        for repl in repls:
            repl.kill()
        self._changed()
        await asyncio.gather(*(r.close() for r in repls), *self._reaps, return_exceptions=True)
        await self._start_gate.close()

    # -- acquire / release -----------------------------------------------------------------

    @asynccontextmanager
    async def lease(self, key: PoolKey | None = None) -> AsyncIterator[Repl]:
        """Hold a process for the body; destroyed if the body timed out, crashed or was cut off."""
        repl = await self.acquire(key)
        try:
            yield repl
        except (DeadlineExceeded, BackendCrashed, asyncio.CancelledError) as exc:
            reason = "cancelled" if isinstance(exc, asyncio.CancelledError) else None
            self._discard(repl, reason)
            raise
        except BaseException:
            await self.release(repl, destroy=not repl.alive)
            raise
        await self.release(repl, destroy=False)

    async def acquire(self, key: PoolKey | None = None, *, pin: bool = False) -> Repl:
        """A started process for ``key`` (default key if None), exclusively the caller's, or
        with ``pin`` held by a session (it may share it with up to ``sessions_per_process - 1``
        other sessions; ``turn`` gives their lock).

        Waits at most ``acquire_timeout_seconds`` for a slot (Overloaded); a process spawned
        for the caller may then take up to the ready timeout (BackendUnavailable on failure).
        """
        key = key or self.default_key
        purpose = "session" if pin else ("check" if key == self.default_key else "parse")
        self._waiters += 1
        self._publish()
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.config.acquire_timeout_seconds):
                repl = await self._take_or_reserve(key, pin, purpose)
        except TimeoutError:
            raise Overloaded(
                f"no REPL free within {self.config.acquire_timeout_seconds:g} s for a {purpose} "
                f"({self.busy_count} busy, {len(self._pinned)} held by "
                f"{self.session_count} sessions, "
                f"{self._waiters - 1} waiting)"
            ) from None
        finally:
            self._waiters -= 1
            metrics.observe_wait(purpose, time.monotonic() - started)
            self._publish()
        if repl is None:
            try:
                repl = await self._start_reserved(key)
            except BaseException:
                self._pins_starting -= int(pin)
                raise
            self._busy[repl] = key
            if pin:
                self._pins_starting -= 1
                self._pinned[repl] = _Pin()
            self._changed()
        return repl

    async def _take_or_reserve(self, key: PoolKey, pin: bool, purpose: str) -> Repl | None:
        """An idle process of ``key``; or None after reserving a start slot for the caller."""
        started = time.monotonic()
        logged = False
        while True:
            if self._closed:
                raise BackendUnavailable("the REPL pool is closed")
            waited = time.monotonic() - started
            if not logged and waited > WAIT_LOG_SECONDS:
                logged = True
                logger.info(
                    "a %s has waited %.0f s for a REPL (%d busy, %d held by sessions of %d)",
                    purpose,
                    waited,
                    self.busy_count,
                    len(self._pinned),
                    self.process_capacity,
                )
            room = not pin or len(self._pinned) + self._pins_starting < self.process_capacity
            if room:
                repl = self._take_idle(key)
                if repl is not None:
                    self._busy[repl] = key
                    if pin:
                        self._pinned[repl] = _Pin()
                    self._publish()
                    return repl
            if pin:
                repl = self._take_shared(key)
                if repl is not None:
                    if room:  # a free slot: warm a process for the next session
                        self._refill(key)
                    return repl
            if room:
                if self.total < self.config.size or (
                    self._may_evict(key) and self._evict_other(key)
                ):
                    self._starting += 1
                    self._pins_starting += int(pin)
                    self._publish()
                    return None
            wakeup = asyncio.get_running_loop().create_future()
            self._wakeups.add(wakeup)
            try:
                # A timed wait, so the wait is logged even when nothing changes meanwhile.
                await asyncio.wait({wakeup}, timeout=WAIT_LOG_SECONDS)
            finally:
                self._wakeups.discard(wakeup)

    def _take_idle(self, key: PoolKey) -> Repl | None:
        queue = self._idle.get(key)
        while queue:
            repl, _since = queue.pop()  # the most recently used one is the warmest
            if repl.alive:
                return repl
            self._discard_idle(repl)
        return None

    def _take_shared(self, key: PoolKey) -> Repl | None:
        """A pinned process of ``key`` with room for one more session (the one with the
        fewest), counted; None if none. A draining process (used up, or noisy) takes none."""
        best: Repl | None = None
        for repl, pin in self._pinned.items():
            if (
                pin.sessions >= self.config.sessions_per_process
                or self._busy.get(repl) != key
                or self._worn_out(repl) is not None
            ):
                continue
            if best is None or pin.sessions < self._pinned[best].sessions:
                best = repl
        if best is not None:
            self._pinned[best].sessions += 1
            self._publish()
        return best

    def _may_evict(self, key: PoolKey) -> bool:
        """Whether ``key`` may evict another key's process: not while its reservation is met."""
        reserved = self._reserved.get(key, 0)
        return reserved == 0 or self._count(key) < reserved

    def _evict_other(self, key: PoolKey) -> bool:
        """Destroy the longest-idle process of another key to make room; False if none."""
        oldest: tuple[float, PoolKey] | None = None
        for other, queue in self._idle.items():
            if other == key or not queue or self._count(other) <= self._reserved.get(other, 0):
                continue
            if oldest is None or queue[0][1] < oldest[0]:
                oldest = (queue[0][1], other)
        if oldest is None:
            return False
        repl, _since = self._idle[oldest[1]].popleft()
        logger.info("evicting idle %s to start a REPL for another key", repl)
        metrics.REPL_EVICTIONS.inc()
        self.evictions += 1
        repl.kill()
        self._background(self._reaps, repl.close())
        return True

    async def release(self, repl: Repl, *, destroy: bool, reason: str | None = None) -> None:
        """Give back a process from ``acquire`` (one session's share of a pinned one: the process
        stays with its other sessions unless ``destroy``); ``destroy`` kills (and replaces) it."""
        key = self._busy.get(repl)
        pin = self._pinned.get(repl)
        if pin is not None and pin.sessions > 1 and not destroy:
            pin.sessions -= 1
            self._changed()
            return
        self._pinned.pop(repl, None)
        if key is None:  # unknown, or already discarded (pool closed)
            repl.kill()
            await repl.close()
            return
        if not destroy:
            reason = await self._recycle_reason(repl)
            destroy = reason is not None
        if destroy:
            self._discard(repl, reason)
            return
        del self._busy[repl]
        self._put_idle(repl, key)
        self._changed()

    def _worn_out(self, repl: Repl) -> str | None:
        """Why ``repl`` must serve nothing more (dead, used up, noisy); None if it may. A pinned
        one stays with its sessions but takes no new one."""
        if not repl.alive:
            return repl.last_failure or "crash"
        if repl.uses >= self.config.max_uses:
            return "max_uses"
        if self.config.recycle_on_stderr and repl.stderr_noise:
            return "stderr"
        return None

    async def _recycle_reason(self, repl: Repl) -> str | None:
        """Why a process that finished normally must not go back idle (None: it may)."""
        worn = self._worn_out(repl)
        if worn is not None:
            return worn
        if self.config.max_rss_bytes is not None:
            rss = await repl.rss_bytes()
            if rss > self.config.max_rss_bytes:
                logger.info("%s uses %d bytes of RSS; recycling", repl, rss)
                return "rss"
        return None

    def _discard(self, repl: Repl, reason: str | None) -> None:
        """Kill a busy process now; reap and replace it in the background (sync, no await)."""
        key = self._busy.pop(repl, None)
        self._pinned.pop(repl, None)
        repl.kill(reason)
        cause = repl.last_failure or reason or "crash"
        metrics.count_restart(cause)
        logger.info("destroying %s (%s)", repl, cause)
        self._background(self._reaps, repl.close())
        if key is not None:
            self._refill(key)
        self._changed()

    def _discard_idle(self, repl: Repl) -> None:
        """An idle process found dead: count it, reap it and replace it."""
        metrics.count_restart(repl.last_failure or "crash")
        self._background(self._reaps, repl.close())

    def _put_idle(self, repl: Repl, key: PoolKey) -> None:
        self._idle.setdefault(key, deque()).append((repl, time.monotonic()))

    # -- memory sampling -------------------------------------------------------------------

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.rss_sample_seconds)
            await self.sample_rss()

    async def sample_rss(self) -> int:
        """Kill the processes in use whose tree passed ``max_rss_bytes``; how many were."""
        limit = self.config.max_rss_bytes
        if limit is None:
            return 0
        killed = 0
        for repl in list(self._busy):
            if not repl.alive:
                continue
            rss = await repl.rss_bytes()
            if rss > limit and repl in self._busy:
                logger.warning("%s uses %d bytes of RSS (limit %d); killing it", repl, rss, limit)
                repl.kill("rss")
                killed += 1
        return killed

    # -- spawning --------------------------------------------------------------------------

    async def _spawn(self, key: PoolKey) -> Repl:
        config = dataclasses.replace(self._repl_config, imports=key[0], options=key[1])
        async with self._start_gate.slot() as admitted:
            if self._closed:
                raise BackendUnavailable("the REPL pool is closed")
            repl = self._factory(config)
            admitted.watch(repl.cpu_seconds)
            self.starts += 1
            metrics.REPL_STARTS.inc()
            self._launching.add(repl)
            try:
                await repl.start()
            finally:
                self._launching.discard(repl)
            return repl

    async def _start_reserved(self, key: PoolKey) -> Repl:
        """Start a process for ``key`` in a slot already counted in ``_starting``."""
        try:
            repl = await self._spawn(key)
        finally:
            self._starting -= 1
            self._changed()
        if self._closed:
            await repl.close()
            raise BackendUnavailable("the REPL pool is closed")
        return repl

    async def _fill(self, key: PoolKey) -> None:
        """Start a process for ``key`` in a reserved slot and make it idle."""
        repl = await self._start_reserved(key)
        self._put_idle(repl, key)
        self._changed()

    def _refill(self, key: PoolKey) -> None:
        """Start a replacement for ``key`` in the background if a slot is free."""
        if self._closed or self.total >= self.config.size:
            return
        self._starting += 1
        self._background(self._refills, self._refill_one(key))

    async def _refill_one(self, key: PoolKey) -> None:
        try:
            await self._fill(key)
        except (HarcopaError, OSError) as exc:  # the slot is left for on-demand starts
            logger.warning("could not replace a REPL process: %s", exc)

    @staticmethod
    def _background(tasks: set[asyncio.Task[None]], coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _changed(self) -> None:
        """Publish the counts and wake every waiter to re-check (no await)."""
        self._publish()
        for wakeup in self._wakeups:
            if not wakeup.done():
                wakeup.set_result(None)


def _failure(task: asyncio.Task[None]) -> BaseException | None:
    """Why a finished start failed (a cancelled one: the pool closed); None while running or
    on success."""
    if not task.done():
        return None
    if task.cancelled():
        return BackendUnavailable("the REPL pool is closed")
    return task.exception()


def _forget(task: asyncio.Task[None]) -> None:
    """Done callback of a background start: its failure is counted by ``start``, not raised."""
    _failure(task)


async def _first_success(tasks: list[asyncio.Task[None]]) -> None:
    """Wait until one of ``tasks`` succeeded or all are done."""
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if any(t.exception() is None for t in done if not t.cancelled()):
            return
