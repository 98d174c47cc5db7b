"""Best-first solution search: BFS, and H-BFS through ``hierarchical`` (official-impl §4.5).

Called from ``pipelines.py``. Nodes are forward-reasoning states keyed by their continuation
goal; each expansion samples ``solver_samples`` steps with log-probabilities and
children get ``parent cost + mean token NLL``. A validated submission ends the rollout
(``early_exit_with_submission``); the restart loop starts over with the remaining budget.

Concurrency: the candidates of one expansion are drafted or validated together and their
gap searches run together (one search per distinct new state, trying that state's
candidates in order), then candidates are ACCEPTED in sampled order, exactly as the
reference's sequential loop would. Work done on candidates after an early exit is not
charged to the budget.

Budget: strict mode evaluates exactly K_S candidates; paper mode reproduces the reference's
off-by-one (the K_S-th candidate is charged but never evaluated, official-impl §8 item 10).

Paper mode ends the rollout where the reference's search raised (``paper.RolloutEnded``): at a
multi-line submission, a drafted step whose last goal is not the ``False`` continuation, or a
gap proof that changed the ignored goals, charging the candidates up to that one; and its gap
searches run one at a time in sampled order, so no prover call is made for a candidate the
reference never reached. Strict mode rejects such a candidate and goes on.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
from dataclasses import dataclass

from harcopa.domain import (
    Attempt,
    AttemptOutcome,
    FormalProblem,
    Framework,
    Pipeline,
    ProblemResult,
    ProofState,
    SearchStats,
    Session,
    SolutionStep,
)
from harcopa.fps import is_submission, solution_state_text
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import stats_since
from harcopa_orchestrator.search import paper
from harcopa_orchestrator.search.candidates import Candidate, sample, step_candidates
from harcopa_orchestrator.search.concurrent import in_order
from harcopa_orchestrator.search.hierarchical import FLAT, GapOutcome, Hierarchy
from harcopa_orchestrator.search.restarts import restarting
from harcopa_orchestrator.search.submission import (
    Accepted,
    AttemptDraft,
    conclude,
    gap_refusal,
    lean_said,
    malformed_submission,
    opened,
    outcome_of,
    validate,
)
from harcopa_orchestrator.search.tree import Node, SearchTree

logger = logging.getLogger(__name__)

FRAMEWORKS = (Framework.FORWARD_REASONING, Framework.SOLVING)


async def best_first(
    problem: FormalProblem, ctx: SearchContext, hierarchy: Hierarchy = FLAT
) -> ProblemResult:
    """BFS (flat) or H-BFS (hierarchical): searches restarted with the remaining K_S budget."""
    pipeline = Pipeline.H_BFS if hierarchy.drafting else Pipeline.BFS
    return await restarting(problem, ctx, pipeline, functools.partial(rollout, hierarchy=hierarchy))


@dataclass(slots=True)
class Evaluated:
    """A charged candidate after its draft (or validation) and gap search."""

    candidate: Candidate
    submission: bool
    state: ProofState | None = None  # h.mpr for a submission, the drafted state otherwise
    gaps: GapOutcome | None = None
    why: str = ""  # why Lean (or the submission check) refused it, when state is None
    ended: str = ""  # paper mode: why the reference's search ended at this candidate

    @property
    def key(self) -> str | None:
        if self.state is None or not self.state.goals:
            return None
        return self.state.goals[-1].render()


@dataclass(slots=True)
class Search:
    """One rollout's state: the tree, the queue and the attempt being built."""

    ctx: SearchContext
    problem: FormalProblem
    session: Session
    hierarchy: Hierarchy
    tree: SearchTree
    draft: AttemptDraft
    queue: list[tuple[float, int, Node]]
    tie: itertools.count[int]
    started: SearchStats

    def path(self, node: Node) -> list[Accepted]:
        return [e.data for e in self.tree.path(node) if isinstance(e.data, Accepted)]


