"""OpenSession's Lean work: FPS problem parsing and construction of the framework states.

Called by verifier.py. Parsing (official-impl §2.1) runs on a REPL started with the explicit
pretty-printing options (a separate pool key, so the session's own process is never
restarted); the frameworks (§2.2) are built on the session's pinned REPL with the normal
options. Anything that does not go as the reference asserts is an InvalidRequest with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from harcopa.domain import FormalProblem, Framework, Goal, ParsedProblem
from harcopa.errors import InvalidRequest
from harcopa.fps import (
    ANSWER_NAME,
    SUBMISSION_NAME,
    forward_reasoning_statement,
    forward_solving_statement,
    intro_names,
    intros_tactic,
    outro_names,
    parse_fps,
    remove_comments,
    solving_statement,
)
from harcopa_lean_verifier.backends.pantograph import PantographError, goals_from_json
from harcopa_lean_verifier.calls import TacticReply, tactic_call
from harcopa_lean_verifier.messages import describe, errors_of, unit_messages
from harcopa_lean_verifier.repl import LeanCommands
from harcopa_lean_verifier.timeouts import Timeouts

logger = logging.getLogger(__name__)


#: What a paper-mode session built only on the statement knows of the problem: the reference's
#: H-SA compiles the statement as it is and never parses it (official-impl §4.8).
UNPARSED = ParsedProblem(
    (), "", (), None, ("not parsed: the statement is compiled as it is (paper-mode H-SA)",)
)


@dataclass(frozen=True, slots=True)
class BuiltFramework:
    """A framework's final Pantograph state, its goals and the ``?w`` mvar id (if any)."""

    kind: Framework
    pantograph_id: int
    goals: tuple[Goal, ...]
    answer_mvar: str | None = None


async def compile_sorry_statement(
    repl: LeanCommands, text: str, timeouts: Timeouts, what: str
) -> tuple[int, tuple[Goal, ...]]:
    """``frontend.process`` with sorrys; the last unit's goal state (no error messages allowed)."""
    try:
        units = await repl.frontend_process(text, sorrys=True, timeout_seconds=timeouts.file)
    except PantographError as exc:
        raise InvalidRequest(f"the {what} is rejected by Lean: {exc}") from exc
    errors = errors_of(unit_messages(units))
    if errors:
        raise InvalidRequest(f"the {what} does not compile: {describe(errors)}")
    if not units or "goalStateId" not in units[-1]:
        raise InvalidRequest(f"the {what} yields no goal (does it end with `:= sorry`?)")
    return int(units[-1]["goalStateId"]), goals_from_json(units[-1].get("goals", []))


async def parse_problem(
    repl: LeanCommands, problem: FormalProblem, timeouts: Timeouts
) -> ParsedProblem:
    """The FPS form of ``problem``; ``repl`` must run with PARSING_EXTRA_OPTIONS."""
    text = remove_comments(problem.effective_header + "\n" + problem.formal_statement)
    state_id, goals = await compile_sorry_statement(repl, text, timeouts, "statement")
    try:
        if len(goals) != 1:
            raise InvalidRequest(f"the statement yields {len(goals)} goals, expected one")
        return parse_fps(problem.formal_statement, goals[0], goals[0].target)
    finally:
        await repl.goal_delete([state_id], timeout_seconds=timeouts.tactic)


class _Builder:
    """Runs one framework's tactic script on the session REPL, tracking intermediate states."""

    def __init__(self, repl: LeanCommands, timeouts: Timeouts, kind: Framework) -> None:
        self.repl, self.timeouts, self.kind = repl, timeouts, kind
        self.created: list[int] = []

    async def compile(self, text: str) -> tuple[int, tuple[Goal, ...]]:
        state_id, goals = await compile_sorry_statement(
            self.repl, text, self.timeouts, f"{self.kind.value} framework statement"
        )
        self.created.append(state_id)
        return state_id, goals

    async def tactic(
        self, state_id: int, goal_id: int, tactic: str
    ) -> tuple[int, tuple[Goal, ...]]:
        step = await tactic_call(
            self.repl, state_id, goal_id, tactic=tactic, timeout_seconds=self.timeouts.tactic
        )
        if not isinstance(step, TacticReply):
            reason = " ".join(step.messages[0].split())[:300]
            raise InvalidRequest(
                f"building the {self.kind.value} framework: `{tactic}` failed: {reason}"
            )
        self.created.append(step.state_id)
        return step.state_id, step.goals

    async def answer_mvar(self, state_id: int) -> str:
        """The mvar id of the goal named ``w`` (the submission ``?w``), via goal.print."""
        printed = await self.repl.goal_print(
            state_id, goals=True, timeout_seconds=self.timeouts.tactic
        )
        for goal in printed.get("goals", []):
            if goal.get("userName") == "w" and goal.get("name"):
                return str(goal["name"])
        raise InvalidRequest(f"building the {self.kind.value} framework: no goal named `w`")

    async def finish(
        self, state_id: int, goals: tuple[Goal, ...], mvar: str | None
    ) -> BuiltFramework:
        """Delete the intermediate states and return the final one."""
        stale = [s for s in self.created if s != state_id]
        if stale:
            await self.repl.goal_delete(stale, timeout_seconds=self.timeouts.tactic)
        return BuiltFramework(self.kind, state_id, goals, mvar)


