"""Tests of statement construction and binder recovery (harcopa.fps.statement)."""

import pytest

from harcopa.errors import InvalidRequest
from harcopa.fps import benchmark_statement, recover_binders


def test_benchmark_statement_template() -> None:
    statement = benchmark_statement("(answer : ℕ)\n  (h : answer = 2)", "-- c\nanswer = 2")
    assert statement == "example\n(answer : ℕ)\n  (h : answer = 2)\n: -- c\nanswer = 2\n:= sorry"


def test_groups_of_every_bracket_kind() -> None:
    statement = (
        "example {F : Type*} [Field F] ⦃n : ℕ⦄ (answer m : ℕ) [inst : Fintype F]\n"
        "  (h : f (g x) = (1 : ℕ)) : answer = m := sorry"
    )
    recovered = recover_binders(statement)
    assert [(b.bracket, b.names, b.type) for b in recovered.binders] == [
        ("{", ("F",), "Type*"),
        ("[", (), "Field F"),
        ("⦃", ("n",), "ℕ"),
        ("(", ("answer", "m"), "ℕ"),
        ("[", ("inst",), "Fintype F"),
        ("(", ("h",), "f (g x) = (1 : ℕ)"),
    ]
    assert recovered.conclusion == "answer = m"
    assert recovered.anonymous_instance_types() == ["Field F"]


def test_comments_with_colons_and_brackets_are_ignored() -> None:
    statement = (
        "example\n(answer : ℝ) -- Find x: the (largest) root\n"
        "  /- note: [ignored] -/ (h_answer : answer = 2) -- eq: (\n"
        ": -- the answer is: 2\nanswer = 2\n:= sorry"
    )
    recovered = recover_binders(statement)
    assert [b.text for b in recovered.binders] == ["(answer : ℝ)", "(h_answer : answer = 2)"]
    assert recovered.conclusion == "answer = 2"


def test_theorem_head_and_by_sorry() -> None:
    recovered = recover_binders("theorem foo (x : ℕ) : x = x := by sorry")
    assert recovered.named_types() == {"x": "ℕ"}


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("lemma", "does not start"),
        ("def f (x : ℕ) : ℕ := sorry", "does not start"),
        ("example (x : ℕ : x = x := sorry", "unbalanced"),
        ("example (x : ℕ) x = x := sorry", "unexpected"),
        ("example (x : ℕ)", "no top-level"),
        ("example (x : ℕ) : x = x := rfl", ":= sorry"),
    ],
)
def test_malformed_statements_are_rejected(statement: str, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        recover_binders(statement)
