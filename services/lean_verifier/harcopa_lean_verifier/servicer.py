"""The gRPC ``harcopa.v1.VerifierService``: thin methods, wire -> FPS operations -> wire.

Registered by the verifier's server (server.py). Request sizes are bounded here
(INVALID_ARGUMENT); everything else lives in verifier.py. Exceptions become status codes in the
common error-mapping interceptor (harcopa/serving.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc

from harcopa import wire
from harcopa.errors import InvalidRequest
from harcopa.protocols import Verifier
from harcopa.v1 import verifier_pb2 as v
from harcopa.v1 import verifier_pb2_grpc
from harcopa_lean_verifier.settings import VerifierLimits

SERVICE_NAME = "harcopa.v1.VerifierService"


def _bounded(what: str, texts: Iterable[str], limit: int) -> None:
    for text in texts:
        if len(text) > limit:
            raise InvalidRequest(f"{what} has {len(text)} characters; the limit is {limit}")


class VerifierServicer(verifier_pb2_grpc.VerifierServiceServicer):
    """Each method converts the request, calls the verifier, converts the answer."""

    def __init__(self, verifier: Verifier, limits: VerifierLimits) -> None:
        self.verifier = verifier
        self.limits = limits

    async def OpenSession(self, request: v.OpenSessionRequest, context: Any) -> Any:
        problem = wire.from_problem(request.problem)
        _bounded(
            "the statement",
            [problem.effective_header + problem.formal_statement],
            self.limits.max_statement_chars,
        )
        try:
            frameworks = [wire.from_framework(f) for f in request.frameworks]
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        session = await self.verifier.open_session(
            problem,
            frameworks,
            wire.from_mode(request.mode),
            imports=tuple(request.imports),
            client_id=request.client_id,
        )
        return wire.to_session(session)

    async def ApplyStep(self, request: v.ApplyStepRequest, context: Any) -> Any:
        _bounded("the step", [request.step], self.limits.max_step_chars)
        draft = await self.verifier.apply_step(
            wire.from_handle(request.state), request.goal_index, request.step, whole=request.whole
        )
        return wire.to_draft(draft)

    async def RunTactic(self, request: v.RunTacticRequest, context: Any) -> Any:
        _bounded("the tactic", [request.tactic], self.limits.max_step_chars)
        result = await self.verifier.run_tactic(
            wire.from_handle(request.state),
            request.goal_index,
            request.tactic,
            ignored_goals=request.ignored_goals,
        )
        return v.RunTacticResponse(result=wire.to_tactic_result(result))

    async def ValidateSubmission(self, request: v.ValidateSubmissionRequest, context: Any) -> Any:
        if len(request.path) > self.limits.max_path_steps:
            raise InvalidRequest(
                f"the path has {len(request.path)} steps; the limit is {self.limits.max_path_steps}"
            )
        _bounded("a step", [*request.path, request.submission], self.limits.max_step_chars)
        validation = await self.verifier.validate_submission(
            request.session_id, tuple(request.path), request.submission
        )
        return wire.to_validation(validation)

    async def ReadSubmission(self, request: v.ReadSubmissionRequest, context: Any) -> Any:
        text = await self.verifier.read_submission(wire.from_handle(request.state))
        response = v.ReadSubmissionResponse()
        if text is not None:
            response.submission = text
        return response

    async def CheckEquivalence(self, request: v.CheckEquivalenceRequest, context: Any) -> Any:
        _bounded("the submission", [request.submission], self.limits.max_step_chars)
        equivalence = await self.verifier.check_equivalence(request.session_id, request.submission)
        return wire.to_equivalence(equivalence)

    async def DeleteStates(self, request: v.DeleteStatesRequest, context: Any) -> Any:
        await self.verifier.delete_states([wire.from_handle(h) for h in request.states])
        return v.DeleteStatesResponse()

    async def CloseSession(self, request: v.CloseSessionRequest, context: Any) -> Any:
        seconds = await self.verifier.close_session(request.session_id)
        return v.CloseSessionResponse(lean_seconds=seconds)

    async def RenewLease(self, request: v.RenewLeaseRequest, context: Any) -> Any:
        if not request.client_id:
            raise InvalidRequest("RenewLease needs a client_id")
        lease = await self.verifier.renew_lease(request.client_id, release=request.release)
        return v.RenewLeaseResponse(sessions=lease.sessions, lease_seconds=lease.seconds)

    async def Describe(self, request: v.DescribeRequest, context: Any) -> Any:
        return wire.to_verifier_info(await self.verifier.describe())

    async def CheckFile(self, request: v.CheckFileRequest, context: Any) -> Any:
        _bounded("the file", [request.text], self.limits.max_file_chars)
        seconds = request.timeout_seconds  # 0: the verifier's default
        remaining = context.time_remaining() if context is not None else None
        if remaining is not None:  # leave the answer time to travel back
            budget = max(remaining - 0.5, 0.1)
            seconds = min(seconds, budget) if seconds > 0 else budget
        check = await self.verifier.check_file(
            request.text, timeout_seconds=seconds, imports=tuple(request.imports)
        )
        return wire.to_file_check(check)


def register(servicer: VerifierServicer, server: grpc.aio.Server) -> None:
    verifier_pb2_grpc.add_VerifierServiceServicer_to_server(servicer, server)
