"""What a running training job shows: progress, Prometheus gauges, checkpoint markers, summary.

Callbacks for the Hugging Face trainer, installed by ``harcopa_trainer.train``. Rank 0 prints
progress (a tqdm bar with loss and tokens/s on a terminal, one plain line per logging step
otherwise) and serves ``harcopa_trainer_{loss,learning_rate,tokens_per_second,step}`` on the
metrics port. Every rank takes part in marking a checkpoint complete (a barrier, then rank 0
writes ``harcopa-complete.json``), so a job killed while saving resumes from the checkpoint
before. At the end rank 0 writes ``train.json`` and ``loss.png`` into the output folder.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from harcopa.metrics import gauge, start_exporter

logger = logging.getLogger(__name__)

COMPLETE_MARKER = "harcopa-complete.json"


class Throughput:
    """Tokens per second between two logging steps (all ranks' tokens, from the trainer)."""

    def __init__(self) -> None:
        self.tokens = 0
        self.seconds = time.perf_counter()
        self.last = 0.0

    def update(self, tokens: int) -> float:
        now = time.perf_counter()
        if tokens > self.tokens and now > self.seconds:
            self.last = (tokens - self.tokens) / (now - self.seconds)
        self.tokens, self.seconds = tokens, now
        return self.last


class ProgressCallback(TrainerCallback):
    """Rank 0's progress: a tqdm bar on a terminal, plain ``train: step ...`` lines otherwise."""

    def __init__(self, throughput: Throughput, stream: Any = None) -> None:
        self.throughput = throughput
        self.stream = stream or sys.stderr
        self.bar: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.throughput.update(int(state.num_input_tokens_seen or 0))
        if state.is_world_process_zero and self.stream.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, initial=state.global_step, file=self.stream)

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        rate = self.throughput.update(int(state.num_input_tokens_seen or 0))
        logs["tokens_per_second"] = rate
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{logs['loss']:.4f}", tok_s=f"{rate:.0f}")
            return
        print(
            f"train: step {state.global_step}/{state.max_steps} epoch {state.epoch:.2f}"
            f" loss {logs['loss']:.4f} lr {logs.get('learning_rate', 0.0):.3g}"
            f" tokens/s {rate:.0f}",
            file=self.stream,
            flush=True,
        )

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.bar is not None:
            self.bar.close()


class MetricsCallback(TrainerCallback):
    """Prometheus gauges on rank 0, served from the first step on ``port`` (0: any free)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loss = gauge("harcopa_trainer_loss", "Training loss at the last logging step.")
        self.lr = gauge("harcopa_trainer_learning_rate", "Learning rate at the last step.")
        self.rate = gauge("harcopa_trainer_tokens_per_second", "Training tokens per second.")
        self.step = gauge("harcopa_trainer_step", "Optimizer steps done.")
        self.server: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.is_world_process_zero and self.port >= 0:
            self.server, bound = start_exporter("0.0.0.0", self.port)
            print(f"train: metrics on port {bound}", file=sys.stderr, flush=True)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        self.step.set(state.global_step)
        if "loss" in logs:
            self.loss.set(logs["loss"])
        if "learning_rate" in logs:
            self.lr.set(logs["learning_rate"])
        if "tokens_per_second" in logs:
            self.rate.set(logs["tokens_per_second"])

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None


class CheckpointMarker(TrainerCallback):
    """After every rank saved checkpoint N, rank 0 marks ``checkpoint-N`` complete."""

    def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            marker = {"step": state.global_step, "unix_time": time.time()}
            (folder / COMPLETE_MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")


def last_complete_checkpoint(output_dir: Path) -> Path | None:
    """The highest-numbered ``checkpoint-N`` folder that carries the completion marker."""
    found = []
    for folder in Path(output_dir).glob("checkpoint-*"):
        suffix = folder.name.removeprefix("checkpoint-")
        if suffix.isdigit() and (folder / COMPLETE_MARKER).is_file():
            found.append((int(suffix), folder))
    return max(found)[1] if found else None


def loss_curve(path: Path, steps: list[int], losses: list[float]) -> None:
    """Write the loss-per-step PNG (matplotlib, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(steps, losses, marker="." if len(steps) < 50 else None)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("training loss")
    axes.set_title("harcopa train")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def summary(
    state: Any, world_size: int, seconds: float, resumed_from: int | None
) -> dict[str, Any]:
    """The ``train.json`` facts read from the trainer state (its log history survives resumes)."""
    losses = [
        {
            "step": e["step"],
            "loss": e["loss"],
            "learning_rate": e.get("learning_rate"),
            "tokens_per_second": e.get("tokens_per_second"),
        }
        for e in state.log_history
        if "loss" in e
    ]
    return {
        "world_size": world_size,
        "steps": state.global_step,
        "max_steps": state.max_steps,
        "epochs": state.epoch,
        "tokens": int(state.num_input_tokens_seen or 0),
        "final_loss": losses[-1]["loss"] if losses else None,
        "per_step_loss": losses,
        "wall_seconds": seconds,
        "resumed_from_step": resumed_from,
    }
