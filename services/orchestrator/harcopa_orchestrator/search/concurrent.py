"""Run a batch of coroutines concurrently and return their results in submission order.

Used wherever candidates of one batch are verified together (prover, best-first search).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def in_order(awaitables: Sequence[Awaitable[T]]) -> list[T]:
    """Await all concurrently (a TaskGroup); the first failure cancels the rest and is raised."""
    if len(awaitables) == 1:
        return [await awaitables[0]]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_wrap(item)) for item in awaitables]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def _wrap(item: Awaitable[T]) -> T:
    return await item