def _expect_names(kind: Framework, goals: Sequence[Goal], expected: list[str | None]) -> None:
    names = [g.name for g in goals]
    if names != expected:
        raise InvalidRequest(f"the {kind.value} framework has goals {names}, expected {expected}")


async def _forward_reasoning(b: _Builder, header: str, parsed: ParsedProblem) -> BuiltFramework:
    state_id, goals = await b.compile(header + "\n" + forward_reasoning_statement(parsed))
    if len(goals) != 1 or goals[0].target != "False":
        raise InvalidRequest("the forward-reasoning framework must have one goal `False`")
    return await b.finish(state_id, goals, None)


async def _intros(
    b: _Builder, state_id: int, goals: tuple[Goal, ...], names: Sequence[str]
) -> tuple[int, tuple[Goal, ...]]:
    """``intros <names>`` on goal 0, or nothing when there are no names."""
    tactic = intros_tactic(names)
    if tactic is None:
        return state_id, goals
    return await b.tactic(state_id, 0, tactic)


async def _solving(b: _Builder, header: str, parsed: ParsedProblem) -> BuiltFramework:
    state_id, goals = await b.compile(header + "\n" + solving_statement(parsed))
    state_id, goals = await _intros(b, state_id, goals, intro_names(parsed))
    state_id, _ = await b.tactic(state_id, 0, f"intros {ANSWER_NAME}")
    state_id, goals = await b.tactic(state_id, 0, "apply Exists.intro")
    mvar = await b.answer_mvar(state_id)
    state_id, goals = await _intros(b, state_id, goals, outro_names(parsed)[:-1])
    state_id, _ = await b.tactic(state_id, 0, "constructor")
    state_id, _ = await b.tactic(state_id, 1, f"intros {SUBMISSION_NAME}")
    state_id, goals = await b.tactic(state_id, 1, f"intros {outro_names(parsed)[-1]}")
    _expect_names(b.kind, goals, ["h.mp", "h.mpr", "w"])
    return await b.finish(state_id, goals, mvar)


async def _forward_solving(b: _Builder, header: str, parsed: ParsedProblem) -> BuiltFramework:
    state_id, goals = await b.compile(header + "\n" + forward_solving_statement(parsed))
    state_id, goals = await _intros(b, state_id, goals, intro_names(parsed))
    state_id, _ = await b.tactic(state_id, 0, f"intros {ANSWER_NAME}")
    state_id, goals = await b.tactic(state_id, 0, "apply Exists.intro")
    mvar = await b.answer_mvar(state_id)
    state_id, goals = await _intros(b, state_id, goals, outro_names(parsed))
    _expect_names(b.kind, goals, ["h", "w"])
    return await b.finish(state_id, goals, mvar)


async def _statement(b: _Builder, header: str, problem: FormalProblem) -> BuiltFramework:
    state_id, goals = await b.compile(header + "\n" + problem.formal_statement)
    if len(goals) != 1:
        raise InvalidRequest(f"the statement yields {len(goals)} goals, expected one")
    return await b.finish(state_id, goals, None)


async def build_framework(
    repl: LeanCommands,
    kind: Framework,
    problem: FormalProblem,
    parsed: ParsedProblem,
    timeouts: Timeouts,
) -> BuiltFramework:
    """Build one framework state on ``repl`` (official-impl §2.2)."""
    builder = _Builder(repl, timeouts, kind)
    header = problem.effective_header
    try:
        match kind:
            case Framework.FORWARD_REASONING:
                return await _forward_reasoning(builder, header, parsed)
            case Framework.SOLVING:
                return await _solving(builder, header, parsed)
            case Framework.FORWARD_SOLVING:
                return await _forward_solving(builder, header, parsed)
            case Framework.STATEMENT:
                return await _statement(builder, header, problem)
    except InvalidRequest:
        if builder.created:  # the process stays in use: free what the failed build made
            await repl.goal_delete(builder.created, timeout_seconds=timeouts.tactic)
        raise
    raise InvalidRequest(f"unknown framework {kind!r}")
