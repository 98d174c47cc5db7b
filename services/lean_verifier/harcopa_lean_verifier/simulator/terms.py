"""Lean-ish text handling for lean-sim: comments, brackets, binders and connectives.

Used by the simulator's engine and frontend. Expressions stay text; this module only finds
their top-level structure (``∀``/``∃`` binders, ``↔``, ``→``, ``∧``, ``¬``, relations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN_TO_CLOSE = {"(": ")", "[": "]", "{": "}", "⦃": "⦄", "⟨": "⟩"}
CLOSERS = set(OPEN_TO_CLOSE.values())
#: Binders whose body extends as far right as possible.
BINDER_WORDS = ("∀", "∃!", "∃", "λ", "fun")
IDENT = r"[^\W\d][\w'!?₀-₉ₐ-ₜᵢ-ᵪ]*(?:\.[^\W\d][\w'!?₀-₉ₐ-ₜᵢ-ᵪ]*)*"
_IDENT_RE = re.compile(rf"^{IDENT}$")
_PREFIX_CONNECTIVE = re.compile(rf"^(Or|And|Iff) ({IDENT}) ({IDENT})$")
_ASCII = ((" -> ", " → "), ("<->", "↔"), (" <= ", " ≤ "), (" >= ", " ≥ "))


class SimSyntaxError(ValueError):
    """The text does not parse (``offset`` is a character index into the parsed text)."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


