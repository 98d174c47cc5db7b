"""Scheduling benchmark: a simulated HAR run in virtual time, ours against the reference's.

Run ``python benchmarks/search_scheduling.py [--problems 64] [--benchmark-root DIR]``;
``--backend services`` measures the same comparison in real time through the real gRPC
services on lean-sim and the model simulator instead, latencies scaled by ``--time-scale``
(benchmarks/scheduling_services.py). The HAR pipeline and the Scheduler are the real code;
Lean and the model are in-process simulators with calibrated latencies (``--tactic-seconds 1``,
``--import-seconds 60``, per-request and per-token generation time, a GPU concurrency limit)
whose outcomes come from a seeded hash of the text, so both schedules make the same decisions.
Time is virtual: an event loop whose clock jumps to the next timer, so an hour of simulated
work takes seconds.

It prints our wall time, the lower bound max(total model time / model parallelism, total Lean
time / verifier processes), the critical path (the longest problem run alone: no schedule
finishes before it), what pinning each session to one process costs (the same run with any call
free to take any process: a what-if, since a Pantograph state lives in the process that made
it), and the same workload scheduled as the reference does it
(16 problems in flight, one request at a time per problem, a fresh Lean process with a
Mathlib import per attempt (two: start and the restart after parsing) and per RPE check).
``--compare-ranks`` instead runs 18 workloads (problems, processes, sessions per process) under
the verifier's turn ranking (turns.py) and two other rules, printing wall / bound for each.

Over 400 lines: the workload, the simulated latencies and the printed figures of one benchmark
stay together so that a run's numbers can be read against its code.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import random
import selectors
import statistics
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harcopa.benchmarks import load_benchmark
from harcopa.domain import (
    Completion,
    Draft,
    Equivalence,
    FileCheck,
    FinishReason,
    FormalProblem,
    Framework,
    Generation,
    Goal,
    Lease,
    Mode,
    ParsedProblem,
    Pipeline,
    Prompt,
    ProofComplete,
    ProofState,
    SamplingParams,
    SearchParams,
    Session,
    StateHandle,
    TacticError,
    TacticResult,
    TokenUsage,
    Validation,
    Variable,
    VerifierInfo,
)
from harcopa.domain.problems import SESSIONS_PER_PROCESS
from harcopa.prompts import PromptTemplates
from harcopa_lean_verifier.turns import ProblemRanks, Rank, Turn
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import Meter, MeteredGenerator, MeteredVerifier
from harcopa_orchestrator.pipelines import solve
from harcopa_orchestrator.recovery import ResilientVerifier
from harcopa_orchestrator.scheduler import Limits, Scheduler


class VirtualClockSelector(selectors.DefaultSelector):
    """A selector that never sleeps: when nothing is ready it advances the virtual clock."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list:  # type: ignore[type-arg]
        events = super().select(0)
        if not events and timeout is not None and timeout > 0:
            self.now += timeout
        return events


def virtual_loop() -> asyncio.AbstractEventLoop:
    selector = VirtualClockSelector()
    loop = asyncio.SelectorEventLoop(selector)
    loop.time = lambda: selector.now  # type: ignore[method-assign]
    return loop


def _rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@dataclass
class Ledger:
    """Total busy time of each resource, in (virtual) seconds."""

    lean_seconds: float = 0.0
    model_seconds: float = 0.0
    imports: int = 0


@dataclass
class LeanCosts:
    tactic_seconds: float = 1.0
    import_seconds: float = 60.0
    open_tactics: int = 4  # parse + frameworks, in tactic-equivalents
    rpe_tactics: int = 5  # rfl, norm_num, ring_nf, rw_search, aesop


class _NewestLast:
    """Each new session behind every earlier one (the verifier's rule before ProblemRanks)."""

    def __init__(self) -> None:
        self._next = itertools.count()

    def rank(self, client_id: str, problem_id: str) -> Rank:
        return (0, next(self._next))

    def closed(self, client_id: str, problem_id: str) -> None:
        return None


