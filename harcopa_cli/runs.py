"""``harcopa run ...`` and ``harcopa orchestrator serve``: start, watch and inspect runs.

Registered by harcopa_cli/main.py. Client commands talk to an OrchestratorService over gRPC;
``run report`` and ``run export`` read the orchestrator's SQLite store directly. The RunSpec
flags live in harcopa_cli/spec_arguments.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa.validation import check_run_spec
from harcopa_cli.benchmarks import add_root_argument, resolve_root
from harcopa_cli.conventions import add_config_flag, add_json_flag, add_parser, print_json
from harcopa_cli.outputs.arguments import add_output_arguments
from harcopa_cli.spec_arguments import (
    add_spec_arguments,
    check_corpus,
    require_spec_arguments,
    spec_from_args,
)

DEFAULT_TARGET = os.environ.get("HARCOPA_ORCHESTRATOR_TARGET", "127.0.0.1:50050")


def register(subparsers: Any) -> None:
    serve = add_parser(subparsers, "orchestrator", help="run the orchestrator service")
    serve_actions = serve.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve_cmd = add_parser(serve_actions, "serve", help="serve OrchestratorService")
    serve_cmd.add_argument("--port", type=int, help="gRPC port (default: the settings')")
    serve_cmd.add_argument("--store", type=Path, help="SQLite run store path")
    add_root_argument(serve_cmd)
    serve_cmd.add_argument("--verifier", help="VerifierService target")
    serve_cmd.set_defaults(handler=_serve)

    run = add_parser(subparsers, "run", help="start, watch and inspect runs")
    actions = run.add_subparsers(dest="action", required=True, metavar="ACTION")
    _register_start(actions)
    for name, handler, helptext in (
        ("watch", _watch, "follow a run's progress until it ends (exit 0: it succeeded)"),
        ("get", _get, "print a run"),
        ("cancel", _cancel, "cancel a run"),
    ):
        cmd = add_parser(actions, name, help=helptext)
        cmd.add_argument("run_id")
        cmd.set_defaults(handler=handler)
    listing = add_parser(actions, "list", help="list runs")
    listing.add_argument("--limit", type=int, help="only the N most recent runs")
    listing.set_defaults(handler=_list)
    result = add_parser(actions, "result", help="print one problem's attempts as JSON")
    result.add_argument("run_id")
    result.add_argument("problem_id", help="e.g. minif2f_solving/12")
    result.set_defaults(handler=_result)
    _register_report(actions)
    export = add_parser(actions, "export", help="write a run's results as JSONL (reads the store)")
    export.add_argument("run_id")
    export.add_argument("--store", type=Path, default=Path("runs/harcopa.sqlite"))
    export.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    export.set_defaults(handler=_export)
    for name, cmd in actions.choices.items():
        if name in ("start", "list", "result", "watch", "get", "cancel"):
            cmd.add_argument(
                "--orchestrator", default=DEFAULT_TARGET, help="OrchestratorService target"
            )
        if name not in ("result", "report"):  # those print JSON / have their own --json
            add_json_flag(cmd)
        add_config_flag(cmd)


def _register_start(actions: Any) -> None:
    start = add_parser(actions, "start", help="start a run (prints its id)")
    add_spec_arguments(start, required=False)
    start.add_argument(
        "--solver", default="", help="a model the orchestrator configures (default: its default)"
    )
    start.add_argument(
        "--solver-endpoint",
        default="",
        help="call this endpoint directly instead (only hosts the operator allows)",
    )
    start.add_argument("--solver-endpoint-model", default="", help="model name at the endpoint")
    start.add_argument("--prover", default="", help="prover model (default: the solver's)")
    start.add_argument("--prover-endpoint", default="", help="prover endpoint (allowed hosts)")
    start.add_argument("--prover-endpoint-model", default="", help="model name at the endpoint")
    start.add_argument("--watch", action="store_true", help="follow progress until it ends")
    start.set_defaults(handler=_start)


def _register_report(actions: Any) -> None:
    report = add_parser(
        actions,
        "report",
        help="the paper's table for runs (reads the store)",
        description="The paper's table per benchmark and pipeline. Several runs are reported"
        " as the paper does: concatenated (All, Solved, Budget, Steps summed) and the mean and"
        " population standard deviation of each run's solve rate and budget.",
    )
    report.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    report.add_argument("--store", type=Path, default=Path("runs/harcopa.sqlite"))
    report.add_argument("--no-exclusions", action="store_true", help="score every problem")
    add_root_argument(report)
    add_json_flag(report, "a JSON object (the run's figures and one object per table)")
    add_output_arguments(report, "none is written")
    report.set_defaults(handler=_report)


def _serve(args: argparse.Namespace) -> int:
    overrides = {
        "PORT": args.port,
        "STORE_PATH": args.store,
        "BENCHMARK_ROOT": args.benchmark_root,
        "VERIFIER_TARGET": args.verifier,
    }
    for key, value in overrides.items():
        if value is not None:
            os.environ[f"HARCOPA_ORCHESTRATOR_{key}"] = str(value)
    from harcopa_orchestrator.__main__ import main

    main()
    return 0


def _start(args: argparse.Namespace) -> int:
    require_spec_arguments(args)
    solver = d.ModelRef(args.solver, args.solver_endpoint, args.solver_endpoint_model)
    prover = solver
    if args.prover or args.prover_endpoint:
        prover = d.ModelRef(args.prover, args.prover_endpoint, args.prover_endpoint_model)
    spec = spec_from_args(args, solver, prover)
    check_run_spec(spec)
    check_corpus(spec)
    return asyncio.run(_start_async(args, spec))


def _client(target: str) -> Any:
    """An OrchestratorClient with the HARCOPA_CLIENT_* token and TLS files, if any."""
    from harcopa.orchestrator_client import OrchestratorClient
    from harcopa_cli.credentials import from_env

    token, credentials = from_env()
    return OrchestratorClient(target, token=token, credentials=credentials)


async def _start_async(args: argparse.Namespace, spec: d.RunSpec) -> int:
    async with _client(args.orchestrator) as client:
        run_id = await client.start_run(spec)
        if not args.json:
            print(run_id, flush=True)
        code = await follow(client, run_id) if args.watch else 0
        if args.json:
            print_json(_run_json(await client.get_run(run_id)))
    return code


async def follow(client: Any, run_id: str, stream: Any = None) -> int:
    """Show a run's progress on stderr until it ends; 0 when the run succeeded."""
    from harcopa_cli.progress import follow as show

    return await show(client, run_id, stream or sys.stderr)