def mask_comments(text: str) -> str:
    """Replace ``--`` and nested ``/- -/`` comments by spaces, keeping offsets and newlines."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif text.startswith("/-", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/-", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("-/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out[i:j] = ["\n" if c == "\n" else " " for c in text[i:j]]
            i = j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        else:
            i += 1
    return "".join(out)


def collapse(text: str) -> str:
    """Whitespace runs become one space; the ends are stripped."""
    return " ".join(text.split())


def is_ident(text: str) -> bool:
    return bool(_IDENT_RE.match(text)) and text not in BINDER_WORDS


def depths(text: str) -> list[int]:
    """Bracket depth before each character (unbalanced closers clamp at 0)."""
    out, depth = [], 0
    for ch in text:
        if ch in CLOSERS:
            depth = max(depth - 1, 0)
        out.append(depth)
        if ch in OPEN_TO_CLOSE:
            depth += 1
    return out


def check_balanced(text: str) -> None:
    """Raise SimSyntaxError at the first unmatched or mismatched bracket."""
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch in OPEN_TO_CLOSE:
            stack.append((ch, i))
        elif ch in CLOSERS:
            if not stack or OPEN_TO_CLOSE[stack[-1][0]] != ch:
                raise SimSyntaxError(f"unexpected token '{ch}'; expected term", i)
            stack.pop()
    if stack:
        raise SimSyntaxError("unexpected end of input; expected ')'", stack[-1][1])


def matching(text: str, start: int) -> int:
    """Index of the bracket closing the one at ``start`` (-1 if none)."""
    stack = []
    for i in range(start, len(text)):
        ch = text[i]
        if ch in OPEN_TO_CLOSE:
            stack.append(OPEN_TO_CLOSE[ch])
        elif ch in CLOSERS:
            if not stack or stack.pop() != ch:
                return -1
            if not stack:
                return i
    return -1


def _word_at(text: str, i: int, word: str) -> bool:
    if not text.startswith(word, i):
        return False
    if word.isalpha() and word.isascii():
        before = text[i - 1] if i else " "
        after = text[i + len(word)] if i + len(word) < len(text) else " "
        return not (before.isalnum() or before in "_.'") and not (after.isalnum() or after == "_")
    return True


def top_positions(text: str, token: str) -> list[int]:
    """Offsets of ``token`` at bracket depth 0, before any binder that swallows the rest."""
    out = []
    d = depths(text)
    for i in range(len(text)):
        if d[i]:
            continue
        if i and any(_word_at(text, i, w) for w in BINDER_WORDS):
            break
        if text.startswith(token, i):
            out.append(i)
    return out


def find_top_colon(text: str, start: int = 0) -> int:
    """First depth-0 ``:`` that is not part of ``:=`` or ``::`` (-1 if none)."""
    d = depths(text)
    for i in range(start, len(text)):
        if text[i] == ":" and not d[i] and text[i + 1 : i + 2] not in ("=", ":"):
            if i and text[i - 1] == ":":
                continue
            return i
    return -1


def find_top_assign(text: str, start: int = 0) -> int:
    """First depth-0 ``:=`` (-1 if none)."""
    d = depths(text)
    for i in range(start, len(text) - 1):
        if not d[i] and text.startswith(":=", i):
            return i
    return -1


def split_top(text: str, sep: str) -> list[str]:
    """Split at every depth-0 occurrence of ``sep``."""
    parts, last = [], 0
    d = depths(text)
    for i in range(len(text)):
        if not d[i] and text.startswith(sep, i) and i >= last:
            parts.append(text[last:i])
            last = i + len(sep)
    parts.append(text[last:])
    return parts


def strip_parens(text: str) -> str:
    """Remove brackets that wrap the whole text: ``((a = b))`` -> ``a = b``."""
    text = text.strip()
    while text.startswith("(") and matching(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def pp(text: str) -> str:
    """Display form of an expression: comments dropped, whitespace collapsed, outer parens off."""
    out = collapse(mask_comments(text))
    for ascii_op, uni in _ASCII:
        out = out.replace(ascii_op, uni)
    out = strip_parens(out)
    prefix = _PREFIX_CONNECTIVE.match(out)
    if prefix is not None:
        op = {"Or": "∨", "And": "∧", "Iff": "↔"}[prefix.group(1)]
        out = f"{prefix.group(2)} {op} {prefix.group(3)}"
    head = parse_binder_head(out)
    return head.render() if head is not None else out


def same(a: str, b: str) -> bool:
    """Equal up to whitespace, comments and outer parentheses."""
    return pp(a) == pp(b)


def substitute(text: str, name: str, replacement: str) -> str:
    """Replace the identifier ``name`` (not parts of longer names) by ``replacement``."""
    pattern = rf"(?<![\w'.!?]){re.escape(name)}(?![\w'!?])"
    return re.sub(pattern, lambda _m: replacement, text)


@dataclass(frozen=True)
class Binder:
    """One bound name: ``kind`` is the bracket (``(``, ``{``, ``[``, ``⦃``) or ``""`` if bare."""

    name: str | None
    type: str | None
    kind: str = "("

    def is_instance(self) -> bool:
        return self.kind == "["


def parse_binder_group(group: str, offset: int = 0) -> list[Binder]:
    """``(a b : T)`` / ``{x : T}`` / ``[T]`` / ``[inst : T]`` / ``⦃x : T⦄`` -> binders."""
    kind, inner = group[0], group[1:-1]
    colon = find_top_colon(inner)
    if kind == "[":
        if colon >= 0 and is_ident(inner[:colon].strip()):
            return [Binder(inner[:colon].strip(), pp(inner[colon + 1 :]), kind)]
        return [Binder(None, pp(inner), kind)]
    names_text, type_text = (inner, None) if colon < 0 else (inner[:colon], inner[colon + 1 :])
    names = names_text.split()
    if not names or not all(is_ident(n) or n == "_" for n in names):
        raise SimSyntaxError(f"unexpected token in binder '{collapse(group)}'", offset)
    if type_text is not None and find_top_assign(type_text) >= 0:
        type_text = type_text[: find_top_assign(type_text)]
    kind_type = pp(type_text) if type_text is not None else None
    return [Binder(n if n != "_" else None, kind_type, kind) for n in names]


def render_binders(binders: list[Binder]) -> str:
    """Groups of consecutive binders with the same type and bracket, Lean's pp style."""
    parts: list[str] = []
    i = 0
    while i < len(binders):
        b = binders[i]
        if b.is_instance():
            parts.append(f"[{b.name} : {b.type}]" if b.name else f"[{b.type}]")
            i += 1
            continue
        j = i + 1
        while j < len(binders) and (binders[j].type, binders[j].kind) == (b.type, b.kind):
            j += 1
        names = " ".join(x.name or "x✝" for x in binders[i:j])
        close = OPEN_TO_CLOSE.get(b.kind, ")")
        opener = b.kind or "("
        parts.append(f"{opener}{names} : {b.type}{close}" if b.type else names)
        i = j
    return " ".join(parts)


_BINDER_PRED = ("∈", "∉", "≥", "≤", ">", "<", "≠", "⊆")


@dataclass(frozen=True)
class BinderHead:
    """``∀ binders, body`` or ``∃ binders, body`` (``quant`` is ``∀`` or ``∃``)."""

    quant: str
    binders: tuple[Binder, ...]
    body: str

    def render(self) -> str:
        return render_quant(self.quant, list(self.binders), self.body)


def render_quant(quant: str, binders: list[Binder], body: str) -> str:
    if not binders:
        return body
    if quant == "∃" and len(binders) == 1 and binders[0].type is None:
        return f"∃ {binders[0].name}, {body}"
    return f"{quant} {render_binders(binders)}, {body}"


def parse_binder_head(text: str) -> BinderHead | None:
    """Parse a leading ``∀``/``∃`` with its binders; None if the text does not start so."""
    t = text.strip()
    quant = next((q for q in ("∀", "∃") if t.startswith(q) and not t.startswith("∃!")), None)
    if quant is None:
        return None
    comma = next((i for i in top_positions_all(t, ",")), -1)
    if comma < 0:
        return None
    spec, body = t[len(quant) : comma].strip(), t[comma + 1 :].strip()
    binders: list[Binder] = []
    while spec:
        if spec[0] in OPEN_TO_CLOSE:
            end = matching(spec, 0)
            if end < 0:
                return None
            try:
                binders.extend(parse_binder_group(spec[: end + 1]))
            except SimSyntaxError:
                return None
            spec = spec[end + 1 :].strip()
            continue
        pred = next((p for p in _BINDER_PRED if f" {p} " in f" {spec} "), None)
        colon = find_top_colon(spec)
        if pred is not None and (colon < 0 or spec.index(pred) < colon):
            names = spec[: spec.index(pred)].split()
            if not names or not all(is_ident(n) for n in names):
                return None
            binders.extend(Binder(n, None, "") for n in names)
            rest = spec[spec.index(pred) :]
            hyps = " → ".join(f"{n} {rest}" for n in names)
            body = f"{hyps} → {body}" if quant == "∀" else f"{hyps} ∧ {body}"
            return BinderHead(quant, tuple(binders), body)
        names_text, type_text = (spec, None) if colon < 0 else (spec[:colon], spec[colon + 1 :])
        names = names_text.split()
        if not names or not all(is_ident(n) or n == "_" for n in names):
            return None
        type_pp = pp(type_text) if type_text else None
        binders.extend(
            Binder(n if n != "_" else None, type_pp, "(" if type_pp else "") for n in names
        )
        spec = ""
    return BinderHead(quant, tuple(binders), body) if binders else None


def top_positions_all(text: str, token: str) -> list[int]:
    """Depth-0 offsets of ``token`` without the binder cut-off (for a binder's own comma)."""
    d = depths(text)
    return [i for i in range(len(text)) if not d[i] and text.startswith(token, i)]


def split_binary(text: str, op: str) -> tuple[str, str] | None:
    """Split at the leftmost top-level ``op``: ``(lhs, rhs)`` stripped of outer parens."""
    t = strip_parens(text)
    if parse_binder_head(t) is not None or t.startswith(("λ", "fun ")):
        return None
    pos = top_positions(t, op)
    if not pos:
        return None
    return strip_parens(t[: pos[0]]), strip_parens(t[pos[0] + len(op) :])


def negation(text: str) -> str | None:
    """``¬P`` -> ``P``; None when the text is not a top-level negation."""
    t = strip_parens(text)
    for op in ("↔", "→", "∨", "∧", "=", "≠", "<", ">", "≤", "≥"):
        if top_positions(t, op):
            return None
    if t.startswith("¬"):
        return strip_parens(t[1:])
    return None


def implication(text: str) -> tuple[str, str] | None:
    """``A → B`` (also ``¬A`` as ``A → False``)."""
    if top_positions(strip_parens(text), "↔"):
        return None
    parts = split_binary(text, "→")
    if parts is not None:
        return parts
    neg = negation(text)
    return (neg, "False") if neg is not None else None


def arrow(lhs: str, rhs: str) -> str:
    """Render ``lhs → rhs`` with the parentheses Lean would print."""
    left = lhs
    if top_positions(lhs, "→") or top_positions(lhs, "↔") or parse_binder_head(lhs):
        left = f"({lhs})"
    right = f"({rhs})" if top_positions(rhs, "↔") else rhs
    return f"{left} → {right}"
