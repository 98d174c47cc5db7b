"""The command-line flags of the run folder, shared by ``harcopa eval`` and ``harcopa run report``.

Registered from ``harcopa_cli/evaluate.py`` and ``harcopa_cli/runs.py``; light (argparse only).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def price(text: str) -> float:
    """An hourly price: a finite, non-negative number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text}")
    return value


def add_output_arguments(parser: argparse.ArgumentParser, where: str) -> None:
    """``--output-dir`` (no default value: ``where`` tells the user what happens without it)
    and the two prices."""
    parser.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help=f"write the run folder DIR/<run_id>/ (results.json, samples.jsonl, report.md,"
        f" report.html, plots, logs; default: {where})",
    )
    parser.add_argument(
        "--gpu-hour-price",
        type=price,
        metavar="PRICE",
        help="price of one GPU hour: model seconds become a money estimate (default: none)",
    )
    parser.add_argument(
        "--cpu-hour-price",
        type=price,
        metavar="PRICE",
        help="price of one CPU hour: Lean process seconds become a money estimate (default: none)",
    )
