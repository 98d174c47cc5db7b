"""The Lean-free filters of autoformalized statements (harcopa.fps.screen_statement): each filter
fires on its own defect, and an accepted statement comes out in the canonical shape."""

from __future__ import annotations

import pytest

from harcopa.fps import STATEMENT_FILTERS, screen_statement

VALID = "example (answer : ℕ)\n  (h_answer : answer = 3 + 4) -- 3 + 4\n: answer = 7 := sorry"


def block(text: str) -> str:
    return f"Here is the statement.\n```lean4\n{text}\n```\n"


def test_a_valid_statement_is_canonical() -> None:
    screened = screen_statement(block(VALID))
    assert screened.passed and screened.filter == ""
    assert screened.statement == (
        "example (answer : ℕ)\n  (h_answer : answer = 3 + 4) -- 3 + 4\n: answer = 7\n:= sorry"
    )
    again = screen_statement(block(screened.statement or ""))
    assert again.statement == screened.statement  # canonical is a fixed point


A = "example (answer : ℕ)"
H = "(h : answer = 3 + 4)"
CASES = [
    (block(f"{A} : answer = 7 := sorry") + block("x"), "no_single_block", ""),
    ("no code at all", "no_single_block", "no single code block"),
    (block(f"theorem t {A} {H} : answer = 7 := sorry"), "shape", "`example`"),
    (block(f"{A} {H} : answer = 7 := by sorry"), "shape", ":= sorry"),
    (block(f"{A} {H} answer = 7 := sorry"), "shape", "unexpected"),
    (block(f"{VALID}\n{A} {H} : answer = 8 := sorry"), "shape", "several"),
    (block('example (answer : String) (h : answer = "7") : answer = "7" := sorry'), "string_", ""),
    (block(f"{A} (h : answer = (by admit : ℕ)) : answer = 7 := sorry"), "banned_token", "'admit'"),
    (block(f"{A} (h : answer = (sorry : ℕ)) : answer = 7 := sorry"), "banned_token", "'sorry'"),
    (block("example (x : ℕ) (h : x = 3 + 4) : x = 7 := sorry"), "no_answer", "binder"),
    (block(f"{A} {H} : 7 = 7 := sorry"), "no_answer", "conclusion"),
]


@pytest.mark.parametrize(("completion", "filter_name", "reason"), CASES)
def test_each_filter_fires_on_its_defect(completion: str, filter_name: str, reason: str) -> None:
    screened = screen_statement(completion)
    assert not screened.passed and screened.statement is None
    assert screened.filter.startswith(filter_name) and screened.filter in STATEMENT_FILTERS
    assert reason in screened.reason


def test_a_truncated_completion_is_rejected_before_parsing() -> None:
    assert screen_statement(block(VALID), truncated=True).filter == "truncated"


def test_banned_words_in_comments_and_names_are_fine() -> None:
    text = f"{A} -- no sorry here, stop\n  (h_stopping : answer = 2) : answer = 2 := sorry"
    assert screen_statement(block(text)).passed
