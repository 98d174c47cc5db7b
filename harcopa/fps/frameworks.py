"""The Lean statements of the FPS frameworks and the state texts shown to models.

Byte-exact to the reference (official-impl §2.2, §2.6, §4.1): the verifier compiles these
statements after the problem's header, and prompts show the state texts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from harcopa.domain import Goal, ParsedProblem, Variable
from harcopa.errors import InvalidRequest
from harcopa.fps.parse import SUBMISSION_NAME


def binder_sequence(variables: Sequence[Variable]) -> str:
    """``(x : T)`` per named variable and ``[T]`` per anonymous one, space separated."""
    return " ".join(v.binder() for v in variables)


def _names(variables: Sequence[Variable]) -> tuple[str, ...]:
    return tuple(v.name if v.name is not None else "_" for v in variables)


def intro_names(parsed: ParsedProblem) -> tuple[str, ...]:
    """Names for ``intros`` of the intros (``_`` for anonymous instances)."""
    return _names(parsed.intros)


def outro_names(parsed: ParsedProblem) -> tuple[str, ...]:
    """Names for ``intros`` of the outros; the last one is the answer-defining hypothesis."""
    return _names(parsed.outros)


def intros_tactic(names: Sequence[str]) -> str | None:
    """``intros a b c``, or None when there is nothing to introduce."""
    return "intros " + " ".join(names) if names else None


def forward_reasoning_statement(parsed: ParsedProblem) -> str:
    """``example <I>\\n(answer : T) \\n<O>\\n: False := sorry``: one goal with target False."""
    intros = binder_sequence(parsed.intros) + "\n" if parsed.intros else "\n"
    outros = "\n" + binder_sequence(parsed.outros) + "\n" if parsed.outros else "\n"
    return f"example {intros}(answer : {parsed.answer_type}) {outros}: False := sorry"


def solving_statement(parsed: ParsedProblem) -> str:
    """The solving framework: ``∃ h_submission, (∀ O', (Olast ↔ h_submission))``.

    After the intros its goals are ``h.mp`` (target ``?w``), ``h.mpr`` and ``w``.
    """
    intros = " ∀ " + binder_sequence(parsed.intros) + ",\n" if parsed.intros else "\n"
    head = parsed.outros[:-1]
    outros = "\n∀ " + binder_sequence(head) + ",\n" if head else "\n"
    return (
        f"example :{intros}∀ (answer : {parsed.answer_type}), ∃ ({SUBMISSION_NAME} : Prop), "
        f"{outros}(({parsed.outros[-1].type}) ↔ {SUBMISSION_NAME})\n:= sorry"
    )


def forward_solving_statement(parsed: ParsedProblem) -> str:
    """The whole-solution framework: goal ``h`` (full context, target ``?w``) and ``w``."""
    intros = "∀ " + binder_sequence(parsed.intros) + ",\n" if parsed.intros else ""
    outros = "∀ " + binder_sequence(parsed.outros) + ",\n" if parsed.outros else ""
    return (
        f"example :\n{intros}∀ (answer : {parsed.answer_type}), ∃ ({SUBMISSION_NAME} : Prop), "
        f"\n{outros}({SUBMISSION_NAME})\n:= sorry"
    )


def backward_statement(parsed: ParsedProblem) -> str:
    """From the ground-truth answer to the last outro (defined by the reference, unused there)."""
    answer = _require_answer(parsed)
    intros = binder_sequence(parsed.intros) + " " if parsed.intros else ""
    head = parsed.outros[:-1]
    outros = binder_sequence(head) + " " if head else ""
    return (
        f"example : ∀ {intros}(answer : {parsed.answer_type}) ({SUBMISSION_NAME}: {answer}) "
        f"{outros}, ({parsed.outros[-1].type})\n:= sorry\n"
    )


def rpe_statement(parsed: ParsedProblem, submission: str) -> str:
    """``submission ↔ formal_answer`` under the intros and ``answer`` (official-impl §2.6)."""
    answer = _require_answer(parsed)
    intros = " " + binder_sequence(parsed.intros) + "\n" if parsed.intros else "\n"
    return (
        f"example{intros} (answer : {parsed.answer_type}) : (\n{submission}\n) ↔ (\n{answer}\n)"
        " := sorry\n"
    )


def _require_answer(parsed: ParsedProblem) -> str:
    if parsed.formal_answer is None:
        raise InvalidRequest("the problem has no formal answer (unsupervised): no RPE check")
    return parsed.formal_answer


def solution_state_text(goal: Goal) -> str:
    """The forward-reasoning goal shown as the ``h.mp`` goal: ``⊢ False`` becomes ``⊢ ?w``."""
    text = dataclasses.replace(goal, name=None).render()
    if not text.endswith("⊢ False"):
        raise InvalidRequest("a forward-reasoning goal must have the target `False`")
    return "case h.mp\n" + text[: -len("False")] + "?w"


def initial_solution_state_text(goal: Goal) -> str:
    """Goal ``h`` of the forward-solving framework shown with the case line ``case h.mp``."""
    return dataclasses.replace(goal, name="h.mp").render()
