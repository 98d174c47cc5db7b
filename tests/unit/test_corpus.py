"""Informal corpora (harcopa.corpus) and how a run's benchmark resolves to one: problems per line,
every bad line named with its line number and field, and a corpus only for copa runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harcopa import domain as d
from harcopa.corpus import is_corpus_path, load_corpus
from harcopa.errors import InvalidRequest
from harcopa_cli.main import main
from harcopa_orchestrator.problems import problem_loader

GOOD = {"problem": "What is 3 + 4?", "answer": "7", "solution": "3 + 4 = 7.", "level": 1}


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def test_each_line_is_a_problem_indexed_by_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "mine.jsonl", [GOOD, "", {**GOOD, "answer": "8"}])
    problems = load_corpus(path)
    assert [p.problem_id for p in problems] == ["mine/0", "mine/2"]  # the blank line is skipped
    first = problems[0]
    assert (first.informal_problem, first.informal_answer) == ("What is 3 + 4?", "7")
    assert first.informal_solution == "3 + 4 = 7." and first.formal_statement == ""
    assert first.metainfo == (("level", "1"),)
    assert is_corpus_path(str(path)) and not is_corpus_path("formal_math500")


def test_every_bad_line_is_named_with_its_field(tmp_path: Path) -> None:
    lines: list[object] = [
        GOOD,
        {"problem": "p", "solution": "s"},  # line 2: no answer
        "{not json",  # line 3
        [1, 2],  # line 4
        {"problem": "p", "answer": 7, "solution": "s"},  # line 5: answer not text
        {"problem": " ", "answer": "7", "solution": "s"},  # line 6: empty problem
    ]
    with pytest.raises(InvalidRequest) as caught:
        load_corpus(_write(tmp_path / "bad.jsonl", lines))
    message = str(caught.value)
    assert message.startswith(f"corpus {tmp_path / 'bad.jsonl'} has 5 bad lines: ")
    assert "line 2: field 'answer' is missing" in message
    assert "line 3: not JSON (" in message
    assert "line 4: not a JSON object" in message
    assert "line 5: field 'answer' is not non-empty text" in message
    assert "line 6: field 'problem' is not non-empty text" in message
    paths = [path for path, _ in caught.value.violations]
    assert paths == ["line 2.answer", "line 3", "line 4", "line 5.answer", "line 6.problem"]


def test_missing_or_empty_corpus_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="corpus file not found"):
        load_corpus(tmp_path / "absent.jsonl")
    with pytest.raises(InvalidRequest, match="holds no problems"):
        load_corpus(_write(tmp_path / "empty.jsonl", [""]))


def test_a_corpus_feeds_copa_runs_only(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [GOOD, GOOD, GOOD])
    load = problem_loader(tmp_path)
    copa = d.RunSpec(d.Pipeline.COPA, str(path), problem_indices=(2, 0))
    assert [p.problem_id for p in load(copa)] == ["c/2", "c/0"]
    with pytest.raises(InvalidRequest, match="only copa runs can use it"):
        load(d.RunSpec(d.Pipeline.H_SA, str(path)))
    with pytest.raises(InvalidRequest, match=r"no problems with indices \[5\]"):
        load(d.RunSpec(d.Pipeline.COPA, str(path), problem_indices=(5,)))


def test_the_cli_checks_a_corpus_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write(tmp_path / "bad.jsonl", [GOOD, {**GOOD, "solution": ""}])
    start = ["run", "start", "--orchestrator", "127.0.0.1:1", "--benchmark", str(bad)]
    assert main([*start, "--pipeline", "copa"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"harcopa: error: corpus {bad} has 1 bad line: line 2: field 'solution' is not"
        " non-empty text"
    )
    good = _write(tmp_path / "good.jsonl", [GOOD])
    assert main(["eval", "--pipeline", "wg", "--benchmark", str(good)]) == 2
    assert "only copa runs can use it" in capsys.readouterr().err
