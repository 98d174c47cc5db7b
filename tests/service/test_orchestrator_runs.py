"""Run manager and OrchestratorService through real gRPC and a real SQLite store: progress
streaming, persistence, resume after a restart, cancellation, per-problem errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY

from harcopa import domain as d
from harcopa import errors, wire
from harcopa.serving import Service, ServiceRunner
from harcopa.settings import ServiceSettings
from harcopa.v1 import orchestrator_pb2 as pb
from harcopa.v1 import orchestrator_pb2_grpc as pb_grpc
from harcopa_orchestrator.models import ModelEndpoint, ModelRegistry, ModelsConfig
from harcopa_orchestrator.runs import RunManager
from harcopa_orchestrator.servicer import OrchestratorServicer
from harcopa_orchestrator.store import RunStore

PROBLEMS = [
    d.FormalProblem("toy", i, f"example (answer : ℕ) : answer = {i} := sorry") for i in range(6)
]


def load(spec: d.RunSpec) -> list[d.FormalProblem]:
    if spec.benchmark != "toy":
        raise errors.InvalidRequest(f"unknown benchmark {spec.benchmark!r}")
    if spec.problem_indices:
        return [PROBLEMS[i] for i in spec.problem_indices]
    return PROBLEMS


class ToySolver:
    """Solves even-indexed problems; raises for indices in ``broken``; can be held at a gate."""

    def __init__(self, broken: set[int] = frozenset(), gate_after: int | None = None) -> None:
        self.broken = set(broken)
        self.calls: list[int] = []
        self.gate = asyncio.Event()
        self.gate_after = gate_after
        self.priors: dict[int, tuple[d.Attempt, ...]] = {}

    async def solve(self, spec, problem, on_attempt, prior=()):
        self.calls.append(problem.index)
        self.priors[problem.index] = prior
        if self.gate_after is not None and len(self.calls) > self.gate_after:
            await self.gate.wait()
        if problem.index in self.broken:
            raise errors.BackendUnavailable("verifier replica gone")
        outcome = (
            d.AttemptOutcome.SOLVED if problem.index % 2 == 0 else d.AttemptOutcome.WRONG_ANSWER
        )
        attempt = d.Attempt(
            0, outcome, charged=3, stats=d.SearchStats(model_calls=2, tactic_calls=5)
        )
        await on_attempt(attempt)
        return d.ProblemResult(problem.problem_id, spec.pipeline.value, spec.mode.value, (attempt,))


SPEC = d.RunSpec(d.Pipeline.AR, "toy", d.ModelRef("toy"), max_concurrent_problems=1)


async def _finish(manager: RunManager, run_id: str) -> d.Run:
    async for event in manager.watch(run_id):
        if event.status.finished:
            break
    return await manager.get_run(run_id)


async def test_run_completes_persists_and_reports(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    models = ModelRegistry(
        ModelsConfig(default="toy", models={"toy": ModelEndpoint(target="127.0.0.1:1")})
    )
    manager = RunManager(store, load, ToySolver(), check_models=models.check)
    run = await manager.start_run(SPEC)
    final = await _finish(manager, run.run_id)
    assert final.status is d.RunStatus.SUCCEEDED
    assert final.progress.problems_done == 6 and final.progress.problems_solved == 3
    assert final.progress.model_calls == 12 and final.progress.tactic_calls == 30
    result = await manager.problem_result(run.run_id, "toy/2")
    assert result.solved and result.attempts[0].charged == 3
    out = tmp_path / "out.jsonl"
    assert await store.export_jsonl(run.run_id, out) == 6
    assert len(out.read_text().splitlines()) == 6
    with pytest.raises(errors.StateNotFound):
        await manager.problem_result(run.run_id, "toy/99")
    with pytest.raises(errors.InvalidRequest):
        await manager.start_run(d.RunSpec(d.Pipeline.HAR, "toy", d.ModelRef("unknown")))
    store.close()


async def test_resume_after_restart_skips_finished_and_redoes_errors(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite"
    first_solver = ToySolver(broken={1}, gate_after=3)  # problems 0..2 finish, then it hangs
    first = RunManager(RunStore(db), load, first_solver, problem_retries=0)
    run = await first.start_run(SPEC)
    for _ in range(200):
        progress = (await first.get_run(run.run_id)).progress
        if (progress.problems_done, progress.problems_errored) == (2, 1):
            break
        await asyncio.sleep(0.01)
    assert (await first.get_run(run.run_id)).errored_problems == ("toy/1",)
    await first.close()  # the orchestrator goes away mid-run
    first.store.close()
    assert (await RunManager(RunStore(db), load, ToySolver()).get_run(run.run_id)).status is (
        d.RunStatus.RUNNING
    )

    second_solver = ToySolver()
    second = RunManager(RunStore(db), load, second_solver)
    await second.start()  # resumes the run
    final = await _finish(second, run.run_id)
    assert final.status is d.RunStatus.SUCCEEDED
    # 0 and 2 were done; 1 had errored and is redone; 3 was in flight; 4, 5 never started.
    assert sorted(second_solver.calls) == [1, 3, 4, 5]
    # The redone problem gets its stored attempts (the ERROR one) to continue from.
    assert [a.outcome for a in second_solver.priors[1]] == [d.AttemptOutcome.ERROR]
    assert second_solver.priors[4] == ()
    assert final.progress.problems_done == 6 and final.progress.problems_errored == 0
    second.store.close()


async def test_cancel_and_per_problem_error(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    solver = ToySolver(broken={3}, gate_after=4)
    manager = RunManager(store, load, solver, problem_retries=0)
    run = await manager.start_run(SPEC)
    for _ in range(200):
        if (await manager.get_run(run.run_id)).progress.problems_errored == 1:
            break
        await asyncio.sleep(0.01)
    progress = (await manager.get_run(run.run_id)).progress
    assert progress.problems_errored == 1  # problem 3 failed alone; the run went on
    assert progress.problems_done == 3  # 0, 1, 2: an errored problem is not done
    errored = await manager.problem_result(run.run_id, "toy/3")
    assert errored.attempts[-1].outcome is d.AttemptOutcome.ERROR
    assert "replica gone" in errored.attempts[-1].detail
    cancelled = await manager.cancel_run(run.run_id)
    assert cancelled.status is d.RunStatus.CANCELLED
    await manager.start()  # a cancelled run is not resumed
    assert (await manager.get_run(run.run_id)).status is d.RunStatus.CANCELLED
    store.close()


async def test_orchestrator_service_over_grpc(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    manager = RunManager(store, load, ToySolver())
    service = Service(
        "harcopa.v1.OrchestratorService",
        OrchestratorServicer(manager),
        pb_grpc.add_OrchestratorServiceServicer_to_server,
    )
    runner = ServiceRunner(
        ServiceSettings(port=0, metrics_enabled=False), [service], manager, "orchestrator"
    )
    await runner.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{runner.port}") as channel:
            stub = pb_grpc.OrchestratorServiceStub(channel)
            reply = await stub.StartRun(pb.StartRunRequest(spec=wire.to_run_spec(SPEC)))
            events = [
                wire.from_run_event(e)
                async for e in stub.WatchRun(pb.WatchRunRequest(run_id=reply.run_id))
            ]
            assert events[-1].status is d.RunStatus.SUCCEEDED
            # A snapshot first, then one event per problem finished after subscribing.
            assert events[-1].progress.problems_done == len(PROBLEMS)
            seen = {e.problem_id for e in events if e.problem_id}
            assert seen <= {p.problem_id for p in PROBLEMS}
            assert events[0].progress.problems_done + len(seen) >= len(PROBLEMS)
            got = wire.from_run((await stub.GetRun(pb.GetRunRequest(run_id=reply.run_id))).run)
            assert got.spec == SPEC and got.progress.problems_solved == 3
            assert len((await stub.ListRuns(pb.ListRunsRequest())).runs) == 1
            result = await stub.GetProblemResult(
                pb.GetProblemResultRequest(run_id=reply.run_id, problem_id="toy/4")
            )
            assert result.result.solved
            for bad, code in (
                (
                    pb.StartRunRequest(spec=pb.RunSpec(benchmark="toy")),
                    grpc.StatusCode.INVALID_ARGUMENT,
                ),
                (
                    pb.StartRunRequest(
                        spec=wire.to_run_spec(d.RunSpec(d.Pipeline.AR, "nope", d.ModelRef("x:1")))
                    ),
                    grpc.StatusCode.INVALID_ARGUMENT,
                ),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.StartRun(bad)
                assert info.value.code() == code
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetRun(pb.GetRunRequest(run_id="missing"))
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await runner.stop()
        store.close()


async def test_errored_problems_are_retried_then_the_run_is_incomplete(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    solver = ToySolver(broken={1, 4})
    manager = RunManager(store, load, solver, problem_retries=2, retry_backoff_seconds=0.01)
    run = await manager.start_run(SPEC)
    final = await _finish(manager, run.run_id)
    # Never "succeeded", never "unsolved": the two problems could not be checked.
    assert final.status is d.RunStatus.INCOMPLETE
    assert set(final.errored_problems) == {"toy/1", "toy/4"} and "resume" in final.error
    runs_gauge = REGISTRY.get_sample_value("harcopa_orchestrator_runs", {"status": "incomplete"})
    assert runs_gauge == 1.0  # what the "runs incomplete" alert watches
    errored_total = REGISTRY.get_sample_value(
        "harcopa_orchestrator_problems_finished_total", {"pipeline": "ar", "outcome": "errored"}
    )
    assert errored_total is not None and errored_total >= 6  # 2 problems x (1 + 2 retries)
    assert solver.calls.count(1) == 3 and solver.calls.count(4) == 3  # 1 + 2 retries each
    progress = final.progress
    assert (progress.problems_done, progress.problems_errored) == (4, 2)
    assert progress.problems_unfinished == 2 and progress.problems_retried == 4
    result = await manager.problem_result(run.run_id, "toy/1")
    assert result.status is d.ProblemStatus.ERRORED and result.retries == 2
    assert [a.outcome for a in result.attempts] == [d.AttemptOutcome.ERROR]  # redone in place

    # Resuming with the fault gone retries exactly the errored problems.
    solver.broken.clear()
    solver.calls.clear()
    resumed = await manager.resume_run(run.run_id)
    assert resumed.status in (d.RunStatus.PENDING, d.RunStatus.RUNNING)
    final = await _finish(manager, run.run_id)
    assert final.status is d.RunStatus.SUCCEEDED and final.errored_problems == ()
    assert sorted(solver.calls) == [1, 4]
    assert final.progress.problems_done == 6 and final.progress.problems_solved == 3
    with pytest.raises(errors.FailedPrecondition):
        await manager.resume_run(run.run_id)  # a succeeded run has nothing left to do
    store.close()


async def test_a_flaky_problem_recovers_within_its_retries(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")

    class Flaky(ToySolver):
        async def solve(self, spec, problem, on_attempt, prior=()):
            if problem.index == 2 and self.calls.count(2) < 1:
                self.calls.append(2)
                raise errors.Overloaded("model server queue full")
            return await super().solve(spec, problem, on_attempt, prior)

    solver = Flaky()
    manager = RunManager(store, load, solver, problem_retries=1, retry_backoff_seconds=0.01)
    final = await _finish(manager, (await manager.start_run(SPEC)).run_id)
    assert final.status is d.RunStatus.SUCCEEDED
    result = await manager.problem_result(final.run_id, "toy/2")
    assert result.solved and result.retries == 1
    assert final.progress.problems_retried == 1
    store.close()


async def test_closing_a_local_orchestrator_marks_its_runs_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite"
    solver = ToySolver(gate_after=1)
    manager = RunManager(RunStore(db), load, solver, interrupt_on_close=True)
    run = await manager.start_run(SPEC)
    for _ in range(200):
        if len(solver.calls) >= 2:
            break
        await asyncio.sleep(0.01)
    await manager.close()
    manager.store.close()
    # A local evaluation's next process resumes only on request (resume_on_start off).
    later = RunManager(RunStore(db), load, ToySolver(), resume_on_start=False)
    await later.start()
    assert (await later.get_run(run.run_id)).status is d.RunStatus.INTERRUPTED
    await later.resume_run(run.run_id)
    final = await _finish(later, run.run_id)
    assert final.status is d.RunStatus.SUCCEEDED and final.progress.problems_done == 6
    assert final.progress.elapsed_seconds > 0
    later.store.close()
