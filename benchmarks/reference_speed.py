"""Wall time of the paper's reference evaluator beside ``harcopa eval --mode paper`` on one timed,
scripted HAR workload, and whether both reached the same decisions.

Usage (from the repository root): ``python -m benchmarks.reference_speed --reference DIR
[--problems 32] [--ks 8] [--pool-size 18] [--work DIR] [--venv DIR]``. DIR is the user's checkout
of the reference (github Purewhite2019/har_copa_main at 3f6f65c), run as
benchmarks/reference_side.py runs it: copied, in its own virtual environment, never imported.

Workload: the first ``--problems`` FormalMath500 problems of ``--benchmark-root`` whose statement
ends in an ``answer = ...`` conclusion, scripted as in the scheduling benchmark's services mode
(benchmarks/scheduling_services.py): the solver drafts 0-2 wrong claims, then the right one,
then submits; the prover always sends the one tactic lean-sim accepts on right claims only.
Both systems talk to the same kind of endpoint, our model server's OpenAI-compatible HTTP front
over its model SIMULATOR (``--request-seconds`` per request plus ``--token-seconds`` per token of
the longest sample, ``--gpu-slots`` requests at once), and to lean-sim, the SIMULATOR of
Pantograph (``--tactic-seconds`` per command, ``--start-seconds`` per process start). The
reference runs with its own defaults (12 problems in flight, prover 16 x 4, 8 solver samples);
harcopa with the same budgets and ``--pool-size`` REPL processes.

Prints each system's wall time (from launch to exit, start-up included), problems solved, the
speed-up and how many problems got the same attempts (charged budget, accepted steps, submission,
solved). Exit status 0 when every problem's decisions agree.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.reference_compare import (
    MODEL_NAME,
    endpoint,
    harcopa_decisions,
    run_harcopa,
)
from benchmarks.reference_side import (
    ensure_venv,
    prepare_copy,
    reference_decisions,
    reference_imports,
    run_reference,
)
from benchmarks.scheduling_services import lean_scenario, model_scenario, workload


def workload_files(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The problem subset, both scenarios and the run settings shared by both systems."""
    source, items = workload(args)
    if not items:
        raise SystemExit(f"no usable FormalMath500 problems under {args.benchmark_root}")
    records = json.loads(
        (Path(args.benchmark_root) / f"{args.benchmark}.json").read_text(encoding="utf-8")
    )
    bench = work / "benchmark"
    bench.mkdir(parents=True, exist_ok=True)
    subset = [records[item.problem.index] for item in items]
    (bench / "formal_math500.json").write_text(json.dumps(subset, ensure_ascii=False))
    lean = work / "lean-scenario.json"
    lean.write_text(json.dumps(lean_scenario(items, args), ensure_ascii=False))
    (work / "mathlib").mkdir(exist_ok=True)
    print(f"workload: {len(items)} problems ({source}), HAR, K_S {args.ks}")
    return {
        "model": MODEL_NAME,
        "benchmark_root": str(bench),
        "project_root": str(work / "mathlib"),
        "lean_scenario": str(lean),
        "model_scenario": model_scenario(items, args),
        "temperature": 0,
        "problems": len(items),
        "ks": args.ks,
        "kw": 1,  # one try per problem: the evaluator's default
        "solver_samples": 8,
        "prover_expansions": 16,
        "prover_samples": 4,
        "concurrency": 12,  # the reference evaluator's default
        "pool_size": args.pool_size,
        "harcopa_concurrency": args.concurrency,
        "timeout": args.timeout,
    }


async def main_async(args: argparse.Namespace) -> int:
    work: Path = args.work
    python = ensure_venv(args.venv, reference_imports(args.reference))
    copy = prepare_copy(args.reference, work)
    run = workload_files(args, work)
    seconds: dict[str, float] = {}
    model_busy: dict[str, float] = {}
    decisions: dict[str, list[list[Any]]] = {}
    for side in ("reference", "paper"):
        async with endpoint(run["model_scenario"]) as (url, model):
            run |= {"url": url, "mode": side, "log_root": str(work / "reference-output")}
            started = time.monotonic()
            if side == "reference":
                results = await run_reference(python, copy, work, "har", run)
                decisions[side] = reference_decisions("har", results)
            else:
                results = await run_harcopa("har", run, args.reference, work / side)
                decisions[side] = harcopa_decisions("har", results, run["problems"])
            seconds[side] = time.monotonic() - started
            model_busy[side] = model.inner.busy_seconds
    theirs, ours = decisions["reference"], decisions["paper"]
    same = sum(a == b for a, b in zip(theirs, ours, strict=True))
    print("verifier: lean-sim, a SIMULATOR of Pantograph; model: the scripted model SIMULATOR")
    print(
        f"latencies: model {args.request_seconds} s per request + {args.token_seconds} s per"
        f" token, {args.gpu_slots} at once; Lean {args.tactic_seconds} s per command,"
        f" {args.import_seconds} s per process start"
    )
    for side, name in (("reference", "reference"), ("paper", "harcopa paper mode")):
        solved = sum(any(d.solved for d in p) for p in decisions[side])
        bound = model_busy[side] / args.gpu_slots
        print(
            f"  {name:<20} wall {seconds[side]:7.1f} s  solved {solved}/{run['problems']}"
            f"  (model busy {model_busy[side]:.1f} s: no schedule beats {bound:.1f} s on"
            f" {args.gpu_slots} slots; wall / that {seconds[side] / max(bound, 1e-9):.2f})"
        )
    print(
        f"  speed-up {seconds['reference'] / max(seconds['paper'], 1e-9):.2f}x;"
        f" same decisions on {same} of {len(theirs)} problems"
    )
    for index, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        if a != b:
            print(f"  - problem {index}: reference {a} / harcopa {b}")
    return 0 if same == len(theirs) else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_root = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmark"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, required=True, help="checkout of the reference")
    parser.add_argument("--benchmark-root", default=str(default_root))
    parser.add_argument("--problems", type=int, default=32)
    parser.add_argument("--ks", type=int, default=8, help="K_S of both systems")
    parser.add_argument("--pool-size", type=int, default=18, help="harcopa's REPL processes")
    parser.add_argument(
        "--concurrency", type=int, default=0, help="harcopa's problems in flight (0: its default)"
    )
    parser.add_argument("--gpu-slots", type=int, default=8)
    parser.add_argument("--request-seconds", type=float, default=0.1)
    parser.add_argument("--token-seconds", type=float, default=0.02)
    parser.add_argument("--tactic-seconds", type=float, default=0.05)
    parser.add_argument("--start-seconds", dest="import_seconds", type=float, default=3.0)
    parser.add_argument("--work", default="", help="work folder (default: a new temp folder)")
    parser.add_argument("--venv", default="~/.cache/harcopa/reference-venv")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per system")
    args = parser.parse_args(argv)
    if args.problems < 1 or args.ks < 1 or args.pool_size < 1 or args.gpu_slots < 1:
        parser.error("--problems, --ks, --pool-size and --gpu-slots must be positive")
    args.benchmark, args.time_scale = "formal_math500", 1.0
    args.reference = args.reference.resolve()
    args.work = Path(args.work or tempfile.mkdtemp(prefix="harcopa-reference-speed-")).resolve()
    args.venv = Path(args.venv).expanduser()
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async(parse_args())))
