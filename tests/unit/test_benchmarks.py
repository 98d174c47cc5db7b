"""Tests of the benchmark loaders (harcopa.benchmarks) on synthetic files and the real data."""

import json
from pathlib import Path

import pytest

from harcopa.benchmarks import (
    BENCHMARKS,
    EXCLUDED,
    EXCLUDED_POSITIONS,
    load_benchmark,
    load_problems_file,
    problem_fingerprint,
)
from harcopa.domain import Variable
from harcopa.errors import InvalidRequest
from harcopa.fps import (
    forward_reasoning_statement,
    forward_solving_statement,
    parse_fps_from_source,
    solving_statement,
)

BENCHMARK_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "benchmark"
needs_data = pytest.mark.skipif(
    not BENCHMARK_ROOT.is_dir(), reason=f"benchmark data not found at {BENCHMARK_ROOT}"
)

PROBLEM = "(answer : ℕ)\n  (h_answer : answer = 1 + 1) -- Compute: 1 + 1"
ANSWER = "-- the answer is 2\nanswer = 2"
STATEMENT = f"example\n{PROBLEM}\n: {ANSWER}\n:= sorry"


def _write(path: Path, records: object) -> Path:
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def test_user_file_with_every_schema(tmp_path: Path) -> None:
    common = {"formal_problem": PROBLEM, "formal_answer": ANSWER, "informal_answer": "2"}
    records = [
        {**common, "informal_problem": "P", "informal_solution": "S", "header": None,
         "level": "Level 1", "subject": "Algebra", "annotator": ["human"]},
        {**common, "informal_stmt": "P", "informal_proof": "S", "id": "x", "split": "test",
         "header": "import Mathlib", "formal_statement": "theorem x : True := trivial"},
        {**common, "informal_statement": "P", "informal_solution": "S", "opens": ["Real", "Set"],
         "problem_name": "putnam_x", "tags": []},
        {"formal_statement": STATEMENT, "informal_problem": "P", "metainfo": {"level": 1}},
        {"formal_statement": "example : True := sorry"},  # no binders: structurally fine
        {"informal_problem": "no statement"},
        "not an object",
        {"formal_statement": "example (x : ℕ : True := sorry"},
    ]  # fmt: skip
    load = load_problems_file(_write(tmp_path / "mine.json", records))
    assert load.name == "mine" and load.records == 8
    assert [p.index for p in load.problems] == [0, 1, 2, 3, 4]
    math500, minif2f, putnam, stored = load.problems[:4]
    assert math500.formal_statement == STATEMENT
    assert dict(math500.metainfo)["annotator"] == '["human"]'
    assert minif2f.header is None and minif2f.informal_solution == "S"
    assert dict(minif2f.metainfo)["formal_statement"] == '"theorem x : True := trivial"'
    assert putnam.header == "open Real Set"
    assert stored.formal_statement == STATEMENT and stored.metainfo == (("level", "1"),)
    reasons = {r.index: r.reason for r in load.rejections}
    assert "neither 'formal_problem' nor 'formal_statement'" in reasons[5]
    assert "not a JSON object" in reasons[6]
    assert "unbalanced" in reasons[7]


def test_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="unknown benchmark"):
        load_benchmark(tmp_path, "gsm8k")
    with pytest.raises(InvalidRequest, match="not found"):
        load_benchmark(tmp_path, "putnam_solving")
    (tmp_path / "mathodessy.json").write_text("{", encoding="utf-8")
    with pytest.raises(InvalidRequest, match="cannot read"):
        load_benchmark(tmp_path, "mathodessy")
    _write(tmp_path / "mathodessy.json", {"a": 1})
    with pytest.raises(InvalidRequest, match="JSON list"):
        load_benchmark(tmp_path, "mathodessy")


def test_putnam_without_opens_has_no_header(tmp_path: Path) -> None:
    record = {"formal_problem": PROBLEM, "formal_answer": ANSWER, "informal_answer": "2",
              "informal_statement": "P", "informal_solution": "S", "opens": []}  # fmt: skip
    _write(tmp_path / "putnam_solving.json", [record])
    load = load_benchmark(tmp_path, "putnam_solving")
    assert load.problems[0].header is None


@needs_data
@pytest.mark.parametrize(
    ("name", "records", "scored"),
    [
        ("formal_math500", 387, 378),
        ("minif2f_solving", 375, 370),
        ("putnam_solving", 324, 324),
        ("mathodessy", 269, 269),
    ],
)
def test_real_benchmark_counts(name: str, records: int, scored: int) -> None:
    load = load_benchmark(BENCHMARK_ROOT, name)
    assert (load.records, len(load.problems), len(load.scored)) == (records, records, scored)
    assert load.rejections == []
    assert all(p.benchmark == name and p.formal_statement.endswith("\n:= sorry")
               for p in load.problems)  # fmt: skip
    assert set(load.excluded_indices) == EXCLUDED_POSITIONS[name]
    fingerprints = {problem_fingerprint(p) for p in load.problems}
    assert len(fingerprints) == records  # the identity tells every problem apart
    assert {problem_fingerprint(load.problems[i]) for i in EXCLUDED_POSITIONS[name]} == (
        EXCLUDED[name]
    )


