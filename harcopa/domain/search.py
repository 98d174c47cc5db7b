"""Search-level domain types: steps, gap proofs, attempts and results with their stats.

Produced by the orchestrator's pipelines, stored by its run store, read by reports and CoPA.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from harcopa.domain.generation import TokenUsage


@dataclass(frozen=True, slots=True)
class ProofStep:
    """One tactic of a tactic-level proof, applied to goal ``goal_index`` of the current state."""

    goal_index: int
    tactic: str


@dataclass(frozen=True, slots=True)
class SearchStats:
    """Cost accounting of one search (ReProver's actor/environment time split)."""

    expansions: int = 0
    model_calls: int = 0
    tactic_calls: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    generator_seconds: float = 0.0
    verifier_seconds: float = 0.0
    sessions_lost: int = 0

    def __add__(self, other: SearchStats) -> SearchStats:
        return SearchStats(
            self.expansions + other.expansions,
            self.model_calls + other.model_calls,
            self.tactic_calls + other.tactic_calls,
            self.usage + other.usage,
            self.generator_seconds + other.generator_seconds,
            self.verifier_seconds + other.verifier_seconds,
            self.sessions_lost + other.sessions_lost,
        )


@dataclass(frozen=True, slots=True)
class ProofSearchResult:
    """Outcome of the tactic-level prover on some goals; ``proof`` is empty on failure."""

    success: bool
    proof: tuple[ProofStep, ...] = ()
    stats: SearchStats = field(default_factory=SearchStats)


@dataclass(frozen=True, slots=True)
class Gap:
    """A ``sorry`` hole left by a draft: its index in the drafted state and its rendered goal."""

    index: int
    goal_text: str


@dataclass(frozen=True, slots=True)
class Draft:
    """A step or whole-solution draft applied to a state: the gaps it left and its continuation."""

    text: str
    gaps: tuple[Gap, ...]
    has_continuation: bool = True


@dataclass(frozen=True, slots=True)
class SolutionStep:
    """An accepted solution step (drafted ``sorry``s kept) and the proof that closed its gaps."""

    text: str
    gap_proof: tuple[ProofStep, ...] = ()


class AttemptOutcome(enum.Enum):
    SOLVED = "solved"  # submission validated (or draft closed) and RPE found
    WRONG_ANSWER = "wrong_answer"  # a submission was validated but RPE failed
    INVALID_SUBMISSION = "invalid_submission"  # a submission failed validation
    GAP_UNPROVEN = "gap_unproven"  # whole-draft pipelines: a gap could not be proven
    REJECTED = "rejected"  # the draft/candidate was rejected (parse, compile, policy)
    BUDGET_EXHAUSTED = "budget_exhausted"
    ERROR = "error"  # infrastructure failure that survived retries


@dataclass(frozen=True, slots=True)
class Attempt:
    """One rollout/search/draft attempt on a problem, as recorded by the run store.

    ``budget_used`` follows the paper's definition for the pipeline family (official-impl §5);
    ``candidates`` counts generated step candidates charged to K_S (or draft samples for K_W).
    """

    index: int
    outcome: AttemptOutcome
    steps: tuple[SolutionStep, ...] = ()
    submission_step: str | None = None
    submission: str | None = None
    rpe_tactic: str | None = None
    backward_proof: tuple[ProofStep, ...] | None = None
    draft: str | None = None
    final_check_ok: bool | None = None
    candidates: int = 0
    budget_used: float = 0.0
    stats: SearchStats = field(default_factory=SearchStats)
    detail: str = ""

    @property
    def solved(self) -> bool:
        return self.outcome is AttemptOutcome.SOLVED


@dataclass(frozen=True, slots=True)
class ProblemResult:
    """Every attempt on one problem; solved iff some attempt solved it (official-impl §2.7)."""

    problem_id: str
    pipeline: str
    mode: str
    attempts: tuple[Attempt, ...]
    seconds: float = 0.0

    @property
    def solved(self) -> bool:
        return any(a.solved for a in self.attempts)

    @property
    def stats(self) -> SearchStats:
        total = SearchStats()
        for attempt in self.attempts:
            total = total + attempt.stats
        return total
