"""Scenario files for lean-sim: tactic rules, axiom overrides and fault settings.

Loaded once by the simulator's entry point (``LEAN_SIM_SCENARIO`` or ``--sim.scenario=PATH``);
the engine consults the rules before its built-in rule set. The format is documented in the
package docstring.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harcopa_lean_verifier.simulator.terms import collapse


class ScenarioError(ValueError):
    """The scenario file or a ``--sim.*`` option is malformed."""


@dataclass(frozen=True)
class NewGoal:
    """A goal a rule produces: its target, case tag and hypotheses added to the context."""

    target: str
    name: str | None = None
    hyps: tuple[tuple[str, str], ...] = ()


@dataclass
class Rule:
    """Goal pattern + tactic pattern -> result; ``times`` None means unlimited."""

    goal: re.Pattern[str] | None
    goal_text: re.Pattern[str] | None
    tactic: re.Pattern[str] | None
    result: str | tuple[NewGoal, ...]
    message: str | None = None
    delay_seconds: float = 0.0
    times: int | None = None

    def matches(self, target: str, goal_text: str, tactic: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.goal is not None and not self.goal.search(target):
            return False
        if self.goal_text is not None and not self.goal_text.search(goal_text):
            return False
        return self.tactic is None or bool(self.tactic.search(collapse(tactic)))

    def consume(self) -> None:
        if self.times is not None:
            self.times -= 1


@dataclass
class Scenario:
    """Everything a scenario file configures (all optional)."""

    rules: list[Rule] = field(default_factory=list)
    axioms: dict[str, list[str]] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)

    def find(self, target: str, goal_text: str, tactic: str) -> Rule | None:
        """The first rule that applies (its ``times`` is consumed by the caller on use)."""
        for rule in self.rules:
            if rule.matches(target, goal_text, tactic):
                return rule
        return None


def _pattern(raw: object, where: str) -> re.Pattern[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ScenarioError(f"{where}: expected a regex string")
    try:
        return re.compile(raw)
    except re.error as exc:
        raise ScenarioError(f"{where}: bad regex {raw!r}: {exc}") from exc


def _result(raw: object, where: str) -> str | tuple[NewGoal, ...]:
    if raw in ("close", "error"):
        return str(raw)
    if isinstance(raw, dict) and isinstance(raw.get("goals"), list):
        goals = []
        for g in raw["goals"]:
            if not isinstance(g, dict) or not isinstance(g.get("target"), str):
                raise ScenarioError(f"{where}: every goal needs a string 'target'")
            hyps = tuple((str(h[0]), str(h[1])) for h in g.get("hyps", []))
            goals.append(NewGoal(g["target"], g.get("name"), hyps))
        return tuple(goals)
    raise ScenarioError(f"{where}: result must be 'close', 'error' or {{'goals': [...]}}")


def parse_rule(raw: object, index: int) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected an object")
    times = raw.get("times")
    return Rule(
        goal=_pattern(raw.get("goal"), where + ".goal"),
        goal_text=_pattern(raw.get("goal_text"), where + ".goal_text"),
        tactic=_pattern(raw.get("tactic"), where + ".tactic"),
        result=_result(raw.get("result", "close"), where + ".result"),
        message=raw.get("message"),
        delay_seconds=float(raw.get("delay_seconds", 0.0)),
        times=None if times is None else int(times),
    )


def parse_scenario(data: object) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a JSON object")
    rules = [parse_rule(r, i) for i, r in enumerate(data.get("rules", []))]
    axioms = {str(k): [str(a) for a in v] for k, v in data.get("axioms", {}).items()}
    faults = data.get("faults", {})
    if not isinstance(faults, dict):
        raise ScenarioError("'faults' must be an object")
    return Scenario(rules=rules, axioms=axioms, faults=dict(faults))


def load_scenario(path: str | None) -> Scenario:
    """Read a scenario file; no path gives the empty scenario."""
    if not path:
        return Scenario()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from exc
    return parse_scenario(data)
