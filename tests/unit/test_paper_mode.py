"""Paper mode makes the reference's decisions (docs/paper-mode.md items 1-9), strict mode keeps
ours: each test runs a pipeline in both modes against the in-process ScriptedVerifier and
ScriptedGenerator (tests/fakes.py) and compares the attempts, charged budgets and calls.

The verifier's side of items 3, 5 and 6 is tested over lean-sim in
tests/service/test_verifier_paper_mode.py; items 2 and 9 end to end in
tests/service/test_paper_mode_run.py.
"""

from __future__ import annotations

import pytest

from harcopa import domain as d
from harcopa.errors import BackendUnavailable, FailedPrecondition
from harcopa.fps import is_submission
from harcopa.prompts import PromptTemplates
from harcopa_orchestrator.pipelines import solve
from harcopa_orchestrator.scheduler import Limits, Scheduler
from harcopa_orchestrator.search import paper
from harcopa_orchestrator.search.tree import SearchTree
from tests.fakes import (
    DRAFTED_H1,
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
    "example (answer : ℕ) (h_answer : answer = 3 + 4) : answer = 7\n:= sorry",
    "What is 3 + 4?",
    "7",
    "3 + 4 = 7.",
)
STEP = "have h₁ : answer = 7 := by norm_num [h_answer]"  # no gap
DRAFT = "have h₁ : answer = 7 := sorry"  # one gap
SUBMIT = "exact h₁ -- submit"
MULTI_LINE = "have h₂ : True := trivial\nexact h_answer -- submit"
ROOT = r"⊢ \?w"
AFTER_STEP = r"h₁ : answer = 7"
GAP = r"⊢ answer = 7"

Outcome = d.AttemptOutcome


def _verifier(**overrides: object) -> ScriptedVerifier:
    """The shared ``answer = 7`` verifier, where ``h₁`` can also be proved in the step itself."""
    proved = (r"^have h₁ : answer = 7 := by norm_num", StepRule((), ("h₁", "answer = 7")))
    return answer_seven_verifier(**{"steps": [proved, DRAFTED_H1], **overrides})


async def _run(
    pipeline: d.Pipeline,
    verifier: ScriptedVerifier,
    solver: ScriptedGenerator,
    prover: ScriptedGenerator | None = None,
    **options: object,
) -> tuple[d.ProblemResult, list[SearchTree]]:
    return await run_scripted(PROBLEM, pipeline, verifier, solver, prover, **options)  # type: ignore[arg-type]


def _shape(result: d.ProblemResult) -> list[tuple[Outcome, int]]:
    return [(a.outcome, a.charged) for a in result.attempts]


async def test_item1_an_unusable_trial_ends_the_rollout_in_paper_mode() -> None:
    """Every sample of a trial unusable: paper mode charges the trial, ends the rollout and
    starts over from the root (the reference's ``RuntimeError``); strict goes on."""
    for mode, expected in (
        (d.Mode.PAPER, [(Outcome.REJECTED, 1), (Outcome.SOLVED, 2)]),
        (d.Mode.STRICT, [(Outcome.SOLVED, 3)]),
    ):
        solver = ScriptedGenerator([(AFTER_STEP, [SUBMIT]), (ROOT, ["admit", "admit", STEP])])
        result, _ = await _run(
            d.Pipeline.AR, _verifier(), solver, mode=mode, ks=6, solver_samples=2
        )
        assert _shape(result) == expected, mode
        assert len(solver.prompts) == 4  # admit, admit, the step, the submission
        if mode is d.Mode.PAPER:
            assert "no sample of the trial was usable" in result.attempts[0].detail


async def test_item2_paper_mode_asks_for_processed_logprobs() -> None:
    """NALP priorities: processed (temperature-scaled) log-probabilities in paper mode."""
    for mode, wanted in (
        (d.Mode.PAPER, d.LogprobsMode.PROCESSED),
        (d.Mode.STRICT, d.LogprobsMode.RAW),
    ):
        solver = ScriptedGenerator([(AFTER_STEP, [SUBMIT]), (ROOT, [STEP])])
        result, _ = await _run(d.Pipeline.BFS, _verifier(), solver, mode=mode, solver_samples=2)
        assert result.solved
        asked = [params for _, params in solver.requests]
        assert asked and all(p.logprobs and p.logprobs_mode is wanted for p in asked)


