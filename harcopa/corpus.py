"""Informal corpora: JSONL files of problems with their answers and solutions, the input of CoPA.

Called by the orchestrator's problem loader when a copa run names a ``.jsonl`` file, by the CLI
before it starts a copa run or a cycle, and by the SFT exporter (which renders the prompts of a
copa run from the same problems). One JSON object per line with the text fields ``problem``,
``answer`` and ``solution``; other fields are kept as ``metainfo``. A corpus problem has no
formal statement yet (``formal_statement`` is empty): CoPA writes one. Blank lines are skipped;
a problem's index is its 0-based line number, so ids stay stable when lines are added at the end.
Any bad line makes the whole file bad input, with every bad line named (line number, field).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harcopa.domain import FormalProblem
from harcopa.errors import InvalidRequest

#: The fields every corpus line must carry as non-empty text.
CORPUS_FIELDS = ("problem", "answer", "solution")
#: How many bad lines one error names (the count of the others follows).
MAX_REPORTED_LINES = 20


def is_corpus_path(benchmark: str) -> bool:
    """True when a run's benchmark names an informal corpus (a ``.jsonl`` file)."""
    return benchmark.endswith(".jsonl")


def _line_problem(name: str, number: int, line: str) -> FormalProblem:
    """The problem on line ``number`` (1-based); InvalidRequest naming the field otherwise."""
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as error:
        raise InvalidRequest(f"not JSON ({error.msg} at column {error.colno})") from error
    if not isinstance(record, dict):
        raise InvalidRequest("not a JSON object")
    for key in CORPUS_FIELDS:
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            what = "missing" if key not in record else "not non-empty text"
            raise InvalidRequest(f"field {key!r} is {what}", ((key, what),))
    extra = tuple(
        (key, json.dumps(value, ensure_ascii=False))
        for key, value in record.items()
        if key not in CORPUS_FIELDS
    )
    return FormalProblem(
        benchmark=name,
        index=number - 1,
        formal_statement="",
        informal_problem=record["problem"],
        informal_answer=record["answer"],
        informal_solution=record["solution"],
        metainfo=extra,
    )


def load_corpus(path: Path, name: str | None = None) -> list[FormalProblem]:
    """The problems of a corpus file, in line order; the benchmark name is ``name`` or the stem.

    Raises InvalidRequest listing every bad line (``line N: field 'answer' is missing``), with
    one field violation per bad line (``line N.answer``).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"corpus file not found: {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"cannot read the corpus {path}: {error}") from error
    problems: list[FormalProblem] = []
    bad: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            problems.append(_line_problem(name or path.stem, number, line))
        except InvalidRequest as error:
            field = error.violations[0][0] if error.violations else ""
            bad.append(
                (f"line {number}" + (f".{field}" if field else ""), f"line {number}: {error}")
            )
    if bad:
        shown = "; ".join(message for _, message in bad[:MAX_REPORTED_LINES])
        more = (
            f" (and {len(bad) - MAX_REPORTED_LINES} more)" if len(bad) > MAX_REPORTED_LINES else ""
        )
        raise InvalidRequest(
            f"corpus {path} has {len(bad)} bad line{'s' if len(bad) > 1 else ''}: {shown}{more}",
            tuple((where, message) for where, message in bad),
        )
    if not problems:
        raise InvalidRequest(f"corpus {path} holds no problems")
    return problems
