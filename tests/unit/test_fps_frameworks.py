"""Byte-exact tests of the framework statements and state texts (harcopa.fps.frameworks)."""

import pytest

from harcopa.domain import Goal, ParsedProblem, Variable
from harcopa.errors import InvalidRequest
from harcopa.fps import (
    backward_statement,
    forward_reasoning_statement,
    forward_solving_statement,
    initial_solution_state_text,
    intro_names,
    intros_tactic,
    outro_names,
    rpe_statement,
    solution_state_text,
    solving_statement,
)

FULL = ParsedProblem(
    intros=(Variable("x", "ℝ"), Variable(None, "Fact (0 < 1)")),
    answer_type="ℕ",
    outros=(Variable("n", "ℕ"), Variable("h₀", "n = 2"), Variable("h_answer", "answer = n")),
    formal_answer="@Eq Nat answer 2",
)
BARE = ParsedProblem(
    intros=(),
    answer_type="ℕ",
    outros=(Variable("h_answer", "answer = 2"),),
    formal_answer="@Eq Nat answer 2",
)


def test_forward_reasoning_statement() -> None:
    assert forward_reasoning_statement(FULL) == (
        "example (x : ℝ) [Fact (0 < 1)]\n(answer : ℕ) \n"
        "(n : ℕ) (h₀ : n = 2) (h_answer : answer = n)\n: False := sorry"
    )
    assert forward_reasoning_statement(BARE) == (
        "example \n(answer : ℕ) \n(h_answer : answer = 2)\n: False := sorry"
    )


def test_solving_statement() -> None:
    assert solving_statement(FULL) == (
        "example : ∀ (x : ℝ) [Fact (0 < 1)],\n∀ (answer : ℕ), ∃ (h_submission : Prop), "
        "\n∀ (n : ℕ) (h₀ : n = 2),\n((answer = n) ↔ h_submission)\n:= sorry"
    )
    assert solving_statement(BARE) == (
        "example :\n∀ (answer : ℕ), ∃ (h_submission : Prop), "
        "\n((answer = 2) ↔ h_submission)\n:= sorry"
    )


def test_forward_solving_statement() -> None:
    assert forward_solving_statement(FULL) == (
        "example :\n∀ (x : ℝ) [Fact (0 < 1)],\n∀ (answer : ℕ), ∃ (h_submission : Prop), \n"
        "∀ (n : ℕ) (h₀ : n = 2) (h_answer : answer = n),\n(h_submission)\n:= sorry"
    )
    assert forward_solving_statement(BARE) == (
        "example :\n∀ (answer : ℕ), ∃ (h_submission : Prop), \n"
        "∀ (h_answer : answer = 2),\n(h_submission)\n:= sorry"
    )


def test_rpe_and_backward_statements() -> None:
    assert rpe_statement(FULL, "answer = 1 + 1") == (
        "example (x : ℝ) [Fact (0 < 1)]\n (answer : ℕ) : (\nanswer = 1 + 1\n) ↔ (\n"
        "@Eq Nat answer 2\n) := sorry\n"
    )
    assert rpe_statement(BARE, "answer = 2") == (
        "example\n (answer : ℕ) : (\nanswer = 2\n) ↔ (\n@Eq Nat answer 2\n) := sorry\n"
    )
    assert backward_statement(FULL) == (
        "example : ∀ (x : ℝ) [Fact (0 < 1)] (answer : ℕ) (h_submission: @Eq Nat answer 2) "
        "(n : ℕ) (h₀ : n = 2) , (answer = n)\n:= sorry\n"
    )


def test_rpe_needs_a_formal_answer() -> None:
    unsupervised = ParsedProblem((), "ℕ", BARE.outros, None)
    with pytest.raises(InvalidRequest, match="unsupervised"):
        rpe_statement(unsupervised, "answer = 2")


def test_tactic_names() -> None:
    assert intro_names(FULL) == ("x", "_")
    assert outro_names(FULL) == ("n", "h₀", "h_answer")
    assert intros_tactic(outro_names(FULL)[:-1]) == "intros n h₀"
    assert intros_tactic(intro_names(BARE)) is None


FORWARD_GOAL = Goal(
    (Variable("answer", "ℕ"), Variable("a", "ℝ"), Variable("b", "ℝ"), Variable("h", "a = b")),
    "False",
)


def test_solution_state_text() -> None:
    assert solution_state_text(FORWARD_GOAL) == ("case h.mp\nanswer : ℕ\na b : ℝ\nh : a = b\n⊢ ?w")
    with pytest.raises(InvalidRequest):
        solution_state_text(Goal((), "True"))


def test_initial_solution_state_text_rewrites_case_line() -> None:
    goal = Goal((Variable("answer", "ℕ"),), "?w", name="h")
    assert initial_solution_state_text(goal) == "case h.mp\nanswer : ℕ\n⊢ ?w"
