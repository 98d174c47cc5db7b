"""Tests of FPS problem parsing from Lean goals and from source text (harcopa.fps.parse)."""

import pytest

from harcopa.domain import Goal, Variable
from harcopa.errors import InvalidRequest
from harcopa.fps import parse_fps, parse_fps_from_source

EXPLICIT = "@Eq Nat answer (@OfNat.ofNat Nat (nat_lit 16) (instOfNatNat (nat_lit 16)))"


def _goal(*variables: tuple[str, str], target: str = "answer = 16") -> Goal:
    return Goal(tuple(Variable(name, type_) for name, type_ in variables), target)


def test_instance_hypotheses_take_source_types_in_order() -> None:
    statement = (
        "example (G : Type*) [Group G] [Fintype G] (answer : ℕ)\n"
        "  (h_answer : answer = Fintype.card G) : answer = 16 := sorry"
    )
    goal = _goal(
        ("G", "Type u_1"),
        ("inst✝¹", "Group G"),
        ("inst✝", "Fintype G"),
        ("answer", "ℕ"),
        ("h_answer", "answer = Fintype.card G"),
    )
    parsed = parse_fps(statement, goal, EXPLICIT)
    assert parsed.intros == (
        Variable("G", "Type*"),
        Variable(None, "Group G"),
        Variable(None, "Fintype G"),
    )
    assert parsed.answer_type == "ℕ"
    assert parsed.outros == (Variable("h_answer", "answer = Fintype.card G"),)
    assert parsed.formal_answer == EXPLICIT
    assert parsed.warnings == ()


def test_pretty_printed_type_used_for_auto_bound_variables() -> None:
    statement = "example (answer : ℕ) (h : n * 10 ^ answer = 5) : answer = 16 := sorry"
    goal = _goal(("n", "ℕ"), ("answer", "ℕ"), ("h", "n * 10 ^ answer = 5"))
    parsed = parse_fps(statement, goal, EXPLICIT)
    assert parsed.intros == (Variable("n", "ℕ"),)


def test_variables_named_in_the_answer_move_to_intros() -> None:
    statement = (
        "example (answer : ℝ → ℝ) (x y : ℝ) (h₀ : ∀ x, answer x = x ^ 2) : "
        "answer x = x ^ 2 := sorry"
    )
    goal = _goal(
        ("answer", "ℝ → ℝ"),
        ("x", "ℝ"),
        ("y", "ℝ"),
        ("h₀", "∀ (x : ℝ), answer x = x ^ 2"),
        target="answer x = x ^ 2",
    )
    explicit = "@Eq Real (answer x) (@HPow.hPow Real Nat Real instHPow x 2)"
    parsed = parse_fps(statement, goal, explicit)
    assert [v.name for v in parsed.intros] == ["x"]
    assert [v.name for v in parsed.outros] == ["y", "h₀"]
    assert parsed.outros[1].type == "∀ x, answer x = x ^ 2"  # source text preferred


def test_string_answer_type_is_rejected() -> None:
    statement = 'example (answer : String) (h : answer = "a") : answer = "a" := sorry'
    goal = _goal(("answer", "String"), ("h", "answer = x"), target="answer = x")
    with pytest.raises(InvalidRequest, match="String"):
        parse_fps(statement, goal, "@Eq String answer x")


def test_no_outro_is_rejected() -> None:
    goal = _goal(("answer", "ℕ"))
    with pytest.raises(InvalidRequest, match="no hypothesis after `answer`"):
        parse_fps("example (answer : ℕ) : answer = 16 := sorry", goal, EXPLICIT)


def test_no_answer_variable_is_rejected() -> None:
    goal = _goal(("x", "ℕ"), target="x = 16")
    with pytest.raises(InvalidRequest, match="no `answer` variable"):
        parse_fps("example (x : ℕ) : x = 16 := sorry", goal, "@Eq Nat x 16")


def test_unsupervised_when_conclusion_does_not_mention_answer() -> None:
    statement = "example (answer : ℕ) (h : answer = 2) : True := sorry"
    goal = _goal(("answer", "ℕ"), ("h", "answer = 2"), target="True")
    parsed = parse_fps(statement, goal, "True")
    assert parsed.formal_answer is None
    assert any("unsupervised" in w for w in parsed.warnings)


