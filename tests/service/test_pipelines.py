"""The seven pipelines end to end through the real VerifierService (lean-sim) with known outcomes.

Each test scripts the solver and prover (ScriptedGeneratorSimulator) on the problem
``answer = 3 + 4`` (ground truth ``answer = 7``) and asserts the paper's semantics: success
rules, budget counts, restart behaviour, rejected candidates, session recovery, and the
invariants of every search tree built.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from harcopa.domain import (
    AttemptOutcome,
    FinishReason,
    FormalProblem,
    Mode,
    Pipeline,
    ProblemStatus,
    SearchParams,
)
from harcopa.prompts import PromptTemplates
from harcopa_orchestrator.scheduler import Limits
from tests.service.pipelines_harness import (
    Harness,
    ScriptedGeneratorSimulator,
    SessionCountingVerifier,
    scenario_verifier,
    scripted,
    simple_problem,
)
from tests.service.verifier_harness import serving, sim_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCENARIO = {
    "rules": [
        {"goal": "^answer = [78]$", "tactic": r"^norm_num \[h_answer\]$", "result": "close"},
        {"goal": r"^answer = 3 \+ 4$", "tactic": r"^rw \[h_submission\]$", "result": "close"},
    ],
    "faults": {"crash_on_tactic": "crash_now", "hang_on_tactic": "hang_now"},
}

STEP = "-- 3 + 4 = 7\nhave h₁ : answer = 7 := by norm_num [h_answer]"
DRAFT = "-- 3 + 4 = 7\nhave h₁ : answer = 7 := sorry"
SUBMIT = "exact h₁ -- submit"
NO_H1 = r"h_answer : answer = 3 \+ 4\n⊢ \?w"  # the solution state before any step
HAS_H1 = r"h₁ : answer = 7"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def harness_verifier(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[object]:
    folder = tmp_path_factory.mktemp("lean-sim")
    async with scenario_verifier(folder, SCENARIO, pool_size=4, tactic_timeout_seconds=2.0) as v:
        yield v


@pytest_asyncio.fixture(loop_scope="module")
async def harness(harness_verifier: object) -> AsyncIterator[Harness]:
    harness = Harness(harness_verifier)  # type: ignore[arg-type]
    yield harness
    await harness.stop()


def prover_for_gap(*first: str) -> ScriptedGeneratorSimulator:
    """Prover: ``first`` then the closing tactic for ``answer = 7``; backward proof on h.mpr."""
    return scripted(
        (r"⊢ answer = 3 \+ 4", ["rw [h_submission]"]),
        (r"⊢ answer = 7", [*first, "norm_num [h_answer]", "decide", "linarith"][:4]),
    )


async def test_ar_solves_in_one_step(harness: Harness) -> None:
    solver = scripted((NO_H1, ["exact h_answer -- submit"]))
    scheduler, ctx = harness.context(solver)
    result = await scheduler.run_problem(Pipeline.AR, simple_problem("one step"), ctx)
    assert result.solved and len(result.attempts) == 1
    attempt = result.attempts[0]
    assert (attempt.charged, attempt.paper_budget) == (1, 1)
    assert attempt.submission == "answer = 3 + 4" and attempt.rpe_tactic is not None
    assert attempt.final_check_ok is True
    assert attempt.stats.model_calls == 1 and attempt.stats.tactic_calls >= 1


async def test_ar_wrong_answer_restarts_with_the_remaining_budget(harness: Harness) -> None:
    wrong = "have h₂ : answer = 8 := by norm_num [h_answer]"
    solver = scripted((r"h₂ : answer = 8", ["exact h₂ -- submit"]), (NO_H1, [wrong]))
    scheduler, ctx = harness.context(solver, ks=5)
    result = await scheduler.run_problem(Pipeline.AR, simple_problem("wrong"), ctx)
    assert not result.solved
    outcomes = [a.outcome for a in result.attempts]
    assert outcomes == [AttemptOutcome.WRONG_ANSWER] * 2 + [AttemptOutcome.BUDGET_EXHAUSTED]
    assert [a.charged for a in result.attempts] == [2, 2, 1]  # 5 = K_S across restarts
    assert [a.paper_budget for a in result.attempts] == [2, 2, 1]
    assert result.attempts[0].submission == "answer = 8"


async def test_ar_rejects_bad_candidates_without_aborting(harness: Harness) -> None:
    solver = scripted(
        (
            NO_H1,
            [
                "have h : answer = 7 := by admit",  # banned token: resampled in the trial
                ("have h : answer = 7 := by norm_num [h_answer]", FinishReason.LENGTH),
                "have h₉ : answer = 9 := by simp",  # Lean error: trial 1 consumed
                DRAFT,  # leaves a gap: AR rejects it (trial 2)
                "exact h_answer\nexact h_answer -- submit",  # two-line submission (trial 3)
                "exact h_answer -- submit",  # trial 4 solves
            ],
        )
    )
    scheduler, ctx = harness.context(solver)
    result = await scheduler.run_problem(Pipeline.AR, simple_problem("bad"), ctx)
    assert result.solved and len(result.attempts) == 1
    assert result.attempts[0].charged == 4
    assert result.attempts[0].stats.model_calls == 6
    assert [(r.text, r.reason) for r in result.attempts[0].rejected] == [
        ("have h : answer = 7 := by admit", "banned token `admit`"),
        ("have h : answer = 7 := by norm_num [h_answer]", "cut at the token limit"),
        ("have h₉ : answer = 9 := by simp", "Lean rejected it: simp made no progress"),
        (DRAFT, "the step left 1 gap (a flat pipeline accepts none)"),
        (
            "exact h_answer\nexact h_answer -- submit",
            "malformed submission: a submission step must be a single line, got 2 lines",
        ),
    ]


async def test_har_proves_the_gap_jointly_and_logs_the_backward_proof(harness: Harness) -> None:
    solver = scripted((HAS_H1, [SUBMIT]), (NO_H1, [DRAFT]))
    prover = prover_for_gap("exact h_missing")
    scheduler, ctx = harness.context(solver, prover)
    result = await scheduler.run_problem(Pipeline.HAR, simple_problem("har"), ctx)
    assert result.solved and len(result.attempts) == 1
    attempt = result.attempts[0]
    (tactic,) = attempt.steps[0].gap_proof
    assert (tactic.goal_index, tactic.tactic) == (0, "norm_num [h_answer]")
    assert tactic.prompt_state.endswith("⊢ answer = 7")  # the gap the prover was shown
    assert attempt.steps[0].prompt_state.startswith("case h.mp\n")  # the solution state shown
    assert attempt.steps[0].prompt_state.endswith("⊢ ?w")
    assert "h₁ : answer = 7" in attempt.prompt_state  # the submission's solution state
    (backward,) = attempt.backward_proof or ()
    assert (backward.goal_index, backward.tactic) == (0, "rw [h_submission]")
    assert attempt.final_check_ok is True and attempt.submission == "answer = 7"
    assert (attempt.charged, attempt.paper_budget) == (2, 2)
    assert len(harness.trees) == 2  # the gap search and the backward proof
    harness.check_trees()


@pytest.mark.parametrize(
    ("mode", "solved", "edges"), [(Mode.STRICT, True, 1), (Mode.PAPER, False, 0)]
)
async def test_bfs_budget_counts_k_s_candidates(
    harness: Harness, mode: Mode, solved: bool, edges: int
) -> None:
    failing = [f"have h{i} : answer = 9 := by simp" for i in range(4)]
    solver = scripted((NO_H1, [*failing, "exact h_answer -- submit", "x", "y", "z"]))
    scheduler, ctx = harness.context(solver, mode=mode, ks=5)
    result = await scheduler.run_problem(Pipeline.BFS, simple_problem(f"bfs {mode}"), ctx)
    # Strict evaluates all K_S = 5 candidates; paper charges 5 but evaluates 4 (the reference).
    assert result.solved is solved
    assert [a.charged for a in result.attempts] == [5]
    assert result.attempts[0].paper_budget == edges
    harness.check_trees()


async def test_h_bfs_accepts_in_sampled_order_and_dedups_states(harness: Harness) -> None:
    same_state = "have h₁ : answer = 7 := by\n  sorry"  # another text, the same state as DRAFT
    solver = scripted(
        (HAS_H1, [SUBMIT] * 8),
        (NO_H1, [DRAFT, same_state, "have h₉ : answer = 9 := by simp", DRAFT] + ["z"] * 4),
    )
    prover = prover_for_gap("exact h_missing")
    scheduler, ctx = harness.context(solver, prover)
    result = await scheduler.run_problem(Pipeline.H_BFS, simple_problem("h_bfs"), ctx)
    assert result.solved and len(result.attempts) == 1
    attempt = result.attempts[0]
    # Root expansion: 8 samples, 4 distinct once normalised -> 4 charged; the next expansion's
    # first candidate submits: 5 charged. Edges: the step and the submission.
    assert (attempt.charged, attempt.paper_budget) == (5, 2)
    assert attempt.steps[0].text == DRAFT  # the first in sampled order wins the state
    assert len(prover.calls) == 2  # one gap search for the shared state, one backward proof
    harness.check_trees()
    bfs_tree = next(t for t in harness.trees if len(t.root.children) == 1)
    assert bfs_tree.root.status.value == "proved"


async def test_wg_records_unparsable_tries_and_stops_at_success(harness: Harness) -> None:
    whole = f"```lean4\n{STEP}\n{SUBMIT}\n```"
    solver = scripted((r"Initial Solution State", ["no code here", whole]))
    scheduler, ctx = harness.context(solver)
    result = await scheduler.run_problem(Pipeline.WG, simple_problem("wg"), ctx)
    assert [a.outcome for a in result.attempts] == [
        AttemptOutcome.REJECTED,
        AttemptOutcome.SOLVED,
    ]
    assert result.attempts[0].paper_budget == float("inf")
    assert result.attempts[1].paper_budget == 2 and result.attempts[1].final_check_ok is True


async def test_h_wg_proves_each_gap(harness: Harness) -> None:
    solver = scripted((r"Initial Solution State", [f"```lean4\n{DRAFT}\n{SUBMIT}\n```"]))
    scheduler, ctx = harness.context(solver, prover_for_gap("exact h_missing"))
    result = await scheduler.run_problem(Pipeline.H_WG, simple_problem("h_wg"), ctx)
    assert result.solved and len(result.attempts) == 1
    attempt = result.attempts[0]
    assert attempt.rpe_tactic is not None and attempt.final_check_ok is True
    harness.check_trees()


async def test_h_wg_unproven_gap_fails_every_try(harness: Harness) -> None:
    solver = scripted((r"Initial Solution State", [f"```lean4\n{DRAFT}\n{SUBMIT}\n```"]))
    prover = scripted((r"⊢", ["exact h_missing", "exact h_other"]))
    scheduler, ctx = harness.context(solver, prover, kw=2, prover_expansions=2)
    result = await scheduler.run_problem(Pipeline.H_WG, simple_problem("h_wg fail"), ctx)
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.GAP_UNPROVEN] * 2
    # 1 draft + 1 prover call: both distinct tactics fail, so the prover's queue empties.
    assert all(a.stats.model_calls == 2 for a in result.attempts)
    harness.check_trees()


@pytest.mark.parametrize(("mode", "tries"), [(Mode.STRICT, 1), (Mode.PAPER, 3)])
async def test_h_sa_drafts_then_proves_gaps(harness: Harness, mode: Mode, tries: int) -> None:
    draft = "```lean4\nhave h₁ : answer = 7 := by sorry\nexact h₁ -- submit\n```"
    solver = scripted((r"# Formal Statement", ["```lean4\nexact foo -- no submit\n```", draft]))
    scheduler, ctx = harness.context(solver, prover_for_gap(), mode=mode, kw=3)
    result = await scheduler.run_problem(Pipeline.H_SA, simple_problem(f"h_sa {mode}"), ctx)
    assert result.solved and len(result.attempts) == tries  # paper runs every outer try
    assert result.attempts[0].charged == 2  # the first sample was rejected
    assert result.attempts[0].paper_budget == 2


async def test_har_survives_a_verifier_crash_with_the_same_budget(tmp_path: Path) -> None:
    scenario = tmp_path / "crash-once.json"
    faults = {"crash_on_tactic": "crash_now", "fault_limit": 1}
    faults["fault_count_file"] = str(tmp_path / "crashes")
    scenario.write_text(json.dumps({"rules": SCENARIO["rules"], "faults": faults}))
    async with serving(sim_settings(scenario, pool_size=4)) as verifier:
        harness = Harness(verifier)
        solver = scripted((HAS_H1, [SUBMIT]), (NO_H1, [DRAFT]))
        scheduler, ctx = harness.context(solver, prover_for_gap("crash_now"))
        result = await scheduler.run_problem(Pipeline.HAR, simple_problem("crash"), ctx)
        await harness.stop()
    assert result.solved
    attempt = result.attempts[0]
    assert attempt.stats.sessions_lost == 1
    assert (attempt.charged, attempt.paper_budget) == (2, 2)  # as without the crash
    assert [(t.goal_index, t.tactic) for t in attempt.steps[0].gap_proof] == [
        (0, "norm_num [h_answer]")
    ]
    harness.check_trees()


async def test_a_tactic_that_crashes_lean_every_time_errors_the_attempt(harness: Harness) -> None:
    solver = scripted((HAS_H1, [SUBMIT]), (NO_H1, [DRAFT]))
    scheduler, ctx = harness.context(solver, prover_for_gap("crash_now"))
    result = await scheduler.run_problem(Pipeline.HAR, simple_problem("crash always"), ctx)
    assert result.status is ProblemStatus.ERRORED  # never "unsolved": we could not check it
    (attempt,) = result.attempts
    assert attempt.outcome is AttemptOutcome.ERROR and "SessionLost" in attempt.detail
    assert attempt.stats.sessions_lost == 2


async def test_har_survives_a_tactic_timeout(harness: Harness) -> None:
    solver = scripted((HAS_H1, [SUBMIT]), (NO_H1, [DRAFT]))
    scheduler, ctx = harness.context(solver, prover_for_gap("hang_now"))
    result = await scheduler.run_problem(Pipeline.HAR, simple_problem("timeout"), ctx)
    assert result.solved
    assert result.attempts[0].stats.sessions_lost >= 1
    assert result.attempts[0].charged == 2


async def test_scheduler_bounds_shared_pools_across_problems(harness_verifier: object) -> None:
    counting = SessionCountingVerifier(harness_verifier)  # type: ignore[arg-type]
    harness = Harness(counting)  # type: ignore[arg-type]
    solver = scripted((HAS_H1, [SUBMIT]), (NO_H1, [DRAFT]), delay_seconds=0.02)
    prover = prover_for_gap("exact h_missing")
    prover.delay_seconds = 0.02
    limits = Limits(max_model_requests=2, max_verifier_sessions=2, max_problems=3)
    scheduler, _ = harness.context(solver, prover, limits=limits)
    problems = [simple_problem(f"pool {i}", index=i) for i in range(5)]

    async def one(problem: FormalProblem) -> bool:
        ctx = scheduler.context(
            params=SearchParams(), mode=Mode.STRICT, templates=PromptTemplates.load()
        )
        return (await scheduler.run_problem(Pipeline.HAR, problem, ctx)).solved

    try:
        solved = await asyncio.gather(*(one(p) for p in problems))
    finally:
        await harness.stop()
    assert all(solved)
    assert solver.peak + prover.peak <= 4 and max(solver.peak, prover.peak) <= 2
    assert 1 <= counting.peak <= 2 and counting.open == 0
