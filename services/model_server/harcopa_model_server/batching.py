"""A small request batcher: collects concurrent requests for a few ms and runs them together.

Used by the transformers backend. Requests wait in a bounded queue (full queue ->
``Overloaded`` -> RESOURCE_EXHAUSTED); one background task takes up to ``max_batch_rows`` rows
(a request of ``n`` samples is ``n`` rows) and hands them to a blocking ``run_batch`` function on
a worker thread. ``run_batch`` reports each request as soon as it finishes, so short requests do
not wait for the longest one. A cancelled caller sets its job's ``cancel`` flag, which
``run_batch`` polls between decoding steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from harcopa.errors import BackendCrashed, BackendUnavailable, Overloaded
from harcopa_model_server import metrics

logger = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")


@dataclass(eq=False)
class Job(Generic[R]):
    """One queued request: ``rows`` sequences to decode; ``cancel`` is set when the caller left."""

    request: R
    rows: int
    future: asyncio.Future[Any]
    cancel: threading.Event = field(default_factory=threading.Event)


#: ``report(job, result_or_exception)``: thread-safe, callable from ``run_batch``.
Report = Callable[[Job[R], object], None]
RunBatch = Callable[[Sequence[Job[R]], Report[R]], None]


class Batcher(Generic[R]):
    """Runs ``run_batch(jobs, report)`` on a worker thread for batches of concurrent requests."""

    def __init__(
        self,
        run_batch: RunBatch[R],
        *,
        max_batch_rows: int,
        max_wait_seconds: float,
        max_queue: int,
    ) -> None:
        self._run_batch = run_batch
        self.max_batch_rows = max_batch_rows
        self.max_wait_seconds = max_wait_seconds
        self.max_queue = max_queue
        self._pending: deque[Job[R]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: list[Job[R]] = []

    @property
    def pending(self) -> int:
        """Requests waiting for a batch (not counting the running one)."""
        return len(self._pending)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="model-batcher")

    async def close(self) -> None:
        """Stop taking batches; the running batch is told to stop, queued requests fail."""
        for job in self._running:
            job.cancel.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while self._pending:
            job = self._pending.popleft()
            if not job.future.done():
                job.future.set_exception(BackendUnavailable("the model server is shutting down"))

    async def submit(self, request: R, rows: int) -> Any:
        """Queue ``request`` and wait for its result; raises Overloaded when the queue is full."""
        if self._task is None:
            raise BackendUnavailable("the batcher is not running")
        if len(self._pending) >= self.max_queue:
            raise Overloaded(f"generation queue full ({self.max_queue} requests waiting)")
        job: Job[R] = Job(request, rows, asyncio.get_running_loop().create_future())
        self._pending.append(job)
        self._wakeup.set()
        try:
            return await job.future
        except asyncio.CancelledError:
            job.cancel.set()  # the decoding loop drops this job's rows at its next step
            with contextlib.suppress(ValueError):
                self._pending.remove(job)
            raise

    def _take(self) -> list[Job[R]]:
        """The next batch: queued jobs in order while their rows fit (always at least one)."""
        batch: list[Job[R]] = []
        rows = 0
        while self._pending:
            job = self._pending[0]
            if job.cancel.is_set() or job.future.done():
                self._pending.popleft()
                continue
            if batch and rows + job.rows > self.max_batch_rows:
                break
            batch.append(self._pending.popleft())
            rows += job.rows
        return batch

    async def _loop(self) -> None:
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            if sum(j.rows for j in self._pending) < self.max_batch_rows:
                await asyncio.sleep(self.max_wait_seconds)  # let concurrent requests join
            batch = self._take()
            if batch:
                metrics.BATCH_SIZE.observe(len(batch))
                await self._run(batch)

    async def _run(self, batch: list[Job[R]]) -> None:
        loop = asyncio.get_running_loop()

        def resolve(job: Job[R], outcome: object) -> None:
            if job.future.done():
                return
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

        def report(job: Job[R], outcome: object) -> None:
            loop.call_soon_threadsafe(resolve, job, outcome)

        self._running = batch
        try:
            await asyncio.to_thread(self._run_batch, batch, report)
        except Exception as exc:
            logger.exception("batch of %s requests failed", len(batch))
            for job in batch:
                report(job, BackendCrashed(f"generation failed: {type(exc).__name__}: {exc}"))
        finally:
            self._running = []
        # Reports were scheduled before the thread's own completion, so they have run by now.
        for job in batch:
            if not job.future.done() and not job.cancel.is_set():
                job.future.set_exception(BackendCrashed("the batch ended without a result"))
