"""The measured mode of the scheduling benchmark: HAR through the real services, in real time.

Run by ``benchmarks/search_scheduling.py --backend services``. The HAR pipeline, the Scheduler,
VerifierClient, ModelClient, the VerifierService (pool, sessions, FPS calls) and the ModelService
are the production code; the two things they drive are simulators: lean-sim processes (the
Pantograph wire-protocol simulator; every command costs the scaled ``--tactic-seconds``, every
process start the scaled ``--import-seconds``, via the scenario's ``faults``) and the model
simulator (each request costs the scaled ``--request-seconds`` plus ``--token-seconds`` per
token of its longest sample, ``--gpu-slots`` requests at once, via the scenario's ``latency``).

Workload: the first ``--problems`` FormalMath500 problems when ``--benchmark-root`` holds them,
else hand-written sums. The scripted solver drafts a wrong claim ``answer = <right> + k``
(problem index mod 3 of them) whose gap the prover cannot close, then the right claim (the
statement's own conclusion), whose gap it closes, then submits; lean-sim rules close exactly
the right claims. Every problem is solved by both schedules, with the same decisions.

Figures: our wall time; the lower bound max(model busy time / GPU slots, Lean busy time / REPL
processes), where Lean busy time is the time REPL processes spent answering or starting (the
verifier's call-duration metric) and model busy time is the simulator's service time summed over
the responses; and the reference discipline through a second VerifierService of the same size:
16 problems in flight, one request at a time per problem (a problem's model and Lean calls
serialised by one lock), and a fresh Lean process per attempt (two Mathlib imports: the start
and the restart after parsing) and per RPE check (one import). Each import is emulated as a
CheckFile of ``example : True := by simulated_mathlib_import``, a lean-sim rule that takes the
scaled import time: it holds one of the same pool's processes for that long, on the problem's
critical path, before OpenSession (twice) and before CheckEquivalence (once).

Over 400 lines: the workload, the simulated latencies and the printed figures of one benchmark
stay together so that a run's numbers can be read against its code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from benchmarks.search_scheduling import _Serial
from harcopa.benchmarks import load_benchmark
from harcopa.domain import (
    Equivalence,
    FormalProblem,
    Framework,
    Generation,
    Mode,
    Pipeline,
    Prompt,
    SamplingParams,
    SearchParams,
    Session,
)
from harcopa.model_client import ModelClient
from harcopa.prompts import PromptTemplates
from harcopa.protocols import Generator
from harcopa.verifier_client import VerifierClient
from harcopa_lean_verifier.backends.simulated import SimulatedConfig
from harcopa_lean_verifier.server import build_runner as build_verifier
from harcopa_lean_verifier.settings import VerifierSettings
from harcopa_model_server.backends.simulated import SimulatedConfig as ModelSimConfig
from harcopa_model_server.server import build_runner as build_model
from harcopa_model_server.settings import ModelSettings
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import Meter, MeteredGenerator, MeteredVerifier
from harcopa_orchestrator.pipelines import solve
from harcopa_orchestrator.recovery import ResilientVerifier
from harcopa_orchestrator.scheduler import Limits, Scheduler

CALL_KINDS = ("tactic", "draft", "file", "ready", "other")
#: Scripted token counts (the simulator's ``tokens``): a drafted step, a submission, a tactic.
STEP_TOKENS, SUBMIT_TOKENS, TACTIC_TOKENS = 130, 40, 24
CLOSER, IMPORT = "simulated_gap_closer", "simulated_mathlib_import"
Json = dict[str, Any]


@dataclass(frozen=True)
class Scripted:
    """A problem with the right claim its scripted solver drafts after ``wrong`` wrong ones."""

    problem: FormalProblem
    claim: str
    wrong: int


def conclusion(statement: str) -> str | None:
    """The ``answer = ...`` conclusion of a ``... : <conclusion> := sorry`` statement: the text
    after the last colon outside brackets, comments dropped."""
    body = re.sub(r"--[^\n]*", "", statement).rstrip()
    if not body.endswith(":= sorry"):
        return None
    body, depth, colon = body[: -len(":= sorry")], 0, -1
    for index, char in enumerate(body):
        depth += (char in "([{") - (char in ")]}")
        if char == ":" and depth == 0:
            colon = index
    text = " ".join(body[colon + 1 :].split())
    return text if colon >= 0 and text.startswith("answer = ") else None


def sums(count: int) -> list[FormalProblem]:
    out = []
    for i in range(count):
        a, b = 3 + i, 4 + 2 * i
        statement = (
            f"example (answer : ℕ) (h_answer : answer = {a} + {b}) : answer = {a + b} := sorry"
        )
        out.append(FormalProblem("sums", i, statement, f"What is {a} + {b}?", str(a + b)))
    return out


def workload(args: argparse.Namespace) -> tuple[str, list[Scripted]]:
    """(where the problems come from, the scripted problems)."""
    root = Path(args.benchmark_root)
    source, pool = "hand-written sums", sums(args.problems)
    if (root / f"{args.benchmark}.json").exists():
        source, pool = args.benchmark, list(load_benchmark(root, args.benchmark).problems)
    items: list[Scripted] = []
    for problem in pool:
        claim = conclusion(problem.formal_statement)
        if claim is not None and problem.informal_problem:
            items.append(Scripted(problem, claim, problem.index % 3))
        if len(items) == args.problems:
            break
    return source, items


def _step(claim: str) -> str:
    return f"```lean4\n-- the answer\nhave h_sim : {claim} := sorry\n```"


def model_scenario(items: Sequence[Scripted], args: argparse.Namespace) -> Json:
    """Prover: always the closer. Solver: submit once ``h_sim`` is in the state; else the
    wrong claims, then the right one (counted per prompt, so per solution state)."""
    rules: list[Json] = [
        {
            "match": "Current tactic state",
            "completions": [{"text": CLOSER, "tokens": TACTIC_TOKENS}],
        },
        {
            "match": r"\bh_sim : ",
            "completions": [
                {"text": "```lean4\nexact h_sim -- submit\n```", "tokens": SUBMIT_TOKENS}
            ],
        },
    ]
    for item in items:
        claims = [f"{item.claim} + {k + 1}" for k in range(item.wrong)] + [item.claim]
        responses = [[{"text": _step(c), "tokens": STEP_TOKENS}] for c in claims]
        pattern = re.escape(item.problem.informal_problem.strip())
        rules.append({"match": pattern, "responses": responses, "after": "last"})
    scale = args.time_scale
    latency = {
        "request_seconds": args.request_seconds * scale,
        "token_seconds": args.token_seconds * scale,
        "slots": args.gpu_slots,
    }
    return {"name": "scheduling", "rules": rules, "default": "sorry", "latency": latency}


def lean_scenario(items: Sequence[Scripted], args: argparse.Namespace) -> Json:
    """The closer proves exactly the right claims (elsewhere lean-sim rejects it); the import
    tactic takes the import time (with the command's own latency)."""
    claims = sorted({item.claim for item in items})
    rules = [
        {"goal": f"^{re.escape(c)}$", "tactic": f"^{CLOSER}$", "result": "close"} for c in claims
    ]
    tactic, imports = args.tactic_seconds * args.time_scale, args.import_seconds * args.time_scale
    delay = max(0.0, imports - tactic)
    rules.append({"tactic": f"^{IMPORT}$", "result": "close", "delay_seconds": delay})
    faults = {"latency": tactic, "ready_delay_seconds": imports}
    return {"rules": rules, "faults": faults}


def _metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def lean_busy_seconds() -> float:
    name = "harcopa_verifier_call_duration_seconds_sum"
    return sum(_metric(name, {"kind": k}) for k in CALL_KINDS)


def verifier_counts() -> dict[str, float]:
    """The verifier's process starts, evictions and REPL commands by Pantograph command (this
    process's metrics: both services run in it)."""
    counts = {
        "starts": _metric("harcopa_verifier_repl_starts_total", {}),
        "evictions": _metric("harcopa_verifier_repl_evictions_total", {}),
    }
    for metric in REGISTRY.collect():
        if metric.name == "harcopa_verifier_repl_commands":
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    counts[sample.labels["command"]] = sample.value
    return counts


class FreshProcesses:
    """The reference's fresh REPLs: two imports before each session, one before each RPE."""

    def __init__(self, inner: VerifierClient) -> None:
        self._inner = inner
        self.imports = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def _import(self) -> None:
        self.imports += 1
        await self._inner.check_file(f"example : True := by {IMPORT}")

    async def open_session(
        self,
        problem: FormalProblem,
        frameworks: Sequence[Framework],
        mode: Mode = Mode.STRICT,
        *,
        imports: Sequence[str] = (),
        client_id: str = "",
    ) -> Session:
        await self._import()  # the REPL started to parse the statement
        await self._import()  # the restart after parsing
        return await self._inner.open_session(
            problem, frameworks, mode, imports=imports, client_id=client_id
        )

    async def check_equivalence(self, session_id: str, submission: str) -> Equivalence:
        await self._import()
        return await self._inner.check_equivalence(session_id, submission)


class ServiceTime:
    """A Generator wrapper adding up the model simulator's service time of every response
    (request overhead + per-token time of the longest sample: its latency formula)."""

    def __init__(self, inner: Generator, request_seconds: float, token_seconds: float) -> None:
        self._inner, self._request, self._token = inner, request_seconds, token_seconds
        self.seconds = 0.0
        #: time.monotonic() of the first request (None before it).
        self.first_request: float | None = None

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        if self.first_request is None:
            self.first_request = time.monotonic()
        generation = await self._inner.generate(prompt, params)
        longest = max((c.num_tokens for c in generation.completions), default=0)
        self.seconds += self._request + self._token * longest
        return generation


@dataclass
class Measured:
    """One schedule's figures; wall and first request count from the verifier's start."""

    wall_seconds: float
    solved: int
    lean_seconds: float
    model_seconds: float
    imports: int
    first_request_seconds: float
    ready_seconds: float
    counts: dict[str, float]
    #: CPU seconds of this process (the search, the clients and both in-process services)
    #: and of its children (the lean-sim processes) over the run.
    cpu_seconds: float = 0.0
    children_cpu_seconds: float = 0.0

    def commands_per_solved(self) -> float:
        sent = sum(v for k, v in self.counts.items() if k not in ("starts", "evictions"))
        return sent / max(self.solved, 1)


@asynccontextmanager
async def serving(
    args: argparse.Namespace, items: Sequence[Scripted], reference: bool
) -> AsyncIterator[tuple[VerifierClient, ServiceTime, float]]:
    """Both services in-process on port 0 and connected clients, as soon as the verifier is
    ready (its parse process and one session process warm); also yields the monotonic time
    the verifier began to start."""
    with tempfile.TemporaryDirectory() as tmp:
        lean, model = Path(tmp) / "lean.json", Path(tmp) / "model.json"
        lean.write_text(json.dumps(lean_scenario(items, args)), encoding="utf-8")
        model.write_text(json.dumps(model_scenario(items, args)), encoding="utf-8")
        verifier_runner = build_verifier(
            VerifierSettings(
                port=0,
                metrics_enabled=False,
                replica_id="reference" if reference else "ours",
                pool_size=args.verifier_processes,
                parallel_starts=args.parallel_starts or None,
                # The reference holds a process per problem; ours shares them as configured.
                sessions_per_process=1 if reference else args.sessions_per_process,
                backend=SimulatedConfig(scenario_path=lean),
                acquire_timeout_seconds=600,
            )
        )
        model_runner = build_model(
            ModelSettings(
                port=0, metrics_enabled=False, backend=ModelSimConfig(scenario_path=model)
            )
        )
        await model_runner.start()
        began = time.monotonic()
        await verifier_runner.start()
        verifier = VerifierClient(f"127.0.0.1:{verifier_runner.port}", retries=False)
        client = ModelClient(f"127.0.0.1:{model_runner.port}", retries=False)
        await client.start()
        scale = args.time_scale
        metered = ServiceTime(client, args.request_seconds * scale, args.token_seconds * scale)
        try:
            yield verifier, metered, began
        finally:
            await verifier.close()
            await client.close()
            await model_runner.stop()
            await verifier_runner.stop()


async def measure(args: argparse.Namespace, items: list[Scripted], reference: bool) -> Measured:
    lean_before, counts_before = lean_busy_seconds(), verifier_counts()
    cpu_before = os.times()
    async with serving(args, items, reference) as (verifier, model, began):
        problems, ready = [i.problem for i in items], time.monotonic() - began
        fresh = FreshProcesses(verifier)
        if reference:
            solved = await _reference(args, problems, fresh, model)
        else:
            solved = await _ours(args, problems, verifier, model)
        wall = time.monotonic() - began
        lean = lean_busy_seconds() - lean_before
        first = (model.first_request or began) - began
    counts = {k: v - counts_before.get(k, 0.0) for k, v in verifier_counts().items()}
    cpu = os.times()
    own = cpu.user + cpu.system - cpu_before.user - cpu_before.system
    children = (
        cpu.children_user
        + cpu.children_system
        - cpu_before.children_user
        - cpu_before.children_system
    )
    return Measured(
        wall, solved, lean, model.seconds, fresh.imports, first, ready, counts, own, children
    )


def _params(args: argparse.Namespace) -> SearchParams:
    return SearchParams(ks=args.ks)


async def _ours(
    args: argparse.Namespace, items: list[FormalProblem], verifier: VerifierClient, model: Generator
) -> int:
    # As many sessions as the verifier holds (its Describe): parsing, RPE and file checks
    # lease the two processes the sessions may not pin.
    limits = Limits(args.gpu_slots * 2, len(items), len(items))
    scheduler = Scheduler(verifier, model, model, limits, solve)
    await scheduler.fit_sessions_to_verifier()
    templates = PromptTemplates.load()

    async def one(problem: FormalProblem) -> bool:
        ctx = scheduler.context(params=_params(args), mode=Mode.PAPER, templates=templates, seed=7)
        return (await scheduler.run_problem(Pipeline.HAR, problem, ctx)).solved

    return sum(await asyncio.gather(*(one(p) for p in items)))


async def _reference(
    args: argparse.Namespace, items: list[FormalProblem], verifier: FreshProcesses, model: Generator
) -> int:
    in_flight, unbounded = asyncio.Semaphore(16), asyncio.Semaphore(10**6)
    sessions = asyncio.Semaphore(max(1, args.verifier_processes - 2))
    templates = PromptTemplates.load()

    async def one(problem: FormalProblem) -> bool:
        async with in_flight:
            lock, meter = asyncio.Lock(), Meter()
            serial_model = _Serial(model, lock)
            serial_verifier = MeteredVerifier(_Serial(verifier, lock), meter)  # type: ignore[arg-type]
            ctx = SearchContext(
                verifier=ResilientVerifier(serial_verifier, meter, sessions),
                solver=MeteredGenerator(serial_model, unbounded, meter, 7),  # type: ignore[arg-type]
                prover=MeteredGenerator(serial_model, unbounded, meter, 7),  # type: ignore[arg-type]
                params=_params(args),
                mode=Mode.PAPER,
                templates=templates,
                meter=meter,
            )
            return (await solve(Pipeline.HAR, problem, ctx)).solved

    return sum(await asyncio.gather(*(one(p) for p in items)))


def report(args: argparse.Namespace) -> None:
    source, items = workload(args)
    ours = asyncio.run(measure(args, items, reference=False))
    ref = asyncio.run(measure(args, items, reference=True))
    bound = max(ours.model_seconds / args.gpu_slots, ours.lean_seconds / args.verifier_processes)
    print(
        f"HAR through the real gRPC services, measured in real time at time scale"
        f" {args.time_scale}: {len(items)} problems ({source}); simulators: lean-sim for Lean,"
        " the model simulator for the model"
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
    start = args.import_seconds * args.time_scale
    for name, run in (("ours", ours), ("reference", ref)):
        commands = ", ".join(
            f"{k} {v:.0f}"
            for k, v in sorted(run.counts.items())
            if k not in ("starts", "evictions")
        )
        print(
            f"  {name}: ready {run.ready_seconds:.2f} s, first model request"
            f" {run.first_request_seconds:.2f} s (one process start {start:.2f} s); process starts"
            f" {run.counts.get('starts', 0):.0f}, evictions {run.counts.get('evictions', 0):.0f};"
            f" Lean commands per solved problem {run.commands_per_solved():.1f} ({commands});"
            f" CPU: this process {run.cpu_seconds:.2f} s (search, clients, both services),"
            f" lean-sim processes {run.children_cpu_seconds:.2f} s"
        )
