"""The orchestrator, given templates imported from a (synthetic) reference tree, sends exactly the
reference builders' strings: every prompt the model service receives over gRPC, in HAR, BFS, WG,
H-WG and H-SA, equals the builder's output for the same problem and states, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from harcopa.domain import FormalProblem, Pipeline, Prompt
from harcopa.prompts import PromptTemplates
from harcopa.reference import import_reference
from tests import reference_tree as ref
from tests.service.pipelines_harness import Harness, scripted, simple_problem
from tests.service.test_pipelines import DRAFT, STEP, SUBMIT, prover_for_gap
from tests.service.test_pipelines import harness as harness  # a fixture
from tests.service.test_pipelines import harness_verifier as harness_verifier

pytestmark = pytest.mark.asyncio(loop_scope="module")

HYPS = "answer : ℕ\nh_answer : answer = 3 + 4"
GAP = f"{HYPS}\n⊢ answer = 7"
BACKWARD = "case h.mpr\nanswer : ℕ\nh_submission : answer = 7\n⊢ answer = 3 + 4"


class _Text:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


@pytest.fixture
def templates(tmp_path: Path) -> PromptTemplates:
    root = tmp_path / "har_copa_main"
    hashes = json.loads(ref.write_tree(root).read_text(encoding="utf-8"))
    return PromptTemplates.load(import_reference(root, tmp_path / "p.toml", hashes=hashes).path)


def _sent(simulator: object) -> set[tuple[str, str]]:
    prompts: list[Prompt] = simulator.prompts  # type: ignore[attr-defined]
    assert prompts and all([m.role for m in p.messages] == ["system", "user"] for p in prompts)
    return {(p.messages[0].content, p.messages[1].content) for p in prompts}


def _pair(messages: list[dict[str, str]]) -> tuple[str, str]:
    return messages[0]["content"], messages[1]["content"]


def _next_step(informal: str, goal: str) -> tuple[str, str]:
    sample = ref.FormalProblem(informal_problem=informal)
    state = SimpleNamespace(goals=[_Text(goal)])
    return _pair(ref.SFT_NALP_LLMSolutionAutoregressionAgent().gen_prompt(sample, state))


def _proof_step(goal: str) -> tuple[str, str]:
    return _pair(ref.SFT_NALP_LLMProofSearchAgent().gen_prompt(None, goal))


def _problem(pipeline: Pipeline) -> FormalProblem:
    return simple_problem(f"{pipeline.value}: what is {{3 + 4}}? `ℕ` ''' \"\"\" ∑")


@pytest.mark.parametrize(("pipeline", "step"), [(Pipeline.HAR, DRAFT), (Pipeline.BFS, STEP)])
async def test_step_pipelines_send_the_builders_strings(
    harness: Harness, templates: PromptTemplates, pipeline: Pipeline, step: str
) -> None:
    problem = _problem(pipeline)
    solver = scripted((r"h₁ : answer = 7", [SUBMIT]), (r"3 \+ 4\n⊢ \?w", [step]))
    prover = prover_for_gap()
    scheduler, ctx = harness.context(solver, prover, templates=templates)
    assert (await scheduler.run_problem(pipeline, problem, ctx)).solved
    informal = problem.informal_problem
    assert _sent(solver) == {
        _next_step(informal, f"{HYPS}\n⊢ False"),
        _next_step(informal, f"{HYPS}\nh₁ : answer = 7\n⊢ False"),
    }
    if pipeline is Pipeline.HAR:  # the gap search, then the backward proof on h.mpr
        assert _sent(prover) == {_proof_step(GAP), _proof_step(BACKWARD)}
    else:
        assert not prover.prompts


@pytest.mark.parametrize("pipeline", [Pipeline.WG, Pipeline.H_WG])
async def test_whole_draft_pipelines_send_the_builders_strings(
    harness: Harness, templates: PromptTemplates, pipeline: Pipeline
) -> None:
    drafting = pipeline is Pipeline.H_WG
    problem = _problem(pipeline)
    solver = scripted((r"SYNTH-P[34]", [f"```lean4\n{DRAFT if drafting else STEP}\n{SUBMIT}\n```"]))
    prover = prover_for_gap()
    scheduler, ctx = harness.context(solver, prover, templates=templates)
    assert (await scheduler.run_problem(pipeline, problem, ctx)).solved
    build = (
        ref.format_solution_draft_prompt
        if drafting
        else ref.format_whole_solution_generation_prompt
    )
    goal_h = f"case h\n{HYPS}\n⊢ ?w"
    assert _sent(solver) == {(ref.SYSTEM_PROMPT_SFT, build(problem.informal_problem, goal_h))}
    if drafting:
        assert _sent(prover) == {_proof_step(GAP)}


async def test_h_sa_sends_the_builders_strings(
    harness: Harness, templates: PromptTemplates
) -> None:
    problem = _problem(Pipeline.H_SA)
    draft = "```lean4\nhave h₁ : answer = 7 := by sorry\nexact h₁ -- submit\n```"
    solver = scripted((r"SYNTH-P5", [draft]))
    prover = prover_for_gap()
    scheduler, ctx = harness.context(solver, prover, templates=templates, kw=1)
    assert (await scheduler.run_problem(Pipeline.H_SA, problem, ctx)).solved
    sample = ref.FormalProblem(
        informal_problem=problem.informal_problem,
        informal_answer=problem.informal_answer,
        informal_solution=problem.informal_solution,
        formal_statement=problem.formal_statement,
        formal_solution_draft=None,
        metainfo={},
    )
    user = ref.SolutionAutoformalizer(None, "/models/m").format_solution_draft_prompt(sample)
    assert _sent(solver) == {(ref.GENERAL_SYSTEM, user)}
    assert _sent(prover) == {_proof_step(GAP)}
