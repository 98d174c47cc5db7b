"""``frontend.process`` for lean-sim: split a file into commands and check each one.

Called by the simulator's protocol. Each ``theorem``/``lemma``/``example`` proof runs through
the tactic engine; messages use Lean's wording (``declaration uses 'sorry'``, ``unsolved
goals``, ``'NAME' depends on axioms: [...]``); positions are UTF-8 byte offsets as in §7.17.

``#print axioms`` follows what a proof uses, as Lean's does: the standard axioms, ``sorryAx``
for a ``sorry``, ``Lean.ofReduceBool`` for ``native_decide`` (or ``decide +native``), every
escape axiom the proof names (``sorryAx``, ``Lean.ofReduceBool``, ``Lean.ofReduceNat``,
``Lean.trustCompiler``, under any prefix), the file's own axioms it names, and everything an
earlier theorem of the file it names depends on. ``exact NAME`` proves a goal of ``NAME``'s
type (``NAME.elim`` any goal when it is ``False``). ``#exit`` ends the file there, with
Lean's warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from harcopa.fps import identifiers
from harcopa_lean_verifier.simulator.declarations import (
    DECLARATION_KEYWORDS,
    PROOF_KEYWORDS,
    Declaration,
    declared_name,
    parse_declaration,
    split_keyword,
)
from harcopa_lean_verifier.simulator.engine import Run, TacticFailure, prove
from harcopa_lean_verifier.simulator.goals import Goal, GoalState, Hyp, Ids
from harcopa_lean_verifier.simulator.scenario import Scenario
from harcopa_lean_verifier.simulator.terms import SimSyntaxError, mask_comments

FILE_NAME = "<anonymous>"
STANDARD_AXIOMS = ("propext", "Classical.choice", "Quot.sound")
#: Lean's order in ``#print axioms`` output for the axioms the simulator reports.
_AXIOM_ORDER = ("propext", "sorryAx", "Classical.choice", "Lean.ofReduceBool", "Quot.sound")
#: Axioms outside the standard three a proof can name, by their last name component.
ESCAPE_AXIOMS = {
    "sorryAx": "sorryAx",
    "ofReduceBool": "Lean.ofReduceBool",
    "ofReduceNat": "Lean.ofReduceNat",
    "trustCompiler": "Lean.trustCompiler",
}
EXIT_WARNING = "using 'exit' to interrupt Lean"
_TYPED = re.compile(r"\s*\S+\s*:(?P<type>.*)$", re.DOTALL)
_COMMAND = re.compile(
    r"(?:@\[|/--|private\b|protected\b|noncomputable\b|open\b|set_option\b|namespace\b|"
    r"section\b|end\b|universe\b|variable\b|import\b|attribute\b|macro\b|syntax\b|notation\b|"
    r"#\w+|" + "|".join(rf"{k}\b" for k in DECLARATION_KEYWORDS) + ")"
)


@dataclass
class ProcessedUnit:
    """One compilation unit: character span, messages and (with sorrys) its sorry goals."""

    start: int
    end: int
    messages: list[str] = field(default_factory=list)
    state: GoalState | None = None
    sorry_spans: list[tuple[int, int]] = field(default_factory=list)
    new_constants: list[str] = field(default_factory=list)


@dataclass
class _Proved:
    used_sorry: bool
    used_native: bool
    axioms: tuple[str, ...]


class FileChecker:
    """Checks one file; ``register`` turns a unit's sorry goals into a numbered state."""

    def __init__(self, text: str, ids: Ids, scenario: Scenario, sorrys: bool) -> None:
        self.text = text
        self.masked = mask_comments(text)
        self.ids = ids
        self.scenario = scenario
        self.sorrys = sorrys
        self.proved: dict[str, _Proved] = {}
        self.custom_axioms: set[str] = set()
        #: Axioms and binder-free theorems declared so far, with their statements.
        self.constants: dict[str, str] = {}
        self._line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def position(self, offset: int) -> str:
        line = max(i for i, s in enumerate(self._line_starts) if s <= offset)
        return f"{FILE_NAME}:{line + 1}:{offset - self._line_starts[line]}"

    def message(self, severity: str, offset: int, text: str) -> str:
        if severity == "info":
            return text + "\n"
        return f"{self.position(offset)}: {severity}: {text}\n"

    def spans(self) -> list[tuple[int, int]]:
        """Command spans: a command starts at a column-0 keyword and runs to the next one."""
        starts, pos, previous = [], 0, ""
        for line in self.masked.splitlines(keepends=True):
            if _COMMAND.match(line) and not previous.rstrip().endswith(" in"):
                starts.append(pos)
            previous = line if line.strip() else previous
            pos += len(line)
        first = len(self.masked) - len(self.masked.lstrip())
        if not starts or (starts[0] > first and self.masked[first : starts[0]].strip()):
            starts.insert(0, first)
        bounds = [*starts, len(self.text)]
        return [(bounds[i], bounds[i + 1]) for i in range(len(starts)) if bounds[i] < bounds[i + 1]]

    def run(self) -> list[ProcessedUnit]:
        units: list[ProcessedUnit] = []
        for start, end in self.spans():
            keyword, at = split_keyword(self.masked[start:end])
            if keyword == "#exit":  # Lean stops reading the file here
                unit = ProcessedUnit(start, end)
                unit.messages.append(self.message("warning", start + at, EXIT_WARNING))
                return [*units, unit]
            units.append(self.unit(start, end))
        return units

    def unit(self, start: int, end: int) -> ProcessedUnit:
        unit = ProcessedUnit(start, end)
        body = self.masked[start:end]
        keyword, at = split_keyword(body)
        if keyword in PROOF_KEYWORDS:
            self.declaration(unit, body)
        elif keyword == "#print" and body[at:].split()[1:2] == ["axioms"]:
            self.print_axioms(unit, body[at:].split()[2:3])
        elif keyword == "import":
            unit.messages.append(
                self.message(
                    "error",
                    start,
                    "invalid 'import' command, it must be used in the beginning of the file",
                )
            )
        elif keyword == "axiom":
            name = declared_name(body)
            if name:
                self.custom_axioms.add(name)
                unit.new_constants.append(name)
                typed = _TYPED.match(body[at + len(keyword) :])
                if typed is not None and "(" not in typed.group("type")[:1]:
                    self.constants[name] = typed.group("type")
        elif keyword in DECLARATION_KEYWORDS:
            name = declared_name(body)
            unit.new_constants.extend([name] if name else [])
        elif keyword.startswith("#"):
            text = f"simulator: {keyword} is not evaluated"
            unit.messages.append(self.message("info", start + at, text))
        elif not _COMMAND.match(body.lstrip()):
            unit.messages.append(
                self.message("error", start, "unexpected identifier; expected command")
            )
        return unit

    def _goal(self, decl: Declaration) -> Goal:
        hyps = []
        for b in decl.binders:
            base = b.name or ("inst" if b.is_instance() else "x")
            hyps.append(Hyp(self.ids.next(), base, b.type or "_", None, b.name is None))
        return Goal(self.ids.next(), None, tuple(hyps), decl.statement)

    def declaration(self, unit: ProcessedUnit, body: str) -> None:
        try:
            decl = parse_declaration(body)
        except SimSyntaxError as exc:
            unit.messages.append(self.message("error", unit.start + exc.offset, str(exc)))
            return
        goal = self._goal(decl)
        run = Run(self.ids, self.scenario, {}, {}, draft=self.sorrys, constants=self.constants)
        proof_at = unit.start + decl.proof_offset
        try:
            remaining = prove(run, goal, decl.proof, 0)
            if remaining:
                raise TacticFailure("unsolved goals", 0)
        except TacticFailure as failure:
            where = proof_at + (failure.offset or 0)
            unit.messages.append(self.message("error", where, failure.message))
        if run.used_sorry:
            where = unit.start + (decl.name_offset if decl.name else decl.keyword_offset)
            unit.messages.append(self.message("warning", where, "declaration uses 'sorry'"))
        if decl.name:
            uses = self.dependencies(decl.proof)
            self.proved[decl.name] = _Proved(run.used_sorry, run.used_native, uses)
            unit.new_constants.append(decl.name)
            if not decl.binders:
                self.constants[decl.name] = decl.statement
        if self.sorrys and run.gaps:
            unit.state = GoalState(
                tuple(g for g, _ in run.gaps), goal.uid, run.assignments, run.mvar_names, True
            )
            unit.sorry_spans = [(proof_at + (o or 0), proof_at + (o or 0) + 5) for _, o in run.gaps]

    def dependencies(self, proof: str) -> tuple[str, ...]:
        """The non-standard axioms a proof reaches through the names it mentions."""
        found: set[str] = set()
        for ident in identifiers(proof):
            parts = ident.removeprefix("_root_.").split(".")
            found |= {ESCAPE_AXIOMS[part] for part in parts if part in ESCAPE_AXIOMS}
            for name in (".".join(parts[:n]) for n in range(1, len(parts) + 1)):  # h.elim: h
                if name in self.custom_axioms:
                    found.add(name)
                if name in self.proved:
                    found |= set(self.axioms_of(name)) - set(STANDARD_AXIOMS)
        return tuple(sorted(found))

    def print_axioms(self, unit: ProcessedUnit, name: list[str]) -> None:
        if not name:
            unit.messages.append(self.message("error", unit.start, "expected identifier"))
            return
        axioms = self.axioms_of(name[0])
        if not axioms:
            text = f"'{name[0]}' does not depend on any axioms"
        else:
            text = f"'{name[0]}' depends on axioms: [{', '.join(axioms)}]"
        unit.messages.append(self.message("info", unit.start, text))

    def axioms_of(self, name: str) -> list[str]:
        """Standard axioms, plus ``sorryAx``/``Lean.ofReduceBool``/file axioms as used."""
        override = self.scenario.axioms.get(name)
        if override is not None:
            return list(override)
        proved = self.proved.get(name)
        found = set(STANDARD_AXIOMS)
        if proved is not None:
            found |= {"sorryAx"} if proved.used_sorry else set()
            found |= {"Lean.ofReduceBool"} if proved.used_native else set()
            found |= set(proved.axioms)
        ordered = [a for a in _AXIOM_ORDER if a in found]
        return ordered + sorted(found - set(_AXIOM_ORDER))


def byte_offsets(text: str) -> Callable[[int], int]:
    """Character offset -> UTF-8 byte offset."""
    table = [0]
    for ch in text:
        table.append(table[-1] + len(ch.encode("utf-8")))
    return lambda i: table[min(i, len(text))]
