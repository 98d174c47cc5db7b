"""What every ``harcopa`` command shares: help that shows defaults, ``--config FILE`` (TOML) for
any option, ``--json`` output and the exit-code rules.

Used by harcopa_cli/main.py (the entry point) and the command modules that register options.
Exit status everywhere: 0 success, 1 a runtime failure, 2 bad input (a one-line message).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from harcopa.errors import InvalidRequest

#: The exit statuses of every command.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written and appends each option's default, when it has one that
    the help text does not already state."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in (None, False, argparse.SUPPRESS)
            or action.option_strings == []
            or isinstance(default, list | tuple)
        ):
            return text
        return f"{text} (default: {default})"


def add_parser(subparsers: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand parser with the shared help formatter."""
    kwargs.setdefault("formatter_class", HelpFormatter)
    parser: argparse.ArgumentParser = subparsers.add_parser(name, **kwargs)
    return parser


def add_json_flag(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``: every option of this command, read from a TOML table of option names
    (``ks = 8``, ``benchmark-root = "data"``); flags on the command line win."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML file of this command's options (names as the flags, without --);"
        " command-line flags win",
    )
    parser.set_defaults(_config_parser=parser)


def print_json(document: object) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))


def apply_config(args: argparse.Namespace, argv: list[str]) -> argparse.Namespace:
    """Re-parse ``argv`` with the options of ``args.config`` as defaults; unknown names, wrong
    types and values outside the choices are bad input naming the key."""
    path: Path | None = getattr(args, "config", None)
    parser: argparse.ArgumentParser | None = getattr(args, "_config_parser", None)
    if path is None or parser is None:
        return args
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidRequest(f"cannot read --config {path}: {error.strerror}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"--config {path} is not valid TOML: {error}") from error
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    defaults = {}
    for key, value in table.items():
        dest = key.replace("-", "_")
        action = actions.get(dest)
        if action is None or dest in ("config", "help"):
            raise InvalidRequest(f"--config {path}: {key!r} is not an option of this command")
        defaults[dest] = _config_value(path, key, action, value)
    parser.set_defaults(**defaults)
    root: argparse.ArgumentParser = args._root_parser
    return root.parse_args(argv)


def _config_value(path: Path, key: str, action: argparse.Action, value: Any) -> Any:
    where = f"--config {path}: {key}"
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if not isinstance(value, bool):
            raise InvalidRequest(f"{where} must be true or false")
        return value
    kinds: dict[object, tuple[type, ...]] = {int: (int, str), float: (int, float, str)}
    accepted = kinds.get(action.type, (str,))
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise InvalidRequest(f"{where}: {value!r} has the wrong type")
    converted = value
    convert: Any = action.type
    if convert is not None:
        try:
            converted = convert(value)
        except (TypeError, ValueError) as error:
            raise InvalidRequest(f"{where}: {value!r} is not valid ({error})") from error
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise InvalidRequest(f"{where}: {value!r} is not one of {choices}")
    return converted


def quiet_broken_pipe() -> int:
    """After stdout's reader went away (``harcopa ... | head``): no traceback, Unix's status."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    # Point stdout at /dev/null so the interpreter's own flush at exit cannot fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, as a shell reports a pipeline writer cut short
