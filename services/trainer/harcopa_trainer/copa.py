"""CoPA record files: verified chains of proxy autoformalization as statement and draft pieces.

Called by ``harcopa_trainer.export`` for each ``--copa FILE``: CoPA material produced outside
this store (copa runs of the orchestrator are exported from the store like other runs). One
JSON object per line:

``informal_problem``, ``informal_answer`` (text, required); ``formal_statement`` (the
``example ... := sorry`` statement that was produced, required); ``header`` (Lean text before
the statement, default ``OPEN_HEADER``); ``informal_solution`` and ``formal_solution_draft``
(optional: the verified solution draft of the statement); ``verified`` (bool, required: whether
the statement passed the stage's checks, and the draft with it).

A record gives a statement-autoformalization piece (P6) and, with a draft and an informal
solution, a solution-drafting piece (P5), rendered with the same templates as the runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harcopa import domain as d
from harcopa.domain import OPEN_HEADER
from harcopa.errors import InvalidRequest
from harcopa.prompts import PromptTemplates
from harcopa_trainer.data import read_jsonl
from harcopa_trainer.pieces import SOLUTION_DRAFTING, Piece, statement_piece


@dataclass(frozen=True, slots=True)
class CopaRecord:
    """One CoPA result (see the module docstring for the fields)."""

    informal_problem: str
    informal_answer: str
    formal_statement: str
    verified: bool
    header: str = OPEN_HEADER
    informal_solution: str = ""
    formal_solution_draft: str = ""


def _field(obj: dict[str, object], key: str, where: str, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}: CoPA field {key!r} is missing or not text")
    return value


def read_copa(path: Path) -> Iterator[tuple[str, CopaRecord]]:
    """``(file:line, record)`` for every line of a CoPA record file."""
    for where, obj in read_jsonl(path, "CoPA records"):
        if not isinstance(obj, dict) or not isinstance(obj.get("verified"), bool):
            raise InvalidRequest(f"{where}: a CoPA record is an object with a bool 'verified'")
        yield (
            where,
            CopaRecord(
                informal_problem=_field(obj, "informal_problem", where),
                informal_answer=_field(obj, "informal_answer", where),
                formal_statement=_field(obj, "formal_statement", where),
                verified=obj["verified"],
                header=_field(obj, "header", where, required=False) or OPEN_HEADER,
                informal_solution=_field(obj, "informal_solution", where, required=False),
                formal_solution_draft=_field(obj, "formal_solution_draft", where, required=False),
            ),
        )


def copa_pieces(templates: PromptTemplates, where: str, record: CopaRecord) -> Iterator[Piece]:
    """The statement piece and, when the record has a draft, the solution-drafting piece.

    An unverified record's pieces are not Lean-accepted (never exported)."""
    r = record

    problem = d.FormalProblem(
        "copa", 0, "", r.informal_problem, r.informal_answer, r.informal_solution, r.header
    )
    statement = r.formal_statement.rstrip()
    yield statement_piece(
        templates,
        problem,
        statement,
        f"{where}/statement",
        solved=r.verified,
        lean_accepted=r.verified,
    )
    if r.formal_solution_draft and r.informal_solution:
        prompt = templates.solution_drafting(
            r.informal_problem, r.informal_answer, r.informal_solution, statement
        )
        yield Piece(
            SOLUTION_DRAFTING,
            prompt,
            r.formal_solution_draft,
            f"{where}/draft",
            statement,
            True,
            r.verified,
            fence=True,
            solved=r.verified,
        )