async def rollout(
    problem: FormalProblem,
    ctx: SearchContext,
    index: int,
    budget: int,
    hierarchy: Hierarchy = FLAT,
) -> Attempt:
    """One best-first search charging at most ``budget`` candidates, in a fresh session."""
    before = ctx.meter.snapshot()
    async with opened(ctx, problem, FRAMEWORKS) as session:
        root = session.state(Framework.FORWARD_REASONING)
        tree = SearchTree(root.goals[-1].render(), root)
        ctx.observe(tree)
        tie = itertools.count()
        draft = AttemptDraft(index)
        search = Search(ctx, problem, session, hierarchy, tree, draft, [], tie, before)
        search.queue.append((0.0, next(tie), tree.root))
        while search.draft.charged < budget and search.queue:
            _, _, node = heapq.heappop(search.queue)
            try:
                attempt = await expand(search, node, budget)
            except Exception as error:
                why = paper.reference_raise(ctx, error)
                if why is None:
                    raise
                return search.draft.finish(
                    AttemptOutcome.REJECTED,
                    stats_since(ctx.meter, before),
                    paper_budget=tree.edge_count,
                    detail=f"the rollout ended as the reference's does: {why}",
                )
            if attempt is not None:
                return attempt
        return search.draft.finish(
            AttemptOutcome.BUDGET_EXHAUSTED,
            stats_since(ctx.meter, before),
            paper_budget=tree.edge_count,
            detail="" if search.queue else "no open state left",
        )


def charge(search: Search, candidates: list[Candidate], budget: int, shown: str) -> list[Candidate]:
    """Charge candidates to the budget in order; the ones that will be evaluated (the others
    are recorded as rejected)."""
    draft = search.draft
    charged: list[Candidate] = []
    for candidate in candidates:
        if search.ctx.strict:
            if draft.charged >= budget:
                break
            draft.charged += 1
        else:
            draft.charged += 1  # the reference counts first, then stops at the limit
            if draft.charged >= budget:
                break
        charged.append(candidate)
    for candidate in candidates[len(charged) :]:
        draft.reject(candidate.text, "not evaluated: the K_S budget was spent", shown)
    return charged


async def expand(search: Search, node: Node, budget: int) -> Attempt | None:
    """Expand ``node`` once; an Attempt when a submission ended the rollout."""
    ctx = search.ctx
    shown = solution_state_text(node.state.goals[-1])
    prompt = ctx.templates.next_solution_step(
        search.problem.informal_problem, shown, drafting=search.hierarchy.drafting
    )
    generation = await sample(
        ctx,
        ctx.solver,
        prompt,
        n=ctx.params.solver_samples,
        max_tokens=ctx.params.solver_max_tokens,
        logprobs=True,
    )
    charged_before = search.draft.charged
    reject = search.draft.rejecting(shown)
    candidates = step_candidates(ctx, generation, dedup=True, on_reject=reject)
    charged = charge(search, candidates, budget, shown)
    evaluated = await in_order([evaluate(search, node, c) for c in charged])
    if ctx.strict:
        await close_gaps(search, evaluated)
    for position, item in enumerate(evaluated):
        if not ctx.strict:
            await _close_in_turn(search, item)
        if item.ended:
            search.draft.charged = charged_before + position + 1  # the reference stopped here
            reject(item.candidate.text, f"the search ended here, as the reference's: {item.ended}")
            raise paper.RolloutEnded(item.ended)
        if item.submission:
            if item.state is None:
                reject(item.candidate.text, item.why)
                continue
            search.draft.charged = charged_before + position + 1  # early exit: stop charging
            for later in evaluated[position + 1 :]:
                reject(
                    later.candidate.text, "not considered: an earlier submission ended the search"
                )
            return await finish_submission(search, node, item, item.state, shown)
        accept(search, node, item, shown)
    search.tree.expanded(node)
    return None


async def evaluate(search: Search, node: Node, candidate: Candidate) -> Evaluated:
    """Validate a submission or draft an ordinary step on ``node`` (no acceptance yet); in
    paper mode a call that raises ends the rollout at this candidate (``Evaluated.ended``)."""
    try:
        return await _evaluate(search, node, candidate)
    except Exception as error:
        why = paper.reference_raise(search.ctx, error)
        if why is None:
            raise
        return Evaluated(candidate, paper.is_submission(candidate.text), ended=why)


