"""The scripted workload of ``benchmarks/reference_compare.py``: problems, lean-sim rules and, per
pipeline, the model simulator's script and the budgets both systems run with.

Every script answers by prompt (the k-th call with one prompt gets the k-th entry), so two
systems that send the same requests in the same order get the same answers. The scripts
exercise the paper-mode behaviours of docs/paper-mode.md: a trial whose samples are all unusable
(1), NALP priorities from the scripted log-probabilities (2), a slow valid tactic (3, when
``slow_seconds`` is set), a no-op tactic the prover meets again (4), banned tokens in whole drafts
(5), a statement our FPS parse rejects given to H-SA (6), a multi-line submission and a step
that leaves no ``False`` continuation (7), a
completion without a code block, which the reference's try raises on (8), temperature 0 (9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: formal_math500-shaped records (official-impl §1.4); the last one has no hypothesis after
#: ``answer``, which harcopa's FPS parse rejects and H-SA never parses.
PROBLEMS: list[dict[str, Any]] = [
    {
        "informal_problem": "What is 3 + 4?",
        "informal_answer": "7",
        "informal_solution": "Adding 3 and 4 gives 7.",
        "header": None,
        "formal_problem": "(answer : ℕ)\n  (h_answer : answer = 3 + 4) -- the sum",
        "formal_answer": "answer = 7",
        "level": "Level 1",
        "subject": "Prealgebra",
        "annotator": ["scripted"],
    },
    {
        "informal_problem": "What is 2 times 5?",
        "informal_answer": "10",
        "informal_solution": "Two fives make 10.",
        "header": None,
        "formal_problem": "(answer : ℕ)\n  (h_answer : answer = 2 * 5)",
        "formal_answer": "answer = 10",
        "level": "Level 1",
        "subject": "Prealgebra",
        "annotator": ["scripted"],
    },
    {
        "informal_problem": "Which number is seven?",
        "informal_answer": "7",
        "informal_solution": "Seven is 7.",
        "header": None,
        "formal_problem": "(answer : ℕ)",
        "formal_answer": "answer = 7",
        "level": "Level 1",
        "subject": "Prealgebra",
        "annotator": ["scripted"],
    },
]

# Solution states as the prompts show them (the regexes of the rules below).
ROOT_A = r"h_answer : answer = 3 \+ 4\n⊢ \?w"
ROOT_B = r"h_answer : answer = 2 \* 5\n⊢ \?w"
AFTER_A = r"h₁ : answer = 7\n⊢ \?w"
AFTER_B = r"h₁ : answer = 10\n⊢ \?w"
AFTER_WRONG = r"h₉ : answer > 0\n⊢ \?w"
GAP_A = r"h_answer : answer = 3 \+ 4\n⊢ answer = 7\n```"
GAP_SEVEN = r"\nanswer : ℕ\n⊢ answer = 7\n```"
BACKWARD = r"h_submission"

STEP_A = "-- 3 + 4 is 7\nhave h₁ : answer = 7 := by norm_num [h_answer]"
STEP_B = "have h₁ : answer = 10 := by norm_num [h_answer]"
DRAFT_A = "-- 3 + 4 is 7\nhave h₁ : answer = 7 := sorry"
DRAFT_SEVEN = "have h₁ : answer = 7 := sorry"
WRONG = "have h₉ : answer > 0 := by norm_num [h_answer]"
SUBMIT = "exact h₁ -- submit"
SUBMIT_WRONG = "exact h₉ -- submit"
MULTI_LINE = "have h₂ : True := trivial\nexact h_answer -- submit"
SLOW_TACTIC = "nlinarith [h_answer]"
RETARGET = "-- aim at the answer instead\nretarget"


SEVEN = "answer = 7"


def lean_scenario(slow_seconds: float) -> dict[str, Any]:
    """lean-sim rules beyond its built-ins: ``retarget`` turns ``False`` into ``answer = 7`` (a
    step ending with it leaves no ``False`` continuation), a no-op ``skip``, a closer for the
    bare ``answer = 7`` goal, and a valid tactic that takes ``slow_seconds``."""
    rules: list[dict[str, Any]] = [
        {"goal": "^False$", "tactic": "^retarget$", "result": {"goals": [{"target": SEVEN}]}},
        {"goal": "^answer = 7$", "tactic": "^skip$", "result": {"goals": [{"target": SEVEN}]}},
        {"goal": "^answer = 7$", "tactic": "^decide_answer$", "result": "close"},
        {"goal": "^answer = 7$", "tactic": r"^nlinarith \[h_answer\]$", "result": "close"},
    ]  # fmt: skip
    if slow_seconds > 0:
        rules[-1]["delay_seconds"] = slow_seconds
    return {"rules": rules}


def _rule(match: str, *responses: list[Any]) -> dict[str, Any]:
    """The k-th call whose prompt matches gets ``responses[k]`` (the last one afterwards)."""
    return {"match": match, "responses": list(responses), "after": "last"}


def _text(text: str, nll: float = 0.5) -> dict[str, Any]:
    return {"text": text, "nll": nll}


def _block(body: str) -> str:
    return f"Here is the solution.\n```lean4\n{body}\n```"


@dataclass(frozen=True)
class Workload:
    """One pipeline's model script, budgets and the problems it runs on (their positions)."""

    pipeline: str
    rules: list[dict[str, Any]]
    problems: tuple[int, ...] = (0, 1)
    ks: int = 16
    solver_samples: int = 2
    prover_expansions: int = 4
    prover_samples: int = 2
    kw: int = 3
    exercises: tuple[str, ...] = field(default=())

    def scenario(self) -> dict[str, Any]:
        return {"name": f"reference-compare-{self.pipeline}", "rules": self.rules, "default": ""}


