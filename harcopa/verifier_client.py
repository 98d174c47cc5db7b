"""VerifierClient: the ``Verifier`` protocol over gRPC, used by the orchestrator, CLI and tests.

Every call goes through the generated VerifierService stub; failed calls come back as
harcopa.errors exceptions (NOT_FOUND -> StateNotFound, INVALID_ARGUMENT -> InvalidRequest,
...). A rejected tactic is a TacticResult, never an exception.

Each client instance has a ``client_id``; the sessions it opens belong to it, and a background
task renews its lease on every replica holding one of them every ``lease_renew_seconds``. When
the client stops (``close``) it releases them; when its process dies the verifier closes them
once the lease lapses, so a restarted orchestrator never waits on its predecessor's REPLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc

from harcopa import domain as d
from harcopa import errors, wire
from harcopa.channels import RECONNECT_SECONDS, auth_metadata, reconnecting
from harcopa.replicas import ReplicaSet
from harcopa.v1 import verifier_pb2 as pb
from harcopa.v1 import verifier_pb2_grpc as pb_grpc
from harcopa.verifier_stream import CALLS, SessionStream

logger = logging.getLogger(__name__)

SERVICE = "harcopa.v1.VerifierService"
#: The longest RPE check: statement plus five tactics at the paper-mode limit, and room to answer.
RPE_DEADLINE_SECONDS = 6 * 300.0 + 30.0
T = TypeVar("T")


class VerifierClient:
    """Implements harcopa.protocols.Verifier against a VerifierService at ``target``.

    ``timeout_seconds`` is the default gRPC deadline of each call (None: no deadline).
    """

    def __init__(
        self,
        target: str,
        token: str | None = None,
        *,
        timeout_seconds: float | None = 600.0,
        retries: bool = True,
        lease_renew_seconds: float = 3.0,
        credentials: grpc.ChannelCredentials | None = None,
        reconnect_seconds: float = RECONNECT_SECONDS,
        open_wait_seconds: float = 600.0,
        streams: bool = True,
    ) -> None:
        """``target``: ``host:port``, ``dns:///name:port`` (every replica the name resolves
        to) or ``ipv4:a:port,b:port``; sessions are pinned to the replica that opened them.
        ``streams``: send session calls (steps, tactics, submissions) on one Exchange stream
        per replica (harcopa.verifier_stream) instead of one RPC each; replicas without
        Exchange get unary calls either way."""
        self.target = target
        self.client_id = uuid.uuid4().hex
        self.replicas = ReplicaSet(
            target, [SERVICE], pb_grpc.VerifierServiceStub, retries=retries, credentials=credentials
        )
        self._metadata = auth_metadata(token)
        self._timeout = timeout_seconds
        self._renew_seconds = lease_renew_seconds
        self._reconnect_seconds = reconnect_seconds
        self._open_wait_seconds = open_wait_seconds
        self._renewer: asyncio.Task[None] | None = None
        self._streams_enabled = streams
        self._streams: dict[Any, SessionStream] = {}

    async def __aenter__(self) -> VerifierClient:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start renewing leases; channels connect lazily on the first call."""
        if self._renewer is None and self._renew_seconds > 0:
            self._renewer = asyncio.create_task(self._renew_forever(), name="verifier-lease")

    async def close(self) -> None:
        """Stop renewing, release this client's sessions on every replica, close channels."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        await self._renew_all(release=True)
        streams, self._streams = self._streams, {}
        for stream in streams.values():
            await stream.close()
        await self.replicas.close()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._renew_seconds)
            await self._renew_all(release=False)

    async def _renew_all(self, *, release: bool) -> None:
        """RenewLease on every replica holding a session of this client (failures logged)."""
        request = pb.RenewLeaseRequest(client_id=self.client_id, release=release)
        for address, stub in self.replicas.holding_sessions():
            try:
                await stub.RenewLease(request, metadata=self._metadata, timeout=5.0)
            except grpc.aio.AioRpcError as exc:
                logger.warning("renewing the verifier lease on %s failed: %s", address, exc.code())

    async def _call(
        self,
        method: Callable[..., Awaitable[T]],
        request: Any,
        deadline: float | None = None,
        *,
        session_id: str | None = None,
        wait: bool = True,
    ) -> T:
        """One unary call; ``deadline`` (seconds) overrides the client's default.

        A call that needs no session waits for a restarting verifier (``reconnect_seconds``);
        a session's call does not (a replica that went away took its sessions with it: the
        caller re-opens the session, on a live replica). A session the replica no longer
        knows is forgotten, so its routing entry does not outlive it.
        """

        def once() -> Awaitable[T]:
            return method(request, metadata=self._metadata, timeout=deadline or self._timeout)

        try:
            if session_id is not None or not wait:
                return await once()
            return await reconnecting(
                once,
                what=f"the verifier at {self.target}",
                reconnect_seconds=self._reconnect_seconds,
            )
        except grpc.aio.AioRpcError as exc:
            raise self._failed(exc, session_id) from exc

    def _failed(self, exc: grpc.aio.AioRpcError, session_id: str | None) -> errors.HarcopaError:
        """The exception a failed call raises; a session its replica no longer knows, or whose
        replica went away with it, is forgotten."""
        error = errors.from_rpc_error(exc)
        if session_id is not None and isinstance(
            error, errors.StateNotFound | errors.BackendUnavailable
        ):
            self.replicas.forget(session_id)
        return error

    async def _session_call(
        self, session_id: str, kind: str, request: Any, deadline: float | None = None
    ) -> Any:
        """One call of a session on its replica: on the replica's Exchange stream, else (a
        replica without Exchange, or ``streams=False``) as its unary method; errors as
        ``_call``'s."""
        stub = self.replicas.for_session(session_id)
        stream = self._stream(stub)
        if stream is None:
            method = getattr(stub, CALLS[kind])
            return await self._call(method, request, deadline, session_id=session_id)
        try:
            return await stream.call(kind, request, deadline or self._timeout)
        except grpc.aio.AioRpcError as exc:
            if not stream.supported:  # learnt just now: this replica has no Exchange
                method = getattr(stub, CALLS[kind])
                return await self._call(method, request, deadline, session_id=session_id)
            raise self._failed(exc, session_id) from exc

    def _stream(self, stub: Any) -> SessionStream | None:
        if not self._streams_enabled:
            return None
        stream = self._streams.get(stub)
        if stream is None:
            stream = self._streams[stub] = SessionStream(stub, self._metadata)
        return stream if stream.supported else None

    async def renew_lease(self, client_id: str, *, release: bool = False) -> d.Lease:
        """Renew ``client_id``'s lease on every replica this client knows (sessions summed)."""
        request = pb.RenewLeaseRequest(client_id=client_id, release=release)
        total, seconds = 0, 0.0
        for _, stub in self.replicas.holding_sessions():
            reply = await self._call(stub.RenewLease, request)
            total, seconds = total + reply.sessions, reply.lease_seconds
        return d.Lease(total, seconds)

    async def describe(self) -> d.VerifierInfo:
        """Every replica's Describe, with pool sizes, capacities and open sessions summed."""
        await self.replicas.refresh(force=True)
        infos = []
        for address in self.replicas.addresses:
            stub = self.replicas.stub(address)
            infos.append(
                wire.from_verifier_info(await self._call(stub.Describe, pb.DescribeRequest()))
            )
        if not infos:
            raise errors.BackendUnavailable(f"no verifier replica at {self.target}")
        return dataclasses.replace(
            infos[0],
            replica_id=",".join(i.replica_id for i in infos),
            pool_size=sum(i.pool_size for i in infos),
            session_capacity=sum(i.session_capacity for i in infos),
            sessions_open=sum(i.sessions_open for i in infos),
            processes_warm=sum(i.processes_warm for i in infos),
        )

    # ------------------------------------------------------------------ sessions

    async def open_session(
        self,
        problem: d.FormalProblem,
        frameworks: Sequence[d.Framework],
        mode: d.Mode = d.Mode.STRICT,
        *,
        imports: Sequence[str] = (),
        client_id: str = "",
    ) -> d.Session:
        """Open a session on the least-loaded live replica; it belongs to this client
        (``client_id`` overrides the owner, e.g. for a proxy)."""
        request = pb.OpenSessionRequest(
            problem=wire.to_problem(problem),
            frameworks=[wire.to_framework(f) for f in frameworks],
            mode=wire.to_mode(mode),
            imports=list(imports),
            client_id=client_id or self.client_id,
        )
        # A replica that cannot take the session is skipped for a while; the next one tries.
        # When none can, wait for one to come back (restart) or to free a slot (capacity).
        for _ in range(max(0, len(self.replicas.addresses) - 1)):
            address, stub = await self.replicas.for_new_session()
            try:
                reply = await self._call(stub.OpenSession, request, wait=False)
            except (errors.BackendUnavailable, errors.Overloaded):
                self.replicas.mark_down(address)
                continue
            return self._bound(reply, address)
        return await self._open_waiting(request)

    async def _open_waiting(self, request: pb.OpenSessionRequest) -> d.Session:
        """OpenSession on the best replica, waiting while every replica is restarting or
        full (at most ``reconnect_seconds`` for a restart, ``open_wait_seconds`` when full)."""
        started, backoff = time.monotonic(), 0.5
        while True:
            address, stub = await self.replicas.for_new_session()
            try:
                return self._bound(await self._call(stub.OpenSession, request), address)
            except errors.Overloaded:
                waited = time.monotonic() - started
                if waited >= self._open_wait_seconds:
                    raise
                if backoff >= 4.0:
                    logger.info("every verifier replica is full; waited %.0f s for a slot", waited)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 8.0)

    def _bound(self, reply: pb.OpenSessionResponse, address: str) -> d.Session:
        session = wire.from_session(reply)
        self.replicas.bind(session.session_id, address)
        return session

    async def close_session(self, session_id: str) -> float:
        stub = self.replicas.for_session(session_id)
        self.replicas.forget(session_id)
        reply = await self._call(stub.CloseSession, pb.CloseSessionRequest(session_id=session_id))
        return float(reply.lean_seconds)

    async def delete_states(self, states: Sequence[d.StateHandle]) -> None:
        by_session: dict[str, list[d.StateHandle]] = {}
        for state in states:
            by_session.setdefault(state.session_id, []).append(state)
        for session_id, handles in by_session.items():
            request = pb.DeleteStatesRequest(states=[wire.to_handle(s) for s in handles])
            await self._call(self.replicas.for_session(session_id).DeleteStates, request)

    # ------------------------------------------------------------------ tactics and steps

    async def apply_step(
        self, state: d.StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> d.Draft:
        request = pb.ApplyStepRequest(
            state=wire.to_handle(state), goal_index=goal_index, step=step, whole=whole
        )
        reply = await self._session_call(state.session_id, "apply_step", request)
        return wire.from_draft(reply)

    async def run_tactic(
        self, state: d.StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> d.TacticResult:
        request = pb.RunTacticRequest(
            state=wire.to_handle(state),
            goal_index=goal_index,
            tactic=tactic,
            ignored_goals=ignored_goals,
        )
        reply = await self._session_call(state.session_id, "run_tactic", request)
        return wire.from_tactic_result(reply.result)

    # ------------------------------------------------------------------ submissions

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> d.Validation:
        request = pb.ValidateSubmissionRequest(
            session_id=session_id, path=list(path), submission=submission
        )
        reply = await self._session_call(session_id, "validate_submission", request)
        return wire.from_validation(reply)

    async def read_submission(self, state: d.StateHandle) -> str | None:
        request = pb.ReadSubmissionRequest(state=wire.to_handle(state))
        reply = await self._session_call(state.session_id, "read_submission", request)
        return reply.submission if reply.HasField("submission") else None

    async def check_equivalence(self, session_id: str, submission: str) -> d.Equivalence:
        """RPE; its deadline covers a paper-mode check (statement and five tactics, 300 s each)."""
        request = pb.CheckEquivalenceRequest(session_id=session_id, submission=submission)
        deadline = None if self._timeout is None else max(self._timeout, RPE_DEADLINE_SECONDS)
        reply = await self._call(
            self.replicas.for_session(session_id).CheckEquivalence,
            request,
            deadline,
            session_id=session_id,
        )
        return wire.from_equivalence(reply)

    # ------------------------------------------------------------------ files

    async def check_file(
        self, text: str, *, timeout_seconds: float = 0.0, imports: Sequence[str] = ()
    ) -> d.FileCheck:
        """Whole-file check; the gRPC deadline leaves the server's timeout room to answer."""
        request = pb.CheckFileRequest(
            text=text, imports=list(imports), timeout_seconds=timeout_seconds
        )
        deadline = timeout_seconds + 30.0 if timeout_seconds > 0 else None
        reply = await self._call((await self.replicas.stateless()).CheckFile, request, deadline)
        return wire.from_file_check(reply)
