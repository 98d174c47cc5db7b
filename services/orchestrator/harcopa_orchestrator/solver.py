"""The production ProblemSolver: one scheduler's shared pools, each run's models and templates.

Built by server.py and handed to the run manager (runs.py), which calls ``solve`` once per
problem (and again when a problem is retried or resumed).
"""

from __future__ import annotations

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa.prompts import PromptTemplates
from harcopa.protocols import Verifier
from harcopa_orchestrator.models import ModelRegistry
from harcopa_orchestrator.pipelines import solve
from harcopa_orchestrator.runs import AttemptSink
from harcopa_orchestrator.scheduler import Limits, Scheduler


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
        )
        return await scheduler.run_problem(spec.pipeline, problem, ctx)


class _NoModel:
    """Placeholder generator of the root scheduler; runs always bring their own models."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: d.Prompt, params: d.SamplingParams) -> d.Generation:
        raise InvalidRequest("no model configured for this run")