async def test_item4_the_paper_prover_never_deduplicates_states() -> None:
    """A no-op tactic: paper mode pushes its state again (the reference's visited set never
    matches) and proves the gap from it; strict drops it, fails, and needs another trial."""
    verifier = _verifier(
        tactics=[
            (r"^answer = 7$", r"^skip$", TacticRule(("answer = 7",))),
            (r"^answer = 7$", r"^norm_num \[h_answer\]$", TacticRule()),
        ]
    )
    for mode, charged, prover_calls in ((d.Mode.PAPER, 2, 2), (d.Mode.STRICT, 3, 2)):
        solver = ScriptedGenerator([(AFTER_STEP, [SUBMIT]), (ROOT, [DRAFT])])
        prover = ScriptedGenerator([(GAP, ["skip", "bad", "norm_num [h_answer]", "bad"])])
        result, trees = await _run(
            d.Pipeline.HAR,
            verifier,
            solver,
            prover,
            mode=mode,
            ks=6,
            solver_samples=1,
            prover_samples=2,
        )
        assert _shape(result) == [(Outcome.SOLVED, charged)], mode
        assert len([p for p in prover.prompts if "⊢ answer = 7" in p]) == prover_calls
        first = next(t for t in trees if GAP.replace("\\", "") in t.root.key)
        renders = [n.state.render() for n in first.nodes.values()]
        if mode is d.Mode.PAPER:  # the root's state twice: the root and the no-op's child
            assert len(renders) == 3 and renders.count(first.root.state.render()) == 2
        else:
            assert len(renders) == 1


async def test_item5_whole_drafts_skip_the_banned_token_filter_in_paper_mode() -> None:
    draft = "have h₁ : answer = 7 := by rw_search\nexact h₁ -- submit"
    verifier = _verifier(steps=[(r"rw_search", StepRule((), submits="answer = 7"))])
    for mode, expected, drafted in (
        (d.Mode.PAPER, [(Outcome.SOLVED, 1)], True),
        (d.Mode.STRICT, [(Outcome.REJECTED, 1)] * 2, False),
    ):
        verifier.calls.clear()
        solver = ScriptedGenerator([(r"Initial Solution State", [f"```lean4\n{draft}\n```"])])
        result, _ = await _run(d.Pipeline.WG, verifier, solver, mode=mode, kw=2)
        assert _shape(result) == expected, mode
        assert (("step", draft) in verifier.calls) is drafted
    assert "banned token 'rw_search'" in result.attempts[0].detail


async def test_item6_h_sa_drafting_system_prompt_follows_the_reference_rule() -> None:
    """Paper mode: "You are a helpful assistant." unless the model name contains
    ``hf_ckpts``; strict mode: the templates' system prompt of the task."""
    draft = f"{DRAFT}\n{SUBMIT}"
    verifier = _verifier(
        steps=[
            (r"^have h₁ : answer = 7 := sorry\n", StepRule(("answer = 7",))),
            *_verifier().steps,
        ],
        tactics=[
            (r".", r"^exfalso$", TacticRule(("False",))),
            (r"^answer = 7$", r"^norm_num \[h_answer\]$", TacticRule()),
        ],
    )
    templates = PromptTemplates.load()
    own = templates.tasks["solution_drafting"].system or templates.system
    for mode, name, system in (
        (d.Mode.PAPER, "/path/to/HAR_CoPA_Cycle2", "You are a helpful assistant."),
        (d.Mode.PAPER, "/data/hf_ckpts/HAR_CoPA_Cycle2", "You are a Lean 4 expert."),
        (d.Mode.STRICT, "/path/to/HAR_CoPA_Cycle2", own),
    ):
        solver = ScriptedGenerator([(r"Formal Statement", [f"```lean4\n{draft}\n```"])])
        prover = ScriptedGenerator([(GAP, ["norm_num [h_answer]"])])
        result, _ = await _run(
            d.Pipeline.H_SA, verifier, solver, prover, mode=mode, solver_name=name, kw=1
        )
        assert result.solved, (mode, name, result.attempts[0].detail)
        (prompt, _), *_ = solver.requests
        assert prompt.messages[0] == d.ChatMessage("system", system), (mode, name)


