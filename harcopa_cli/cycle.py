"""``harcopa cycle``: bootstrapping cycles (generate data -> export SFT -> train -> next model).

Registered by harcopa_cli/main.py. ``harcopa cycle --config FILE`` runs the configured cycles
(harcopa_cli/cycle_runner.py); ``harcopa cycle status [CYCLE_ID]`` shows where they are from the
store; ``harcopa cycle job`` is what a cluster's trainer Job runs (export, train, outcome line).

Where things run: by default every stage on this machine, the data generation on local services
(lean-sim unless Pantograph is configured, as ``harcopa eval``). With ``orchestrator.target``
in the file (or ``--orchestrator``) the runs go to that orchestrator; with ``--kubernetes`` the
training stage too: that orchestrator launches it as a Job of its cluster, which reads the runs
from its store, and rolls its model server to the new checkpoint. The cluster path goes through
the orchestrator (StartTraining / GetTraining) because the installed release grants the
Kubernetes permissions to the orchestrator's service account, not to its users: a cluster user
needs only the orchestrator's address, as for runs.

Exit status: 0 when every cycle is done; 1 when a stage could not finish (the line printed says
why; re-running the same command continues where it stopped); 2 for bad input; 130 when
interrupted (re-run to continue).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from harcopa.errors import HarcopaError, InvalidRequest

DEFAULT_STORE = Path("cycles/harcopa.sqlite")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cycle",
        help="bootstrapping cycles: generate data, export SFT records, train, next model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="the cycle configuration (YAML)")
    parser.add_argument(
        "--kubernetes",
        action="store_true",
        help="train on the orchestrator's cluster (a Job; the model server is rolled after)",
    )
    parser.add_argument("--orchestrator", default="", help="run on this orchestrator (target)")
    parser.set_defaults(handler=_cycle)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    status = actions.add_parser("status", help="where the cycles are (reads the store)")
    status.add_argument("cycle_id", nargs="?", default="", help="one cycle: its full lineage")
    where = status.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, dest="status_config", help="its configuration")
    where.add_argument("--store", type=Path, help=f"the store (default {DEFAULT_STORE})")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=_status)
    job = actions.add_parser("job", help="a cluster's training stage: export, train, outcome")
    job.add_argument("--request", required=True, help="the TrainingRequest as JSON")
    job.add_argument("--store", type=Path, required=True, help="the orchestrator's store")
    job.add_argument("--benchmark-root", type=Path, required=True)
    job.set_defaults(handler=_job)


def load_config(
    path: Path, *, orchestrator: str = "", kubernetes: bool = False, checked: bool = True
) -> Any:
    """The configuration in ``path``, paths resolved next to it; InvalidRequest when bad (or,
    when ``checked``, when the places chosen to run it cannot run it)."""
    import yaml
    from pydantic import ValidationError

    from harcopa.cycles import CycleConfig, RemoteOrchestrator

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        config = CycleConfig.model_validate(raw)
    except OSError as error:
        raise InvalidRequest(f"cannot read the cycle configuration {path}: {error}") from error
    except (yaml.YAMLError, ValidationError) as error:
        first = str(error).splitlines()
        detail = "; ".join(line.strip() for line in first[1:4]) if len(first) > 1 else first[0]
        raise InvalidRequest(f"bad cycle configuration {path}: {detail}") from error
    if orchestrator:
        given = config.orchestrator or RemoteOrchestrator(target=orchestrator)
        given = given.model_copy(update={"target": orchestrator})
        config = config.model_copy(update={"orchestrator": given})
    if checked:
        _check_mode(config, kubernetes)
    return config.resolved(Path(path).resolve().parent)


def _check_mode(config: Any, kubernetes: bool) -> None:
    """Refuse what the chosen places cannot do (bad input, before anything starts)."""
    remote = config.orchestrator
    if kubernetes and remote is None:
        raise InvalidRequest(
            "--kubernetes needs the orchestrator: --orchestrator TARGET or orchestrator.target"
        )
    if remote is not None and not kubernetes:
        if remote.store is None:
            raise InvalidRequest(
                "training here from a remote orchestrator's runs needs its store"
                " (orchestrator.store), or train on its cluster with --kubernetes"
            )
        if config.cycles > 1:
            raise InvalidRequest(
                "a remote orchestrator's model server moves to a new checkpoint only with"
                " --kubernetes: use cycles: 1"
            )


def _cycle(args: argparse.Namespace) -> int:
    if args.config is None:
        raise InvalidRequest("name the cycle configuration: harcopa cycle --config FILE")
    config = load_config(args.config, orchestrator=args.orchestrator, kubernetes=args.kubernetes)
    return asyncio.run(_cycle_async(config, args.kubernetes))


async def _cycle_async(config: Any, kubernetes: bool) -> int:
    from harcopa_cli.cycle_runner import CycleRunner
    from harcopa_cli.local import interruptible
    from harcopa_orchestrator.store import RunStore

    config.workdir.mkdir(parents=True, exist_ok=True)
    store = RunStore(config.workdir / "harcopa.sqlite")

    async def cycles() -> int:
        try:
            records = await CycleRunner(config, store, kubernetes).run()
        except InvalidRequest:
            raise
        except HarcopaError as error:
            print(f"harcopa cycle: error: {error}", file=sys.stderr)
            return 1
        print(json.dumps([json.loads(r.to_json()) for r in records], indent=2, ensure_ascii=False))
        return 0

    def interrupted() -> int:
        print("harcopa cycle: interrupted; run the same command again to continue", file=sys.stderr)
        return 130

    try:
        return await interruptible(cycles(), interrupted)
    finally:
        store.close()


def _status(args: argparse.Namespace) -> int:
    from harcopa_orchestrator.store import RunStore

    if args.status_config is not None:
        path = load_config(args.status_config, checked=False).workdir / "harcopa.sqlite"
    else:
        path = args.store or DEFAULT_STORE
    if not Path(path).is_file():
        raise InvalidRequest(f"no store at {path} (give --store or --config)")
    store = RunStore(path)

    async def load() -> list[Any]:
        if args.cycle_id:
            record = await store.get_cycle(args.cycle_id)
            if record is None:
                raise InvalidRequest(f"no cycle {args.cycle_id!r} in {path}")
            return [record]
        return await store.list_cycles()

    try:
        records = asyncio.run(load())
    finally:
        store.close()
    if args.json or args.cycle_id:
        documents = [json.loads(r.to_json()) for r in records]
        body = documents[0] if args.cycle_id else documents
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    print(f"{'cycle':<20} {'stage':<11} {'runs':>4} {'records':>8} {'loss':>8}  checkpoint")
    for r in records:
        loss = r.train_metrics.get("final_loss")
        shown = f"{loss:.4g}" if isinstance(loss, int | float) else "-"
        print(
            f"{r.cycle_id:<20} {r.stage.value:<11} {len(r.run_ids):>4} {r.sft_records:>8}"
            f" {shown:>8}  {r.checkpoint or '-'}" + (f"  error: {r.error}" if r.error else "")
        )
    return 0


def _job(args: argparse.Namespace) -> int:
    """The trainer Job's command: export, train, then the outcome line (last in the log)."""
    from harcopa import domain as d
    from harcopa.cycles import outcome_line, train_metrics
    from harcopa_cli.cycle_training import StageFailed, export_stage, train_stage

    try:
        body = json.loads(args.request)
        request = d.TrainingRequest(
            **{
                **body,
                **{k: tuple(body.get(k, ())) for k in ("run_ids", "recipes", "tasks", "datasets")},
            }
        )
    except (ValueError, TypeError) as error:
        raise InvalidRequest(f"bad training request: {error}") from error
    try:
        sft, sha, count = export_stage(request, args.store, args.benchmark_root)
        checkpoint, summary = train_stage(request, sft)
    except StageFailed as error:
        print(f"harcopa cycle job: error: {error}", file=sys.stderr)
        return 1
    outcome = d.TrainingOutcome(
        sft_path=str(sft),
        sft_sha256=sha,
        sft_records=count,
        checkpoint=str(checkpoint),
        metrics_json=json.dumps(train_metrics(summary), sort_keys=True),
    )
    print(outcome_line(outcome), flush=True)
    return 0