async def _evaluate(search: Search, node: Node, candidate: Candidate) -> Evaluated:
    step = candidate.text
    if is_submission(step) if search.ctx.strict else paper.is_submission(step):
        malformed = malformed_submission(step)
        if malformed is not None:
            why = f"malformed submission: {malformed}"
            return Evaluated(candidate, True, why=why, ended="" if search.ctx.strict else malformed)
        validation = await validate(search.ctx, search.session, search.path(node), step)
        why = "" if validation.state else f"invalid submission: {lean_said(validation.result)}"
        return Evaluated(candidate, True, validation.state, why=why)
    draft = await search.ctx.verifier.apply_step(node.state.handle, 0, step)
    why = "" if draft.state else lean_said(draft.result)
    if draft.state is not None and not search.ctx.strict and paper.odd_continuation(draft.state):
        ended = "the drafted step's last goal is not the `False` continuation"
        return Evaluated(candidate, False, draft.state, ended=ended)
    return Evaluated(candidate, False, draft.state, why=why)


async def close_gaps(search: Search, evaluated: list[Evaluated]) -> None:
    """Gap searches for drafted steps reaching new states, one task per distinct state."""
    groups: dict[str, list[Evaluated]] = {}
    for item in evaluated:
        key = item.key
        if not item.submission and key is not None and key not in search.tree:
            groups.setdefault(key, []).append(item)
    await in_order([_close_first(search, items) for items in groups.values()])


async def _close_first(search: Search, items: list[Evaluated]) -> None:
    """Try the candidates of one state in order until one's gaps are closed."""
    for item in items:
        if item.state is None:
            continue
        item.gaps = await search.hierarchy.gap_search(search.ctx, item.state, 1)
        if item.gaps.proved:
            return


async def _close_in_turn(search: Search, item: Evaluated) -> None:
    """Paper mode: the gap search of one drafted candidate when the sequential loop reaches it
    (its state is new to the tree); an exception in it (a changed ignored goal) ends the
    rollout at this candidate."""
    key = item.key
    if item.submission or item.ended or item.state is None or key is None or key in search.tree:
        return
    try:
        item.gaps = await search.hierarchy.gap_search(search.ctx, item.state, 1)
    except Exception as error:
        why = paper.reference_raise(search.ctx, error)
        if why is None:
            raise
        item.ended = why


def accept(search: Search, node: Node, item: Evaluated, shown: str) -> None:
    """Add a drafted step whose gaps are closed, unless its state is already in the tree;
    a step not added is recorded as rejected, with the reason."""
    refusal = _refusal(search, item)
    if refusal is not None or item.state is None or item.gaps is None:
        search.draft.reject(item.candidate.text, refusal or "not accepted", shown)
        return
    gaps, key = item.gaps, item.state.goals[-1].render()
    accepted = Accepted(SolutionStep(item.candidate.text, gaps.proof, shown), gaps.scripts)
    child = search.tree.add_child(
        node, item.candidate.text, key, gaps.state, item.candidate.nll, accepted
    )
    if child is not None:
        heapq.heappush(search.queue, (child.cost, next(search.tie), child))


def _refusal(search: Search, item: Evaluated) -> str | None:
    """Why a drafted step is not added to the tree, or None."""
    if item.state is None:
        return item.why
    key = item.key
    if key is None:
        return "the step left no goal to continue from"
    if key in search.tree:
        return "a state already explored: an earlier step reached the same goal"
    if item.gaps is None:
        return "its gaps were not searched"
    return gap_refusal(search.hierarchy, item.state, item.gaps)


async def finish_submission(
    search: Search, node: Node, item: Evaluated, backward: ProofState, shown: str
) -> Attempt:
    """RPE (and the rest) for the first validated submission; the rollout ends here."""
    ctx, tree = search.ctx, search.tree
    path = search.path(node)
    step = item.candidate.text
    conclusion = await conclude(
        ctx, search.problem, search.session, path, step, backward, search.hierarchy
    )
    key = "submission:" + backward.render()
    data = Accepted(SolutionStep(step, prompt_state=shown))
    child = tree.add_child(node, step, key, backward, item.candidate.nll, data)
    if child is not None:
        tree.close(child, proved=conclusion.solved)
    tree.expanded(node)
    search.draft.steps = path
    return search.draft.finish(
        outcome_of(conclusion),
        stats_since(ctx.meter, search.started),
        paper_budget=tree.edge_count,
        submission_step=step,
        prompt_state=shown,
        conclusion=conclusion,
    )
