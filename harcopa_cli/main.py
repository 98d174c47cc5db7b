"""The ``harcopa`` command line: one argparse subcommand per area, registered from a list.

Entry point of the ``harcopa`` console script. Each entry of :data:`COMMANDS` names a module
and a ``register(subparsers)`` function in it; the function adds its subparser and sets
``handler`` (``args -> exit code``). Registration modules stay light and import heavy code
inside their handlers.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harcopa.errors import FailedPrecondition, HarcopaError, InvalidRequest, StateNotFound

#: (command name, "module:function") — the function registers the command's subparser.
COMMANDS: list[tuple[str, str]] = [
    ("benchmarks", "harcopa_cli.benchmarks:register"),
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


def build_parser() -> argparse.ArgumentParser:
    from harcopa_cli.conventions import HelpFormatter

    parser = argparse.ArgumentParser(
        prog="harcopa",
        description="HAR & CoPA formal reasoner: benchmarks, services and runs.",
        epilog="Exit status: 0 success, 1 runtime failure, 2 bad input.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harcopa {_version()}")
    parser.set_defaults(_root_parser=parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for _, target in COMMANDS:
        module, function = target.split(":")
        getattr(importlib.import_module(module), function)(subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("harcopa")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


#: Bad input (exit 2): the request, a name or a state the caller got wrong.
USAGE_ERRORS = (InvalidRequest, StateNotFound, FailedPrecondition)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 runtime failure, 2 bad input)."""
    from harcopa_cli.conventions import quiet_broken_pipe

    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            code = _run(arguments)
        except SystemExit:  # --help, --version and argparse's own usage errors
            sys.stdout.flush()
            raise
        sys.stdout.flush()  # here, so a closed pipe is seen while we can still be quiet
        return code
    except BrokenPipeError:
        return quiet_broken_pipe()


def _run(arguments: list[str]) -> int:
    from harcopa_cli.conventions import EXIT_FAILURE, EXIT_USAGE, apply_config

    try:
        args = apply_config(build_parser().parse_args(arguments), arguments)
        return int(args.handler(args))
    except USAGE_ERRORS as error:
        print(f"harcopa: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except HarcopaError as error:
        print(f"harcopa: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("harcopa: interrupted", file=sys.stderr)
        return 130


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 2000 else text[:2000] + "…"


if __name__ == "__main__":
    sys.exit(main())
