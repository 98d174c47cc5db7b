"""Lean message parsing and whole-file audit text; used by the FPS operations and CheckFile.

Pantograph v0.2.25 returns messages as preformatted strings ``<file>:<line>:<col>: <severity>:
<text>`` (pantograph-protocol.md §7.17). The severity is read from that prefix, never by
searching the text for "error" (official-impl §8 item 11).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harcopa.domain import Message, Severity
from harcopa.errors import InvalidRequest
from harcopa.fps import ALLOWED_AXIOMS

_POSITION = re.compile(r"^(?:[^\n]*?):(\d+):(\d+):\s*", re.DOTALL)
_SEVERITY = re.compile(r"^(error|warning|info|information):\s*", re.IGNORECASE)
_SEVERITIES = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "information": Severity.INFO,
}
SORRY_WARNING = "declaration uses 'sorry'"
#: ``#print axioms`` answers (the list may wrap; a name may contain a prime).
_AXIOMS = re.compile(r"^'(.+)' depends on axioms: \[([^\]]*)\]\s*$", re.DOTALL)
_NO_AXIOMS = re.compile(r"^'(.+)' does not depend on any axioms\s*$", re.DOTALL)
_DECLARATION = re.compile(
    r"^(?P<prefix>(?:@\[[^\]\n]*\]\s*|set_option\s+\S+\s+\S+\s+in\s+|open\s[^\n]*?\sin\s+"
    r"|(?:private|protected|noncomputable|nonrec)\s+)*)"
    r"(?P<kind>theorem|lemma|example)\b(?P<rest>[^\n]*)$",
    re.MULTILINE,
)
_NAME = re.compile(r"\s+([^\s(\[{⦃:]+)")
_NAMESPACE = re.compile(r"^\s*(namespace|section|end)\b\s*([^\s]*)", re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+(.+?)\s*$")

AUDIT_PREFIX = "harcopa_audit_"


def parse_message(raw: str, line_offset: int = 0) -> Message:
    """One Pantograph message string as a domain Message (lines shifted by ``line_offset``)."""
    text, line, column = raw, 0, 0
    position = _POSITION.match(raw)
    if position is not None:
        line, column = int(position.group(1)) + line_offset, int(position.group(2))
        text = raw[position.end() :]
    severity = Severity.INFO
    prefix = _SEVERITY.match(text)
    if prefix is not None:
        severity = _SEVERITIES[prefix.group(1).lower()]
        text = text[prefix.end() :]
    return Message(severity, text.rstrip("\n"), line, column)


def unit_messages(units: Iterable[Mapping[str, Any]], line_offset: int = 0) -> list[Message]:
    """Every message of every compilation unit, in file order."""
    return [parse_message(str(raw), line_offset) for u in units for raw in u.get("messages", ())]


def errors_of(messages: Iterable[Message]) -> list[Message]:
    return [m for m in messages if m.severity is Severity.ERROR]


def describe(messages: Sequence[Message], limit: int = 3) -> str:
    """A short one-line summary of messages for an error reason."""
    parts = [f"{m.line}:{m.column}: {' '.join(m.text.split())[:300]}" for m in messages[:limit]]
    more = f" (+{len(messages) - limit} more)" if len(messages) > limit else ""
    return "; ".join(parts) + more


@dataclass(frozen=True, slots=True)
class AuditText:
    """A file prepared for checking: import lines stripped, examples renamed, axioms printed.

    ``line_offset`` maps a line of ``text`` back to the caller's file (add it); compilation
    units starting at or after byte ``body_bytes`` are the appended ``#print axioms`` commands.
    """

    text: str
    line_offset: int
    body_bytes: int
    declarations: tuple[str, ...]

    def split(
        self, units: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
        """(units of the caller's text, units of the appended audit commands)."""
        own: list[Mapping[str, Any]] = []
        audit: list[Mapping[str, Any]] = []
        for unit in units:
            boundary = unit.get("boundary") or (0, 0)
            (audit if int(boundary[0]) >= self.body_bytes else own).append(unit)
        return own, audit


def strip_imports(text: str, allowed: Sequence[str]) -> tuple[str, int]:
    """Remove leading ``import`` lines (file mode cannot import); they must be ``allowed``.

    Returns the remaining text and the number of removed lines.
    """
    lines = text.split("\n")
    removed = 0
    while removed < len(lines):
        line = lines[removed]
        match = _IMPORT.match(line)
        if match is None and line.strip():
            break
        for module in match.group(1).split() if match else ():
            if module not in allowed:
                raise InvalidRequest(
                    f"import {module!r} is not loaded by this verifier (it loads {list(allowed)})"
                )
        removed += 1
    return "\n".join(lines[removed:]), removed


def audit_text(text: str, allowed_imports: Sequence[str]) -> AuditText:
    """Prepare ``text`` for CheckFile: strip imports, name examples, append ``#print axioms``.

    An ``example`` cannot be named in ``#print axioms``, so each becomes a theorem with a
    fresh name (the same length is not kept: columns on that line shift, lines do not).
    """
    body, offset = strip_imports(text, allowed_imports)
    counter = 0

    def rename(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group("kind") != "example":
            return match.group(0)
        counter += 1
        return f"{match.group('prefix')}theorem {AUDIT_PREFIX}{counter}{match.group('rest')}"

    body = _DECLARATION.sub(rename, body)
    names = _declared_names(body)
    trailer = "".join(f"\n#print axioms {name}" for name in names)
    return AuditText(body + trailer, offset, len(body.encode()), tuple(names))


def _declared_names(body: str) -> list[str]:
    """Fully qualified theorem/lemma names, following ``namespace``/``section``/``end``."""
    events: list[tuple[int, str, str]] = [
        (m.start(), m.group(1), m.group(2)) for m in _NAMESPACE.finditer(body)
    ]
    for match in _DECLARATION.finditer(body):
        name = _NAME.match(match.group("rest"))
        if name is not None:
            events.append((match.start(), "decl", name.group(1)))
    scopes: list[tuple[str, str]] = []
    names: list[str] = []
    for _, kind, value in sorted(events):
        if kind in ("namespace", "section"):
            scopes.append((kind, value))
        elif kind == "end" and scopes:
            scopes.pop()
        elif kind == "decl":
            if value.startswith("_root_."):
                names.append(value.removeprefix("_root_."))
                continue
            spaces = [v for k, v in scopes if k == "namespace" and v]
            names.append(".".join([*spaces, value]))
    return names


def axioms_in(messages: Iterable[Message]) -> tuple[str, ...]:
    """The union of axioms named by ``#print axioms`` messages, in first-seen order."""
    seen: dict[str, None] = {}
    for message in messages:
        match = _AXIOMS.match(message.text)
        for axiom in match.group(2).split(",") if match else ():
            if axiom.strip():
                seen.setdefault(axiom.strip(), None)
    return tuple(seen)


def axiom_reports(messages: Iterable[Message]) -> int:
    """How many messages are ``#print axioms`` answers (one per audited declaration)."""
    return sum(1 for m in messages if _AXIOMS.match(m.text) or _NO_AXIOMS.match(m.text))


def forbidden_axioms(axioms: Iterable[str]) -> tuple[str, ...]:
    """The axioms outside the allowlist (``propext``, ``Classical.choice``, ``Quot.sound``)."""
    return tuple(a for a in axioms if a not in ALLOWED_AXIOMS)


def count_sorries(messages: Iterable[Message]) -> int:
    return sum(1 for m in messages if m.severity is Severity.WARNING and SORRY_WARNING in m.text)