def _client_call(args: argparse.Namespace, method: str, *call_args: Any) -> Any:
    async def call() -> Any:
        async with _client(args.orchestrator) as client:
            return await getattr(client, method)(*call_args)

    return asyncio.run(call())


def _run_json(run: d.Run) -> dict[str, Any]:
    p = run.progress
    return {
        "run_id": run.run_id,
        "status": run.status.value,
        "pipeline": run.spec.pipeline.value,
        "benchmark": run.spec.benchmark,
        "mode": run.spec.mode.value,
        "problems": {
            "total": p.problems_total,
            "done": p.problems_done,
            "solved": p.problems_solved,
            "errored": p.problems_errored,
        },
        "errored_problems": list(run.errored_problems),
        "model_calls": p.model_calls,
        "tactic_calls": p.tactic_calls,
        "sessions_lost": p.sessions_lost,
        "elapsed_seconds": p.elapsed_seconds,
        "problems_per_hour": p.problems_per_hour,
        "eta_seconds": p.eta_seconds,
        "created_unix": run.created_unix,
        "updated_unix": run.updated_unix,
        "error": run.error,
    }


def _print_run(args: argparse.Namespace, run: d.Run) -> None:
    if args.json:
        print_json(_run_json(run))
        return
    from harcopa_cli.progress import summary

    name = f" ({run.spec.name})" if run.spec.name else ""
    print(
        f"run {run.run_id}{name}: {run.spec.pipeline.value} on {run.spec.benchmark},"
        f" {run.spec.mode.value} mode"
    )
    print(summary(run.status, run.progress))
    if run.errored_problems:
        print("errored (not results; resumable): " + ", ".join(run.errored_problems))
    if run.error:
        print(f"error: {run.error}")


