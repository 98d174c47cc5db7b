"""``harcopa run report RUN... --output-dir DIR`` over a real SQLite store: the run folder's files,
every field of samples.jsonl, the incomplete-run banner, cost and prices, the plots, escaping
of model text, kept provenance, the comparison plot, and the log folders of ``harcopa eval``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harcopa_cli.main import main
from harcopa_cli.outputs import logs
from tests.run_folder_data import SCRIPT, recorded_store

PNG = b"\x89PNG\r\n\x1a\n"


def _report(tmp_path: Path, *extra: str, runs: tuple[str, ...] = ("run-har",)) -> Path:
    store, _, _ = recorded_store(tmp_path, second_run=len(runs) > 1)
    out = tmp_path / "out"
    args = ["--store", str(store), "--no-exclusions", "--output-dir", str(out), *extra]
    code = main(["run", "report", *runs, *args])
    assert code == 0
    return out


def _samples(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


def test_the_folder_holds_every_file_and_samples_keep_every_field(tmp_path: Path) -> None:
    folder = _report(tmp_path) / "run-har"
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "results.json",
        "samples.jsonl",
        "report.md",
        "report.html",
        "solved_vs_budget.png",
        "time_split.png",
    }
    for plot in ("solved_vs_budget.png", "time_split.png"):
        assert (folder / plot).read_bytes().startswith(PNG)
    samples = _samples(folder)
    # One line per problem of the run, in benchmark order, the unfinished one included.
    assert [(s["problem_id"], s["status"]) for s in samples] == [
        ("problems/0", "solved"),
        ("problems/1", "unsolved"),
        ("problems/2", "errored"),
        ("problems/3", "unfinished"),
    ]
    assert len({tuple(s) for s in samples}) == 1  # the same keys on every line
    assert samples[1]["solved"] is False and samples[1]["excluded"] is False
    assert samples[2]["retries"] == 2 and samples[2]["paper_budget"] is None
    assert samples[1]["paper_budget"] == 6.0  # an unsolved step-pipeline problem adds K_S
    first = samples[0]
    assert (first["charged_to_solve"], first["solving_attempt"], first["steps"]) == (5, 1, 2)
    assert first["cost"]["prompt_tokens"] == 2400 and first["cost"]["lean_seconds"] == 1.5
    attempt = first["attempts"][1]
    assert isinstance(attempt["seed"], int)  # int64 values stay numbers
    assert attempt["final_check_ok"] is True and attempt["strict_audit_passed"] is None
    assert attempt["steps"][0]["gap_proof"][0]["tactic"] == "norm_num [h_answer]"
    assert [r["reason"] for r in attempt["rejected"]] == [
        "Lean rejected it: decide failed",
        "cut at the token limit",
    ]
    assert samples[3]["attempts"] == [] and samples[3]["cost"]["model_calls"] == 0


def test_an_incomplete_run_says_so_everywhere(tmp_path: Path) -> None:
    folder = _report(tmp_path) / "run-har"
    results = json.loads((folder / "results.json").read_text())
    assert (results["status"], results["final"]) == ("incomplete", False)
    resume = "2 problems could not be checked"
    assert resume in results["banner"][0]
    assert results["banner"][0].endswith("resume with: harcopa eval --resume run-har")
    assert results["table"]["solve_rate"] == 0.5 and results["table"]["final"] is False
    assert results["errored_problems"] == ["problems/2"]
    assert results["seeds"]["run"] == 7 and results["spec"]["params"]["ks"] == 6
    assert results["models"].startswith("not recorded") and results["lean"].startswith("not")
    assert results["harcopa"]["version"]
    markdown = (folder / "report.md").read_text()
    assert markdown.count(resume) == 1 and "is NOT final" in markdown
    page = (folder / "report.html").read_text()
    assert f'<div class="banner">This run is incomplete: {resume}' in page


def test_cost_per_problem_per_solved_problem_and_money_from_prices(tmp_path: Path) -> None:
    folder = _report(tmp_path, "--gpu-hour-price", "3.6", "--cpu-hour-price", "0.36")
    cost = json.loads((folder / "run-har" / "results.json").read_text())["cost"]
    assert (cost["problems"], cost["solved"]) == (3, 1)  # problems with a result
    assert cost["total"]["model_seconds"] == 10.0 and cost["total"]["lean_seconds"] == 3.5
    assert cost["total"]["prompt_tokens"] == 4800 and cost["total"]["wall_seconds"] == 22.5
    assert cost["per_problem"]["completion_tokens"] == 400
    assert cost["per_solved_problem"]["model_seconds"] == 10.0
    money = cost["money_estimate"]
    assert money["note"].startswith("estimate:")
    assert money["total"]["model"] == pytest.approx(0.01)  # 10 s at 3.6 per GPU hour
    assert money["total"]["lean"] == pytest.approx(0.00035)  # 3.5 s at 0.36 per CPU hour
    assert money["per_problem"]["total"] == pytest.approx(0.01035 / 3)
    assert "money estimate: model (GPU)" in (folder / "run-har" / "report.md").read_text()


def test_no_price_means_no_money_and_a_bad_price_is_a_usage_error(tmp_path: Path) -> None:
    cost = json.loads((_report(tmp_path) / "run-har" / "results.json").read_text())["cost"]
    assert cost["money_estimate"] is None and cost["prices"] == {"gpu_hour": None, "cpu_hour": None}
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "report", "x", "--output-dir", str(tmp_path), "--gpu-hour-price", "-1"])
    assert exit_info.value.code == 2


def test_model_text_is_escaped_in_the_html_and_markdown(tmp_path: Path) -> None:
    folder = _report(tmp_path) / "run-har"
    page = (folder / "report.html").read_text()
    assert SCRIPT not in page
    assert "&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the report's own filter script only
    assert "http://" not in page and "https://" not in page  # nothing fetched from anywhere
    assert page.count("data:image/png;base64,") == 2  # the plots are inline
    assert 'data-status="unfinished"' in page and 'data-outcomes="wrong_answer solved"' in page


def test_a_rewrite_keeps_the_provenance_harcopa_eval_recorded(tmp_path: Path) -> None:
    folder = _report(tmp_path) / "run-har"
    results = json.loads((folder / "results.json").read_text())
    results["models"] = {"solver": {"kind": "checkpoint folder", "revision": "abc"}}
    results["lean"] = {"backend": "lean-sim", "simulator": True}
    (folder / "results.json").write_text(json.dumps(results))
    store = str(tmp_path / "harcopa.sqlite")
    args = ["--store", store, "--no-exclusions", "--output-dir", str(folder.parent)]
    assert main(["run", "report", "run-har", *args]) == 0
    again = json.loads((folder / "results.json").read_text())
    assert again["models"]["solver"]["revision"] == "abc"
    assert any("SIMULATOR" in note for note in again["notes"])
    assert "lean-sim, a SIMULATOR" in (folder / "report.html").read_text()


def test_several_runs_get_their_folders_and_a_comparison_plot(tmp_path: Path) -> None:
    out = _report(tmp_path, runs=("run-har", "run-ar"))
    assert (out / "comparison.png").read_bytes().startswith(PNG)
    assert {p.name for p in out.iterdir()} == {"comparison.png", "run-har", "run-ar"}
    ar = _samples(out / "run-ar")
    assert [s["problem_id"] for s in ar] == ["problems/0", "problems/1"]  # its own problems
    assert json.loads((out / "run-ar" / "results.json").read_text())["banner"] == []


def test_an_unknown_run_is_a_usage_error(tmp_path: Path) -> None:
    store, _, _ = recorded_store(tmp_path)
    code = main(["run", "report", "nope", "--store", str(store), "--output-dir", str(tmp_path)])
    assert code == 2 and not (tmp_path / "nope").exists()


def test_logs_are_staged_then_moved_into_the_run_folder_and_never_appended(
    tmp_path: Path,
) -> None:
    staging = logs.staging_folder(tmp_path)
    with open(staging / "verifier.log", "a", encoding="utf-8") as log:
        log.write("before the move\n")
        moved = logs.adopt(staging, tmp_path, "run-1")
        log.write("after the move\n")  # an open file follows the rename
    assert moved == tmp_path / "run-1" / "logs"
    assert (moved / "verifier.log").read_text() == "before the move\nafter the move\n"
    second = logs.adopt(logs.staging_folder(tmp_path), tmp_path, "run-1")  # a resumed run
    third = logs.adopt(logs.staging_folder(tmp_path), tmp_path, "run-1")
    assert (second.name, third.name) == ("resume-1", "resume-2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-1"]  # no staging folder left
