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
    """Budgets and sampling; defaults are the paper's (official-impl §4.0)."""

    solver_max_trials: int = 80  # K_S: step candidates per problem
    solver_samples_per_trial: int = 8
    prover_max_trials: int = 16
    prover_samples_per_trial: int = 4
    try_num: int = 0  # K_W; 0 means the pipeline default (8 whole-draft, 1 step pipelines)
    temperature: float = 0.7
    solver_max_tokens: int = 2048
    prover_max_tokens: int = 256

    def tries_for(self, pipeline: Pipeline) -> int:
        if self.try_num:
            return self.try_num
        return 8 if pipeline.whole_draft else 1

    def merged(self, **overrides: object) -> SearchParams:
        """Copy with non-zero/non-None overrides applied (zero keeps the default)."""
        values = {k: v for k, v in overrides.items() if v not in (None, 0)}
        return dataclasses.replace(self, **values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ModelRef:
    """Where a role's model is served: ``host:port`` of a ModelService or an http(s) base URL."""

    target: str
    model: str = ""
    api_key_env: str = ""
    system_prompt: str = ""

    @property
    def is_openai(self) -> bool:
        return self.target.startswith(("http://", "https://"))


@dataclass(frozen=True, slots=True)
class RunSpec:
    pipeline: Pipeline
    benchmark: str
    solver: ModelRef
    prover: ModelRef | None = None
    name: str = ""
    problem_indices: tuple[int, ...] = ()
    params: SearchParams = field(default_factory=SearchParams)
    mode: Mode = Mode.STRICT
    max_concurrent_problems: int = 16
    seed: int | None = None


class RunStatus(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


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


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    spec: RunSpec
    status: RunStatus
    progress: RunProgress = field(default_factory=RunProgress)
    created_unix: float = 0.0
    updated_unix: float = 0.0
    error: str = ""


@dataclass(frozen=True, slots=True)
class RunEvent:
    run_id: str
    status: RunStatus
    progress: RunProgress
    problem_id: str = ""
    problem_solved: bool = False
    unix_time: float = 0.0
