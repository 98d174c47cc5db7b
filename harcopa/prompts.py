"""Chat prompts for the seven SFT tasks, rendered from templates held as data in a TOML file.

The one place prompts are rendered: used by the orchestrator (every model call) and the trainer
(SFT records). Each task has a user template and may have its own system prompt (else the
file's default). The packaged ``templates/prompts.toml`` keeps the reference's layouts
(official-impl §4.1 P1–P6) with our own instruction wording; ``PromptTemplates.load(path)``
reads another file instead. The released checkpoints need the exact strings they were trained
on: ``harcopa prompts import --reference DIR --out FILE`` writes them from a checkout of the
reference code (harcopa.reference), and ``harcopa eval --reference DIR`` does so for one run.
"""

from __future__ import annotations

import dataclasses
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from harcopa.domain import OPEN_HEADER, ChatMessage, Prompt
from harcopa.errors import InvalidRequest

DEFAULT_SYSTEM_PROMPT = "You are a Lean 4 expert."

#: Task id -> the placeholders its template may use (official-impl §6.3).
TASK_FIELDS: dict[str, frozenset[str]] = {
    "next_proof_step_prediction": frozenset({"goal"}),
    "next_solution_step_prediction": frozenset({"informal_problem", "solution_state"}),
    "next_solution_step_drafting": frozenset({"informal_problem", "solution_state"}),
    "whole_solution_generation": frozenset({"informal_problem", "solution_state"}),
    "whole_solution_drafting": frozenset({"informal_problem", "solution_state"}),
    "solution_drafting": frozenset(
        {"informal_problem", "informal_answer", "informal_solution", "formal_statement"}
    ),
    "statement_autoformalization": frozenset({"informal_problem", "informal_answer", "header"}),
}
TASKS = tuple(TASK_FIELDS)

_STATEMENT_END = "\n:= sorry"


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """The user-message template of one task and its optional own system prompt."""

    user: str
    system: str | None = None


def _placeholders(template: str) -> set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as error:
        raise InvalidRequest(f"malformed prompt template: {error}") from error


def _task(task: str, table: object) -> TaskTemplate:
    if not isinstance(table, dict) or not isinstance(table.get("user"), str):
        raise InvalidRequest(f"prompt template {task!r} needs a text field 'user'")
    unknown = _placeholders(table["user"]) - TASK_FIELDS[task]
    if unknown:
        raise InvalidRequest(f"prompt template {task!r} uses unknown fields {sorted(unknown)}")
    system = table.get("system")
    if system is not None and not isinstance(system, str):
        raise InvalidRequest(f"prompt template {task!r}: 'system' must be text")
    return TaskTemplate(table["user"], system)


@dataclass(frozen=True, slots=True)
class PromptTemplates:
    """All seven task templates plus the default system prompt."""

    system: str
    tasks: Mapping[str, TaskTemplate]

    @classmethod
    def load(cls, path: Path | None = None) -> PromptTemplates:
        """Templates from ``path`` (the packaged file when None); every task must be present."""
        try:
            if path is None:
                raw = resources.files("harcopa").joinpath("templates/prompts.toml").read_text()
            else:
                raw = Path(path).read_text(encoding="utf-8")
            data = tomllib.loads(raw)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise InvalidRequest(f"cannot read prompt templates {path}: {error}") from error
        tables = data.get("tasks", {})
        missing = [task for task in TASKS if task not in tables]
        if missing:
            raise InvalidRequest(f"prompt templates miss tasks: {', '.join(missing)}")
        system = data.get("system", {}).get("default", DEFAULT_SYSTEM_PROMPT)
        return cls(str(system), {task: _task(task, tables[task]) for task in TASKS})

    def with_system(self, system: str) -> PromptTemplates:
        """A copy whose default system prompt is ``system`` (tasks with their own keep it)."""
        return dataclasses.replace(self, system=system)

    def render(self, task: str, **fields: str) -> Prompt:
        """The [system, user] chat prompt of ``task`` with ``fields`` filled in."""
        if task not in self.tasks:
            raise InvalidRequest(f"unknown prompt task {task!r}")
        template = self.tasks[task]
        try:
            user = template.user.format_map(fields)
        except KeyError as error:
            raise InvalidRequest(f"prompt {task!r} needs field {error.args[0]!r}") from error
        system = template.system if template.system is not None else self.system
        return Prompt(messages=(ChatMessage("system", system), ChatMessage("user", user)))

    def next_proof_step(self, goal_text: str) -> Prompt:
        """P1: the prover's prompt for one tactic on ``goal_text``."""
        return self.render("next_proof_step_prediction", goal=goal_text)

    def next_solution_step(
        self, informal_problem: str, solution_state: str, *, drafting: bool = False
    ) -> Prompt:
        """P2: the next solution step (``drafting`` selects the hierarchical task's template)."""
        task = "next_solution_step_drafting" if drafting else "next_solution_step_prediction"
        return self.render(task, informal_problem=informal_problem, solution_state=solution_state)

    def whole_solution(self, informal_problem: str, state: str, *, drafting: bool) -> Prompt:
        """P3 (generation) or P4 (drafting) for a whole solution from the initial state."""
        task = "whole_solution_drafting" if drafting else "whole_solution_generation"
        return self.render(task, informal_problem=informal_problem, solution_state=state)

    def solution_drafting(
        self, informal_problem: str, informal_answer: str, informal_solution: str, statement: str
    ) -> Prompt:
        """P5: CoPA solution drafting; the statement's trailing ``sorry`` becomes ``by``."""
        if not statement.endswith(_STATEMENT_END):
            raise InvalidRequest("the formal statement must end with '\\n:= sorry'")
        return self.render(
            "solution_drafting",
            informal_problem=informal_problem,
            informal_answer=informal_answer,
            informal_solution=informal_solution,
            formal_statement=statement[: -len("sorry")] + "by",
        )

    def statement_autoformalization(
        self, informal_problem: str, informal_answer: str, header: str = OPEN_HEADER
    ) -> Prompt:
        """P6: a formal statement for a problem and its answer."""
        return self.render(
            "statement_autoformalization",
            informal_problem=informal_problem,
            informal_answer=informal_answer,
            header=header,
        )
