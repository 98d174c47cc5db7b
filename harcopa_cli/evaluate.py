"""``harcopa eval``: the one-command local evaluation (verifier, model server and orchestrator as
local processes, one run, its report and its run folder).

Registered by harcopa_cli/main.py and called by ``scripts/evaluate.sh``; :data:`DESCRIPTION` is
its help text. The backends it picks come from harcopa_cli/backends.py, the RunSpec flags from
harcopa_cli/spec_arguments.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import shlex
import sys
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.domain.problems import SESSIONS_PER_PROCESS
from harcopa.errors import InvalidRequest
from harcopa.validation import check_run_spec
from harcopa_cli import preflight
from harcopa_cli.backends import SESSIONS_ENV, plan_backends, pool_size, session_capacity
from harcopa_cli.benchmarks import add_root_argument
from harcopa_cli.conventions import add_config_flag, add_json_flag, add_parser, print_json
from harcopa_cli.local import Plan
from harcopa_cli.outputs.arguments import add_output_arguments
from harcopa_cli.runs import follow
from harcopa_cli.spec_arguments import (
    add_spec_arguments,
    check_corpus,
    require_spec_arguments,
    spec_conflicts,
    spec_from_args,
)

DESCRIPTION = """\
Evaluate a pipeline on a benchmark: starts a Lean verifier, a model server and an orchestrator
on this machine, runs the evaluation, prints the paper's table and writes the results.

Backends are the best this machine has: real Lean (Pantograph) when $HARCOPA_PANTOGRAPH_BIN and
$HARCOPA_MATHLIB_PROJECT are set, else lean-sim (a simulator of Pantograph, not a prover); vLLM
when it is installed and a CUDA GPU is present, else transformers (CPU or one GPU); or any
OpenAI-compatible server with --model-endpoint. Budgets default to the paper's; --preset smoke
runs a few problems at tiny budgets in minutes on a CPU.

A run is kept in a SQLite store under --workdir. Stopping the command (Ctrl-C, SIGTERM, even
SIGKILL) leaves it resumable: --resume RUN_ID takes its specification from the store and tries
its errored and unfinished problems again.

