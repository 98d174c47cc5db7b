"""The training recipe: our few arguments plus TRL's ``SFTConfig``, parsed from one YAML file.

Called by ``harcopa_trainer.__main__`` (each worker) and by ``harcopa train`` (to check the file
before launching). The YAML holds the fields of :class:`RecipeArguments` and of
``trl.SFTConfig`` (the Hugging Face training arguments) side by side; ``HfArgumentParser``
splits them, so an unknown key is an error. What is derived rather than written:

- ``gradient_accumulation_steps`` = ``global_batch_size`` / (world size x micro batch), so the
  global batch is the same on 1 or 64 devices (an inexact division is an error);
- ``bf16`` where the device supports it (CUDA or Ascend NPU), fp32 on CPU, unless the YAML sets it;
- ``ddp_backend``: NCCL on CUDA, HCCL on Ascend NPU, gloo on CPU;
- ``deepspeed``: a relative path is read next to the YAML file, ``zero2`` names the packaged
  ZeRO-2 JSON (``harcopa_trainer/deepspeed/zero2.json``, the reference's values);
- relative ``data_files`` and ``output_dir`` are read relative to the YAML file's folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from harcopa.chat_layouts import NAMED_LAYOUTS
from harcopa.errors import InvalidRequest

CHAT_TEMPLATE_LAYOUT = "chat-template"
LAYOUTS = (*NAMED_LAYOUTS, CHAT_TEMPLATE_LAYOUT)


@dataclass
class RecipeArguments:
    """What the trainer adds to ``SFTConfig``; the rest of the YAML is ``SFTConfig``'s."""

    model_name_or_path: str = field(metadata={"help": "Base model: a local checkpoint folder."})
    data_files: list[str] = field(
        default_factory=list,
        metadata={"help": "SFT JSONL files, flat {system, input, output} or XTuner conversations."},
    )
    layout: str = field(
        default="xtuner-default",
        metadata={"help": "Training layout: xtuner-default, or chat-template (the tokenizer's)."},
    )
    global_batch_size: int = field(
        default=512, metadata={"help": "Packed sequences per optimizer step over all ranks."}
    )
    metrics_port: int = field(
        default=8003, metadata={"help": "Prometheus port on rank 0; 0 picks one, -1 disables."}
    )
    resume: str = field(
        default="auto",
        metadata={"help": "auto (the last complete checkpoint, if any), never, or a folder."},
    )


def packaged_deepspeed(name: str) -> str:
    """Path of a packaged DeepSpeed JSON, e.g. ``zero2``."""
    return str(resources.files("harcopa_trainer").joinpath(f"deepspeed/{name}.json"))


def device_kind() -> str:
    """``cuda``, ``npu`` (Ascend, through torch_npu) or ``cpu``."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    npu = getattr(torch, "npu", None)
    if npu is not None and npu.is_available():
        return "npu"
    return "cpu"


def _bf16_supported(kind: str) -> bool:
    import torch

    if kind == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return kind == "npu"


def read_yaml(path: Path, what: str = "training config") -> dict[str, Any]:
    """The YAML (or JSON) mapping in ``path``; InvalidRequest when unreadable or not a mapping."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InvalidRequest(f"cannot read the {what} {path}: {error}") from error
    if not isinstance(data, dict):
        raise InvalidRequest(f"the {what} {path} is not a mapping")
    return data


def _relative(base: Path, value: str) -> str:
    path = Path(value)
    return str(path if path.is_absolute() else base / path)


def derived_fields(data: dict[str, Any], base: Path, world_size: int, kind: str) -> dict[str, Any]:
    """The YAML mapping with the derived fields filled in (see the module docstring)."""
    out = dict(data)
    micro = int(out.get("per_device_train_batch_size", 1))
    global_batch = int(out.get("global_batch_size", 512))
    if global_batch % (micro * world_size):
        raise InvalidRequest(
            f"global_batch_size {global_batch} is not a multiple of world size {world_size}"
            f" x per_device_train_batch_size {micro}"
        )
    out["per_device_train_batch_size"] = micro
    out["gradient_accumulation_steps"] = global_batch // (micro * world_size)
    out.setdefault("bf16", _bf16_supported(kind))
    out.setdefault("ddp_backend", {"cuda": "nccl", "npu": "hccl"}.get(kind, "gloo"))
    out.setdefault("include_num_input_tokens_seen", "all")  # for tokens/s
    out.setdefault("use_cpu", kind == "cpu")  # else accelerate starts no process group on CPU
    deepspeed = out.get("deepspeed")
    if deepspeed == "zero2":
        out["deepspeed"] = packaged_deepspeed("zero2")
    elif isinstance(deepspeed, str):
        out["deepspeed"] = _relative(base, deepspeed)
    out["data_files"] = [_relative(base, f) for f in out.get("data_files", [])]
    out["output_dir"] = _relative(base, str(out.get("output_dir", "output")))
    return out


def _check_deepspeed(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without its DeepSpeed file (once that file is found to be a JSON object) and
    without the process-group backend: those parts need the workers' process group."""
    out = dict(data)
    out.pop("ddp_backend", None)
    name = out.pop("deepspeed", None)
    if name is not None:
        read_yaml(Path(name), "DeepSpeed config")  # YAML reads JSON
    return out


def load_config(
    path: Path, world_size: int | None = None, *, check_only: bool = False
) -> tuple[RecipeArguments, Any]:
    """``(recipe, SFTConfig)`` from the YAML at ``path`` for a job of ``world_size`` ranks
    (default: ``$WORLD_SIZE``, else 1). ``check_only`` (the launcher, outside the job) checks
    everything but builds no DeepSpeed state."""
    from transformers import HfArgumentParser
    from trl.trainer.sft_config import SFTConfig

    world = world_size or int(os.environ.get("WORLD_SIZE", "1"))
    data = derived_fields(read_yaml(path), Path(path).resolve().parent, world, device_kind())
    if check_only:
        data = _check_deepspeed(path, data)
    try:
        parser = HfArgumentParser((RecipeArguments, SFTConfig))  # type: ignore[arg-type]
        recipe, sft = parser.parse_dict(data)
    except (ValueError, TypeError) as error:
        raise InvalidRequest(f"{path}: {error}") from error
    if recipe.layout not in LAYOUTS:
        raise InvalidRequest(f"{path}: unknown layout {recipe.layout!r} ({', '.join(LAYOUTS)})")
    if not recipe.data_files:
        raise InvalidRequest(f"{path}: data_files names no SFT file")
    missing = [name for name in recipe.data_files if not Path(name).is_file()]
    if missing:
        raise InvalidRequest(f"{path}: data files not found: {', '.join(missing)}")
    return recipe, sft
