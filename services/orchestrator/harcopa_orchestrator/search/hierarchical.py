"""Gap searches and the ``hierarchical(algorithm, gap_search)`` composition.

Used by ``pipelines.py``: a flat algorithm rejects any step or draft that leaves a gap; its
hierarchical form prompts the drafting task, closes gaps with a gap search (joint for step
drafts, one search per gap for whole drafts, official-impl §4.3, §4.7) and attempts the
backward direction of each submission with the prover (logged, never required).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from harcopa.domain import AppliedTactic, FormalProblem, ProblemResult, ProofState
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.search.prover import prove


@dataclass(frozen=True, slots=True)
class GapOutcome:
    """Whether every gap of a drafted state was closed, how, and the state left afterwards.

    ``scripts[i]`` closes the i-th gap on its own (for inlining); ``state`` keeps only the
    trailing goals the caller asked to keep (the continuation of a step draft).
    """

    proved: bool
    state: ProofState
    proof: tuple[AppliedTactic, ...] = ()
    scripts: tuple[tuple[str, ...], ...] = ()


#: ``(ctx, drafted state, trailing goals to keep) -> outcome``.
GapSearch = Callable[[SearchContext, ProofState, int], Awaitable[GapOutcome]]


async def reject_gaps(ctx: SearchContext, state: ProofState, keep: int) -> GapOutcome:
    """Flat pipelines: a draft is usable only if it left no gap."""
    return GapOutcome(len(state.goals) <= keep, state)


async def joint_gap_search(ctx: SearchContext, state: ProofState, keep: int) -> GapOutcome:
    """One proof search over all gaps together, the kept goals ignored (HAR, H-BFS)."""
    if len(state.goals) <= keep:
        return GapOutcome(True, state)
    run = await prove(ctx, state, keep)
    if not run.success or run.final_state is None:
        return GapOutcome(False, state)
    return GapOutcome(True, run.final_state, run.proof, run.scripts)


async def per_gap_search(ctx: SearchContext, state: ProofState, keep: int) -> GapOutcome:
    """One proof search per gap, in order, each with its own budget (H-WG, H-SA).

    Stops at the first gap that cannot be proven; then nothing is reported as proven.
    """
    proof: list[AppliedTactic] = []
    scripts: list[tuple[str, ...]] = []
    current = state
    while len(current.goals) > keep:
        run = await prove(ctx, current, len(current.goals) - 1)
        if not run.success or run.final_state is None:
            return GapOutcome(False, state)
        proof += run.proof
        scripts.append(run.scripts[0])
        current = run.final_state
    return GapOutcome(True, current, tuple(proof), tuple(scripts))


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """How an algorithm treats gaps: the prompt task, the gap search, the backward attempt."""

    drafting: bool
    gap_search: GapSearch
    backward_proof: bool


FLAT = Hierarchy(drafting=False, gap_search=reject_gaps, backward_proof=False)


def drafted(gap_search: GapSearch) -> Hierarchy:
    """The hierarchical policy: drafting prompts, ``gap_search`` on the gaps, backward proofs."""
    return Hierarchy(drafting=True, gap_search=gap_search, backward_proof=True)


class Algorithm(Protocol):
    """A search algorithm: solves one problem under a gap-handling policy."""

    def __call__(
        self, problem: FormalProblem, ctx: SearchContext, hierarchy: Hierarchy = ...
    ) -> Awaitable[ProblemResult]: ...


def hierarchical(
    algorithm: Algorithm, gap_search: GapSearch
) -> Callable[[FormalProblem, SearchContext], Awaitable[ProblemResult]]:
    """``algorithm`` with drafted steps whose gaps ``gap_search`` closes."""
    return functools.partial(algorithm, hierarchy=drafted(gap_search))
