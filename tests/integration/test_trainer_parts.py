"""The trainer's parts on their own: the recipe and its derived fields, the shipped DeepSpeed JSON,
torchrun command lines from a pod's environment, the training layout against the model server's
rendering, and the observers (Prometheus gauges over HTTP, plain progress lines, markers)."""

from __future__ import annotations

import io
import json
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("trl", reason="the trainer needs trl (trainer extra)")

from transformers import AutoTokenizer, TrainerState

from harcopa.chat_layouts import XTUNER_DEFAULT_SOURCE
from harcopa.domain import ChatMessage
from harcopa.errors import InvalidRequest
from harcopa_model_server.templates import render_chat
from harcopa_trainer.config import derived_fields, load_config, packaged_deepspeed
from harcopa_trainer.data import SftRecord
from harcopa_trainer.launch import Topology, topology_from_env, worker_command
from harcopa_trainer.layout import encode, install_layout, tokenized
from harcopa_trainer.observe import (
    COMPLETE_MARKER,
    CheckpointMarker,
    MetricsCallback,
    ProgressCallback,
    Throughput,
    last_complete_checkpoint,
)
from tests.model_tiny import build_tokenizer

PAPER = Path(__file__).parents[2] / "services/trainer/harcopa_trainer/configs/paper.yaml"
RECORD = SftRecord("You are a Lean 4 expert.", "Goal: 1 + 1 = 2", "norm_num", "t", "src")


def test_paper_recipe_is_the_reference_recipe(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="data files not found"):
        load_config(PAPER, world_size=8, check_only=True)  # it names the user's sft.jsonl
    (tmp_path / "sft.jsonl").write_text("")
    paper = tmp_path / "paper.yaml"
    paper.write_text(PAPER.read_text())
    recipe, args = load_config(paper, world_size=8, check_only=True)
    assert recipe.layout == "xtuner-default" and recipe.global_batch_size == 512
    assert (args.learning_rate, args.num_train_epochs, args.weight_decay) == (2e-5, 3, 0.0)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (1, 64)
    assert (args.max_length, args.packing, args.completion_only_loss) == (8192, True, True)
    assert (args.lr_scheduler_type.value, args.warmup_steps) == ("cosine", 0.03)
    assert (args.adam_beta1, args.adam_beta2, args.max_grad_norm, args.seed) == (0.9, 0.999, 1, 42)
    assert args.optim.value == "adamw_torch" and args.save_strategy.value == "epoch"
    assert args.bf16 is False  # no CUDA or NPU here: fp32
    assert recipe.data_files == [str(tmp_path / "sft.jsonl")]


def test_derived_fields_per_device_kind(tmp_path: Path) -> None:
    base = {"global_batch_size": 512, "per_device_train_batch_size": 2, "deepspeed": "zero2"}
    cuda = derived_fields(base, tmp_path, 16, "cuda")
    assert cuda["gradient_accumulation_steps"] == 16 and cuda["ddp_backend"] == "nccl"
    assert cuda["use_cpu"] is False and cuda["deepspeed"] == packaged_deepspeed("zero2")
    npu = derived_fields(base, tmp_path, 8, "npu")
    assert (npu["ddp_backend"], npu["bf16"], npu["gradient_accumulation_steps"]) == (
        "hccl",
        True,
        32,
    )
    cpu = derived_fields({**base, "deepspeed": "ds.json"}, tmp_path, 2, "cpu")
    assert (cpu["ddp_backend"], cpu["bf16"], cpu["use_cpu"]) == ("gloo", False, True)
    assert cpu["deepspeed"] == str(tmp_path / "ds.json")
    assert cpu["output_dir"] == str(tmp_path / "output")
    with pytest.raises(InvalidRequest, match="not a multiple of world size 3"):
        derived_fields(base, tmp_path, 3, "cpu")


def test_bad_recipes_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    (tmp_path / "a.jsonl").write_text("")
    path.write_text("model_name_or_path: m\ndata_files: [a.jsonl]\nlearning_rat: 0.1\n")
    with pytest.raises(InvalidRequest, match="learning_rat"):
        load_config(path, 1, check_only=True)
    path.write_text("model_name_or_path: m\ndata_files: [a.jsonl]\nlayout: fancy\n")
    with pytest.raises(InvalidRequest, match="unknown layout 'fancy'"):
        load_config(path, 1, check_only=True)
    path.write_text("model_name_or_path: m\ndata_files: [a.jsonl]\ndeepspeed: missing.json\n")
    with pytest.raises(InvalidRequest, match="cannot read the DeepSpeed config"):
        load_config(path, 1, check_only=True)


def test_zero2_json_has_the_reference_values() -> None:
    config = json.loads(Path(packaged_deepspeed("zero2")).read_text())
    assert config["zero_optimization"] == {
        "stage": 2,
        "allgather_partitions": True,
        "allgather_bucket_size": 5e8,
        "overlap_comm": True,
        "reduce_scatter": True,
        "reduce_bucket_size": 5e8,
        "contiguous_gradients": True,
        "round_robin_gradients": True,
    }
    assert config["fp16"] == {
        "enabled": "auto",
        "loss_scale": 0,
        "loss_scale_window": 1000,
        "initial_scale_power": 16,
        "hysteresis": 2,
        "min_loss_scale": 1,
    }
    assert config["bf16"] == {"enabled": "auto"} and config["zero_allow_untested_optimizer"]
    assert "optimizer" not in config  # the trainer's torch AdamW, no JIT-compiled op


