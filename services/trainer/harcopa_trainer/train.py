"""The training job: SFT of a causal LM with TRL's SFTTrainer on Hugging Face + DeepSpeed ZeRO-2.

Called by ``harcopa_trainer.__main__`` in every worker process (``torchrun`` starts them; rank,
world size and rendezvous come from its environment). The recipe (``harcopa_trainer.config``)
defaults to the paper's: AdamW at 2e-5, 3 epochs, global batch 512 through gradient
accumulation, 8192-token best-fit packing (each record keeps its own positions and attention,
official-impl §6.1's varlen attention), 3% linear warm-up then cosine to 0, bf16 where supported,
loss on outputs only. The optimizer is a torch one handed to DeepSpeed, and on CPU DeepSpeed's
shared-memory all-reduce is left out (``without_jit_ops``): no op is JIT-compiled.

Checkpoints are Hugging Face folders (``save_pretrained`` model + tokenizer with the training
layout as chat template) plus the DeepSpeed, scheduler and RNG states and the trainer state
(data position), so ``resume: auto`` continues a killed job from its last complete checkpoint.
The final model is saved in ``output_dir`` itself, loadable by the model server as it is.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from harcopa.errors import InvalidRequest
from harcopa_trainer.config import RecipeArguments
from harcopa_trainer.data import SftRecord, read_records
from harcopa_trainer.layout import install_layout, tokenized
from harcopa_trainer.observe import (
    CheckpointMarker,
    MetricsCallback,
    ProgressCallback,
    Throughput,
    last_complete_checkpoint,
    loss_curve,
    summary,
)

logger = logging.getLogger(__name__)


def load_records(files: list[str]) -> list[SftRecord]:
    """Every record of the data files (either JSONL form), in file order."""
    records: list[SftRecord] = []
    for name in files:
        records.extend(read_records(Path(name)))
    return records


def resume_point(recipe: RecipeArguments, output_dir: Path) -> Path | None:
    """The checkpoint to resume from: ``resume: auto|never|<folder>``."""
    if recipe.resume == "never":
        return None
    if recipe.resume == "auto":
        return last_complete_checkpoint(output_dir) if output_dir.is_dir() else None
    folder = Path(recipe.resume)
    if not folder.is_dir():
        raise InvalidRequest(f"resume: checkpoint folder {folder} does not exist")
    return folder


def load_model(recipe: RecipeArguments, args: Any) -> tuple[Any, Any]:
    """The base model and its tokenizer, the training layout installed."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    extra = {"trust_remote_code": bool(args.trust_remote_code)}
    tokenizer = AutoTokenizer.from_pretrained(recipe.model_name_or_path, **extra)
    install_layout(tokenizer, recipe.layout)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    model = AutoModelForCausalLM.from_pretrained(recipe.model_name_or_path, dtype=dtype, **extra)
    return model, tokenizer


def without_jit_ops() -> None:
    """Keep DeepSpeed on CPU from JIT-compiling its shared-memory all-reduce.

    At its first ``initialize`` on CPU, DeepSpeed builds that op with a C++ compiler (a minute
    or more on two cores, on every fresh machine) behind a lock file; a job killed during the
    build leaves the lock behind and every later start waits on it forever. Marked not
    compatible, the op is skipped and collectives go through torch.distributed (gloo), which is
    all CPU training needs. Accelerators other than the CPU are left as they are.
    """
    import deepspeed.ops
    from deepspeed.accelerator import get_accelerator

    if get_accelerator().device_name() == "cpu":
        deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False


def build_trainer(recipe: RecipeArguments, args: Any) -> tuple[Any, Throughput]:
    """An SFTTrainer over the tokenized records, with our callbacks in place of tqdm's."""
    from transformers.trainer_callback import PrinterCallback
    from transformers.trainer_callback import ProgressCallback as HfProgress
    from trl.trainer.sft_trainer import SFTTrainer

    model, tokenizer = load_model(recipe, args)
    dataset = tokenized(tokenizer, load_records(recipe.data_files), args.max_length)
    throughput = Throughput()
    callbacks = [ProgressCallback(throughput), MetricsCallback(recipe.metrics_port)]
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[*callbacks, CheckpointMarker()],
    )
    trainer.remove_callback(HfProgress)
    trainer.remove_callback(PrinterCallback)
    return trainer, throughput


def run(recipe: RecipeArguments, args: Any) -> dict[str, Any]:
    """Train (resuming when a checkpoint is there), save the final model; the summary."""
    started = time.perf_counter()
    output_dir = Path(args.output_dir)
    checkpoint = resume_point(recipe, output_dir)
    without_jit_ops()
    trainer, _ = build_trainer(recipe, args)
    if checkpoint is not None and trainer.is_world_process_zero():
        print(f"train: resuming from {checkpoint}", flush=True)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    trainer.save_model(str(output_dir))
    resumed = int(checkpoint.name.removeprefix("checkpoint-")) if checkpoint else None
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    facts = summary(trainer.state, world_size, time.perf_counter() - started, resumed)
    if trainer.is_world_process_zero():
        facts["config"] = {"recipe": vars(recipe), "training": json.loads(args.to_json_string())}
        (output_dir / "train.json").write_text(json.dumps(facts, indent=2) + "\n")
        steps = [e["step"] for e in facts["per_step_loss"]]
        loss_curve(output_dir / "loss.png", steps, [e["loss"] for e in facts["per_step_loss"]])
        print(
            f"train: done, {facts['steps']} steps, final loss {facts['final_loss']},"
            f" model in {output_dir}",
            flush=True,
        )
    return facts
