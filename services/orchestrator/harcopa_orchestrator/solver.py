"""The production ProblemSolver: one scheduler's shared pools, each run's models and templates.

Built by server.py and handed to the run manager (runs.py), which calls ``solve`` once per
problem (and again when a problem is retried or resumed). A paper-mode run whose model is an
OpenAI-compatible endpoint that cannot confirm processed log-probabilities gets one warning.
"""

from __future__ import annotations

import logging

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa.openai_client import OpenAIGenerator
from harcopa.prompts import PromptTemplates
from harcopa.protocols import Generator, Verifier
from harcopa_orchestrator.models import ModelRegistry
from harcopa_orchestrator.pipelines import solve
from harcopa_orchestrator.runs import AttemptSink
from harcopa_orchestrator.scheduler import Limits, Scheduler

logger = logging.getLogger(__name__)

#: Runs remembered for the once-per-run warning (oldest forgotten first).
WARNED_RUNS = 1024


class SchedulerSolver:
    """The production ProblemSolver: one scheduler's shared pools, per-run models and templates."""

    def __init__(
        self,
        verifier: Verifier,
        models: ModelRegistry,
        limits: Limits,
        templates: PromptTemplates,
    ) -> None:
        self.verifier = verifier
        self.models = models
        self.templates = templates
        self.scheduler = Scheduler(verifier, _NoModel(), None, limits, solve)
        # The specification objects of the runs warned about, by identity: the run manager
        # hands the same object for every problem of a run (a resumed run gets a new one).
        self._warned: dict[int, d.RunSpec] = {}

    async def solve(
        self,
        spec: d.RunSpec,
        problem: d.FormalProblem,
        on_attempt: AttemptSink,
        prior: tuple[d.Attempt, ...] = (),
    ) -> d.ProblemResult:
        solver = await self.models.get(spec.solver)
        prover = None
        if spec.pipeline.hierarchical:
            prover = await self.models.get(spec.prover or spec.solver)
        scheduler = self.scheduler.with_generators(solver, prover)
        templates = self.templates
        if spec.solver.system_prompt:
            templates = templates.with_system(spec.solver.system_prompt)
        ctx = scheduler.context(
            params=spec.params,
            mode=spec.mode,
            templates=templates,
            seed=spec.seed,
            on_attempt=on_attempt,
            prior=prior,
            solver_name=self.models.model_name(spec.solver),
        )
        try:
            return await scheduler.run_problem(spec.pipeline, problem, ctx)
        finally:
            if spec.mode is d.Mode.PAPER:
                self._warn_unchecked_logprobs(spec, solver, prover)

    def _warn_unchecked_logprobs(
        self, spec: d.RunSpec, solver: Generator, prover: Generator | None
    ) -> None:
        """Once per run: paper mode's NALP priorities need processed log-probabilities, and
        an endpoint that did not echo the mode cannot be checked (openai_client)."""
        if id(spec) in self._warned:
            return
        unchecked = [
            g.base_url
            for g in (solver, prover)
            if isinstance(g, OpenAIGenerator) and g.logprobs_unconfirmed
        ]
        if not unchecked:
            return
        if len(self._warned) >= WARNED_RUNS:
            self._warned.pop(next(iter(self._warned)))
        self._warned[id(spec)] = spec
        logger.warning(
            "paper-mode run %r: %s cannot confirm processed (temperature-scaled) "
            "log-probabilities, so the NALP priorities may differ from the paper's; start vLLM "
            "with --logprobs-mode processed_logprobs (vLLM >= 0.10.2) or use an engine-V0 "
            "vLLM (<= 0.7.3), see docs/paper-mode.md",
            spec.name or spec.benchmark,
            ", ".join(sorted(set(unchecked))),
        )


class _NoModel:
    """Placeholder generator of the root scheduler; runs always bring their own models."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: d.Prompt, params: d.SamplingParams) -> d.Generation:
        raise InvalidRequest("no model configured for this run")
