"""Turns on one shared REPL process: one call at a time, the waiting session ranked lowest first.

Used by sessions.py (``SessionRepl``) for the sessions that share a pinned process (the pool's
``sessions_per_process``). A session's rank (``ProblemRanks``) puts the problem with the most
of its search still ahead first: the fewest sessions its problem opened before this one (a
search opens one per attempt, so this counts the attempts it has made and, against its budget,
what it has left), then the problem seen first. At the end of a run the problems with the most
left to do set its length, so serving them first keeps it short (longest remaining work first,
with attempts made as the only estimate of it there is); measured in
benchmarks/search_scheduling.py over 18 workloads (problems, processes, sessions per process),
the mean wall / bound was 1.510 against 1.528 ranking each new session behind all others and
1.539 ranking by the problem's first session alone. A call never waits for more than the calls
of lower-ranked sessions and the one call in flight, so the first-ranked session runs as if it
had the process alone (but for one call at a time) and the others fill the time it spends
waiting for its model; first come first served would slow every session on the process equally
and stretch the critical path of each problem. Ties (the same rank) go in arrival order. With
``slots`` above 1 it admits that many holders at once (benchmarks/search_scheduling.py's
unpinned what-if: any call on any free process).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

#: What orders a turn's waiters, lowest first; for a session (ProblemRanks): (sessions its
#: problem opened before it, the order in which its problem was first seen).
Rank = tuple[int, int]

#: Problems whose place ProblemRanks remembers (the least recently opened is forgotten first: a
#: forgotten problem's next session ranks as a new problem's).
REMEMBERED_PROBLEMS = 65536
#: A problem none of whose sessions was open for this long starts afresh: its next session is
#: another run's (the same benchmark evaluated again, or resumed) and ranks as a new
#: problem's; between one attempt and the next a search opens its new session at once.
FORGET_IDLE_SECONDS = 600.0


@dataclass(slots=True)
class _Problem:
    order: int  # when the problem was first seen
    opened: int = 0  # its sessions opened so far
    open_now: int = 0  # of them, not closed yet
    idle_since: float = 0.0  # when its last open session closed


class ProblemRanks:
    """The rank of each new session: per (client, problem), the sessions opened before it and
    the order in which that problem's first session came. At most ``limit`` problems are
    remembered; one with no session open for ``forget_idle_seconds`` starts afresh.
    ``closed`` must be told of every session ``rank`` ranked, when it ends."""

    def __init__(
        self,
        limit: int = REMEMBERED_PROBLEMS,
        *,
        forget_idle_seconds: float = FORGET_IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("ProblemRanks needs room for at least one problem")
        self._limit = limit
        self._forget = forget_idle_seconds
        self._clock = clock
        self._problems: OrderedDict[tuple[str, str], _Problem] = OrderedDict()
        self._next = itertools.count()

    def __len__(self) -> int:
        return len(self._problems)

    def rank(self, client_id: str, problem_id: str) -> Rank:
        """The rank of a new session of ``problem_id`` opened for ``client_id``."""
        key = (client_id, problem_id)
        found = self._problems.get(key)
        if found is not None and not found.open_now:
            if self._clock() - found.idle_since >= self._forget:
                found = None  # idle long enough: another run's problem
        if found is None:
            found = self._problems[key] = _Problem(next(self._next))
            if len(self._problems) > self._limit:
                self._problems.popitem(last=False)
        self._problems.move_to_end(key)
        rank = (found.opened, found.order)
        found.opened += 1
        found.open_now += 1
        return rank

    def closed(self, client_id: str, problem_id: str) -> None:
        """A session ``rank`` ranked for this client and problem has ended."""
        found = self._problems.get((client_id, problem_id))
        if found is not None and found.open_now:
            found.open_now -= 1
            if not found.open_now:
                found.idle_since = self._clock()


class Turn:
    """A lock (or, with ``slots``, a semaphore) whose waiters are served lowest ``rank`` first
    (then in arrival order)."""

    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("a turn needs at least one slot")
        self._free = slots
        self._waiting: list[tuple[Rank, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def held(self) -> bool:
        """Whether every slot is held."""
        return self._free == 0

    @property
    def waiting(self) -> int:
        return sum(1 for *_, future in self._waiting if not future.done())

    @asynccontextmanager
    async def taken(self, rank: Rank) -> AsyncIterator[None]:
        """Hold the turn for the body; waits behind every lower-ranked waiter."""
        await self.acquire(rank)
        try:
            yield
        finally:
            self.release()

    def try_acquire(self) -> bool:
        """Take the turn if it is free and nobody waits (no await); whether it was taken."""
        if self._free == 0:
            return False
        self._free -= 1  # free means nobody waits: a release hands its slot to a waiter
        return True

    async def acquire(self, rank: Rank) -> None:
        """Take the turn, behind every waiter ranked lower (and every earlier one of ``rank``)."""
        if self.try_acquire():
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (rank, next(self._arrivals), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted as it was cancelled: hand the turn on
            raise

    def release(self) -> None:
        """Hand the slot to the best live waiter, or free it."""
        while self._waiting:
            *_, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return  # still held, now by the waiter
        self._free += 1
