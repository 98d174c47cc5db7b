"""``harcopa eval``: the one-command local evaluation (verifier, model server and orchestrator as
local processes, one run, its report and its JSONL export).

Registered by harcopa_cli/main.py and called by ``scripts/evaluate.sh``. Backends are picked from
what the machine has: real Pantograph when ``HARCOPA_PANTOGRAPH_BIN`` and
``HARCOPA_MATHLIB_PROJECT`` are set (else lean-sim, the simulator, announced as such); vLLM when
it is importable and a CUDA GPU is present (else transformers on the CPU, or an
OpenAI-compatible endpoint given with ``--model-endpoint``). The run lives in a SQLite store
under ``--workdir``; interrupting the command (Ctrl-C, SIGTERM, even SIGKILL: the services die
with it) leaves it resumable with ``--resume RUN_ID``, which takes the run's specification from
the store and retries its errored and unfinished problems.

Exit status: 0 when every problem was checked (the run succeeded); 1 when the run ended
incomplete (some problems could not be checked: the line printed says how to resume) or failed;
2 for bad input; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from harcopa.validation import check_run_spec
from harcopa_cli.local import Plan
from harcopa_cli.runs import add_spec_arguments, check_corpus, follow, spec_from_args

PANTOGRAPH_ENV = "HARCOPA_PANTOGRAPH_BIN"
MATHLIB_ENV = "HARCOPA_MATHLIB_PROJECT"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a pipeline on a benchmark with local services (one command)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_spec_arguments(parser, required=False)
    parser.add_argument(
        "--benchmark-root",
        type=Path,
        default=Path(os.environ.get("HARCOPA_BENCHMARK_ROOT", "../shared/benchmark")),
        help="folder with the benchmark JSON files (default: $HARCOPA_BENCHMARK_ROOT)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("runs"), help="store, logs, exports")
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
        help="REPL processes (default: --concurrency + 2, or cores + 2); each session holds one"
        " and one is kept for checks (and one for parsing from 4 up)",
    )
    parser.set_defaults(handler=_eval)


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def plan_backends(args: argparse.Namespace, env: dict[str, str] | None = None) -> Plan:
    env = dict(os.environ) if env is None else env
    plan = Plan()
    plan.verifier_env = {"HARCOPA_VERIFIER_POOL_SIZE": str(pool_size(args))}
    kind = args.verifier_backend
    if kind == "auto":
        kind = "pantograph" if env.get(PANTOGRAPH_ENV) and env.get(MATHLIB_ENV) else "sim"
    if kind == "pantograph":
        if not (env.get(PANTOGRAPH_ENV) and env.get(MATHLIB_ENV)):
            raise InvalidRequest(
                f"the pantograph backend needs ${PANTOGRAPH_ENV} and ${MATHLIB_ENV}"
            )
        plan.verifier_env |= {
            "HARCOPA_VERIFIER_BACKEND__KIND": "pantograph",
            "HARCOPA_VERIFIER_BACKEND__EXECUTABLE": env[PANTOGRAPH_ENV],
            "HARCOPA_VERIFIER_BACKEND__PROJECT_ROOT": env[MATHLIB_ENV],
        }
        plan.notes.append(f"verifier: Pantograph {env[PANTOGRAPH_ENV]} over {env[MATHLIB_ENV]}")
    else:
        plan.verifier_env["HARCOPA_VERIFIER_BACKEND__KIND"] = "sim"
        if args.lean_scenario:
            plan.verifier_env["HARCOPA_VERIFIER_BACKEND__SCENARIO_PATH"] = str(args.lean_scenario)
        plan.notes.append(
            "verifier: lean-sim, a SIMULATOR of Pantograph (no Lean here): its verdicts come from"
            f" a small rule set, not from Lean; set ${PANTOGRAPH_ENV} and ${MATHLIB_ENV} for Lean"
        )
    if args.model_endpoint:
        plan.notes.append(f"model: OpenAI-compatible endpoint {args.model_endpoint}")
        return plan
    backend = args.model_backend
    if backend == "auto":
        # vLLM serves checkpoints on a GPU; the packaged SmolLM2 (a GGUF) stays on transformers,
        # which uses the GPU too when there is one.
        has_vllm = importlib.util.find_spec("vllm") is not None
        gpu_checkpoint = args.model != "smollm2" and has_vllm and _cuda_available()
        backend = "vllm" if gpu_checkpoint else "transformers"
    model_env = {"HARCOPA_MODEL_BACKEND__KIND": backend}
    if backend == "vllm" and getattr(args, "mode", None) == "paper":
        # vLLM picks raw or processed log-probabilities per engine: paper mode needs processed.
        model_env["HARCOPA_MODEL_BACKEND__LOGPROBS_MODE"] = "processed"
    if backend == "sim":
        if not args.model_scenario:
            raise InvalidRequest("--model-backend sim needs --model-scenario")
        model_env["HARCOPA_MODEL_BACKEND__SCENARIO_PATH"] = str(args.model_scenario)
        plan.notes.append(f"model: the model SIMULATOR scripted by {args.model_scenario}")
    else:
        model_env["HARCOPA_MODEL_BACKEND__MODEL"] = args.model
        if args.template:
            model_env["HARCOPA_MODEL_BACKEND__TEMPLATE"] = args.template
        plan.notes.append(f"model: {args.model} on {backend}")
    plan.model_env = model_env
    return plan


def pool_size(args: argparse.Namespace) -> int:
    """The verifier's pool: as given, else room for ``--concurrency`` sessions plus a checking
    and a parsing process, else the core count + 2. Below 2 a session could wait forever for
    the process its final check needs: refused."""
    if args.pool_size is not None:
        if args.pool_size < 2:
            raise InvalidRequest(
                f"--pool-size {args.pool_size} is too small: a session holds one REPL and its"
                " checks need another (use 2 or more)"
            )
        return int(args.pool_size)
    if args.concurrency:
        return int(args.concurrency) + 2
    return (os.cpu_count() or 2) + 2


def session_capacity(pool: int) -> int:
    """Sessions a pool of ``pool`` holds at once (the verifier's own rule, DESIGN §2.1)."""
    parse_reserved = 1 if pool >= 4 else 0
    return max(1, pool - parse_reserved - 1)


def _eval(args: argparse.Namespace) -> int:
    if args.resume:
        _resume_spec(args)  # fills args from the store; refuses conflicting flags
    else:
        missing = [f"--{n}" for n in ("pipeline", "benchmark") if getattr(args, n) is None]
        if missing:
            raise InvalidRequest(f"{' and '.join(missing)} required (or --resume RUN_ID)")
        if args.benchmark not in _known() and not Path(args.benchmark).is_file():
            raise InvalidRequest(f"unknown benchmark {args.benchmark!r}")
    if args.concurrency is None:
        args.concurrency = session_capacity(pool_size(args))
    if not args.resume:  # the budgets, sizes, names and corpus, before any service starts
        spec = spec_from_args(args, d.ModelRef("solver"), d.ModelRef("solver"))
        check_run_spec(spec)
        check_corpus(spec)
    plan = plan_backends(args)
    if args.reference is not None:
        from harcopa.reference import ReferenceMismatch

        try:
            plan.templates_path = _reference_templates(args)
        except ReferenceMismatch as error:  # harcopa cannot reproduce them: a runtime failure
            print(f"harcopa: error: {error}", file=sys.stderr)
            return 1
        plan.notes.append(f"prompts: the reference's exact strings ({plan.templates_path})")
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
    from harcopa_cli.runs import spec_conflicts
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


def _known() -> tuple[str, ...]:
    from harcopa.benchmarks import BENCHMARKS

    return BENCHMARKS


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
    for flag in ("verifier_backend", "lean_scenario", "pool_size", "reference"):
        value = getattr(args, flag, None)
        if value and value != "auto":
            parts += ["--" + flag.replace("_", "-"), shlex.quote(str(value))]
    return " ".join(parts)


async def _evaluate(args: argparse.Namespace, plan: Plan, run_id_out: list[str]) -> int:
    from harcopa.orchestrator_client import OrchestratorClient
    from harcopa_cli.local import local_services

    endpoint = {"target": args.model_endpoint, "model": args.model_name}
    async with local_services(plan, args.workdir, args.benchmark_root, endpoint) as target:
        solver_ref = d.ModelRef("solver", system_prompt=args.system_prompt)
        async with OrchestratorClient(target) as client:
            if args.resume:
                run_id = args.resume
                run_id_out.append(run_id)
                if (await client.get_run(run_id)).status is not d.RunStatus.SUCCEEDED:
                    await client.resume_run(run_id)
            else:
                run_id = await client.start_run(spec_from_args(args, solver_ref, solver_ref))
                run_id_out.append(run_id)
            print(f"harcopa eval: run {run_id}", file=sys.stderr)
            await follow(client, run_id)
    return await _finish(args, run_id)


async def _finish(args: argparse.Namespace, run_id: str) -> int:
    """Print the report and export the results; non-zero unless the run succeeded."""
    from harcopa_cli.runs import run_report
    from harcopa_orchestrator.store import RunStore

    workdir: Path = args.workdir
    store = RunStore(workdir / "harcopa.sqlite")
    try:
        run = await store.get_run(run_id)
        if run is None:
            print(f"harcopa eval: run {run_id} not found", file=sys.stderr)
            return 1
        print((await run_report(store, run_id, args.benchmark_root)).render())
        out = workdir / f"{run_id}.jsonl"
        count = await store.export_jsonl(run_id, out)
        print(f"results: {out} ({count} problems)")
        if run.status is d.RunStatus.SUCCEEDED:
            return 0
        unchecked = len(run.errored_problems) or run.progress.problems_unfinished
        print(
            f"harcopa eval: run {run_id} is {run.status.value}: {unchecked} problems could not be"
            f" checked (not counted as unsolved); resume with: {resume_command(args, run_id)}",
            file=sys.stderr,
        )
        return 1
    finally:
        store.close()
