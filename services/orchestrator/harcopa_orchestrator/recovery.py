"""Recovery of lost verifier sessions: the per-problem ``ResilientVerifier``.

Built by ``scheduler.Scheduler.context`` over the metered verifier. It hands out virtual,
stable session ids and state handles and records how each state was produced (its parent and
the step, tactic or submission applied). When the verifier reports the session gone
(StateNotFound) or unreachable (BackendUnavailable), it re-opens the session (the
client's channel may route to another replica or a fresh process), replays the operations along
the path to each state it needs, and retries the call once. The loss is counted in the Meter and
no budget is charged. A call that loses the session a second time raises ``SessionLost``: the
attempt is errored (an infrastructure failure), never a rejected candidate.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from harcopa.domain import (
    Draft,
    Equivalence,
    FileCheck,
    FormalProblem,
    Framework,
    Lease,
    Mode,
    ProofComplete,
    ProofState,
    Session,
    StateHandle,
    TacticResult,
    Validation,
    VerifierInfo,
    state_of,
)
from harcopa.errors import BackendUnavailable, HarcopaError, StateNotFound
from harcopa.protocols import Verifier
from harcopa_orchestrator.metering import Meter, SlotPool, acquire

logger = logging.getLogger(__name__)

T = TypeVar("T")
LOST = (StateNotFound, BackendUnavailable)


class SessionLost(BackendUnavailable):
    """The verifier lost a session again while a call was retried after re-opening it."""


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

    def __init__(self, inner: Verifier, meter: Meter, slots: SlotPool | None = None) -> None:
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
        self,
        problem: FormalProblem,
        frameworks: Sequence[Framework],
        mode: Mode = Mode.STRICT,
        *,
        imports: Sequence[str] = (),
        client_id: str = "",
    ) -> Session:
        if self._slots is not None:
            await acquire(self._slots, self._meter, "session", problem.problem_id)
        try:
            real = await self._inner.open_session(
                problem, frameworks, mode, imports=imports, client_id=client_id
            )
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
        return Session(virtual_id, real.parsed, tuple(states), real.replica_id)

    async def close_session(self, session_id: str) -> float:
        vs = self._sessions.pop(session_id, None)
        if vs is None:
            raise StateNotFound(f"unknown session {session_id}")
        try:
            return await self._inner.close_session(vs.real_id)
        except LOST:
            return 0.0  # already gone with its process
        finally:
            if self._slots is not None:
                self._slots.release()

    async def renew_lease(self, client_id: str, *, release: bool = False) -> Lease:
        return await self._inner.renew_lease(client_id, release=release)

    async def describe(self) -> VerifierInfo:
        return await self._inner.describe()

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

    async def _call(self, session_id: str, call: Callable[[_Virtual], Awaitable[T]]) -> T:
        """``call``, retried once after re-opening a lost session.

        Retries run one at a time, so a call that loses the session again is identified: it
        raises SessionLost (the attempt errors) and the session is re-opened for the others.
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
                await self._recover(vs, seen, error)
                raise SessionLost(
                    f"the verifier lost the session twice during one call: {error}"
                ) from error

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
                state = state_of(await self._replay(vs, vs.ops[node]))
                if state is None:
                    raise BackendUnavailable("replaying the path after a lost session failed")
                vs.real[node] = state.handle
            return vs.real[vid]

    async def _replay(self, vs: _Virtual, op: _Op) -> TacticResult:
        if op.parent is None:  # a validated submission hangs off the session itself
            validation = await self._inner.validate_submission(vs.real_id, op.path, op.text)
            return validation.result
        parent = vs.real[op.parent]
        if op.kind == "step":
            draft = await self._inner.apply_step(parent, op.goal_index, op.text, whole=op.whole)
            return draft.result
        return await self._inner.run_tactic(
            parent, op.goal_index, op.text, ignored_goals=op.ignored_goals
        )

    def _wrap(self, session_id: str, vs: _Virtual, result: TacticResult, op: _Op) -> TacticResult:
        """Give a result state a virtual handle and record how it was produced."""
        state = state_of(result)
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
    ) -> Draft:
        op = _Op("step", state.state_id, goal_index, step, whole=whole)

        async def call(vs: _Virtual) -> Draft:
            real = await self._real(vs, state.state_id)
            draft = await self._inner.apply_step(real, goal_index, step, whole=whole)
            return Draft(self._wrap(state.session_id, vs, draft.result, op), draft.gap_count)

        return await self._call(state.session_id, call)

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

        return await self._call(state.session_id, call)

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> Validation:
        op = _Op("validate", None, text=submission, path=tuple(path))

        async def call(vs: _Virtual) -> Validation:
            validation = await self._inner.validate_submission(vs.real_id, path, submission)
            result = self._wrap(session_id, vs, validation.result, op)
            return Validation(result, validation.submission)

        return await self._call(session_id, call)

    async def read_submission(self, state: StateHandle) -> str | None:
        async def call(vs: _Virtual) -> str | None:
            return await self._inner.read_submission(await self._real(vs, state.state_id))

        return await self._call(state.session_id, call)

    async def check_equivalence(self, session_id: str, submission: str) -> Equivalence:
        async def call(vs: _Virtual) -> Equivalence:
            return await self._inner.check_equivalence(vs.real_id, submission)

        return await self._call(session_id, call)

    async def check_file(
        self, text: str, *, timeout_seconds: float = 0.0, imports: Sequence[str] = ()
    ) -> FileCheck:
        return await self._inner.check_file(text, timeout_seconds=timeout_seconds, imports=imports)

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
