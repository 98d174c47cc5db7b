"""The measured mode of the scheduling benchmark: HAR through the real services, in real time.

Run by ``benchmarks/search_scheduling.py --backend services``. The VerifierService runs on
lean-sim processes (the Pantograph simulator; each request costs the scaled tactic latency, each
process start the scaled Mathlib import) and the ModelService on the model simulator (each
request costs the scaled generation time; ``--gpu-slots`` requests at once). The HAR pipeline,
the Scheduler, the clients and both servers are the production code. Problems are hand-written
sums; the scripted solver drafts a wrong ``have`` (its gap proof then fails in lean-sim) a
problem-dependent number of times before the right one, then submits.

Figures: our wall time; the lower bound max(Lean busy time / REPL processes, model busy time /
GPU slots), where Lean busy time is the time REPL processes spent answering (the verifier's
call-duration metric) and model busy time is requests x the simulated time per request; and
the reference's discipline on the same services: 16 problems in flight, one request at a time
per problem, and a fresh Lean process per attempt (two imports: start + restart after parsing)
and per RPE check, emulated as waits of the scaled import time on the same process budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import REGISTRY

from benchmarks.search_scheduling import _Serial
from harcopa.domain import FormalProblem, Framework, Mode, Pipeline, SearchParams, Session
from harcopa.model_client import ModelClient
from harcopa.prompts import PromptTemplates
from harcopa.verifier_client import VerifierClient
from services.lean_verifier.backends.simulated import SimulatedConfig
from services.lean_verifier.server import build_runner as build_verifier
from services.lean_verifier.settings import VerifierSettings
from services.model_server.backends.simulated import SimulatedConfig as ModelSimConfig
from services.model_server.server import build_runner as build_model
from services.model_server.settings import ModelSettings
from services.orchestrator.context import Meter, SearchContext
from services.orchestrator.pipelines import solve
from services.orchestrator.recovery import MeteredVerifier, ResilientVerifier
from services.orchestrator.scheduler import Limits, MeteredGenerator, Scheduler

CALL_KINDS = ("tactic", "draft", "file", "ready", "other")


def problems(count: int) -> list[FormalProblem]:
    out = []
    for i in range(count):
        a, b = 3 + i, 4 + 2 * i
        statement = (
            f"example (answer : ℕ) (h_answer : answer = {a} + {b}) : answer = {a + b} := sorry"
        )
        out.append(FormalProblem("sums", i, statement, f"What is {a} + {b}?", str(a + b)))
    return out


def model_scenario(items: Sequence[FormalProblem], request_seconds: float, slots: int) -> dict:  # type: ignore[type-arg]
    """Submit once `h1` is in the state; else wrong drafts (i % 3 of them), then the right one."""
    rules: list[dict] = [  # type: ignore[type-arg]
        {"match": "h1 : answer = ", "completions": ["```lean4\nexact h1 -- submit\n```"]},
        {"match": "tactic state", "completions": ["norm_num [h_answer]"]},
    ]
    for problem in items:
        right = int(problem.informal_answer)
        step = "```lean4\n-- add the two numbers\nhave h1 : answer = {} := sorry\n```"
        wrong = [[step.format(right + 1 + k)] for k in range(problem.index % 3)]
        rules.append(
            {
                "match": f"What is {problem.informal_problem[8:-1]}\\?".replace("+", "\\+"),
                "responses": [*wrong, [step.format(right)]],
                "after": "last",
            }
        )
    latency = {"request_seconds": request_seconds, "slots": slots}
    return {"name": "scheduling", "rules": rules, "default": "sorry", "latency": latency}


def _metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def lean_busy_seconds() -> float:
    return sum(
        _metric("harcopa_verifier_call_duration_seconds_sum", {"kind": k}) for k in CALL_KINDS
    )


def model_requests() -> float:
    return _metric("harcopa_model_requests_total", {"method": "Generate", "code": "OK"})


@dataclass
class Measured:
    wall_seconds: float
    solved: int
    lean_seconds: float
    model_seconds: float
    imports: int = 0


class _FreshProcesses:
    """Adds the reference's Mathlib imports: two per attempt (session), one per RPE check."""

    def __init__(self, inner: VerifierClient, seconds: float, processes: asyncio.Semaphore) -> None:
        self._inner, self._seconds, self._processes = inner, seconds, processes
        self.imports = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def _import(self, times: int) -> None:
        for _ in range(times):
            async with self._processes:
                self.imports += 1
                await asyncio.sleep(self._seconds)

    async def open_session(
        self, problem: FormalProblem, frameworks: Sequence[Framework], mode: Mode = Mode.STRICT
    ) -> Session:
        await self._import(2)
        return await self._inner.open_session(problem, frameworks, mode)

    async def check_equivalence(self, session_id: str, submission: str) -> str | None:
        await self._import(1)
        return await self._inner.check_equivalence(session_id, submission)


