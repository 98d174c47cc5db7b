"""Search-level domain types: steps, gap proofs, attempts and results with their stats.

Produced by the orchestrator's pipelines, stored by its run store, read by reports and CoPA.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from harcopa.domain.generation import TokenUsage
from harcopa.domain.lean import ProofState


@dataclass(frozen=True, slots=True)
class AppliedTactic:
    """One tactic of a proof, run on goal ``goal_index`` of the state at that point.

    ``prompt_state`` is the goal text the prover was prompted with (SFT export renders the
    next-proof-step task from it).
    """

    goal_index: int
    tactic: str
    prompt_state: str = ""


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
    #: Seconds Lean processes worked for the search (a part of ``verifier_seconds``).
    lean_seconds: float = 0.0
    #: Seconds spent waiting for a model slot or a verifier session.
    wait_seconds: float = 0.0

    def __add__(self, other: SearchStats) -> SearchStats:
        return SearchStats(
            self.expansions + other.expansions,
            self.model_calls + other.model_calls,
            self.tactic_calls + other.tactic_calls,
            self.usage + other.usage,
            self.generator_seconds + other.generator_seconds,
            self.verifier_seconds + other.verifier_seconds,
            self.sessions_lost + other.sessions_lost,
            self.lean_seconds + other.lean_seconds,
            self.wait_seconds + other.wait_seconds,
        )

    def __sub__(self, other: SearchStats) -> SearchStats:
        return SearchStats(
            self.expansions - other.expansions,
            self.model_calls - other.model_calls,
            self.tactic_calls - other.tactic_calls,
            TokenUsage(
                self.usage.prompt_tokens - other.usage.prompt_tokens,
                self.usage.completion_tokens - other.usage.completion_tokens,
                self.usage.cached_prompt_tokens - other.usage.cached_prompt_tokens,
            ),
            self.generator_seconds - other.generator_seconds,
            self.verifier_seconds - other.verifier_seconds,
            self.sessions_lost - other.sessions_lost,
            self.lean_seconds - other.lean_seconds,
            self.wait_seconds - other.wait_seconds,
        )


@dataclass(frozen=True, slots=True)
class ProofSearchResult:
    """Outcome of one proof search over the non-ignored goals of a state.

    ``scripts[g]`` is the tactic script that closes the g-th non-ignored goal of the initial
    state on its own (``pick_goal`` lines where the search worked on a later sibling), used to
    inline gap proofs into the assembled solution. ``final_state`` is the state after the last
    tactic (it holds the ignored goals). All empty on failure.
    """

    success: bool
    proof: tuple[AppliedTactic, ...] = ()
    scripts: tuple[tuple[str, ...], ...] = ()
    final_state: ProofState | None = None


@dataclass(frozen=True, slots=True)
class SolutionStep:
    """An accepted solution step (drafted ``sorry``s kept) and the proof that closed its gaps.

    ``prompt_state`` is the solution state the solver was prompted with.
    """

    text: str
    gap_proof: tuple[AppliedTactic, ...] = ()
    prompt_state: str = ""


@dataclass(frozen=True, slots=True)
class RejectedCandidate:
    """A step candidate the search sampled and did not accept, and why (in words).

    ``text`` is the extracted step (the raw completion when none could be extracted);
    ``prompt_state`` is the solution state the solver was prompted with.
    """

    text: str
    reason: str
    prompt_state: str = ""


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
    """One attempt (a rollout or a try) on a problem, as recorded by the run store.

    ``paper_budget`` follows the paper's Budget definition for the pipeline family
    (official-impl §5); ``charged`` counts the budget units consumed: step candidates (K_S) or
    drafts (K_W). ``prompt_state`` is the solution state a whole draft was prompted with;
    ``gap_proof`` holds the tactics that closed a whole draft's gaps, in order (SFT export).
    ``rejected`` lists the step candidates the step pipelines sampled and did not accept, in the
    order they were decided (bounded: see ``search/submission.py``); whole-draft pipelines
    record a rejected draft as the attempt itself.
    """

    index: int
    outcome: AttemptOutcome
    steps: tuple[SolutionStep, ...] = ()
    submission_step: str | None = None
    submission: str | None = None
    rpe_tactic: str | None = None
    backward_proof: tuple[AppliedTactic, ...] | None = None
    draft: str | None = None
    final_check_ok: bool | None = None
    charged: int = 0
    paper_budget: float = 0.0
    stats: SearchStats = field(default_factory=SearchStats)
    detail: str = ""
    prompt_state: str = ""
    #: Paper mode: whether an accepted solution also passes the strict audit (None: not run).
    strict_audit_passed: bool | None = None
    forbidden_axioms: tuple[str, ...] = ()
    gap_proof: tuple[AppliedTactic, ...] = ()
    rejected: tuple[RejectedCandidate, ...] = ()

    @property
    def solved(self) -> bool:
        return self.outcome is AttemptOutcome.SOLVED

    @property
    def errored(self) -> bool:
        return self.outcome is AttemptOutcome.ERROR


class ProblemStatus(enum.Enum):
    """Whether a problem is finished: solved or unsolved are final; errored is not."""

    SOLVED = "solved"
    UNSOLVED = "unsolved"
    ERRORED = "errored"


@dataclass(frozen=True, slots=True)
class ProblemResult:
    """Every attempt on one problem; solved iff some attempt solved it (official-impl §2.7)."""

    problem_id: str
    pipeline: str
    mode: str
    attempts: tuple[Attempt, ...]
    seconds: float = 0.0
    retries: int = 0

    @property
    def solved(self) -> bool:
        return any(a.solved for a in self.attempts)

    @property
    def status(self) -> ProblemStatus:
        """Solved if any attempt solved it; errored if the last attempt hit an infrastructure
        failure (the problem is not finished); unsolved otherwise."""
        if self.solved:
            return ProblemStatus.SOLVED
        if self.attempts and self.attempts[-1].errored:
            return ProblemStatus.ERRORED
        return ProblemStatus.UNSOLVED

    @property
    def stats(self) -> SearchStats:
        total = SearchStats()
        for attempt in self.attempts:
            total = total + attempt.stats
        return total
