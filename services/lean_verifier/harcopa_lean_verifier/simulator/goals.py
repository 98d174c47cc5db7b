"""Goals, hypotheses and goal states of lean-sim, and their Pantograph JSON shapes (§5).

Used by the simulator's engine, frontend and protocol. Metavariables such as ``?w`` stay in
the text; a state maps their names to goal ids and instantiates assignments when printing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_PLACEHOLDER = re.compile(r"\?([^\W\d][\w'.]*)")


class Ids:
    """The process-wide ``_uniq.N`` counter (deterministic, never reset)."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)

    def next(self) -> int:
        return next(self._counter)


@dataclass(frozen=True)
class Hyp:
    """A local hypothesis; ``inaccessible`` ones print as ``base✝`` (Lean's dagger names)."""

    uid: int
    base: str
    type: str
    value: str | None = None
    inaccessible: bool = False


@dataclass(frozen=True)
class Goal:
    """A goal metavariable: ``uid`` is its ``_uniq`` id, ``tag`` its case name."""

    uid: int
    tag: str | None
    hyps: tuple[Hyp, ...]
    target: str
    is_conversion: bool = False

    def add(self, *hyps: Hyp) -> tuple[Hyp, ...]:
        return self.hyps + tuple(hyps)


def display_names(hyps: Iterable[Hyp]) -> list[str]:
    """Lean's names: the latest inaccessible ``x`` is ``x✝``, earlier ones ``x✝¹``, ``x✝²``..."""
    hyps = list(hyps)
    names = []
    for i, h in enumerate(hyps):
        if not h.inaccessible:
            names.append(h.base)
            continue
        later = sum(1 for g in hyps[i + 1 :] if g.inaccessible and g.base == h.base)
        names.append(f"{h.base}✝" + (str(later).translate(_SUPERSCRIPT) if later else ""))
    return names


def find_hyp(goal: Goal, name: str) -> Hyp | None:
    """The accessible hypothesis called ``name`` (the latest one if shadowed)."""
    for h in reversed(goal.hyps):
        if h.base == name and not h.inaccessible:
            return h
    return None


@dataclass
class GoalState:
    """One Pantograph goal state: its goals plus metavariable bookkeeping (immutable by use)."""

    goals: tuple[Goal, ...]
    root: int
    assignments: dict[int, str] = field(default_factory=dict)
    mvar_names: dict[str, int] = field(default_factory=dict)
    used_sorry: bool = False
    parent: int | None = None

    def instantiate(self, text: str) -> str:
        return instantiate(text, self.assignments, self.mvar_names)

    def dependent(self, text: str) -> list[str]:
        """``_uniq`` names of the unassigned metavariables the text mentions."""
        out = []
        for m in _PLACEHOLDER.finditer(self.instantiate(text)):
            uid = self.mvar_names.get(m.group(1))
            if uid is not None and uid not in self.assignments:
                out.append(f"_uniq.{uid}")
        return out


def instantiate(text: str, assignments: Mapping[int, str], names: Mapping[str, int]) -> str:
    """Replace assigned ``?name`` placeholders by their values (parenthesised when needed)."""
    for _ in range(8):  # assignments may mention other placeholders
        changed = False

        def repl(m: re.Match[str]) -> str:
            nonlocal changed
            uid = names.get(m.group(1))
            if uid is None or uid not in assignments:
                return m.group(0)
            changed = True
            value = assignments[uid]
            whole = m.start() == 0 and m.end() == len(m.string)
            return value if whole or " " not in value else f"({value})"

        text = _PLACEHOLDER.sub(repl, text)
        if not changed:
            break
    return text


def render_goal(goal: Goal, state: GoalState | None = None) -> str:
    """Lean's goal text: ``case tag``, hypotheses (same types merged) and ``⊢ target``."""
    inst = state.instantiate if state is not None else (lambda t: t)
    lines = [f"case {goal.tag}"] if goal.tag else []
    names = display_names(goal.hyps)
    pending: list[str] = []
    for i, h in enumerate(goal.hyps):
        pending.append(names[i])
        nxt = goal.hyps[i + 1] if i + 1 < len(goal.hyps) else None
        if h.value is None and nxt is not None and nxt.value is None and nxt.type == h.type:
            continue
        text = f"{' '.join(pending)} : {inst(h.type)}"
        lines.append(text + (f" := {inst(h.value)}" if h.value is not None else ""))
        pending = []
    lines.append(("| " if goal.is_conversion else "⊢ ") + inst(goal.target))
    return "\n".join(lines)


def expression_json(text: str, state: GoalState, dependent: bool) -> dict[str, object]:
    out: dict[str, object] = {"pp": state.instantiate(text)}
    if dependent:
        out["dependentMVars"] = state.dependent(text)
    return out


def goal_json(goal: Goal, state: GoalState, dependent: bool) -> dict[str, object]:
    """Pantograph's Goal object (§5.3)."""
    variables = []
    for h, name in zip(goal.hyps, display_names(goal.hyps), strict=True):
        var: dict[str, object] = {
            "name": f"_uniq.{h.uid}",
            "userName": name,
            "isInaccessible": h.inaccessible,
            "type": expression_json(h.type, state, dependent),
        }
        if h.value is not None:
            var["value"] = expression_json(h.value, state, dependent)
        variables.append(var)
    out: dict[str, object] = {
        "name": f"_uniq.{goal.uid}",
        "isConversion": goal.is_conversion,
        "target": expression_json(goal.target, state, dependent),
        "vars": variables,
    }
    if goal.tag:
        out["userName"] = goal.tag
    return out
