"""Verifier sessions: a pinned REPL per session, opaque state handles, leases and expiry.

Used by the pool verifier (verifier.py). A session holds the REPL it was opened on until it is
closed, expires, or loses the process (crash or timeout); after that every handle of it
answers StateNotFound. Several sessions may share one process (the pool's
``sessions_per_process``): each sees it through a ``SessionRepl``, whose calls take turns on
the process, so a call's timeout counts only its own work and each session's Lean time is its
own. Nothing a session compiles persists in the process's environment (``frontend.process``
runs on a copy, pantograph-protocol §7.18; sessions never send ``env.add``, ``env.load`` or
``reset``) and each holds only its own state ids, so sessions on one process cannot see each
other's work; a process that dies (a timeout, a crash) loses every session on it. Handles are
session-local numbers mapped to Pantograph state ids, so raw process-local ids never leave
the replica and ids of a dead incarnation never resolve.

Leases: a session opened with a ``client_id`` belongs to that client instance, which renews
its lease (RenewLease, every few seconds) while it runs; when the lease lapses (the client
died or was restarted) every session of the client is closed and its REPLs go back to the
pool within about ``lease_seconds``. Using a session renews its client's lease too. Sessions
without a client id (in-process callers) expire after ``idle_seconds`` unused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from harcopa.domain import Framework, Goal, Lease, Mode, ParsedProblem, ProofState, StateHandle
from harcopa.errors import (
    BackendCrashed,
    DeadlineExceeded,
    FailedPrecondition,
    HarcopaError,
    Overloaded,
    StateNotFound,
)
from harcopa_lean_verifier import metrics
from harcopa_lean_verifier.pool import WAIT_LOG_SECONDS
from harcopa_lean_verifier.repl import Repl
from harcopa_lean_verifier.turns import Rank, Turn

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StateRef:
    """A live proof state: its Pantograph id, its goals, and the framework it descends from."""

    pantograph_id: int
    goals: tuple[Goal, ...]
    origin: Framework


class SessionRepl:
    """One session's view of its pinned process (which other sessions may share): every call
    first waits its turn on the process, behind the calls of lower-ranked sessions (``rank``:
    turns.py), measured in ``harcopa_verifier_acquire_wait_seconds`` with purpose ``turn``
    (and logged past ``WAIT_LOG_SECONDS``); the Lean time of its own calls is summed in
    ``busy_seconds``."""

    def __init__(self, process: Repl, turn: Turn, rank: Rank) -> None:
        self.process = process
        self._turn = turn
        self._rank = rank
        self.busy_seconds = 0.0

    @property
    def alive(self) -> bool:
        """The process runs (a process never comes back once dead: the pool starts a new one)."""
        return self.process.alive

    def __repr__(self) -> str:
        return f"SessionRepl({self.process!r})"

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        turn = self._turn
        if turn.try_acquire():  # the process is free: no wait (the common case)
            metrics.observe_wait("turn", 0.0)
        else:
            asked = time.monotonic()
            await turn.acquire(self._rank)
            waited = time.monotonic() - asked
            metrics.observe_wait("turn", waited)
            if waited > WAIT_LOG_SECONDS:
                logger.info(
                    "a %s waited %.0f s for its turn on %r (shared with other sessions)",
                    name,
                    waited,
                    self.process,
                )
        try:
            before = self.process.busy_seconds
            try:
                return await getattr(self.process, name)(*args, **kwargs)
            finally:
                self.busy_seconds += self.process.busy_seconds - before
        finally:
            turn.release()

    async def frontend_process(
        self, file: str, *, sorrys: bool, timeout_seconds: float
    ) -> list[dict[str, Any]]:
        return await self._call(  # type: ignore[no-any-return]
            "frontend_process", file, sorrys=sorrys, timeout_seconds=timeout_seconds
        )

    async def goal_tactic(
        self,
        state_id: int,
        goal_id: int,
        *,
        tactic: str | None = None,
        draft: str | None = None,
        timeout_seconds: float,
    ) -> dict[str, Any]:
        return await self._call(  # type: ignore[no-any-return]
            "goal_tactic",
            state_id,
            goal_id,
            tactic=tactic,
            draft=draft,
            timeout_seconds=timeout_seconds,
        )

    async def goal_print(
        self,
        state_id: int,
        *,
        goals: bool = False,
        extra_mvars: Sequence[str] = (),
        timeout_seconds: float,
    ) -> dict[str, Any]:
        return await self._call(  # type: ignore[no-any-return]
            "goal_print",
            state_id,
            goals=goals,
            extra_mvars=extra_mvars,
            timeout_seconds=timeout_seconds,
        )

    async def goal_delete(self, state_ids: Sequence[int], *, timeout_seconds: float) -> None:
        await self._call("goal_delete", state_ids, timeout_seconds=timeout_seconds)


@dataclass(eq=False)
class SessionRecord:
    """Server-side state of one session. Operations hold ``lock`` while they use the REPL."""

    session_id: str
    repl: SessionRepl
    mode: Mode
    header: str
    parsed: ParsedProblem
    max_states: int
    answer_mvars: dict[Framework, str] = field(default_factory=dict)
    frameworks: dict[Framework, int] = field(default_factory=dict)
    states: dict[int, StateRef] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    closed: bool = False
    #: The client instance the session belongs to ("" for in-process callers).
    client_id: str = ""
    #: The problem it was opened for (``FormalProblem.problem_id``; its turn rank's key).
    problem_id: str = ""
    #: Lean seconds spent for this session elsewhere (its parse pass on a parsing process).
    extra_lean_seconds: float = 0.0
    _next_handle: int = 0

    @property
    def lean_seconds(self) -> float:
        """Seconds Lean processes worked for this session so far (its own calls only)."""
        return self.extra_lean_seconds + self.repl.busy_seconds

    @property
    def alive(self) -> bool:
        """True while the session's process runs."""
        return self.repl.alive

    def add_state(
        self, pantograph_id: int, goals: tuple[Goal, ...], origin: Framework
    ) -> ProofState:
        """Register a new Pantograph state and return it as a domain ProofState."""
        if len(self.states) >= self.max_states:
            raise FailedPrecondition(
                f"session {self.session_id} holds {len(self.states)} states; delete some first"
            )
        handle = self._next_handle
        self._next_handle += 1
        self.states[handle] = StateRef(pantograph_id, goals, origin)
        return ProofState(StateHandle(self.session_id, handle), goals)

    def resolve(self, handle: StateHandle) -> StateRef:
        ref = self.states.get(handle.state_id)
        if handle.session_id != self.session_id or ref is None:
            raise StateNotFound(f"unknown state {handle.state_id} in session {self.session_id}")
        return ref

    def framework(self, kind: Framework) -> tuple[int, StateRef]:
        """The handle number and state of a framework built at OpenSession."""
        handle = self.frameworks.get(kind)
        if handle is None or handle not in self.states:
            raise FailedPrecondition(
                f"session {self.session_id} has no live {kind.value} framework state"
            )
        return handle, self.states[handle]

    def touch(self) -> None:
        self.last_used = time.monotonic()


