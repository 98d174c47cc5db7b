"""lean-sim's deterministic tactic engine: blocks, ``sorry``/draft gaps, ``have`` and ``exact``.

Called by the simulator's protocol (``goal.tactic``) and frontend (``by`` proofs in files).
Per tactic: scenario rules first, then the built-in rules of ``tactics.py``; anything else is
a tactic error. Not a prover: outcomes are table-driven and documented in the package.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from harcopa_lean_verifier.simulator.blocks import split_tactics
from harcopa_lean_verifier.simulator.goals import Goal, GoalState, Hyp, Ids, find_hyp, render_goal
from harcopa_lean_verifier.simulator.scenario import Rule, Scenario
from harcopa_lean_verifier.simulator.terms import (
    SimSyntaxError,
    check_balanced,
    collapse,
    find_top_assign,
    find_top_colon,
    is_ident,
    mask_comments,
    pp,
    same,
    strip_parens,
)

#: ``native_decide`` and ``decide`` told to evaluate natively: the proof uses Lean.ofReduceBool.
_NATIVE = re.compile(r"native_decide|\+native\b|\bnative\s*:=\s*true")
_FALSE_ELIM = re.compile(r"^(?:\(?(?P<a>[^\s()]+)\)?\.elim|False\.elim\s+(?P<b>[^\s()]+))$")


class TacticFailure(Exception):
    """A tactic failed: ``message`` is Lean-style text, ``offset`` where (if known)."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class TacticParseError(TacticFailure):
    """The tactic text does not parse (Pantograph answers ``parseError``)."""


@dataclass
class Run:
    """Mutable context of one tactic/draft/proof run over a copy of a state's bookkeeping."""

    ids: Ids
    scenario: Scenario
    assignments: dict[int, str]
    mvar_names: dict[str, int]
    draft: bool = False
    gaps: list[tuple[Goal, int | None]] = field(default_factory=list)
    used_sorry: bool = False
    used_native: bool = False
    #: The file's axioms and binder-free theorems so far (name -> statement), for ``exact``.
    constants: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def over(cls, state: GoalState, ids: Ids, scenario: Scenario, draft: bool = False) -> Run:
        return cls(ids, scenario, dict(state.assignments), dict(state.mvar_names), draft)

    def view(self) -> GoalState:
        """A throw-away state for instantiating and rendering with the current assignments."""
        return GoalState((), 0, self.assignments, self.mvar_names)

    def inst(self, text: str) -> str:
        return self.view().instantiate(text)

    def render(self, goal: Goal) -> str:
        return render_goal(goal, self.view())

    def target(self, goal: Goal) -> str:
        return pp(self.inst(goal.target))

    def open(self, goals: list[Goal]) -> list[Goal]:
        return [g for g in goals if g.uid not in self.assignments]

    def goal(self, hyps: tuple[Hyp, ...], target: str, tag: str | None = None) -> Goal:
        return Goal(self.ids.next(), tag, hyps, pp(target))

    def hyp(self, name: str, type_text: str, inaccessible: bool = False) -> Hyp:
        return Hyp(self.ids.next(), name, pp(type_text), None, inaccessible)

    def sorry(self, goal: Goal, offset: int | None) -> list[Goal]:
        """``sorry`` closes the goal; in draft mode it also records a gap goal."""
        self.used_sorry = True
        if self.draft:
            self.gaps.append((Goal(self.ids.next(), None, goal.hyps, goal.target), offset))
        return []


def unsolved(run: Run, goals: list[Goal]) -> str:
    return "unsolved goals\n" + "\n\n".join(run.render(g) for g in goals)


def run_block(run: Run, goals: list[Goal], text: str, offset: int = 0) -> list[Goal]:
    """Run a tactic sequence on the goal list (each tactic on the first open goal)."""
    for piece_offset, piece in split_tactics(text):
        goals = run.open(goals)
        where = offset + piece_offset
        if not goals:
            raise TacticFailure("no goals to be proved", where)
        try:
            produced = apply_tactic(run, goals[0], piece, where)
        except TacticFailure as failure:
            if failure.offset is None:
                failure.offset = where
            raise
        goals = produced + goals[1:]
    return run.open(goals)


