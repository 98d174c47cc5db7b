"""Assembly of a complete Lean file from a solution and its gap proofs (strict mode).

Called by ``search/submission.py`` and the whole-draft pipelines before the final
``check_file`` (DESIGN §2.4, official-impl §8 item 2): every drafted ``sorry`` is replaced by
the tactic script the prover found for that gap, in textual order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from harcopa.domain import FormalProblem, ParsedProblem
from harcopa.fps import (
    ANSWER_NAME,
    forward_solving_statement,
    intro_names,
    intros_tactic,
    outro_names,
)

_SORRY = re.compile(r"(?<![\w.'])sorry(?![\w'?!])")
_STATEMENT_END = re.compile(r":=\s*sorry\s*$")


def _code_sorries(line: str, in_block: bool) -> tuple[list[re.Match[str]], bool]:
    """``sorry`` tokens of one line outside comments, and whether a block comment stays open."""
    found: list[re.Match[str]] = []
    index = 0
    while index < len(line):
        if in_block:
            end = line.find("-/", index)
            if end < 0:
                return found, True
            in_block, index = False, end + 2
            continue
        start_block = line.find("/-", index)
        start_line = line.find("--", index)
        stops = [p for p in (start_block, start_line) if p >= 0]
        stop = min(stops) if stops else len(line)
        found += [m for m in _SORRY.finditer(line, index, stop)]
        if stop == len(line) or stop == start_line:
            return found, False
        in_block, index = True, stop + 2
    return found, in_block


def _indent(lines: Sequence[str], prefix: str) -> list[str]:
    return [prefix + line if line.strip() else line for text in lines for line in text.split("\n")]


def inline_gap_proofs(text: str, scripts: Sequence[Sequence[str]]) -> str | None:
    """``text`` with its i-th ``sorry`` replaced by ``scripts[i]``; None if the counts differ."""
    lines = text.split("\n")
    out: list[str] = []
    used = 0
    in_block = False
    for line in lines:
        matches, in_block = _code_sorries(line, in_block)
        if not matches:
            out.append(line)
            continue
        pieces: list[str] = []
        cursor = 0
        base = " " * (len(line) - len(line.lstrip()) + 4)
        for match in matches:
            if used >= len(scripts):
                return None
            body = _indent(scripts[used], base)
            used += 1
            rest = line[match.end() :]
            tail_free = not rest.strip() and match is matches[-1]
            replacement = "by\n" + "\n".join(body) if tail_free else "(by\n" + "\n".join(body) + ")"
            pieces += [line[cursor : match.start()], replacement]
            cursor = match.end()
        out.append("".join(pieces) + line[cursor:])
    return "\n".join(out) if used == len(scripts) else None


def solving_file(problem: FormalProblem, parsed: ParsedProblem, body: str) -> str:
    """A file proving the forward-solving statement with ``body`` (steps and submission).

    The preamble is the tactic sequence that builds the forward-solving framework
    (official-impl §2.2 item 3); ``body`` then works on goal ``h`` and assigns ``?w``.
    """
    preamble = [
        intros_tactic(intro_names(parsed)),
        f"intros {ANSWER_NAME}",
        "apply Exists.intro",
        intros_tactic(outro_names(parsed)),
    ]
    tactics = [t for t in preamble if t] + [body]
    statement = forward_solving_statement(parsed)
    proof = "\n".join(_indent(tactics, "  "))
    return f"{problem.effective_header}\n{_STATEMENT_END.sub(':= by', statement)}\n{proof}\n"


def statement_file(problem: FormalProblem, body: str) -> str:
    """A file proving the problem's own statement with ``body`` (H-SA drafts)."""
    proof = "\n".join(_indent([body], "  "))
    statement = _STATEMENT_END.sub(":= by", problem.formal_statement.rstrip())
    return f"{problem.effective_header}\n{statement}\n{proof}\n"
