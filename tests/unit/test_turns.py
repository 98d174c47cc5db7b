"""The turn of a shared REPL process (turns.py): one holder at a time, the lowest rank waiting
goes next (then arrival order), and cancelled waiters, granted or not, never wedge it."""

from __future__ import annotations

import asyncio

import pytest

from harcopa_lean_verifier.turns import ProblemRanks, Turn

pytestmark = pytest.mark.asyncio


async def test_the_oldest_waiter_goes_next_then_arrival_order() -> None:
    turn, order = Turn(), []
    release = asyncio.Event()

    async def holder() -> None:
        async with turn.taken((0, 5)):
            await release.wait()

    async def call(name: str, rank: tuple[int, int]) -> None:
        async with turn.taken(rank):
            order.append(name)
            await asyncio.sleep(0)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    assert turn.held
    waiters = [
        asyncio.create_task(call(name, rank))
        for name, rank in (
            ("young", (0, 9)),
            ("old", (0, 1)),
            ("middle", (0, 4)),
            ("second attempt", (1, 0)),  # more attempts made: after every first attempt
            ("middle-later", (0, 4)),
        )
    ]
    await asyncio.sleep(0.01)
    assert turn.waiting == 5 and not order  # nobody passes the holder
    release.set()
    await asyncio.gather(first, *waiters)
    assert order == ["old", "middle", "middle-later", "young", "second attempt"]
    assert not turn.held and turn.waiting == 0


async def test_cancelled_waiters_granted_or_not_hand_the_turn_on() -> None:
    turn = Turn()

    async def call() -> str:
        async with turn.taken((0, 1)):
            return "ran"

    holding = turn.taken((0, 0))
    await holding.__aenter__()
    gone = asyncio.create_task(call())
    granted_then_cancelled = asyncio.create_task(call())
    last = asyncio.create_task(call())
    await asyncio.sleep(0.01)
    gone.cancel()  # cancelled while waiting
    await asyncio.sleep(0)
    await holding.__aexit__(None, None, None)  # grants the next live waiter, without yielding
    granted_then_cancelled.cancel()  # which is cancelled before it could run
    with pytest.raises(asyncio.CancelledError):
        await gone
    with pytest.raises(asyncio.CancelledError):
        await granted_then_cancelled
    assert await asyncio.wait_for(last, 1.0) == "ran"  # so the turn went on
    assert not turn.held


async def test_slots_admit_that_many_holders_then_the_oldest_waiter() -> None:
    # The unpinned what-if of benchmarks/search_scheduling.py: a turn over several processes.
    turn, order, running = Turn(2), [], [0]

    async def call(rank: tuple[int, int]) -> None:
        async with turn.taken(rank):
            running[0] += 1
            assert running[0] <= 2
            order.append(rank[1])
            await asyncio.sleep(0.01)
            running[0] -= 1

    await asyncio.gather(*(call((0, rank)) for rank in (5, 4, 3, 2, 1)))
    # 5 and 4 find free slots; the others wait and go lowest rank first.
    assert order == [5, 4, 1, 2, 3]
    assert not turn.held and turn.waiting == 0
    with pytest.raises(ValueError, match="at least one slot"):
        Turn(0)


async def test_a_session_ranks_by_its_problems_attempts_then_its_problems_age() -> None:
    ranks = ProblemRanks(limit=3)
    assert ranks.rank("client", "bench/0") == (0, 0)  # first seen, first attempt
    assert ranks.rank("client", "bench/1") == (0, 1)
    assert ranks.rank("client", "bench/0") == (1, 0)  # its second attempt: after first ones
    assert ranks.rank("other", "bench/0") == (0, 2)  # another client's problem is its own
    assert (0, 2) < (1, 0)  # a first attempt, however late, goes before a second one
    ranks.rank("client", "bench/2")  # a fourth problem: the least recently opened goes
    assert len(ranks) == 3
    assert ranks.rank("client", "bench/0") == (2, 0)  # opened recently: still remembered
    assert ranks.rank("client", "bench/1") == (0, 4)  # forgotten: it ranks as a new one now
    assert len(ranks) == 3
    with pytest.raises(ValueError):
        ProblemRanks(limit=0)


async def test_a_problem_idle_long_enough_starts_afresh() -> None:
    # Another run of the same benchmark (or the same run resumed) is not behind its earlier
    # attempts: once none of a problem's sessions was open for the idle limit, it is new.
    now = [0.0]
    ranks = ProblemRanks(forget_idle_seconds=600, clock=lambda: now[0])
    assert ranks.rank("c", "bench/0") == (0, 0)
    ranks.closed("c", "bench/0")
    now[0] = 1.0
    assert ranks.rank("c", "bench/0") == (1, 0)  # the search's next attempt: counted
    assert ranks.rank("c", "bench/0") == (2, 0)  # two open at once
    ranks.closed("c", "bench/0")
    now[0] = 5000.0
    assert ranks.rank("c", "bench/0") == (3, 0)  # one still open: never idle, still counted
    ranks.closed("c", "bench/0")
    ranks.closed("c", "bench/0")
    ranks.closed("c", "bench/0")  # a close too many (or of a forgotten problem) is ignored
    now[0] = 5599.0
    assert ranks.rank("c", "bench/0") == (4, 0)  # idle 599 s: the same run's
    ranks.closed("c", "bench/0")
    now[0] = 6199.0
    assert ranks.rank("c", "bench/0") == (0, 1)  # idle 600 s: a new problem's first attempt
    ranks.closed("c", "unknown")  # never ranked: nothing to do
