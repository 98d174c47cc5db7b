"""Handlers of lean-sim's commands (``goal.*``, ``expr.echo``, ``frontend.process``, ...).

Called by the simulator's protocol layer with decoded arguments; each returns one reply
object shaped as pantograph-protocol.md §7 describes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harcopa_lean_verifier.simulator import arith
from harcopa_lean_verifier.simulator.engine import (
    Run,
    TacticFailure,
    TacticParseError,
    exact_term,
    prove,
    run_block,
)
from harcopa_lean_verifier.simulator.frontend import FileChecker, byte_offsets
from harcopa_lean_verifier.simulator.goals import Goal, GoalState, Hyp, goal_json
from harcopa_lean_verifier.simulator.state import Repl
from harcopa_lean_verifier.simulator.terms import SimSyntaxError, check_balanced, pp

Reply = dict[str, Any]
SIMULATOR_NOTE = "lean-sim: a simulator of the Pantograph 0.2.25 REPL, not a prover"
_PROP_MARKERS = ("=", "≠", "<", ">", "≤", "≥", "↔", "→", "∧", "∨", "¬", "∀", "∃", "∣", "∈", "⊆")
_MODES = ("tactic", "expr", "have", "let", "calc", "conv", "draft")


def _error(kind: str, desc: str) -> Reply:
    return {"error": kind, "desc": desc}


def reset(repl: Repl, args: dict[str, Any]) -> Reply:
    return {"nGoals": repl.reset()}


def stat(repl: Repl, args: dict[str, Any]) -> Reply:
    return {"nGoals": len(repl.states), "simulator": SIMULATOR_NOTE}


def options_print(repl: Repl, args: dict[str, Any]) -> Reply:
    return dict(repl.options)


def options_set(repl: Repl, args: dict[str, Any]) -> Reply:
    repl.options.update({k: v for k, v in args.items() if k in repl.options})
    return {}


def expr_echo(repl: Repl, args: dict[str, Any]) -> Reply:
    text = pp(args["expr"])
    try:
        check_balanced(text)
    except SimSyntaxError as exc:
        return _error("parsing", f"<input>:1:{exc.offset}: {exc}")
    try:
        value_type = "ℝ" if "." in text else "ℕ"
        arith.evaluate(text)
        return {"expr": {"pp": text}, "type": {"pp": value_type}}
    except (arith.NotClosed, ZeroDivisionError):
        pass
    is_function = text.startswith(("λ", "fun ", "fun("))
    if text in ("True", "False") or (not is_function and any(m in text for m in _PROP_MARKERS)):
        return {"expr": {"pp": text}, "type": {"pp": "Prop"}}
    return _error(
        "elab",
        f"simulator: cannot elaborate '{text}' (only propositions and "
        "closed numerals are modelled)",
    )


def env_describe(repl: Repl, args: dict[str, Any]) -> Reply:
    return {"imports": list(repl.imports), "modules": list(repl.imports)}


def env_catalog(repl: Repl, args: dict[str, Any]) -> Reply:
    return {"symbols": []}


def env_inspect(repl: Repl, args: dict[str, Any]) -> Reply:
    return _error("index", f"Symbol not found {args['name']} (the simulator has no environment)")


def env_add(repl: Repl, args: dict[str, Any]) -> Reply:
    return {}


def goal_start(repl: Repl, args: dict[str, Any]) -> Reply:
    if ("expr" in args) == ("copyFrom" in args):
        return _error("arguments", "Exactly one of {expr, copyFrom} must be supplied")
    if "copyFrom" in args:
        name = args["copyFrom"]
        return _error("index", f"Symbol not found: {name} (the simulator has no environment)")
    try:
        check_balanced(args["expr"])
    except SimSyntaxError as exc:
        return _error("parsing", f"<input>:1:{exc.offset}: {exc}")
    goal = Goal(repl.ids.next(), None, (), pp(args["expr"]))
    state_id = repl.add_state(GoalState((goal,), goal.uid))
    return {"root": f"_uniq.{goal.uid}", "stateId": state_id}


def _lookup(repl: Repl, state_id: int) -> GoalState | Reply:
    state = repl.states.get(state_id)
    return state if state is not None else _error("index", f"Invalid state index {state_id}")


def _goals_json(repl: Repl, state: GoalState) -> list[dict[str, object]]:
    return [goal_json(g, state, repl.dependent) for g in state.goals]


def _run_mode(run: Run, goal: Goal, mode: str, args: dict[str, Any]) -> list[Goal]:
    text = args[mode]
    if mode == "tactic":
        return run_block(run, [goal], text)
    if mode == "expr":
        return exact_term(run, goal, text)
    if mode == "draft":
        remaining = prove(run, goal, text, 0)
        return [g for g, _ in run.gaps] + remaining
    name = args.get("binderName") or "this"
    branch_tag = name if mode == "let" else None
    branch = run.goal(goal.hyps, text, branch_tag)
    hyp = Hyp(run.ids.next(), name, pp(text), f"?{name}" if mode == "let" else None)
    if mode == "let":
        run.mvar_names[name] = branch.uid
    return [branch, Goal(run.ids.next(), goal.tag, (*goal.hyps, hyp), goal.target)]


def goal_tactic(repl: Repl, args: dict[str, Any]) -> Reply:
    state = _lookup(repl, args["stateId"])
    if not isinstance(state, GoalState):
        return state
    if args["goalId"] >= len(state.goals):
        return _error("index", f"Invalid goal index {args['goalId']}")
    goal = state.goals[args["goalId"]]
    modes = [m for m in _MODES if m in args]
    if len(modes) != 1:
        return _error(
            "arguments", "Exactly one of {tactic, expr, have, calc, conv} must be supplied"
        )
    if modes[0] in ("calc", "conv"):
        return _error("arguments", f"`{modes[0]}` is not supported by the simulator")
    run = Run.over(state, repl.ids, repl.scenario, draft=modes[0] == "draft")
    try:
        produced = _run_mode(run, goal, modes[0], args)
    except TacticParseError as failure:
        return {"parseError": failure.message}
    except TacticFailure as failure:
        return {"tacticErrors": [failure.message]}
    produced = run.open(produced)
    goals = list(produced)
    if repl.options.get("automaticMode", True):
        seen = {g.uid for g in produced} | {goal.uid}
        goals += [g for g in run.open(list(state.goals)) if g.uid not in seen]
    new = GoalState(
        tuple(goals),
        state.root,
        run.assignments,
        run.mvar_names,
        state.used_sorry or run.used_sorry,
        args["stateId"],
    )
    return {"nextStateId": repl.add_state(new), "goals": _goals_json(repl, new)}


def goal_continue(repl: Repl, args: dict[str, Any]) -> Reply:
    target = _lookup(repl, args["target"])
    if not isinstance(target, GoalState):
        return target
    if ("branch" in args) == ("goals" in args):
        return _error("arguments", "Exactly one of {branch, goals} must be supplied")
    if "branch" in args:
        branch = _lookup(repl, args["branch"])
        if not isinstance(branch, GoalState):
            return branch
        if target.goals:
            return _error("structure", "Target state has unresolved goals")
        goals = branch.goals
    else:
        by_name = {f"_uniq.{g.uid}": g for g in target.goals}
        missing = [n for n in args["goals"] if n not in by_name]
        if missing:
            return _error("structure", f"Goals {missing} are not in scope")
        goals = tuple(by_name[n] for n in args["goals"] if by_name[n].uid not in target.assignments)
    new = GoalState(
        goals,
        target.root,
        dict(target.assignments),
        dict(target.mvar_names),
        target.used_sorry,
        args["target"],
    )
    return {"nextStateId": repl.add_state(new), "goals": _goals_json(repl, new)}


def goal_delete(repl: Repl, args: dict[str, Any]) -> Reply:
    for state_id in args["stateIds"]:
        repl.states.pop(state_id, None)
    return {}


def goal_print(repl: Repl, args: dict[str, Any]) -> Reply:
    state = _lookup(repl, args["stateId"])
    if not isinstance(state, GoalState):
        return state
    out: Reply = {"goals": _goals_json(repl, state) if args.get("goals") else []}
    extra = []
    for name in args.get("extraMVars", []):
        uid = int(name.rsplit(".", 1)[-1]) if name.rsplit(".", 1)[-1].isdigit() else -1
        value = state.assignments.get(uid)
        extra.append({"pp": state.instantiate(value)} if value is not None else {})
    out["extraMVars"] = extra
    if args.get("rootExpr") and not state.goals:
        term = "sorryAx _ (simulator proof term)" if state.used_sorry else "(simulator proof term)"
        out["root"] = {"pp": term}
    if args.get("parentExpr") and state.parent is not None:
        out["parent"] = {"pp": "(simulator partial proof term)"}
    return out


def frontend_process(repl: Repl, args: dict[str, Any]) -> Reply:
    if ("file" in args) == ("fileName" in args):
        return _error("arguments", "Exactly one of {fileName, file} must be supplied")
    text = args.get("file")
    if text is None:
        try:
            text = Path(args["fileName"]).read_text(encoding="utf-8")
        except OSError as exc:
            return _error("frontend", f"simulator: cannot read {args['fileName']}: {exc}")
    checker = FileChecker(text, repl.ids, repl.scenario, args["sorrys"])
    to_bytes = byte_offsets(text)
    units = []
    for unit in checker.run():
        out: Reply = {
            "boundary": [to_bytes(unit.start), to_bytes(unit.end)],
            "messages": unit.messages,
        }
        if args["invocations"]:
            out["invocations"] = []
        if args["newConstants"]:
            out["newConstants"] = unit.new_constants
        if args["sorrys"] and unit.state is not None:
            out["goalStateId"] = repl.add_state(unit.state)
            out["goals"] = _goals_json(repl, unit.state)
            out["goalSrcBoundaries"] = [[to_bytes(s), to_bytes(e)] for s, e in unit.sorry_spans]
        units.append(out)
    return {"units": units}
