"""``harcopa export-sft`` renders exactly what the orchestrator sent: runs of the pipelines through
the real VerifierService (lean-sim) and a recording model simulator, stored in the real run store,
exported, and every record's (system, input) found among the prompts the simulator received.

The runs use a templates file of their own with a run-level system prompt (as ``--templates``
and ``RunSpec.solver.system_prompt`` would), so the export is checked on both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harcopa import domain as d
from harcopa.prompts import PromptTemplates
from harcopa_cli.main import main
from harcopa_orchestrator.store import RunStore
from harcopa_trainer.export import RECIPES
from tests.service.pipelines_harness import (
    Harness,
    ScriptedGeneratorSimulator,
    scripted,
    simple_problem,
)
from tests.service.test_pipelines import DRAFT, HAS_H1, NO_H1, STEP, SUBMIT, prover_for_gap
from tests.service.test_pipelines import harness as harness  # a fixture
from tests.service.test_pipelines import harness_verifier as harness_verifier

pytestmark = pytest.mark.asyncio(loop_scope="module")

SYSTEM = "You write Lean 4 for the export test."
INFORMAL = "export: what is 3 + 4?"
WHOLE = f"```lean4\n{DRAFT}\n{SUBMIT}\n```"


def _templates(tmp_path: Path) -> Path:
    text = PromptTemplates.load().tasks["next_proof_step_prediction"].user
    packaged = Path(__file__).parents[2] / "harcopa" / "templates" / "prompts.toml"
    custom = tmp_path / "run-prompts.toml"
    source = packaged.read_text(encoding="utf-8")
    assert text.splitlines()[0] in source
    custom.write_text(source.replace(text.splitlines()[0], "Next tactic, please."))
    return custom


def _problems(tmp_path: Path) -> Path:
    problem = simple_problem(INFORMAL)
    path = tmp_path / f"{problem.benchmark}.json"
    record = {
        "formal_statement": problem.formal_statement,
        "informal_problem": problem.informal_problem,
        "informal_answer": problem.informal_answer,
        "informal_solution": problem.informal_solution,
    }
    path.write_text(json.dumps([record]), encoding="utf-8")
    return path


def _sent(*simulators: ScriptedGeneratorSimulator | None) -> set[tuple[str, str]]:
    pairs = set()
    for simulator in simulators:
        for prompt in simulator.prompts if simulator else ():
            system, user = prompt.messages
            pairs.add((system.content, user.content))
    return pairs


CASES = [
    (d.Pipeline.HAR, "har", [(HAS_H1, [SUBMIT]), (NO_H1, [DRAFT])], True),
    (d.Pipeline.H_BFS, "h_bfs", [(HAS_H1, [SUBMIT] * 8), (NO_H1, [DRAFT] * 8)], True),
    (d.Pipeline.AR, "ar", [(NO_H1, ["exact h_answer -- submit"])], False),
    (d.Pipeline.BFS, "bfs", [(HAS_H1, [SUBMIT] * 8), (NO_H1, [STEP] * 8)], False),
    (
        d.Pipeline.WG,
        "wg",
        [("Initial Solution State", [f"```lean4\n{STEP}\n{SUBMIT}\n```"])],
        False,
    ),
    (d.Pipeline.H_WG, "h_wg", [("Initial Solution State", [WHOLE])], True),
    (d.Pipeline.H_SA, "h_sa", [("# Formal Statement", [WHOLE])], True),
]


@pytest.mark.parametrize(("pipeline", "recipe", "scripts", "hierarchical"), CASES)
async def test_exported_prompts_are_the_prompts_sent(
    harness: Harness,
    tmp_path: Path,
    pipeline: d.Pipeline,
    recipe: str,
    scripts: list[tuple[str, list[str]]],
    hierarchical: bool,
) -> None:
    templates_file = _templates(tmp_path)
    templates = PromptTemplates.load(templates_file).with_system(SYSTEM)
    solver = scripted(*scripts)
    prover = prover_for_gap() if hierarchical else None
    scheduler, ctx = harness.context(solver, prover, templates=templates)
    problem = simple_problem(INFORMAL)
    result = await scheduler.run_problem(pipeline, problem, ctx)
    assert result.solved

    store = RunStore(tmp_path / "s.sqlite")
    spec = d.RunSpec(pipeline, str(_problems(tmp_path)), d.ModelRef("m", system_prompt=SYSTEM))
    await store.create_run("r1", spec, 1)
    await store.record_result("r1", result)
    store.close()
    out = tmp_path / "sft.jsonl"
    args = ["export-sft", "r1", "--recipe", recipe, "--store", str(tmp_path / "s.sqlite")]
    assert main([*args, "--out", str(out), "--templates", str(templates_file)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    sent = _sent(solver, prover)
    assert records and {(r["system"], r["input"]) for r in records} <= sent
    tasks = {r["task"] for r in records}
    assert tasks == set(RECIPES[recipe]) - {"statement_autoformalization"}  # no CoPA record here
    if hierarchical:
        proof_inputs = [r["input"] for r in records if r["task"] == "next_proof_step_prediction"]
        assert all(text.startswith("Next tactic, please.") for text in proof_inputs)
    assert all(r["system"] == SYSTEM for r in records)
