"""The gRPC ``harcopa.v1.VerifierService``: thin methods, wire -> FPS operations -> wire.

Registered by the verifier's server (server.py). Every request is checked here before any work
(sizes, counts, ids, enum values: INVALID_ARGUMENT with field violations, harcopa.validation);
everything else lives in verifier.py. Exceptions become status codes in the common
error-mapping interceptor (harcopa/interceptors.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import grpc

from harcopa import wire
from harcopa.errors import InvalidRequest
from harcopa.protocols import Verifier
from harcopa.v1 import verifier_pb2 as v
from harcopa.v1 import verifier_pb2_grpc
from harcopa.validation import MAX_ID_CHARS, Checker, check_id
from harcopa.verifier_stream import CALLS
from harcopa_lean_verifier import exchange
from harcopa_lean_verifier.settings import VerifierLimits

SERVICE_NAME = "harcopa.v1.VerifierService"


#: Caps on the parts of a request that have no setting of their own.
MAX_FRAMEWORKS = 8
MAX_IMPORTS = 32
MAX_METAINFO = 256
MAX_INFORMAL_CHARS = 200_000
MAX_STATES_PER_DELETE = 100_000
MAX_GOAL_INDEX = 100_000


def _bounded(what: str, texts: Iterable[str], limit: int) -> None:
    """INVALID_ARGUMENT (field ``what``) when one of ``texts`` is longer than ``limit``."""
    check = Checker()
    for text in texts:
        if len(text) > limit:
            check.add(what, f"has {len(text)} characters; the limit is {limit}")
            break
    check.done(what)


def _handle(check: Checker, path: str, handle: Any) -> None:
    check.text(f"{path}.session_id", handle.session_id, MAX_ID_CHARS, required=True)
    check.whole(f"{path}.state_id", handle.state_id, 0, 2**62)


def _goal(check: Checker, path: str, index: int) -> None:
    check.whole(path, index, 0, MAX_GOAL_INDEX)


class VerifierServicer(verifier_pb2_grpc.VerifierServiceServicer):
    """Each method converts the request, calls the verifier, converts the answer."""

    def __init__(self, verifier: Verifier, limits: VerifierLimits) -> None:
        self.verifier = verifier
        self.limits = limits

    async def OpenSession(self, request: v.OpenSessionRequest, context: Any) -> Any:
        check = Checker()
        problem = request.problem
        statement = (
            problem.header if problem.HasField("header") else ""
        ) + problem.formal_statement
        check.text(
            "problem.formal_statement", statement, self.limits.max_statement_chars, required=True
        )
        for name in ("informal_problem", "informal_answer", "informal_solution"):
            check.text(f"problem.{name}", getattr(problem, name), MAX_INFORMAL_CHARS)
        check.text("problem.benchmark", problem.benchmark, MAX_ID_CHARS)
        if check.many("problem.metainfo", problem.metainfo, MAX_METAINFO):
            for entry in problem.metainfo:
                check.text("problem.metainfo", entry.key + entry.json_value, MAX_INFORMAL_CHARS)
        check.many("frameworks", request.frameworks, MAX_FRAMEWORKS)
        if check.many("imports", request.imports, MAX_IMPORTS):
            for name in request.imports:
                check.text("imports", name, MAX_ID_CHARS, required=True)
        check.text("client_id", request.client_id, MAX_ID_CHARS)
        frameworks, mode = [], None
        try:
            frameworks = [wire.from_framework(f) for f in request.frameworks]
            mode = wire.from_mode(request.mode)
        except ValueError as exc:
            check.add("frameworks" if "framework" in str(exc) else "mode", str(exc))
        check.done("OpenSession request")
        assert mode is not None  # done() raised otherwise
        session = await self.verifier.open_session(
            wire.from_problem(problem),
            frameworks,
            mode,
            imports=tuple(request.imports),
            client_id=request.client_id,
        )
        return wire.to_session(session)

    async def ApplyStep(self, request: v.ApplyStepRequest, context: Any) -> Any:
        check = Checker()
        _handle(check, "state", request.state)
        _goal(check, "goal_index", request.goal_index)
        check.done("ApplyStep request")
        _bounded("the step", [request.step], self.limits.max_step_chars)
        draft = await self.verifier.apply_step(
            wire.from_handle(request.state), request.goal_index, request.step, whole=request.whole
        )
        return wire.to_draft(draft)

    async def RunTactic(self, request: v.RunTacticRequest, context: Any) -> Any:
        check = Checker()
        _handle(check, "state", request.state)
        _goal(check, "goal_index", request.goal_index)
        _goal(check, "ignored_goals", request.ignored_goals)
        check.done("RunTactic request")
        _bounded("the tactic", [request.tactic], self.limits.max_step_chars)
        result = await self.verifier.run_tactic(
            wire.from_handle(request.state),
            request.goal_index,
            request.tactic,
            ignored_goals=request.ignored_goals,
        )
        return v.RunTacticResponse(result=wire.to_tactic_result(result))

    async def ValidateSubmission(self, request: v.ValidateSubmissionRequest, context: Any) -> Any:
        check_id("session_id", request.session_id, what="session id")
        limit = self.limits.max_path_steps
        if len(request.path) > limit:
            raise InvalidRequest(
                f"the path has {len(request.path)} steps; the limit is {limit}",
                (("path", f"at most {limit} steps"),),
            )
        _bounded("a step", [*request.path, request.submission], self.limits.max_step_chars)
        validation = await self.verifier.validate_submission(
            request.session_id, tuple(request.path), request.submission
        )
        return wire.to_validation(validation)

    async def ReadSubmission(self, request: v.ReadSubmissionRequest, context: Any) -> Any:
        check = Checker()
        _handle(check, "state", request.state)
        check.done("ReadSubmission request")
        text = await self.verifier.read_submission(wire.from_handle(request.state))
        response = v.ReadSubmissionResponse()
        if text is not None:
            response.submission = text
        return response

    async def CheckEquivalence(self, request: v.CheckEquivalenceRequest, context: Any) -> Any:
        check_id("session_id", request.session_id, what="session id")
        _bounded("the submission", [request.submission], self.limits.max_step_chars)
        equivalence = await self.verifier.check_equivalence(request.session_id, request.submission)
        return wire.to_equivalence(equivalence)

    async def DeleteStates(self, request: v.DeleteStatesRequest, context: Any) -> Any:
        check = Checker()
        if check.many("states", request.states, MAX_STATES_PER_DELETE):
            for handle in request.states:
                _handle(check, "states", handle)
                if check.violations:
                    break
        check.done("DeleteStates request")
        await self.verifier.delete_states([wire.from_handle(h) for h in request.states])
        return v.DeleteStatesResponse()

    async def CloseSession(self, request: v.CloseSessionRequest, context: Any) -> Any:
        check_id("session_id", request.session_id, what="session id")
        seconds = await self.verifier.close_session(request.session_id)
        return v.CloseSessionResponse(lean_seconds=seconds)

    async def RenewLease(self, request: v.RenewLeaseRequest, context: Any) -> Any:
        check_id("client_id", request.client_id, what="client id")
        lease = await self.verifier.renew_lease(request.client_id, release=request.release)
        return v.RenewLeaseResponse(sessions=lease.sessions, lease_seconds=lease.seconds)

    async def Exchange(self, requests: AsyncIterator[Any], context: Any) -> None:
        """The session calls above on one stream (exchange.py)."""
        methods = {kind: getattr(self, name) for kind, name in CALLS.items()}
        await exchange.serve(SERVICE_NAME, methods, requests, context)

    async def Describe(self, request: v.DescribeRequest, context: Any) -> Any:
        return wire.to_verifier_info(await self.verifier.describe())

    async def CheckFile(self, request: v.CheckFileRequest, context: Any) -> Any:
        check = Checker()
        check.real("timeout_seconds", request.timeout_seconds, 0.0, 86_400.0)
        if check.many("imports", request.imports, MAX_IMPORTS):
            for name in request.imports:
                check.text("imports", name, MAX_ID_CHARS, required=True)
        check.done("CheckFile request")
        _bounded("the file", [request.text], self.limits.max_file_chars)
        seconds = request.timeout_seconds  # 0: the verifier's default
        remaining = context.time_remaining() if context is not None else None
        if remaining is not None:  # leave the answer time to travel back
            budget = max(remaining - 0.5, 0.1)
            seconds = min(seconds, budget) if seconds > 0 else budget
        checked = await self.verifier.check_file(
            request.text, timeout_seconds=seconds, imports=tuple(request.imports)
        )
        return wire.to_file_check(checked)


def register(servicer: VerifierServicer, server: grpc.aio.Server) -> None:
    verifier_pb2_grpc.add_VerifierServiceServicer_to_server(servicer, server)
