"""``harcopa export-sft`` and ``harcopa train``: SFT records from runs, and the fine-tuning job.

Registered by harcopa_cli/main.py. ``export-sft`` reads the orchestrator's store read-only and
writes JSONL (harcopa_trainer.export); ``train`` starts the training job on this machine: one
process, or ``torchrun`` with one worker per device and, across nodes, a c10d rendezvous
(harcopa_trainer.launch). Heavy imports happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_STORE = Path("runs/harcopa.sqlite")


def register_export(subparsers: Any) -> None:
    from harcopa.prompts import TASKS
    from harcopa_cli.benchmarks import add_root_argument

    parser = subparsers.add_parser(
        "export-sft",
        help="SFT records (system, input, output) from finished runs",
        description="Write the verified material of finished runs as SFT records of the seven"
        " tasks, rendered with the templates the runs used, filtered and deduplicated.",
    )
    parser.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="runs to export")
    parser.add_argument("--task", action="append", default=[], help=f"a task: {', '.join(TASKS)}")
    parser.add_argument(
        "--recipe",
        action="append",
        default=[],
        help="a pipeline's task set: har, h_bfs, h_wg, bfs, ar, wg, copa, h_sa",
    )
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE, help="orchestrator store")
    add_root_argument(parser)
    parser.add_argument(
        "--templates", type=Path, help="prompt templates the runs used (default: packaged)"
    )
    parser.add_argument(
        "--include-unsolved",
        action="store_true",
        help="also what Lean accepted in unsolved attempts (steps, gap proofs, drafts)",
    )
    parser.add_argument("--format", choices=["flat", "xtuner"], default="flat", dest="form")
    parser.add_argument("--copa", type=Path, action="append", default=[], help="CoPA records")
    parser.add_argument(
        "--dataset", type=Path, action="append", default=[], help="released-format records"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from harcopa.errors import InvalidRequest
    from harcopa_cli.benchmarks import resolve_root
    from harcopa_trainer.export import ExportRequest, export, resolve_tasks

    tasks = resolve_tasks(args.task, args.recipe)
    if not (args.run_ids or args.copa or args.dataset):
        raise InvalidRequest("name at least one RUN_ID, --copa file or --dataset file")
    request = ExportRequest(
        run_ids=tuple(args.run_ids),
        tasks=tasks,
        store=args.store,
        benchmark_root=resolve_root(args.benchmark_root) or Path("."),
        out=args.out,
        form=args.form,
        templates=args.templates,
        include_unsolved=args.include_unsolved,
        copa_files=tuple(args.copa),
        datasets=tuple(args.dataset),
        recipes=tuple(args.recipe),
    )
    summary = export(request)
    print(summary.line(args.out), file=sys.stderr)
    if args.json:
        print(json.dumps(summary.to_json(), ensure_ascii=False))
    return 0


def register_train(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="fine-tune a model on SFT records (Hugging Face + DeepSpeed ZeRO-2)",
        description="Run the training job of a recipe YAML on this node: one worker per"
        " device through torchrun; on several nodes, a c10d rendezvous (defaults from the"
        " PET_*, MASTER_ADDR/MASTER_PORT and JOB_COMPLETION_INDEX variables of the pod).",
    )
    parser.add_argument("--config", type=Path, required=True, help="recipe YAML")
    parser.add_argument(
        "--nproc-per-node", type=int, help="workers on this node (default: its devices, else 1)"
    )
    parser.add_argument("--nnodes", type=int, help="nodes of the job (default: $PET_NNODES or 1)")
    parser.add_argument("--rdzv-endpoint", help="HOST:PORT of the rendezvous (multi-node)")
    parser.add_argument("--node-rank", type=int, help="this node's rank (multi-node, optional)")
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    import dataclasses
    import subprocess

    from harcopa.errors import InvalidRequest
    from harcopa_trainer.config import load_config
    from harcopa_trainer.launch import accelerator_environment, topology_from_env, worker_command

    topology = topology_from_env(os.environ, args.nproc_per_node)
    changes = {
        "nnodes": args.nnodes,
        "rdzv_endpoint": args.rdzv_endpoint,
        "node_rank": args.node_rank,
    }
    topology = dataclasses.replace(topology, **{k: v for k, v in changes.items() if v is not None})
    if topology.nproc_per_node < 1 or topology.nnodes < 1:
        raise InvalidRequest("--nproc-per-node and --nnodes must be at least 1")
    load_config(args.config, topology.world_size, check_only=True)  # bad input: exit 2 here
    command = worker_command(args.config, topology)
    env = {**os.environ, **accelerator_environment(os.environ)}
    print(f"harcopa train: {' '.join(command)}", file=sys.stderr, flush=True)
    code = subprocess.run(command, env=env, check=False).returncode
    return 0 if code == 0 else (2 if code == 2 else 1)
