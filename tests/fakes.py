"""Fakes behind our Protocols shared by several tests (STYLE.md §12: fakes, never mocks).

``ScriptedVerifier`` is an in-process Verifier (no subprocess, no gRPC) whose verdicts a test
scripts, so the search algorithms get fast unit tests: a step, tactic or submission does what
its rule says and nothing else. ``ScriptedGenerator`` answers prompts by pattern, in order;
``run_scripted`` runs one pipeline on one problem with them.
The service tests keep driving the real VerifierService over lean-sim.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from harcopa import domain as d
from harcopa.errors import StateNotFound
from harcopa.fps import parse_fps_from_source
from harcopa.prompts import PromptTemplates
from harcopa_orchestrator.pipelines import solve
from harcopa_orchestrator.scheduler import Limits, Scheduler
from harcopa_orchestrator.search.tree import SearchTree


class ReadyBackend:
    """A Lifecycle whose start and close return at once: the server is SERVING right away."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StepRule:
    """What drafting a step does: the gaps it leaves (their targets) and the hypothesis the
    continuation gains (``name : type``); ``reject`` is Lean's error instead.

    ``continuation`` names the step's last goal (a wrong continuation: the verifier rejects
    the step in strict mode and returns it in paper mode); ``submits`` is the proposition a
    whole draft assigns to ``?w``; ``raises`` is raised instead of answering.
    """

    gaps: tuple[str, ...] = ()
    adds: tuple[str, str] | None = None
    reject: str = ""
    continuation: str | None = None
    submits: str | None = None
    raises: Exception | None = None


@dataclass(frozen=True, slots=True)
class TacticRule:
    """What a tactic does to its goal: close it, replace it by ``goals``, or fail; ``last``
    also replaces the target of the state's last goal (a tactic touching an ignored goal)."""

    goals: tuple[str, ...] = ()
    reject: str = ""
    last: str | None = None