Exit status: 0 every problem was checked; 1 the run ended incomplete (some problems could not
be checked: it prints how to resume) or failed; 2 bad input; 130 interrupted.
"""

SMOKE_NOTE = (
    "this was a SMOKE RUN: a few problems at tiny budgets, checking that the whole system works;"
    " with lean-sim (a simulator, not Lean) and SmolLM2-135M (a small model not trained for"
    " Lean) its solve rate means nothing"
)


def register(subparsers: Any) -> None:
    parser = add_parser(
        subparsers,
        "eval",
        help="evaluate a pipeline on a benchmark with local services (one command)",
        description=DESCRIPTION,
    )
    add_spec_arguments(parser, required=False)
    add_root_argument(parser)
    parser.add_argument("--workdir", type=Path, default=Path("runs"), help="the run store's folder")
    add_json_flag(parser, "the run's figures and tables (instead of the table)")
    add_config_flag(parser)
    add_output_arguments(parser, "the --workdir folder, runs/")
    parser.add_argument(
        "--resume",
        default="",
        metavar="RUN_ID",
        help="continue this run (its pipeline, benchmark and budgets come from the store): its "
        "errored and unfinished problems are tried again",
    )
    model = parser.add_argument_group("model")
    model.add_argument("--model", default="smollm2", help="checkpoint folder, or `smollm2`")
    model.add_argument(
        "--model-backend", default="auto", choices=["auto", "vllm", "transformers", "sim"]
    )
    model.add_argument("--model-scenario", type=Path, help="scenario file of the model simulator")
    model.add_argument("--model-endpoint", default="", help="use an OpenAI-compatible URL instead")
    model.add_argument("--model-name", default="", help="model name at --model-endpoint")
    model.add_argument(
        "--template", default="", help="chat template override (xtuner-default|file)"
    )
    model.add_argument("--system-prompt", default="", help="system prompt override")
    model.add_argument(
        "--reference",
        type=Path,
        help="send the exact prompts of this checkout of the paper's reference code"
        " (github Purewhite2019/har_copa_main at 3f6f65c; checked by SHA-256, never imported;"
        " the templates are written to WORKDIR/reference-prompts.toml)",
    )
    lean = parser.add_argument_group("verifier")
    lean.add_argument("--verifier-backend", default="auto", choices=["auto", "pantograph", "sim"])
    lean.add_argument("--lean-scenario", type=Path, help="scenario file of lean-sim")
    lean.add_argument(
        "--pool-size",
        type=int,
        help="REPL processes (default: --concurrency + 2, or cores + 2); one is kept for checks"
        " (and one for parsing from 4 up), the sessions hold the rest,"
        f" ${SESSIONS_ENV} (default {SESSIONS_PER_PROCESS}) at most on each (--concurrency"
        " defaults to that many)",
    )
    parser.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    """Check every input (in well under a second, before any service starts), then run."""
    args.output_dir = args.output_dir or args.workdir
    if args.resume:
        if args.preset:
            raise InvalidRequest("--preset and --resume conflict: a resumed run keeps its budgets")
        _resume_spec(args)  # fills args from the store; refuses conflicting flags
    else:
        require_spec_arguments(args)  # applies --preset
    capacity = session_capacity(pool_size(args))  # also checks an inherited sessions setting
    if args.concurrency is None:
        args.concurrency = capacity
    args.benchmark_root = preflight.benchmark_root(args.benchmark, args.benchmark_root)
    spec = spec_from_args(args, d.ModelRef("solver"), d.ModelRef("solver"))
    if not args.resume:  # the budgets, sizes, names, problems and corpus
        check_run_spec(spec)
        check_corpus(spec)
        args.problem_count = preflight.problem_count(spec, args.benchmark_root)
    preflight.check_model(args.model, args.model_endpoint, args.model_backend)
    plan = plan_backends(args)
    if args.reference is not None:
        from harcopa.reference import ReferenceMismatch

        try:
            plan.templates_path = _reference_templates(args)
        except ReferenceMismatch as error:  # harcopa cannot reproduce them: a runtime failure
            print(f"harcopa: error: {error}", file=sys.stderr)
            return 1
        plan.notes.append(f"prompts: the reference's exact strings ({plan.templates_path})")
    if args.preset == "smoke":
        plan.notes.insert(0, SMOKE_NOTE.replace("this was", "this is"))
    for note in plan.notes:
        print(f"harcopa eval: {note}", file=sys.stderr)
    return asyncio.run(_eval_async(args, plan))


def _reference_templates(args: argparse.Namespace) -> Path:
    """Import the reference's templates into the work folder; the file's path."""
    from harcopa_cli.prompts import import_templates

    if args.system_prompt:
        raise InvalidRequest(
            "--system-prompt and --reference conflict: the reference sets each task's system prompt"
        )
    return import_templates(args.reference, args.workdir / "reference-prompts.toml").path


def _resume_spec(args: argparse.Namespace) -> None:
    """Check ``--resume`` against the store before any service starts: the run exists, can be
    continued, and no given flag contradicts its specification."""
    from harcopa_orchestrator.store import RunStore

    path = args.workdir / "harcopa.sqlite"
    if not path.is_file():
        raise InvalidRequest(f"no run store at {path} (is --workdir the run's folder?)")

    async def load() -> d.Run | None:
        store = RunStore(path)
        try:
            return await store.get_run(args.resume)
        finally:
            store.close()

    run = asyncio.run(load())
    if run is None:
        raise InvalidRequest(f"no run {args.resume!r} in {path}")
    if run.status is d.RunStatus.CANCELLED:
        raise InvalidRequest(f"run {args.resume} was cancelled; start a new one")
    conflicts = spec_conflicts(args, run.spec)
    if conflicts:
        raise InvalidRequest(
            "a resumed run keeps its specification; these flags conflict: " + "; ".join(conflicts)
        )
    args.pipeline, args.benchmark = run.spec.pipeline.value, run.spec.benchmark
    args.concurrency = args.concurrency or run.spec.max_concurrent_problems
    args.resumed_spec = run.spec
    args.problem_count = run.progress.problems_unfinished or run.progress.problems_total


async def _eval_async(args: argparse.Namespace, plan: Plan) -> int:
    """Run the evaluation; SIGINT and SIGTERM stop it cleanly (the run stays resumable)."""
    from harcopa_cli.local import interruptible

    run_id: list[str] = []

    def interrupted() -> int:
        which = run_id[0] if run_id else args.resume or ""
        resume = f"; resume with: {resume_command(args, which)}" if which else ""
        print(f"harcopa eval: interrupted{resume}", file=sys.stderr)
        return 130

    return await interruptible(_evaluate(args, plan, run_id), interrupted)


def resume_command(args: argparse.Namespace, run_id: str) -> str:
    """The one command that continues ``run_id`` (with the same services and folders)."""
    parts = ["harcopa eval --resume", run_id, "--workdir", shlex.quote(str(args.workdir))]
    if args.benchmark_root:
        parts += ["--benchmark-root", shlex.quote(str(args.benchmark_root))]
    for flag in ("model", "model_backend", "model_scenario", "model_endpoint", "model_name"):
        value = getattr(args, flag, None)
        default = {"model": "smollm2", "model_backend": "auto"}.get(flag)
        if value and value != default:
            parts += ["--" + flag.replace("_", "-"), shlex.quote(str(value))]
    if getattr(args, "output_dir", None) not in (None, args.workdir):
        parts += ["--output-dir", shlex.quote(str(args.output_dir))]
    for flag in ("verifier_backend", "lean_scenario", "pool_size", "reference"):
        value = getattr(args, flag, None)
        if value and value != "auto":
            parts += ["--" + flag.replace("_", "-"), shlex.quote(str(value))]
    return " ".join(parts)


async def _evaluate(args: argparse.Namespace, plan: Plan, run_id_out: list[str]) -> int:
    from harcopa.orchestrator_client import OrchestratorClient
    from harcopa_cli.local import local_services
    from harcopa_cli.outputs import logs as run_logs
    from harcopa_cli.outputs.provenance import eval_provenance

    logs = run_logs.staging_folder(args.output_dir)  # moved into the run folder once named
    endpoint = {"target": args.model_endpoint, "model": args.model_name}
    workdir, root = args.workdir, args.benchmark_root
    async with local_services(plan, workdir, root, endpoint, logs=logs) as stack:
        backend = plan.model_env["HARCOPA_MODEL_BACKEND__KIND"] if plan.model_env else None
        provenance = await eval_provenance(args, backend, stack.verifier)
        if stack.model is not None:
            await _print_estimate(args, stack.model)
        solver_ref = d.ModelRef("solver", system_prompt=args.system_prompt)
        async with OrchestratorClient(stack.orchestrator) as client:
            if args.resume:
                run_id = args.resume
                run_id_out.append(run_id)
                if (await client.get_run(run_id)).status is not d.RunStatus.SUCCEEDED:
                    await client.resume_run(run_id)
            else:
                run_id = await client.start_run(spec_from_args(args, solver_ref, solver_ref))
                run_id_out.append(run_id)
            logs = run_logs.adopt(logs, args.output_dir, run_id)
            print(f"harcopa eval: run {run_id} (logs in {logs})", file=sys.stderr)
            # The report's modules (matplotlib takes seconds) load while the run goes.
            preload = asyncio.create_task(asyncio.to_thread(_load_report_modules))
            await follow(client, run_id)
            await preload
    return await _finish(args, run_id, provenance)


def _load_report_modules() -> None:
    """Import what writing the run folder needs, plotting included when it is installed."""
    from harcopa_cli.outputs import plots

    importlib.import_module("harcopa_cli.outputs.folder")
    with contextlib.suppress(plots.PlottingUnavailable):
        plots.pyplot()


async def _print_estimate(args: argparse.Namespace, target: str) -> None:
    """The run's duration bound from its budgets and the model's speed, measured now."""
    from harcopa_cli import estimate

    spec = getattr(args, "resumed_spec", None) or spec_from_args(
        args, d.ModelRef("solver"), d.ModelRef("solver")
    )
    speed = await estimate.measure_speed(target, estimate.probe_samples(spec))
    line, _ = estimate.describe(spec, args.problem_count, speed)
    print(f"harcopa eval: {line}", file=sys.stderr, flush=True)


async def _finish(args: argparse.Namespace, run_id: str, provenance: dict[str, Any]) -> int:
    """Print the report and write the run folder; non-zero unless the run succeeded."""
    from harcopa_cli.outputs.cost import Prices
    from harcopa_cli.outputs.folder import write_run_folder
    from harcopa_cli.runs import run_report
    from harcopa_orchestrator.report import aggregate
    from harcopa_orchestrator.store import RunStore

    workdir: Path = args.workdir
    store = RunStore(workdir / "harcopa.sqlite")
    try:
        run = await store.get_run(run_id)
        if run is None:
            print(f"harcopa eval: run {run_id} not found", file=sys.stderr)
            return 1
        report = await run_report(store, run_id, args.benchmark_root)
        unchecked = len(run.errored_problems) or run.progress.problems_unfinished
        resume = resume_command(args, run_id)
        folder = await write_run_folder(
            store,
            run_id,
            args.output_dir,
            benchmark_root=args.benchmark_root,
            prices=Prices(args.gpu_hour_price, args.cpu_hour_price),
            provenance=provenance,
            resume_command=resume,
        )
        if args.json:
            print_json(
                {
                    "run_id": run_id,
                    **report.figures(),
                    "tables": [table.json() for table in aggregate([report])],
                    "run_folder": str(folder),
                    **({"resume": resume} if run.status is not d.RunStatus.SUCCEEDED else {}),
                }
            )
        else:
            print(report.render())
            print(f"run folder: {folder}/ (report.html, report.md, results.json, samples.jsonl)")
        if args.preset == "smoke":
            print(f"harcopa eval: {SMOKE_NOTE}", file=sys.stderr)
        if run.status is d.RunStatus.SUCCEEDED:
            return 0
        print(
            f"harcopa eval: run {run_id} is {run.status.value}: {unchecked} problems could not be"
            f" checked (not counted as unsolved); resume with: {resume}",
            file=sys.stderr,
        )
        return 1
    finally:
        store.close()
