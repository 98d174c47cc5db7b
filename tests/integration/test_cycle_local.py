"""``harcopa cycle --config FILE`` for real on CPU, in one command: local services (lean-sim, the
model simulator for the first cycle's data, then the first cycle's checkpoint served by the
transformers backend), a CoPA run over an informal corpus, ``export-sft``, ``harcopa train`` of a
tiny model (tests/model_tiny.py), the checkpoint registered as the next cycle's model, the
lineage in the store; a re-run does nothing again; a cycle killed during its run continues it.

About 60 s and 35 s here (the second cycle's generation with the tiny model and two trainings
dominate); both are in the default suite.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

pytest.importorskip("trl", reason="the cycle trains with the trainer extra (trl)")

from tests.cycle_setup import write_cycle
from tests.processes import gone

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _harcopa(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "harcopa_cli", *args]
    return subprocess.run(
        command, cwd=folder, env=ENV, capture_output=True, text=True, timeout=600, check=False
    )


def _rows(store: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)) as db:
        return db.execute(sql).fetchall()


def test_two_cycles_in_one_command_then_nothing_is_redone(tmp_path: Path) -> None:
    config = write_cycle(tmp_path, cycles=2)
    done = _harcopa(tmp_path, "cycle", "--config", str(config))
    assert done.returncode == 0, done.stderr[-4000:]
    assert "SIMULATOR" in done.stderr  # lean-sim and the model simulator say so
    first, second = json.loads(done.stdout)
    work = tmp_path / "work"

    assert (first["cycle_id"], first["stage"], first["index"]) == ("demo-1", "done", 1)
    assert first["model"] == f"model simulator scripted by {tmp_path / 'model.json'}"
    assert first["parent_checkpoint"] == str(tmp_path / "base")
    assert first["checkpoint"] == str(work / "demo-1" / "model")
    assert first["sft_path"] == str(work / "demo-1" / "sft.jsonl")
    sft = Path(first["sft_path"]).read_bytes()
    assert first["sft_sha256"] == hashlib.sha256(sft).hexdigest()
    assert first["sft_records"] == 6 == len(sft.splitlines())  # 2 chains x 3 tasks
    tasks = sorted(json.loads(line)["task"] for line in sft.splitlines())
    assert tasks == sorted(
        ["statement_autoformalization", "solution_drafting"] * 2
        + ["next_proof_step_prediction"] * 2
    )
    assert first["export_runs"] == first["run_ids"] and len(first["run_ids"]) == 1
    metrics = first["train_metrics"]
    assert metrics["steps"] == 3 and metrics["final_loss"] > 0 and "per_step_loss" not in metrics
    trained = json.loads(Path(first["train_json"]).read_text())
    assert trained["final_loss"] == metrics["final_loss"] and len(trained["per_step_loss"]) == 3

    # The second cycle sampled from the first one's checkpoint and trained it further.
    assert second["model"] == f"{first['checkpoint']} (transformers)"
    assert second["parent_checkpoint"] == first["checkpoint"]
    assert second["export_runs"] == [*first["run_ids"], *second["run_ids"]]  # accumulate
    assert second["checkpoint"] == str(work / "demo-2" / "model")
    assert second["train_metrics"]["final_loss"] < metrics["final_loss"]
    store = work / "harcopa.sqlite"
    runs = _rows(store, "SELECT run_id, status FROM runs ORDER BY created")
    assert runs == [(first["run_ids"][0], "succeeded"), (second["run_ids"][0], "succeeded")]
    lineage = _rows(store, "SELECT cycle_id, stage FROM cycles ORDER BY cycle_index")
    assert lineage == [("demo-1", "done"), ("demo-2", "done")]

    trained_at = Path(first["train_json"]).stat().st_mtime_ns
    again = _harcopa(tmp_path, "cycle", "--config", str(config))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "demo-1 was done" in again.stderr and "demo-2 was done" in again.stderr
    assert json.loads(again.stdout) == [first, second]
    assert len(_rows(store, "SELECT run_id FROM runs")) == 2  # no run started again
    assert Path(first["train_json"]).stat().st_mtime_ns == trained_at  # no training again

    status = _harcopa(tmp_path, "cycle", "status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    head, row1, row2 = status.stdout.splitlines()
    assert head.split()[:5] == ["cycle", "stage", "runs", "records", "loss"]
    assert row1.split()[:4] == ["demo-1", "done", "1", "6"]
    assert row2.split()[-1] == second["checkpoint"]
    one = _harcopa(tmp_path, "cycle", "status", "demo-2", "--store", str(store), "--json")
    assert json.loads(one.stdout) == second


def _kill_after_a_problem(proc: subprocess.Popen[str], store: Path) -> str:
    """SIGKILL the cycle (its process group) once its run is recorded and a problem finished;
    the run's id."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the cycle ended before it could be killed"
        with contextlib.suppress(sqlite3.Error):
            if store.is_file():
                cycles = _rows(store, "SELECT record FROM cycles")
                finished = _rows(store, "SELECT COUNT(*) FROM results WHERE errored = 0")
                run_ids = json.loads(cycles[0][0])["run_ids"] if cycles else []
                if run_ids and finished[0][0] >= 1:
                    services = [p.pid for p in psutil.Process(proc.pid).children()]
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    # The services die with the cycle that started them; a service shutting
                    # down may first wait for a peer that died with it (up to 90 s).
                    for pid in services:
                        _wait(lambda pid=pid: gone(pid), 180, pid)
                    return str(run_ids[0])
        time.sleep(0.05)
    raise AssertionError("the cycle's run never finished a problem")


def _wait(predicate: Any, seconds: float, pid: int) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                raise AssertionError(f"{pid} still there: {process.status()} {process.cmdline()}")
            raise AssertionError(f"{pid} still there")
        time.sleep(0.05)


def test_a_cycle_killed_during_its_run_resumes_that_run(tmp_path: Path) -> None:
    config = write_cycle(tmp_path, request_seconds=0.4)  # slow enough to be killed mid-run
    store = tmp_path / "work" / "harcopa.sqlite"
    command = [sys.executable, "-m", "harcopa_cli", "cycle", "--config", str(config)]
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=ENV, stdout=log, stderr=log, start_new_session=True
        )
        run_id = _kill_after_a_problem(proc, store)
    killed_at = time.time()
    before = dict(_rows(store, "SELECT problem_id, finished FROM results WHERE errored = 0"))

    resumed = _harcopa(tmp_path, "cycle", "--config", str(config))
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    (record,) = json.loads(resumed.stdout)
    assert record["run_ids"] == [run_id] and record["stage"] == "done"
    assert _rows(store, "SELECT run_id, status FROM runs") == [(run_id, "succeeded")]
    after = dict(_rows(store, "SELECT problem_id, finished FROM results WHERE errored = 0"))
    assert len(after) == 3 and all(after[p] == before[p] < killed_at for p in before)
    assert record["sft_records"] == 6 and Path(record["checkpoint"], "train.json").is_file()
