"""Snapshot tests of the seven task prompts and of loading user templates (harcopa.prompts)."""

from pathlib import Path

import pytest

from harcopa.domain import ChatMessage, Prompt
from harcopa.errors import InvalidRequest
from harcopa.prompts import TASKS, PromptTemplates

TEMPLATES = PromptTemplates.load()
SYSTEM = ChatMessage("system", "You are a Lean 4 expert.")


def _user(prompt: Prompt) -> str:
    assert prompt.messages[0] == SYSTEM
    assert prompt.messages[1].role == "user"
    return prompt.messages[1].content


def test_next_proof_step_snapshot() -> None:
    assert _user(TEMPLATES.next_proof_step("x : ℕ\n⊢ x = x")) == (
        "Write the one Lean 4 tactic that advances the tactic state below by a single step "
        "toward 'no goals'.\nCurrent tactic state:\n```\nx : ℕ\n⊢ x = x\n```\n"
    )


NEXT_STEP = '''Below are a math problem stated in natural language and the current state of its Lean 4 solution; write the next step of the solution.
Reason and plan in natural-language comments, and obtain the answer by deduction.
`Mathlib` is already imported.
# Informal Problem
"""
What is 1 + 1?
"""
# Current Solution State
```lean4
case h.mp
answer : ℕ
⊢ ?w
```
'''  # noqa: E501


def test_next_solution_step_snapshot_serves_both_tasks() -> None:
    state = "case h.mp\nanswer : ℕ\n⊢ ?w"
    assert _user(TEMPLATES.next_solution_step("What is 1 + 1?", state)) == NEXT_STEP
    drafting = TEMPLATES.next_solution_step("What is 1 + 1?", state, drafting=True)
    assert _user(drafting) == NEXT_STEP


WHOLE_DRAFT = '''Below are a math problem stated in natural language and the initial state of its solution; write a Lean 4 sketch of the solution.
Natural-language reasoning may be written as Lean 4 comments.
Reason forward only: never use a tactic that changes the final goal.
Do not prove the new hypotheses you state; close each of them with `sorry`.
The header below has already been run; do not add imports or `open` commands.
```lean4
import Mathlib
```

# Problem
"""
P
"""

# Initial Solution State
```
case h.mp
⊢ ?w
```
'''  # noqa: E501


def test_whole_solution_snapshots() -> None:
    assert _user(TEMPLATES.whole_solution("P", "case h.mp\n⊢ ?w", drafting=True)) == WHOLE_DRAFT
    generation = _user(TEMPLATES.whole_solution("P", "case h.mp\n⊢ ?w", drafting=False))
    expected = WHOLE_DRAFT.replace(
        "a Lean 4 sketch of the solution", "a complete formal solution in Lean 4"
    ).replace("Do not prove the new hypotheses you state; close each of them with `sorry`.\n", "")
    assert generation == expected


def test_solution_drafting_snapshot_replaces_trailing_sorry() -> None:
    statement = "example\n(answer : ℕ)\n(h : answer = 2)\n: answer = 2\n:= sorry"
    user = _user(TEMPLATES.solution_drafting("P", "2", "S", statement))
    assert user.endswith(
        '```lean4\nimport Mathlib\n```\n\n# Problem\n"""\nP\n"""\n# Answer\n"""\n'
        'the answer is 2\n"""\n# Solution\n"""\nS\n"""\n\n# Formal Statement\n```lean4\n'
        "example\n(answer : ℕ)\n(h : answer = 2)\n: answer = 2\n:= by\n```\n\n"
    )
    with pytest.raises(InvalidRequest, match="sorry"):
        TEMPLATES.solution_drafting("P", "2", "S", "example : True := by trivial")


def test_statement_autoformalization_snapshot() -> None:
    user = _user(TEMPLATES.statement_autoformalization("P", "2"))
    assert user.endswith(
        "```lean4\nimport Mathlib\nopen BigOperators Real Nat Topology\n\n```\n\n"
        '# Problem\n"""\nP\n"""\n# Answer\n"""\nthe answer is 2\n"""\n\n'
    )


def _toml(tasks: dict[str, str], system: str | None = None) -> str:
    lines = [f'[system]\ndefault = "{system}"\n'] if system else []
    for task, user in tasks.items():
        lines.append(f"[tasks.{task}]\nuser = '''{user}'''\n")
    return "\n".join(lines)


def test_user_templates_file(tmp_path: Path) -> None:
    tasks = {task: f"{task}:" for task in TASKS}
    tasks["next_proof_step_prediction"] = "Exact training text.\n```\n{goal}\n```\n"
    path = tmp_path / "checkpoint.toml"
    path.write_text(_toml(tasks, system="Custom system."), encoding="utf-8")
    templates = PromptTemplates.load(path)
    prompt = templates.next_proof_step("⊢ True")
    assert prompt.messages == (
        ChatMessage("system", "Custom system."),
        ChatMessage("user", "Exact training text.\n```\n⊢ True\n```\n"),
    )
    assert templates.with_system("S2").next_proof_step("g").messages[0].content == "S2"


def test_per_task_system_prompt(tmp_path: Path) -> None:
    text = _toml({task: "x" for task in TASKS})
    text += "\n[tasks.solution_drafting.extra]\n"  # sub-tables are ignored
    text = text.replace(
        "[tasks.solution_drafting]\n", '[tasks.solution_drafting]\nsystem = "Helpful."\n'
    )
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    prompt = PromptTemplates.load(path).solution_drafting("P", "A", "S", "example\n:= sorry")
    assert prompt.messages[0].content == "Helpful."


@pytest.mark.parametrize(
    ("tasks", "reason"),
    [
        ({task: "x" for task in TASKS[:-1]}, "miss tasks"),
        ({**{task: "x" for task in TASKS}, "next_proof_step_prediction": "{state}"}, "unknown"),
        ({**{task: "x" for task in TASKS}, "solution_drafting": "{oops"}, "malformed"),
    ],
)
def test_bad_template_files(tmp_path: Path, tasks: dict[str, str], reason: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_toml(tasks), encoding="utf-8")
    with pytest.raises(InvalidRequest, match=reason):
        PromptTemplates.load(path)


def test_unreadable_templates(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="cannot read"):
        PromptTemplates.load(tmp_path / "missing.toml")
    with pytest.raises(InvalidRequest, match="unknown prompt task"):
        TEMPLATES.render("nope")
