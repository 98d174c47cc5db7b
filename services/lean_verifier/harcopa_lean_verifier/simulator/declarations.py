"""Declaration headers for lean-sim: ``example``/``theorem``/``lemma`` binders, type and proof.

Used by the simulator's frontend (``frontend.process``). Binder groups ``( )``, ``[ ]``,
``{ }``, ``⦃ ⦄`` become hypotheses (anonymous instances as ``inst✝``); auto-bound names stay
unbound; a header that does not parse raises ``SimSyntaxError`` with its offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harcopa_lean_verifier.simulator.terms import (
    OPEN_TO_CLOSE,
    Binder,
    SimSyntaxError,
    check_balanced,
    find_top_assign,
    is_ident,
    matching,
    parse_binder_group,
    pp,
)

#: Modifiers and prefixes that may precede a declaration keyword.
_PREFIX = re.compile(
    r"(?:@\[[^\]]*\]\s*|/--.*?-/\s*|(?:private|protected|noncomputable|nonrec|unsafe|partial)\s+"
    r"|set_option\s+\S+\s+\S+\s+in\s+)*",
    re.S,
)
PROOF_KEYWORDS = ("theorem", "lemma", "example")
DECLARATION_KEYWORDS = (
    *PROOF_KEYWORDS,
    "def",
    "abbrev",
    "instance",
    "axiom",
    "structure",
    "inductive",
    "class",
    "opaque",
)


@dataclass(frozen=True)
class Declaration:
    """A parsed proof declaration; offsets are character offsets into the unit's text."""

    keyword: str
    name: str | None
    name_offset: int
    keyword_offset: int
    binders: tuple[Binder, ...]
    statement: str
    proof: str
    proof_offset: int


def split_keyword(text: str) -> tuple[str, int]:
    """The command keyword after modifiers and its offset (``("", 0)`` if none)."""
    m = _PREFIX.match(text)
    start = m.end() if m else 0
    word = re.match(r"#?[A-Za-z_]+", text[start:])
    return (word.group(0), start) if word else ("", start)


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def parse_declaration(text: str) -> Declaration:
    """Parse ``[mods] theorem name binders : T := proof`` (``text`` has comments blanked)."""
    keyword, kw_at = split_keyword(text)
    i = _skip_ws(text, kw_at + len(keyword))
    name, name_at = None, kw_at
    if keyword != "example":
        m = re.match(r"[^\s(\[{⦃:]+", text[i:])
        if m is None or not is_ident(m.group(0)):
            raise SimSyntaxError("unexpected token; expected identifier", i)
        name, name_at = m.group(0), i
        i = _skip_ws(text, i + len(m.group(0)))
    binders: list[Binder] = []
    while i < len(text) and text[i] in OPEN_TO_CLOSE and text[i] != "⟨":
        end = matching(text, i)
        if end < 0:
            raise SimSyntaxError("unexpected end of input; expected ')'", i)
        binders.extend(parse_binder_group(text[i : end + 1], i))
        i = _skip_ws(text, end + 1)
    if i >= len(text) or text[i] != ":" or text.startswith(":=", i):
        found = text[i : i + 2].strip() or "end of input"
        raise SimSyntaxError(f"unexpected token '{found}'; expected ':'", i)
    assign = find_top_assign(text, i + 1)
    if assign < 0:
        raise SimSyntaxError("unexpected end of input; expected ':='", len(text.rstrip()))
    statement = text[i + 1 : assign]
    check_balanced(statement)
    if not statement.strip():
        raise SimSyntaxError("unexpected token ':='; expected term", assign)
    proof = text[assign + 2 :]
    if not proof.strip():
        raise SimSyntaxError("unexpected end of input; expected term", len(text.rstrip()))
    check_balanced(proof)
    return Declaration(
        keyword, name, name_at, kw_at, tuple(binders), pp(statement), proof, assign + 2
    )


def declared_name(text: str) -> str | None:
    """The name a non-proof declaration (``def``, ``axiom``, ...) introduces, if any."""
    keyword, at = split_keyword(text)
    m = re.match(r"\s*([^\s(\[{⦃:]+)", text[at + len(keyword) :])
    return m.group(1) if m and is_ident(m.group(1)) else None
