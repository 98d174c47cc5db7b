"""The REPL start admission (starts.py): CPU-bound starts capped at the limit, starts that only
wait admitted up to the ceiling, first come first served, cancellation gives a place back."""

from __future__ import annotations

import asyncio

import pytest

from harcopa_lean_verifier.starts import StartGate


class Process:
    """A starting process whose CPU time grows by ``share`` of a core per second."""

    def __init__(self, share: float | None) -> None:
        self.share = share
        self.began = asyncio.get_running_loop().time()

    async def cpu(self) -> float | None:
        if self.share is None:
            return None
        return self.share * (asyncio.get_running_loop().time() - self.began)


async def _run(gate: StartGate, shares: list[float | None], hold: float) -> list[int]:
    """Start one process per share, each holding its place ``hold`` seconds; the order in
    which they were admitted."""
    admitted: list[int] = []

    async def one(index: int) -> None:
        async with gate.slot() as start:
            admitted.append(index)
            start.watch(Process(shares[index]).cpu)
            await asyncio.sleep(hold)

    await asyncio.gather(*(one(i) for i in range(len(shares))))
    return admitted


@pytest.fixture(autouse=True)
def fast_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StartGate, "SAMPLE_SECONDS", 0.02)


async def test_cpu_bound_starts_never_pass_the_limit() -> None:
    gate = StartGate(2, 8)
    order = await _run(gate, [1.0] * 6, 0.15)
    assert gate.most_at_once == 2 and order == list(range(6))  # first come, first served


async def test_unreadable_cpu_counts_as_cpu_bound() -> None:
    gate = StartGate(2, 8)
    await _run(gate, [None] * 5, 0.1)
    assert gate.most_at_once == 2


async def test_waiting_starts_are_admitted_up_to_the_ceiling() -> None:
    gate = StartGate(2, 5)
    await _run(gate, [0.0] * 9, 0.2)
    assert gate.most_at_once == 5


async def test_mixed_starts_keep_the_cpu_bound_ones_under_the_limit() -> None:
    gate = StartGate(1, 8)
    busy_at_once: list[int] = []

    async def watch() -> None:
        while True:
            busy_at_once.append(gate.cpu_bound)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    await _run(gate, [1.0, 0.0, 1.0, 0.0, 1.0, 0.0], 0.2)
    watcher.cancel()
    assert max(busy_at_once) == 1 and gate.most_at_once >= 2


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    gate = StartGate(1, 1)
    async with gate.slot():
        waiting = asyncio.create_task(_run(gate, [1.0], 0.0))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert await asyncio.wait_for(_run(gate, [1.0, 1.0], 0.0), 2) == [0, 1]
    await gate.close()


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        StartGate(0, 4)