async def _run(args: argparse.Namespace, items: list[FormalProblem], reference: bool) -> Measured:
    scale = args.time_scale
    request_seconds = args.request_seconds * scale
    with tempfile.TemporaryDirectory() as tmp:
        lean = Path(tmp) / "lean.json"
        faults = {
            "latency": args.tactic_seconds * scale,
            "ready_delay_seconds": args.import_seconds * scale,
        }
        lean.write_text(json.dumps({"faults": faults}), encoding="utf-8")
        model = Path(tmp) / "model.json"
        scenario = model_scenario(items, request_seconds, args.gpu_slots)
        model.write_text(json.dumps(scenario), encoding="utf-8")
        verifier_settings = VerifierSettings(
            port=0,
            metrics_enabled=False,
            replica_id="bench",
            pool_size=args.verifier_processes,
            backend=SimulatedConfig(scenario_path=lean),
            acquire_timeout_seconds=600,
        )
        model_settings = ModelSettings(
            port=0, metrics_enabled=False, backend=ModelSimConfig(scenario_path=model)
        )
        verifier_runner, model_runner = (
            build_verifier(verifier_settings),
            build_model(model_settings),
        )
        await verifier_runner.start()  # warms the pool: its imports are not part of the run
        await model_runner.start()
        verifier = VerifierClient(f"127.0.0.1:{verifier_runner.port}", retries=False)
        generator = ModelClient(f"127.0.0.1:{model_runner.port}", retries=False)
        await generator.start()
        lean_before, requests_before = lean_busy_seconds(), model_requests()
        try:
            started = time.monotonic()
            if reference:
                solved, imports = await _reference(args, items, verifier, generator)
            else:
                solved, imports = await _ours(args, items, verifier, generator), 0
            wall = time.monotonic() - started
        finally:
            await verifier.close()
            await generator.close()
            await model_runner.stop()
            await verifier_runner.stop()
    lean_seconds = lean_busy_seconds() - lean_before + imports * args.import_seconds * scale
    model_seconds = (model_requests() - requests_before) * request_seconds
    return Measured(wall, solved, lean_seconds, model_seconds, imports)


def _params(args: argparse.Namespace) -> SearchParams:
    return SearchParams(solver_max_trials=args.ks)


async def _ours(
    args: argparse.Namespace,
    items: list[FormalProblem],
    verifier: VerifierClient,
    model: ModelClient,
) -> int:
    # Sessions pin a REPL each; parsing, RPE and file checks lease the remaining two.
    limits = Limits(args.gpu_slots * 2, max(1, args.verifier_processes - 2), len(items))
    scheduler = Scheduler(verifier, model, model, limits)
    templates = PromptTemplates.load()

    async def one(problem: FormalProblem) -> bool:
        ctx = scheduler.context(params=_params(args), mode=Mode.PAPER, templates=templates, seed=7)
        return (await scheduler.run_problem(Pipeline.HAR, problem, ctx)).solved

    return sum(await asyncio.gather(*(one(p) for p in items)))


async def _reference(
    args: argparse.Namespace,
    items: list[FormalProblem],
    verifier: VerifierClient,
    model: ModelClient,
) -> tuple[int, int]:
    processes = asyncio.Semaphore(args.verifier_processes)
    fresh = _FreshProcesses(verifier, args.import_seconds * args.time_scale, processes)
    in_flight, unbounded = asyncio.Semaphore(16), asyncio.Semaphore(10**6)
    sessions = asyncio.Semaphore(max(1, args.verifier_processes - 2))
    templates = PromptTemplates.load()

    async def one(problem: FormalProblem) -> bool:
        async with in_flight:
            lock, meter = asyncio.Lock(), Meter()
            serial_model = _Serial(model, lock)
            ctx = SearchContext(
                verifier=ResilientVerifier(
                    MeteredVerifier(_Serial(fresh, lock), meter), meter, sessions
                ),  # type: ignore[arg-type]
                solver=MeteredGenerator(serial_model, unbounded, meter, 7),  # type: ignore[arg-type]
                prover=MeteredGenerator(serial_model, unbounded, meter, 7),  # type: ignore[arg-type]
                params=_params(args),
                mode=Mode.PAPER,
                templates=templates,
                meter=meter,
            )
            return (await solve(Pipeline.HAR, problem, ctx)).solved

    solved = sum(await asyncio.gather(*(one(p) for p in items)))
    return solved, fresh.imports


def report(args: argparse.Namespace) -> None:
    items = problems(args.problems)
    ours = asyncio.run(_run(args, items, reference=False))
    ref = asyncio.run(_run(args, items, reference=True))
    bound = max(ours.model_seconds / args.gpu_slots, ours.lean_seconds / args.verifier_processes)
    print(
        f"HAR through the real services (lean-sim and the model simulator), measured in real time"
        f" at time scale {args.time_scale}: {len(items)} problems"
    )
    print(f"  ours:        wall {ours.wall_seconds:9.2f} s  solved {ours.solved}")
    print(
        f"  lower bound: wall {bound:9.2f} s  = max(model {ours.model_seconds:.2f} s / "
        f"{args.gpu_slots}, lean {ours.lean_seconds:.2f} s / {args.verifier_processes})"
    )
    print(
        f"  reference:   wall {ref.wall_seconds:9.2f} s  solved {ref.solved}  "
        f"(imports {ref.imports}, lean {ref.lean_seconds:.2f} s)"
    )
    print(
        f"  speed-up {ref.wall_seconds / max(ours.wall_seconds, 1e-9):.1f}x; "
        f"ours / bound {ours.wall_seconds / max(bound, 1e-9):.2f}"
    )