Releaser = Callable[[SessionRecord, bool], Awaitable[None]]


class SessionRegistry:
    """All open sessions of this replica, with a background sweeper closing idle ones.

    ``release(record, destroy)`` gives the record's REPL back to the pool (verifier.py supplies it);
    ``destroy`` is true when the process is dead or must not be reused.
    """

    def __init__(
        self,
        replica_id: str,
        idle_seconds: float,
        release: Releaser,
        *,
        lease_seconds: float = 15.0,
        max_sessions_per_client: int | None = None,
    ) -> None:
        self.replica_id = replica_id
        self.idle_seconds = idle_seconds
        self.lease_seconds = lease_seconds
        self.max_sessions_per_client = max_sessions_per_client
        self._release = release
        self._sessions: dict[str, SessionRecord] = {}
        self._leases: dict[str, float] = {}  # client id -> monotonic expiry
        self._opening: dict[str, int] = {}  # client id -> sessions being opened
        self._sweeper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._sessions)

    def new_id(self) -> str:
        """A globally unique session id naming this replica: ``{replica_id}/{uuid}``."""
        return f"{self.replica_id}/{uuid.uuid4().hex}"

    @contextlib.contextmanager
    def admitting(self, client_id: str) -> Iterator[None]:
        """Around opening a session for ``client_id``: Overloaded past the per-client cap
        (sessions being opened count, so concurrent opens cannot overshoot it)."""
        cap = self.max_sessions_per_client
        held = self.count(client_id) + self._opening.get(client_id, 0)
        if client_id and cap is not None and held >= cap:
            raise Overloaded(
                f"client {client_id[:40]} already holds {cap} sessions on this replica "
                "(max_sessions_per_client)"
            )
        self._opening[client_id] = self._opening.get(client_id, 0) + 1
        try:
            yield
        finally:
            self._opening[client_id] -= 1
            if not self._opening[client_id]:
                del self._opening[client_id]

    def count(self, client_id: str) -> int:
        return sum(1 for r in self._sessions.values() if r.client_id == client_id)

    def add(self, record: SessionRecord) -> None:
        self._sessions[record.session_id] = record
        if record.client_id:
            self._renew(record.client_id)

    def _renew(self, client_id: str) -> None:
        self._leases[client_id] = time.monotonic() + self.lease_seconds

    async def renew(self, client_id: str, *, release: bool = False) -> Lease:
        """Extend the client's lease; with ``release``, close its sessions now."""
        if release:
            self._leases.pop(client_id, None)
            mine = [r for r in self._sessions.values() if r.client_id == client_id]
            for record in mine:
                async with record.lock:
                    await self.drop(record, destroy=not record.alive, reason="client released")
            return Lease(0, 0.0)
        self._renew(client_id)
        return Lease(self.count(client_id), self.lease_seconds)

    def get(self, session_id: str) -> SessionRecord:
        record = self._sessions.get(session_id)
        if record is None or record.closed:
            raise StateNotFound(f"unknown or expired session {session_id!r}")
        return record

    @contextlib.asynccontextmanager
    async def use(self, session_id: str) -> AsyncIterator[SessionRecord]:
        """Hold a live session for one operation.

        A crash (or an unconverted timeout) during the operation loses the session: its REPL
        is destroyed and the call fails with StateNotFound (crash) or DeadlineExceeded. A call
        cut off (cancelled) loses the session too, but destroys the process only if it was
        cut off inside a Lean command (which kills it); the process's other sessions go on.
        """
        record = self.get(session_id)
        async with record.lock:
            if record.closed:
                raise StateNotFound(f"session {session_id!r} was closed")
            if not record.alive:
                await self.drop(record, destroy=True, reason="its Lean process exited")
                raise StateNotFound(f"session {session_id!r} lost its Lean process")
            record.touch()
            if record.client_id:
                self._renew(record.client_id)
            try:
                yield record
            except BackendCrashed as exc:
                await self.drop(record, destroy=True, reason="its Lean process crashed")
                raise StateNotFound(f"session {session_id!r} lost: {exc}") from exc
            except DeadlineExceeded:
                await self.drop(record, destroy=True, reason="a call was cut off")
                raise
            except asyncio.CancelledError:
                await self.drop(record, destroy=not record.alive, reason="a call was cut off")
                raise
            finally:
                record.touch()

    async def drop(self, record: SessionRecord, *, destroy: bool, reason: str) -> None:
        """Forget a session and hand its REPL back (destroyed when ``destroy``); idempotent."""
        if record.closed:
            return
        record.closed = True
        self._sessions.pop(record.session_id, None)
        log = logger.info if destroy else logger.debug
        log("session %s closed: %s", record.session_id, reason)
        await self._release(record, destroy)

    async def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="session-sweeper")

    async def close(self) -> None:
        """Stop the sweeper and close every session (their REPLs go back to the pool)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for record in list(self._sessions.values()):
            await self.drop(record, destroy=False, reason="verifier shutting down")

    def _expired(self, record: SessionRecord, now: float) -> str | None:
        """Why ``record`` must be closed now (None: it may live on)."""
        if record.client_id:
            if self._leases.get(record.client_id, 0.0) < now:
                return "its client stopped renewing its lease"
            return None
        if record.last_used < now - self.idle_seconds:
            return "idle expiry"
        return None

    async def sweep(self) -> int:
        """Close sessions whose lease lapsed or that sat idle; returns how many were closed."""
        now = time.monotonic()
        doomed = [r for r in self._sessions.values() if self._expired(r, now) is not None]
        for record in doomed:
            if record.lock.locked():
                continue  # in use: its client is alive (using a session renews the lease)
            async with record.lock:
                reason = self._expired(record, time.monotonic())
                if not record.closed and reason is not None:
                    await self.drop(record, destroy=not record.alive, reason=reason)
        for client, expiry in list(self._leases.items()):
            if expiry < now and not self.count(client):
                del self._leases[client]
        return len(doomed)

    async def _sweep_forever(self) -> None:
        period = max(0.05, min(self.idle_seconds / 4, self.lease_seconds / 4, 5.0))
        while True:
            await asyncio.sleep(period)
            try:
                await self.sweep()
            except (HarcopaError, OSError):  # one failed release must not stop expiry
                logger.exception("session sweep failed")
