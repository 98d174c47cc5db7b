"""OrchestratorClient: the gRPC client of OrchestratorService, used by the CLI and scripts.

Status codes come back as harcopa.errors exceptions (NOT_FOUND -> StateNotFound, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType

import grpc

from harcopa import domain as d
from harcopa import errors, wire
from harcopa.channels import auth_metadata, open_channel
from harcopa.v1 import orchestrator_pb2 as pb
from harcopa.v1 import orchestrator_pb2_grpc as pb_grpc

SERVICE = "harcopa.v1.OrchestratorService"


class OrchestratorClient:
    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        timeout_seconds: float = 60,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
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
        try:
            return await getattr(self._stub, method)(
                request, timeout=self._timeout, metadata=self._metadata
            )
        except grpc.aio.AioRpcError as exc:
            raise errors.from_rpc_error(exc) from exc

    async def start_run(self, spec: d.RunSpec) -> str:
        reply = await self._call("StartRun", pb.StartRunRequest(spec=wire.to_run_spec(spec)))
        return reply.run_id  # type: ignore[attr-defined,no-any-return]

    async def get_run(self, run_id: str) -> d.Run:
        reply = await self._call("GetRun", pb.GetRunRequest(run_id=run_id))
        return wire.from_run(reply.run)  # type: ignore[attr-defined]

    async def list_runs(self) -> list[d.Run]:
        reply = await self._call("ListRuns", pb.ListRunsRequest())
        return [wire.from_run(r) for r in reply.runs]  # type: ignore[attr-defined]

    async def cancel_run(self, run_id: str) -> d.Run:
        reply = await self._call("CancelRun", pb.CancelRunRequest(run_id=run_id))
        return wire.from_run(reply.run)  # type: ignore[attr-defined]

    async def problem_result(self, run_id: str, problem_id: str) -> d.ProblemResult:
        request = pb.GetProblemResultRequest(run_id=run_id, problem_id=problem_id)
        reply = await self._call("GetProblemResult", request)
        return wire.from_problem_result(reply.result)  # type: ignore[attr-defined]

    async def watch(self, run_id: str) -> AsyncIterator[d.RunEvent]:
        """Progress events until the run ends (no overall deadline: runs take hours)."""
        call = self._stub.WatchRun(pb.WatchRunRequest(run_id=run_id), metadata=self._metadata)
        try:
            async for event in call:
                yield wire.from_run_event(event)
        except grpc.aio.AioRpcError as exc:
            raise errors.from_rpc_error(exc) from exc
