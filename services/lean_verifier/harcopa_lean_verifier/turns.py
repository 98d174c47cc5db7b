"""Turns on one shared REPL process: one call at a time, the oldest waiting problem first.

Used by sessions.py (``SessionRepl``) for the sessions that share a pinned process (the pool's
``sessions_per_process``). A session's rank is its problem's (``ProblemRanks``): the order in
which the verifier saw each problem's first session, kept by the problem's later sessions (a
search opens one per attempt, and a problem that needs many attempts is the run's critical
path: ranking each new session as the youngest put the longest problems behind every other
one, each time they started over). A call never waits for more than the calls of older problems
and the one call in flight, so the problem that came first runs as if it had the process alone
(but for one call at a time) and the younger ones fill the time it spends waiting for its
model; first come first served would slow every session on the process equally and stretch the
critical path of each problem. Ties (the same rank) go in arrival order. With ``slots`` above 1
it admits that many holders at once (benchmarks/search_scheduling.py's unpinned what-if: any
call on any free process).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

#: Problems whose rank ProblemRanks remembers (the least recently opened is forgotten first: a
#: forgotten problem's next session ranks as a new problem's).
REMEMBERED_PROBLEMS = 65536


class ProblemRanks:
    """The rank of each problem's sessions: the order in which the first session of each
    (client, problem) was opened; lower is older. At most ``limit`` problems are remembered."""

    def __init__(self, limit: int = REMEMBERED_PROBLEMS) -> None:
        if limit < 1:
            raise ValueError("ProblemRanks needs room for at least one problem")
        self._limit = limit
        self._ranks: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._next = itertools.count()

    def __len__(self) -> int:
        return len(self._ranks)

    def rank(self, client_id: str, problem_id: str) -> int:
        """The rank of a new session of ``problem_id`` opened for ``client_id``."""
        key = (client_id, problem_id)
        found = self._ranks.get(key)
        if found is None:
            found = self._ranks[key] = next(self._next)
            if len(self._ranks) > self._limit:
                self._ranks.popitem(last=False)
        else:
            self._ranks.move_to_end(key)
        return found


class Turn:
    """A lock (or, with ``slots``, a semaphore) whose waiters are served lowest ``rank`` first
    (then in arrival order)."""

    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("a turn needs at least one slot")
        self._free = slots
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def held(self) -> bool:
        """Whether every slot is held."""
        return self._free == 0

    @property
    def waiting(self) -> int:
        return sum(1 for *_, future in self._waiting if not future.done())

    @asynccontextmanager
    async def taken(self, rank: int) -> AsyncIterator[None]:
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

    async def acquire(self, rank: int) -> None:
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
