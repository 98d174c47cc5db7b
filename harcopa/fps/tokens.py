"""Lean 4's lexical grammar: identifiers and a tokenizer; used by the strict filter and lexing.

``IDENTIFIER`` is Lean's identifier grammar (``harcopa.fps.lexing`` builds its lenient helpers
on it). ``tokenize`` reads text the way Lean's own token function does where soundness depends
on it (``harcopa.fps.soundness``): ``--`` line comments, nested ``/- /- -/ -/`` block and doc
comments, ordinary strings with Lean's escapes (``\\n``, ``\\x41``, ``\\u03B1``, string
gaps), raw strings ``r"..."`` / ``r#"..."#`` (any number of ``#``; no escapes, so
``r"\\" sorry ""`` is the raw string ``\\``, then ``sorry``), char literals, ``«...»``
escaped identifier parts, dotted identifiers (``_root_.x``; ``@x`` is ``@`` then ``x``),
``#command`` words, ``@[`` and ``:=``.

Strings after ``s!``/``m!``/``f!``/``throwError`` are interpolated, and the code in their
``{...}`` is tokenized too. Any other string holding ``{`` (``dbg_trace``'s included: a term
reads it interpolated, a tactic not) must read alike both ways, ending at the same quote, and
its ``{...}`` code is tokenized as well: a context we do not know may read it either way.
Text Lean would not lex (an unterminated string or comment, a bad escape) raises LexError: a
filter must not guess where Lean's reading resumes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# Lean 4's identifier grammar (``isLetterLike``, ``isSubScriptAlnum``, ``isIdRest``): Greek
# without λ, Π, Σ; Coptic; polytonic Greek; the letterlike-symbols block; math script letters.
_LETTERLIKE = (
    "A-Za-z"
    "\u03b1-\u03ba\u03bc-\u03c9"  # α..ω without λ
    "\u0391-\u039f\u03a1\u03a2\u03a4-\u03a9"  # Α..Ω without Π, Σ
    "\u03ca-\u03fb"  # Coptic
    "\u1f00-\u1ffe"  # polytonic Greek
    "\u2100-\u214f"  # letterlike symbols (ℕ, ℝ, ...)
    "\U0001d49c-\U0001d59f"  # mathematical script / fraktur / double-struck letters
)
_SUBSCRIPT = "\u2080-\u2089\u2090-\u209c\u1d62-\u1d6a"
_SUPERSCRIPT_DIGITS = "\u2070\u00b9\u00b2\u00b3\u2074-\u2079"
_ESCAPED = "\u00ab[^\u00bb]*\u00bb"  # «any text»
ATOM_START = f"(?:[{_LETTERLIKE}_]|{_ESCAPED})"
# ``✝`` plus superscript digits is how Lean prints inaccessible names (``inst✝¹``).
_ATOM_REST = f"(?:[{_LETTERLIKE}_0-9'!?{_SUBSCRIPT}]|{_ESCAPED}|\u271d[{_SUPERSCRIPT_DIGITS}]*)"
_ATOM = f"{ATOM_START}{_ATOM_REST}*"

#: A (possibly dotted) Lean identifier, e.g. ``h₀``, ``Real.sqrt``, ``inst✝¹``, ``«my name»``.
IDENTIFIER = re.compile(f"{_ATOM}(?:\\.{_ATOM})*")

#: Identifiers after which a string literal is always interpolated (``interpolatedStr`` users).
INTERPOLATORS = frozenset({"s!", "m!", "f!", "throwError", "throwErrorAt"})
#: After these it is interpolated in a term and ordinary in a tactic: both readings must agree.
MAYBE_INTERPOLATORS = frozenset({"dbg_trace"})

_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?"
)
_HASH_WORD = re.compile(r"#[A-Za-z_][\w!?]*")
_HEX = "0123456789abcdefABCDEF"
_SIMPLE_ESCAPES = frozenset("\\\"'nrt")


class LexError(ValueError):
    """Text Lean's tokenizer would reject (or read in a way a filter cannot pin down)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.message = message
        self.offset = offset


class Kind(enum.Enum):
    IDENT = "ident"
    STRING = "string"
    CHAR = "char"
    NUMBER = "number"
    COMMAND = "command"  # ``#eval``, ``#exit``, ...
    SYMBOL = "symbol"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its source text and where it starts."""

    kind: Kind
    text: str
    start: int

    @property
    def parts(self) -> tuple[str, ...]:
        """An identifier's components with ``«»`` removed (``_root_`` kept)."""
        if self.kind is not Kind.IDENT:
            return ()
        return tuple(_components(self.text))


def _components(name: str) -> list[str]:
    parts, current, index = [], [], 0
    while index < len(name):
        char = name[index]
        if char == "\u00ab":
            end = name.index("\u00bb", index)
            current.append(name[index + 1 : end])
            index = end + 1
            continue
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def tokenize(text: str) -> list[Token]:
    """Every token of ``text`` (comments and whitespace dropped); LexError where Lean would
    not lex it. Interpolated strings contribute their pieces and the tokens of their code."""
    tokens: list[Token] = []
    end = _scan(text, 0, tokens, in_braces=False)
    assert end == len(text)
    return tokens


