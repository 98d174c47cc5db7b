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
STATS = d.SearchStats(3, 4, 5, d.TokenUsage(10, 20, 5), 1.5, 2.25, 1)


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
        "r/1", parsed, ((d.Framework.SOLVING, STATE), (d.Framework.STATEMENT, STATE))
    )
    msg = wire.to_session(session, "r")
    assert isinstance(msg, verifier_pb2.OpenSessionResponse) and msg.replica_id == "r"
    assert wire.from_session(msg) == session


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
        steps=(d.SolutionStep("have h : 1 = 1 := sorry", (d.ProofStep(0, "rfl"),)),),
        submission_step="exact h -- submit",
        submission="answer = 2",
        rpe_tactic="norm_num",
        backward_proof=(d.ProofStep(0, "simp"),),
        draft=None,
        final_check_ok=True,
        candidates=7,
        budget_used=2.0,
        stats=STATS,
        detail="ok",
    )
    bare = d.Attempt(0, d.AttemptOutcome.BUDGET_EXHAUSTED)
    for a in (attempt, bare, d.Attempt(2, d.AttemptOutcome.ERROR, backward_proof=())):
        assert wire.from_attempt(wire.to_attempt(a)) == a
    result = d.ProblemResult("minif2f_solving/3", "har", "paper", (bare, attempt), 12.5)
    msg = wire.to_problem_result(result)
    assert isinstance(msg, orchestrator_pb2.ProblemResult) and msg.solved
    assert wire.from_problem_result(msg) == result
    spec = d.RunSpec(
        d.Pipeline.H_BFS,
        "formal_math500",
        d.ModelRef("127.0.0.1:50052"),
        d.ModelRef("http://localhost:8000/v1", "m", "KEY", "You are a Lean 4 expert."),
        "nightly",
        (1, 2, 3),
        d.SearchParams(solver_max_trials=20, temperature=0.5),
        d.Mode.PAPER,
        4,
        7,
    )
    assert wire.from_run_spec(wire.to_run_spec(spec)) == spec
    minimal = d.RunSpec(d.Pipeline.WG, "putnam_solving", d.ModelRef("h:1"))
    assert wire.from_run_spec(wire.to_run_spec(minimal)) == minimal
    for pipeline in d.Pipeline:
        assert wire.from_pipeline(wire.to_pipeline(pipeline)) is pipeline
    with pytest.raises(ValueError):
        wire.from_run_spec(orchestrator_pb2.RunSpec())
    progress = d.RunProgress(10, 5, 2, 1, 100, 200, 3.5, 4.5, 1)
    run = d.Run("run-1", spec, d.RunStatus.RUNNING, progress, 1.0, 2.0, "")
    assert wire.from_run(wire.to_run(run)) == run
    event = d.RunEvent("run-1", d.RunStatus.SUCCEEDED, progress, "formal_math500/3", True, 9.0)
    assert wire.from_run_event(wire.to_run_event(event)) == event


def test_unset_search_params_take_paper_defaults() -> None:
    params = wire.from_search_params(orchestrator_pb2.SearchParams())
    assert params == d.SearchParams()
    assert params.tries_for(d.Pipeline.WG) == 8 and params.tries_for(d.Pipeline.HAR) == 1