def run_closed_block(run: Run, goal: Goal, text: str, offset: int) -> list[Goal]:
    """A focused block (``{ }``, ``·``, nested ``by``) must close its goal."""
    remaining = run_block(run, [goal], text, offset)
    if remaining:
        raise TacticFailure(unsolved(run, remaining), offset)
    return []


def _apply_rule(run: Run, goal: Goal, rule: Rule) -> list[Goal]:
    rule.consume()
    if rule.delay_seconds > 0:
        time.sleep(rule.delay_seconds)
    if rule.result == "close":
        return []
    if rule.result == "error":
        raise TacticFailure(rule.message or "simulator scenario rule: tactic failed")
    assert not isinstance(rule.result, str)
    out = []
    for new in rule.result:
        hyps = goal.hyps + tuple(run.hyp(n, t) for n, t in new.hyps)
        out.append(run.goal(hyps, new.target, new.name))
    return out


def consult(run: Run, goal: Goal, tactic: str) -> list[Goal] | None:
    """Scenario rules first: the result of the first matching rule, else None."""
    rule = run.scenario.find(run.target(goal), run.render(goal), tactic)
    return None if rule is None else _apply_rule(run, goal, rule)


def apply_tactic(run: Run, goal: Goal, text: str, offset: int = 0) -> list[Goal]:
    """One tactic on one goal -> the goals it produces (TacticFailure on failure)."""
    from harcopa_lean_verifier.simulator import tactics  # circular: tactics uses this module

    try:
        check_balanced(mask_comments(text))
    except SimSyntaxError as exc:
        raise TacticParseError(f"<input>:1:{exc.offset}: {exc}", offset) from exc
    by_rule = consult(run, goal, text)
    if by_rule is not None:
        return by_rule
    if _NATIVE.search(text):
        run.used_native = True
    return tactics.dispatch(run, goal, text.strip(), offset)


def prove(run: Run, goal: Goal, proof: str, offset: int) -> list[Goal]:
    """Close ``goal`` with a proof text: ``sorry``, ``by <block>`` or a term."""
    stripped = proof.strip()
    lead = offset + (len(proof) - len(proof.lstrip()))
    if stripped == "sorry":
        return run.sorry(goal, lead)
    if stripped.startswith("by") and (len(stripped) == 2 or stripped[2] in " \n\t"):
        body_offset = lead + 2
        return run_closed_block(run, goal, stripped[2:], body_offset)
    return exact_term(run, goal, stripped, lead)


def exact_term(run: Run, goal: Goal, term: str, offset: int | None = None) -> list[Goal]:
    """``exact term``: hypotheses, ``sorry``, ``(sorry : T)``, ``h.symm``, ``by ...``."""
    by_rule = consult(run, goal, term)
    if by_rule is not None:
        return by_rule
    t = collapse(strip_parens(term)) if not term.strip().startswith("by") else term.strip()
    if t.startswith("by") and (len(t) == 2 or t[2] in " \n\t"):
        return prove(run, goal, t, offset or 0)
    target = run.target(goal)
    placeholder = _open_placeholder(run, target)
    ascribed = _sorry_ascription(t)
    if placeholder is not None:
        return _assign(run, goal, placeholder, t, ascribed, offset)
    if t == "sorry":
        return run.sorry(goal, offset)
    if ascribed is not None:
        if not same(ascribed, target):
            raise TacticFailure(_mismatch(t, ascribed, target))
        return run.sorry(goal, offset)
    proved = _hyp_proves(run, goal, t)
    if proved is True:
        return []
    if isinstance(proved, str):
        raise TacticFailure(_mismatch(t, proved, target))
    from harcopa_lean_verifier.simulator.tactics import closes

    if t in ("rfl", "trivial", "True.intro") and closes(run, goal):
        return []
    if _constant_proves(run, t, target):
        return []
    raise TacticFailure(
        f"type mismatch\n  {t}\nhas a type the simulator cannot infer (no built-in or "
        f"scenario rule)\nbut is expected to have type\n  {target}"
    )


