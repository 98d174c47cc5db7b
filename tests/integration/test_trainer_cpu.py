"""``harcopa train`` for real: 2 ranks of DeepSpeed ZeRO-2 on CPU (torchrun, gloo), killed, resumed,
and the checkpoint served by the model server's transformers backend.

A tiny Llama created here (tests/model_tiny.py) overfits eight records given in both JSONL forms
(flat and XTuner conversations). The job is SIGKILLed once its first checkpoint is complete and
it has gone past it; the second start resumes from that checkpoint, and its first step must have
exactly the loss the killed job logged for the same step (weights, optimizer, scheduler, RNG and
data position restored). The final model is then served as it is by ``python -m
harcopa_model_server`` and, greedy, answers a training prompt with the trained output (the
layout saved into the checkpoint is the one the model was trained on). The same job on CUDA
(NCCL, bf16) is the ``gpu`` test at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

pytest.importorskip("deepspeed", reason="the trainer needs deepspeed (trainer extra)")
pytest.importorskip("trl", reason="the trainer needs trl (trainer extra)")

import yaml

from harcopa.domain import ChatMessage, FinishReason, Prompt, SamplingParams
from harcopa.model_client import ModelClient
from harcopa_cli.local import ServiceProcess, free_port
from harcopa_trainer.observe import last_complete_checkpoint
from tests.model_tiny import build_tiny_model
from tests.processes import gone

SYSTEM = "You are a Lean 4 expert."
OUTPUT = "norm_num [h_answer]"
STEPS = 16  # 8 records, 2 ranks, micro batch 1, global batch 2: 4 steps per epoch, 4 epochs
STEP_LINE = re.compile(r"^train: step (\d+)/\d+ epoch \S+ loss (\S+)", re.MULTILINE)


def _inputs() -> list[str]:
    return [f"Goal {i}: {i} + 1 = ?" for i in range(8)]


def _write_data(folder: Path) -> list[str]:
    flat = [{"system": SYSTEM, "input": text, "output": OUTPUT} for text in _inputs()[:4]]
    xtuner = [
        {"conversation": [{"system": SYSTEM, "input": t, "output": OUTPUT}]} for t in _inputs()[4:]
    ]
    (folder / "flat.jsonl").write_text("".join(json.dumps(r) + "\n" for r in flat))
    (folder / "xtuner.jsonl").write_text("".join(json.dumps(r) + "\n" for r in xtuner))
    return ["flat.jsonl", "xtuner.jsonl"]


def _config(folder: Path, **overrides: Any) -> Path:
    config = {
        "model_name_or_path": str(build_tiny_model(folder / "base")),
        "data_files": _write_data(folder),
        "output_dir": "out",
        "layout": "xtuner-default",
        "global_batch_size": 2,
        "per_device_train_batch_size": 1,
        "max_length": 96,
        "packing": True,
        "completion_only_loss": True,
        "learning_rate": 0.003,
        "num_train_epochs": 4,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.03,
        "optim": "adamw_torch",
        "deepspeed": "zero2",
        "gradient_checkpointing": False,
        "save_strategy": "steps",
        "save_steps": 4,
        "logging_steps": 1,
        "report_to": "none",
        "metrics_port": 0,
        "seed": 42,
        **overrides,
    }
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _start(config: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "harcopa_cli", "train", "--config", str(config), *extra]
    with open(log, "ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _logged_losses(log: Path) -> dict[int, float]:
    return {int(m[1]): float(m[2]) for m in STEP_LINE.finditer(log.read_text(errors="replace"))}


def _kill_job(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the launcher and every worker (torchrun starts workers in their own sessions),
    as when a node dies."""
    job = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for process in job:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(job[1:], timeout=30)
    assert not [p for p in alive if not gone(p.pid)]


def _wait_past_first_checkpoint(proc: subprocess.Popen[bytes], out: Path, log: Path) -> None:
    """Return once checkpoint-4 is complete and step 5 was logged."""
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        if last_complete_checkpoint(out) is not None and 5 in _logged_losses(log):
            return
        time.sleep(0.05)
    raise AssertionError("no complete checkpoint in time:\n" + log.read_text()[-3000:])


