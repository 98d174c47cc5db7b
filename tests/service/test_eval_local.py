"""The one-command local evaluation end to end: `harcopa eval` starts the verifier (lean-sim),
the model server (the model simulator) and the orchestrator as real processes, runs HAR over a
problems file, prints the paper's table, writes the run folder, and resumes a run id."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psutil

from harcopa_cli.prompts import HASHES_ENV
from tests import reference_tree

PROBLEMS = [
    {
        "formal_statement": "example (answer : ℕ) (h_answer : answer = 2 + 2) :"
        " answer = 4 := sorry",
        "informal_problem": "What is 2 + 2?",
        "informal_answer": "4",
    },
    {
        "formal_statement": "example (answer : ℕ) (h_answer : answer = 3 * 5) :"
        " answer = 15 := sorry",
        "informal_problem": "What is 3 times 5?",
        "informal_answer": "15",
    },
]

# The solver drafts `h1 : answer = 4` (right for problem 0 only), the prover closes the gap.
MODEL_SCENARIO = {
    "name": "eval-e2e",
    "rules": [
        {"match": "h1 : answer = 4", "completions": ["```lean4\nexact h1 -- submit\n```"]},
        {
            "match": "Current Solution State",
            "completions": ["```lean4\n-- the answer is 4\nhave h1 : answer = 4 := sorry\n```"],
        },
        {"match": "tactic state", "completions": ["norm_num [h_answer]"]},
    ],
    "default": "sorry",
}


def _harcopa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harcopa_cli", *args],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_eval_runs_har_end_to_end(tmp_path: Path) -> None:
    problems = tmp_path / "problems.json"
    problems.write_text(json.dumps(PROBLEMS), encoding="utf-8")
    scenario = tmp_path / "model.json"
    scenario.write_text(json.dumps(MODEL_SCENARIO), encoding="utf-8")
    workdir = tmp_path / "runs"
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    common = ["eval", "--pipeline", "har", "--benchmark", str(problems)]
    common += ["--model-backend", "sim", "--model-scenario", str(scenario)]
    common += ["--workdir", str(workdir)]
    done = _harcopa(*common, "--ks", "6", "--pool-size", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SIMULATOR" in done.stderr  # the simulators announce themselves
    table = done.stdout.splitlines()
    assert table[1].split()[:3] == ["All", "Solved", "Rate"]
    assert table[2].split()[:2] == ["2", "1"]
    assert table[2].split()[3] == "8.0"  # 2 steps for the solved problem + flat K_S=6
    (run_id,) = re.findall(r"^harcopa eval: run (\S+) ", done.stderr, re.MULTILINE)
    folder = workdir / run_id  # the run folder (--output-dir defaults to runs/ like --workdir)
    lines = [json.loads(x) for x in (folder / "samples.jsonl").read_text().splitlines()]
    solved = {x["problem_id"]: x["solved"] for x in lines}
    assert solved == {"problems/0": True, "problems/1": False}
    attempt = lines[0]["attempts"][0]
    assert attempt["rpe_tactic"] and attempt["final_check_ok"] is True
    assert attempt["steps"][0]["gap_proof"][0]["tactic"] == "norm_num [h_answer]"
    results = json.loads((folder / "results.json").read_text())
    assert (results["status"], results["final"], results["table"]["solved"]) == (
        "succeeded",
        True,
        1,
    )
    assert results["lean"]["backend"] == "lean-sim" and results["lean"]["simulator"] is True
    assert results["models"]["solver"]["kind"].startswith("model simulator")
    assert results["harcopa"]["git_revision"]  # this checkout's revision
    assert results["cost"]["total"]["model_calls"] > 0 and results["cost"]["per_solved_problem"]
    assert {"report.html", "report.md", "solved_vs_budget.png"} <= {
        p.name for p in folder.iterdir()
    }
    services = ("verifier.log", "model_server.log", "orchestrator.log")
    assert all((folder / "logs" / name).stat().st_size > 0 for name in services)
    assert not list(workdir.glob(".logs-*"))  # the staging folder became the run's logs

    # Re-attaching to the finished run re-prints its report without redoing any problem; this
    # execution's logs get their own folder.
    again = _harcopa(*common, "--resume", run_id)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.splitlines()[2].split()[:2] == ["2", "1"]
    assert "model calls" in again.stdout
    assert (folder / "logs" / "resume-1" / "orchestrator.log").is_file()
    assert json.loads((folder / "results.json").read_text())["status"] == "succeeded"
    # Every service process was stopped.
    leftover = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not leftover


def test_eval_rejects_unknown_benchmark(tmp_path: Path) -> None:
    done = _harcopa(
        "eval",
        "--pipeline",
        "ar",
        "--benchmark",
        "nope",
        "--workdir",
        str(tmp_path),
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("harcopa: error: unknown benchmark")


def _reference_scenario() -> dict[str, object]:
    """HAR's script keyed on the synthetic reference's wording and system prompt only."""
    system = "^" + re.escape(reference_tree.SYSTEM_PROMPT_SFT) + "$"
    return {
        "name": "eval-reference",
        "rules": [
            {"match": "^SYNTH-P2.*h1 : answer = 4", "system": system,
             "completions": ["```lean4\nexact h1 -- submit\n```"]},
            {"match": "^SYNTH-P2", "system": system,
             "completions": ["```lean4\nhave h1 : answer = 4 := sorry\n```"]},
            {"match": "^SYNTH-P1", "system": system, "completions": ["norm_num [h_answer]"]},
        ],
        "default": "sorry",
    }  # fmt: skip


def test_eval_with_reference_sends_its_prompts(tmp_path: Path) -> None:
    problems = tmp_path / "problems.json"
    problems.write_text(json.dumps(PROBLEMS[:1]), encoding="utf-8")
    scenario = tmp_path / "model.json"
    scenario.write_text(json.dumps(_reference_scenario()), encoding="utf-8")
    hashes = reference_tree.write_tree(tmp_path / "har_copa_main")
    workdir = tmp_path / "runs"
    common = ["eval", "--pipeline", "har", "--benchmark", str(problems), "--workdir", str(workdir)]
    common += ["--model-backend", "sim", "--model-scenario", str(scenario), "--ks", "4"]
    common += ["--reference", str(tmp_path / "har_copa_main"), "--pool-size", "2"]
    refused = _harcopa(*common)  # the released hashes refuse the synthetic tree, before any start
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "harcopa: error: reference file agent/proof_search.py differs from the released one"
    )
    assert refused.stderr.count("\n") == 1
    conflict = _harcopa(*common, "--system-prompt", "S", env={HASHES_ENV: str(hashes)})
    assert conflict.returncode == 2 and "--system-prompt and --reference" in conflict.stderr
    done = _harcopa(*common, env={HASHES_ENV: str(hashes)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "prompts: the reference's exact strings" in done.stderr
    assert (workdir / "reference-prompts.toml").is_file()
    assert done.stdout.splitlines()[2].split()[:2] == ["1", "1"]  # solved: the scripts matched
