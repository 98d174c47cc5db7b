"""Lean-facing domain types (variables, goals, proof states, tactic results); used by every service.

Pure data: frozen dataclasses with no I/O. The rendered text of a goal is exactly what models
see (official-impl §1.1): optional ``case <name>`` line, hypotheses with consecutive identical
types merged, then ``⊢ <target>`` (``| <target>`` for conversion goals).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Variable:
    """A hypothesis or binder, ``name : type [:= value]``; a None name is anonymous."""

    name: str | None
    type: str
    value: str | None = None

    def render(self) -> str:
        head = f"{self.name if self.name is not None else '_'} : {self.type}"
        return head if self.value is None else f"{head} := {self.value}"

    def binder(self) -> str:
        """Source binder text: ``(x : T)`` for a named variable, ``[T]`` for an anonymous one."""
        if self.name is None:
            return f"[{self.type}]"
        return f"({self.name} : {self.type})"


@dataclass(frozen=True, slots=True)
class Goal:
    """One goal: context variables in order, the target, and its case name (None if anonymous).

    ``sibling_dep`` holds indices of other goals of the same state that this goal's target
    mentions (coupled goals, from Pantograph's ``dependentMVars``); ``mvar_id`` is the
    process-local metavariable id (not part of equality).
    """

    variables: tuple[Variable, ...]
    target: str
    name: str | None = None
    sibling_dep: tuple[int, ...] = ()
    is_conversion: bool = False
    mvar_id: str = field(default="", compare=False)

    def render(self) -> str:
        lines: list[str] = []
        if self.name:
            lines.append(f"case {self.name}")
        # Merge runs of value-less hypotheses with the same type into one ``a b : T`` line.
        pending: list[str] = []
        pending_type: str | None = None
        for var in self.variables:
            if var.value is None and var.type == pending_type:
                pending.append(var.name if var.name is not None else "_")
                continue
            if pending:
                lines.append(f"{' '.join(pending)} : {pending_type}")
                pending, pending_type = [], None
            if var.value is None:
                pending, pending_type = [var.name if var.name is not None else "_"], var.type
            else:
                lines.append(var.render())
        if pending:
            lines.append(f"{' '.join(pending)} : {pending_type}")
        lines.append(f"{'|' if self.is_conversion else '⊢'} {self.target}")
        return "\n".join(lines)

    def same_shape(self, other: Goal) -> bool:
        """True when two goals match as ignored goals must (official-impl §4.2 step 1)."""
        return (
            self.target == other.target
            and self.name == other.name
            and [v.name for v in self.variables] == [v.name for v in other.variables]
            and self.is_conversion == other.is_conversion
        )


@dataclass(frozen=True, slots=True)
class StateHandle:
    """Opaque reference to a proof state held by one verifier session (replica-scoped)."""

    session_id: str
    state_id: int


@dataclass(frozen=True, slots=True, eq=False)
class ProofState:
    """A proof state and its goals; equal and hashed by the rendered goals (search dedup)."""

    handle: StateHandle
    goals: tuple[Goal, ...]

    @property
    def is_solved(self) -> bool:
        return not self.goals

    def render(self) -> str:
        return "\n".join(goal.render() for goal in self.goals)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProofState) and self.render() == other.render()

    def __hash__(self) -> int:
        return hash(self.render())

    def first_goal_index(self) -> int:
        """Index of the first goal with no sibling dependency (the last goal if none qualifies)."""
        for index, goal in enumerate(self.goals):
            if not goal.sibling_dep:
                return index
        return len(self.goals) - 1

    def first_goal_text(self) -> str:
        """The prover's view: the first free goal plus every goal coupled to it (§1.1)."""
        index = self.first_goal_index()
        parts = [self.goals[index].render()]
        parts += [g.render() for g in self.goals if index in g.sibling_dep]
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class ProofComplete:
    """The tactic closed every (non-ignored) goal; ``state`` is the resulting state."""

    state: ProofState


@dataclass(frozen=True, slots=True)
class TacticError:
    """Lean rejected the tactic (parse error, elaboration error, or a policy check)."""

    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TacticTimeout:
    """The tactic ran past its wall-clock limit; the process that ran it was replaced."""

    seconds: float


TacticResult = ProofState | ProofComplete | TacticError | TacticTimeout


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Message:
    """A Lean message from whole-file checking; positions are 1-based lines, 0-based columns."""

    severity: Severity
    text: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class FileCheck:
    """Outcome of checking a whole Lean file: ``ok`` iff no errors, no sorry, no banned axiom."""

    ok: bool
    messages: tuple[Message, ...]
    sorries: int
    axioms: tuple[str, ...]
    seconds: float = 0.0
    #: Axioms outside the allowlist (``propext``, ``Classical.choice``, ``Quot.sound``).
    forbidden_axioms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Draft:
    """What drafting a step (or a whole draft) on a goal produced: ApplyStep's answer.

    On success the state's goals are the ``gap_count`` gaps first, then (for a step draft) the
    continuation; a rejection is a TacticError or TacticTimeout with no gaps.
    """

    result: TacticResult
    gap_count: int = 0

    @property
    def state(self) -> ProofState | None:
        """The drafted state; None when Lean rejected the draft."""
        return _state_of(self.result)

    @property
    def gaps(self) -> tuple[Goal, ...]:
        state = self.state
        return state.goals[: self.gap_count] if state is not None else ()


@dataclass(frozen=True, slots=True)
class Validation:
    """ValidateSubmission's answer: the ``h.mpr`` state (or a rejection) and the submission."""

    result: TacticResult
    submission: str | None = None

    @property
    def state(self) -> ProofState | None:
        """The backward state ``h.mpr``; None when the submission did not validate."""
        return _state_of(self.result)


@dataclass(frozen=True, slots=True)
class Equivalence:
    """RPE's answer: the tactic that proved submission ↔ ground truth (None if none did)."""

    tactic: str | None
    supervised: bool = True
    messages: tuple[str, ...] = ()
    lean_seconds: float = 0.0


def _state_of(result: TacticResult) -> ProofState | None:
    if isinstance(result, ProofComplete):
        return result.state
    return result if isinstance(result, ProofState) else None


def state_of(result: TacticResult) -> ProofState | None:
    """The state a successful tactic, step or submission produced; None for a rejection."""
    return _state_of(result)