def _watch(args: argparse.Namespace) -> int:
    async def watch() -> int:
        async with _client(args.orchestrator) as client:
            if not args.json:
                return await follow(client, args.run_id)
            final = None
            async for event in client.watch(args.run_id):  # one JSON object per event
                final = event
                print(
                    json.dumps(
                        {
                            "status": event.status.value,
                            "problem_id": event.problem_id,
                            **_progress_json(event.progress),
                        }
                    ),
                    flush=True,
                )
            return 0 if final is not None and final.status is d.RunStatus.SUCCEEDED else 1

    return asyncio.run(watch())


def _progress_json(p: d.RunProgress) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(p)


def _get(args: argparse.Namespace) -> int:
    _print_run(args, _client_call(args, "get_run", args.run_id))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    _print_run(args, _client_call(args, "cancel_run", args.run_id))
    return 0


def _list(args: argparse.Namespace) -> int:
    runs = sorted(_client_call(args, "list_runs"), key=lambda r: r.created_unix, reverse=True)
    if args.limit is not None:
        if args.limit < 0:
            raise InvalidRequest("--limit must be 0 or more")
        runs = runs[: args.limit]
    if args.json:
        print_json([_run_json(run) for run in runs])
        return 0
    for run in runs:
        p = run.progress
        print(
            f"{run.run_id}  {run.status.value:<11}  {run.spec.pipeline.value:<5}  "
            f"{run.spec.benchmark}  {p.problems_done}/{p.problems_total} done  "
            f"{p.problems_solved} solved  {p.problems_errored} errored"
        )
    return 0


def _result(args: argparse.Namespace) -> int:
    from harcopa import wire

    result = _client_call(args, "problem_result", args.run_id, args.problem_id)
    print(json.dumps(json.loads(wire.result_to_json(result)), indent=2, ensure_ascii=False))
    return 0


def _open_store(path: Path) -> Any:
    if not path.exists():
        raise InvalidRequest(f"no run store at {path}")
    from harcopa_orchestrator.store import RunStore

    return RunStore(path)


def _report(args: argparse.Namespace) -> int:
    from harcopa_orchestrator.report import aggregate, render_many

    store = _open_store(args.store)
    # Without the files, a benchmark with an exclusion list fails naming --no-exclusions.
    root = None if args.no_exclusions else resolve_root(args.benchmark_root) or Path(".")

    async def load() -> list[Any]:
        reports = [await run_report(store, run_id, root) for run_id in args.run_ids]
        if args.output_dir is not None:
            from harcopa_cli.outputs.cost import Prices
            from harcopa_cli.outputs.folder import write_folders

            prices = Prices(args.gpu_hour_price, args.cpu_hour_price)
            await write_folders(store, args.run_ids, args.output_dir, root, prices)
        return reports

    try:
        reports = asyncio.run(load())
    finally:
        store.close()
    tables = aggregate(reports)
    if args.json:
        document: dict[str, Any] = {"tables": [table.json() for table in tables]}
        if len(reports) == 1:  # one run: its figures at the top level too
            (report,) = reports
            document = {"run_id": report.run_id, **report.figures(), **document}
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(render_many(tables))
    return 0


async def run_report(store: Any, run_id: str, benchmark_root: Path | None) -> Any:
    """The RunReport of one stored run; the paper's exclusions unless ``benchmark_root`` is None.

    The benchmark file under ``benchmark_root`` (or the run's problems file) tells which of the
    run's problems are on the paper's lists.
    """
    from harcopa_orchestrator.report import build_report, paper_exclusions

    run = await store.get_run(run_id)
    if run is None:
        raise InvalidRequest(f"no run {run_id!r} in the store")
    excluded = frozenset() if benchmark_root is None else paper_exclusions(run.spec, benchmark_root)
    results = await store.results(run_id)
    return build_report(run.spec, results, excluded=excluded, run_id=run_id, run=run)


def _export(args: argparse.Namespace) -> int:
    store = _open_store(args.store)

    async def export() -> int:
        if await store.get_run(args.run_id) is None:
            raise InvalidRequest(f"no run {args.run_id!r} in {args.store}")
        count: int = await store.export_jsonl(args.run_id, args.out)
        return count

    try:
        count = asyncio.run(export())
    except OSError as error:
        raise InvalidRequest(f"cannot write {args.out}: {error.strerror}") from error
    finally:
        store.close()
    if args.json:
        print_json({"run_id": args.run_id, "path": str(args.out), "problems": count})
    else:
        print(f"wrote {count} problems to {args.out}")
    return 0