async def test_item7_odd_candidates_end_the_rollout_in_paper_mode() -> None:
    """A multi-line submission (AR, BFS), a wrong continuation (AR) and a gap proof that
    changes the ignored continuation (HAR) end the rollout in paper mode, charged up to that
    candidate; strict mode rejects the candidate and goes on."""
    odd = "odd_step"
    verifier = _verifier(
        steps=[*_verifier().steps, (r"^odd_step$", StepRule((), continuation="odd"))],
        tactics=[
            (r"^answer = 7$", r"^wreck$", TacticRule(last="True")),
            (r"^answer = 7$", r"^norm_num \[h_answer\]$", TacticRule()),
        ],
    )
    cases = [  # (pipeline, root outputs, prover outputs, samples, paper, strict)
        (d.Pipeline.AR, [MULTI_LINE, STEP], None, 1, [(1, "single line"), (2, "")], [(3, "")]),
        (d.Pipeline.AR, [odd, STEP], None, 1, [(1, "continuation"), (2, "")], [(3, "")]),
        (d.Pipeline.HAR, [DRAFT], ["wreck", "norm_num [h_answer]"], 1, [(1, "ignored"), (2, "")],
         [(3, "")]),
        (d.Pipeline.BFS, [STEP, MULTI_LINE, "nope", STEP, "nope", "nope"], None, 3,
         [(2, "single line"), (3, "")], [(4, "")]),
    ]  # fmt: skip
    for pipeline, root, tactics, samples, in_paper, in_strict in cases:
        for mode, expected in ((d.Mode.PAPER, in_paper), (d.Mode.STRICT, in_strict)):
            solver = ScriptedGenerator([(AFTER_STEP, [SUBMIT]), (ROOT, root)])
            prover = ScriptedGenerator([(GAP, tactics)]) if tactics else None
            result, _ = await _run(
                pipeline,
                verifier,
                solver,
                prover,
                mode=mode,
                ks=10,
                solver_samples=samples,
                prover_samples=1,
            )
            got = [(a.charged, a.detail) for a in result.attempts]
            assert [c for c, _ in got] == [c for c, _ in expected], (pipeline, mode, got)
            assert result.solved and result.attempts[-1].outcome is Outcome.SOLVED
            for (_, detail), (_, words) in zip(got, expected, strict=True):
                assert words in detail, (pipeline, mode, detail)
                if words:
                    assert "the rollout ended as the reference's does" in detail


async def test_item8_a_try_that_raises_moves_on_in_paper_mode_unless_infrastructure() -> None:
    """WG: a try whose verifier call raises a non-infrastructure error is rejected and the
    next try follows in paper mode (strict: an errored attempt ends the problem); an
    infrastructure failure is an errored attempt in both modes, never an outcome."""
    good = f"have h₁ : answer = 7 := by norm_num\n{SUBMIT}"
    for error, in_paper in (
        (FailedPrecondition("no submission variable"), [Outcome.REJECTED, Outcome.SOLVED]),
        (BackendUnavailable("the verifier went away"), [Outcome.ERROR]),
    ):
        verifier = _verifier(
            steps=[
                (r"^broken", StepRule(raises=error)),
                (r"^have h₁", StepRule((), submits="answer = 7")),
            ]
        )
        for mode, expected in ((d.Mode.PAPER, in_paper), (d.Mode.STRICT, [Outcome.ERROR])):
            outputs = [f"```lean4\nbroken\n{SUBMIT}\n```", f"```lean4\n{good}\n```"]
            solver = ScriptedGenerator([(r"Initial Solution State", outputs)])
            result, _ = await _run(d.Pipeline.WG, verifier, solver, mode=mode, kw=3)
            assert [a.outcome for a in result.attempts] == expected, (type(error), mode)
            assert str(error) in result.attempts[0].detail
            if expected[-1] is Outcome.ERROR:
                assert result.status is d.ProblemStatus.ERRORED


