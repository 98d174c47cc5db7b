"""Where each task's prompt lives in the reference code, and how to call it with harcopa's fields.

Used by harcopa.reference.importer. Each task is a ``TaskSite``: a call that takes the fields
harcopa fills into a template (harcopa.prompts.TASK_FIELDS) and returns what the reference sends
for them, as (system or None, user). Where the reference builds a field's text itself (the
solution-state case line, the statement's trailing ``by``), the call passes the reference the
input it receives and lets it build the text, so a difference shows up in the comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from harcopa.domain import OPEN_HEADER
from harcopa.reference.source import (
    Namespace,
    ReferenceMismatch,
    ReferenceShapeError,
    ReferenceSource,
)

Fields = Mapping[str, str]
Chat = tuple[str | None, str]

#: The solver model path of the README's setup (H-SA's system prompt depends on the name).
README_MODEL = "/path/to/HAR_CoPA_Cycle2"
#: A model path of the other branch of that switch (official-impl §4.8).
SFT_CKPT_MODEL = "/path/to/hf_ckpts/HAR_CoPA_Cycle2"

SOLUTION_CASE = "case h.mp\n"
OPEN_TARGET = "⊢ ?w"


@dataclass(frozen=True)
class TaskSite:
    """One task: where its text comes from, how to call it, and notes for the templates file."""

    task: str
    origin: str
    call: Callable[[Fields], Chat]
    note: str = ""


class _Text:
    """An object whose ``str`` is the given text (the reference calls ``str(goal)``)."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __str__(self) -> str:
        return self._text


class DataPoint:
    """Stand-in for the reference's record class of the same name (never instantiated)."""


class FormalProblem(SimpleNamespace):
    """Stand-in for the reference's problem record: only the attributes the prompts read."""


def _chat(messages: object) -> Chat:
    if not (
        isinstance(messages, list)
        and [m.get("role") if isinstance(m, dict) else None for m in messages] == ["system", "user"]
    ):
        raise ReferenceShapeError("a prompt builder did not return [system, user] messages")
    return str(messages[0]["content"]), str(messages[1]["content"])


def _user(text: object) -> Chat:
    if not isinstance(text, str):
        raise ReferenceShapeError("a prompt builder did not return text")
    return None, text


def forward_goal(solution_state: str) -> str:
    """The forward-reasoning goal text whose solution state is ``solution_state``.

    Inverse of harcopa.fps.solution_state_text: ``case h.mp`` line off, ``⊢ ?w`` back to
    ``⊢ False``.
    """
    if not (solution_state.startswith(SOLUTION_CASE) and solution_state.endswith(OPEN_TARGET)):
        raise ValueError(f"a solution state starts with {SOLUTION_CASE!r}, ends with ⊢ ?w")
    return solution_state[len(SOLUTION_CASE) : -len("?w")] + "False"


def solving_goal(initial_state: str) -> str:
    """Goal ``h`` of the forward-solving framework whose shown state is ``initial_state``."""
    if not initial_state.startswith(SOLUTION_CASE):
        raise ValueError(f"an initial solution state starts with {SOLUTION_CASE!r}")
    return "case h\n" + initial_state[len(SOLUTION_CASE) :]


def statement_with_sorry(formal_statement: str) -> str:
    """The benchmark statement whose prompt text (trailing ``sorry`` made ``by``) is given."""
    if not formal_statement.endswith("\n:= by"):
        raise ValueError("the prompt's formal statement ends with '\\n:= by'")
    return formal_statement[: -len("by")] + "sorry"


def _proof_step(files: Mapping[str, ReferenceSource], base: Namespace) -> TaskSite:
    origin = "agent/proof_search.py: SFT_NALP_LLMProofSearchAgent.gen_prompt"
    gen = files["agent/proof_search.py"].function(
        "SFT_NALP_LLMProofSearchAgent.gen_prompt", dict(base)
    )
    return TaskSite(
        "next_proof_step_prediction", origin, lambda f: _chat(gen(None, None, f["goal"]))
    )


def _solution_step(files: Mapping[str, ReferenceSource], base: Namespace, task: str) -> TaskSite:
    step = files["common/utils.py"].function("format_forward_solution_step_prompt", dict(base))
    names = {**base, "format_forward_solution_step_prompt": step}
    ar = files["agent/solution_autoregression.py"].function(
        "SFT_NALP_LLMSolutionAutoregressionAgent.gen_prompt", dict(names)
    )
    bfs = files["agent/solution_search.py"].function(
        "SFT_NALP_LLMSolutionSearchAgent.gen_prompt", dict(names)
    )

    def call(f: Fields) -> Chat:
        sample = FormalProblem(informal_problem=f["informal_problem"])
        goal = _Text(forward_goal(f["solution_state"]))
        from_ar = _chat(ar(None, sample, SimpleNamespace(goals=[goal])))
        from_bfs = _chat(bfs(None, sample, SimpleNamespace(state=SimpleNamespace(goals=[goal]))))
        if from_ar != from_bfs:
            raise ReferenceShapeError("the AR and BFS agents send different next-step prompts")
        return from_ar

    origin = (
        "agent/solution_autoregression.py: SFT_NALP_LLMSolutionAutoregressionAgent.gen_prompt"
        " = agent/solution_search.py: SFT_NALP_LLMSolutionSearchAgent.gen_prompt"
        " (common/utils.py: format_forward_solution_step_prompt)"
    )
    note = "The same prompt serves next-step prediction and next-step drafting."
    return TaskSite(task, origin, call, note)


