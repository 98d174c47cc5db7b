"""Built-in tactic rules of lean-sim (DESIGN.md §2.2): structure, closers and combinators.

Called by the simulator's engine after scenario rules. ``intro``/``intros``/``rintro``,
``apply Exists.intro``, ``constructor``, ``exfalso``, ``exact``, ``have``, ``show``, ``use``,
``sorry``, closers (``norm_num``, ``linarith``, ...) and ``{ }``/``·``/``try``/``first``/``<;>``.
"""

from __future__ import annotations

import re

from harcopa_lean_verifier.simulator import arith
from harcopa_lean_verifier.simulator.engine import (
    Run,
    TacticFailure,
    exact_term,
    have,
    run_block,
    run_closed_block,
    unsolved,
)
from harcopa_lean_verifier.simulator.goals import Goal, find_hyp
from harcopa_lean_verifier.simulator.terms import (
    collapse,
    implication,
    is_ident,
    matching,
    parse_binder_head,
    pp,
    render_quant,
    same,
    split_binary,
    split_top,
    substitute,
)

CLOSERS = {
    "norm_num": "unsolved goals\n{goal}",
    "simp": "simp made no progress",
    "simp_all": "simp_all made no progress",
    "decide": "failed to synthesize\n  Decidable ({target})",
    "native_decide": "failed to synthesize\n  Decidable ({target})",
    "rfl": "The rfl tactic failed. Possible reasons:\n- The goal is not a reflexive relation",
    "linarith": "linarith failed to find a contradiction\n{refuted} failed",
    "nlinarith": "linarith failed to find a contradiction\n{refuted} failed",
    "omega": "omega could not prove the goal:\nNo usable constraints found for the hypotheses",
    "ring_nf": "ring_nf failed to prove the goal",
    "ring": "ring failed to prove equality, try ring_nf to normalize",
    "aesop": "aesop: failed to prove the goal after exhaustive search.",
    "positivity": "failed to prove positivity: the simulator has no rule for {target}",
    "field_simp": "field_simp made no progress",
    "rw_search": "rw_search failed",
    "assumption": "tactic 'assumption' failed\n{goal}",
    "trivial": "tactic 'trivial' failed\n{goal}",
    "tauto": "tauto failed to solve some goals.",
    "exact_mod_cast": "type mismatch (simulator: no rule)",
    "contradiction": "tactic 'contradiction' failed\n{goal}",
}
_WORD = re.compile(r"^([A-Za-z_][\w.?!']*)")


def dispatch(run: Run, goal: Goal, text: str, offset: int) -> list[Goal]:
    """Route one (stripped) tactic to its rule."""
    combined = _combinator(run, goal, text, offset)
    if combined is not None:
        return combined
    m = _WORD.match(text)
    word = m.group(1) if m else text[:1]
    rest = text[len(word) :].strip()
    if word == "have":
        return have(run, goal, rest, offset + len(text) - len(rest))
    handler = _HANDLERS.get(word)
    if handler is not None:
        return handler(run, goal, rest, offset)
    if word in CLOSERS:
        return _closer(run, goal, word, rest)
    raise TacticFailure(
        f"simulator: no built-in or scenario rule for tactic '{collapse(text)[:80]}' on this goal"
    )


def _combinator(run: Run, goal: Goal, text: str, offset: int) -> list[Goal] | None:
    if text.startswith("{") and matching(text, 0) == len(text) - 1:
        return run_closed_block(run, goal, text[1:-1], offset + 1)
    if text.startswith(("·", ". ")):
        return run_closed_block(run, goal, " " + text[1:], offset + 1)
    if text.startswith("(") and matching(text, 0) == len(text) - 1:
        return run_block(run, [goal], text[1:-1], offset + 1)
    if "<;>" in text:
        first, _, second = text.partition("<;>")
        out: list[Goal] = []
        for g in run_block(run, [goal], first, offset):
            out.extend(run_block(run, [g], second, offset + len(first) + 3))
        return out
    if text.startswith("try ") or text.startswith("try\n"):
        return _try(run, goal, text[3:], offset + 3)
    if text.startswith("first"):
        return _first(run, goal, text[5:], offset + 5)
    if text.startswith(("all_goals ", "any_goals ", "focus ")):
        word = text.split()[0]
        return run_block(run, [goal], text[len(word) :], offset + len(word))
    return None


def _try(run: Run, goal: Goal, body: str, offset: int) -> list[Goal]:
    saved = (dict(run.assignments), len(run.gaps), run.used_sorry)
    try:
        return run_block(run, [goal], body, offset)
    except TacticFailure:
        run.assignments, run.used_sorry = saved[0], saved[2]
        del run.gaps[saved[1] :]
        return [goal]


