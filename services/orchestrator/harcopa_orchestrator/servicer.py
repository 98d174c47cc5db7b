"""gRPC OrchestratorService: thin methods, wire -> run manager (or training jobs) -> wire."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from harcopa import errors, wire
from harcopa.interceptors import caller_identity
from harcopa.v1 import orchestrator_pb2 as pb
from harcopa.v1 import orchestrator_pb2_grpc as pb_grpc
from harcopa.validation import check_id, check_run_spec, check_training_request
from harcopa_orchestrator.runs import RunManager
from harcopa_orchestrator.training_jobs import TrainingJobs

#: The most runs one ListRuns answers with.
MAX_LIST_RUNS = 1000


class OrchestratorServicer(pb_grpc.OrchestratorServiceServicer):
    def __init__(self, runs: RunManager, training: TrainingJobs | None = None) -> None:
        self.runs = runs
        self.training = training

    def _training(self) -> TrainingJobs:
        if self.training is None:
            raise errors.FailedPrecondition("this orchestrator runs no training Jobs")
        return self.training

    async def StartRun(
        self, request: pb.StartRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartRunResponse:
        try:
            spec = wire.from_run_spec(request.spec)
        except ValueError as exc:
            raise errors.InvalidRequest(str(exc), (("spec", str(exc)),)) from exc
        check_run_spec(spec)
        run = await self.runs.start_run(spec, caller=caller_identity(context))
        return pb.StartRunResponse(run_id=run.run_id)

    async def WatchRun(
        self, request: pb.WatchRunRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchRunResponse]:
        check_id("run_id", request.run_id, what="run id")
        async for event in self.runs.watch(request.run_id):
            yield wire.to_run_event(event)

    async def GetRun(
        self, request: pb.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRunResponse:
        check_id("run_id", request.run_id, what="run id")
        return pb.GetRunResponse(run=wire.to_run(await self.runs.get_run(request.run_id)))

    async def ListRuns(
        self, request: pb.ListRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRunsResponse:
        try:
            statuses = [wire.from_run_status(s) for s in request.statuses]
        except ValueError as exc:
            raise errors.InvalidRequest(str(exc), (("statuses", str(exc)),)) from exc
        if not 0 <= request.limit <= MAX_LIST_RUNS:
            raise errors.InvalidRequest(
                "bad limit", (("limit", f"must be in [0, {MAX_LIST_RUNS}] (0: 100)"),)
            )
        runs = await self.runs.list_runs(statuses, limit=request.limit or 100)
        return pb.ListRunsResponse(runs=[wire.to_run(r) for r in runs])

    async def CancelRun(
        self, request: pb.CancelRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelRunResponse:
        check_id("run_id", request.run_id, what="run id")
        return pb.CancelRunResponse(run=wire.to_run(await self.runs.cancel_run(request.run_id)))

    async def ResumeRun(
        self, request: pb.ResumeRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResumeRunResponse:
        check_id("run_id", request.run_id, what="run id")
        return pb.ResumeRunResponse(run=wire.to_run(await self.runs.resume_run(request.run_id)))

    async def GetProblemResult(
        self, request: pb.GetProblemResultRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProblemResultResponse:
        check_id("run_id", request.run_id, what="run id")
        check_id("problem_id", request.problem_id, what="problem id")
        result = await self.runs.problem_result(request.run_id, request.problem_id)
        return pb.GetProblemResultResponse(result=wire.to_problem_result(result))

    async def StartTraining(
        self, request: pb.StartTrainingRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartTrainingResponse:
        training_request = wire.from_training_request(request.request)
        check_training_request(training_request)
        training = await self._training().start(training_request)
        return pb.StartTrainingResponse(training=wire.to_training(training))

    async def GetTraining(
        self, request: pb.GetTrainingRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTrainingResponse:
        check_id("name", request.name, what="training name")
        training = await self._training().get(request.name)
        return pb.GetTrainingResponse(training=wire.to_training(training))
