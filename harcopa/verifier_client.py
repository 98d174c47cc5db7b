"""VerifierClient: the ``Verifier`` protocol over gRPC, used by the orchestrator, CLI and tests.

Every call goes through the generated VerifierService stub; failed calls come back as
harcopa.errors exceptions (NOT_FOUND -> StateNotFound, INVALID_ARGUMENT -> InvalidRequest,
...). A rejected tactic is a TacticResult, never an exception. The ``*_full`` methods also
return the extra fields of the responses (gap count, submission text, RPE details).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import grpc

from harcopa import domain as d
from harcopa import errors, wire
from harcopa.channels import auth_metadata
from harcopa.replicas import ReplicaSet
from harcopa.v1 import verifier_pb2 as pb
from harcopa.v1 import verifier_pb2_grpc as pb_grpc

SERVICE = "harcopa.v1.VerifierService"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EquivalenceResult:
    """RPE outcome: the tactic that proved it (None if none), supervised, Lean's notes."""

    tactic: str | None
    supervised: bool
    messages: tuple[str, ...] = ()


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
    ) -> None:
        """``target``: ``host:port``, ``dns:///name:port`` (every replica the name resolves
        to) or ``ipv4:a:port,b:port``; sessions are pinned to the replica that opened them."""
        self.target = target
        self.replicas = ReplicaSet(target, [SERVICE], pb_grpc.VerifierServiceStub, retries=retries)
        self._metadata = auth_metadata(token)
        self._timeout = timeout_seconds

    async def __aenter__(self) -> VerifierClient:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Nothing to load: channels connect lazily on the first call."""

    async def close(self) -> None:
        await self.replicas.close()

    async def _call(
        self,
        method: Callable[..., Awaitable[T]],
        request: Any,
        deadline: float | None = None,
        *,
        session_id: str | None = None,
    ) -> T:
        """One unary call; ``deadline`` (seconds) overrides the client's default. A session the
        replica no longer knows is forgotten, so its routing entry does not outlive it."""
        try:
            return await method(request, metadata=self._metadata, timeout=deadline or self._timeout)
        except grpc.aio.AioRpcError as exc:
            error = errors.from_rpc_error(exc)
            if session_id is not None and isinstance(error, errors.StateNotFound):
                self.replicas.forget(session_id)
            raise error from exc

    # ------------------------------------------------------------------ sessions

    async def open_session(
        self,
        problem: d.FormalProblem,
        frameworks: Sequence[d.Framework],
        mode: d.Mode = d.Mode.STRICT,
        imports: Sequence[str] = (),
    ) -> d.Session:
        request = pb.OpenSessionRequest(
            problem=wire.to_problem(problem),
            frameworks=[wire.to_framework(f) for f in frameworks],
            mode=wire.to_mode(mode),
            imports=list(imports),
        )
        # A replica that cannot take the session is skipped for a while; the next one tries.
        for _ in range(max(1, len(self.replicas.addresses))):
            address, stub = await self.replicas.for_new_session()
            try:
                session = wire.from_session(await self._call(stub.OpenSession, request))
            except (errors.BackendUnavailable, errors.Overloaded):
                self.replicas.mark_down(address)
                if len(self.replicas.addresses) <= 1:
                    raise
                continue
            self.replicas.bind(session.session_id, address)
            return session
        address, stub = await self.replicas.for_new_session()
        session = wire.from_session(await self._call(stub.OpenSession, request))
        self.replicas.bind(session.session_id, address)
        return session

    async def close_session(self, session_id: str) -> None:
        stub = self.replicas.for_session(session_id)
        self.replicas.forget(session_id)
        await self._call(stub.CloseSession, pb.CloseSessionRequest(session_id=session_id))

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
    ) -> d.TacticResult:
        result, _ = await self.apply_step_full(state, goal_index, step, whole=whole)
        return result

    async def apply_step_full(
        self, state: d.StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> tuple[d.TacticResult, int]:
        """The result and the number of gap goals at the front of the new state."""
        request = pb.ApplyStepRequest(
            state=wire.to_handle(state), goal_index=goal_index, step=step, whole=whole
        )
        reply = await self._call(
            self.replicas.for_session(state.session_id).ApplyStep,
            request,
            session_id=state.session_id,
        )
        return wire.from_tactic_result(reply.result), reply.num_gaps

    async def run_tactic(
        self, state: d.StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> d.TacticResult:
        request = pb.RunTacticRequest(
            state=wire.to_handle(state),
            goal_index=goal_index,
            tactic=tactic,
            ignored_goals=ignored_goals,
        )
        reply = await self._call(
            self.replicas.for_session(state.session_id).RunTactic,
            request,
            session_id=state.session_id,
        )
        return wire.from_tactic_result(reply.result)

    # ------------------------------------------------------------------ submissions

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> d.TacticResult:
        result, _ = await self.validate_submission_full(session_id, path, submission)
        return result

    async def validate_submission_full(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> tuple[d.TacticResult, str | None]:
        """The result and, on success, the submitted proposition (``?w``)."""
        request = pb.ValidateSubmissionRequest(
            session_id=session_id, path=list(path), submission=submission
        )
        reply = await self._call(
            self.replicas.for_session(session_id).ValidateSubmission, request, session_id=session_id
        )
        text = reply.submission if reply.HasField("submission") else None
        return wire.from_tactic_result(reply.result), text

    async def read_submission(self, state: d.StateHandle) -> str | None:
        request = pb.ReadSubmissionRequest(state=wire.to_handle(state))
        reply = await self._call(
            self.replicas.for_session(state.session_id).ReadSubmission, request
        )
        return reply.submission if reply.HasField("submission") else None

    async def check_equivalence(self, session_id: str, submission: str) -> str | None:
        return (await self.check_equivalence_full(session_id, submission)).tactic

    async def check_equivalence_full(self, session_id: str, submission: str) -> EquivalenceResult:
        request = pb.CheckEquivalenceRequest(session_id=session_id, submission=submission)
        reply = await self._call(self.replicas.for_session(session_id).CheckEquivalence, request)
        return EquivalenceResult(
            reply.tactic if reply.HasField("tactic") else None,
            reply.supervised,
            tuple(reply.messages),
        )

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