def _first(run: Run, goal: Goal, body: str, offset: int) -> list[Goal]:
    last: TacticFailure | None = None
    for alternative in split_top(body, "|"):
        if not alternative.strip():
            continue
        try:
            return run_block(run, [goal], alternative, offset)
        except TacticFailure as failure:
            last = failure
    raise last or TacticFailure("first: no alternatives")


def project(prop: str, proj: str) -> str | None:
    """Type of ``h.symm`` / ``h.1`` / ``h.2`` / ``h.left`` / ``h.right`` given ``h : prop``."""
    if proj == "symm":
        parts = arith.split_relation(prop)
        if parts is not None and parts[1] in ("=", "≠"):
            return f"{parts[2]} {parts[1]} {parts[0]}"
        return None
    conj = split_binary(prop, "∧")
    if conj is None:
        return None
    return {"1": conj[0], "left": conj[0], "2": conj[1], "right": conj[1]}.get(proj)


_NATURAL_TYPES = ("ℕ", "Nat")


def _substituted(run: Run, goal: Goal, target: str) -> tuple[str, bool]:
    """Target with every ``x`` replaced by ``v`` for hypotheses ``x = v`` (v a closed numeral),
    and whether ℕ semantics apply (every substituted variable has type ℕ)."""
    natural = True
    for h in goal.hyps:
        parts = arith.split_relation(pp(run.inst(h.type)))
        if parts is None or parts[1] != "=":
            continue
        lhs, _, rhs = parts
        for var, expr in ((lhs, rhs), (rhs, lhs)):
            if is_ident(var) and arith.holds(f"{expr} = {expr}"):
                replaced = substitute(target, var, f"({expr})")
                if replaced != target:
                    var_hyp = find_hyp(goal, var)
                    natural &= var_hyp is not None and var_hyp.type in _NATURAL_TYPES
                target = replaced
    return target, natural


def _numeric_iff(text: str) -> bool:
    """``x = a ↔ x = b`` with the same left side and numerically equal right sides."""
    sides = split_binary(text, "↔")
    if sides is None:
        return False
    left, right = arith.split_relation(sides[0]), arith.split_relation(sides[1])
    if left is None or right is None or left[1] != right[1] or not same(left[0], right[0]):
        return False
    return arith.holds(f"{left[2]} = {right[2]}") is True


def closes(run: Run, goal: Goal) -> bool:
    """The built-in closer rule: true numerals, identical sides, a matching hypothesis."""
    target = run.target(goal)
    if target == "True" or arith.holds(target) is True or _numeric_iff(target):
        return True
    for op in ("↔", "="):
        sides = split_binary(target, op) if op == "↔" else arith.split_relation(target)
        if sides is not None and (op == "↔" or sides[1] == "=") and same(sides[0], sides[-1]):
            return True
    hyps = [pp(run.inst(h.type)) for h in goal.hyps]
    if any(same(h, target) for h in hyps) or "False" in hyps:
        return True
    substituted, natural = _substituted(run, goal, target)
    return arith.holds(substituted, natural) is True


def _closer(run: Run, goal: Goal, word: str, rest: str) -> list[Goal]:
    if re.search(r"(^|\s)at\s", f" {rest} "):
        raise TacticFailure(f"simulator: '{word} at ...' has no built-in rule (use a scenario)")
    if closes(run, goal):
        return []
    refuted = run.render(Goal(goal.uid, "a", goal.hyps, "False"))
    message = CLOSERS[word].format(goal=run.render(goal), target=run.target(goal), refuted=refuted)
    raise TacticFailure(message)


def _names(rest: str) -> list[str | None]:
    names: list[str | None] = []
    for n in rest.split():
        if n == "_":
            names.append(None)
        elif is_ident(n):
            names.append(n)
        else:
            raise TacticFailure(f"simulator: intro pattern '{n}' is not modelled")
    return names


def intro_one(run: Run, goal: Goal, name: str | None) -> Goal:
    """Introduce one ``∀`` binder or ``→`` premise; ``name`` None makes it inaccessible."""
    target = pp(goal.target)
    head = parse_binder_head(target)
    if head is not None and head.quant == "∀":
        first, rest = head.binders[0], list(head.binders[1:])
        base = name or first.name or ("inst" if first.is_instance() else "a")
        shown = base if name else f"{base}✝"
        body = render_quant("∀", rest, head.body)
        if first.name and first.name != shown:
            body = substitute(body, first.name, shown)
        hyp = run.hyp(base, first.type or "_", inaccessible=name is None)
        return Goal(run.ids.next(), goal.tag, (*goal.hyps, hyp), pp(body))
    arrow = implication(target)
    if arrow is None:
        raise TacticFailure("tactic 'introN' failed, insufficient number of binders")
    hyp = run.hyp(name or "a", arrow[0], inaccessible=name is None)
    return Goal(run.ids.next(), goal.tag, (*goal.hyps, hyp), arrow[1])


