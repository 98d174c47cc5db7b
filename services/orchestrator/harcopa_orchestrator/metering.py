"""Cost accounting of one problem: the Meter and the metered Generator and Verifier wrappers.

Built per problem by ``scheduler.Scheduler.context``. Every model call waits for a shared
model slot and is timed; every verifier call is timed; Lean process-busy seconds come back
from the verifier (sessions report theirs when closed, RPE and file checks with their answer).
Waiting for a slot longer than ``WAIT_LOG_SECONDS`` is logged and counted in metrics, so no
wait is silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TypeVar

from harcopa.domain import (
    Draft,
    Equivalence,
    FileCheck,
    FormalProblem,
    Framework,
    Generation,
    Lease,
    Mode,
    Prompt,
    SamplingParams,
    SearchStats,
    Session,
    StateHandle,
    TacticResult,
    TokenUsage,
    Validation,
    VerifierInfo,
)
from harcopa.protocols import Generator, Verifier
from harcopa_orchestrator.metrics import LONG_WAITS, WAIT_LOG_SECONDS, WAIT_SECONDS

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Meter:
    """Cost accounting of one problem: model calls, tokens, seconds, expansions, lost sessions.

    The metered wrappers feed it; algorithms add expansions. Model and verifier seconds are the
    wall time of the calls themselves (waiting for a slot is ``wait_seconds``); Lean seconds
    are the process-busy time the verifier reports.
    """

    def __init__(self) -> None:
        self.expansions = 0
        self.model_calls = 0
        self.tactic_calls = 0
        self.usage = TokenUsage()
        self.generator_seconds = 0.0
        self.verifier_seconds = 0.0
        self.lean_seconds = 0.0
        self.wait_seconds = 0.0
        self.sessions_lost = 0

    def add_generation(self, generation: Generation, seconds: float) -> None:
        self.model_calls += 1
        self.usage = self.usage + generation.usage
        self.generator_seconds += seconds

    def add_verifier_call(self, seconds: float, *, tactic: bool) -> None:
        self.verifier_seconds += seconds
        self.tactic_calls += int(tactic)

    def add_lean(self, seconds: float) -> None:
        self.lean_seconds += seconds

    def add_wait(self, seconds: float) -> None:
        self.wait_seconds += seconds

    def add_expansion(self) -> None:
        self.expansions += 1

    def add_session_lost(self) -> None:
        self.sessions_lost += 1

    def snapshot(self) -> SearchStats:
        return SearchStats(
            expansions=self.expansions,
            model_calls=self.model_calls,
            tactic_calls=self.tactic_calls,
            usage=self.usage,
            generator_seconds=self.generator_seconds,
            verifier_seconds=self.verifier_seconds,
            sessions_lost=self.sessions_lost,
            lean_seconds=self.lean_seconds,
            wait_seconds=self.wait_seconds,
        )


def stats_since(meter: Meter, before: SearchStats) -> SearchStats:
    """The stats accumulated in ``meter`` since the snapshot ``before``."""
    return meter.snapshot() - before


class Slots:
    """A bounded pool of identical slots whose size can change while in use (a semaphore that
    can grow or shrink: the verifier's session capacity changes as replicas scale). FIFO."""

    def __init__(self, capacity: int) -> None:
        self._capacity = max(1, capacity)
        self._used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def in_use(self) -> int:
        return self._used

    def resize(self, capacity: int) -> None:
        """Allow ``capacity`` holders from now on (holders beyond it keep their slots)."""
        self._capacity = max(1, capacity)
        self._wake()

    async def acquire(self) -> None:
        while self._used >= self._capacity or (self._waiters and not self._waiters[0].done()):
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                self._waiters.remove(waiter)
                self._wake()  # a wake-up this waiter received goes to the next one
                raise
            self._waiters.remove(waiter)
            if self._used < self._capacity:
                break
        self._used += 1

    def release(self) -> None:
        self._used -= 1
        self._wake()

    def _wake(self) -> None:
        """Wake as many waiters, in order, as there are free slots (no await)."""
        free = self._capacity - self._used
        for waiter in self._waiters:
            if free <= 0:
                break
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


SlotPool = asyncio.Semaphore | Slots


async def acquire(slots: SlotPool, meter: Meter | None, kind: str, what: str = "") -> None:
    """Acquire one of ``slots``; the wait is measured (metrics, the meter) and logged when it
    passes ``WAIT_LOG_SECONDS`` (when it starts to, and how long it took)."""
    started = time.monotonic()
    label = f" ({what})" if what else ""
    acquiring = asyncio.ensure_future(slots.acquire())
    try:
        done, _ = await asyncio.wait({acquiring}, timeout=WAIT_LOG_SECONDS)
        if not done:
            logger.info("waiting for a free %s slot%s", kind, label)
            await acquiring
    except BaseException:
        if acquiring.done() and not acquiring.cancelled() and acquiring.exception() is None:
            slots.release()
        else:
            acquiring.cancel()
        raise
    seconds = time.monotonic() - started
    WAIT_SECONDS.labels(kind).observe(seconds)
    if seconds > WAIT_LOG_SECONDS:
        LONG_WAITS.labels(kind).inc()
        logger.info("waited %.1f s for a %s slot%s", seconds, kind, label)
    if meter is not None:
        meter.add_wait(seconds)


@contextlib.asynccontextmanager
async def waited(
    slots: SlotPool, meter: Meter | None, kind: str, what: str = ""
) -> AsyncIterator[None]:
    """Hold one of ``slots`` for the body, acquired with :func:`acquire`."""
    await acquire(slots, meter, kind, what)
    try:
        yield
    finally:
        slots.release()


def attempt_seed(run_seed: int | None, attempt_index: int) -> int | None:
    """The sampling seed of one attempt of a problem: derived from the run's seed and the
    attempt's index, so an attempt redone after a failure or a restart samples as it would
    have the first time."""
    if run_seed is None:
        return None
    digest = hashlib.blake2b(f"{run_seed}/attempt/{attempt_index}".encode(), digest_size=4)
    return int.from_bytes(digest.digest(), "big") & 0x7FFFFFFF


class MeteredGenerator:
    """A Generator that waits for a shared model slot, meters the call and seeds sampling.

    With a seed, each request gets a seed derived from (seed, prompt, how many times this
    prompt was sampled before), so results do not depend on the interleaving of problems or of
    the calls inside an attempt; ``reseed`` starts an attempt (``attempt_seed``).
    """

    def __init__(
        self, inner: Generator, slots: asyncio.Semaphore, meter: Meter, seed: int | None
    ) -> None:
        self._inner = inner
        self._slots = slots
        self._meter = meter
        self._seed = seed
        self._uses: dict[str, int] = {}

    async def start(self) -> None:
        """The shared generator's lifecycle belongs to its owner."""

    async def close(self) -> None:
        """The shared generator's lifecycle belongs to its owner."""

    def reseed(self, seed: int | None) -> None:
        """Start sampling afresh from ``seed`` (a new attempt)."""
        self._seed = seed
        self._uses.clear()

    def _seeded(self, prompt: Prompt, params: SamplingParams) -> SamplingParams:
        if self._seed is None or params.seed is not None:
            return params
        text = prompt.text or "\n".join(f"{m.role}:{m.content}" for m in prompt.messages)
        key = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        use = self._uses.get(key, 0)
        self._uses[key] = use + 1
        digest = hashlib.blake2b(f"{self._seed}/{key}/{use}".encode(), digest_size=4).digest()
        return dataclasses.replace(params, seed=int.from_bytes(digest, "big") & 0x7FFFFFFF)

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        params = self._seeded(prompt, params)
        async with waited(self._slots, self._meter, "model"):
            started = time.monotonic()
            generation = await self._inner.generate(prompt, params)
            self._meter.add_generation(generation, time.monotonic() - started)
        return generation


class MeteredVerifier:
    """Times every call into a Meter (tactic-like calls are also counted) and collects the Lean
    seconds the verifier reports."""

    def __init__(self, inner: Verifier, meter: Meter) -> None:
        self._inner = inner
        self._meter = meter

    async def _timed(self, call: Awaitable[T], *, tactic: bool = False) -> T:
        started = time.monotonic()
        try:
            return await call
        finally:
            self._meter.add_verifier_call(time.monotonic() - started, tactic=tactic)

    async def start(self) -> None:
        """The shared verifier's lifecycle belongs to its owner."""

    async def close(self) -> None:
        """The shared verifier's lifecycle belongs to its owner."""

    async def open_session(
        self,
        problem: FormalProblem,
        frameworks: Sequence[Framework],
        mode: Mode = Mode.STRICT,
        *,
        imports: Sequence[str] = (),
        client_id: str = "",
    ) -> Session:
        call = self._inner.open_session(
            problem, frameworks, mode, imports=imports, client_id=client_id
        )
        return await self._timed(call)

    async def apply_step(
        self, state: StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> Draft:
        call = self._inner.apply_step(state, goal_index, step, whole=whole)
        return await self._timed(call, tactic=True)

    async def run_tactic(
        self, state: StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> TacticResult:
        call = self._inner.run_tactic(state, goal_index, tactic, ignored_goals=ignored_goals)
        return await self._timed(call, tactic=True)

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> Validation:
        call = self._inner.validate_submission(session_id, path, submission)
        return await self._timed(call, tactic=True)

    async def read_submission(self, state: StateHandle) -> str | None:
        return await self._timed(self._inner.read_submission(state))

    async def check_equivalence(self, session_id: str, submission: str) -> Equivalence:
        equivalence = await self._timed(self._inner.check_equivalence(session_id, submission))
        self._meter.add_lean(equivalence.lean_seconds)
        return equivalence

    async def check_file(
        self, text: str, *, timeout_seconds: float = 0.0, imports: Sequence[str] = ()
    ) -> FileCheck:
        call = self._inner.check_file(text, timeout_seconds=timeout_seconds, imports=imports)
        check = await self._timed(call)
        self._meter.add_lean(check.seconds)
        return check

    async def delete_states(self, states: Sequence[StateHandle]) -> None:
        await self._timed(self._inner.delete_states(states))

    async def close_session(self, session_id: str) -> float:
        seconds = await self._timed(self._inner.close_session(session_id))
        self._meter.add_lean(seconds)
        return seconds

    async def renew_lease(self, client_id: str, *, release: bool = False) -> Lease:
        return await self._inner.renew_lease(client_id, release=release)

    async def describe(self) -> VerifierInfo:
        return await self._inner.describe()
