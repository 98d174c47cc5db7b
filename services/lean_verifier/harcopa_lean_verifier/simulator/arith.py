"""Safe evaluator of closed numeral (in)equalities for lean-sim's arithmetic closers.

Called by the simulator's tactic rules: ``2 + 2 = 4``, ``(7:ℝ) / 2 > 3``, ``10 ^ 3 ≠ 999``.
No ``eval``: a small recursive-descent parser over exact rationals, with bounded powers.
"""

from __future__ import annotations

import re
from fractions import Fraction

RELATIONS = ("≠", "≤", "≥", "=", "<", ">")
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|(\(\s*\d+(?:\.\d+)?\s*:\s*[ℕℤℚℝℂ]\s*\))|(.))")
_ASCRIPTION = re.compile(r"\(\s*(\d+(?:\.\d+)?)\s*:\s*([ℕℤℚℝℂ])\s*\)")
_MAX_EXPONENT = 4096
_MAX_DIGITS = 5000


class NotClosed(ValueError):
    """The text is not a closed numeral expression the simulator evaluates."""


class _Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*; power is right-assoc."""

    def __init__(self, text: str, natural: bool) -> None:
        self.tokens = [m.group(0).strip() for m in _TOKEN.finditer(text) if m.group(0).strip()]
        self.pos = 0
        self.natural = natural

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise NotClosed("unexpected end")
        self.pos += 1
        return tok

    def parse(self) -> Fraction:
        value = self.expr()
        if self.peek() is not None:
            raise NotClosed(f"unexpected {self.peek()!r}")
        return value

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            op, rhs = self.take(), self.term()
            value = value + rhs if op == "+" else value - rhs
            if self.natural and value < 0:
                value = Fraction(0)  # truncated subtraction on ℕ
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek() in ("*", "/", "%"):
            op, rhs = self.take(), self.unary()
            if op == "*":
                value *= rhs
            elif rhs == 0:
                value = Fraction(0)  # Lean: x / 0 = 0
            elif op == "%":
                value = Fraction(value.numerator % rhs.numerator) if self.natural else value % rhs
            else:
                value = Fraction(value // rhs) if self.natural else value / rhs
        return value

    def unary(self) -> Fraction:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        base = self.atom()
        if self.peek() == "^":
            self.take()
            exponent = self.unary()
            if exponent.denominator != 1 or not 0 <= exponent <= _MAX_EXPONENT:
                raise NotClosed("exponent out of range")
            if abs(base.numerator).bit_length() * int(exponent) > _MAX_DIGITS * 4:
                raise NotClosed("result too large")
            return base ** int(exponent)
        return base

    def atom(self) -> Fraction:
        tok = self.take()
        if tok == "(":
            value = self.expr()
            if self.take() != ")":
                raise NotClosed("expected )")
            return value
        if tok.startswith("("):
            return Fraction(_ASCRIPTION.match(tok).group(1))  # type: ignore[union-attr]
        if tok[0].isdigit():
            return Fraction(tok)
        raise NotClosed(f"not a numeral: {tok!r}")


def _natural(text: str) -> bool:
    """ℕ semantics unless a decimal or a ℤ/ℚ/ℝ/ℂ ascription says otherwise (Lean's default)."""
    kinds = {m.group(2) for m in _ASCRIPTION.finditer(text)}
    if kinds & {"ℤ", "ℚ", "ℝ", "ℂ"} or re.search(r"\d\.\d", text):
        return False
    return True


def evaluate(text: str) -> Fraction:
    """Value of a closed numeral expression; NotClosed if it is not one."""
    return _Parser(text, _natural(text)).parse()


def split_relation(text: str) -> tuple[str, str, str] | None:
    """``(lhs, op, rhs)`` at the single top-level relation symbol, else None."""
    depth, found = 0, None
    for i, ch in enumerate(text):
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif depth == 0 and ch in RELATIONS:
            if found is not None:
                return None
            found = i
    if found is None:
        return None
    return text[:found].strip(), text[found], text[found + 1 :].strip()


def holds(text: str, natural: bool | None = None) -> bool | None:
    """Truth of a closed numeral (in)equality; None if the text is not one.

    ``natural`` forces ℕ (True) or field (False) semantics; None infers it from the text.
    """
    parts = split_relation(text)
    if parts is None:
        return None
    lhs, op, rhs = parts
    natural = _natural(text) if natural is None else natural and _natural(text)
    try:
        a, b = _Parser(lhs, natural).parse(), _Parser(rhs, natural).parse()
    except (NotClosed, ZeroDivisionError, AttributeError):
        return None
    return {
        "=": a == b,
        "≠": a != b,
        "<": a < b,
        ">": a > b,
        "≤": a <= b,
        "≥": a >= b,
    }[op]
