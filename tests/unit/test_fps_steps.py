"""Tests of completion parsing, banned tokens, submissions and draft splitting (fps.steps)."""

import pytest

from harcopa.errors import InvalidRequest
from harcopa.fps import (
    BANNED_TOKENS,
    collapse_by_sorry,
    extract_code,
    extract_single_block,
    find_banned,
    is_submission,
    replace_block,
    split_solution_steps,
    submission_line,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  have h : 1 = 1 := rfl  \n", "have h : 1 = 1 := rfl"),  # no fence: stripped
        ("have h : x := rfl\n```\ntrailing", "have h : x := rfl"),  # one fence
        ("intro\n```lean4\n a \n```\n```\nb\n```", "a"),  # first complete block
        ("```lean4 no newline```", "```lean4 no newline```"),  # two fences, no block
    ],
)
def test_extract_code(text: str, expected: str) -> None:
    assert extract_code(text) == expected


def test_extract_single_block() -> None:
    assert extract_single_block("draft\n```") == "draft"
    assert extract_single_block("x\n```lean4\n  a\n```\n") == "a"
    assert extract_single_block("```lean4\na\n```\n```\nb\n```") is None
    assert extract_single_block("no fence at all") is None


def test_banned_tokens_order() -> None:
    assert BANNED_TOKENS[0] == "sorry"
    assert len(BANNED_TOKENS) == 18
    assert BANNED_TOKENS[-1] == "Quot.lcInv"


@pytest.mark.parametrize(
    ("text", "paper", "strict"),
    [
        ("have h := hint_x", "hint", None),
        ("exact stopping_time_pos", "stop", None),
        ("hint", "hint", "hint"),
        ("  apply?\n", "apply?", "apply?"),
        ("apply h", None, None),
        ("exact Quot.lcInv x", "Quot.lcInv", "Quot.lcInv"),
        ("exact _root_.lcProof", "lcProof", "lcProof"),
        ("simp -- admit later", None, None),
        ("exact (sorry : False)", None, None),  # sorry allowed in these calls
    ],
)
def test_find_banned_policies(text: str, paper: str | None, strict: str | None) -> None:
    assert find_banned(text, allow_sorry=True, policy="paper") == paper
    assert find_banned(text, allow_sorry=True, policy="strict") == strict


def test_find_banned_sorry_and_strings() -> None:
    assert find_banned("have h : p := sorry", allow_sorry=False) == "sorry"
    assert find_banned('trace "hint"', allow_sorry=False, policy="strict") is None
    with pytest.raises(ValueError, match="policy"):
        find_banned("x", allow_sorry=False, policy="lenient")  # type: ignore[arg-type]


def test_submissions() -> None:
    assert is_submission("-- we are done\nexact h_answer -- submit\n\n")
    assert not is_submission("exact h_answer")
    assert not is_submission("have h : 1 = 1 := rfl -- submit")
    assert submission_line("-- done\n  exact h_answer -- submit") == "exact h_answer"


def test_multi_line_submission_is_rejected_not_asserted() -> None:
    with pytest.raises(InvalidRequest, match="single line"):
        submission_line("have h2 : a = 1 := by simp\nexact h2 -- submit")
    with pytest.raises(InvalidRequest, match="not a submission"):
        submission_line("simp")


def test_collapse_and_replace_block() -> None:
    assert collapse_by_sorry("have h : p := by  sorry") == "have h : p := sorry"
    draft = "have h : a := by {\n  simp { x }\n}\nhave g : b := by {\n  ring }\nexact h"
    assert replace_block(draft) == "have h : a := sorry\nhave g : b := sorry\nexact h"


DRAFT = """-- Step 1: compute
-- in two lines
have h1 : x = 1 := by
  simp
  -- inner comment

have h2 : y = 2 := by sorry
nlinarith [h1]
/- a block comment -/
have h3 : z = 3 := by calc
    z = 3 := rfl
-- final
exact h2 -- submit
"""


def test_split_solution_steps() -> None:
    assert split_solution_steps(DRAFT) == [
        "-- Step 1: compute\n-- in two lines\nhave h1 : x = 1 := by\n  simp\n  -- inner comment\n",
        "have h2 : y = 2 := sorry",
        "nlinarith [h1]\n",
        "have h3 : z = 3 := calc\n    z = 3 := rfl",
        "-- final\nexact h2 -- submit",
    ]


def test_split_solution_steps_edge_cases() -> None:
    assert split_solution_steps("-- only comments\n/- and a block -/") == []
    assert split_solution_steps("exact h -- submit\n  extra") == ["exact h -- submit\n  extra"]
    assert split_solution_steps("simp\n-- trailing note") == ["simp", "-- trailing note"]