def _constant_proves(run: Run, term: str, target: str) -> bool:
    """``NAME`` of the target's type, or ``NAME.elim`` / ``False.elim NAME`` of type False."""
    stated = run.constants.get(term)
    if stated is not None:
        return same(stated, target)
    elim = _FALSE_ELIM.match(term)
    name = (elim.group("a") or elim.group("b")) if elim else None
    return name is not None and same(run.constants.get(name, ""), "False")


def _mismatch(term: str, actual: str, expected: str) -> str:
    return (
        f"type mismatch\n  {term}\nhas type\n  {actual} : Prop\n"
        f"but is expected to have type\n  {expected} : Prop"
    )


def _sorry_ascription(term: str) -> str | None:
    """``(sorry : T)`` -> ``T``."""
    inner = collapse(term)
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    colon = find_top_colon(inner)
    if colon >= 0 and inner[:colon].strip() == "sorry":
        return pp(inner[colon + 1 :])
    return None


def _open_placeholder(run: Run, target: str) -> int | None:
    """The goal id of ``?x`` when the whole target is an unassigned metavariable."""
    if target.startswith("?") and is_ident(target[1:]):
        uid = run.mvar_names.get(target[1:])
        if uid is not None and uid not in run.assignments:
            return uid
    return None


def _assign(
    run: Run, goal: Goal, uid: int, term: str, ascribed: str | None, offset: int | None
) -> list[Goal]:
    """``exact h`` on ``?w`` assigns ``?w`` the type of ``h`` (what unification does)."""
    if ascribed is not None:
        run.assignments[uid] = ascribed
        return run.sorry(Goal(goal.uid, None, goal.hyps, ascribed), offset)
    hyp = find_hyp(goal, term)
    if hyp is None:
        raise TacticFailure(f"unknown identifier '{term}'")
    run.assignments[uid] = run.inst(hyp.type)
    return []


def _hyp_proves(run: Run, goal: Goal, term: str) -> bool | str | None:
    """True if the term is a hypothesis (or ``.symm``/``.1``/``.2`` of one) of the target's
    type; its type text if it is one of another type; None if it is not about hypotheses."""
    target = run.target(goal)
    name, _, proj = term.partition(".")
    hyp = find_hyp(goal, term) or find_hyp(goal, name)
    if hyp is None:
        return None
    htype = pp(run.inst(hyp.type))
    if hyp.base == term:
        return True if same(htype, target) else htype
    from harcopa_lean_verifier.simulator.tactics import project

    projected = project(htype, proj)
    if projected is None:
        return None
    return True if same(projected, target) else projected


def parse_have(rest: str) -> tuple[str, str | None, str | None, int]:
    """``name : P := proof`` -> (name, P, proof, offset of proof in ``rest``)."""
    masked = mask_comments(rest)
    colon, assign = find_top_colon(masked), find_top_assign(masked)
    if colon >= 0 and (assign < 0 or colon < assign):
        name = masked[:colon].strip() or "this"
        prop = masked[colon + 1 : assign if assign >= 0 else len(masked)]
    else:
        name, prop = (masked[:assign] if assign >= 0 else masked).strip() or "this", None
    if not is_ident(name):
        raise TacticFailure(f"simulator: `have {collapse(name)} ...` patterns are not modelled")
    proof = masked[assign + 2 :] if assign >= 0 else None
    return name, prop, proof, (assign + 2 if assign >= 0 else len(masked))


def have(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    """``have name : P := proof`` adds ``name : P``; without ``:=`` P becomes a goal first."""
    name, prop, proof, proof_at = parse_have(rest)
    if prop is None:
        if proof is None:
            raise TacticParseError("<input>:1:4: unexpected end of input")
        hyp = find_hyp(goal, collapse(proof))
        if hyp is None:
            raise TacticFailure("simulator: `have` without a type is only modelled for hypotheses")
        prop = hyp.type
    prop_goal = run.goal(goal.hyps, prop)
    new_hyp = run.hyp(name, prop)
    main = Goal(run.ids.next(), goal.tag, (*goal.hyps, new_hyp), goal.target)
    if proof is None:
        return [prop_goal, main]
    remaining = prove(run, prop_goal, proof, offset + proof_at)
    if remaining:
        raise TacticFailure(unsolved(run, remaining))
    return [main]
