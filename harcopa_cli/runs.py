"""``harcopa run ...`` and ``harcopa orchestrator serve``: start, watch and inspect runs.

Registered by harcopa_cli/main.py. Client commands talk to an OrchestratorService over gRPC;
``run report`` and ``run export`` read the orchestrator's SQLite store directly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa.validation import check_run_spec

DEFAULT_TARGET = os.environ.get("HARCOPA_ORCHESTRATOR_TARGET", "127.0.0.1:50050")


def parse_indices(text: str) -> tuple[int, ...]:
    """``"0,3,10-12"`` -> (0, 3, 10, 11, 12)."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                out.extend(range(low, high + 1))
            else:
                out.append(int(part))
        except ValueError as exc:
            raise InvalidRequest(f"bad problem list {text!r}: use e.g. 0,3,10-12") from exc
    return tuple(out)


def add_spec_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Arguments that make a RunSpec (shared by `run start` and `eval`); every one defaults to
    None so a caller can tell which were given (``eval --resume`` refuses conflicting ones)."""
    parser.add_argument("--pipeline", required=required, choices=[p.value for p in d.Pipeline])
    parser.add_argument("--benchmark", required=required, help="benchmark name or problems file")
    parser.add_argument("--problems", help="indices, e.g. 0,3,10-12 (default all)")
    parser.add_argument("--mode", choices=["strict", "paper"], help="acceptance rules (strict)")
    parser.add_argument("--name", help="a label for the run")
    parser.add_argument("--ks", type=int, help="K_S: step candidates per problem (default 80)")
    parser.add_argument(
        "--solver-samples", type=int, help="completions per solver request (default 8)"
    )
    parser.add_argument(
        "--prover-expansions", type=int, help="model calls per proof search (default 16)"
    )
    parser.add_argument(
        "--prover-samples", type=int, help="tactics per prover expansion (default 4)"
    )
    parser.add_argument("--kw", type=int, help="K_W: whole drafts per problem (default 8)")
    parser.add_argument("--temperature", type=float, help="sampling temperature (default 0.7)")
    parser.add_argument(
        "--solver-max-tokens", type=int, help="token limit of a solver completion (default 2048)"
    )
    parser.add_argument(
        "--prover-max-tokens", type=int, help="token limit of a prover completion (default 256)"
    )
    parser.add_argument("--concurrency", type=int, help="problems in flight (default 16)")
    parser.add_argument("--seed", type=int, help="sampling seed (default: unseeded)")


def spec_from_args(
    args: argparse.Namespace, solver: d.ModelRef, prover: d.ModelRef | None
) -> d.RunSpec:
    params = d.SearchParams().merged(
        ks=args.ks,
        solver_samples=args.solver_samples,
        prover_expansions=args.prover_expansions,
        prover_samples=args.prover_samples,
        kw=args.kw,
        temperature=args.temperature,
        solver_max_tokens=args.solver_max_tokens,
        prover_max_tokens=args.prover_max_tokens,
    )
    pipeline = d.Pipeline(args.pipeline)
    return d.RunSpec(
        pipeline=pipeline,
        benchmark=args.benchmark,
        solver=solver,
        prover=prover if pipeline.hierarchical else None,
        name=args.name or "",
        problem_indices=parse_indices(args.problems or ""),
        params=params,
        mode=d.Mode(args.mode or "strict"),
        max_concurrent_problems=args.concurrency or 16,
        seed=args.seed,
    )


#: The flags of ``add_spec_arguments`` and the RunSpec value each one sets.
SPEC_FLAGS: dict[str, Callable[[d.RunSpec], object]] = {
    "pipeline": lambda s: s.pipeline.value,
    "benchmark": lambda s: s.benchmark,
    "problems": lambda s: s.problem_indices,
    "mode": lambda s: s.mode.value,
    "name": lambda s: s.name,
    "ks": lambda s: s.params.ks,
    "solver_samples": lambda s: s.params.solver_samples,
    "prover_expansions": lambda s: s.params.prover_expansions,
    "prover_samples": lambda s: s.params.prover_samples,
    "kw": lambda s: s.params.tries_for(s.pipeline),
    "temperature": lambda s: s.params.temperature,
    "solver_max_tokens": lambda s: s.params.solver_max_tokens,
    "prover_max_tokens": lambda s: s.params.prover_max_tokens,
    "concurrency": lambda s: s.max_concurrent_problems,
    "seed": lambda s: s.seed,
}


def check_corpus(spec: d.RunSpec) -> None:
    """An informal corpus this machine can read is checked line by line before the run starts
    (the orchestrator checks it again at StartRun); only copa runs take one."""
    from harcopa.corpus import is_corpus_path, load_corpus

    if not is_corpus_path(spec.benchmark):
        return
    if spec.pipeline is not d.Pipeline.COPA:
        raise InvalidRequest(
            f"{spec.benchmark} is an informal corpus (no formal statements): only copa runs"
            " can use it"
        )
    if Path(spec.benchmark).is_file():
        load_corpus(Path(spec.benchmark))


def spec_conflicts(args: argparse.Namespace, spec: d.RunSpec) -> list[str]:
    """The given spec flags whose value differs from ``spec`` (a resumed run keeps its own)."""
    conflicts = []
    for name, read in SPEC_FLAGS.items():
        given = getattr(args, name, None)
        if given is None:
            continue
        if name == "problems":
            given = parse_indices(given)
        if given != read(spec):
            flag = "--" + name.replace("_", "-")
            conflicts.append(f"{flag} {getattr(args, name)} (the run has {read(spec)})")
    return conflicts


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("orchestrator", help="run the orchestrator service")
    serve_actions = serve.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve_cmd = serve_actions.add_parser("serve", help="serve OrchestratorService")
    serve_cmd.add_argument("--port", type=int)
    serve_cmd.add_argument("--store", type=Path, help="SQLite run store path")
    serve_cmd.add_argument("--benchmark-root", type=Path)
    serve_cmd.add_argument("--verifier", help="VerifierService target")
    serve_cmd.set_defaults(handler=_serve)

    run = subparsers.add_parser("run", help="start, watch and inspect runs")
    actions = run.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="start a run")
    add_spec_arguments(start)
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
    for name, handler, helptext in (
        ("watch", _watch, "follow a run's progress"),
        ("get", _get, "print a run as JSON"),
        ("cancel", _cancel, "cancel a run"),
    ):
        cmd = actions.add_parser(name, help=helptext)
        cmd.add_argument("run_id")
        cmd.set_defaults(handler=handler)
    listing = actions.add_parser("list", help="list runs")
    listing.set_defaults(handler=_list)
    result = actions.add_parser("result", help="print one problem's attempts as JSON")
    result.add_argument("run_id")
    result.add_argument("problem_id", help="e.g. minif2f_solving/12")
    result.set_defaults(handler=_result)
    _register_report(actions)
    export = actions.add_parser("export", help="write a run's results as JSONL (reads the store)")
    export.add_argument("run_id")
    export.add_argument("--store", type=Path, default=Path("runs/harcopa.sqlite"))
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(handler=_export)
    for cmd in (start, listing, result, *[actions.choices[n] for n in ("watch", "get", "cancel")]):
        cmd.add_argument(
            "--orchestrator", default=DEFAULT_TARGET, help="OrchestratorService target"
        )


def _register_report(actions: Any) -> None:
    report = actions.add_parser(
        "report",
        help="the paper's table for runs (reads the store)",
        description="The paper's table per benchmark and pipeline. Several runs are reported"
        " as the paper does: concatenated (All, Solved, Budget, Steps summed) and the mean and"
        " population standard deviation of each run's solve rate and budget.",
    )
    report.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    report.add_argument("--store", type=Path, default=Path("runs/harcopa.sqlite"))
    report.add_argument("--no-exclusions", action="store_true", help="score every problem")
    report.add_argument(
        "--benchmark-root",
        type=Path,
        default=Path(os.environ.get("HARCOPA_BENCHMARK_ROOT", "../shared/benchmark")),
        help="benchmark folder, to find the excluded problems by identity"
        " (default: $HARCOPA_BENCHMARK_ROOT)",
    )
    report.add_argument("--json", action="store_true", help="a JSON list, one object per table")
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
    solver = d.ModelRef(args.solver, args.solver_endpoint, args.solver_endpoint_model)
    prover = solver
    if args.prover or args.prover_endpoint:
        prover = d.ModelRef(args.prover, args.prover_endpoint, args.prover_endpoint_model)
    spec = spec_from_args(args, solver, prover)
    check_run_spec(spec)
    check_corpus(spec)
    return asyncio.run(_start_async(args.orchestrator, spec, args.watch))


def _client(target: str) -> Any:
    """An OrchestratorClient with the HARCOPA_CLIENT_* token and TLS files, if any."""
    from harcopa.orchestrator_client import OrchestratorClient
    from harcopa_cli.credentials import from_env

    token, credentials = from_env()
    return OrchestratorClient(target, token=token, credentials=credentials)


async def _start_async(target: str, spec: d.RunSpec, watch: bool) -> int:
    async with _client(target) as client:
        run_id = await client.start_run(spec)
        print(run_id)
        if watch:
            return await follow(client, run_id)
    return 0


async def follow(client: Any, run_id: str, stream: Any = sys.stderr) -> int:
    """Print a progress line per event; exit code 0 when the run succeeded."""
    final: d.RunEvent | None = None
    async for event in client.watch(run_id):
        final = event
        p = event.progress
        width = 30
        filled = int(width * p.problems_done / p.problems_total) if p.problems_total else 0
        bar = "#" * filled + "." * (width - filled)
        stream.write(
            f"\r[{bar}] {p.problems_done}/{p.problems_total} done, {p.problems_solved} solved,"
            f" {p.problems_errored} errors  {event.status.value:<10}"
        )
        stream.flush()
    stream.write("\n")
    return 0 if final is not None and final.status is d.RunStatus.SUCCEEDED else 1


def _client_call(args: argparse.Namespace, method: str, *call_args: Any) -> Any:
    async def call() -> Any:
        async with _client(args.orchestrator) as client:
            if method == "watch":
                return await follow(client, *call_args)
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
        "model_calls": p.model_calls,
        "tactic_calls": p.tactic_calls,
        "sessions_lost": p.sessions_lost,
        "error": run.error,
    }


def _watch(args: argparse.Namespace) -> int:
    return int(_client_call(args, "watch", args.run_id))


def _get(args: argparse.Namespace) -> int:
    print(json.dumps(_run_json(_client_call(args, "get_run", args.run_id)), indent=2))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    print(json.dumps(_run_json(_client_call(args, "cancel_run", args.run_id)), indent=2))
    return 0


def _list(args: argparse.Namespace) -> int:
    for run in _client_call(args, "list_runs"):
        p = run.progress
        print(
            f"{run.run_id}  {run.status.value:<9}  {run.spec.pipeline.value:<5}  "
            f"{run.spec.benchmark}  {p.problems_done}/{p.problems_total} done  "
            f"{p.problems_solved} solved"
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
    root = None if args.no_exclusions else args.benchmark_root

    async def load() -> list[Any]:
        return [await run_report(store, run_id, root) for run_id in args.run_ids]

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
    count = asyncio.run(store.export_jsonl(args.run_id, args.out))
    print(f"wrote {count} problems to {args.out}")
    return 0
