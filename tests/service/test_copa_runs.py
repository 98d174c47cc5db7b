"""Copa runs as runs like any other: an informal corpus validated at StartRun, the run manager over
the production solver (real verifier service on lean-sim, a scripted model behind a real model
server), the real SQLite store, honest outcomes (a model crash leaves the run incomplete, resume
finishes it), ``harcopa run report``'s CoPA table, and ``harcopa export-sft --recipe copa``
exporting the prompts that were sent."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from harcopa import domain as d
from harcopa.domain import Generation, Prompt, SamplingParams
from harcopa.errors import BackendCrashed, InvalidRequest
from harcopa.prompts import PromptTemplates
from harcopa_cli.main import main
from harcopa_orchestrator.models import ModelEndpoint, ModelRegistry, ModelsConfig
from harcopa_orchestrator.problems import problem_loader
from harcopa_orchestrator.runs import RunManager
from harcopa_orchestrator.scheduler import Limits
from harcopa_orchestrator.solver import SchedulerSolver
from harcopa_orchestrator.store import RunStore
from tests.service.pipelines_harness import (
    Script,
    ScriptedGeneratorSimulator,
    ServedGeneratorSimulator,
)
from tests.service.test_pipelines_copa import DRAFT, STATEMENT, fenced
from tests.service.test_pipelines_copa import copa_verifier as copa_verifier  # a fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")

CORPUS = [
    {"problem": "What is 3 + 4?", "answer": "7", "solution": "3 + 4 = 7."},
    {"problem": "What is 2 + 5?", "answer": "7", "solution": "2 + 5 = 7.", "source": "mine"},
    {"problem": "Unformalizable?", "answer": "7", "solution": "None."},
]


class CopaModel(ScriptedGeneratorSimulator):
    """Statements for the first two problems, a draft, the gap's tactic; nothing valid for the
    third. While ``crash`` is set, every statement request crashes the model backend."""

    crash = False

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        if self.crash and "Name the answer" in prompt.messages[-1].content:
            raise BackendCrashed("simulated model backend crash")
        return await super().generate(prompt, params)


def copa_model() -> CopaModel:
    valid = STATEMENT + " := sorry"
    scripts = [
        ("# Formal Statement", [fenced(DRAFT)]),
        ("⊢ answer = 7", ["norm_num [h_answer]"]),
        (r"What is 3 \+ 4\?", [fenced(valid)]),
        (r"What is 2 \+ 5\?", [fenced(valid.replace("3 + 4", "2 + 5"))]),
        ("Unformalizable", ["I cannot state this."]),
    ]
    return CopaModel([Script(pattern, outputs) for pattern, outputs in scripts])


@pytest_asyncio.fixture(loop_scope="module")
async def served() -> AsyncIterator[tuple[CopaModel, str]]:
    model = copa_model()
    server = ServedGeneratorSimulator(model)
    client = await server._connected()
    try:
        yield model, client.target
    finally:
        await server.stop()


def _manager(store: RunStore, verifier: object, target: str) -> RunManager:
    models = ModelRegistry(ModelsConfig(default="m", models={"m": ModelEndpoint(target=target)}))
    solver = SchedulerSolver(verifier, models, Limits(), PromptTemplates.load())  # type: ignore[arg-type]
    return RunManager(
        store, problem_loader(Path(".")), solver, check_models=models.check, problem_retries=0
    )


async def _finish(manager: RunManager, run_id: str) -> d.Run:
    async for event in manager.watch(run_id):
        if event.status.finished:
            break
    return await manager.get_run(run_id)


def _corpus(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


async def test_a_bad_corpus_is_refused_at_start(tmp_path: Path, copa_verifier: object) -> None:
    store = RunStore(tmp_path / "s.sqlite")
    manager = _manager(store, copa_verifier, "127.0.0.1:1")
    bad = _corpus(tmp_path, [CORPUS[0], {"problem": "p", "answer": "a"}])
    with pytest.raises(InvalidRequest, match="line 2: field 'solution' is missing") as caught:
        await manager.start_run(d.RunSpec(d.Pipeline.COPA, str(bad), d.ModelRef("m")))
    assert caught.value.violations == (("line 2.solution", caught.value.args[0].split(": ", 1)[1]),)
    assert await store.list_runs() == []
    store.close()


async def test_copa_run_incomplete_then_resumed_reported_and_exported(
    tmp_path: Path, copa_verifier: object, served: tuple[CopaModel, str]
) -> None:
    model, target = served
    store = RunStore(tmp_path / "s.sqlite")
    manager = _manager(store, copa_verifier, target)
    corpus = _corpus(tmp_path, CORPUS)
    spec = d.RunSpec(d.Pipeline.COPA, str(corpus), d.ModelRef("m"), params=d.SearchParams(kw=2))
    model.crash = True
    run = await manager.start_run(spec)
    first = await _finish(manager, run.run_id)
    assert first.status is d.RunStatus.INCOMPLETE  # the crash is not "no valid statement"
    assert sorted(first.errored_problems) == ["corpus/0", "corpus/1", "corpus/2"]

    model.crash = False
    await manager.resume_run(run.run_id)
    final = await _finish(manager, run.run_id)
    assert final.status is d.RunStatus.SUCCEEDED
    assert (final.progress.problems_done, final.progress.problems_solved) == (3, 2)
    result = await store.result(run.run_id, "corpus/2")
    assert result is not None and result.attempts[0].detail.startswith("no valid statement")
    store.close()

    argv = ["run", "report", run.run_id, "--store", str(tmp_path / "s.sqlite")]
    report = await asyncio.to_thread(_cli_json, argv)  # the command runs its own event loop
    table = (await asyncio.to_thread(_cli_text, argv)).splitlines()
    assert table[0] == f"pipeline copa  benchmark {corpus}"
    assert table[1].split() == [
        "Problems",
        "Statements",
        "Drafts",
        "Gaps",
        "proven",
        "Verified",
        "Rate",
    ]
    assert table[2].split() == ["3", "2", "2", "2", "2", "66.7%"]
    assert report["copa"] == {
        "problems": 3,
        "statements_accepted": 2,
        "drafts_verified": 2,
        "gaps_proven": 2,
        "chains_verified": 2,
        "verified_rate": 2 / 3,
    }
    out = tmp_path / "sft.jsonl"
    args = ["export-sft", run.run_id, "--recipe", "copa", "--out", str(out)]
    assert main([*args, "--store", str(tmp_path / "s.sqlite")]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    sent = {(p.messages[0].content, p.messages[1].content) for p in model.prompts}
    assert {(r["system"], r["input"]) for r in records} <= sent
    by_task = sorted(r["task"] for r in records)
    assert (
        by_task
        == ["next_proof_step_prediction"] * 2
        + ["solution_drafting"] * 2
        + ["statement_autoformalization"] * 2
    )
    statements = [r["output"] for r in records if r["task"] == "statement_autoformalization"]
    assert fenced(STATEMENT + "\n:= sorry") in statements  # the accepted statement, fenced


def _cli_text(argv: list[str]) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(argv) == 0
    return buffer.getvalue()


def _cli_json(argv: list[str]) -> dict[str, object]:
    return json.loads(_cli_text([*argv, "--json"]))  # type: ignore[no-any-return]
