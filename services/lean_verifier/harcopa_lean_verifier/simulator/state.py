"""Per-process state of lean-sim: goal states by id, options, imports and the scenario.

Created once by the simulator's entry point and passed to every command handler.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harcopa_lean_verifier.simulator.goals import GoalState, Ids
from harcopa_lean_verifier.simulator.scenario import Scenario

#: Pantograph's own options with their v0.2.25 defaults (§7.10).
DEFAULT_OPTIONS = {
    "automaticMode": True,
    "noRepeat": False,
    "printAuxDecls": False,
    "printDependentMVars": False,
    "printExprAST": False,
    "printExprPretty": True,
    "printImplementationDetailHyps": False,
    "printJsonPretty": False,
}


@dataclass
class Repl:
    """Everything that lives as long as the process; ``reset`` clears the goal states."""

    scenario: Scenario
    imports: list[str]
    lean_options: dict[str, str]
    states: dict[int, GoalState] = field(default_factory=dict)
    next_state_id: int = 0
    ids: Ids = field(default_factory=Ids)
    options: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_OPTIONS))

    def add_state(self, state: GoalState) -> int:
        """Store a state under the next id of the per-process counter."""
        state_id = self.next_state_id
        self.states[state_id] = state
        self.next_state_id += 1
        return state_id

    def reset(self) -> int:
        count = len(self.states)
        self.states.clear()
        self.next_state_id = 0
        return count

    @property
    def dependent(self) -> bool:
        return bool(self.options.get("printDependentMVars"))
