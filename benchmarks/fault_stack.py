"""A whole harcopa stack as real processes for the fault suite: verifier (lean-sim), model server
(the model simulator) and orchestrator, each killable and restartable on its own port.

Used by tests/integration/test_fault_suite.py and benchmarks/fault_table.py. The workload is
HAR on hand-written problems ``answer = a + b``; the model simulator draws every sample by the
request's seed (``pick: seed``), and the orchestrator seeds each attempt from the run seed, so a
fault-free run's decisions are a pure function of the seed and any fault that is recovered from
(or retried) must reproduce them exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.orchestrator_client import OrchestratorClient
from harcopa_cli.local import ServiceProcess, free_port
from harcopa_orchestrator.store import RunStore

#: (a, b) of each problem ``answer = a + b``.
SUMS = [(1, 2), (2, 5), (3, 4), (4, 4), (5, 6), (6, 7)]
RUN_SEED = 7


def problems() -> list[dict[str, str]]:
    return [
        {
            "formal_statement": f"example (answer : ℕ) (h_answer : answer = {a} + {b}) :"
            f" answer = {a + b} := sorry",
            "informal_problem": f"What is {a} + {b}?",
            "informal_answer": str(a + b),
        }
        for a, b in SUMS
    ]


def model_scenario(latency_seconds: float) -> dict[str, Any]:
    """Solver: a right draft, a wrong one or noise; then the submission. Prover: tactics of
    which only ``norm_num [h_answer]`` closes a gap. Every pick is by seed."""
    rules: list[dict[str, Any]] = []
    for a, b in SUMS:
        c = a + b
        rules.append(
            {
                "match": rf"What is {a} \+ {b}\?[\s\S]*h₁ : answer = {c}\b",
                "pick": "seed",
                "completions": ["```lean4\nexact h₁ -- submit\n```"],
            }
        )
        rules.append(
            {
                "match": rf"What is {a} \+ {b}\?",
                "pick": "seed",
                "completions": [
                    f"```lean4\n-- {a} + {b} = {c}\nhave h₁ : answer = {c} := sorry\n```",
                    f"```lean4\n-- a guess\nhave h₁ : answer = {c + 1} := sorry\n```",
                    f"```lean4\n-- another guess\nhave h₁ : answer = {c + 2} := sorry\n```",
                    "I am not sure.",
                    "```lean4\nhave h₁ : answer = answer := by exact h_missing\n```",
                ],
            }
        )
    rules.append(
        {
            "match": "tactic state",
            "pick": "seed",
            "completions": ["norm_num [h_answer]", "simp", "omega", "exact h_missing"],
        }
    )
    return {
        "name": "fault-suite",
        "rules": rules,
        "default": "sorry",
        "latency": {"request_seconds": latency_seconds},
    }


def lean_scenario(faults: dict[str, Any] | None = None) -> dict[str, Any]:
    """lean-sim rules: ``norm_num [h_answer]`` closes exactly the right gaps."""
    rules = [
        {"goal": rf"^answer = {a + b}$", "tactic": r"^norm_num \[h_answer\]$", "result": "close"}
        for a, b in SUMS
    ]
    return {"rules": rules, "faults": faults or {}}


@dataclass
class Stack:
    """The three services of one test, on fixed ports so a restarted one is found again."""

    root: Path
    pool_size: int = 4
    model_latency_seconds: float = 0.15
    lean_faults: dict[str, Any] = field(default_factory=dict)
    orchestrator_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for name in ("verifier", "model", "orchestrator"):
            self.ports[name] = free_port()
        (self.root / "problems.json").write_text(json.dumps(problems()), encoding="utf-8")
        scenario = model_scenario(self.model_latency_seconds)
        (self.root / "model.json").write_text(json.dumps(scenario), encoding="utf-8")
        self.write_lean_faults(self.lean_faults)
        models = {"default": "solver", "models": {"solver": {"target": self.target("model")}}}
        (self.root / "models.json").write_text(json.dumps(models), encoding="utf-8")

    @property
    def store_path(self) -> Path:
        return self.root / "harcopa.sqlite"

    @property
    def problems_file(self) -> Path:
        return self.root / "problems.json"

    def target(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def write_lean_faults(self, faults: dict[str, Any]) -> None:
        """The lean-sim scenario the next verifier (re)start runs with."""
        self.lean_faults = faults
        scenario = lean_scenario(faults)
        (self.root / "lean.json").write_text(json.dumps(scenario), encoding="utf-8")

    def _service(self, name: str) -> ServiceProcess:
        port = self.ports[name]
        common = {"PORT": str(port), "METRICS_ENABLED": "false", "GRACE_SECONDS": "1"}
        if name == "verifier":
            env = {
                "BACKEND__KIND": "sim",
                "BACKEND__SCENARIO_PATH": str(self.root / "lean.json"),
                "POOL_SIZE": str(self.pool_size),
                "LEASE_SECONDS": "3",
                "ACQUIRE_TIMEOUT_SECONDS": "60",
                "TACTIC_TIMEOUT_SECONDS": "5",
            }
            module, service, prefix = "harcopa_lean_verifier", "VerifierService", "VERIFIER"
        elif name == "model":
            env = {"BACKEND__KIND": "sim", "BACKEND__SCENARIO_PATH": str(self.root / "model.json")}
            module, service, prefix = "harcopa_model_server", "ModelService", "MODEL"
        else:
            env = {
                "STORE_PATH": str(self.store_path),
                "VERIFIER_TARGET": self.target("verifier"),
                "MODELS_FILE": str(self.root / "models.json"),
                "RETRY_BACKOFF_SECONDS": "0.2",
                **self.orchestrator_env,
            }
            module, service, prefix = "harcopa_orchestrator", "OrchestratorService", "ORCHESTRATOR"
        full = {f"HARCOPA_{prefix}_{k}": v for k, v in {**common, **env}.items()}
        return ServiceProcess(
            module,
            f"harcopa.v1.{service}",
            full,
            port=port,
            log_path=self.root / "logs" / f"{name}.log",
        )

    async def start(self, *names: str) -> None:
        for name in names or ("verifier", "model", "orchestrator"):
            proc = self._service(name)
            await proc.start(ready_timeout_seconds=120)
            self.procs[name] = proc

    def kill(self, name: str) -> None:
        """SIGKILL the service's process group (its REPLs die with it)."""
        proc = self.procs.pop(name)
        assert proc.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.proc.pid, signal.SIGKILL)

    async def stop(self) -> None:
        for name in ("orchestrator", "model", "verifier"):
            proc = self.procs.pop(name, None)
            if proc is not None:
                await proc.stop(grace_seconds=10)

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[OrchestratorClient]:
        async with OrchestratorClient(self.target("orchestrator"), reconnect_seconds=60) as c:
            yield c

    def spec(self, concurrency: int = 3) -> d.RunSpec:
        search = d.SearchParams(ks=3, prover_expansions=2, prover_samples=2)
        return d.RunSpec(
            d.Pipeline.HAR,
            str(self.problems_file),
            d.ModelRef("solver"),
            params=search,
            max_concurrent_problems=concurrency,
            seed=RUN_SEED,
        )

    async def outcomes(self, run_id: str) -> dict[str, Any]:
        """What a run decided, per problem, without costs and timings."""
        store = RunStore(self.store_path)
        try:
            results = await store.results(run_id)
        finally:
            store.close()
        return {result.problem_id: decisions(result) for result in results}


def decisions(result: d.ProblemResult) -> tuple[Any, ...]:
    """A problem's result as the decisions it records: status, and per attempt its outcome,
    charged budget, accepted steps with their gap proofs, submission and RPE tactic."""
    return (
        result.status.value,
        tuple(
            (
                a.outcome.value,
                a.charged,
                tuple((s.text, tuple(t.tactic for t in s.gap_proof)) for s in a.steps),
                a.submission_step,
                a.submission,
                a.rpe_tactic,
            )
            for a in result.attempts
        ),
    )
