"""Parsing model output into Lean steps: code extraction, banned tokens, submissions, splitting.

Called by the orchestrator on every completion (official-impl §4.1, §2.4) and by the metrics
code that counts draft steps (``solution_decompose``, official-impl §7).
"""

from __future__ import annotations

import re
from typing import Literal

from harcopa.errors import InvalidRequest
from harcopa.fps.lexing import (
    remove_block_comments,
    remove_comments,
    remove_line_comments,
)
from harcopa.fps.soundness import strict_violation

#: Tokens a generated step must not contain, in the reference's order (``sorry`` first).
BANNED_TOKENS: tuple[str, ...] = (
    "sorry",
    "admit",
    "stop",
    "slim_check",
    "apply?",
    "rw?",
    "hint",
    "rw_search",
    "change?",
    "have?",
    "says",
    "try_this",
    "unfold?",
    "lcErased",
    "lcProof",
    "lcCast",
    "lcUnreachable",
    "Quot.lcInv",
)

BannedPolicy = Literal["paper", "strict"]

FENCE = "```"
_CODE_BLOCK = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
_BY_SORRY = re.compile(r"by\s+sorry")
_BY_CALC = re.compile(r"by\s+calc")
_BY_BRACE = re.compile(r":=\s*by\s*\{")


def extract_code(text: str) -> str:
    """The step in a completion (P1–P2 rule), always stripped.

    The first complete fenced block if any; else, with exactly one fence, the text before it;
    else the whole text.
    """
    blocks = _CODE_BLOCK.findall(text)
    if blocks:
        return str(blocks[0]).strip()
    if text.count(FENCE) == 1:
        return text[: text.find(FENCE)].strip()
    return text.strip()


def extract_single_block(text: str) -> str | None:
    """The whole draft in a completion (WG/H-WG/H-SA rule), or None when ambiguous.

    Exactly one fence: the text before it. Otherwise exactly one complete fenced block.
    """
    if text.count(FENCE) == 1:
        return text[: text.find(FENCE)].strip()
    blocks = _CODE_BLOCK.findall(text)
    return str(blocks[0]).strip() if len(blocks) == 1 else None


def _found_paper(text: str, tokens: tuple[str, ...]) -> str | None:
    return next((token for token in tokens if token in text), None)


def find_banned(text: str, *, allow_sorry: bool, policy: BannedPolicy = "strict") -> str | None:
    """The first banned token or construct in ``text`` (comments ignored), or None.

    ``paper``: the reference's rule, a plain substring test of BANNED_TOKENS on the text with
    comments removed and whitespace collapsed, so ``stopping`` or ``hint_x`` match.
    ``strict``: ``harcopa.fps.soundness.strict_violation``: Lean's tokens, so ``hint`` matches
    ``hint`` but not ``hint_x`` and strings hide nothing, plus every construct strict mode
    refuses (``sorryAx``, ``native_decide``, ``#eval``, ``set_option debug.*``, ...); the
    construct's name is returned (its reason: ``strict_violation``).
    """
    if policy == "paper":
        tokens = BANNED_TOKENS[1:] if allow_sorry else BANNED_TOKENS
        return _found_paper(" ".join(remove_comments(text).split()), tokens)
    if policy == "strict":
        found = strict_violation(text, allow_sorry=allow_sorry)
        return None if found is None else found.construct
    raise ValueError(f"unknown banned-token policy {policy!r}")


def _last_line(step: str) -> str:
    lines = [line.strip() for line in step.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def is_submission(step: str) -> bool:
    """True when the step's last non-empty line starts with ``exact`` and ends ``-- submit``."""
    last = _last_line(step)
    return last.startswith("exact") and last.endswith("-- submit")


def submission_line(step: str) -> str:
    """The submission (comments removed, stripped); InvalidRequest unless it is one line."""
    if not is_submission(step):
        raise InvalidRequest("the step is not a submission (`exact ... -- submit`)")
    lines = [line.strip() for line in remove_comments(step).splitlines() if line.strip()]
    if len(lines) != 1:
        raise InvalidRequest(f"a submission step must be a single line, got {len(lines)} lines")
    return lines[0]


def collapse_by_sorry(text: str) -> str:
    """``by sorry`` becomes ``sorry`` (drafts from H-SA and ``solution_decompose``)."""
    return _BY_SORRY.sub("sorry", text)


def replace_block(draft: str) -> str:
    """Every ``:= by { ... }`` proof collapsed to ``:= sorry`` (braces matched)."""
    out: list[str] = []
    index = 0
    for match in _BY_BRACE.finditer(draft):
        if match.start() < index:
            continue  # inside a block already collapsed
        end = _closing_brace(draft, match.end() - 1)
        if end is None:
            break
        out += [draft[index : match.start()], ":= sorry"]
        index = end + 1
    out.append(draft[index:])
    return "".join(out)


def _closing_brace(text: str, start: int) -> int | None:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _is_root_comment(line: str) -> bool:
    """A (right-stripped) line that is a ``--`` comment starting at column 0."""
    return remove_line_comments(line) == ""


def _is_comment_or_blank(line: str) -> bool:
    return remove_line_comments(line).strip() == ""


def _continues(line: str) -> bool:
    """A line that belongs to the block above: blank, or indented once comments go."""
    return line.strip() == "" or remove_line_comments(line).startswith(" ")


def split_solution_steps(draft: str) -> list[str]:
    """Cut a whole draft into steps (``solution_decompose``, official-impl §7).

    Block comments go, ``by calc``/``by sorry`` lose their ``by``; blank lines separate
    nothing; a line starting ``exact `` opens the final block (it and the rest); a run of
    column-0 comment lines joins the next line; a column-0 line absorbs the blank or
    indented lines after it. Concatenating the steps' non-blank lines gives the draft's.
    """
    if not remove_comments(draft).strip():
        return []
    text = collapse_by_sorry(_BY_CALC.sub("calc", remove_block_comments(draft)))
    lines = text.rstrip().split("\n")
    steps: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index].rstrip()
        index += 1
        if not line.strip():
            continue
        block = [line]
        if line.startswith("exact "):
            steps.append("\n".join(block + lines[index:]))
            break
        if _is_root_comment(line):
            while index < len(lines) and _is_comment_or_blank(lines[index]):
                block.append(lines[index].rstrip())
                index += 1
            if index == len(lines):
                steps.append("\n".join(block))  # trailing comments: a step of their own
                break
            if lines[index].startswith("exact "):
                steps.append("\n".join(block + lines[index:]))
                break
            block.append(lines[index].rstrip())
            index += 1
        while index < len(lines) and _continues(lines[index]):
            block.append(lines[index].rstrip())
            index += 1
        steps.append("\n".join(block))
    return steps
