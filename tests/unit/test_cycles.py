"""The pure parts of cycles (harcopa.cycles) and their bad input through ``harcopa cycle``: the
configuration (paths next to the file, one-line errors, exit 2), the lineage record, the outcome
line, and the store's ``cycles`` table (also in a store made before it existed)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from harcopa import domain as d
from harcopa.cycles import (
    CycleConfig,
    CycleRecord,
    CycleStage,
    outcome_line,
    parse_outcome,
    train_metrics,
)
from harcopa_cli.main import main
from harcopa_orchestrator.store import RunStore

BASE: dict[str, Any] = {
    "name": "demo",
    "generator": {"backend": "sim", "scenario": "model.json"},
    "base_model": "base",
    "runs": [{"pipeline": "copa", "benchmark": "corpus.jsonl", "kw": 2}],
}


def _write(folder: Path, **changes: Any) -> Path:
    path = folder / "cycle.yaml"
    path.write_text(yaml.safe_dump({**BASE, **changes}))
    return path


def test_paths_are_read_next_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "corpus.jsonl").write_text("")
    (tmp_path / "base").mkdir()
    raw = yaml.safe_load(_write(tmp_path).read_text())
    config = CycleConfig.model_validate(raw).resolved(tmp_path)
    assert config.workdir == tmp_path / "cycles" and config.base_model == str(tmp_path / "base")
    assert config.runs[0].benchmark == str(tmp_path / "corpus.jsonl")
    assert config.generator is not None and config.generator.scenario == tmp_path / "model.json"
    assert config.cycle_id(2) == "demo-2"
    spec = config.runs[0].spec(d.ModelRef("solver"), ())
    assert spec.pipeline is d.Pipeline.COPA and spec.params.kw == 2 and spec.prover is not None
    named = CycleConfig.model_validate({**raw, "runs": [{"benchmark": "minif2f_solving"}]})
    assert named.resolved(tmp_path).runs[0].benchmark == "minif2f_solving"  # a name stays


@pytest.mark.parametrize(
    ("changes", "args", "message"),
    [
        ({"name": "no spaces"}, [], "name"),
        ({"runs": []}, [], "runs"),
        ({"runs": [{"pipeline": "nope", "benchmark": "x"}]}, [], "pipeline"),
        ({"generator": None}, [], "local services need a generator"),
        ({"generator": {"backend": "sim"}}, [], "the sim backend needs a scenario file"),
        ({"train": {"recipe": {"output_dir": "x"}}}, [], "the cycle sets output_dir itself"),
        ({"surprise": 1}, [], "surprise"),
        ({}, ["--kubernetes"], "--kubernetes needs the orchestrator"),
        ({}, ["--orchestrator", "host:1"], "needs its store (orchestrator.store)"),
        ({"cycles": 2, "orchestrator": {"target": "h:1", "store": "s"}}, [], "use cycles: 1"),
    ],
)
def test_bad_configurations_are_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, Any],
    args: list[str],
    message: str,
) -> None:
    path = _write(tmp_path, **changes)
    assert main(["cycle", "--config", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harcopa: error: ") and message in err


def test_a_missing_configuration_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cycle", "--config", str(tmp_path / "absent.yaml")]) == 2
    assert "cannot read the cycle configuration" in capsys.readouterr().err
    assert main(["cycle"]) == 2
    assert "harcopa cycle --config FILE" in capsys.readouterr().err


def test_the_outcome_line_and_the_lineage_round_trip() -> None:
    outcome = d.TrainingOutcome("/w/sft.jsonl", "cd" * 32, 6, "/w/model", '{"steps": 3}')
    line = outcome_line(outcome)
    older = outcome_line(d.TrainingOutcome(checkpoint="/w/old"))
    assert "\n" not in line and parse_outcome([older, "train: done", line, ""]) == outcome
    assert parse_outcome(["train: done"]) is None
    assert parse_outcome(["harcopa-cycle-training: {broken"]) is None
    record = CycleRecord(
        cycle_id="demo-1",
        name="demo",
        index=1,
        stage=CycleStage.DONE,
        run_ids=("r1",),
        train_metrics=train_metrics({"steps": 3, "per_step_loss": [1], "config": {}}),
    )
    assert record.train_metrics == {"steps": 3}
    assert CycleRecord.from_json(record.to_json()) == record


def test_an_old_store_gains_the_cycles_table(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # a store from before cycles: runs only
        db.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, spec TEXT NOT NULL)")

    async def use() -> list[CycleRecord]:
        store = RunStore(path)
        try:
            first = await store.save_cycle(CycleRecord(cycle_id="a-1", name="a", index=1))
            await asyncio.sleep(0.01)
            moved = first.model_copy(update={"stage": CycleStage.TRAINING, "sft_records": 4})
            again = await store.save_cycle(moved)
            assert again.created_unix == first.created_unix < again.updated_unix
            await store.save_cycle(CycleRecord(cycle_id="b-1", name="b", index=1))
            assert await store.get_cycle("none") is None
            assert [r.cycle_id for r in await store.list_cycles("a")] == ["a-1"]
            return await store.list_cycles()
        finally:
            store.close()

    records = asyncio.run(use())
    assert [(r.cycle_id, r.stage, r.sft_records) for r in records] == [
        ("a-1", CycleStage.TRAINING, 4),
        ("b-1", CycleStage.GENERATING, 0),
    ]


def test_status_of_an_unknown_store_or_cycle_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cycle", "status", "--store", str(tmp_path / "none.sqlite")]) == 2
    assert "no store at" in capsys.readouterr().err
    RunStore(tmp_path / "s.sqlite").close()
    assert main(["cycle", "status", "x-1", "--store", str(tmp_path / "s.sqlite")]) == 2
    assert "no cycle 'x-1'" in capsys.readouterr().err
