"""Verifier wrappers used per problem: metering, and recovery of lost verifier sessions.

Built by ``scheduler.Scheduler.context``. ``ResilientVerifier`` hands out virtual, stable
session ids and state handles and records how each state was produced (its parent and the
step, tactic or submission applied). When the verifier reports the session gone
(StateNotFound) or unreachable (BackendUnavailable), it re-opens the session (the client's
channel may route to another replica), replays the operations along the path to each state
it needs, and retries the call once. The loss is counted in the Meter; no budget is charged.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from harcopa.domain import (
    FileCheck,
    FormalProblem,
    Framework,
    Mode,
    ProofComplete,
    ProofState,
    Session,
    StateHandle,
    TacticError,
    TacticResult,
)
from harcopa.errors import BackendUnavailable, HarcopaError, StateNotFound
from harcopa.protocols import Verifier
from harcopa_orchestrator.context import Meter

logger = logging.getLogger(__name__)

T = TypeVar("T")
LOST = (StateNotFound, BackendUnavailable)
#: What a candidate gets when running it lost the verifier's process twice in a row.
CRASHED = TacticError(("the verifier process was lost twice while running this; rejected",))


class MeteredVerifier:
    """Times every call into a Meter (tactic-like calls are also counted)."""

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
        self, problem: FormalProblem, frameworks: Sequence[Framework], mode: Mode = Mode.STRICT
    ) -> Session:
        return await self._timed(self._inner.open_session(problem, frameworks, mode))

    async def apply_step(
        self, state: StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> TacticResult:
        call = self._inner.apply_step(state, goal_index, step, whole=whole)
        return await self._timed(call, tactic=True)

    async def run_tactic(
        self, state: StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> TacticResult:
        call = self._inner.run_tactic(state, goal_index, tactic, ignored_goals=ignored_goals)
        return await self._timed(call, tactic=True)

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> TacticResult:
        call = self._inner.validate_submission(session_id, path, submission)
        return await self._timed(call, tactic=True)

    async def read_submission(self, state: StateHandle) -> str | None:
        return await self._timed(self._inner.read_submission(state))

    async def check_equivalence(self, session_id: str, submission: str) -> str | None:
        return await self._timed(self._inner.check_equivalence(session_id, submission))

    async def check_file(self, text: str, *, timeout_seconds: float = 0.0) -> FileCheck:
        call = self._inner.check_file(text, timeout_seconds=timeout_seconds)
        return await self._timed(call)

    async def delete_states(self, states: Sequence[StateHandle]) -> None:
        await self._timed(self._inner.delete_states(states))

    async def close_session(self, session_id: str) -> None:
        await self._timed(self._inner.close_session(session_id))


@dataclass(frozen=True, slots=True)
class _Op:
    """How a virtual state was produced: ``kind`` is step, tactic or validate."""

    kind: str
    parent: int | None
    goal_index: int = 0
    text: str = ""
    whole: bool = False
    ignored_goals: int = 0
    path: tuple[str, ...] = ()


@dataclass(slots=True)
class _Virtual:
    """One virtual session: its current real session and the record of its states."""

    problem: FormalProblem
    frameworks: tuple[Framework, ...]
    mode: Mode
    real_id: str
    incarnation: int = 0
    roots: dict[Framework, int] = field(default_factory=dict)
    ops: dict[int, _Op] = field(default_factory=dict)
    real: dict[int, StateHandle] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    retry_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ResilientVerifier:
    """A per-problem Verifier that survives lost sessions by re-opening and replaying.

    ``slots`` (shared by all problems) bounds the open sessions: acquired by
    ``open_session``, released by ``close_session``; a re-open after a loss reuses the slot.
    """

    def __init__(
        self, inner: Verifier, meter: Meter, slots: asyncio.Semaphore | None = None
    ) -> None:
        self._inner = inner
        self._meter = meter
        self._slots = slots
        self._sessions: dict[str, _Virtual] = {}
        self._ids = itertools.count()

    async def start(self) -> None:
        """The shared verifier's lifecycle belongs to its owner."""

    async def close(self) -> None:
        await self.close_all()

    async def close_all(self) -> None:
        """Close every session still open (a problem ending early, or cancelled)."""
        for session_id in list(self._sessions):
            await self.close_session(session_id)

    # -- sessions -------------------------------------------------------------------------

    async def open_session(
        self, problem: FormalProblem, frameworks: Sequence[Framework], mode: Mode = Mode.STRICT
    ) -> Session:
        if self._slots is not None:
            await self._slots.acquire()
        try:
            real = await self._inner.open_session(problem, frameworks, mode)
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise
        virtual_id = f"v{next(self._ids)}"
        vs = _Virtual(problem, tuple(frameworks), mode, real.session_id)
        self._sessions[virtual_id] = vs
        states = []
        for kind, state in real.states:
            vid = next(self._ids)
            vs.roots[kind] = vid
            vs.real[vid] = state.handle
            states.append((kind, ProofState(StateHandle(virtual_id, vid), state.goals)))
        return Session(virtual_id, real.parsed, tuple(states))

    async def close_session(self, session_id: str) -> None:
        vs = self._sessions.pop(session_id, None)
        if vs is None:
            raise StateNotFound(f"unknown session {session_id}")
        try:
            await self._inner.close_session(vs.real_id)
        except LOST:
            pass  # already gone with its process
        finally:
            if self._slots is not None:
                self._slots.release()

    def _session(self, session_id: str) -> _Virtual:
        vs = self._sessions.get(session_id)
        if vs is None:
            raise StateNotFound(f"unknown session {session_id}")
        return vs

    async def _recover(self, vs: _Virtual, seen: int, error: Exception) -> None:
        """Re-open the session once per loss (concurrent callers share one recovery)."""
        async with vs.lock:
            if vs.incarnation != seen:
                return
            logger.warning("verifier session %s lost (%s); re-opening", vs.real_id, error)
            try:
                await self._inner.close_session(vs.real_id)
            except HarcopaError:
                pass
            real = await self._inner.open_session(vs.problem, vs.frameworks, vs.mode)
            vs.real_id = real.session_id
            vs.real = {vs.roots[kind]: state.handle for kind, state in real.states}
            vs.incarnation += 1
            self._meter.add_session_lost()

    async def _call(
        self,
        session_id: str,
        call: Callable[[_Virtual], Awaitable[T]],
        rejected: T | None = None,
    ) -> T:
        """``call``, retried once after re-opening a lost session.

        Retries run one at a time, so a tactic that kills the process again is identified:
        when ``rejected`` is given (state-producing calls), that tactic gets ``rejected`` (a
        TacticError: a bad candidate, not a failed problem) and the session is re-opened.
        """
        vs = self._session(session_id)
        seen = vs.incarnation
        try:
            return await call(vs)
        except LOST as error:
            await self._recover(vs, seen, error)
        async with vs.retry_lock:
            seen = vs.incarnation
            try:
                return await call(vs)
            except LOST as error:
                if rejected is None:
                    raise
                await self._recover(vs, seen, error)
                return rejected

    async def _real(self, vs: _Virtual, vid: int) -> StateHandle:
        """The real handle of a virtual state, replaying its path after a loss."""
        handle = vs.real.get(vid)
        if handle is not None:
            return handle
        async with vs.lock:
            chain: list[int] = []
            current: int | None = vid
            while current is not None and current not in vs.real:
                op = vs.ops.get(current)
                if op is None:
                    raise StateNotFound(f"unknown state {vid}")
                chain.append(current)
                current = op.parent
            for node in reversed(chain):
                state = _state_of(await self._replay(vs, vs.ops[node]))
                if state is None:
                    raise BackendUnavailable("replaying the path after a lost session failed")
                vs.real[node] = state.handle
            return vs.real[vid]

    async def _replay(self, vs: _Virtual, op: _Op) -> TacticResult:
        if op.parent is None:  # a validated submission hangs off the session itself
            return await self._inner.validate_submission(vs.real_id, op.path, op.text)
        parent = vs.real[op.parent]
        if op.kind == "step":
            return await self._inner.apply_step(parent, op.goal_index, op.text, whole=op.whole)
        return await self._inner.run_tactic(
            parent, op.goal_index, op.text, ignored_goals=op.ignored_goals
        )

    def _wrap(self, session_id: str, vs: _Virtual, result: TacticResult, op: _Op) -> TacticResult:
        """Give a result state a virtual handle and record how it was produced."""
        state = _state_of(result)
        if state is None:
            return result
        vid = next(self._ids)
        vs.ops[vid] = op
        vs.real[vid] = state.handle
        virtual = ProofState(StateHandle(session_id, vid), state.goals)
        return ProofComplete(virtual) if isinstance(result, ProofComplete) else virtual

    # -- state operations -----------------------------------------------------------------

    async def apply_step(
        self, state: StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> TacticResult:
        op = _Op("step", state.state_id, goal_index, step, whole=whole)

        async def call(vs: _Virtual) -> TacticResult:
            real = await self._real(vs, state.state_id)
            result = await self._inner.apply_step(real, goal_index, step, whole=whole)
            return self._wrap(state.session_id, vs, result, op)

        return await self._call(state.session_id, call, CRASHED)

    async def run_tactic(
        self, state: StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> TacticResult:
        op = _Op("tactic", state.state_id, goal_index, tactic, ignored_goals=ignored_goals)

        async def call(vs: _Virtual) -> TacticResult:
            real = await self._real(vs, state.state_id)
            result = await self._inner.run_tactic(
                real, goal_index, tactic, ignored_goals=ignored_goals
            )
            return self._wrap(state.session_id, vs, result, op)

        return await self._call(state.session_id, call, CRASHED)

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> TacticResult:
        op = _Op("validate", None, text=submission, path=tuple(path))

        async def call(vs: _Virtual) -> TacticResult:
            result = await self._inner.validate_submission(vs.real_id, path, submission)
            return self._wrap(session_id, vs, result, op)

        return await self._call(session_id, call, CRASHED)

    async def read_submission(self, state: StateHandle) -> str | None:
        async def call(vs: _Virtual) -> str | None:
            return await self._inner.read_submission(await self._real(vs, state.state_id))

        return await self._call(state.session_id, call)

    async def check_equivalence(self, session_id: str, submission: str) -> str | None:
        async def call(vs: _Virtual) -> str | None:
            return await self._inner.check_equivalence(vs.real_id, submission)

        return await self._call(session_id, call)

    async def check_file(self, text: str, *, timeout_seconds: float = 0.0) -> FileCheck:
        return await self._inner.check_file(text, timeout_seconds=timeout_seconds)

    async def delete_states(self, states: Sequence[StateHandle]) -> None:
        """Forget the real states (their records stay, so they can still be replayed)."""
        real: list[StateHandle] = []
        for state in states:
            vs = self._sessions.get(state.session_id)
            if vs is not None and state.state_id not in vs.roots.values():
                handle = vs.real.pop(state.state_id, None)
                if handle is not None:
                    real.append(handle)
        if real:
            try:
                await self._inner.delete_states(real)
            except LOST:
                pass


def _state_of(result: TacticResult) -> ProofState | None:
    if isinstance(result, ProofComplete):
        return result.state
    return result if isinstance(result, ProofState) else None
