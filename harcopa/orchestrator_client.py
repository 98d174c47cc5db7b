"""OrchestratorClient: the gRPC client of OrchestratorService, used by the CLI and scripts.

Status codes come back as harcopa.errors exceptions (NOT_FOUND -> StateNotFound, ...). An
orchestrator that restarts is waited for (``reconnect_seconds``): unary calls are retried and a
watch re-subscribes (its first event is always a snapshot, so nothing is missed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from types import TracebackType

import grpc

from harcopa import domain as d
from harcopa import errors, wire
from harcopa.channels import RECONNECT_SECONDS, auth_metadata, open_channel, reconnecting
from harcopa.v1 import orchestrator_pb2 as pb
from harcopa.v1 import orchestrator_pb2_grpc as pb_grpc

logger = logging.getLogger(__name__)

SERVICE = "harcopa.v1.OrchestratorService"


class OrchestratorClient:
    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        timeout_seconds: float = 60,
        credentials: grpc.ChannelCredentials | None = None,
        reconnect_seconds: float = RECONNECT_SECONDS,
    ) -> None:
        self.target = target
        self._reconnect_seconds = reconnect_seconds
        self._channel = open_channel(target, [SERVICE], credentials=credentials)
        self._stub = pb_grpc.OrchestratorServiceStub(self._channel)
        self._metadata = auth_metadata(token)
        self._timeout = timeout_seconds

    async def __aenter__(self) -> OrchestratorClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: str, request: object) -> object:
        def once() -> Awaitable[object]:
            call: Awaitable[object] = getattr(self._stub, method)(
                request, timeout=self._timeout, metadata=self._metadata
            )
            return call

        try:
            return await reconnecting(
                once, what=self._what, reconnect_seconds=self._reconnect_seconds
            )
        except grpc.aio.AioRpcError as exc:
            raise errors.from_rpc_error(exc) from exc

    @property
    def _what(self) -> str:
        return f"the orchestrator at {self.target}"

    async def start_run(self, spec: d.RunSpec) -> str:
        reply = await self._call("StartRun", pb.StartRunRequest(spec=wire.to_run_spec(spec)))
        return reply.run_id  # type: ignore[attr-defined,no-any-return]

    async def get_run(self, run_id: str) -> d.Run:
        reply = await self._call("GetRun", pb.GetRunRequest(run_id=run_id))
        return wire.from_run(reply.run)  # type: ignore[attr-defined]

    async def list_runs(self) -> list[d.Run]:
        reply = await self._call("ListRuns", pb.ListRunsRequest())
        return [wire.from_run(r) for r in reply.runs]  # type: ignore[attr-defined]

    async def resume_run(self, run_id: str) -> d.Run:
        reply = await self._call("ResumeRun", pb.ResumeRunRequest(run_id=run_id))
        return wire.from_run(reply.run)  # type: ignore[attr-defined]

    async def cancel_run(self, run_id: str) -> d.Run:
        reply = await self._call("CancelRun", pb.CancelRunRequest(run_id=run_id))
        return wire.from_run(reply.run)  # type: ignore[attr-defined]

    async def problem_result(self, run_id: str, problem_id: str) -> d.ProblemResult:
        request = pb.GetProblemResultRequest(run_id=run_id, problem_id=problem_id)
        reply = await self._call("GetProblemResult", request)
        return wire.from_problem_result(reply.result)  # type: ignore[attr-defined]

    async def start_training(self, request: d.TrainingRequest) -> d.Training:
        """Launch (or find) the training Job ``request.name`` on the orchestrator's cluster."""
        message = pb.StartTrainingRequest(request=wire.to_training_request(request))
        reply = await self._call("StartTraining", message)
        return wire.from_training(reply.training)  # type: ignore[attr-defined]

    async def get_training(self, name: str) -> d.Training:
        reply = await self._call("GetTraining", pb.GetTrainingRequest(name=name))
        return wire.from_training(reply.training)  # type: ignore[attr-defined]

    async def watch(self, run_id: str) -> AsyncIterator[d.RunEvent]:
        """Progress events until the run ends (no overall deadline: runs take hours); a lost
        connection re-subscribes while the orchestrator comes back."""
        lost_since: float | None = None
        while True:
            call = self._stub.WatchRun(pb.WatchRunRequest(run_id=run_id), metadata=self._metadata)
            try:
                async for event in call:
                    lost_since = None
                    yield wire.from_run_event(event)
                return
            except grpc.aio.AioRpcError as exc:
                now = time.monotonic()
                lost_since = now if lost_since is None else lost_since
                if exc.code() is not grpc.StatusCode.UNAVAILABLE or (
                    now - lost_since >= self._reconnect_seconds
                ):
                    raise errors.from_rpc_error(exc) from exc
                logger.info("%s went away (%s); watching again", self._what, exc.details())
            await asyncio.sleep(0.5)
