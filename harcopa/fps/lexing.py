"""Lean source lexing helpers (comments, string literals, identifiers) used by the FPS text layer.

Pure functions over text. Comment removal understands nested ``/- -/`` blocks, ``--`` line
comments, string literals and ``«»``-escaped identifiers, so ``--`` inside ``"a--b"`` or
``«x--y»`` is kept (the reference's regex removal would cut it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from harcopa.fps.tokens import ATOM_START, IDENTIFIER, LexError, skip_block_comment

_IDENT_START = re.compile(ATOM_START)


def identifiers(text: str) -> list[str]:
    """Every identifier in ``text`` in order (dotted names whole), string literals skipped."""
    return [match.group() for match in _scan_identifiers(text)]


def _scan_identifiers(text: str) -> Iterator[re.Match[str]]:
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            index = _skip_string(text, index)
            continue
        glued = index > 0 and _continues_token(text[index - 1])
        if not glued and _IDENT_START.match(text, index):
            match = IDENTIFIER.match(text, index)
            if match:
                yield match
                index = match.end()
                continue
        index += 1


def _continues_token(previous: str) -> bool:
    """True when ``previous`` would glue to a following letter (digits: ``2x`` is two tokens)."""
    return previous.isalpha() or previous == "_"


def _skip_string(text: str, start: int) -> int:
    """Index just past the string literal opening at ``start`` (``start + 1`` if unterminated)."""
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            return index + 1
        index += 1
    return start + 1


def _skip_escaped_ident(text: str, start: int) -> int:
    end = text.find("\u00bb", start + 1)
    return start + 1 if end == -1 else end + 1


_CHAR_LITERAL = re.compile(r"'(?:\\.|[^\\'\n])'")


def _skip_char_literal(text: str, start: int) -> int:
    """Index past a char literal such as ``'"'`` at ``start``, else ``start + 1`` (a prime)."""
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_'!?"):
        return start + 1  # a prime in an identifier such as ``x'``
    match = _CHAR_LITERAL.match(text, start)
    return match.end() if match else start + 1


def _skip_block_comment(text: str, start: int) -> int:
    """Index just past the (possibly nested) block comment at ``start`` (the end if open)."""
    try:
        return skip_block_comment(text, start)
    except LexError:
        return len(text)


def remove_comments(text: str, *, line: bool = True, block: bool = True) -> str:
    """``text`` without Lean comments; newlines ending line comments are kept.

    A block comment between two non-space characters becomes one space (Lean reads a comment
    as whitespace), otherwise it is dropped, which matches the reference on ordinary text.
    """
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = _skip_string(text, index)
        elif char == "\u00ab":
            end = _skip_escaped_ident(text, index)
        elif char == "'":
            end = _skip_char_literal(text, index)
        elif text.startswith("/-", index):
            end = _skip_block_comment(text, index)
            if block:
                before = out[-1][-1:] if out else ""
                after = text[end : end + 1]
                if before and after and not before.isspace() and not after.isspace():
                    out.append(" ")
                index = end
                continue
        elif text.startswith("--", index):
            newline = text.find("\n", index)
            end = len(text) if newline == -1 else newline
            if line:
                index = end
                continue
        else:
            end = index + 1
        out.append(text[index:end])
        index = end
    return "".join(out)


def remove_line_comments(text: str) -> str:
    """``text`` without ``--`` comments (block comments kept)."""
    return remove_comments(text, block=False)


def remove_block_comments(text: str) -> str:
    """``text`` without ``/- -/`` comments (line comments kept)."""
    return remove_comments(text, line=False)


def normalize(text: str) -> str:
    """Comments removed and every whitespace run collapsed to one space, stripped (dedup key)."""
    return " ".join(remove_comments(text).split())
