"""Benchmark loaders: the paper's four JSON benchmarks and users' own problem files.

Called by the orchestrator when a run names a benchmark, by run reports and by
``harcopa benchmarks``. Each record becomes a ``FormalProblem`` exactly as official-impl §1.4
describes; records the text layer cannot use are returned as ``Rejection``s with a reason, never
dropped silently. The paper's exclusion lists are held by problem identity (a fingerprint of
the formal statement), so a reduced or reordered problems file excludes the same problems.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harcopa.domain import FormalProblem
from harcopa.errors import InvalidRequest
from harcopa.fps.statement import benchmark_statement, recover_binders

logger = logging.getLogger(__name__)

BENCHMARKS = ("formal_math500", "minif2f_solving", "putnam_solving", "mathodessy")

#: Positions in the official files of the problems the paper leaves out of its tables (flawed
#: statements, official-impl §5); :data:`EXCLUDED` holds the same problems by identity.
EXCLUDED_POSITIONS: dict[str, frozenset[int]] = {
    "formal_math500": frozenset({31, 42, 111, 119, 124, 188, 196, 204, 205}),
    "minif2f_solving": frozenset({34, 46, 263, 312, 339}),
    "putnam_solving": frozenset(),
    "mathodessy": frozenset(),
}

#: The excluded problems by :func:`problem_fingerprint`, computed from the official files.
EXCLUDED: dict[str, frozenset[str]] = {
    "formal_math500": frozenset(
        {
            "1a1ef7883f86a791cbd7c6df93725e55c421de92cc1101553da83d34e9ec137c",  # 31
            "461c973ce80b713ec88a90d3b26298fa0a5084a8016cefb20d3b9d9ddc5da930",  # 42
            "31526ed97d033452d51bcbd3c1c4e28ddc29368d003a6e04e68627caf998ca30",  # 111
            "255ffd2a816d86ab2c5c24a1fd7d734613c009fbc960b935ad6ded789688dda0",  # 119
            "de862273cf0da4fe220d05c7463b22bc97ed8db280ea59c7b3e734a18befc621",  # 124
            "1536c09a64b706c5c742cd89df93c436f72bb092dbb4fbc795883e0db7dafaf3",  # 188
            "08fddc71c690272d58fa40963769c733f0393c5cb98caa6e0d4eb61c8d83a499",  # 196
            "8bcef169e00801a76c3dc44a73b0ac9e84267019d85acfb06e4608cab01ea4d4",  # 204
            "e21bdea8c7f56eac43baf1f10daad57d71809188be29b658515d3e9c9a803c88",  # 205
        }
    ),
    "minif2f_solving": frozenset(
        {
            "29207c3943993367f11ff948b4203f96bc17c46c425bf7ab5a3b97b0908858c0",  # 34
            "63cc87b0c94f8842babbc20b4278ebe62ffb94ca8b9ab7b6bef1c1d4e7acd685",  # 46
            "2a13494f79206aa275224de4875dfcea08fab14ded26e62f135482ca79a7b29d",  # 263
            "09efce5340f9d5c5191f8599fc1610f1a5ddcc0a8b68cd32da1f437ac9e543f8",  # 312
            "415a0f1707ec802a3d8dcca50307d594124a42cb18623d98863f0267cc69dc2f",  # 339
        }
    ),
    "putnam_solving": frozenset(),
    "mathodessy": frozenset(),
}
_ALL_EXCLUDED = frozenset().union(*EXCLUDED.values())


def problem_fingerprint(problem: FormalProblem) -> str:
    """A problem's identity across files: SHA-256 of its formal statement, whitespace collapsed.

    The statements of the four official benchmarks are pairwise distinct under it.
    """
    return hashlib.sha256(" ".join(problem.formal_statement.split()).encode("utf-8")).hexdigest()


def is_excluded(problem: FormalProblem) -> bool:
    """True for a problem on one of the paper's exclusion lists, in whatever file it comes."""
    return problem_fingerprint(problem) in _ALL_EXCLUDED


def excluded_problem_ids(problems: Iterable[FormalProblem]) -> frozenset[str]:
    """The ``problem_id``s of the problems the paper's lists exclude."""
    return frozenset(p.problem_id for p in problems if is_excluded(p))


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that could not be turned into a problem, with the reason."""

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class BenchmarkLoad:
    """The problems of one benchmark file (in record order) and the records rejected."""

    name: str
    records: int
    problems: list[FormalProblem]
    rejections: list[Rejection]

    @property
    def scored(self) -> list[FormalProblem]:
        """The problems the paper's tables count (exclusion lists applied by identity)."""
        return [p for p in self.problems if not is_excluded(p)]

    @property
    def excluded_indices(self) -> list[int]:
        """Indices in this file of the problems the paper's lists exclude."""
        return [p.index for p in self.problems if is_excluded(p)]


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(f"field {key!r} is missing or not text")
    return value


def _optional_text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"field {key!r} is not text")
    return value


