"""One scheduler over all problems of all runs: bounded shared pools and per-problem wrappers.

Used by the orchestrator's runs manager and by ``benchmarks/search_scheduling.py``. Every
problem gets a fresh Meter and wrappers that share three scheduler-wide semaphores: in-flight
model requests, open verifier sessions, problems in flight. Algorithms themselves never limit
concurrency (STYLE §6); within a problem, candidates of one batch are verified concurrently and
gap searches overlap with generation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from harcopa.domain import (
    Attempt,
    FormalProblem,
    Mode,
    Pipeline,
    ProblemResult,
    SearchParams,
)
from harcopa.prompts import PromptTemplates
from harcopa.protocols import Generator, Verifier
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import (
    Meter,
    MeteredGenerator,
    MeteredVerifier,
    Slots,
    attempt_seed,
    waited,
)
from harcopa_orchestrator.metrics import EXPANSIONS, IN_FLIGHT, SEARCH_SECONDS, SEARCHES
from harcopa_orchestrator.recovery import ResilientVerifier

#: ``(pipeline, problem, ctx) -> result``: what solves one problem (``pipelines.solve``).
Solve = Callable[[Pipeline, FormalProblem, SearchContext], Awaitable[ProblemResult]]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Scheduler-wide bounds shared by every run."""

    max_model_requests: int = 64
    max_verifier_sessions: int = 32
    max_problems: int = 16


class Scheduler:
    """Shared bounded pools over one verifier and the solver/prover generators; ``solve``
    runs one problem (the pipelines' entry point, given by whoever builds the scheduler)."""

    def __init__(
        self,
        verifier: Verifier,
        solver: Generator,
        prover: Generator | None,
        limits: Limits,
        solve: Solve,
    ) -> None:
        self.verifier = verifier
        self.solver = solver
        self.prover = prover
        self.limits = limits
        self.solve = solve
        self._model_slots = asyncio.Semaphore(limits.max_model_requests)
        self._session_slots = Slots(limits.max_verifier_sessions)
        self._problem_slots = asyncio.Semaphore(limits.max_problems)

    @property
    def session_limit(self) -> int:
        return self._session_slots.capacity

    async def fit_sessions_to_verifier(self) -> int:
        """Open at most as many sessions as the verifier can hold at once (its Describe), so
        problems wait here, measured and logged, instead of at the verifier; returns the
        limit now in force."""
        info = await self.verifier.describe()
        limit = min(self.limits.max_verifier_sessions, max(1, info.session_capacity))
        if limit != self._session_slots.capacity:
            logger.info(
                "verifier %s (%s) holds %d sessions at once: %d verifier sessions in flight",
                info.replica_id,
                info.backend,
                info.session_capacity,
                limit,
            )
            self._session_slots.resize(limit)
        return limit

    def with_generators(self, solver: Generator, prover: Generator | None) -> Scheduler:
        """A scheduler for other models sharing this one's pools (each run brings its models)."""
        other = Scheduler(self.verifier, solver, prover, self.limits, self.solve)
        other._model_slots = self._model_slots
        other._session_slots = self._session_slots
        other._problem_slots = self._problem_slots
        return other

    def context(
        self,
        *,
        params: SearchParams,
        mode: Mode,
        templates: PromptTemplates,
        seed: int | None = None,
        on_attempt: Callable[[Attempt], Awaitable[None]] | None = None,
        prior: tuple[Attempt, ...] = (),
        solver_name: str = "",
    ) -> SearchContext:
        """A per-problem context: a fresh Meter and wrappers sharing the scheduler's pools.

        ``prior`` holds the attempts a previous process finished (resume). Sampling is seeded
        per attempt (``attempt_seed``), so a redone attempt samples as the first one did.
        """
        meter = Meter()
        metered = MeteredVerifier(self.verifier, meter)
        solver = MeteredGenerator(self.solver, self._model_slots, meter, seed)
        prover = None
        if self.prover is not None:
            prover = MeteredGenerator(self.prover, self._model_slots, meter, seed)
        resilient = ResilientVerifier(metered, meter, self._session_slots)

        def begin_attempt(index: int) -> None:
            for generator in (solver, prover):
                if generator is not None:
                    generator.reseed(attempt_seed(seed, index))

        return SearchContext(
            verifier=resilient,
            solver=solver,
            prover=prover,
            params=params,
            mode=mode,
            templates=templates,
            meter=meter,
            seed=seed,
            on_attempt=on_attempt,
            prior=prior,
            close_sessions=resilient.close_all,
            begin_attempt=begin_attempt,
            solver_name=solver_name,
        )

    async def run_problem(
        self, pipeline: Pipeline, problem: FormalProblem, ctx: SearchContext
    ) -> ProblemResult:
        """Solve one problem while holding a problem slot; leftover sessions are closed."""
        async with waited(self._problem_slots, ctx.meter, "problem", problem.problem_id), ctx:
            IN_FLIGHT.inc()
            started = time.monotonic()
            outcome = "error"
            try:
                result = await self.solve(pipeline, problem, ctx)
                outcome = result.status.value
                return result
            finally:
                IN_FLIGHT.dec()
                SEARCHES.labels(pipeline.value, outcome).inc()
                SEARCH_SECONDS.labels(pipeline.value).observe(time.monotonic() - started)
                EXPANSIONS.labels(pipeline.value).observe(ctx.meter.expansions)