@needs_data
@pytest.mark.parametrize(
    ("name", "picked", "excluded_sources"),
    [
        ("formal_math500", [35, 31, 0, 42, 205, 386, 204], {31, 42, 205, 204}),
        ("minif2f_solving", [339, 1, 2, 46, 300], {339, 46}),
        ("putnam_solving", [3, 2, 1], set()),
    ],
)
def test_a_reduced_reordered_file_excludes_the_same_problems(
    tmp_path: Path, name: str, picked: list[int], excluded_sources: set[int]
) -> None:
    records = json.loads((BENCHMARK_ROOT / f"{name}.json").read_text(encoding="utf-8"))
    small = load_problems_file(_write(tmp_path / "small.json", [records[i] for i in picked]))
    assert {picked[i] for i in small.excluded_indices} == excluded_sources
    assert [picked[p.index] for p in small.scored] == [
        i for i in picked if i not in excluded_sources
    ]
    # Re-indenting a statement does not change its identity.
    spaced = [dict(records[i]) for i in picked]
    for record in spaced:
        record["formal_problem"] = record["formal_problem"].replace("\n", "\n   ")
    again = load_problems_file(_write(tmp_path / "spaced.json", spaced))
    assert again.excluded_indices == small.excluded_indices


#: Records the Lean-free parse cannot handle: ``answer`` is auto-bound by Lean there.
SOURCE_PARSE_REJECTED = {("formal_math500", i) for i in (92, 203, 274, 383)}


@needs_data
def test_every_record_yields_frameworks_or_an_explained_rejection() -> None:
    rejected = set()
    for name in BENCHMARKS:
        for problem in load_benchmark(BENCHMARK_ROOT, name).problems:
            try:
                parsed = parse_fps_from_source(problem.formal_statement)
            except InvalidRequest as error:
                assert "no `(answer : T)` binder" in str(error)
                rejected.add((name, problem.index))
                continue
            assert parsed.outros and parsed.outros[-1].name
            for build in (forward_reasoning_statement, solving_statement,
                          forward_solving_statement):  # fmt: skip
                assert build(parsed).endswith("sorry")
    assert rejected == SOURCE_PARSE_REJECTED


def _problem(name: str, index: int):  # type: ignore[no-untyped-def]
    return load_benchmark(BENCHMARK_ROOT, name).problems[index]


@needs_data
def test_instance_binders_in_putnam() -> None:
    problem = _problem("putnam_solving", 59)
    parsed = parse_fps_from_source(problem.formal_statement)
    assert [v.binder() for v in parsed.outros[:3]] == ["(F : Type*)", "[Field F]", "[Fintype F]"]
    assert [v.name for v in parsed.intros] == ["n"]  # the conclusion's `fun n ↦ ...` names `n`
    assert parsed.answer_type == "ℕ → ℤ"
    assert problem.header == "open Set Topology Filter Polynomial"


@needs_data
def test_asnwer_typo_is_an_explained_rejection() -> None:
    problem = _problem("formal_math500", 92)
    assert problem.formal_statement.startswith("example\n(asnwer : ℝ)")
    with pytest.raises(InvalidRequest, match="`asnwer` looks like a misspelling of `answer`"):
        parse_fps_from_source(problem.formal_statement)


@needs_data
def test_multi_name_binder_with_answer() -> None:
    parsed = parse_fps_from_source(_problem("minif2f_solving", 150).formal_statement)
    assert [v.name for v in parsed.intros] == ["x", "y", "z"]
    assert [v.name for v in parsed.outros[:2]] == ["m", "n"]
    assert parsed.outros[-1].type == "m + n = answer"
    assert parsed.formal_answer == "answer = 5"


@needs_data
def test_comment_with_colons_and_parentheses() -> None:
    problem = _problem("minif2f_solving", 15)
    assert "-- Evaluate: $\\left( \\frac" in problem.formal_statement
    assert problem.header is None  # the stored import header is ignored
    assert dict(problem.metainfo)["split"] == '"valid"'
    parsed = parse_fps_from_source(problem.formal_statement)
    assert parsed.outros == (
        Variable("h_answer", "answer = ((1 : ℚ)/ 2 + 1 / 3) * (1 / 2 - 1 / 3)"),
    )
    assert (parsed.answer_type, parsed.formal_answer) == ("ℚ", "answer = 5 / 36")


@needs_data
def test_mathodessy_uses_stored_statement_and_metainfo() -> None:
    problem = _problem("mathodessy", 0)
    assert dict(problem.metainfo)["annotator"] == '["HAR_CoPA_Cycle1"]'
    parsed = parse_fps_from_source(problem.formal_statement)
    assert [v.name for v in parsed.outros] == ["S", "hS", "n", "h_pairwise_prime", "h_min",
                                                 "h_answer"]  # fmt: skip