async def test_item8_an_unmapped_timeout_or_os_error_is_never_an_outcome() -> None:
    """A timeout or OS error that reaches the search unmapped is an infrastructure failure in
    paper mode too: it leaves the search (the run manager records an errored attempt and
    retries the problem) instead of becoming the reference's rejected try or rollout."""
    for error in (TimeoutError("no reply in time"), ConnectionResetError("peer reset")):
        verifier = _verifier(steps=[(r"^broken", StepRule(raises=error)), *_verifier().steps])
        for pipeline, outputs in (
            (d.Pipeline.WG, [f"```lean4\nbroken\n{SUBMIT}\n```"]),
            (d.Pipeline.AR, ["broken"]),
        ):
            pattern = r"Initial Solution State" if pipeline is d.Pipeline.WG else ROOT
            solver = ScriptedGenerator([(pattern, outputs)])
            with pytest.raises(type(error)):
                await _run(pipeline, verifier, solver, mode=d.Mode.PAPER, ks=4, kw=2)


async def test_item8_a_rollout_that_raises_ends_and_restarts_in_paper_mode() -> None:
    """The same for a step pipeline: the reference's catch-all ends the rollout, charged with
    the trial that raised, and its evaluator restarts; strict: an errored attempt."""
    verifier = _verifier(steps=[(r"^broken$", StepRule(raises=FailedPrecondition("odd"))),
                                *_verifier().steps])  # fmt: skip
    for mode, expected in (
        (d.Mode.PAPER, [(Outcome.REJECTED, 1), (Outcome.SOLVED, 2)]),
        (d.Mode.STRICT, [(Outcome.ERROR, 0)]),
    ):
        for pipeline in (d.Pipeline.AR, d.Pipeline.BFS):
            solver = ScriptedGenerator([(AFTER_STEP, [SUBMIT]), (ROOT, ["broken", STEP])])
            result, _ = await _run(pipeline, verifier, solver, mode=mode, ks=6, solver_samples=1)
            assert _shape(result) == expected, (pipeline, mode)
            assert "FailedPrecondition: odd" in result.attempts[0].detail


async def test_item9_temperature_zero_reaches_the_model() -> None:
    """An explicit 0 is kept by ``merged`` and sent with every request (greedy)."""
    solver = ScriptedGenerator([(AFTER_STEP, [SUBMIT]), (ROOT, [STEP])])
    scheduler = Scheduler(_verifier(), solver, None, Limits(), solve)
    ctx = scheduler.context(
        params=d.SearchParams().merged(temperature=0.0, ks=4),
        mode=d.Mode.PAPER,
        templates=PromptTemplates.load(),
    )
    assert (await scheduler.run_problem(d.Pipeline.AR, PROBLEM, ctx)).solved
    assert [p.temperature for _, p in solver.requests] == [0.0, 0.0]


def test_paper_submission_test_reads_the_last_line_as_it_is() -> None:
    """The reference tests the raw last line: an indented ``exact ... -- submit`` closes a
    ``have`` proof and is no submission (our strict test strips it); H-SA needs ``exact ``."""
    nested = "have h₂ : answer = 7 := by\n  exact h₁ -- submit"
    assert is_submission(nested) and not paper.is_submission(nested)
    assert paper.is_submission(SUBMIT) and paper.is_submission(MULTI_LINE)
    assert paper.is_submission("exact(h₁) -- submit")
    assert not paper.is_submission("exact(h₁) -- submit", draft=True)
    assert paper.is_submission(f"{DRAFT}\n{SUBMIT}\n\n", draft=True)
