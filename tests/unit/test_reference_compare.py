"""The parts of benchmarks/reference_compare.py that need no reference code: the modules its
virtual environment gets, the lean-sim wiring of a working copy, the command lines of both
systems, the decisions read from both result formats, and the scripted workload itself.

The reference tree here is synthetic (our own files of the same layout), as in
tests/unit/test_reference_import.py; the comparison itself runs as a benchmark.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from benchmarks.reference_compare import UNRECORDED_BY_REFERENCE, harcopa_args, harcopa_decisions
from benchmarks.reference_side import (
    Decision,
    evaluator_args,
    prepare_copy,
    reference_decisions,
    reference_imports,
)
from benchmarks.reference_workload import PROBLEMS, lean_scenario, workloads
from harcopa import domain as d
from harcopa.benchmarks import load_problems_file
from harcopa_cli.outputs.records import sample_record
from harcopa_model_server.backends.simulated import Scenario

RUN = {
    "url": "http://127.0.0.1:1/v1",
    "model": "/path/to/model",
    "benchmark_root": "/b",
    "project_root": "/p",
    "log_root": "/l",
    "lean_scenario": "/s.json",
    "temperature": 0,
    "ks": 16,
    "solver_samples": 2,
    "kw": 3,
    "prover_expansions": 4,
    "prover_samples": 2,
    "mode": "paper",
}


def _tree(root: Path) -> Path:
    files = {
        "agent/search.py": "import heapq\nimport numpy as np\nfrom loguru import logger\n",
        "common/util.py": "import vllm\nfrom transformers import Auto\nimport regex as re\n",
        "evaluator/run.py": "from common.util import x\nfrom . import y\nimport fire\n",
        "config/train.py": "import mmengine\n",  # not a folder the pipelines run
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_venv_gets_the_third_party_imports_of_the_pipeline_code(tmp_path: Path) -> None:
    assert reference_imports(_tree(tmp_path)) == ["fire", "loguru", "numpy", "regex"]


def test_a_working_copy_runs_lean_sim_and_leaves_the_checkout_alone(tmp_path: Path) -> None:
    checkout = _tree(tmp_path / "checkout")
    (checkout / "common" / "pantograph").mkdir()
    before = sorted(p.relative_to(checkout) for p in checkout.rglob("*"))
    work = tmp_path / "work"
    copy = prepare_copy(checkout, work)
    assert sorted(p.relative_to(checkout) for p in checkout.rglob("*")) == before
    repl = copy / "common" / "pantograph" / "pantograph-repl"
    assert "harcopa_lean_verifier.simulator" in repl.read_text()
    lake = subprocess.run(
        [str(work / "bin" / "lake"), "env", "printenv", "LEAN_PATH"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert lake.stdout.strip() == str(work / "lean-path")
    assert (work / "stand-ins" / "vllm" / "__init__.py").is_file()
    assert "AutoTokenizer" in (work / "stand-ins" / "transformers" / "__init__.py").read_text()


def test_both_command_lines_carry_the_same_budgets() -> None:
    har = evaluator_args("har", RUN)
    assert har[har.index("--solver_max_search_trials") + 1] == "16"
    assert har[har.index("--prover_num_samples_per_trial") + 1] == "2"
    assert har[har.index("--temperature") + 1] == "0"
    assert "--try_num" not in har and "--try_num" in evaluator_args("h_sa", RUN)
    ours = harcopa_args("har", RUN, Path("/ref"), Path("/w"))
    assert ours[ours.index("--ks") + 1] == "16" and "--kw" not in ours
    assert ours[ours.index("--mode") + 1] == "paper"
    wg = harcopa_args("wg", RUN, Path("/ref"), Path("/w"))
    assert wg[wg.index("--kw") + 1] == "3" and "--ks" not in wg


def test_decisions_read_from_both_result_formats(tmp_path: Path) -> None:
    ref = tmp_path / "ref.jsonl"
    rollout = {"cost": 2, "solution": [{"step": "a"}, {"step": "s"}], "submission": "p"}
    ref.write_text(json.dumps([rollout | {"success": True}]) + "\nnull\n")
    assert reference_decisions("har", ref) == [[Decision(2, 1, "p", None, True)], []]
    attempts = (
        d.Attempt(0, d.AttemptOutcome.REJECTED, detail=f"{UNRECORDED_BY_REFERENCE[0]} here"),
        d.Attempt(1, d.AttemptOutcome.SOLVED, draft="x", submission="p", charged=1),
    )
    ours = tmp_path / "ours.jsonl"
    result = d.ProblemResult("formal_math500/1", "wg", "paper", attempts)
    spec = d.RunSpec(pipeline=d.Pipeline.WG, benchmark="formal_math500")
    ours.write_text(json.dumps(sample_record(result.problem_id, result, spec, ())) + "\n")
    assert harcopa_decisions("wg", ours, 2) == [[], [Decision(1, None, "p", "x", True)]]


def test_the_workload_is_well_formed(tmp_path: Path) -> None:
    (tmp_path / "formal_math500.json").write_text(json.dumps(PROBLEMS))
    loaded = load_problems_file(tmp_path / "formal_math500.json")
    assert not loaded.rejections and len(loaded.problems) == len(PROBLEMS)
    chosen = workloads(slow_seconds=5)
    assert [w.pipeline for w in chosen] == ["ar", "har", "bfs", "h_bfs", "wg", "h_wg", "h_sa"]
    for workload in chosen:
        Scenario.model_validate(workload.scenario())
    covered = {item for w in chosen for item in w.exercises}
    assert covered == {str(i) for i in range(1, 10)}
    assert lean_scenario(5)["rules"][-1]["delay_seconds"] == 5
    assert "delay_seconds" not in lean_scenario(0)["rules"][-1]


def test_the_speed_workload_runs_both_systems_on_the_same_subset(tmp_path: Path) -> None:
    from benchmarks.reference_speed import parse_args, workload_files

    root = tmp_path / "bench"
    root.mkdir()
    (root / "formal_math500.json").write_text(json.dumps(PROBLEMS))
    args = parse_args(["--reference", str(tmp_path), "--benchmark-root", str(root)])
    args.problems = 3
    run = workload_files(args, tmp_path / "work")
    subset = json.loads(Path(run["benchmark_root"], "formal_math500.json").read_text())
    assert subset == PROBLEMS[:3] and run["problems"] == 3
    Scenario.model_validate(run["model_scenario"])
    assert run["model_scenario"]["latency"] == {
        "request_seconds": 0.1,
        "token_seconds": 0.02,
        "slots": 8,
    }
    faults = json.loads(Path(run["lean_scenario"]).read_text())["faults"]
    assert faults == {"latency": 0.05, "ready_delay_seconds": 3.0}
    run |= {"url": "http://127.0.0.1:1/v1", "log_root": "/l", "mode": "paper"}
    theirs = evaluator_args("har", run)
    assert theirs[theirs.index("--num_concurrency") + 1] == "12"  # the evaluator's default
    assert theirs[theirs.index("--solver_max_search_trials") + 1] == "8"
    ours = harcopa_args("har", run, Path("/ref"), Path("/w"))
    assert ours[ours.index("--pool-size") + 1] == "18" and "--concurrency" not in ours
    assert ours[ours.index("--ks") + 1] == "8"