def _whole(
    files: Mapping[str, ReferenceSource], base: Namespace, task: str, name: str, evaluator: str
) -> TaskSite:
    build = files["common/utils.py"].function(name, dict(base))
    system = files[evaluator].system_expression(name, dict(base))(None)

    def call(f: Fields) -> Chat:
        user = _user(build(f["informal_problem"], solving_goal(f["solution_state"])))[1]
        return str(system), user

    origin = f"common/utils.py: {name}; system message from {evaluator}"
    return TaskSite(task, origin, call)


def _autoformalizer(
    files: Mapping[str, ReferenceSource], base: Namespace, method: str
) -> tuple[Any, Namespace]:
    """An instance of a stand-in SolutionAutoformalizer holding the reference's methods."""
    source = files["agent/solution_autoformalization.py"]
    names: Namespace = {**base, "DataPoint": DataPoint, "FormalProblem": FormalProblem}
    methods = {
        m: source.function(f"SolutionAutoformalizer.{m}", names) for m in ("format_sample", method)
    }
    instance = type("SolutionAutoformalizer", (), methods)()
    instance.demonstrations = {}
    return instance, names


def _problem(f: Fields, statement: str | None) -> FormalProblem:
    return FormalProblem(
        informal_problem=f["informal_problem"],
        informal_answer=f["informal_answer"],
        informal_solution=f.get("informal_solution"),
        header=None,
        formal_statement=statement,
        formal_solution_draft=None,
        metainfo={},
    )


def _solution_drafting(files: Mapping[str, ReferenceSource], base: Namespace) -> TaskSite:
    drafter, _ = _autoformalizer(files, base, "format_solution_draft_prompt")
    system = files["agent/solution_autoformalization.py"].system_expression(
        "prompt", dict(base), within="SolutionAutoformalizer.autoformalize_async"
    )
    sent = str(system(SimpleNamespace(autoformalization_model=README_MODEL)))
    other = str(system(SimpleNamespace(autoformalization_model=SFT_CKPT_MODEL)))
    note = f"system: what the reference sends with the README's model path ({README_MODEL})"
    if other != sent:
        note += f"; a model path containing `hf_ckpts` gets {other!r} instead"

    def call(f: Fields) -> Chat:
        problem = _problem(f, statement_with_sorry(f["formal_statement"]))
        return sent, _user(drafter.format_solution_draft_prompt(problem))[1]

    origin = (
        "agent/solution_autoformalization.py: SolutionAutoformalizer.format_solution_draft_prompt"
    )
    return TaskSite("solution_drafting", origin, call, note)


def _statement(files: Mapping[str, ReferenceSource], base: Namespace) -> TaskSite:
    if base.get("OPEN_HEADER") != OPEN_HEADER:
        raise ReferenceMismatch("the reference's OPEN_HEADER differs from harcopa's")
    formalizer, names = _autoformalizer(files, base, "format_problem_autoformalization_prompt")

    def call(f: Fields) -> Chat:
        names["OPEN_HEADER"] = f["header"]  # the builder reads the module constant
        return _user(formalizer.format_problem_autoformalization_prompt(_problem(f, None)))

    origin = (
        "agent/solution_autoformalization.py:"
        " SolutionAutoformalizer.format_problem_autoformalization_prompt"
    )
    note = "The reference never sends this prompt: no system message of its own (the default)."
    return TaskSite("statement_autoformalization", origin, call, note)


def task_sites(files: Mapping[str, ReferenceSource]) -> tuple[str, list[TaskSite]]:
    """The default system prompt and the seven task sites of a (hash-checked) reference tree."""
    base = files["common/constants.py"].constants()
    default = base.get("SYSTEM_PROMPT_SFT")
    if not isinstance(default, str):
        raise ReferenceShapeError("common/constants.py has no text SYSTEM_PROMPT_SFT")
    sites = [
        _proof_step(files, base),
        _solution_step(files, base, "next_solution_step_prediction"),
        _solution_step(files, base, "next_solution_step_drafting"),
        _whole(
            files,
            base,
            "whole_solution_generation",
            "format_whole_solution_generation_prompt",
            "evaluator/wg.py",
        ),
        _whole(
            files,
            base,
            "whole_solution_drafting",
            "format_solution_draft_prompt",
            "evaluator/h_wg.py",
        ),
        _solution_drafting(files, base),
        _statement(files, base),
    ]
    return default, sites
