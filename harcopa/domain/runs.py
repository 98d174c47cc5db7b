"""Run-level domain types: run specifications with the paper's default budgets, progress, events.

Built by the CLI and the orchestrator servicer; stored by the orchestrator's run store.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from harcopa.domain.problems import Mode


class Pipeline(enum.Enum):
    AR = "ar"
    HAR = "har"
    BFS = "bfs"
    H_BFS = "h_bfs"
    WG = "wg"
    H_WG = "h_wg"
    H_SA = "h_sa"
    COPA = "copa"

    @property
    def hierarchical(self) -> bool:
        return self in (Pipeline.HAR, Pipeline.H_BFS, Pipeline.H_WG, Pipeline.H_SA, Pipeline.COPA)

    @property
    def whole_draft(self) -> bool:
        return self in (Pipeline.WG, Pipeline.H_WG, Pipeline.H_SA, Pipeline.COPA)


@dataclass(frozen=True, slots=True)
class SearchParams:
    """Budgets and sampling; defaults are the paper's (official-impl §4.0, docs/glossary.md)."""

    ks: int = 80  # K_S: step candidates a problem may be charged across its rollouts
    solver_samples: int = 8  # completions per expansion (BFS) or per step candidate (AR)
    prover_expansions: int = 16  # model calls of one proof search
    prover_samples: int = 4  # tactics sampled per prover expansion
    kw: int = 0  # K_W; 0 means the pipeline default (8 whole-draft, 1 rollout set otherwise)
    temperature: float = 0.7
    solver_max_tokens: int = 2048
    prover_max_tokens: int = 256

    def tries_for(self, pipeline: Pipeline) -> int:
        """K_W for whole-draft pipelines; the number of rollout sets (1) for step pipelines."""
        if self.kw:
            return self.kw
        return 8 if pipeline.whole_draft else 1

    def merged(self, **overrides: object) -> SearchParams:
        """Copy with the given overrides; None means "not given" and keeps the default."""
        values = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A run's model for one role: a name from the orchestrator's configuration, or (where the
    operator allows the host) an endpoint to call directly."""

    name: str = ""
    endpoint: str = ""
    endpoint_model: str = ""
    system_prompt: str = ""

    @property
    def is_openai(self) -> bool:
        return self.endpoint.startswith(("http://", "https://"))


@dataclass(frozen=True, slots=True)
class RunSpec:
    pipeline: Pipeline
    benchmark: str
    solver: ModelRef = field(default_factory=ModelRef)
    prover: ModelRef | None = None
    name: str = ""
    problem_indices: tuple[int, ...] = ()
    params: SearchParams = field(default_factory=SearchParams)
    mode: Mode = Mode.STRICT
    max_concurrent_problems: int = 16
    seed: int | None = None
    limit: int = 0  # the first ``limit`` selected problems only; 0: all


class RunStatus(enum.Enum):
    """PENDING -> RUNNING -> SUCCEEDED | INCOMPLETE | FAILED | CANCELLED | INTERRUPTED.

    Only SUCCEEDED numbers are final; INCOMPLETE, FAILED and INTERRUPTED runs can be resumed.
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """True once the run stopped executing (for whatever reason)."""
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)

    @property
    def resumable(self) -> bool:
        return self in (RunStatus.INCOMPLETE, RunStatus.FAILED, RunStatus.INTERRUPTED)


@dataclass(frozen=True, slots=True)
class RunProgress:
    problems_total: int = 0
    problems_done: int = 0
    problems_solved: int = 0
    problems_errored: int = 0
    model_calls: int = 0
    tactic_calls: int = 0
    generator_seconds: float = 0.0
    verifier_seconds: float = 0.0
    sessions_lost: int = 0
    problems_retried: int = 0
    problems_in_flight: int = 0
    elapsed_seconds: float = 0.0
    problems_per_hour: float = 0.0
    eta_seconds: float | None = None
    lean_seconds: float = 0.0

    @property
    def problems_unfinished(self) -> int:
        """Problems without a final result: not started, in flight or errored."""
        return self.problems_total - self.problems_done


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    spec: RunSpec
    status: RunStatus
    progress: RunProgress = field(default_factory=RunProgress)
    created_unix: float = 0.0
    updated_unix: float = 0.0
    error: str = ""
    errored_problems: tuple[str, ...] = ()
    caller: str = ""


@dataclass(frozen=True, slots=True)
class RunEvent:
    run_id: str
    status: RunStatus
    progress: RunProgress
    problem_id: str = ""
    problem_solved: bool = False
    unix_time: float = 0.0
    problem_errored: bool = False
