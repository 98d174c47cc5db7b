"""``harcopa export-sft`` on recorded trajectories in a real SQLite run store: exact records.

Runs are written with the orchestrator's RunStore (known attempts of HAR, AR, WG, H-WG and H-SA
runs on a one-problem file); the export is read back and compared record by record: tasks,
prompts rendered with the run's templates and system prompt, outputs, sources, the filters
(unverified, banned tokens, no-op tactics, missing prompt states, duplicates) and their counts,
both output forms, CoPA record files, released-format datasets and the bad-input errors.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from harcopa import domain as d
from harcopa.fps import extract_code, extract_single_block
from harcopa.prompts import PromptTemplates
from harcopa_cli.main import main
from harcopa_orchestrator.store import RunStore
from harcopa_trainer.data import SftRecord, read_records

INFORMAL = "What is 3 + 4?"
STATEMENT = "example\n(answer : ℕ)\n  (h_answer : answer = 3 + 4)\n: answer = 7\n:= sorry"
S0 = "case h.mp\nanswer : ℕ\nh_answer : answer = 3 + 4\n⊢ ?w"
S1 = "case h.mp\nanswer : ℕ\nh_answer : answer = 3 + 4\nh₁ : answer = 7\n⊢ ?w"
GAP = "answer : ℕ\nh_answer : answer = 3 + 4\n⊢ answer = 7"
BACK = "answer : ℕ\nh_submission : answer = 7\n⊢ answer = 3 + 4"
DRAFT = "-- 3 + 4 = 7\nhave h₁ : answer = 7 := sorry"
SUBMIT = "exact h₁ -- submit"
SOLVED, WRONG = d.AttemptOutcome.SOLVED, d.AttemptOutcome.WRONG_ANSWER
T = PromptTemplates.load()


def _tactic(text: str, state: str = GAP, goal: int = 0) -> d.AppliedTactic:
    return d.AppliedTactic(goal, text, state)


def _har_attempts() -> tuple[d.Attempt, ...]:
    solved = d.Attempt(
        0,
        SOLVED,
        steps=(d.SolutionStep(DRAFT, (_tactic("norm_num [h_answer]"),), S0),),
        submission_step=SUBMIT,
        prompt_state=S1,
        backward_proof=(_tactic("rw [h_submission]", BACK),),
    )
    wrong = d.Attempt(
        1,
        WRONG,
        steps=(d.SolutionStep("have h₂ : answer = 8 := sorry", (_tactic("simp", GAP),), S0),),
        submission_step="exact h₂ -- submit",
        prompt_state=S1,
    )
    return (wrong, solved)


@pytest.fixture
def problems_file(tmp_path: Path) -> Path:
    path = tmp_path / "handwritten.json"
    record = {
        "formal_statement": STATEMENT,
        "informal_problem": INFORMAL,
        "informal_answer": "7",
        "informal_solution": "3 + 4 = 7.",
    }
    path.write_text(json.dumps([record]), encoding="utf-8")
    return path


def _store_run(
    store_path: Path,
    run_id: str,
    pipeline: d.Pipeline,
    benchmark: Path,
    attempts: tuple[d.Attempt, ...],
    system_prompt: str = "",
) -> None:
    async def write() -> None:
        store = RunStore(store_path)
        try:
            spec = d.RunSpec(
                pipeline, str(benchmark), d.ModelRef("solver", system_prompt=system_prompt)
            )
            await store.create_run(run_id, spec, 1)
            result = d.ProblemResult("handwritten/0", pipeline.value, "strict", attempts)
            await store.record_result(run_id, result)
            await store.set_status(run_id, d.RunStatus.SUCCEEDED)
        finally:
            store.close()

    asyncio.run(write())


def _export(tmp_path: Path, *args: str) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    out = tmp_path / "sft.jsonl"
    code = main(["export-sft", *args, "--store", str(tmp_path / "s.sqlite"), "--out", str(out)])
    if code != 0:
        return code, [], {}
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    meta = json.loads((tmp_path / "sft.jsonl.meta.json").read_text(encoding="utf-8"))
    return code, lines, meta


def _flat(prompt: d.Prompt, output: str, task: str, source: str) -> dict[str, Any]:
    system, user = prompt.messages
    return SftRecord(system.content, user.content, output, task, source).to_json()


def test_har_run_gives_drafting_steps_and_verified_tactics(
    tmp_path: Path, problems_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_run(tmp_path / "s.sqlite", "run-har", d.Pipeline.HAR, problems_file, _har_attempts())
    code, records, meta = _export(tmp_path, "run-har", "--recipe", "har", "--json")
    assert code == 0
    src = "run-har/handwritten/0/attempt0"
    step = "next_solution_step_drafting"
    assert records == [
        _flat(T.next_solution_step(INFORMAL, S0, drafting=True), DRAFT, step, f"{src}/step0"),
        _flat(
            T.next_proof_step(GAP),
            "norm_num [h_answer]",
            "next_proof_step_prediction",
            f"{src}/step0/gap/tactic0",
        ),
        _flat(T.next_solution_step(INFORMAL, S1, drafting=True), SUBMIT, step, f"{src}/submission"),
        _flat(
            T.next_proof_step(BACK),
            "rw [h_submission]",
            "next_proof_step_prediction",
            f"{src}/backward/tactic0",
        ),
    ]
    # The prover's prompt, literally: the packaged P1 layout around the goal text.
    assert records[1]["system"] == "You are a Lean 4 expert."
    assert records[1]["input"].endswith(f"Current tactic state:\n```\n{GAP}\n```\n")
    # The wrong-answer attempt (step, gap tactic, submission) is unverified: 3 pieces dropped.
    assert meta["dropped"] == {
        "unverified": 3,
        "banned_token": 0,
        "no_op": 0,
        "no_prompt_state": 0,
        "duplicate": 0,
    }
    assert meta["records_per_task"] == {"next_proof_step_prediction": 2, step: 2}
    assert (
        meta["templates"]["path"].endswith("(packaged)") and len(meta["templates"]["sha256"]) == 64
    )
    captured = capsys.readouterr()
    assert json.loads(captured.out) == meta
    assert captured.err.strip().splitlines() == [
        f"export-sft: 4 records to {tmp_path / 'sft.jsonl'} (next_proof_step_prediction 2,"
        f" {step} 2); dropped: unverified 3"
    ]
    # What the orchestrator's parsers read back from each output is the recorded text.
    assert [extract_code(r["output"]) for r in records] == [
        DRAFT,
        "norm_num [h_answer]",
        SUBMIT,
        "rw [h_submission]",
    ]


def test_include_unsolved_keeps_lean_accepted_steps_but_never_a_failed_submission(
    tmp_path: Path, problems_file: Path
) -> None:
    _store_run(tmp_path / "s.sqlite", "run-har", d.Pipeline.HAR, problems_file, _har_attempts())
    _, records, meta = _export(
        tmp_path, "run-har", "--task", "next_solution_step_drafting", "--include-unsolved"
    )
    assert [(r["source"], r["output"]) for r in records] == [
        ("run-har/handwritten/0/attempt1/step0", "have h₂ : answer = 8 := sorry"),
        ("run-har/handwritten/0/attempt0/step0", DRAFT),
        ("run-har/handwritten/0/attempt0/submission", SUBMIT),
    ]
    assert meta["dropped"]["unverified"] == 1  # the wrong answer's submission


def test_filters_banned_tokens_no_op_tactics_missing_states_and_duplicates(
    tmp_path: Path, problems_file: Path
) -> None:
    noop = (_tactic("skip"), _tactic("norm_num [h_answer]"))  # the goal shown twice: skip no-op
    attempts = (
        d.Attempt(
            0,
            SOLVED,
            steps=(
                d.SolutionStep(DRAFT, noop, S0),
                d.SolutionStep("have h₃ : answer = 7 := by admit", (), S1),  # banned
                d.SolutionStep("have h₄ : answer = 7 := rfl", (), ""),  # no prompt state
            ),
            submission_step="exact (sorry : answer = 7) -- submit",  # sorry in a submission
            prompt_state=S1,
        ),
        d.Attempt(1, SOLVED, steps=(d.SolutionStep(DRAFT, (), S0),), prompt_state=S1),
    )
    _store_run(tmp_path / "s.sqlite", "r", d.Pipeline.HAR, problems_file, attempts)
    _, records, meta = _export(tmp_path, "r", "--recipe", "har")
    assert [(r["task"], r["output"]) for r in records] == [
        ("next_solution_step_drafting", DRAFT),
        ("next_proof_step_prediction", "norm_num [h_answer]"),
    ]
    assert {k: v for k, v in meta["dropped"].items() if v} == {
        "banned_token": 2,
        "no_op": 1,
        "no_prompt_state": 1,
        "duplicate": 1,
    }


def test_flat_pipeline_steps_are_predictions_and_may_not_keep_sorry(
    tmp_path: Path, problems_file: Path
) -> None:
    attempts = (
        d.Attempt(
            0,
            SOLVED,
            steps=(
                d.SolutionStep("have h₁ : answer = 7 := by norm_num [h_answer]", (), S0),
                d.SolutionStep(DRAFT, (), S1),
            ),
            submission_step=SUBMIT,
            prompt_state=S1,
        ),
    )
    _store_run(tmp_path / "s.sqlite", "ar", d.Pipeline.AR, problems_file, attempts, "Be brief.")
    _, records, meta = _export(tmp_path, "ar", "--recipe", "ar")
    templates = T.with_system("Be brief.")
    src = "ar/handwritten/0/attempt0"
    assert records == [
        _flat(
            templates.next_solution_step(INFORMAL, S0),
            "have h₁ : answer = 7 := by norm_num [h_answer]",
            "next_solution_step_prediction",
            f"{src}/step0",
        ),
        _flat(
            templates.next_solution_step(INFORMAL, S1),
            SUBMIT,
            "next_solution_step_prediction",
            f"{src}/submission",
        ),
    ]
    assert records[0]["system"] == "Be brief."
    assert meta["dropped"]["banned_token"] == 1


def _draft_attempt(
    outcome: d.AttemptOutcome, draft: str, index: int = 0, gaps: bool = True
) -> d.Attempt:
    proved = gaps and outcome is SOLVED
    return d.Attempt(
        index,
        outcome,
        draft=draft,
        prompt_state=S0,
        gap_proof=(_tactic("norm_num [h_answer]"),) if proved else (),
    )


def test_whole_draft_runs_give_fenced_drafts_and_gap_tactics(
    tmp_path: Path, problems_file: Path
) -> None:
    store = tmp_path / "s.sqlite"
    whole = f"have h₁ : answer = 7 := by norm_num [h_answer]\n{SUBMIT}"
    _store_run(
        store, "wg", d.Pipeline.WG, problems_file, (_draft_attempt(SOLVED, whole, gaps=False),)
    )
    hwg = (_draft_attempt(d.AttemptOutcome.GAP_UNPROVEN, f"{DRAFT}\n{SUBMIT}", 0),)
    hwg += (_draft_attempt(SOLVED, f"{DRAFT}\n{SUBMIT}", 1),)
    _store_run(store, "hwg", d.Pipeline.H_WG, problems_file, hwg)
    hsa = (_draft_attempt(SOLVED, f"{DRAFT}\n{SUBMIT}"),)
    _store_run(store, "hsa", d.Pipeline.H_SA, problems_file, hsa)
    _, records, _ = _export(tmp_path, "wg", "hwg", "hsa", "--recipe", "wg", "--recipe", "h_wg")
    _, drafting, _ = _export(tmp_path, "hsa", "--task", "solution_drafting")
    assert records == [
        _flat(
            T.whole_solution(INFORMAL, S0, drafting=False),
            f"```lean4\n{whole}\n```",
            "whole_solution_generation",
            "wg/handwritten/0/attempt0/draft",
        ),
        _flat(
            T.whole_solution(INFORMAL, S0, drafting=True),
            f"```lean4\n{DRAFT}\n{SUBMIT}\n```",
            "whole_solution_drafting",
            "hwg/handwritten/0/attempt1/draft",
        ),
        _flat(
            T.next_proof_step(GAP),
            "norm_num [h_answer]",
            "next_proof_step_prediction",
            "hwg/handwritten/0/attempt1/draft/gap/tactic0",
        ),
    ]  # H-SA's gap tactic is the same pair as H-WG's: a duplicate
    assert extract_single_block(records[0]["output"]) == whole
    assert drafting == [
        _flat(
            T.solution_drafting(INFORMAL, "7", "3 + 4 = 7.", STATEMENT),
            f"```lean4\n{DRAFT}\n{SUBMIT}\n```",
            "solution_drafting",
            "hsa/handwritten/0/attempt0/draft",
        )
    ]


def test_templates_file_xtuner_form_and_round_trip(tmp_path: Path, problems_file: Path) -> None:
    text = Path(__file__).parents[2].joinpath("harcopa/templates/prompts.toml").read_text()
    custom = tmp_path / "custom.toml"
    custom.write_text(text.replace('default = "You are a Lean 4 expert."', 'default = "Custom."'))
    _store_run(tmp_path / "s.sqlite", "run-har", d.Pipeline.HAR, problems_file, _har_attempts())
    args = ("run-har", "--recipe", "har", "--templates", str(custom), "--format", "xtuner")
    _, records, meta = _export(tmp_path, *args)
    assert records[0] == {
        "conversation": [
            {
                "system": "Custom.",
                "input": T.next_solution_step(INFORMAL, S0, drafting=True).messages[1].content,
                "output": DRAFT,
            }
        ],
        "task": "next_solution_step_drafting",
        "source": "run-har/handwritten/0/attempt0/step0",
    }
    assert meta["templates"]["path"] == str(custom)
    back = list(read_records(tmp_path / "sft.jsonl"))
    assert [(r.system, r.output, r.task) for r in back][:2] == [
        ("Custom.", DRAFT, "next_solution_step_drafting"),
        ("Custom.", "norm_num [h_answer]", "next_proof_step_prediction"),
    ]


def test_copa_records_and_released_datasets(tmp_path: Path) -> None:
    copa = tmp_path / "copa.jsonl"
    rows = [
        {
            "informal_problem": INFORMAL,
            "informal_answer": "7",
            "formal_statement": STATEMENT,
            "verified": True,
            "informal_solution": "3 + 4 = 7.",
            "formal_solution_draft": DRAFT,
        },
        {
            "informal_problem": "1 + 1?",
            "informal_answer": "2",
            "formal_statement": STATEMENT,
            "verified": False,
        },
    ]
    copa.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    released = tmp_path / "released.jsonl"
    lines = [
        {"system": "S", "input": "I", "output": "O"},
        {"conversation": [{"system": "S", "input": "I", "output": "O"}]},  # the same pair
        {"conversation": [{"input": "I2", "output": "O2"}]},
    ]
    released.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    args = ("--recipe", "copa", "--copa", str(copa), "--dataset", str(released))
    _, records, meta = _export(tmp_path, *args)
    assert [(r["task"], r["output"]) for r in records] == [
        ("statement_autoformalization", f"```lean4\n{STATEMENT}\n```"),
        ("solution_drafting", f"```lean4\n{DRAFT}\n```"),
        ("", "O"),
        ("", "O2"),
    ]
    assert records[0]["input"] == T.statement_autoformalization(INFORMAL, "7").messages[1].content
    assert records[3]["system"] == "" and records[3]["source"] == f"{released}:3"
    assert meta["dropped"]["unverified"] == 1 and meta["dropped"]["duplicate"] == 1
    assert meta["records_per_task"]["unlabelled"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--recipe", "har"], "unknown run id 'nope'"),
        (["run-har", "--task", "poetry"], "unknown task 'poetry'"),
        (["run-har", "--recipe", "xx"], "unknown recipe 'xx'"),
        (["run-har"], "name at least one --task or --recipe"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    problems_file: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    _store_run(tmp_path / "s.sqlite", "run-har", d.Pipeline.HAR, problems_file, _har_attempts())
    code, _, _ = _export(tmp_path, *args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
