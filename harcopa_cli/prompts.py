"""``harcopa prompts import``: the exact prompt strings of a reference checkout as a templates file.

Registered by harcopa_cli/main.py; ``harcopa eval --reference`` calls :func:`import_templates`.
Only the released files are accepted (by SHA-256); a tree with other files is accepted when the
JSON file named by ``$HARCOPA_REFERENCE_HASHES`` lists their hashes (tests, patched forks).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from harcopa.reference import RELEASE, ImportResult, ReferenceMismatch

HASHES_ENV = "HARCOPA_REFERENCE_HASHES"
REFERENCE_HELP = (
    "checkout of the paper's reference code (github Purewhite2019/har_copa_main at 3f6f65c);"
    " its files are checked by SHA-256 and never imported"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("prompts", help="prompt templates")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    importing = actions.add_parser(
        "import",
        help="write the reference's exact prompt strings as a templates file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    importing.add_argument("--reference", type=Path, required=True, help=REFERENCE_HELP)
    importing.add_argument("--out", type=Path, required=True, help="templates TOML to write")
    importing.set_defaults(handler=_import)


def import_templates(reference: Path, out: Path) -> ImportResult:
    """Import the templates of ``reference`` into ``out`` (InvalidRequest for a bad tree)."""
    from harcopa.reference import import_reference, load_hashes

    hashes_file = os.environ.get(HASHES_ENV)
    hashes = load_hashes(Path(hashes_file)) if hashes_file else None
    return import_reference(reference, out, hashes=hashes)


def describe(result: ImportResult) -> str:
    source = RELEASE if result.released else f"an unreleased tree (hashes from ${HASHES_ENV})"
    return (
        f"{len(result.tasks)} task templates from {source}; {result.comparisons} renderings"
        " equal the reference's output byte for byte"
    )


def _import(args: argparse.Namespace) -> int:
    try:
        result = import_templates(args.reference, args.out)
    except ReferenceMismatch as error:
        print(f"harcopa: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {result.path}: {describe(result)}")
    return 0
