"""Tests of ``harcopa benchmarks list|show`` (harcopa_cli.main) on synthetic and real data."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harcopa.benchmarks import BENCHMARKS
from harcopa_cli.main import main

REPO = Path(__file__).resolve().parents[2]
BENCHMARK_ROOT = REPO.parent / "shared" / "benchmark"
needs_data = pytest.mark.skipif(
    not BENCHMARK_ROOT.is_dir(), reason=f"benchmark data not found at {BENCHMARK_ROOT}"
)

RECORD = {
    "formal_problem": "(answer : ℕ)\n(h_answer : answer = 1 + 1) -- sum: 1 + 1",
    "formal_answer": "answer = 2",
    "informal_problem": "P",
    "informal_answer": "2",
    "informal_solution": "S",
    "informal_stmt": "P",
    "informal_proof": "S",
    "informal_statement": "P",
    "opens": ["Real"],
}
TYPO = {**RECORD, "formal_problem": "(asnwer : ℕ)\n(h_answer : answer = 2)"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in BENCHMARKS:
        records: list[object] = [RECORD, TYPO, {"nothing": 1}]
        if name == "mathodessy":
            records = [{"formal_statement": "example\n(answer : ℕ)\n(h : answer = 2)\n"
                        ": answer = 2\n:= sorry"}]  # fmt: skip
        (tmp_path / f"{name}.json").write_text(json.dumps(records), encoding="utf-8")
    return tmp_path


def test_list_json_on_synthetic_files(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["benchmarks", "list", "--root", str(root), "--json"]) == 0
    report = {b["name"]: b for b in json.loads(capsys.readouterr().out)["benchmarks"]}
    putnam = report["putnam_solving"]
    assert (putnam["records"], putnam["scored"]) == (3, 2)
    assert (
        putnam["rejected"]
        == [{"index": 2, "reason": "record has neither 'formal_problem' nor 'formal_statement'"}]
        or putnam["rejected"][0]["index"] == 2
    )
    assert [r["index"] for r in putnam["source_parse_rejected"]] == [1]
    assert report["mathodessy"]["records"] == 1


def test_list_text(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["benchmarks", "list", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "putnam_solving" in out and "rejected putnam_solving/2:" in out
    assert "no-lean parse putnam_solving/1:" in out and "asnwer" in out


def test_show_prints_statement_and_frameworks(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["benchmarks", "show", "putnam_solving", "0", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "# putnam_solving/0\n## Header\nopen Real\n" in out
    assert "## Forward-reasoning statement\nexample \n(answer : ℕ) \n" in out
    assert "((answer = 1 + 1) ↔ h_submission)" in out
    assert "## Forward-solving statement\nexample :\n" in out
    assert main(["benchmarks", "show", "putnam_solving", "1", "--root", str(root)]) == 0
    assert "not available: no `(answer : T)` binder" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "putnam_solving", "7"], "out of range"),
        (["show", "putnam_solving", "2"], "was rejected"),
        (["show", "gsm8k", "0"], "unknown benchmark"),
    ],
)
def test_show_errors_exit_2(
    root: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["benchmarks", *argv, "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harcopa: error: ") and message in err and err.count("\n") == 1


def test_missing_folder_exits_2_as_a_module(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harcopa_cli", "benchmarks", "list", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == f"harcopa: error: benchmark file not found: {tmp_path}/formal_math500.json\n"
    )


@needs_data
def test_list_json_on_real_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["benchmarks", "list", "--root", str(BENCHMARK_ROOT), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["benchmarks"]
    assert [(b["name"], b["records"], b["scored"]) for b in report] == [
        ("formal_math500", 387, 378),
        ("minif2f_solving", 375, 370),
        ("putnam_solving", 324, 324),
        ("mathodessy", 269, 269),
    ]
    assert all(b["rejected"] == [] for b in report)
    assert [r["index"] for r in report[0]["source_parse_rejected"]] == [92, 203, 274, 383]


@needs_data
def test_show_real_problem(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["benchmarks", "show", "putnam_solving", "42", "--root", str(BENCHMARK_ROOT)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "outros: (G : Type*) [Group G] (A : G) (B : G)" in out
