"""The seven pipelines of the paper and CoPA, each one line of composition (official-impl §4).

Called by the orchestrator's runs manager through ``solve`` (or ``PIPELINES`` directly). CoPA
(data generation) is the statement stage composed over H-SA's drafting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from harcopa.domain import FormalProblem, Pipeline, ProblemResult
from harcopa.errors import InvalidRequest
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.search.autoformalization import autoformalized
from harcopa_orchestrator.search.autoregressive import autoregressive
from harcopa_orchestrator.search.best_first import best_first
from harcopa_orchestrator.search.hierarchical import (
    hierarchical,
    joint_gap_search,
    per_gap_search,
)
from harcopa_orchestrator.search.solution_drafting import solution_drafting
from harcopa_orchestrator.search.whole_generation import whole_generation

Solve = Callable[[FormalProblem, SearchContext], Awaitable[ProblemResult]]

PIPELINES: dict[Pipeline, Solve] = {
    Pipeline.AR: autoregressive,
    Pipeline.HAR: hierarchical(autoregressive, joint_gap_search),
    Pipeline.BFS: best_first,
    Pipeline.H_BFS: hierarchical(best_first, joint_gap_search),
    Pipeline.WG: whole_generation,
    Pipeline.H_WG: hierarchical(whole_generation, per_gap_search),
    Pipeline.H_SA: hierarchical(solution_drafting, per_gap_search),
    Pipeline.COPA: autoformalized(solution_drafting, per_gap_search),
}


async def solve(pipeline: Pipeline, problem: FormalProblem, ctx: SearchContext) -> ProblemResult:
    """Run ``pipeline`` on one problem; InvalidRequest for an unknown pipeline, or a
    hierarchical one without a prover."""
    entry = PIPELINES.get(pipeline)
    if entry is None:
        raise InvalidRequest(f"pipeline {pipeline.value!r} is not served")
    if pipeline.hierarchical and ctx.prover is None:
        raise InvalidRequest(f"pipeline {pipeline.value!r} needs a prover model")
    return await entry(problem, ctx)