def test_answers_word_is_not_the_answer_identifier() -> None:
    statement = "example (answer : ℕ) (h : answer = 2) : answers = 2 := sorry"
    goal = _goal(("answers", "ℕ"), ("answer", "ℕ"), ("h", "answer = 2"), target="answers = 2")
    assert parse_fps(statement, goal, "@Eq Nat answers 2").formal_answer is None


@pytest.mark.parametrize(
    ("variables", "explicit", "reason"),
    [
        ((("answer", "ℕ"), ("h_submission", "answer = 1")), EXPLICIT, "h_submission"),
        ((("answer", "ℕ"), ("h", "optParam ℕ 1 = answer")), EXPLICIT, "optParam"),
        ((("answer", "ℕ"), ("h", "answer = 1")), '@Eq String "a" answer', "banned token"),
        ((("answer", "ℕ"), ("x✝", "ℕ"), ("h", "answer = 1")), EXPLICIT, "inaccessible"),
        ((("answer", "ℕ"), ("answer", "ℕ"), ("h", "answer = 1")), EXPLICIT, "twice"),
    ],
)
def test_goal_level_rejections(
    variables: tuple[tuple[str, str], ...], explicit: str, reason: str
) -> None:
    statement = "example (answer : ℕ) (h : answer = 1) : answer = 16 := sorry"
    with pytest.raises(InvalidRequest, match=reason):
        parse_fps(statement, _goal(*variables), explicit)


def test_anonymous_last_outro_is_rejected() -> None:
    statement = "example (answer : ℕ) [Fact (answer = 2)] : answer = 2 := sorry"
    goal = _goal(("answer", "ℕ"), ("inst✝", "Fact (answer = 2)"), target="answer = 2")
    with pytest.raises(InvalidRequest, match="anonymous"):
        parse_fps(statement, goal, "@Eq Nat answer 2")


def test_let_bound_context_variable_is_rejected() -> None:
    goal = Goal((Variable("answer", "ℕ"), Variable("h", "ℕ", "1")), "answer = 16")
    with pytest.raises(InvalidRequest, match="let-bound"):
        parse_fps("example (answer : ℕ) (h : ℕ) : answer = 16 := sorry", goal, EXPLICIT)


def test_dependency_of_moved_intro_on_outro_is_warned() -> None:
    statement = "example (answer : ℕ) (S : Finset ℕ) (x : S) (h : answer = 1) : answer = x := sorry"
    goal = _goal(("answer", "ℕ"), ("S", "Finset ℕ"), ("x", "S"), ("h", "answer = 1"))
    parsed = parse_fps(statement, goal, "@Eq Nat answer x")
    assert [v.name for v in parsed.intros] == ["x"]
    assert parsed.warnings == ("intro `x` depends on hypotheses after `answer`: S",)


def test_source_parse_multi_name_binders() -> None:
    statement = (
        "example\n(x y z : ℝ)\n  (answer m n : ℕ)\n  (h₀ : 0 < x) -- x: positive\n"
        "  (h_answer : m + n = answer)\n: -- the answer is 5\nanswer = 5\n:= sorry"
    )
    parsed = parse_fps_from_source(statement)
    assert [v.name for v in parsed.intros] == ["x", "y", "z"]
    assert parsed.answer_type == "ℕ"
    assert [v.name for v in parsed.outros] == ["m", "n", "h₀", "h_answer"]
    assert parsed.formal_answer == "answer = 5"


def test_source_parse_reports_misspelt_answer() -> None:
    statement = "example\n(asnwer : ℝ) (h_answer : answer = 2)\n: answer = 2\n:= sorry"
    with pytest.raises(InvalidRequest, match="`asnwer` looks like a misspelling"):
        parse_fps_from_source(statement)


def test_source_parse_rejects_untyped_binder() -> None:
    with pytest.raises(InvalidRequest, match="gives no type"):
        parse_fps_from_source("example {α} (answer : ℕ) (h : answer = 1) : answer = 1 := sorry")
