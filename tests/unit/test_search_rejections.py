"""The step searches record every sampled candidate they did not accept, with its reason.

Scripted runs against the in-process ScriptedVerifier (tests/fakes.py, through the harness of
tests/unit/test_search_algorithms.py) whose ``Attempt.rejected`` lists are asserted exactly,
and the collector's bounds (``search/submission.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harcopa import domain as d
from harcopa_orchestrator.search.submission import (
    MAX_REJECTED,
    MAX_REJECTED_CHARS,
    AttemptDraft,
)
from tests.fakes import ScriptedGenerator, StepRule, answer_seven_verifier
from tests.unit.test_search_algorithms import DRAFT, SUBMIT, _run

STOP, LENGTH = d.FinishReason.STOP, d.FinishReason.LENGTH
STEP = "have h₁ : answer = 7 := by norm_num [h_answer]"
SAME_STATE = "have h₁ : answer = 7 := by omega"  # another proof of the same hypothesis
WRONG = "have h₂ : answer = 8 := by decide"


@dataclass
class Batches:
    """A Generator handing out one scripted batch of (text, finish reason) per call, in order."""

    batches: Sequence[Sequence[tuple[str, d.FinishReason]]]
    calls: int = 0
    shown: list[str] = field(default_factory=list)

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: d.Prompt, params: d.SamplingParams) -> d.Generation:
        batch = self.batches[min(self.calls, len(self.batches) - 1)]
        self.calls += 1
        assert len(batch) == params.n, f"call {self.calls} asks for {params.n} samples"
        completions = tuple(d.Completion(t, r, (-0.5,) * 4, 4) for t, r in batch)
        return d.Generation(completions, d.TokenUsage(10, 4 * params.n))


def _steps() -> list[tuple[str, StepRule]]:
    adds = StepRule((), ("h₁", "answer = 7"))
    return [
        (r"^have h₁ : answer = 7 := by (norm_num \[h_answer\]|omega)$", adds),
        (r"^have h₂", StepRule(reject="type mismatch\n  h₂ : answer = 8")),
        (r"^have h₁ : answer = 7 := sorry$", StepRule(("answer = 7",), ("h₁", "answer = 7"))),
    ]


async def test_ar_records_each_unusable_sample_and_lean_rejection_in_order() -> None:
    solver = Batches(
        [
            [(STEP, LENGTH)],  # trial 1
            [("```lean4\n```", STOP)],
            [(WRONG, STOP)],
            [("have h₃ : answer = 7 := by apply?", STOP)],  # trial 2
            [(DRAFT, STOP)],
            [("exact h_answer -- submit", STOP)],  # trial 3: ends the rollout
        ]
    )
    result, _ = await _run(
        d.Pipeline.AR, answer_seven_verifier(steps=_steps()), solver, ks=3, solver_samples=3
    )
    (attempt,) = result.attempts
    assert attempt.outcome is d.AttemptOutcome.INVALID_SUBMISSION
    assert [(r.text, r.reason) for r in attempt.rejected] == [
        (STEP, "cut at the token limit"),
        ("```lean4\n```", "empty: the completion holds no code"),
        (WRONG, "Lean rejected it: type mismatch h₂ : answer = 8"),
        ("have h₃ : answer = 7 := by apply?", "banned token `apply?`"),
        (DRAFT, "the step left 1 gap (a flat pipeline accepts none)"),
        (
            "exact h_answer -- submit",
            "invalid submission: Lean rejected it: the submission does not type-check",
        ),
    ]
    assert all(r.prompt_state.endswith("⊢ ?w") for r in attempt.rejected)
    assert attempt.detail.startswith("the submission did not validate: Lean rejected it")


async def test_har_records_a_gap_that_could_not_be_proven_and_a_malformed_submission() -> None:
    two_lines = "exact h₁ -- submit\nexact h₁ -- submit"
    solver = ScriptedGenerator([(r"h₁ : answer = 7", [two_lines, SUBMIT]), (r"⊢ \?w", [DRAFT])])
    prover = ScriptedGenerator([(r"⊢ answer = 7", ["simp", "norm_num [h_answer]"])])
    result, _ = await _run(
        d.Pipeline.HAR,
        answer_seven_verifier(),
        solver,
        prover,
        prover_samples=1,
        prover_expansions=1,
        solver_samples=1,
    )
    assert [a.outcome for a in result.attempts] == [d.AttemptOutcome.SOLVED]
    (attempt,) = result.attempts
    assert [(r.text, r.reason) for r in attempt.rejected] == [
        (DRAFT, "a gap could not be proven"),  # `simp` fails; the next draft's gap closes
        (
            two_lines,
            "malformed submission: a submission step must be a single line, got 2 lines",
        ),
    ]


async def test_bfs_records_duplicates_banned_explored_states_and_the_rest_after_a_submission() -> (
    None
):
    solver = Batches(
        [
            [
                (STEP, STOP),
                (f"-- again\n{STEP}", STOP),  # the same step once normalised
                ("exact (sorry : answer = 7) -- submit", STOP),  # strict: no sorry submitted
                (SAME_STATE, STOP),
            ],
            [
                ("exact h_answer -- submit", STOP),  # does not validate
                (SUBMIT, STOP),
                (WRONG, STOP),
                (WRONG, LENGTH),
            ],
        ]
    )
    verifier = answer_seven_verifier(steps=_steps())
    result, _ = await _run(d.Pipeline.BFS, verifier, solver, ks=20, solver_samples=4)
    (attempt,) = result.attempts
    assert attempt.solved and attempt.charged == 4  # the early exit charges no further
    assert [(r.text, r.reason) for r in attempt.rejected] == [
        (f"-- again\n{STEP}", "duplicate of an earlier candidate"),
        ("exact (sorry : answer = 7) -- submit", "banned token `sorry`"),
        (SAME_STATE, "a state already explored: an earlier step reached the same goal"),
        (WRONG, "cut at the token limit"),
        (
            "exact h_answer -- submit",
            "invalid submission: Lean rejected it: the submission does not type-check",
        ),
        (WRONG, "not considered: an earlier submission ended the search"),
    ]
    has_h1 = [r.prompt_state for r in attempt.rejected[3:]]
    assert all("h₁ : answer = 7" in state for state in has_h1)
    assert all("h₁" not in r.prompt_state for r in attempt.rejected[:3])


async def test_bfs_records_the_candidates_the_budget_left_unevaluated() -> None:
    solver = Batches([[(WRONG, STOP), (STEP, STOP), (SAME_STATE, STOP), (SUBMIT, STOP)]])
    result, _ = await _run(
        d.Pipeline.BFS, answer_seven_verifier(steps=_steps()), solver, ks=2, solver_samples=4
    )
    assert [(r.text, r.reason) for a in result.attempts for r in a.rejected] == [
        (SAME_STATE, "not evaluated: the K_S budget was spent"),
        (SUBMIT, "not evaluated: the K_S budget was spent"),
        (WRONG, "Lean rejected it: type mismatch h₂ : answer = 8"),
    ]


def test_the_collector_is_bounded_and_says_how_many_it_left_out() -> None:
    draft = AttemptDraft(0)
    for i in range(MAX_REJECTED + 3):
        draft.reject("x" * (MAX_REJECTED_CHARS + 10) if i == 0 else f"step {i}", "why", "⊢ False")
    attempt = draft.finish(d.AttemptOutcome.BUDGET_EXHAUSTED, d.SearchStats(), paper_budget=0)
    assert len(attempt.rejected) == MAX_REJECTED + 1
    first, last = attempt.rejected[0], attempt.rejected[-1]
    assert len(first.text) == MAX_REJECTED_CHARS and first.text.endswith("…")
    assert attempt.rejected[-2].text == f"step {MAX_REJECTED - 1}"
    assert last == d.RejectedCandidate("", "3 more rejected candidates not recorded (at most 512)")