def test_torchrun_commands_from_the_pod_environment() -> None:
    config = Path("r.yaml")
    worker = ["-m", "harcopa_trainer", "--config", "r.yaml"]
    assert worker_command(config, Topology()) == [sys.executable, *worker]
    local = worker_command(config, Topology(nproc_per_node=2))
    assert local[3:] == ["--nproc-per-node", "2", "--nnodes", "1", "--standalone", *worker]
    kubeflow = {"PET_NNODES": "4", "PET_NODE_RANK": "2", "PET_RDZV_ENDPOINT": "head:29400"}
    topology = topology_from_env({**kubeflow, "PET_NPROC_PER_NODE": "8"}, None)
    assert topology == Topology(8, 4, "head:29400", "harcopa-train", 2)
    assert worker_command(config, topology)[3:] == [
        *("--nproc-per-node", "8", "--nnodes", "4"),
        *("--rdzv-backend", "c10d", "--rdzv-endpoint", "head:29400"),
        *("--rdzv-id", "harcopa-train", "--node-rank", "2"),
        *worker,
    ]
    indexed = {"PET_NNODES": "2", "MASTER_ADDR": "job-0.svc", "JOB_COMPLETION_INDEX": "1"}
    topology = topology_from_env({**indexed, "JOB_NAME": "sft"}, 1)
    assert topology == Topology(1, 2, "job-0.svc:29500", "sft", 1)
    with pytest.raises(InvalidRequest, match="rendezvous endpoint"):
        worker_command(config, Topology(1, 2))


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> object:
    folder = tmp_path_factory.mktemp("tok")
    build_tokenizer(folder)
    return AutoTokenizer.from_pretrained(folder)


def test_xtuner_layout_is_what_the_model_server_renders(tokenizer: object) -> None:
    install_layout(tokenizer, "xtuner-default")
    row = encode(tokenizer, RECORD)
    served = render_chat(
        (ChatMessage("system", RECORD.system), ChatMessage("user", RECORD.input)),
        XTUNER_DEFAULT_SOURCE,
        eos_token="<|im_end|>",
    )
    assert served == "<|System|>:You are a Lean 4 expert.\n<|User|>:Goal: 1 + 1 = 2\n<|Bot|>:"
    tok: object = tokenizer
    prompt_ids = tok(served, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    eos = tok.convert_tokens_to_ids("<|im_end|>")  # type: ignore[attr-defined]
    output_ids = tok("norm_num", add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    assert row["input_ids"] == [*prompt_ids, *output_ids, eos]
    assert row["completion_mask"] == [0] * len(prompt_ids) + [1] * (len(output_ids) + 1)


def test_chat_template_layout_and_length_limit(tmp_path: Path) -> None:
    build_tokenizer(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    install_layout(tok, "chat-template")  # keeps the tokenizer's ChatML
    row = encode(tok, RECORD)
    completion = [t for t, m in zip(row["input_ids"], row["completion_mask"], strict=True) if m]
    assert tok.decode(completion) == "norm_num<|im_end|>\n"
    assert len(tokenized(tok, [RECORD, RECORD], None)) == 2
    with pytest.raises(InvalidRequest, match="exceed max_length 10"):
        tokenized(tok, [RECORD], 10)


def _state(step: int = 3) -> TrainerState:
    state = TrainerState()
    state.global_step, state.max_steps, state.epoch = step, 10, 0.5
    state.num_input_tokens_seen = 1000
    return state


def test_metrics_are_served_on_the_configured_port() -> None:
    metrics = MetricsCallback(0)
    state, args = _state(), SimpleNamespace()
    metrics.on_train_begin(args, state, None)
    try:
        logs = {"loss": 1.25, "learning_rate": 2e-5, "tokens_per_second": 512.0}
        metrics.on_log(args, state, None, logs=logs)
        port = metrics.server.server_port
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    finally:
        metrics.on_train_end(args, state, None)
    lines = set(text.decode().splitlines())
    assert {
        "harcopa_trainer_loss 1.25",
        "harcopa_trainer_learning_rate 2e-05",
        "harcopa_trainer_tokens_per_second 512.0",
        "harcopa_trainer_step 3.0",
    } <= lines


def test_progress_is_plain_lines_off_a_terminal_and_markers_decide_resume(tmp_path: Path) -> None:
    stream = io.StringIO()
    progress = ProgressCallback(Throughput(), stream)
    state = _state()
    progress.on_train_begin(None, state, None)
    progress.on_log(None, state, None, logs={"loss": 0.5, "learning_rate": 1e-5})
    assert stream.getvalue().startswith("train: step 3/10 epoch 0.50 loss 0.5000 lr 1e-05 tokens/s")
    for step in (2, 4, 6):
        (tmp_path / f"checkpoint-{step}").mkdir()
    marker = CheckpointMarker()
    for step in (2, 4):
        marker.on_save(SimpleNamespace(output_dir=str(tmp_path)), _state(step), None)
    assert (tmp_path / "checkpoint-4" / COMPLETE_MARKER).is_file()
    assert last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-4"  # 6 is unfinished