def _scan(text: str, index: int, out: list[Token], *, in_braces: bool) -> int:
    """Tokenize from ``index``; with ``in_braces`` stop at the ``}`` closing an interpolation."""
    depth = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif text.startswith("--", index):
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
        elif text.startswith("/-", index):
            index = skip_block_comment(text, index)
        elif char == "}" and in_braces and depth == 0:
            return index
        else:
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            index = _token(text, index, out)
    if in_braces:
        raise LexError("unterminated interpolation in a string literal", index)
    return index


def _token(text: str, index: int, out: list[Token]) -> int:
    """Read the token at ``index`` into ``out``; the index after it."""
    char = text[index]
    if char == "r" and (raw_end := _raw_string_end(text, index)) is not None:
        out.append(Token(Kind.STRING, text[index:raw_end], index))
        return raw_end
    if char == '"':
        previous = out[-1].text if out else ""
        if previous in INTERPOLATORS:
            end, code = _string_body(text, index, interpolated=True)
            out.append(Token(Kind.STRING, text[index:end], index))
            out.extend(code)
            return end
        return _string(text, index, out, interpolated=previous in MAYBE_INTERPOLATORS)
    if char == "'" and (char_end := char_literal_end(text, index)) is not None:
        out.append(Token(Kind.CHAR, text[index:char_end], index))
        return char_end
    if (match := IDENTIFIER.match(text, index)) is not None:
        out.append(Token(Kind.IDENT, match.group(), index))
        return match.end()
    if char == "\u00ab":
        raise LexError("unterminated «escaped» identifier", index)
    if char.isdigit():
        number = _NUMBER.match(text, index)
        end = number.end() if number else index + 1
        out.append(Token(Kind.NUMBER, text[index:end], index))
        return end
    if char == "#" and (word := _HASH_WORD.match(text, index)) is not None:
        out.append(Token(Kind.COMMAND, word.group(), index))
        return word.end()
    width = 2 if text.startswith((":=", "@["), index) else 1
    out.append(Token(Kind.SYMBOL, text[index : index + width], index))
    return index + width


def _raw_string_end(text: str, start: int) -> int | None:
    """Index past the raw string ``r#*"..."#*`` at ``start``, None if none starts there."""
    index = start + 1
    while index < len(text) and text[index] == "#":
        index += 1
    if index >= len(text) or text[index] != '"':
        return None
    closing = '"' + "#" * (index - start - 1)
    end = text.find(closing, index + 1)
    if end < 0:
        raise LexError("unterminated raw string literal", start)
    return end + len(closing)


def _escape_end(text: str, index: int, *, interpolated: bool) -> int:
    """Index past the escape sequence whose backslash is at ``index`` (Lean's quotedChar)."""
    code = text[index + 1 : index + 2]
    if code in _SIMPLE_ESCAPES or (interpolated and code == "{"):
        return index + 2
    for letter, digits in (("x", 2), ("u", 4)):
        if code == letter:
            hex_part = text[index + 2 : index + 2 + digits]
            if len(hex_part) == digits and all(c in _HEX for c in hex_part):
                return index + 2 + digits
    if code == "\n" or text.startswith("\r\n", index + 1):  # a string gap
        after = index + 1 + (2 if code == "\r" else 1)
        while after < len(text) and text[after] in " \t\r\n":
            after += 1
        return after
    raise LexError("invalid escape sequence in a string literal", index)


def _string(text: str, start: int, out: list[Token], *, interpolated: bool) -> int:
    """Read the string at ``start``. With a ``{`` in it, the other reading (ordinary or
    interpolated) must end at the same quote: an ordinary string must also read as an
    interpolated one (whose code is then checked too); an interpolated one may fail to read
    as an ordinary one (``\\{``) but not end elsewhere."""
    end, code = _string_body(text, start, interpolated=interpolated)
    if "{" in text[start:end]:
        try:
            other_end, other_code = _string_body(text, start, interpolated=not interpolated)
        except LexError:
            other_end, other_code = (end if interpolated else -1), []
        if other_end != end:
            raise LexError("a string literal with `{` that Lean may read two ways", start)
        code = code if interpolated else other_code
    out.append(Token(Kind.STRING, text[start:end], start))
    out.extend(code)
    return end


def _string_body(text: str, start: int, *, interpolated: bool) -> tuple[int, list[Token]]:
    """(index past the closing quote, the tokens of interpolated code)."""
    code: list[Token] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index = _escape_end(text, index, interpolated=interpolated)
        elif char == '"':
            return index + 1, code
        elif char == "{" and interpolated:
            index = _scan(text, index + 1, code, in_braces=True) + 1
        else:
            index += 1
    raise LexError("unterminated string literal", start)


def char_literal_end(text: str, start: int) -> int | None:
    """Index past a well-formed char literal (``'a'``, ``'\\n'``, ``'\\x41'``) at ``start``."""
    if start + 1 >= len(text) or text[start + 1] == "'":
        return None
    index = start + 1
    if text[index] == "\\":
        try:
            index = _escape_end(text, index, interpolated=False)
        except LexError:
            return None
    else:
        index += 1
    return index + 1 if text[index : index + 1] == "'" else None


def skip_block_comment(text: str, start: int) -> int:
    """Index past the (nested) block or doc comment at ``start``; LexError if it never ends."""
    depth, index = 0, start
    while index < len(text):
        if text.startswith("/-", index):
            depth += 1
            index += 2
        elif text.startswith("-/", index):
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    raise LexError("unterminated comment", start)
