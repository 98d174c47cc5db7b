"""Splitting tactic blocks into top-level tactics, with source offsets, for lean-sim.

Used by the simulator's engine: continuation lines are indented deeper than the block's first
tactic, comment lines are skipped, and bracketed blocks (``{ ... }``) stay whole even when
their inner lines start at column 0.
"""

from __future__ import annotations

from harcopa_lean_verifier.simulator.terms import depths, mask_comments, split_top


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def split_tactics(text: str) -> list[tuple[int, str]]:
    """Top-level tactics of a block as ``(offset, text)`` (comments already blanked)."""
    masked = mask_comments(text)
    d = depths(masked)
    pieces: list[tuple[int, int]] = []
    base: int | None = None
    pos = 0
    for line in masked.splitlines(keepends=True):
        start, pos = pos, pos + len(line)
        if not line.strip():
            continue
        col = start + _indent(line)
        level = _indent(line)
        if base is None:
            base = level
        if not pieces or (level <= base and d[col] == 0 and not _continues(masked, col)):
            pieces.append((col, pos))
        else:
            pieces[-1] = (pieces[-1][0], pos)
    out: list[tuple[int, str]] = []
    for begin, end in pieces:
        piece = masked[begin:end].rstrip()
        out.extend(_split_semicolons(begin, piece))
    return out


def _continues(masked: str, col: int) -> bool:
    """A line that continues an expression (starts with an operator or closing bracket)."""
    return masked[col] in ")]}⟩,|" or masked.startswith("<;>", col)


def _split_semicolons(offset: int, piece: str) -> list[tuple[int, str]]:
    """``tac1; tac2`` on one line -> two tactics (not ``<;>``, not inside nested ``by``)."""
    if " by" in f" {piece}" or ";" not in piece:
        return [(offset, piece)]
    parts = split_top(piece.replace("<;>", "\0\0\0"), ";")
    out, pos = [], offset
    for part in parts:
        text = part.replace("\0\0\0", "<;>")
        stripped = text.strip()
        if stripped:
            out.append((pos + (len(text) - len(text.lstrip())), stripped))
        pos += len(part) + 1
    return out
