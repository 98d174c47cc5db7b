"""Process helpers shared by the tests that watch subprocesses exit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psutil


def gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie awaiting its reaper counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def wait_until(predicate: Callable[[], object], seconds: float) -> None:
    """Poll ``predicate`` every 20 ms for up to ``seconds`` (processes exit asynchronously)."""
    for _ in range(int(seconds / 0.02) + 1):
        if predicate():
            return
        await asyncio.sleep(0.02)