class _ProblemAge:
    """A problem's sessions in the place of its first one (its attempts not counted)."""

    def __init__(self) -> None:
        self._inner = ProblemRanks()

    def rank(self, client_id: str, problem_id: str) -> Rank:
        return (0, self._inner.rank(client_id, problem_id)[1])

    def closed(self, client_id: str, problem_id: str) -> None:
        self._inner.closed(client_id, problem_id)


#: Ranking rules ``--compare-ranks`` runs: the verifier's (ProblemRanks) and two others.
RANK_RULES: dict[str, Callable[[], Any]] = {
    "most search ahead (the verifier's)": ProblemRanks,
    "newest session last": _NewestLast,
    "problem age": _ProblemAge,
}
#: ``--compare-ranks`` workloads: (problems, processes), each with 2, 3 and 4 sessions per
#: process; 64 problems in flight.
RANK_WORKLOADS = ((64, 16), (128, 16), (64, 8), (96, 16), (48, 16), (128, 32))


@dataclass
class _SimProcess:
    """A simulated REPL process: the sessions on it take turns, the lowest ranked first, as on
    the verifier's shared processes."""

    turn: Turn = field(default_factory=Turn)
    sessions: int = 0


@dataclass
class _SimSession:
    parsed: ParsedProblem
    key: str
    rank: Rank
    process: _SimProcess = field(default_factory=_SimProcess)
    #: The unpinned what-if: one turn with a slot per process, taken by every session's calls.
    anywhere: Turn | None = None
    client_id: str = ""

    def turn(self) -> AbstractAsyncContextManager[None]:
        if self.anywhere is not None:
            return self.anywhere.taken(self.rank)
        return self.process.turn.taken(self.rank)


