"""Unit tests of solution assembly (gap proofs inlined) and of the prover's goal bookkeeping."""

from __future__ import annotations

from harcopa.domain import FormalProblem, ParsedProblem, Variable
from harcopa_orchestrator.search.assembly import inline_gap_proofs, solving_file, statement_file
from harcopa_orchestrator.search.prover import _next_origins


def test_inline_replaces_sorries_in_order_outside_comments() -> None:
    step = "-- a sorry in a comment\nhave h₁ : a = 1 := sorry\nhave h₂ : b = 2 := sorry"
    out = inline_gap_proofs(step, [("norm_num",), ("simp", "ring")])
    assert out == (
        "-- a sorry in a comment\n"
        "have h₁ : a = 1 := by\n    norm_num\n"
        "have h₂ : b = 2 := by\n    simp\n    ring"
    )


def test_inline_parenthesises_a_sorry_inside_a_term() -> None:
    out = inline_gap_proofs("  exact foo sorry bar", [("rfl",)])
    assert out == "  exact foo (by\n      rfl) bar"


def test_inline_refuses_mismatched_counts() -> None:
    assert inline_gap_proofs("have h : p := sorry", []) is None
    assert inline_gap_proofs("have h : p := by simp", [("rfl",)]) is None
    assert inline_gap_proofs("/- sorry -/ have h : p := sorry", [("rfl",)]) is not None


def test_solving_file_builds_the_forward_solving_framework() -> None:
    parsed = ParsedProblem(
        intros=(Variable("x", "ℕ"),),
        answer_type="ℕ",
        outros=(Variable("h_answer", "answer = x + 1"),),
        formal_answer="answer = 3",
    )
    problem = FormalProblem("b", 0, "example : True := sorry")
    text = solving_file(problem, parsed, "have h : answer = 3 := by\n  simp\nexact h -- submit")
    assert text.startswith("open BigOperators Real Nat Topology\n\nexample :\n∀ (x : ℕ),\n")
    assert text.endswith(
        ":= by\n  intros x\n  intros answer\n  apply Exists.intro\n  intros h_answer\n"
        "  have h : answer = 3 := by\n    simp\n  exact h -- submit\n"
    )
    assert "sorry" not in text


def test_statement_file_replaces_the_trailing_sorry() -> None:
    problem = FormalProblem("b", 0, "example (answer : ℕ) (h : answer = 2) : answer = 2\n:= sorry")
    assert statement_file(problem, "exact h") == (
        "open BigOperators Real Nat Topology\n\n"
        "example (answer : ℕ) (h : answer = 2) : answer = 2\n:= by\n  exact h\n"
    )


def test_goal_origins_follow_automatic_mode_ordering() -> None:
    # Two gaps (0, 1); a tactic on gap 1 splits it in two: new goals first, then gap 0.
    assert _next_origins((0, 1), 1, 3) == (1, 1, 0)
    # Closing the first of them leaves the other and gap 0.
    assert _next_origins((1, 1, 0), 0, 2) == (1, 0)
    # A tactic that closes a goal outright.
    assert _next_origins((1, 0), 1, 1) == (1,)
