"""Admission of REPL process starts: at most ``limit`` of the starting processes use CPU at once.

Used by the pool (pool.py) around every spawn. A Lean start (``import Mathlib``) is CPU-bound
on a warm page cache and waits on the disk on a cold one; lean-sim's start only sleeps. So a
start is admitted while fewer than ``limit`` of the processes starting now are CPU-bound, and
while fewer than ``ceiling`` start in all; admission is first come, first served. A process
counts as CPU-bound from its spawn until a sample shows its process tree used less than
``IDLE_SHARE`` of a core (user + system time) since the previous one, every ``SAMPLE_SECONDS``;
one whose CPU time cannot be read stays CPU-bound. With the default limit (the core count),
CPU-bound starts never outnumber the cores, and starts that only wait do not hold the others
back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

#: Starts at once, CPU-bound or not, as a multiple of the CPU-bound limit (the default ceiling).
CEILING_FACTOR = 4
#: Reads a starting process tree's CPU seconds so far; None while it cannot be read.
CpuReader = Callable[[], Awaitable[float | None]]


class Start:
    """One admitted start; ``watch`` names how to read its process's CPU time."""

    __slots__ = ("at", "busy", "cpu", "read")

    def __init__(self) -> None:
        self.read: CpuReader | None = None
        self.cpu = 0.0
        self.at = time.monotonic()
        self.busy = True

    def watch(self, read: CpuReader) -> None:
        self.read, self.cpu, self.at = read, 0.0, time.monotonic()


class StartGate:
    """First-come admission of starts under the CPU-bound ``limit`` and the ``ceiling``."""

    SAMPLE_SECONDS = 0.05
    IDLE_SHARE = 0.25

    def __init__(self, limit: int, ceiling: int | None = None) -> None:
        if limit < 1:
            raise ValueError("the limit of starts must be positive")
        self.limit = limit
        self.ceiling = max(limit, CEILING_FACTOR * limit if ceiling is None else ceiling)
        self._starts: set[Start] = set()
        self._queue: deque[asyncio.Future[Start]] = deque()
        self._sampler: asyncio.Task[None] | None = None
        #: The most starts admitted at the same time so far.
        self.most_at_once = 0

    @property
    def cpu_bound(self) -> int:
        return sum(start.busy for start in self._starts)

    def _admissible(self) -> bool:
        return self.cpu_bound < self.limit and len(self._starts) < self.ceiling

    def _admit(self) -> Start:
        start = Start()
        self._starts.add(start)
        self.most_at_once = max(self.most_at_once, len(self._starts))
        return start

    def _wake(self) -> None:
        while self._queue and self._admissible():
            waiter = self._queue.popleft()
            if not waiter.done():
                waiter.set_result(self._admit())

    def _release(self, start: Start) -> None:
        self._starts.discard(start)
        self._wake()

    async def _acquire(self) -> Start:
        if not self._queue and self._admissible():
            return self._admit()
        waiter: asyncio.Future[Start] = asyncio.get_running_loop().create_future()
        self._queue.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # admitted, then cancelled: give it back
            raise

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[Start]:
        """Wait for admission; the start holds its place until the block ends."""
        start = await self._acquire()
        if self._sampler is None or self._sampler.done():
            self._sampler = asyncio.create_task(self._sample(), name="repl-start-sampler")
        try:
            yield start
        finally:
            self._release(start)

    async def _sample(self) -> None:
        """While starts run: re-read their CPU use and admit whoever now fits."""
        while self._starts:
            await asyncio.sleep(self.SAMPLE_SECONDS)
            for start in list(self._starts):
                if start.read is None:
                    continue
                cpu, now = await start.read(), time.monotonic()
                if cpu is None or now <= start.at:
                    continue
                start.busy = (cpu - start.cpu) / (now - start.at) >= self.IDLE_SHARE
                start.cpu, start.at = cpu, now
            self._wake()

    async def close(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
