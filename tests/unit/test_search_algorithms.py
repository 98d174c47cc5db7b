"""The search algorithms against the in-process ScriptedVerifier (tests/fakes.py): fast unit tests
of their decisions, budgets and trees, with no subprocess and no gRPC.

The service tests (tests/service/test_pipelines.py) run the same pipelines through the real
VerifierService over lean-sim.
"""

from __future__ import annotations

from harcopa import domain as d
from harcopa_orchestrator.search.tree import SearchTree
from tests.fakes import (
    ScriptedGenerator,
    ScriptedVerifier,
    StepRule,
    TacticRule,
    answer_seven_verifier,
    run_scripted,
)

PROBLEM = d.FormalProblem(
    "unit",
    0,
    "example (answer : ℕ) (h_answer : answer = 3 + 4) : answer = 7 := sorry",
    "What is 3 + 4?",
    "7",
)
DRAFT = "have h₁ : answer = 7 := sorry"
SUBMIT = "exact h₁ -- submit"


async def _run(
    pipeline: d.Pipeline,
    verifier: ScriptedVerifier,
    solver: ScriptedGenerator,
    prover: ScriptedGenerator | None = None,
    mode: d.Mode = d.Mode.STRICT,
    **params: int,
) -> tuple[d.ProblemResult, list[SearchTree]]:
    return await run_scripted(PROBLEM, pipeline, verifier, solver, prover, mode=mode, **params)


async def test_har_drafts_proves_the_gap_and_submits() -> None:
    solver = ScriptedGenerator([(r"h₁ : answer = 7", [SUBMIT]), (r"⊢ \?w", [DRAFT])])
    prover = ScriptedGenerator([(r"⊢ answer = 7", ["norm_num [h_answer]"])])
    result, _ = await _run(d.Pipeline.HAR, answer_seven_verifier(), solver, prover)
    (attempt,) = result.attempts
    assert attempt.outcome is d.AttemptOutcome.SOLVED and attempt.rpe_tactic == "rfl"
    assert [s.text for s in attempt.steps] == [DRAFT]
    assert [t.tactic for t in attempt.steps[0].gap_proof] == ["norm_num [h_answer]"]
    assert (attempt.charged, attempt.paper_budget) == (2, 2)


async def test_ar_rejects_a_step_that_leaves_a_gap_and_spends_its_budget() -> None:
    solver = ScriptedGenerator([(r"⊢ \?w", [DRAFT])])  # never anything but a gap-leaving draft
    result, _ = await _run(d.Pipeline.AR, answer_seven_verifier(), solver, ks=5, solver_samples=1)
    assert result.status is d.ProblemStatus.UNSOLVED
    assert sum(a.charged for a in result.attempts) == 5
    assert result.attempts[-1].outcome is d.AttemptOutcome.BUDGET_EXHAUSTED


async def test_a_wrong_answer_restarts_from_the_root_with_the_remaining_budget() -> None:
    verifier = answer_seven_verifier(
        submissions=[(r"h_answer", "answer = 3 + 4"), (r"h₁", "answer = 7")],
        rpe=[(r"^answer = 7$", "rfl")],  # `answer = 3 + 4` is not found equivalent here
    )
    solver = ScriptedGenerator(
        [(r"h₁ : answer = 7", [SUBMIT]), (r"⊢ \?w", ["exact h_answer -- submit", DRAFT])]
    )
    prover = ScriptedGenerator([(r"⊢ answer = 7", ["norm_num [h_answer]"])])
    result, _ = await _run(d.Pipeline.HAR, verifier, solver, prover, ks=6)
    assert [a.outcome for a in result.attempts] == [
        d.AttemptOutcome.WRONG_ANSWER,
        d.AttemptOutcome.SOLVED,
    ]
    assert [a.charged for a in result.attempts] == [1, 2]


async def test_strict_prover_does_not_expand_a_state_twice() -> None:
    """A no-op tactic gives back the same goals: strict mode keeps one node for them."""
    verifier = answer_seven_verifier(
        tactics=[
            (r"^answer = 7$", r"^skip$", TacticRule(("answer = 7",))),  # changes nothing
            (r"^answer = 7$", r"^norm_num \[h_answer\]$", TacticRule()),
        ]
    )
    solver = ScriptedGenerator([(r"h₁ : answer = 7", [SUBMIT]), (r"⊢ \?w", [DRAFT])])
    prover = ScriptedGenerator([(r"⊢ answer = 7", ["skip", "skip", "skip", "norm_num [h_answer]"])])
    result, trees = await _run(
        d.Pipeline.HAR, verifier, solver, prover, prover_samples=4, prover_expansions=4
    )
    assert result.solved
    assert [c for c in verifier.calls if c[0] == "step"] == [("step", DRAFT)]  # one draft
    (proof_tree,) = [t for t in trees if "⊢ answer = 7" in t.root.key]  # one prover run
    proof_tree.check_invariants()
    # ``skip`` returns the root's own goals: no edge for it, only the closing tactic's.
    assert [edge.label for edge in proof_tree.root.children] == ["norm_num [h_answer]"]
    assert proof_tree.edge_count == 1


async def test_whole_draft_with_a_gap_the_prover_closes() -> None:
    draft = f"{DRAFT}\n{SUBMIT}"
    verifier = answer_seven_verifier(steps=[(r"have h₁", StepRule(("answer = 7",)))])
    solver = ScriptedGenerator([(r"Initial Solution State|\?w", [f"```lean4\n{draft}\n```"])])
    prover = ScriptedGenerator([(r"⊢ answer = 7", ["norm_num [h_answer]"])])
    verifier.calls.clear()
    result, _ = await _run(d.Pipeline.H_WG, verifier, solver, prover, kw=2)
    assert result.attempts[0].draft == draft
    assert ("step", draft) in verifier.calls