class VerifierSimulator:
    """In-process Lean simulator: a session's calls run one at a time on its process, which it
    shares with other sessions as the verifier's pool does (``cores`` processes, sessions
    spread over them first, then ``sessions_per_process`` at most on each), and every unit of
    Lean work holds one of ``cores``. ``reference`` adds the reference's imports (and gives
    every session a process of its own); ``unpinned`` lets every call take any free process
    instead of its session's (a what-if: Pantograph states stay in the process that made them).
    Outcomes: a step drafts with probability 0.7; a tactic closes its goal with 0.4 and splits
    it with 0.1; a submission validates with 0.85 and is right with 0.3 (seeded by text)."""

    def __init__(
        self,
        costs: LeanCosts,
        cores: int,
        ledger: Ledger,
        reference: bool,
        unpinned: bool = False,
        ranks: Callable[[], Any] = ProblemRanks,
    ) -> None:
        self.costs, self.ledger, self.reference = costs, ledger, reference
        self._cores = asyncio.Semaphore(cores)
        self._processes = [_SimProcess() for _ in range(cores)]
        self._anywhere = Turn(cores) if unpinned else None
        self._ranks = ranks()
        self._sessions: dict[str, _SimSession] = {}
        self._states: dict[int, tuple[str, tuple[Goal, ...]]] = {}
        self._ids = 0

    async def _work(self, seconds: float) -> None:
        async with self._cores:
            self.ledger.lean_seconds += seconds
            await asyncio.sleep(seconds)

    async def _import(self) -> None:
        self.ledger.imports += 1
        await self._work(self.costs.import_seconds)

    def _new(self, session_id: str, goals: tuple[Goal, ...]) -> ProofState:
        self._ids += 1
        self._states[self._ids] = (session_id, goals)
        return ProofState(StateHandle(session_id, self._ids), goals)

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def open_session(
        self,
        problem: FormalProblem,
        frameworks: Sequence[Framework],
        mode: Mode = Mode.STRICT,
        *,
        imports: Sequence[str] = (),
        client_id: str = "",
    ) -> Session:
        self._ids += 1
        session_id = f"s{self._ids}"
        parsed = ParsedProblem((), "ℕ", (Variable("h_answer", "answer = 1"),), "answer = 1")
        # Ranked as on the verifier: the fewest sessions opened before, then the older problem.
        rank = self._ranks.rank(client_id, problem.problem_id)
        session = _SimSession(
            parsed, problem.problem_id, rank, anywhere=self._anywhere, client_id=client_id
        )
        if not self.reference:  # the process with the fewest sessions (the scheduler caps them)
            session.process = min(self._processes, key=lambda p: p.sessions)
            session.process.sessions += 1
        self._sessions[session_id] = session
        if self.reference:  # a fresh REPL, then the restart after parsing
            await self._import()
            await self._import()
        await self._work(self.costs.open_tactics * self.costs.tactic_seconds)
        hyps = (Variable("answer", "ℕ"), Variable("h_answer", "answer = 1"))
        states = [(f, self._new(session_id, (Goal(hyps, "False"),))) for f in frameworks]
        return Session(session_id, parsed, tuple(states))

    async def _tactic(self, state: StateHandle) -> tuple[_SimSession, tuple[Goal, ...]]:
        session = self._sessions[state.session_id]
        async with session.turn():
            await self._work(self.costs.tactic_seconds)
        return session, self._states[state.state_id][1]

    async def apply_step(
        self, state: StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> Draft:
        session, goals = await self._tactic(state)
        if _rng(session.key, step).random() > 0.7:
            return Draft(TacticError(("simulated elaboration error",)))
        hyps = goals[-1].variables
        gaps = tuple(Goal(hyps, f"gap {i} of {step}") for i in range(step.count("sorry")))
        count = len(goals[-1].variables)
        continuation = Goal((*goals[-1].variables, Variable(f"h{count}", f"fact {count}")), "False")
        return Draft(self._new(state.session_id, (*gaps, continuation)), len(gaps))

    async def run_tactic(
        self, state: StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> TacticResult:
        session, goals = await self._tactic(state)
        roll = _rng(session.key, goals[goal_index].target, tactic).random()
        if roll > 0.5:
            return TacticError(("simulated tactic failure",))
        rest = goals[:goal_index] + goals[goal_index + 1 :]
        target = goals[goal_index].target
        made = () if roll < 0.4 else tuple(Goal((), f"{target}.{i}") for i in (1, 2))
        new = self._new(state.session_id, made + rest)
        return ProofComplete(new) if len(new.goals) <= ignored_goals else new

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> Validation:
        session = self._sessions[session_id]
        async with session.turn():
            await self._work(self.costs.tactic_seconds)
        if _rng(session.key, *path, submission).random() > 0.85:
            return Validation(TacticError(("simulated validation failure",)))
        answer = _rng(*path, submission).randrange(100)
        state = self._new(session_id, (Goal((), f"answer = {answer}", "h.mpr"),))
        return Validation(state, f"answer = {answer}")

    async def read_submission(self, state: StateHandle) -> str | None:
        return self._states[state.state_id][1][0].target

    async def check_equivalence(self, session_id: str, submission: str) -> Equivalence:
        if self.reference:  # the reference restarts its REPL for every RPE check
            await self._import()
        seconds = self.costs.rpe_tactics * self.costs.tactic_seconds
        await self._work(seconds)
        right = _rng(self._sessions[session_id].key, submission).random() < 0.3
        return Equivalence("norm_num" if right else None, lean_seconds=seconds)

    async def check_file(
        self, text: str, *, timeout_seconds: float = 0.0, imports: Sequence[str] = ()
    ) -> FileCheck:
        seconds = self.costs.tactic_seconds * text.count("\n")
        await self._work(seconds)
        return FileCheck(True, (), 0, (), seconds)

    async def delete_states(self, states: Sequence[StateHandle]) -> None: ...

    async def close_session(self, session_id: str) -> float:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            session.process.sessions -= 1
            self._ranks.closed(session.client_id, session.key)
        return 0.0

    async def renew_lease(self, client_id: str, *, release: bool = False) -> Lease:
        return Lease(len(self._sessions), 0.0)

    async def describe(self) -> VerifierInfo:
        return VerifierInfo("simulated", "in-process simulator", session_capacity=1 << 20)


class GeneratorSimulator:
    """In-process model simulator: ``gpu_slots`` concurrent requests, each taking a fixed
    overhead plus a per-token time for its longest sample. Solver steps submit more often as
    the solution grows; prover tactics are short."""

    def __init__(self, gpu_slots: int, overhead: float, per_token: float, ledger: Ledger) -> None:
        self._slots = asyncio.Semaphore(gpu_slots)
        self.overhead, self.per_token, self.ledger = overhead, per_token, ledger

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        user = prompt.messages[-1].content
        rng = _rng(user, params.seed)
        prover = "Current Solution State" not in user
        completions = [self._sample(rng, user, prover) for _ in range(params.n)]
        seconds = self.overhead + self.per_token * max(c.num_tokens for c in completions)
        async with self._slots:
            self.ledger.model_seconds += seconds
            await asyncio.sleep(seconds)
        tokens = sum(c.num_tokens for c in completions)
        return Generation(tuple(completions), TokenUsage(len(user) // 4, tokens), "simulator")

    @staticmethod
    def _sample(rng: random.Random, user: str, prover: bool) -> Completion:
        tag = rng.randrange(10**6)
        if prover:
            text, tokens = f"simulated_tactic_{tag}", rng.randint(8, 40)
        elif rng.random() < 0.12 + 0.15 * user.count(": fact "):
            text, tokens = "exact h_answer -- submit", rng.randint(20, 60)
        else:
            proof = "sorry" if rng.random() < 0.6 else "by simulated_closer"
            text = f"-- step {tag}\nhave h{tag} : fact {tag} := {proof}"
            tokens = rng.randint(60, 200)
        logprobs = tuple(-rng.random() for _ in range(4))
        return Completion(text, FinishReason.STOP, logprobs, tokens)


@dataclass
class Outcome:
    wall_seconds: float
    solved: int
    ledger: Ledger


async def _ours(
    problems: list[FormalProblem],
    args: argparse.Namespace,
    unpinned: bool = False,
    ranks: Callable[[], Any] = ProblemRanks,
) -> Outcome:
    ledger = Ledger()
    verifier = VerifierSimulator(
        _costs(args),
        args.verifier_processes,
        ledger,
        reference=False,
        unpinned=unpinned,
        ranks=ranks,
    )
    model = GeneratorSimulator(args.gpu_slots, args.request_seconds, args.token_seconds, ledger)
    sessions = args.verifier_processes * args.sessions_per_process
    limits = Limits(args.gpu_slots * 2, sessions, args.problems_in_flight)
    scheduler = Scheduler(verifier, model, model, limits, solve)
    templates, loop = PromptTemplates.load(), asyncio.get_running_loop()
    started = loop.time()

    async def one(problem: FormalProblem) -> bool:
        ctx = scheduler.context(params=SearchParams(), mode=Mode.PAPER, templates=templates, seed=7)
        return (await scheduler.run_problem(Pipeline.HAR, problem, ctx)).solved

    solved = await asyncio.gather(*(one(p) for p in problems))
    return Outcome(loop.time() - started, sum(solved), ledger)


class _Serial:
    """The reference's per-problem discipline: one request (model or Lean) at a time."""

    def __init__(self, inner: object, lock: asyncio.Lock) -> None:
        self._inner, self._lock = inner, lock

    def __getattr__(self, name: str) -> object:
        method = getattr(self._inner, name)

        async def serial(*args: object, **kwargs: object) -> object:
            async with self._lock:
                return await method(*args, **kwargs)

        return serial


async def _reference(problems: list[FormalProblem], args: argparse.Namespace) -> Outcome:
    ledger = Ledger()
    verifier = VerifierSimulator(_costs(args), args.verifier_processes, ledger, reference=True)
    model = GeneratorSimulator(args.gpu_slots, args.request_seconds, args.token_seconds, ledger)
    in_flight, unbounded = asyncio.Semaphore(16), asyncio.Semaphore(10**6)
    templates, loop = PromptTemplates.load(), asyncio.get_running_loop()
    started = loop.time()

    async def one(problem: FormalProblem) -> bool:
        async with in_flight:
            lock, meter = asyncio.Lock(), Meter()
            serial_model = _Serial(model, lock)
            ctx = SearchContext(
                verifier=ResilientVerifier(MeteredVerifier(_Serial(verifier, lock), meter), meter),  # type: ignore[arg-type]
                solver=MeteredGenerator(serial_model, unbounded, meter, 7),  # type: ignore[arg-type]
                prover=MeteredGenerator(serial_model, unbounded, meter, 7),  # type: ignore[arg-type]
                params=SearchParams(),
                mode=Mode.PAPER,
                templates=templates,
                meter=meter,
            )
            return (await solve(Pipeline.HAR, problem, ctx)).solved

    solved = await asyncio.gather(*(one(p) for p in problems))
    return Outcome(loop.time() - started, sum(solved), ledger)


def compare_ranks(args: argparse.Namespace) -> dict[str, list[float]]:
    """Each RANK_WORKLOADS workload under each of RANK_RULES; prints wall (wall / bound) per
    workload and the mean ratio per rule, and returns the ratios by rule."""
    ratios: dict[str, list[float]] = {rule: [] for rule in RANK_RULES}
    print(f"turn ranking rules, virtual time, {args.problems_in_flight} problems in flight:")
    print("  problems processes sessions/process  " + "  ".join(RANK_RULES))
    for count, processes in RANK_WORKLOADS:
        for per_process in (2, 3, 4):
            run = argparse.Namespace(
                **{
                    **vars(args),
                    "problems": count,
                    "verifier_processes": processes,
                    "sessions_per_process": per_process,
                }
            )
            problems, cells = _problems(run), []
            for rule, ranks in RANK_RULES.items():
                out = virtual_loop().run_until_complete(_ours(problems, run, ranks=ranks))
                bound = max(
                    out.ledger.model_seconds / run.gpu_slots,
                    out.ledger.lean_seconds / processes,
                )
                ratios[rule].append(out.wall_seconds / max(bound, 1e-9))
                cell = f"{out.wall_seconds:.0f} s ({ratios[rule][-1]:.2f})"
                cells.append(f"{cell:>{len(rule)}}")
            print(f"  {count:>8} {processes:>9} {per_process:>17}  " + "  ".join(cells))
    means = "; ".join(f"{rule} {statistics.mean(r):.3f}" for rule, r in ratios.items())
    print(f"  mean wall / bound: {means}")
    return ratios


def _costs(args: argparse.Namespace) -> LeanCosts:
    return LeanCosts(args.tactic_seconds, args.import_seconds)


def _problems(args: argparse.Namespace) -> list[FormalProblem]:
    root = Path(args.benchmark_root)
    if (root / f"{args.benchmark}.json").exists():
        return load_benchmark(root, args.benchmark).problems[: args.problems]
    print(f"(simulator) {root / args.benchmark}.json not found: using synthetic problems")
    return [FormalProblem("synthetic", i, "example : True := sorry") for i in range(args.problems)]


def main(argv: Sequence[str] | None = None) -> None:
    default_root = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmark"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark-root", default=str(default_root))
    parser.add_argument("--benchmark", default="formal_math500")
    # Defaults per mode: (virtual, services).
    defaults = {
        "problems": (64, 16),
        "verifier_processes": (16, 8),
        "gpu_slots": (32, 8),
        "request_seconds": (0.05, 2.0),
    }
    parser.add_argument("--problems", type=int, help="problems (64 virtual, 16 services)")
    parser.add_argument("--problems-in-flight", type=int, default=64)
    parser.add_argument("--verifier-processes", type=int, help="REPL processes (16 / 8)")
    parser.add_argument("--gpu-slots", type=int, help="concurrent model requests (32 / 8)")
    parser.add_argument("--tactic-seconds", type=float, default=1.0)
    parser.add_argument("--import-seconds", type=float, default=60.0)
    parser.add_argument("--request-seconds", type=float, help="per model request (0.05 / 2.0)")
    parser.add_argument("--token-seconds", type=float, default=0.02, help="per generated token")
    parser.add_argument(
        "--backend",
        choices=["virtual", "services"],
        default="virtual",
        help="virtual: in-process simulators in virtual time; services: the real gRPC services"
        " (lean-sim, model simulator) in real time, latencies scaled by --time-scale",
    )
    parser.add_argument("--time-scale", type=float, default=0.02, help="services mode only")
    parser.add_argument("--ks", type=int, default=80, help="K_S (services mode)")
    parser.add_argument(
        "--sessions-per-process",
        type=int,
        default=SESSIONS_PER_PROCESS,
        help="sessions sharing one REPL process (services mode: the verifier's setting; virtual"
        f" mode: sessions in flight are this times the processes; default {SESSIONS_PER_PROCESS})",
    )
    parser.add_argument(
        "--parallel-starts",
        type=int,
        default=0,
        help="REPL processes starting at once (services mode; 0: the verifier's default, the"
        " core count)",
    )
    parser.add_argument(
        "--compare-ranks",
        action="store_true",
        help="virtual mode: run 18 workloads (problems, processes, sessions per process) under"
        " the verifier's turn ranking and two other rules, and print wall / bound for each",
    )
    args = parser.parse_args(argv)
    if args.compare_ranks and args.backend == "services":
        parser.error("--compare-ranks runs in virtual time only")
    mode = 1 if args.backend == "services" else 0
    for name, values in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, values[mode])
    if args.backend == "services":
        from benchmarks.scheduling_services import report

        report(args)
        return
    if args.compare_ranks:
        compare_ranks(args)
        return
    problems = _problems(args)
    ours = virtual_loop().run_until_complete(_ours(problems, args))
    ref = virtual_loop().run_until_complete(_reference(problems, args))
    bound = max(
        ours.ledger.model_seconds / args.gpu_slots,
        ours.ledger.lean_seconds / args.verifier_processes,
    )
    print(f"simulated HAR run (lean and model simulators, virtual time): {len(problems)} problems")
    print(f"  ours:        wall {ours.wall_seconds:9.0f} s  solved {ours.solved}")
    print(
        f"  lower bound: wall {bound:9.0f} s  = max(model {ours.ledger.model_seconds:.0f} s / "
        f"{args.gpu_slots}, lean {ours.ledger.lean_seconds:.0f} s / {args.verifier_processes})"
    )
    print(
        f"  reference:   wall {ref.wall_seconds:9.0f} s  solved {ref.solved}  "
        f"(imports {ref.ledger.imports}, lean {ref.ledger.lean_seconds:.0f} s)"
    )
    print(
        f"  speed-up {ref.wall_seconds / max(ours.wall_seconds, 1e-9):.1f}x; "
        f"ours / bound {ours.wall_seconds / max(bound, 1e-9):.2f}"
    )
    # Each problem alone, on the whole machine: the shortest it can take under our schedule.
    solo = [virtual_loop().run_until_complete(_ours([p], args)).wall_seconds for p in problems]
    longest, tight = max(solo), max(bound, max(solo))
    print(
        f"  critical path: the longest problem alone takes {longest:.0f} s"
        f" ({longest / max(bound, 1e-9):.2f} of the bound), so no schedule beats"
        f" {tight:.0f} s; ours / that {ours.wall_seconds / max(tight, 1e-9):.2f}"
    )
    # What pinning a session to one process costs: the same run with every call free to take
    # any process (not something the verifier can do: a state lives in the process that made it).
    free = virtual_loop().run_until_complete(_ours(problems, args, unpinned=True))
    print(
        f"  unpinned what-if: {free.wall_seconds:.0f} s (ours / bound"
        f" {free.wall_seconds / max(bound, 1e-9):.2f}) if any call could run on any free process"
    )


if __name__ == "__main__":
    main()
