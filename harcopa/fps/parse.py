"""FPS problem parsing: intros, answer type, outros and explicit answer (official-impl §2.1).

``parse_fps`` is called by the verifier with the goal Lean produced for the statement;
``parse_fps_from_source`` is the Lean-free approximation used for display (``harcopa
benchmarks show``) and by the simulator. Rejections raise ``harcopa.errors.InvalidRequest``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from harcopa.domain import Goal, ParsedProblem, Variable
from harcopa.errors import InvalidRequest
from harcopa.fps.lexing import identifiers, remove_comments
from harcopa.fps.statement import RecoveredStatement, recover_binders

logger = logging.getLogger(__name__)

ANSWER_NAME = "answer"
SUBMISSION_NAME = "h_submission"
#: Text that must not occur in a problem's goal (official-impl §2.1 step 4).
BANNED_TOKENS_IN_SOLVING_STATE = ("optParam", '"')
#: Text that must not occur in the answer type.
BANNED_TOKENS_IN_ANSWER_TYPE = ("String",)

_UNSUPERVISED = "the conclusion does not mention `answer`: unsupervised mode (no RPE check)"


def _check_goal_text(text: str) -> None:
    if SUBMISSION_NAME in text:
        raise InvalidRequest(f"the statement clashes with the reserved name `{SUBMISSION_NAME}`")
    for token in BANNED_TOKENS_IN_SOLVING_STATE:
        if token in text:
            raise InvalidRequest(f"the statement's goal contains the banned token {token!r}")


def _check_answer_type(answer_type: str) -> None:
    for token in BANNED_TOKENS_IN_ANSWER_TYPE:
        if token in answer_type:
            raise InvalidRequest(f"answer type {answer_type!r} contains banned {token!r}")


def _split(
    variables: Iterable[Variable], answer_idents: set[str]
) -> tuple[list[Variable], str, list[Variable], list[str]]:
    """Intros before ``answer``; after it, variables named in the answer join the intros.

    Returns intros, answer type, outros and warnings.
    """
    intros: list[Variable] = []
    outros: list[Variable] | None = None
    answer_type = ""
    for var in variables:
        if var.name == ANSWER_NAME:
            if outros is not None:
                raise InvalidRequest("the statement binds `answer` twice")
            answer_type, outros = var.type, []
        elif outros is None or (var.name is not None and var.name in answer_idents):
            intros.append(var)
        else:
            outros.append(var)
    if outros is None:
        raise InvalidRequest("the statement has no `answer` variable")
    _check_answer_type(answer_type)
    if not outros:
        raise InvalidRequest("the statement has no hypothesis after `answer` (no outro)")
    if outros[-1].name is None:
        # The solving framework introduces the last outro by name (official-impl §8 item 11).
        raise InvalidRequest("the answer-defining (last) hypothesis is anonymous")
    return intros, answer_type, outros, _dependency_warnings(intros, outros)


def _dependency_warnings(intros: list[Variable], outros: list[Variable]) -> list[str]:
    """Warn when a variable moved to the intros mentions an outro (it cannot be bound first)."""
    outro_names = {v.name for v in outros if v.name is not None}
    warnings = []
    for var in intros:
        used = outro_names.intersection(identifiers(var.type))
        if used:
            names = ", ".join(sorted(used))
            warnings.append(f"intro `{var.name}` depends on hypotheses after `answer`: {names}")
    return warnings


def _source_variable(
    var: Variable, named_types: dict[str, str], instance_types: list[str]
) -> Variable:
    """The context variable with its source-text type (official-impl §2.1 step 7)."""
    if var.value is not None:
        raise InvalidRequest(f"the statement's context has a let-bound variable `{var.name}`")
    name = var.name or ""
    if "✝" in name or not name:
        if not name.startswith("inst✝"):
            raise InvalidRequest(f"the statement's context has an inaccessible name {name!r}")
        # Anonymous instances take the next recorded ``[...]`` text; Lean's own print if none.
        return Variable(None, instance_types.pop(0) if instance_types else var.type)
    return Variable(name, named_types.get(name) or var.type)


def parse_fps(statement: str, goal: Goal, explicit_conclusion: str) -> ParsedProblem:
    """The FPS form of ``statement`` from the goal Lean elaborated for it.

    ``goal`` is the statement's single goal (context in order, anonymous instances named
    ``inst✝…``); ``explicit_conclusion`` is its target printed fully explicitly, which becomes
    ``formal_answer`` (None, with a warning, when it does not mention ``answer``).
    """
    _check_goal_text(goal.render())
    _check_goal_text(explicit_conclusion)
    recovered = recover_binders(statement)
    named, instances = recovered.named_types(), recovered.anonymous_instance_types()
    variables = [_source_variable(v, named, instances) for v in goal.variables]
    answer_idents = set(identifiers(remove_comments(explicit_conclusion)))
    intros, answer_type, outros, warnings = _split(variables, answer_idents)
    formal_answer: str | None = explicit_conclusion
    if ANSWER_NAME not in answer_idents:
        logger.warning("parse_fps: %s", _UNSUPERVISED)
        formal_answer, warnings = None, [*warnings, _UNSUPERVISED]
    return ParsedProblem(tuple(intros), answer_type, tuple(outros), formal_answer, tuple(warnings))


def _source_variables(recovered: RecoveredStatement) -> list[Variable]:
    variables = []
    for binder in recovered.binders:
        if binder.type is None:
            raise InvalidRequest(f"binder {binder.text!r} gives no type")
        if not binder.names:
            variables.append(Variable(None, binder.type))
        for name in binder.names:
            if name == "_":
                raise InvalidRequest(f"binder {binder.text!r} is anonymous")
            variables.append(Variable(name, binder.type))
    return variables


def parse_fps_from_source(statement: str) -> ParsedProblem:
    """A Lean-free approximation of :func:`parse_fps`, from the statement text alone.

    Binder types are the source text, the conclusion (comments removed, whitespace collapsed)
    stands in for the explicit answer, and auto-bound implicit variables are invisible, so a
    statement whose ``answer`` is auto-bound (e.g. a misspelt binder) is rejected here although
    Lean would accept it. Used for display and by the simulator, never for scoring.
    """
    recovered = recover_binders(statement)
    _check_goal_text(remove_comments(statement))
    answer_idents = set(identifiers(recovered.conclusion))
    if not any(ANSWER_NAME in b.names for b in recovered.binders):
        raise InvalidRequest(_missing_answer_reason(recovered, answer_idents))
    intros, answer_type, outros, warnings = _split(_source_variables(recovered), answer_idents)
    formal_answer: str | None = recovered.conclusion
    if ANSWER_NAME not in answer_idents:
        formal_answer, warnings = None, [*warnings, _UNSUPERVISED]
    return ParsedProblem(tuple(intros), answer_type, tuple(outros), formal_answer, tuple(warnings))


def _missing_answer_reason(recovered: RecoveredStatement, answer_idents: set[str]) -> str:
    names = [n for b in recovered.binders for n in b.names]
    near = [n for n in names if n != ANSWER_NAME and sorted(n) == sorted(ANSWER_NAME)]
    reason = "no `(answer : T)` binder"
    if ANSWER_NAME in answer_idents:
        reason += "; `answer` in the conclusion would be auto-bound by Lean (type unknown here)"
    if near:
        reason += f"; binder `{near[0]}` looks like a misspelling of `answer`"
    return reason
