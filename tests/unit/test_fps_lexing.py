"""Tests of Lean comment removal, identifier scanning and normalisation (harcopa.fps.lexing)."""

from harcopa.fps.lexing import (
    identifiers,
    normalize,
    remove_block_comments,
    remove_comments,
    remove_line_comments,
)


def test_line_and_block_comments_removed() -> None:
    text = "(x : ℕ) -- a: comment\n/- block : with colon -/(h : x = 1)"
    assert remove_comments(text) == "(x : ℕ) \n(h : x = 1)"


def test_nested_block_comment() -> None:
    assert remove_comments("a /- x /- y -/ z -/ b") == "a  b"


def test_block_comment_between_tokens_becomes_space() -> None:
    assert remove_comments("a/- c -/b") == "a b"


def test_dashes_inside_string_and_escaped_identifier_are_kept() -> None:
    text = 'f "a--b" «x--y» -- gone'
    assert remove_comments(text) == 'f "a--b" «x--y» '


def test_char_literal_quote_does_not_open_a_string() -> None:
    text = "c = '\"' -- gone\nx' = 1"
    assert remove_comments(text) == "c = '\"' \nx' = 1"


def test_line_only_and_block_only() -> None:
    text = "a -- l\n/- b -- inside -/ c"
    assert remove_line_comments(text) == "a \n/- b -- inside -/ c"
    assert remove_block_comments(text) == "a -- l\n c"


def test_normalize_collapses_whitespace_after_comment_removal() -> None:
    assert normalize("  have h :\n   x = 1 := by simp -- why\n") == "have h : x = 1 := by simp"


def test_identifiers_cover_lean_grammar() -> None:
    text = 'inst✝¹ h₀ Real.sqrt «my x» apply? x\' αβ λ 2y "answer" Π'
    assert identifiers(text) == ["inst✝¹", "h₀", "Real.sqrt", "«my x»", "apply?", "x'", "αβ", "y"]


def test_identifiers_of_explicit_print() -> None:
    text = "@Eq Nat answer (@OfNat.ofNat Nat (nat_lit 16) (instOfNatNat (nat_lit 16)))"
    assert identifiers(text) == [
        "Eq", "Nat", "answer", "OfNat.ofNat", "Nat", "nat_lit", "instOfNatNat", "nat_lit",
    ]  # fmt: skip
