"""Round trip of every domain value through harcopa.wire (proto <-> domain)."""

from __future__ import annotations

import pytest

from harcopa import domain as d
from harcopa import wire
from harcopa.v1 import common_pb2, model_pb2, orchestrator_pb2, verifier_pb2

VAR_A = d.Variable("a", "ℕ")
VAR_INST = d.Variable(None, "Fact (1 < 2)")
VAR_LET = d.Variable("x", "ℝ", "2 + 3")
GOAL = d.Goal(
    (VAR_A, VAR_INST, VAR_LET),
    "a = 5",
    "h.mp",
    sibling_dep=(2,),
    is_conversion=True,
    mvar_id="_uniq.7",
)
STATE = d.ProofState(d.StateHandle("replica-0/abc", 12), (GOAL, d.Goal((), "Prop", "w")))
STATS = d.SearchStats(3, 4, 5, d.TokenUsage(10, 20, 5), 1.5, 2.25, 1, 0.75, 0.5)


def test_lean_objects_round_trip() -> None:
    for var in (VAR_A, VAR_INST, VAR_LET):
        assert wire.from_variable(wire.to_variable(var)) == var
    back = wire.from_goal(wire.to_goal(GOAL))
    assert back == GOAL and back.mvar_id == "_uniq.7"
    assert wire.from_handle(wire.to_handle(STATE.handle)) == STATE.handle
    assert wire.from_state(wire.to_state(STATE)).handle == STATE.handle
    for result in (
        STATE,
        d.ProofComplete(d.ProofState(d.StateHandle("s", 3), ())),
        d.TacticError(("unknown identifier 'foo'", "second")),
        d.TacticTimeout(30.0),
    ):
        back = wire.from_tactic_result(wire.to_tactic_result(result))
        assert back == result and type(back) is type(result)
    with pytest.raises(ValueError):
        wire.from_tactic_result(common_pb2.TacticResult())


def test_file_check_and_problem_round_trip() -> None:
    check = d.FileCheck(
        False,
        (
            d.Message(d.Severity.ERROR, "unsolved goals", 3, 4),
            d.Message(d.Severity.WARNING, "sorry"),
        ),
        1,
        ("propext", "sorryAx"),
        0.5,
    )
    assert wire.from_file_check(wire.to_file_check(check)) == check
    problem = d.FormalProblem(
        "formal_math500",
        7,
        "example (answer : ℕ) : answer = 1 := sorry",
        "p",
        "1",
        "s",
        header="open Real\n",
        formal_solution_draft=None,
        metainfo=(("level", '"Level 2"'),),
    )
    assert wire.from_problem(wire.to_problem(problem)) == problem
    no_header = d.FormalProblem("b", 0, "example : True := sorry")
    assert wire.from_problem(wire.to_problem(no_header)) == no_header
    parsed = d.ParsedProblem((VAR_A,), "ℝ", (VAR_INST, d.Variable("h", "answer = a")), None, ("w",))
    assert wire.from_parsed(wire.to_parsed(parsed)) == parsed
    session = d.Session(
        "r/1", parsed, ((d.Framework.SOLVING, STATE), (d.Framework.STATEMENT, STATE)), "r"
    )
    msg = wire.to_session(session)
    assert isinstance(msg, verifier_pb2.OpenSessionResponse) and msg.replica_id == "r"
    assert wire.from_session(msg) == session


def test_verifier_answers_round_trip() -> None:
    for draft in (d.Draft(STATE, 2), d.Draft(d.TacticError(("no",)))):
        msg = wire.to_draft(draft)
        assert isinstance(msg, verifier_pb2.ApplyStepResponse)
        assert wire.from_draft(msg) == draft
    assert d.Draft(STATE, 1).gaps == STATE.goals[:1] and d.Draft(d.TacticTimeout(1.0)).gaps == ()
    for validation in (d.Validation(STATE, "answer = 2"), d.Validation(d.TacticError(("x",)))):
        assert wire.from_validation(wire.to_validation(validation)) == validation
    assert d.Validation(STATE).state == STATE and d.Validation(d.TacticTimeout(2.0)).state is None
    for equivalence in (
        d.Equivalence("norm_num", True, ("note",), 1.5),
        d.Equivalence(None, False),
    ):
        assert wire.from_equivalence(wire.to_equivalence(equivalence)) == equivalence


def test_generation_round_trip() -> None:
    for prompt in (
        d.Prompt(text="raw"),
        d.Prompt(messages=(d.ChatMessage("system", "sys"), d.ChatMessage("user", "hi"))),
    ):
        for mode in d.LogprobsMode:
            params = d.SamplingParams(4, 0.7, 0.95, 256, ("\n\n",), 42, True, mode)
            request = wire.to_generate_request(prompt, params, model="m")
            assert isinstance(request, model_pb2.GenerateRequest)
            assert wire.from_prompt(request) == prompt
            assert wire.from_sampling(request.params) == params
    unset = wire.from_sampling(model_pb2.SamplingParams())
    assert unset.n == 1 and unset.logprobs_mode is d.LogprobsMode.RAW
    with pytest.raises(ValueError):
        wire.from_prompt(model_pb2.GenerateRequest())
    generation = d.Generation(
        (
            d.Completion("exact h", d.FinishReason.STOP, (-0.5, -0.25), 2),
            d.Completion("", d.FinishReason.LENGTH),
            d.Completion("x", d.FinishReason.CANCELLED),
        ),
        d.TokenUsage(100, 3, 64),
        "tiny",
        0.125,
    )
    msg = wire.to_generation(generation)
    assert msg.completions[0].mean_nll == pytest.approx(0.375)
    assert wire.from_generation(msg) == generation


