"""A small local cycle for tests: an informal corpus, a scripted CoPA model (the model simulator),
a lean-sim scenario, a tiny base model (tests/model_tiny.py) and the cycle configuration.

Used by tests/integration/test_cycle_local.py and by ``python -m tests.cycle_setup DIR``, which
writes the files (and prints the config path) to run ``harcopa cycle --config`` by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

CORPUS = [
    {"problem": "What is 3 + 4?", "answer": "7", "solution": "3 + 4 = 7."},
    {"problem": "What is 2 + 5?", "answer": "7", "solution": "2 + 5 = 7."},
    {"problem": "Name a colour.", "answer": "red", "solution": "Red is a colour."},
]
DRAFT = "-- the sum is 7\nhave h₁ : answer = 7 := by sorry\nexact h₁ -- submit"


def _statement(expression: str) -> str:
    return (
        f"```lean4\nexample (answer : ℕ) (h_answer : answer = {expression}) -- {expression}\n"
        ": answer = 7 := sorry\n```"
    )


def model_scenario(request_seconds: float = 0.0) -> dict[str, Any]:
    """CoPA outputs for the corpus: statements for the sums (nothing valid for the colour), the
    draft, and the gap's tactic; ``request_seconds`` slows every request down."""
    return {
        "name": "copa-cycle",
        "rules": [
            {"match": "# Formal Statement", "completions": [f"```lean4\n{DRAFT}\n```"]},
            {"match": "Current tactic state", "completions": ["norm_num [h_answer]"]},
            {"match": r"What is 3 \+ 4\?", "completions": [_statement("3 + 4")]},
            {"match": r"What is 2 \+ 5\?", "completions": [_statement("2 + 5")]},
            {"match": "Name a colour", "completions": ["A colour has no Lean statement here."]},
        ],
        "default": "no rule matched",
        "latency": {"request_seconds": request_seconds},
    }


LEAN_SCENARIO = {
    "rules": [{"goal": "^answer = 7$", "tactic": r"^norm_num \[h_answer\]$", "result": "close"}]
}

#: A short CPU recipe (plain Hugging Face trainer, no DeepSpeed: the trainer's own tests cover it).
RECIPE = {
    "layout": "xtuner-default",
    "global_batch_size": 2,
    "per_device_train_batch_size": 1,
    "max_length": 2048,
    "packing": False,
    "completion_only_loss": True,
    "learning_rate": 0.001,
    "num_train_epochs": 1,
    "lr_scheduler_type": "constant",
    "optim": "adamw_torch",
    "save_strategy": "no",
    "logging_steps": 1,
    "report_to": "none",
    "metrics_port": -1,
    "seed": 7,
    "use_cpu": True,
    "bf16": False,
}


def write_cycle(folder: Path, *, request_seconds: float = 0.0, cycles: int = 1) -> Path:
    """Write every file of the cycle into ``folder``; the configuration's path. With several
    cycles the later ones serve the trained tiny model (transformers) and export the earlier
    cycles' runs too (``accumulate``): a tiny model writes no valid statement."""
    from tests.model_tiny import build_tiny_model

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in CORPUS))
    (folder / "model.json").write_text(json.dumps(model_scenario(request_seconds)))
    (folder / "lean.json").write_text(json.dumps(LEAN_SCENARIO))
    if not (folder / "base" / "config.json").is_file():
        build_tiny_model(folder / "base")
    config = {
        "name": "demo",
        "cycles": cycles,
        "workdir": "work",
        "generator": {"backend": "sim", "scenario": "model.json"},
        "base_model": "base",
        "runs": [
            {
                "pipeline": "copa",
                "benchmark": "corpus.jsonl",
                "kw": 2,
                "concurrency": 2,
                "solver_max_tokens": 48,
                "prover_max_tokens": 16,
            }
        ],
        "export": {"recipes": ["copa"], "accumulate": cycles > 1},
        "train": {"recipe": RECIPE, "processes": 1},
        "services": {
            "verifier_backend": "sim",
            "lean_scenario": "lean.json",
            "pool_size": 3,
            "serve_backend": "transformers",
        },
    }
    path = folder / "cycle.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


if __name__ == "__main__":
    print(write_cycle(Path(sys.argv[1])))
