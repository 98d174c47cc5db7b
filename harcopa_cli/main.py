"""The ``harcopa`` command line: one argparse subcommand per area, registered from a list.

Entry point of the ``harcopa`` console script. Each entry of :data:`COMMANDS` names a module
and a ``register(subparsers)`` function in it; the function adds its subparser and sets
``handler`` (``args -> exit code``). Registration modules stay light and import heavy code
inside their handlers. This module holds ``harcopa benchmarks list|show``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harcopa.errors import HarcopaError

#: (command name, "module:function") — the function registers the command's subparser.
COMMANDS: list[tuple[str, str]] = [
    ("benchmarks", "harcopa_cli.main:register_benchmarks"),
    ("run", "harcopa_cli.runs:register"),
    ("eval", "harcopa_cli.evaluate:register"),
    ("verifier", "harcopa_cli.verifier:register"),
    ("model", "harcopa_cli.model:register"),
    ("prompts", "harcopa_cli.prompts:register"),
    ("health", "harcopa_cli.health:register"),
    ("export-sft", "harcopa_cli.training:register_export"),
    ("train", "harcopa_cli.training:register_train"),
    ("cycle", "harcopa_cli.cycle:register"),
]

ROOT_ENV = "HARCOPA_BENCHMARK_ROOT"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harcopa", description="HAR & CoPA formal reasoner: benchmarks, services and runs."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for _, target in COMMANDS:
        module, function = target.split(":")
        getattr(importlib.import_module(module), function)(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except HarcopaError as error:
        print(f"harcopa: error: {error}", file=sys.stderr)
        return 2


# --- harcopa benchmarks -------------------------------------------------------------------


def register_benchmarks(subparsers: Any) -> None:
    """Add ``benchmarks list`` and ``benchmarks show``."""
    parser = subparsers.add_parser("benchmarks", help="inspect the benchmark files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    root_help = f"folder holding the benchmark JSON files (default: ${ROOT_ENV})"

    listing = actions.add_parser("list", help="records, scored problems and rejections")
    listing.add_argument("--root", type=Path, default=os.environ.get(ROOT_ENV), help=root_help)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list_benchmarks)

    show = actions.add_parser("show", help="one problem's statement and FPS frameworks")
    show.add_argument("name", help="benchmark name")
    show.add_argument("index", type=int, help="record index (0-based)")
    show.add_argument("--root", type=Path, default=os.environ.get(ROOT_ENV), help=root_help)
    show.set_defaults(handler=_show_benchmark)


def _root(args: argparse.Namespace) -> Path:
    from harcopa.errors import InvalidRequest

    if args.root is None:
        raise InvalidRequest(f"no benchmark folder: pass --root or set ${ROOT_ENV}")
    return Path(args.root)


def _summary(root: Path, name: str) -> dict[str, Any]:
    from harcopa.benchmarks import load_benchmark
    from harcopa.errors import InvalidRequest
    from harcopa.fps import parse_fps_from_source

    load = load_benchmark(root, name)
    approximation = []
    for problem in load.problems:
        try:
            parse_fps_from_source(problem.formal_statement)
        except InvalidRequest as error:
            approximation.append({"index": problem.index, "reason": str(error)})
    return {
        "name": name,
        "records": load.records,
        "scored": len(load.scored),
        "excluded": load.excluded_indices,
        "rejected": [{"index": r.index, "reason": r.reason} for r in load.rejections],
        "source_parse_rejected": approximation,
    }


def _list_benchmarks(args: argparse.Namespace) -> int:
    from harcopa.benchmarks import BENCHMARKS

    root = _root(args)
    summaries = [_summary(root, name) for name in BENCHMARKS]
    if args.json:
        print(json.dumps({"root": str(root), "benchmarks": summaries}, ensure_ascii=False))
        return 0
    print(f"{'benchmark':<18}{'records':>9}{'scored':>8}{'rejected':>10}{'no-lean parse':>15}")
    for s in summaries:
        print(
            f"{s['name']:<18}{s['records']:>9}{s['scored']:>8}{len(s['rejected']):>10}"
            f"{len(s['source_parse_rejected']):>15}"
        )
    for s in summaries:
        for r in s["rejected"]:
            print(f"rejected {s['name']}/{r['index']}: {r['reason']}")
        for r in s["source_parse_rejected"]:
            print(f"no-lean parse {s['name']}/{r['index']}: {r['reason']} (Lean may accept it)")
    return 0


def _show_benchmark(args: argparse.Namespace) -> int:
    from harcopa.benchmarks import load_benchmark
    from harcopa.errors import InvalidRequest

    load = load_benchmark(_root(args), args.name)
    if not 0 <= args.index < load.records:
        raise InvalidRequest(f"index {args.index} out of range: {args.name} has {load.records}")
    problem = next((p for p in load.problems if p.index == args.index), None)
    if problem is None:
        reason = next(r.reason for r in load.rejections if r.index == args.index)
        raise InvalidRequest(f"{args.name}/{args.index} was rejected: {reason}")
    print(f"# {problem.problem_id}")
    print(f"## Header\n{problem.effective_header.rstrip()}")
    print(f"## Formal statement\n{problem.formal_statement}")
    print(_frameworks_text(problem.formal_statement))
    return 0


def _frameworks_text(statement: str) -> str:
    from harcopa.errors import InvalidRequest
    from harcopa.fps import (
        forward_reasoning_statement,
        forward_solving_statement,
        parse_fps_from_source,
        solving_statement,
    )

    try:
        parsed = parse_fps_from_source(statement)
    except InvalidRequest as error:
        return f"## FPS form (Lean-free approximation)\nnot available: {error}"
    lines = [
        "## FPS form (Lean-free approximation; the verifier parses with Lean)",
        "intros: " + (" ".join(v.binder() for v in parsed.intros) or "(none)"),
        f"answer type: {parsed.answer_type}",
        "outros: " + " ".join(v.binder() for v in parsed.outros),
        f"formal answer: {parsed.formal_answer}",
        *(f"warning: {w}" for w in parsed.warnings),
        f"## Forward-reasoning statement\n{forward_reasoning_statement(parsed)}",
        f"## Solving statement\n{solving_statement(parsed)}",
        f"## Forward-solving statement\n{forward_solving_statement(parsed)}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