def test_search_results_and_runs_round_trip() -> None:
    attempt = d.Attempt(
        1,
        d.AttemptOutcome.SOLVED,
        steps=(
            d.SolutionStep(
                "have h : 1 = 1 := sorry", (d.AppliedTactic(0, "rfl", "⊢ 1 = 1"),), "case h.mp"
            ),
        ),
        submission_step="exact h -- submit",
        submission="answer = 2",
        rpe_tactic="norm_num",
        backward_proof=(d.AppliedTactic(0, "simp"),),
        draft=None,
        final_check_ok=True,
        charged=7,
        paper_budget=2.0,
        stats=STATS,
        detail="ok",
        prompt_state="case h.mp\n⊢ ?w",
        strict_audit_passed=False,
        forbidden_axioms=("Lean.ofReduceBool",),
        rejected=(
            d.RejectedCandidate(
                "have h : 1 = 2 := by simp", "Lean rejected it: unsolved goals", "⊢ ?w"
            ),
            d.RejectedCandidate("<script>alert(1)</script>", "banned token `sorry`"),
            d.RejectedCandidate("", "3 more rejected candidates were not recorded"),
        ),
    )
    bare = d.Attempt(0, d.AttemptOutcome.BUDGET_EXHAUSTED)
    for a in (attempt, bare, d.Attempt(2, d.AttemptOutcome.ERROR, backward_proof=())):
        assert wire.from_attempt(wire.to_attempt(a)) == a
        assert wire.attempt_from_json(wire.attempt_to_json(a)) == a  # the store's format
    assert wire.to_attempt(attempt).rejected[0].reason.startswith("Lean rejected")
    result = d.ProblemResult("minif2f_solving/3", "har", "paper", (bare, attempt), 12.5, 2)
    msg = wire.to_problem_result(result)
    assert isinstance(msg, orchestrator_pb2.ProblemResult) and msg.solved
    assert msg.status == orchestrator_pb2.PROBLEM_STATUS_SOLVED
    assert wire.from_problem_result(msg) == result
    errored = d.ProblemResult("p/1", "ar", "strict", (d.Attempt(0, d.AttemptOutcome.ERROR),))
    assert errored.status is d.ProblemStatus.ERRORED
    assert wire.to_problem_result(errored).status == orchestrator_pb2.PROBLEM_STATUS_ERRORED
    spec = d.RunSpec(
        d.Pipeline.H_BFS,
        "formal_math500",
        d.ModelRef("solver"),
        d.ModelRef("", "http://localhost:8000/v1", "m", "You are a Lean 4 expert."),
        "nightly",
        (1, 2, 3),
        d.SearchParams(ks=20, temperature=0.5),
        d.Mode.PAPER,
        4,
        7,
    )
    assert wire.from_run_spec(wire.to_run_spec(spec)) == spec
    minimal = d.RunSpec(d.Pipeline.WG, "putnam_solving")
    assert wire.from_run_spec(wire.to_run_spec(minimal)) == minimal
    for pipeline in d.Pipeline:
        assert wire.from_pipeline(wire.to_pipeline(pipeline)) is pipeline
    with pytest.raises(ValueError):
        wire.from_run_spec(orchestrator_pb2.RunSpec())
    progress = d.RunProgress(10, 5, 2, 1, 100, 200, 3.5, 4.5, 1, 3, 2, 60.0, 300.0, 12.0, 7.5)
    assert wire.from_progress(wire.to_progress(d.RunProgress())).eta_seconds is None
    for status in d.RunStatus:
        run = d.Run("run-1", spec, status, progress, 1.0, 2.0, "", ("formal_math500/3",), "me")
        assert wire.from_run(wire.to_run(run)) == run
    event = d.RunEvent(
        "run-1", d.RunStatus.INCOMPLETE, progress, "formal_math500/3", False, 9.0, True
    )
    assert wire.from_run_event(wire.to_run_event(event)) == event


def test_unset_search_params_take_paper_defaults() -> None:
    params = wire.from_search_params(orchestrator_pb2.SearchParams())
    assert params == d.SearchParams()
    assert params.tries_for(d.Pipeline.WG) == 8 and params.tries_for(d.Pipeline.HAR) == 1


def test_training_messages_round_trip() -> None:
    request = d.TrainingRequest(
        name="demo-1",
        run_ids=("a", "b"),
        base_model="/workspace/base",
        output_dir="/workspace/cycles/demo-1",
        recipes=("copa", "har"),
        tasks=("next_proof_step_prediction",),
        include_unsolved=True,
        datasets=("/workspace/released.jsonl",),
        recipe="learning_rate: 2.0e-5\n",
        processes=8,
    )
    assert wire.from_training_request(wire.to_training_request(request)) == request
    outcome = d.TrainingOutcome("/w/sft.jsonl", "ab" * 32, 12, "/w/model", '{"steps": 4}')
    for training in (
        d.Training("demo-1", "harcopa-train-demo-1-0f", d.TrainingState.PENDING),
        d.Training(
            "demo-1",
            "job",
            d.TrainingState.SUCCEEDED,
            "job complete",
            ("line 1", "line 2"),
            outcome,
            True,
        ),
    ):
        assert wire.from_training(wire.to_training(training)) == training
    with pytest.raises(ValueError, match="unknown training state"):
        wire.from_training(
            orchestrator_pb2.Training(state=orchestrator_pb2.TRAINING_STATE_UNSPECIFIED)
        )