@dataclass
class ScriptedVerifier:
    """A Verifier whose outcomes come from rules (first match by regex wins).

    - ``steps``: (step regex, StepRule); an unmatched step is rejected.
    - ``tactics``: (goal target regex, tactic regex, TacticRule); unmatched: rejected.
    - ``submissions``: (submission regex, the submitted proposition); unmatched: rejected.
    - ``rpe``: (submission regex, tactic or None); unmatched: no equivalence.
    Records every call (``calls``) and counts open sessions (``open``).
    """

    steps: list[tuple[str, StepRule]] = field(default_factory=list)
    tactics: list[tuple[str, str, TacticRule]] = field(default_factory=list)
    submissions: list[tuple[str, str]] = field(default_factory=list)
    rpe: list[tuple[str, str | None]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    open: int = 0
    _states: dict[tuple[str, int], tuple[d.Goal, ...]] = field(default_factory=dict)
    _modes: dict[str, d.Mode] = field(default_factory=dict)
    _submitted: dict[tuple[str, int], str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def _new(self, session: str, goals: Sequence[d.Goal]) -> d.ProofState:
        handle = d.StateHandle(session, next(self._ids))
        self._states[(session, handle.state_id)] = tuple(goals)
        return d.ProofState(handle, tuple(goals))

    def _goals(self, handle: d.StateHandle) -> tuple[d.Goal, ...]:
        goals = self._states.get((handle.session_id, handle.state_id))
        if goals is None:
            raise StateNotFound(f"unknown state {handle.state_id}")
        return goals

    async def open_session(
        self,
        problem: d.FormalProblem,
        frameworks: Sequence[d.Framework],
        mode: d.Mode = d.Mode.STRICT,
        *,
        imports: Sequence[str] = (),
        client_id: str = "",
    ) -> d.Session:
        parsed = parse_fps_from_source(problem.formal_statement)
        session = f"fake/{next(self._ids)}"
        context = (*parsed.intros, d.Variable("answer", parsed.answer_type), *parsed.outros)
        last = parsed.outros[-1]
        built = {
            d.Framework.FORWARD_REASONING: [d.Goal(context, "False")],
            d.Framework.SOLVING: [
                d.Goal(context, "?w", "h.mp"),
                d.Goal(context[:-1], last.type, "h.mpr"),
                d.Goal((), "Prop", "w"),
            ],
            d.Framework.FORWARD_SOLVING: [d.Goal(context, "?w", "h"), d.Goal((), "Prop", "w")],
            d.Framework.STATEMENT: [d.Goal(context, parsed.formal_answer or "True")],
        }
        self.open += 1
        self._modes[session] = mode
        states = tuple((kind, self._new(session, built[kind])) for kind in frameworks)
        return d.Session(session, parsed, states, "fake")

    async def apply_step(
        self, state: d.StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> d.Draft:
        self.calls.append(("step", step))
        goals = self._goals(state)
        rule = _first(self.steps, step)
        if rule is not None and rule.raises is not None:
            raise rule.raises
        if rule is None or rule.reject:
            return d.Draft(d.TacticError((rule.reject if rule else "unknown step",)))
        acted = goals[goal_index]
        gaps = tuple(d.Goal(acted.variables, target) for target in rule.gaps)
        rest = goals[:goal_index] + goals[goal_index + 1 :]
        if whole:
            if rule.submits is not None:
                rest = tuple(g for g in rest if g.name != "w")
            new = self._new(state.session_id, (*gaps, *rest))
            if rule.submits is not None:
                self._submitted[(state.session_id, new.handle.state_id)] = rule.submits
            return d.Draft(new if new.goals else d.ProofComplete(new), len(gaps))
        strict = self._modes.get(state.session_id) is not d.Mode.PAPER
        if rule.continuation is not None and strict:  # as the verifier's continuation check
            return d.Draft(d.TacticError(("the step must leave the goal's continuation last",)))
        added = acted.variables + ((d.Variable(*rule.adds),) if rule.adds else ())
        continuation = d.Goal(added, acted.target, rule.continuation)
        return d.Draft(self._new(state.session_id, (*gaps, continuation, *rest)), len(gaps))

    async def run_tactic(
        self, state: d.StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> d.TacticResult:
        self.calls.append(("tactic", tactic))
        goals = self._goals(state)
        goal = goals[goal_index]
        rule = next(
            (r for g, t, r in self.tactics if re.search(g, goal.target) and re.search(t, tactic)),
            None,
        )
        if rule is None or rule.reject:
            return d.TacticError((rule.reject if rule else f"`{tactic}` failed",))
        made = tuple(d.Goal(goal.variables, target) for target in rule.goals)
        rest = [*goals[:goal_index], *goals[goal_index + 1 :]]
        if rule.last is not None and rest:
            rest[-1] = d.Goal(rest[-1].variables, rule.last, rest[-1].name)
        if ignored_goals and rest[-ignored_goals:] != list(goals[-ignored_goals:]):
            return d.TacticError(("the tactic changed the ignored goals",))  # as the verifier
        new = self._new(state.session_id, (*made, *rest))
        return d.ProofComplete(new) if len(new.goals) <= ignored_goals else new

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> d.Validation:
        self.calls.append(("submit", submission))
        submitted = _first(self.submissions, submission)
        if submitted is None:
            return d.Validation(d.TacticError(("the submission does not type-check",)))
        backward = d.Goal((d.Variable("h_submission", submitted),), "answer = 0", "h.mpr")
        return d.Validation(self._new(session_id, (backward,)), submitted)

    async def read_submission(self, state: d.StateHandle) -> str | None:
        goals = self._goals(state)
        submitted = self._submitted.get((state.session_id, state.state_id))
        if submitted is not None:
            return submitted
        hyps = [v.type for g in goals for v in g.variables if v.name == "h_submission"]
        return hyps[0] if hyps else None

    async def check_equivalence(self, session_id: str, submission: str) -> d.Equivalence:
        self.calls.append(("rpe", submission))
        return d.Equivalence(_first(self.rpe, submission))

    async def check_file(
        self, text: str, *, timeout_seconds: float = 0.0, imports: Sequence[str] = ()
    ) -> d.FileCheck:
        self.calls.append(("file", text))
        sorries = len(re.findall(r"\bsorry\b", text))
        return d.FileCheck(sorries == 0, (), sorries, ())

    async def delete_states(self, states: Sequence[d.StateHandle]) -> None:
        for handle in states:
            self._states.pop((handle.session_id, handle.state_id), None)

    async def close_session(self, session_id: str) -> float:
        self.open -= 1
        return 0.0

    async def renew_lease(self, client_id: str, *, release: bool = False) -> d.Lease:
        return d.Lease(self.open, 15.0)

    async def describe(self) -> d.VerifierInfo:
        return d.VerifierInfo("fake", "scripted fake", session_capacity=1024)


T = TypeVar("T")


def _first(rules: Sequence[tuple[str, T]], text: str) -> T | None:
    return next((value for pattern, value in rules if re.search(pattern, text)), None)


#: The step rule of the ``answer = 7`` problem the search tests share: ``h₁`` drafted, one gap.
DRAFTED_H1 = (r"^have h₁ : answer = 7 := sorry$", StepRule(("answer = 7",), ("h₁", "answer = 7")))


def answer_seven_verifier(**overrides: object) -> ScriptedVerifier:
    """A ScriptedVerifier for ``answer = 3 + 4 ⊢ answer = 7``: the drafted ``h₁`` step, its gap
    closed by ``norm_num [h_answer]``, ``exact h₁`` submitting ``answer = 7`` and its RPE by
    ``rfl``; ``overrides`` replace any of its fields."""
    verifier = ScriptedVerifier(
        steps=[DRAFTED_H1],
        tactics=[(r"^answer = 7$", r"^norm_num \[h_answer\]$", TacticRule())],
        submissions=[(r"^exact h₁ -- submit$", "answer = 7")],
        rpe=[(r"^answer = 7$", "rfl")],
    )
    for name, value in overrides.items():
        setattr(verifier, name, value)
    return verifier


@dataclass
class ScriptedGenerator:
    """A Generator answering the last user message by pattern: each (pattern, outputs) hands
    its outputs out in order, cycling; every sample has mean NLL ``nll`` (by text, else 0.5).
    ``prompts`` records each call's user message, ``requests`` its prompt and parameters."""

    scripts: list[tuple[str, list[str]]]
    default: str = "-- no script matched"
    nll: dict[str, float] = field(default_factory=dict)
    prompts: list[str] = field(default_factory=list)
    requests: list[tuple[d.Prompt, d.SamplingParams]] = field(default_factory=list)
    _cursors: dict[int, int] = field(default_factory=dict)

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: d.Prompt, params: d.SamplingParams) -> d.Generation:
        user = prompt.messages[-1].content if prompt.messages else prompt.text or ""
        self.prompts.append(user)
        self.requests.append((prompt, params))
        index = next((i for i, (p, _) in enumerate(self.scripts) if re.search(p, user)), None)
        completions = []
        for _ in range(params.n):
            text = self.default
            if index is not None:
                outputs = self.scripts[index][1]
                text = outputs[self._cursors.get(index, 0) % len(outputs)]
                self._cursors[index] = self._cursors.get(index, 0) + 1
            logprob = -self.nll.get(text, 0.5)
            completions.append(d.Completion(text, d.FinishReason.STOP, (logprob,) * 4, 4))
        return d.Generation(tuple(completions), d.TokenUsage(len(user) // 4, 4 * params.n))


async def run_scripted(
    problem: d.FormalProblem,
    pipeline: d.Pipeline,
    verifier: ScriptedVerifier,
    solver: ScriptedGenerator,
    prover: ScriptedGenerator | None = None,
    *,
    mode: d.Mode = d.Mode.STRICT,
    solver_name: str = "",
    **params: int,
) -> tuple[d.ProblemResult, list[SearchTree]]:
    """Solve ``problem`` with the scheduler over the fakes; the result and every search tree
    built (their invariants checked; every session the search opened must be closed)."""
    scheduler = Scheduler(verifier, solver, prover, Limits(), solve)
    ctx = scheduler.context(
        params=d.SearchParams().merged(**params),
        mode=mode,
        templates=PromptTemplates.load(),
        solver_name=solver_name,
    )
    trees: list[SearchTree] = []
    ctx.on_tree = trees.append
    result = await scheduler.run_problem(pipeline, problem, ctx)
    for tree in trees:
        tree.check_invariants()
    assert verifier.open == 0
    return result, trees