def _meta(record: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((k, json.dumps(record[k], ensure_ascii=False)) for k in keys if k in record)


def _templated(record: Mapping[str, Any]) -> str:
    return benchmark_statement(_text(record, "formal_problem"), _text(record, "formal_answer"))


def _math500(name: str, index: int, record: Mapping[str, Any]) -> FormalProblem:
    return FormalProblem(
        benchmark=name,
        index=index,
        formal_statement=_templated(record),
        informal_problem=_text(record, "informal_problem"),
        informal_answer=_text(record, "informal_answer"),
        informal_solution=_text(record, "informal_solution"),
        header=_optional_text(record, "header"),
        formal_solution_draft=_optional_text(record, "formal_solution_draft"),
        metainfo=_meta(record, ("level", "subject", "annotator")),
    )


def _minif2f(name: str, index: int, record: Mapping[str, Any]) -> FormalProblem:
    # The stored header (Mathlib imports) is ignored: the reference forces OPEN_HEADER.
    return FormalProblem(
        benchmark=name,
        index=index,
        formal_statement=_templated(record),
        informal_problem=_text(record, "informal_stmt"),
        informal_answer=_text(record, "informal_answer"),
        informal_solution=_text(record, "informal_proof"),
        header=None,
        formal_solution_draft=_optional_text(record, "formal_solution_draft"),
        metainfo=_meta(record, ("id", "split", "annotator", "formal_statement")),
    )


def _putnam(name: str, index: int, record: Mapping[str, Any]) -> FormalProblem:
    opens = record.get("opens") or []
    if not isinstance(opens, list) or not all(isinstance(o, str) for o in opens):
        raise InvalidRequest("field 'opens' is not a list of namespaces")
    return FormalProblem(
        benchmark=name,
        index=index,
        formal_statement=_templated(record),
        informal_problem=_text(record, "informal_statement"),
        informal_answer=_text(record, "informal_answer"),
        informal_solution=_text(record, "informal_solution"),
        header="open " + " ".join(opens) if opens else None,
        formal_solution_draft=_optional_text(record, "formal_solution_draft"),
        metainfo=_meta(record, ("problem_name", "tags", "annotator")),
    )


def _stored(name: str, index: int, record: Mapping[str, Any]) -> FormalProblem:
    """A record carrying its own ``formal_statement`` (MathOdyssey, users' files)."""
    metainfo = record.get("metainfo") or {}
    if not isinstance(metainfo, dict):
        raise InvalidRequest("field 'metainfo' is not an object")
    return FormalProblem(
        benchmark=name,
        index=index,
        formal_statement=_text(record, "formal_statement"),
        informal_problem=_optional_text(record, "informal_problem") or "",
        informal_answer=_optional_text(record, "informal_answer") or "",
        informal_solution=_optional_text(record, "informal_solution") or "",
        header=_optional_text(record, "header"),
        formal_solution_draft=_optional_text(record, "formal_solution_draft"),
        metainfo=_meta(metainfo, tuple(metainfo)),
    )


Converter = Callable[[str, int, Mapping[str, Any]], FormalProblem]

_CONVERTERS: dict[str, Converter] = {
    "formal_math500": _math500,
    "minif2f_solving": _minif2f,
    "putnam_solving": _putnam,
    "mathodessy": _stored,
}


def _detect(record: Mapping[str, Any]) -> Converter:
    """The converter for a record of a user's file, chosen by its fields."""
    if "formal_problem" in record:
        if "informal_stmt" in record:
            return _minif2f
        if "informal_statement" in record or "opens" in record:
            return _putnam
        return _math500
    if "formal_statement" in record:
        return _stored
    raise InvalidRequest("record has neither 'formal_problem' nor 'formal_statement'")


def _convert(
    name: str, records: list[Any], pick: Callable[[Mapping[str, Any]], Converter]
) -> BenchmarkLoad:
    problems: list[FormalProblem] = []
    rejections: list[Rejection] = []
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise InvalidRequest("record is not a JSON object")
            problem = pick(record)(name, index, record)
            recover_binders(problem.formal_statement)  # structural check of the statement
        except InvalidRequest as error:
            logger.debug("%s/%s rejected: %s", name, index, error)
            rejections.append(Rejection(index, str(error)))
            continue
        problems.append(problem)
    return BenchmarkLoad(name, len(records), problems, rejections)


def _read_records(path: Path) -> list[Any]:
    if not path.is_file():
        raise InvalidRequest(f"benchmark file not found: {path}")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidRequest(f"cannot read {path}: {error}") from error
    if not isinstance(records, list):
        raise InvalidRequest(f"{path} does not hold a JSON list of records")
    return records


def load_benchmark(root: Path, name: str) -> BenchmarkLoad:
    """Load ``<root>/<name>.json`` for one of :data:`BENCHMARKS`."""
    if name not in _CONVERTERS:
        raise InvalidRequest(f"unknown benchmark {name!r} (known: {', '.join(BENCHMARKS)})")
    converter = _CONVERTERS[name]
    return _convert(name, _read_records(Path(root) / f"{name}.json"), lambda _: converter)


def load_problems_file(path: Path, name: str | None = None) -> BenchmarkLoad:
    """Load a user's JSON list of records in any benchmark schema or with ``formal_statement``.

    The benchmark name of the problems is ``name`` or the file's stem.
    """
    path = Path(path)
    return _convert(name or path.stem, _read_records(path), _detect)