def _intro(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    for name in _names(rest) or [None]:
        goal = intro_one(run, goal, name)
    return [goal]


def _intros(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    names = _names(rest)
    if names:
        return _intro(run, goal, rest, offset)
    while True:
        try:
            goal = intro_one(run, goal, None)
        except TacticFailure:
            return [goal]


def _exists_intro(run: Run, goal: Goal) -> list[Goal]:
    head = parse_binder_head(run.target(goal))
    if head is None or head.quant != "∃":
        raise TacticFailure(f"failed to unify\n  ∃ x, ?p x\nwith\n  {run.target(goal)}")
    first, rest = head.binders[0], list(head.binders[1:])
    name = "w"
    while name in run.mvar_names:
        name += "'"
    witness = run.goal(goal.hyps, first.type or "_", f"{goal.tag}.w" if goal.tag else "w")
    run.mvar_names[name] = witness.uid
    body = render_quant("∃", rest, head.body)
    if first.name:
        body = substitute(body, first.name, f"?{name}")
    proof = run.goal(goal.hyps, body, f"{goal.tag}.h" if goal.tag else "h")
    return [proof, witness]


def _apply(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    arg = collapse(rest)
    if arg in ("Exists.intro", "exists.intro"):
        return _exists_intro(run, goal)
    hyp = find_hyp(goal, arg)
    if hyp is not None:
        htype = pp(run.inst(hyp.type))
        if same(htype, run.target(goal)):
            return []
        premises: list[str] = []
        while (arrow := implication(htype)) is not None:
            premises.append(arrow[0])
            htype = arrow[1]
            if same(htype, run.target(goal)):
                return [
                    run.goal(goal.hyps, p, goal.tag if len(premises) == 1 else None)
                    for p in premises
                ]
    raise TacticFailure(f"simulator: no built-in or scenario rule for 'apply {arg}' on this goal")


def _constructor(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    target = run.target(goal)
    prefix = f"{goal.tag}." if goal.tag else ""
    iff = split_binary(target, "↔")
    if iff is not None:
        from harcopa_lean_verifier.simulator.terms import arrow

        mp = run.goal(goal.hyps, arrow(iff[0], iff[1]), prefix + "mp")
        mpr = run.goal(goal.hyps, arrow(iff[1], iff[0]), prefix + "mpr")
        return [mp, mpr]
    conj = split_binary(target, "∧")
    if conj is not None:
        return [
            run.goal(goal.hyps, conj[0], prefix + "left"),
            run.goal(goal.hyps, conj[1], prefix + "right"),
        ]
    head = parse_binder_head(target)
    if head is not None and head.quant == "∃":
        return _exists_intro(run, goal)
    if target == "True":
        return []
    raise TacticFailure(
        "tactic 'constructor' failed, target is not an inductive datatype\n" + run.render(goal)
    )


def _exfalso(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    return [run.goal(goal.hyps, "False", goal.tag)]


def _exact(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    return exact_term(run, goal, rest, offset)


def _sorry(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    return run.sorry(goal, offset)


def _show(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    if not same(rest, run.target(goal)):
        raise TacticFailure(
            f"type mismatch\n  {pp(rest)}\nis not definitionally equal to\n  {run.target(goal)}"
        )
    return [Goal(run.ids.next(), goal.tag, goal.hyps, pp(rest))]


def _use(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    head = parse_binder_head(run.target(goal))
    if head is None or head.quant != "∃":
        raise TacticFailure("use: the goal is not an existential")
    first, others = head.binders[0], list(head.binders[1:])
    body = render_quant("∃", others, head.body)
    if first.name:
        body = substitute(
            body, first.name, f"({collapse(rest)})" if " " in rest.strip() else rest.strip()
        )
    new = run.goal(goal.hyps, body, goal.tag)
    return [] if closes(run, new) else [new]


def _done(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    raise TacticFailure(unsolved(run, [goal]))


def _skip(run: Run, goal: Goal, rest: str, offset: int) -> list[Goal]:
    return [goal]


_HANDLERS = {
    "intro": _intro,
    "intros": _intros,
    "rintro": _intro,
    "apply": _apply,
    "refine": lambda run, goal, rest, offset: exact_term(run, goal, rest, offset),
    "constructor": _constructor,
    "exfalso": _exfalso,
    "exact": _exact,
    "sorry": _sorry,
    "admit": _sorry,
    "show": _show,
    "use": _use,
    "exists": _use,
    "done": _done,
    "skip": _skip,
}
