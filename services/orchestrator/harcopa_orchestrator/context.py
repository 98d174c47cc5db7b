"""What a search algorithm receives for one problem: services, budgets, prompts and a meter.

Built per problem by ``scheduler.Scheduler.context``; read by every algorithm in ``search/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from harcopa.domain import (
    Attempt,
    AttemptOutcome,
    Generation,
    Mode,
    SearchParams,
    SearchStats,
    TokenUsage,
)
from harcopa.fps import BannedPolicy
from harcopa.prompts import PromptTemplates
from harcopa.protocols import Generator, Verifier
from harcopa_orchestrator.search.tree import SearchTree


class Meter:
    """Cost accounting of one problem: model calls, tokens, seconds, expansions, lost sessions.

    The metered wrappers of ``scheduler.py`` feed it; algorithms add expansions. Model and
    verifier seconds are the wall time of the calls themselves (waiting for a slot excluded).
    """

    def __init__(self) -> None:
        self.expansions = 0
        self.model_calls = 0
        self.tactic_calls = 0
        self.usage = TokenUsage()
        self.generator_seconds = 0.0
        self.verifier_seconds = 0.0
        self.sessions_lost = 0

    def add_generation(self, generation: Generation, seconds: float) -> None:
        self.model_calls += 1
        self.usage = self.usage + generation.usage
        self.generator_seconds += seconds

    def add_verifier_call(self, seconds: float, *, tactic: bool) -> None:
        self.verifier_seconds += seconds
        self.tactic_calls += int(tactic)

    def add_expansion(self) -> None:
        self.expansions += 1

    def add_session_lost(self) -> None:
        self.sessions_lost += 1

    def snapshot(self) -> SearchStats:
        return SearchStats(
            expansions=self.expansions,
            model_calls=self.model_calls,
            tactic_calls=self.tactic_calls,
            usage=self.usage,
            generator_seconds=self.generator_seconds,
            verifier_seconds=self.verifier_seconds,
            sessions_lost=self.sessions_lost,
        )


def stats_since(meter: Meter, before: SearchStats) -> SearchStats:
    """The stats accumulated in ``meter`` since the snapshot ``before``."""
    now = meter.snapshot()
    return SearchStats(
        expansions=now.expansions - before.expansions,
        model_calls=now.model_calls - before.model_calls,
        tactic_calls=now.tactic_calls - before.tactic_calls,
        usage=TokenUsage(
            now.usage.prompt_tokens - before.usage.prompt_tokens,
            now.usage.completion_tokens - before.usage.completion_tokens,
            now.usage.cached_prompt_tokens - before.usage.cached_prompt_tokens,
        ),
        generator_seconds=now.generator_seconds - before.generator_seconds,
        verifier_seconds=now.verifier_seconds - before.verifier_seconds,
        sessions_lost=now.sessions_lost - before.sessions_lost,
    )


@dataclass
class SearchContext:
    """Everything one problem's search needs. ``verifier`` is already metered, bounded and
    resilient to lost sessions; ``on_attempt`` persists each attempt the moment it ends."""

    verifier: Verifier
    solver: Generator
    prover: Generator | None
    params: SearchParams
    mode: Mode
    templates: PromptTemplates
    meter: Meter
    seed: int | None = None
    on_attempt: Callable[[Attempt], Awaitable[None]] | None = None
    #: Called with every search tree an algorithm builds (tests check their invariants).
    on_tree: Callable[[SearchTree], None] | None = None
    #: Attempts a previous orchestrator process already finished on this problem (resume).
    prior: tuple[Attempt, ...] = ()

    def resumed_attempts(self) -> list[Attempt]:
        """The prior attempts a search continues from: those before the first ERROR attempt
        (an infrastructure failure is retried, under the same attempt index)."""
        kept: list[Attempt] = []
        for attempt in self.prior:
            if attempt.outcome is AttemptOutcome.ERROR:
                break
            kept.append(attempt)
        return kept

    @property
    def strict(self) -> bool:
        return self.mode is Mode.STRICT

    @property
    def banned_policy(self) -> BannedPolicy:
        return "strict" if self.strict else "paper"

    def observe(self, tree: SearchTree) -> None:
        if self.on_tree is not None:
            self.on_tree(tree)

    async def record(self, attempt: Attempt) -> Attempt:
        """Hand ``attempt`` to ``on_attempt`` (if any) and return it."""
        if self.on_attempt is not None:
            await self.on_attempt(attempt)
        return attempt
