"""Soundness as the attempts record it, through the real pipelines, VerifierService and lean-sim.

Paper mode keeps the reference's acceptance rules and records on each accepted attempt whether
the strict filter would also have passed it (``strict_audit_passed``), so a report can count
the paper-accepted solutions that are unsound; strict mode refuses the same solutions. A final
check whose axiom audit finds an axiom outside the allowlist names it in
``Attempt.forbidden_axioms``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from harcopa.domain import AttemptOutcome, Mode, Pipeline
from tests.service.pipelines_harness import Harness, scenario_verifier, scripted, simple_problem
from tests.service.verifier_harness import serving, sim_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: The rule closes STEP's proof (lean-sim has no rule for ``norm_num [h_answer]`` here).
SCENARIO = {
    "rules": [
        {"goal": "^answer = 7$", "tactic": r"^norm_num \[h_answer\]$", "result": "close"},
    ],
}
NO_H1 = r"h_answer : answer = 3 \+ 4\n⊢ \?w"
STEP = "have h₁ : answer = 7 := by norm_num [h_answer]"
SORRY_SUBMISSION = "exact (sorry : answer = 7) -- submit"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def verifier(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[object]:
    folder = tmp_path_factory.mktemp("lean-sim")
    async with scenario_verifier(folder, SCENARIO, pool_size=4) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def harness(verifier: object) -> AsyncIterator[Harness]:
    harness = Harness(verifier)  # type: ignore[arg-type]
    yield harness
    await harness.stop()


@pytest.mark.parametrize(
    ("submission", "audit"), [(SORRY_SUBMISSION, False), ("exact h_answer -- submit", True)]
)
async def test_paper_acceptances_are_audited_strictly(
    harness: Harness, submission: str, audit: bool
) -> None:
    solver = scripted((NO_H1, [submission]))
    scheduler, ctx = harness.context(solver, mode=Mode.PAPER)
    problem = simple_problem(f"paper {submission}")
    result = await scheduler.run_problem(Pipeline.AR, problem, ctx)
    assert result.solved  # the reference's rules accept both
    attempt = result.attempts[0]
    assert attempt.strict_audit_passed is audit
    assert attempt.final_check_ok is None  # paper mode runs no final check


async def test_strict_mode_refuses_the_sorry_submission(harness: Harness) -> None:
    solver = scripted((NO_H1, [SORRY_SUBMISSION]))
    scheduler, ctx = harness.context(solver, ks=1)
    result = await scheduler.run_problem(Pipeline.AR, simple_problem("strict sorry"), ctx)
    assert not result.solved
    assert all(a.strict_audit_passed is None for a in result.attempts)


async def test_paper_whole_draft_with_native_decide_is_audited(harness: Harness) -> None:
    draft = f"```lean4\nhave h₀ : 3 + 4 = 7 := by native_decide\n{STEP}\nexact h₁ -- submit\n```"
    solver = scripted((r"Initial Solution State", [draft]))
    scheduler, ctx = harness.context(solver, mode=Mode.PAPER, kw=1)
    paper = await scheduler.run_problem(Pipeline.WG, simple_problem("wg native paper"), ctx)
    assert paper.solved and paper.attempts[0].strict_audit_passed is False
    scheduler, ctx = harness.context(scripted((r"Initial Solution State", [draft])), kw=1)
    strict = await scheduler.run_problem(Pipeline.WG, simple_problem("wg native strict"), ctx)
    assert not strict.solved and strict.attempts[0].outcome is AttemptOutcome.REJECTED
    assert "native_decide" in strict.attempts[0].detail


async def test_forbidden_axioms_of_the_final_check_reach_the_attempt(tmp_path: Path) -> None:
    """A tactic the filter cannot see through (here: lean-sim told that the assembled file's
    ``example``, audited as ``harcopa_audit_1``, uses Lean.ofReduceBool)."""
    scenario = tmp_path / "axioms.json"
    scenario.write_text(
        json.dumps({**SCENARIO, "axioms": {"harcopa_audit_1": ["propext", "Lean.ofReduceBool"]}})
    )
    async with serving(sim_settings(scenario)) as client:
        harness = Harness(client)
        solver = scripted((NO_H1, [STEP]), (r"h₁ : answer = 7", ["exact h₁ -- submit"]))
        scheduler, ctx = harness.context(solver, ks=2)
        result = await scheduler.run_problem(Pipeline.AR, simple_problem("axioms"), ctx)
        await harness.stop()
    attempt = result.attempts[0]
    assert not result.solved and attempt.rpe_tactic is not None  # right answer, unsound proof
    assert attempt.final_check_ok is False and attempt.outcome is AttemptOutcome.REJECTED
    assert attempt.forbidden_axioms == ("Lean.ofReduceBool",)
    assert "Lean.ofReduceBool" in attempt.detail
