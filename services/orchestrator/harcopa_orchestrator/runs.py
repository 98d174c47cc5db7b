"""The run manager: starts, resumes, cancels and watches runs; called by the orchestrator servicer.

A run is a pipeline over a list of problems. Each problem is solved by a ``ProblemSolver``
(the scheduler in production); every attempt is persisted the moment it finishes and every
problem's result immediately. State transitions of a run:

    PENDING -> RUNNING -> SUCCEEDED | INCOMPLETE | FAILED | CANCELLED | INTERRUPTED
    INCOMPLETE | FAILED | INTERRUPTED -> (ResumeRun) PENDING -> RUNNING -> ...

Honest outcomes: a problem whose latest attempt ended in an infrastructure failure is
*errored*, never unsolved. It is retried ``problem_retries`` times with exponential backoff;
a run that still has errored problems at the end is INCOMPLETE (they are listed on the run)
and resuming it retries them. Only SUCCEEDED runs have final numbers.

Shutting the orchestrator down leaves RUNNING runs as they are (or marks them INTERRUPTED when
``interrupt_on_close``, as a local evaluation does), so ``start()`` of the next process resumes
them when ``resume_on_start``: finished problems are skipped, errored ones redone, nothing is
lost or duplicated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

from harcopa import domain as d
from harcopa import errors
from harcopa_orchestrator import metrics
from harcopa_orchestrator.store import RunStore

logger = logging.getLogger(__name__)

AttemptSink = Callable[[d.Attempt], Awaitable[None]]


class ProblemSolver(Protocol):
    """Solves one problem of a run; calls ``on_attempt`` as each attempt ends. ``prior`` are
    the attempts an earlier process already finished on it (empty unless resuming)."""

    async def solve(
        self,
        spec: d.RunSpec,
        problem: d.FormalProblem,
        on_attempt: AttemptSink,
        prior: tuple[d.Attempt, ...] = (),
    ) -> d.ProblemResult: ...


ProblemLoader = Callable[[d.RunSpec], Sequence[d.FormalProblem]]

WATCH_QUEUE_SIZE = 1024
#: Seconds between the snapshots a watcher gets while no problem finishes.
WATCH_HEARTBEAT_SECONDS = 10.0


class RunManager:
    def __init__(
        self,
        store: RunStore,
        load_problems: ProblemLoader,
        solver: ProblemSolver,
        *,
        max_active_runs: int = 8,
        max_active_runs_per_caller: int = 4,
        check_models: Callable[[d.ModelRef], None] | None = None,
        problem_retries: int = 2,
        retry_backoff_seconds: float = 5.0,
        resume_on_start: bool = True,
        interrupt_on_close: bool = False,
    ) -> None:
        self.store = store
        self.load_problems = load_problems
        self.solver = solver
        self.max_active_runs = max_active_runs
        self.max_active_runs_per_caller = max_active_runs_per_caller
        self.check_models = check_models
        self._callers: dict[str, str] = {}
        self.problem_retries = problem_retries
        self.retry_backoff_seconds = retry_backoff_seconds
        self.resume_on_start = resume_on_start
        self.interrupt_on_close = interrupt_on_close
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._in_flight: dict[str, int] = {}  # problems being solved, per run
        self._watchers: dict[str, set[asyncio.Queue[d.RunEvent]]] = {}
        self._cancelled: set[str] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Resume every run that was pending or running when the last process stopped."""
        metrics.set_run_counts(await self.store.run_counts())
        if not self.resume_on_start:
            return
        for run in await self.store.list_runs([d.RunStatus.PENDING, d.RunStatus.RUNNING]):
            logger.info("resuming run %s", run.run_id)
            self._launch(run.run_id, run.spec)

    async def close(self) -> None:
        """Stop executing; runs stay RUNNING (resumed on the next start) or, with
        ``interrupt_on_close``, become INTERRUPTED (resumed only on request)."""
        running = dict(self._tasks)
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        self._tasks.clear()
        if self.interrupt_on_close:
            for run_id in running:
                if run_id not in self._cancelled:
                    await self._set_status(run_id, d.RunStatus.INTERRUPTED)
                    logger.info("run %s interrupted; resume it with ResumeRun", run_id)

    async def _set_status(self, run_id: str, status: d.RunStatus, error: str = "") -> None:
        """Change a run's status and publish the per-status run counts."""
        await self.store.set_status(run_id, status, error)
        metrics.set_run_counts(await self.store.run_counts())

    # ------------------------------------------------------------------ API

    async def start_run(self, spec: d.RunSpec, *, caller: str = "") -> d.Run:
        """Create and launch a run; Overloaded when too many runs (of this caller) are active."""
        active = [run_id for run_id, task in self._tasks.items() if not task.done()]
        if len(active) >= self.max_active_runs:
            raise errors.Overloaded(
                f"{len(active)} runs are active (limit {self.max_active_runs})",
                retry_after_seconds=60.0,
            )
        mine = sum(1 for run_id in active if self._callers.get(run_id) == caller)
        if caller and mine >= self.max_active_runs_per_caller:
            raise errors.Overloaded(
                f"{mine} runs of this caller are active (limit {self.max_active_runs_per_caller}"
                " per caller); wait for one to end or cancel one",
                retry_after_seconds=60.0,
            )
        if self.check_models is not None:
            self.check_models(spec.solver)
            if spec.prover is not None:
                self.check_models(spec.prover)
        problems = self.load_problems(spec)  # raises InvalidRequest for a bad benchmark/index
        run_id = uuid.uuid4().hex[:12]
        run = await self.store.create_run(run_id, spec, len(problems), caller)
        metrics.set_run_counts(await self.store.run_counts())
        self._callers[run_id] = caller
        self._launch(run_id, spec)
        return run

    async def get_run(self, run_id: str) -> d.Run:
        run = await self.store.get_run(run_id)
        if run is None:
            raise errors.StateNotFound(f"no run {run_id!r}")
        in_flight = self._in_flight.get(run_id, 0)
        if in_flight:
            progress = dataclasses.replace(run.progress, problems_in_flight=in_flight)
            run = dataclasses.replace(run, progress=progress)
        return run

    async def list_runs(
        self, statuses: Sequence[d.RunStatus] = (), *, limit: int = 100
    ) -> list[d.Run]:
        return await self.store.list_runs(statuses, limit=limit)

    async def resume_run(self, run_id: str) -> d.Run:
        """Continue a resumable run (incomplete, interrupted, failed): its errored and
        unfinished problems are tried again, with today's configuration."""
        run = await self.get_run(run_id)
        if run_id in self._tasks:
            return run  # already executing
        if not (run.status.resumable or run.status is d.RunStatus.RUNNING):
            raise errors.FailedPrecondition(
                f"run {run_id} is {run.status.value}; only incomplete, interrupted or failed runs"
                " can be resumed"
            )
        await self._set_status(run_id, d.RunStatus.PENDING)
        self._launch(run_id, run.spec)
        return await self.get_run(run_id)

    async def cancel_run(self, run_id: str) -> d.Run:
        run = await self.get_run(run_id)
        if run.status.finished:
            return run
        self._cancelled.add(run_id)
        task = self._tasks.get(run_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._set_status(run_id, d.RunStatus.CANCELLED)
        await self._publish(run_id)
        return await self.get_run(run_id)

    async def problem_result(self, run_id: str, problem_id: str) -> d.ProblemResult:
        await self.get_run(run_id)
        result = await self.store.result(run_id, problem_id)
        if result is not None:
            return result
        attempts = await self.store.attempts(run_id, problem_id)
        if not attempts:
            raise errors.StateNotFound(f"run {run_id!r} has no result for {problem_id!r} yet")
        run = await self.get_run(run_id)  # unfinished: report the attempts so far
        return d.ProblemResult(
            problem_id, run.spec.pipeline.value, run.spec.mode.value, tuple(attempts)
        )

    async def watch(self, run_id: str) -> AsyncIterator[d.RunEvent]:
        """A snapshot event, then one event per finished problem and a fresh snapshot every
        :data:`WATCH_HEARTBEAT_SECONDS` without one (elapsed time, rate, ETA), until the run
        ends."""
        queue: asyncio.Queue[d.RunEvent] = asyncio.Queue(WATCH_QUEUE_SIZE)
        self._watchers.setdefault(run_id, set()).add(queue)  # before the snapshot: miss nothing
        try:
            run = await self.get_run(run_id)
            yield d.RunEvent(run_id, run.status, run.progress, unix_time=time.time())
            if run.status.finished:
                return
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), WATCH_HEARTBEAT_SECONDS)
                except TimeoutError:
                    run = await self.get_run(run_id)
                    event = d.RunEvent(run_id, run.status, run.progress, unix_time=time.time())
                yield event
                if event.status.finished:
                    return
        finally:
            self._watchers.get(run_id, set()).discard(queue)

    # ------------------------------------------------------------------ execution

    def _launch(self, run_id: str, spec: d.RunSpec) -> None:
        task = asyncio.create_task(self._execute(run_id, spec), name=f"run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(run_id, None))

    async def _execute(self, run_id: str, spec: d.RunSpec) -> None:
        try:
            problems = self.load_problems(spec)
            done = await self.store.finished_problems(run_id)
            todo = [p for p in problems if p.problem_id not in done]
            await self._set_status(run_id, d.RunStatus.RUNNING)
            await self._publish(run_id)
            limit = asyncio.Semaphore(max(1, spec.max_concurrent_problems))

            async def one(problem: d.FormalProblem) -> None:
                async with limit:
                    self._in_flight[run_id] = self._in_flight.get(run_id, 0) + 1
                    try:
                        await self._solve_one(run_id, spec, problem)
                    finally:
                        self._in_flight[run_id] -= 1

            async with asyncio.TaskGroup() as group:
                for problem in todo:
                    group.create_task(one(problem))
        except asyncio.CancelledError:
            raise  # shutdown or CancelRun: the status is set by whoever cancelled
        except Exception as exc:  # the run itself broke (e.g. its benchmark vanished)
            logger.exception("run %s failed", run_id)
            await self._set_status(run_id, d.RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            await self._publish(run_id)
            return
        errored = await self.store.errored_problems(run_id)
        if errored:
            why = f"{len(errored)} problems errored (infrastructure failures); resume the run"
            logger.warning("run %s incomplete: %s", run_id, ", ".join(errored[:20]))
            await self._set_status(run_id, d.RunStatus.INCOMPLETE, why)
        else:
            await self._set_status(run_id, d.RunStatus.SUCCEEDED)
        await self._publish(run_id)

    async def _solve_one(self, run_id: str, spec: d.RunSpec, problem: d.FormalProblem) -> None:
        """Solve and persist one problem; an errored problem is retried with backoff."""
        for retry in range(self.problem_retries + 1):
            result = await self._attempt_problem(run_id, spec, problem, retry)
            await self.store.record_result(run_id, result)
            metrics.PROBLEMS_FINISHED.labels(spec.pipeline.value, result.status.value).inc()
            errored = result.status is d.ProblemStatus.ERRORED
            await self._publish(
                run_id, problem_id=problem.problem_id, solved=result.solved, errored=errored
            )
            if not errored or retry == self.problem_retries:
                return
            delay = min(self.retry_backoff_seconds * 2**retry, 300.0)
            detail = result.attempts[-1].detail if result.attempts else ""
            logger.warning(
                "problem %s of run %s errored (%s); retry %d of %d in %.0f s",
                problem.problem_id,
                run_id,
                detail[:200],
                retry + 1,
                self.problem_retries,
                delay,
            )
            await asyncio.sleep(delay)

    async def _attempt_problem(
        self, run_id: str, spec: d.RunSpec, problem: d.FormalProblem, retry: int
    ) -> d.ProblemResult:
        """One go at a problem, continuing from its stored attempts; an infrastructure
        failure that escapes the search becomes an errored attempt."""

        async def sink(attempt: d.Attempt) -> None:
            await self.store.record_attempt(run_id, problem.problem_id, attempt)

        started = time.monotonic()
        prior = tuple(await self.store.attempts(run_id, problem.problem_id))
        try:
            result = await self.solver.solve(spec, problem, sink, prior)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # infrastructure failure that survived the retries
            logger.warning("problem %s of run %s failed: %s", problem.problem_id, run_id, exc)
            attempts = await self.store.attempts(run_id, problem.problem_id)
            kept = [a for a in attempts if not a.errored]
            failure = d.Attempt(
                index=len(kept),
                outcome=d.AttemptOutcome.ERROR,
                detail=f"{type(exc).__name__}: {exc}",
            )
            result = d.ProblemResult(
                problem.problem_id,
                spec.pipeline.value,
                spec.mode.value,
                (*kept, failure),
                time.monotonic() - started,
            )
        return dataclasses.replace(result, retries=retry)

    async def _publish(
        self, run_id: str, *, problem_id: str = "", solved: bool = False, errored: bool = False
    ) -> None:
        watchers = self._watchers.get(run_id)
        if not watchers:
            return
        run = await self.get_run(run_id)
        event = d.RunEvent(
            run_id, run.status, run.progress, problem_id, solved, time.time(), errored
        )
        for queue in watchers:
            if queue.full():  # a slow watcher loses the oldest progress event, never the last
                queue.get_nowait()
            queue.put_nowait(event)
