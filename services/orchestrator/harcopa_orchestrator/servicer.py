"""gRPC OrchestratorService: thin methods, wire -> run manager -> wire."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from harcopa import errors, wire
from harcopa.v1 import orchestrator_pb2 as pb
from harcopa.v1 import orchestrator_pb2_grpc as pb_grpc
from harcopa_orchestrator.runs import RunManager


class OrchestratorServicer(pb_grpc.OrchestratorServiceServicer):
    def __init__(self, runs: RunManager) -> None:
        self.runs = runs

    async def StartRun(
        self, request: pb.StartRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartRunResponse:
        try:
            spec = wire.from_run_spec(request.spec)
        except ValueError as exc:
            raise errors.InvalidRequest(str(exc)) from exc
        run = await self.runs.start_run(spec)
        return pb.StartRunResponse(run_id=run.run_id)

    async def WatchRun(
        self, request: pb.WatchRunRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchRunResponse]:
        async for event in self.runs.watch(request.run_id):
            yield wire.to_run_event(event)

    async def GetRun(
        self, request: pb.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRunResponse:
        return pb.GetRunResponse(run=wire.to_run(await self.runs.get_run(request.run_id)))

    async def ListRuns(
        self, request: pb.ListRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRunsResponse:
        try:
            statuses = [wire.from_run_status(s) for s in request.statuses]
        except ValueError as exc:
            raise errors.InvalidRequest(str(exc)) from exc
        runs = await self.runs.list_runs(statuses, limit=request.limit or 100)
        return pb.ListRunsResponse(runs=[wire.to_run(r) for r in runs])

    async def CancelRun(
        self, request: pb.CancelRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelRunResponse:
        return pb.CancelRunResponse(run=wire.to_run(await self.runs.cancel_run(request.run_id)))

    async def ResumeRun(
        self, request: pb.ResumeRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResumeRunResponse:
        return pb.ResumeRunResponse(run=wire.to_run(await self.runs.resume_run(request.run_id)))

    async def GetProblemResult(
        self, request: pb.GetProblemResultRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProblemResultResponse:
        result = await self.runs.problem_result(request.run_id, request.problem_id)
        return pb.GetProblemResultResponse(result=wire.to_problem_result(result))
