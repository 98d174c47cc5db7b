"""Best-first tactic-level proof search with NALP priorities (official-impl §4.2).

Called by the gap searches of ``search/hierarchical.py`` (joint and per-gap) and for the
backward proof of a submission. One call spends at most ``prover_expansions`` model calls of
``prover_samples`` samples each; a tactic is run only on the first free goal.

Paper mode is the reference's prover: no state is ever deduplicated (its visited set never
matched), and the ignored goals are checked here as the reference checks them, a mismatch
ending the caller's rollout (``paper.RolloutEnded``); strict mode deduplicates by rendered
state and lets the verifier reject a tactic that touches the ignored goals.
"""

from __future__ import annotations

import heapq
import itertools
import logging

from harcopa.domain import AppliedTactic, Goal, ProofSearchResult, ProofState, state_of
from harcopa.errors import InvalidRequest
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.search import paper
from harcopa_orchestrator.search.candidates import sample, tactic_candidates
from harcopa_orchestrator.search.concurrent import in_order
from harcopa_orchestrator.search.tree import Node, SearchTree

logger = logging.getLogger(__name__)


def _active(state: ProofState, ignored: int) -> ProofState:
    """The state without its ignored trailing goals (their indices are unchanged)."""
    return ProofState(state.handle, state.goals[: len(state.goals) - ignored])


def _next_origins(before: tuple[int, ...], index: int, remaining: int) -> tuple[int, ...]:
    """Which initial goal each goal descends from, after a tactic on goal ``index``.

    Pantograph's automatic mode puts the goals a tactic produced first, then the previous
    unassigned goals in order; ``remaining`` is the new number of non-ignored goals.
    """
    produced = max(remaining - (len(before) - 1), 0)
    rest = before[:index] + before[index + 1 :]
    return ((before[index],) * produced + rest)[:remaining]


async def prove(ctx: SearchContext, state: ProofState, ignored_goals: int = 0) -> ProofSearchResult:
    """Search for tactics closing every goal of ``state`` but the last ``ignored_goals``."""
    if ctx.prover is None:
        raise InvalidRequest("this pipeline needs a prover model")
    params = ctx.params
    tree = SearchTree(state.render(), state)
    ctx.observe(tree)
    origins = {tree.root.key: tuple(range(len(state.goals) - ignored_goals))}
    ignored = state.goals[len(state.goals) - ignored_goals :]
    tie = itertools.count()
    if not ctx.strict:
        paper.check_ignored(state.goals, ignored)  # the reference checks the initial state too
    # Paper mode checks the ignored goals itself, so the verifier gets none to check.
    sent_ignored = ignored_goals if ctx.strict else 0
    queue: list[tuple[float, int, Node]] = [(0.0, next(tie), tree.root)]
    for _ in range(params.prover_expansions):
        if not queue:
            break
        _, _, node = heapq.heappop(queue)
        active = _active(node.state, ignored_goals)
        goal_index = active.first_goal_index()
        goal_text = active.first_goal_text()
        prompt = ctx.templates.next_proof_step(goal_text)
        generation = await sample(
            ctx,
            ctx.prover,
            prompt,
            n=params.prover_samples,
            max_tokens=params.prover_max_tokens,
            logprobs=True,
        )
        candidates = tactic_candidates(ctx, generation)
        # Every tactic of the batch runs concurrently; results are taken in sampled order, so
        # the outcome is the reference's sequential one.
        results = await in_order(
            [
                ctx.verifier.run_tactic(
                    node.state.handle, goal_index, c.text, ignored_goals=sent_ignored
                )
                for c in candidates
            ]
        )
        for candidate, result in zip(candidates, results, strict=True):
            child_state = state_of(result)
            if child_state is None:
                continue
            key = _key(ctx, child_state, ignored, tie)
            step = AppliedTactic(goal_index, candidate.text, goal_text)
            child = tree.add_child(node, candidate.text, key, child_state, candidate.nll, step)
            if child is None:
                continue  # a state already in the tree: nothing new to search
            remaining = len(child_state.goals) - ignored_goals
            origins[child.key] = _next_origins(origins[node.key], goal_index, remaining)
            if remaining <= 0:
                tree.close(child, proved=True)
                tree.expanded(node)
                return _success(tree, child, origins, child_state)
            heapq.heappush(queue, (child.cost, next(tie), child))
        tree.expanded(node)
    return ProofSearchResult(False)


def _key(
    ctx: SearchContext, state: ProofState, ignored: tuple[Goal, ...], tie: itertools.count[int]
) -> str:
    """A node's key: its rendered state (strict), or a key of its own after the reference's
    check of the ignored goals (paper; ``paper.RolloutEnded`` when they changed)."""
    if ctx.strict:
        return state.render()
    paper.check_ignored(state.goals, ignored)
    return paper.node_key(state, next(tie))


def _success(
    tree: SearchTree, node: Node, origins: dict[str, tuple[int, ...]], final: ProofState
) -> ProofSearchResult:
    edges = tree.path(node)
    proof = tuple(edge.data for edge in edges if isinstance(edge.data, AppliedTactic))
    scripts: list[list[str]] = [[] for _ in origins[tree.root.key]]
    for edge in edges:
        step = edge.data
        if not isinstance(step, AppliedTactic):
            continue
        before = origins[edge.src.key]
        origin = before[step.goal_index]
        local = sum(1 for o in before[: step.goal_index] if o == origin)
        if local:
            scripts[origin].append(f"pick_goal {local + 1}")
        scripts[origin].append(step.tactic)
    return ProofSearchResult(True, proof, tuple(tuple(s) for s in scripts), final)
