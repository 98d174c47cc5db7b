"""The CoPA pipeline through the real VerifierService (lean-sim) and scripted models behind a real
ModelService: statement filters (each one, then Lean's verdict), first valid statement wins,
drafts rejected by the typecheck and the forward-only check, gaps proven or not, an
infrastructure failure recorded as an error (never as a rejected statement), and resume from
the statement a stored attempt holds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from harcopa.domain import (
    Attempt,
    AttemptOutcome,
    FinishReason,
    FormalProblem,
    Generation,
    Pipeline,
    ProblemStatus,
    Prompt,
    SamplingParams,
)
from harcopa.errors import BackendCrashed
from tests.service.pipelines_harness import (
    Harness,
    ScriptedGeneratorSimulator,
    scenario_verifier,
    scripted,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCENARIO = {
    "rules": [
        {"goal": "^answer = 7$", "tactic": r"^norm_num \[h_answer\]$", "result": "close"},
        # `rw` works on the statement's goal only: a draft using it is not forward-only.
        {
            "goal": "^answer = 7$",
            "tactic": r"^rw \[h_answer\]$",
            "result": {"goals": [{"target": "3 + 4 = 7"}]},
        },
    ],
    "faults": {"crash_on_tactic": "crash_now"},  # any request whose text says so kills the REPL
}

STATEMENT_PROMPT = r"Name the answer with the variable"  # P6 (statement autoformalization)
DRAFT_PROMPT = r"# Formal Statement"  # P5 (solution drafting)
STATEMENT = "example (answer : ℕ) (h_answer : answer = 3 + 4) -- what is 3 + 4?\n: answer = 7"
ACCEPTED = STATEMENT + "\n:= sorry"
DRAFT = "-- 3 + 4 = 7\nhave h₁ : answer = 7 := by sorry\nexact h₁ -- submit"


def fenced(text: str) -> str:
    return f"```lean4\n{text}\n```"


VALID = fenced(STATEMENT + " := sorry")
#: One candidate per filter, in STATEMENT_FILTERS order, each failing only that filter.
INVALID: list[str | tuple[str, FinishReason]] = [
    (VALID, FinishReason.LENGTH),  # truncated
    "example (answer : ℕ) (h_answer : answer = 3 + 4) : answer = 7 := sorry",  # no block
    fenced("example (answer : ℕ) (h_answer : answer = 3 + 4) : answer = 7 := by sorry"),  # shape
    fenced('example (answer : ℕ) (h : answer = "7".length) : answer = 7 := sorry'),  # string
    fenced("example (answer : ℕ) (h : answer = (by admit)) : answer = 7 := sorry"),  # banned
    fenced("example (x : ℕ) (h_x : x = 3 + 4) : x = 7 := sorry"),  # no answer
    fenced("example (answer : ℕ) : answer = 7 := sorry"),  # Lean: no hypothesis after answer
]


def problem(informal: str, index: int = 0) -> FormalProblem:
    """A corpus problem: informal fields only (``informal`` keys the scripts)."""
    return FormalProblem("corpus", index, "", informal, "7", "3 + 4 = 7.")


def prover() -> ScriptedGeneratorSimulator:
    return scripted((r"⊢ answer = 7", ["exact h_wrong", "norm_num [h_answer]"]))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def copa_verifier(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[object]:
    folder = tmp_path_factory.mktemp("lean-sim")
    async with scenario_verifier(folder, SCENARIO, pool_size=4) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def harness(copa_verifier: object) -> AsyncIterator[Harness]:
    harness = Harness(copa_verifier)  # type: ignore[arg-type]
    yield harness
    await harness.stop()


async def test_first_valid_statement_wins_then_its_draft_is_proven(harness: Harness) -> None:
    lean_syntax = fenced("example (answer : ℕ) (h_answer : answer = 3) : (answer = 7 := sorry")
    solver = scripted(
        (DRAFT_PROMPT, [fenced(DRAFT)]),
        (STATEMENT_PROMPT, [*INVALID, lean_syntax, VALID, "never sampled"]),
    )
    scheduler, ctx = harness.context(solver, prover(), kw=9)
    result = await scheduler.run_problem(Pipeline.COPA, problem("first valid"), ctx)
    assert result.solved and result.pipeline == "copa"
    (attempt,) = result.attempts
    assert attempt.prompt_state == ACCEPTED  # the accepted statement, canonical
    assert attempt.draft == DRAFT.replace("by sorry", "sorry")
    assert [t.tactic for t in attempt.gap_proof] == ["norm_num [h_answer]"]
    assert attempt.final_check_ok is True and attempt.charged == 1
    statements = [c for c in solver.calls if "Name the answer" in c]
    assert len(statements) == 9 and "# Formal Statement" not in statements[0]
    assert solver.calls[-1].count(f"{STATEMENT}\n:= by\n") == 1  # drafted on the accepted one
    # 9 statements, 1 draft, 1 prover expansion: the statement stage's cost is included
    assert attempt.stats.model_calls == 9 + 1 + 1
    harness.check_trees()


async def test_a_benchmark_problem_is_autoformalized_again(harness: Harness) -> None:
    own = "example (answer : ℕ) (h_answer : answer = 1 + 6) : answer = 7\n:= sorry"
    benchmark = FormalProblem("formal_math500", 3, own, "benchmark problem", "7", "1 + 6 = 7.")
    solver = scripted((DRAFT_PROMPT, [fenced(DRAFT)]), (STATEMENT_PROMPT, [VALID]))
    scheduler, ctx = harness.context(solver, prover())
    result = await scheduler.run_problem(Pipeline.COPA, benchmark, ctx)
    assert result.solved and result.problem_id == "formal_math500/3"
    assert result.attempts[0].prompt_state == ACCEPTED  # the autoformalized one, not its own
    assert "1 + 6" not in solver.calls[0] and "1 + 6" not in solver.calls[-1].split("# Formal")[1]


async def test_no_valid_statement_is_one_rejected_attempt_per_filter_counted(
    harness: Harness,
) -> None:
    solver = scripted((STATEMENT_PROMPT, INVALID))
    scheduler, ctx = harness.context(solver, prover(), kw=len(INVALID))
    result = await scheduler.run_problem(Pipeline.COPA, problem("none valid"), ctx)
    assert result.status is ProblemStatus.UNSOLVED
    (attempt,) = result.attempts
    assert attempt.outcome is AttemptOutcome.REJECTED and attempt.charged == 7
    assert attempt.detail == (
        "no valid statement among 7 candidates (truncated 1, no_single_block 1, shape 1,"
        " string_literal 1, banned_token 1, no_answer 1, lean 1)"
    )
    assert attempt.prompt_state == "" and attempt.draft is None
    assert all("Name the answer" in c for c in solver.calls)  # no draft was asked for


async def test_drafts_must_typecheck_and_reason_forward(harness: Harness) -> None:
    not_forward = "rw [h_answer]\nhave h₂ : 3 + 4 = 7 := by norm_num\nexact h₂ -- submit"
    drafts = [
        fenced("have h₁ : answer = 7 := sorry\nexact h₁"),  # no `-- submit` line
        fenced("have h₁ : answer = 7 := by simp\nexact h_other -- submit"),  # does not typecheck
        fenced(not_forward),  # typechecks on the statement, fails on `False`
        fenced(DRAFT),
    ]
    solver = scripted((DRAFT_PROMPT, drafts), (STATEMENT_PROMPT, [VALID]))
    scheduler, ctx = harness.context(solver, prover(), kw=4)
    result = await scheduler.run_problem(Pipeline.COPA, problem("drafts"), ctx)
    assert result.solved and len(result.attempts) == 1
    assert result.attempts[0].charged == 4  # the fourth sample was the first accepted draft
    assert result.attempts[0].draft == DRAFT.replace("by sorry", "sorry")


async def test_an_unproven_gap_leaves_the_problem_unsolved(harness: Harness) -> None:
    solver = scripted((DRAFT_PROMPT, [fenced(DRAFT)]), (STATEMENT_PROMPT, [VALID]))
    failing = scripted((r"⊢", ["exact h_wrong"]))
    scheduler, ctx = harness.context(solver, failing, kw=2, prover_expansions=1)
    result = await scheduler.run_problem(Pipeline.COPA, problem("gap"), ctx)
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.GAP_UNPROVEN] * 2
    assert all(a.prompt_state == ACCEPTED and a.draft for a in result.attempts)
    assert sum("Name the answer" in c for c in solver.calls) == 1  # one statement stage


class CrashingModel(ScriptedGeneratorSimulator):
    """A model server whose backend crashes on the prompts containing ``down`` (the server
    stays up and says so: the caller gets BackendCrashed at once, no reconnection wait)."""

    def __init__(self, down: str, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.down = down

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        if self.down in prompt.messages[-1].content:
            raise BackendCrashed("simulated model backend crash")
        return await super().generate(prompt, params)


async def test_a_model_crash_in_the_statement_stage_is_an_error(harness: Harness) -> None:
    solver = CrashingModel("Name the answer", scripts=[])
    scheduler, ctx = harness.context(solver, prover())
    result = await scheduler.run_problem(Pipeline.COPA, problem("outage"), ctx)
    assert result.status is ProblemStatus.ERRORED  # never "no valid statement"
    (attempt,) = result.attempts
    assert attempt.outcome is AttemptOutcome.ERROR and "BackendCrashed" in attempt.detail


async def test_a_verifier_crash_on_a_statement_is_an_error(harness: Harness) -> None:
    crashing = fenced(
        "example (answer : ℕ) (h_answer : answer = 3 + 4) -- crash_now\n: answer = 7 := sorry"
    )
    solver = scripted((STATEMENT_PROMPT, [crashing, VALID]))
    scheduler, ctx = harness.context(solver, prover())
    result = await scheduler.run_problem(Pipeline.COPA, problem("verifier crash"), ctx)
    assert result.status is ProblemStatus.ERRORED  # not a statement Lean rejected
    (attempt,) = result.attempts
    assert attempt.outcome is AttemptOutcome.ERROR and "BackendCrashed" in attempt.detail
    assert len(solver.calls) == 1  # the stage stopped: the next candidate was never sampled


async def test_resume_drafts_on_the_stored_statement(harness: Harness) -> None:
    solver = scripted((DRAFT_PROMPT, [fenced(DRAFT)]), (STATEMENT_PROMPT, ["unused"]))
    scheduler, ctx = harness.context(solver, prover(), kw=3)
    ctx.prior = (
        Attempt(0, AttemptOutcome.GAP_UNPROVEN, draft=DRAFT, charged=1, prompt_state=ACCEPTED),
        Attempt(1, AttemptOutcome.ERROR, detail="BackendUnavailable: gone"),  # redone
    )
    result = await scheduler.run_problem(Pipeline.COPA, problem("resume"), ctx)
    assert [a.index for a in result.attempts] == [0, 1]
    assert result.solved and result.attempts[1].prompt_state == ACCEPTED
    assert not any("Name the answer" in c for c in solver.calls)  # never autoformalized again
