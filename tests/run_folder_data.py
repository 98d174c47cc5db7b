"""A recorded run for the run-folder tests: a real SQLite store holding an incomplete HAR run over
a four-problem file, whose attempts carry steps, gap proofs, rejected candidates (one holding a
``<script>`` tag), a backward proof, a wrong answer, an errored problem and an unfinished one.

Used by tests/unit/test_run_folder.py and tests/integration/test_html_report_browser.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from harcopa import domain as d
from harcopa_orchestrator.store import RunStore

SCRIPT = '<script>document.title="pwned"</script>'
STATE = "answer : ℕ\nh_answer : answer = 3 + 4\n⊢ ?w"


def _stats(model: float, lean: float, verifier: float, wait: float) -> d.SearchStats:
    return d.SearchStats(
        expansions=3,
        model_calls=4,
        tactic_calls=6,
        usage=d.TokenUsage(1200, 300, 800),
        generator_seconds=model,
        verifier_seconds=verifier,
        lean_seconds=lean,
        wait_seconds=wait,
    )


def _solved() -> d.ProblemResult:
    wrong = d.Attempt(
        0,
        d.AttemptOutcome.WRONG_ANSWER,
        submission_step="exact h_answer -- submit",
        submission="answer = 3 + 4",
        charged=2,
        paper_budget=1.0,
        stats=_stats(2.0, 0.5, 0.8, 0.1),
        detail="RPE found no equivalence proof",
        prompt_state=STATE,
        rejected=(d.RejectedCandidate(SCRIPT, "banned token `sorry`", STATE),),
    )
    solved = d.Attempt(
        1,
        d.AttemptOutcome.SOLVED,
        steps=(
            d.SolutionStep(
                "have h₁ : answer = 7 := sorry",
                (
                    d.AppliedTactic(
                        0, "norm_num [h_answer]", "h_answer : answer = 3 + 4\n⊢ answer = 7"
                    ),
                ),
                STATE,
            ),
        ),
        submission_step="exact h₁ -- submit",
        submission="answer = 7",
        rpe_tactic="rfl",
        backward_proof=(d.AppliedTactic(0, "rw [h_submission]"),),
        final_check_ok=True,
        charged=3,
        paper_budget=2.0,
        stats=_stats(3.0, 1.0, 1.5, 0.2),
        prompt_state="h₁ : answer = 7\n⊢ ?w",
        rejected=(
            d.RejectedCandidate(
                "have h₂ : answer = 8 := by decide", "Lean rejected it: decide failed", STATE
            ),
            d.RejectedCandidate(
                "have h₁ : answer = 7 := by omega", "cut at the token limit", STATE
            ),
        ),
    )
    return d.ProblemResult("problems/0", "har", "strict", (wrong, solved), seconds=7.5)


def _unsolved() -> d.ProblemResult:
    spent = d.Attempt(
        0,
        d.AttemptOutcome.BUDGET_EXHAUSTED,
        charged=6,
        paper_budget=0.0,
        stats=_stats(4.0, 2.0, 2.5, 0.0),
        rejected=tuple(
            d.RejectedCandidate(
                f"have h : answer = {k} := sorry", "a gap could not be proven", STATE
            )
            for k in range(6)
        ),
    )
    return d.ProblemResult("problems/1", "har", "strict", (spent,), seconds=9.0)


def _errored() -> d.ProblemResult:
    failed = d.Attempt(
        0,
        d.AttemptOutcome.ERROR,
        stats=_stats(1.0, 0.0, 0.3, 5.0),
        detail="BackendUnavailable: verifier at 127.0.0.1:1 is unavailable",
    )
    return d.ProblemResult("problems/2", "har", "strict", (failed,), seconds=6.0, retries=2)


PROBLEMS = [
    {
        "formal_statement": f"example (answer : ℕ) (h_answer : answer = {a} + {b}) :"
        f" answer = {a + b} := sorry",
        "informal_problem": f"What is {a} + {b}?",
        "informal_answer": str(a + b),
    }
    for a, b in ((3, 4), (2, 2), (5, 6), (1, 1))
]


def write_problems(folder: Path) -> Path:
    """The four-problem file the run reads (``problems/0`` .. ``problems/3``)."""
    path = folder / "problems.json"
    path.write_text(json.dumps(PROBLEMS), encoding="utf-8")
    return path


def recorded_store(folder: Path, *, second_run: bool = False) -> tuple[Path, Path, list[str]]:
    """(store path, problems file, run ids): run 1 is incomplete (problem 3 never finished);
    with ``second_run`` an AR run of the same file that succeeded on two problems is added."""
    problems = write_problems(folder)
    store_path = folder / "harcopa.sqlite"
    solver = d.ModelRef("solver")
    spec = d.RunSpec(
        d.Pipeline.HAR, str(problems), solver, solver, params=d.SearchParams(ks=6), seed=7
    )

    async def write() -> list[str]:
        store = RunStore(store_path)
        try:
            await store.create_run("run-har", spec, 4)
            await store.set_status("run-har", d.RunStatus.RUNNING)
            for result in (_solved(), _unsolved(), _errored()):
                await store.record_result("run-har", result)
            await store.set_status("run-har", d.RunStatus.INCOMPLETE)
            ids = ["run-har"]
            if second_run:
                ar = d.RunSpec(d.Pipeline.AR, str(problems), solver, problem_indices=(0, 1))
                await store.create_run("run-ar", ar, 2)
                for result in (_solved(), _unsolved()):
                    await store.record_result("run-ar", result)
                await store.set_status("run-ar", d.RunStatus.SUCCEEDED)
                ids.append("run-ar")
            return ids
        finally:
            store.close()

    return store_path, problems, asyncio.run(write())