def _kill_after_first_checkpoint(
    proc: subprocess.Popen[bytes], out: Path, log: Path
) -> dict[str, float]:
    """SIGKILL the whole job past its first checkpoint, after scraping its metrics once."""
    try:
        _wait_past_first_checkpoint(proc, out, log)
        found = re.search(r"train: metrics on port (\d+)", log.read_text())
        assert found is not None
        url = f"http://127.0.0.1:{found.group(1)}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        _kill_job(proc)
    return {
        name: float(value)
        for name, value in (line.split(" ", 1) for line in text.splitlines())
        if name.startswith("harcopa_trainer_")
    }


async def _served_answer(model: Path, prompt: Prompt) -> tuple[str, FinishReason]:
    port = free_port()
    env = {
        "HARCOPA_MODEL_BACKEND__KIND": "transformers",
        "HARCOPA_MODEL_BACKEND__MODEL": str(model),
        "HARCOPA_MODEL_BACKEND__DEVICE": "cpu",
        "HARCOPA_MODEL_PORT": str(port),
        "HARCOPA_MODEL_METRICS_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
    }
    server = ServiceProcess("harcopa_model_server", "harcopa.v1.ModelService", env, port=port)
    await server.start(ready_timeout_seconds=120)
    try:
        async with ModelClient(server.target) as client:
            params = SamplingParams(n=1, temperature=0.0, max_tokens=40)
            generation = await client.generate(prompt, params)
        completion = generation.completions[0]
        return completion.text, completion.finish_reason
    finally:
        await server.stop()


def _served_prompt() -> Prompt:
    return Prompt((ChatMessage("system", SYSTEM), ChatMessage("user", _inputs()[6])))


# About 90 s here (two job starts of ~40 s each, most of it imports and DeepSpeed setup; up to
# 150 s when other jobs share the two cores): part of the default suite.
def test_two_ranks_zero2_killed_resumed_and_served(tmp_path: Path) -> None:
    config = _config(tmp_path)
    out, log = tmp_path / "out", tmp_path / "train.log"
    metrics = _kill_after_first_checkpoint(_start(config, log, "--nproc-per-node", "2"), out, log)
    killed = _logged_losses(log)
    checkpoint = last_complete_checkpoint(out)
    assert checkpoint is not None and checkpoint.name == "checkpoint-4"
    assert not (out / "train.json").exists()
    assert metrics["harcopa_trainer_step"] >= 5 and metrics["harcopa_trainer_loss"] > 0
    assert metrics["harcopa_trainer_learning_rate"] > 0
    assert metrics["harcopa_trainer_tokens_per_second"] > 0

    resumed = _start(config, log, "--nproc-per-node", "2")
    assert resumed.wait(timeout=400) == 0, log.read_text(errors="replace")[-3000:]
    summary = json.loads((out / "train.json").read_text())
    assert summary["resumed_from_step"] == 4 and summary["world_size"] == 2
    assert summary["steps"] == STEPS
    losses = {e["step"]: e["loss"] for e in summary["per_step_loss"]}
    assert sorted(losses) == list(range(1, STEPS + 1))  # the killed job's history survives
    assert losses[5] == pytest.approx(killed[5], abs=2e-4)  # the same step 5 after resuming
    assert losses[STEPS] < 0.05 < 1.0 < losses[1]  # it overfits the tiny set
    assert summary["tokens"] > 0 and (out / "loss.png").stat().st_size > 0
    ds_config = summary["config"]["training"]["deepspeed"]
    assert json.loads(Path(ds_config).read_text())["zero_optimization"]["stage"] == 2

    text, reason = asyncio.run(_served_answer(out, _served_prompt()))
    assert (text, reason) == (OUTPUT, FinishReason.STOP)


def test_bad_recipe_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = _config(tmp_path, global_batch_size=3)
    log = tmp_path / "bad.log"
    assert _start(config, log, "--nproc-per-node", "2").wait(timeout=120) == 2
    lines = [line for line in log.read_text().splitlines() if line.startswith("harcopa:")]
    assert lines == [
        "harcopa: error: global_batch_size 3 is not a multiple of world size 2"
        " x per_device_train_batch_size 1"
    ]


@pytest.mark.gpu
def test_cuda_job_uses_nccl_and_bf16(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    config = _config(tmp_path, max_steps=4, save_steps=2)
    log = tmp_path / "gpu.log"
    assert _start(config, log, "--nproc-per-node", "1").wait(timeout=600) == 0, log.read_text()
    training = json.loads((tmp_path / "out" / "train.json").read_text())["config"]["training"]
    assert training["ddp_backend"] == "nccl" and training["bf16"] is True