def _prover(slow: bool) -> list[dict[str, Any]]:
    """Prover rules: the gap first meets a no-op (item 4), then its proof (the slow one with
    ``slow``; a later search gets a fast one); the backward goal finds nothing."""
    closer = SLOW_TACTIC if slow else "norm_num [h_answer]"
    proof = [_text(closer), _text("bad")]
    fast = [_text("norm_num [h_answer]"), _text("bad")]
    return [
        _rule(GAP_A, [_text("skip", 0.1), _text("bad_tactic", 0.9)], proof, fast),
        _rule(GAP_SEVEN, [_text("decide_answer")]),
        _rule(BACKWARD, [_text("bad_tactic")]),
    ]  # fmt: skip


def workloads(slow_seconds: float = 0.0) -> list[Workload]:
    """The seven pipelines' workloads."""
    slow = slow_seconds > 0
    unusable = [_text("admit")], [_text("apply? -- search")]
    return [
        Workload("ar", [
            _rule(AFTER_A, [_text(SUBMIT)]),
            _rule(AFTER_WRONG, [_text(SUBMIT_WRONG)]),
            _rule(
                ROOT_A,
                *unusable,
                [_text(MULTI_LINE)],
                [_text(RETARGET)],
                [_text(WRONG)],
                [_text(STEP_A)],
            ),
            _rule(AFTER_B, [_text(SUBMIT)]),
            _rule(ROOT_B, [_text(STEP_B)]),
        ], exercises=("1", "7", "9")),
        Workload("har", [
            _rule(AFTER_A, [_text(SUBMIT)]),
            _rule(ROOT_A, *unusable, [_text(DRAFT_A)]),
            _rule(AFTER_B, [_text(SUBMIT)]),
            _rule(ROOT_B, [_text(STEP_B)]),
            *_prover(slow),
        ], exercises=("1", "3", "4", "9") if slow else ("1", "4", "9")),
        Workload("bfs", [
            _rule(AFTER_A, [_text(SUBMIT)] * 3),
            _rule(AFTER_WRONG, [_text(SUBMIT_WRONG)] * 3),
            _rule(
                ROOT_A,
                [_text(STEP_A, 0.5), _text(WRONG, 0.1), _text(MULTI_LINE)],
                [_text(STEP_A, 0.5), _text(WRONG, 0.1), _text("nope")],
                [_text(STEP_A, 0.5), _text("nope"), _text("nope again")],
            ),
            _rule(AFTER_B, [_text(SUBMIT)] * 3),
            _rule(ROOT_B, [_text(STEP_B)] * 3),
        ], solver_samples=3, exercises=("2", "7", "9")),
        Workload("h_bfs", [
            _rule(AFTER_A, [_text(SUBMIT)] * 3),
            _rule(ROOT_A, [_text(DRAFT_A, 0.3), _text("nope"), _text("nope again")]),
            _rule(AFTER_B, [_text(SUBMIT)] * 3),
            _rule(ROOT_B, [_text(STEP_B)] * 3),
            *_prover(False),
        ], solver_samples=3, exercises=("2", "4", "9")),
        Workload("wg", [
            _rule(r"answer = 3 \+ 4\n⊢ \?w", [_text("The answer is 7.")], [_text(_block(
                "have h₁ : answer = 7 := by rw_search\nexact h₁ -- submit"))]),
            _rule(r"answer = 2 \* 5\n⊢ \?w", [_text(_block(f"{STEP_B}\n{SUBMIT}"))]),
        ], exercises=("5", "8", "9")),
        Workload("h_wg", [
            _rule(r"answer = 3 \+ 4\n⊢ \?w", [_text(_block(
                f"{DRAFT_A}\nhave h₂ : answer = 7 := by rw_search\n{SUBMIT}"))]),
            _rule(r"answer = 2 \* 5\n⊢ \?w", [_text("no block")], [_text(_block(
                f"{STEP_B}\n{SUBMIT}"))]),
            *_prover(False),
        ], exercises=("4", "5", "8", "9")),
        Workload("h_sa", [
            _rule(r"Which number is seven", [_text(_block(f"{DRAFT_SEVEN}\n{SUBMIT}"))]),
            _rule(r"What is 3 \+ 4", [_text("no block")], [_text(_block(f"{DRAFT_A}\n{SUBMIT}"))]),
            *_prover(False),
        ], problems=(0, 2), kw=2, exercises=("5", "6", "9")),
    ]  # fmt: skip
