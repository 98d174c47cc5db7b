"""The flags that make a RunSpec, their presets and the checks of what they give: shared by
``harcopa run start`` and ``harcopa eval``.

Called by harcopa_cli/runs.py, harcopa_cli/evaluate.py and (the problem list and corpus checks)
harcopa_cli/cycle_runner.py; light (argparse and the core's domain only).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from harcopa import domain as d
from harcopa.errors import InvalidRequest


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
    budgets, spec = d.SearchParams(), d.RunSpec(d.Pipeline.HAR, "")  # the defaults named below
    flags: tuple[tuple[str, type, str, object], ...] = (
        ("--ks", int, "K_S: step candidates per problem", budgets.ks),
        ("--solver-samples", int, "completions per solver request", budgets.solver_samples),
        ("--prover-expansions", int, "model calls per proof search", budgets.prover_expansions),
        ("--prover-samples", int, "tactics per prover expansion", budgets.prover_samples),
        ("--kw", int, "K_W: whole drafts per problem", budgets.tries_for(d.Pipeline.WG)),
        ("--temperature", float, "sampling temperature", budgets.temperature),
        ("--solver-max-tokens", int, "tokens per solver completion", budgets.solver_max_tokens),
        ("--prover-max-tokens", int, "tokens per prover completion", budgets.prover_max_tokens),
        ("--concurrency", int, "problems in flight", spec.max_concurrent_problems),
    )
    for flag, kind, what, default in flags:
        parser.add_argument(flag, type=kind, help=f"{what} (default {default})")
    parser.add_argument("--seed", type=int, help="sampling seed (default: unseeded)")
    parser.add_argument(
        "--limit", type=int, help="only the first N selected problems (default: all)"
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="named settings for what no flag sets: `paper` = the paper's budgets (the"
        " defaults); `smoke` = a few problems at tiny budgets, minutes on a CPU (HAR on"
        " minif2f_solving, 4 problems)",
    )


#: Named settings; a flag (or --config) always wins over its preset.
PRESETS: dict[str, dict[str, object]] = {
    "paper": {},
    "smoke": {
        "pipeline": "har",
        "benchmark": "minif2f_solving",
        "limit": 4,
        "ks": 2,
        "solver_samples": 2,
        "solver_max_tokens": 96,
        "prover_expansions": 1,
        "prover_samples": 2,
        "prover_max_tokens": 32,
        "kw": 2,
        "concurrency": 2,
    },
}


def apply_preset(args: argparse.Namespace) -> None:
    """Fill the options no flag set from ``--preset``."""
    for name, value in PRESETS.get(getattr(args, "preset", None) or "", {}).items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


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
        limit=args.limit or 0,
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
    "limit": lambda s: s.limit or None,
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


def require_spec_arguments(args: argparse.Namespace) -> None:
    """``--pipeline`` and ``--benchmark`` after the preset: bad input when still missing."""
    apply_preset(args)
    missing = [f"--{n}" for n in ("pipeline", "benchmark") if getattr(args, n) is None]
    if missing:
        raise InvalidRequest(f"{' and '.join(missing)} required (or a --preset that sets them)")
