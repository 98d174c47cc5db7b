"""The reference's side of ``benchmarks/reference_compare.py``: its virtual environment, a working
copy of the user's checkout wired to lean-sim, one evaluator run, and the decisions it recorded.

Nothing of the reference is imported into our process or kept in the repository: its code runs
in a subprocess, in a virtual environment created outside the repository from PyPI with the
third-party modules its import lines name. Two of those are replaced by stand-ins written here:
``vllm`` (imported only for a CPU-affinity side effect) and ``transformers`` (only the critic
prover, which no pipeline here selects, uses it). lean-sim, the simulator of Pantograph's
protocol, stands in for the ``pantograph-repl`` binary the reference spawns from
``common/pantograph/``, and a ``lake`` shim on ``PATH`` answers its ``lake env printenv
LEAN_PATH`` call.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

#: Top-level modules of the reference itself, and the two replaced by stand-ins.
LOCAL_MODULES = frozenset({"agent", "common", "evaluator"})
STAND_INS = {
    "vllm": '"""Stand-in for vLLM: the reference imports it only for a side effect."""\n',
    "transformers": '"""Stand-in for transformers (used by the critic prover only)."""\n\n\n'
    "class AutoTokenizer:\n"
    '    """Never used by the pipelines compared."""\n',
}
SOURCE_FOLDERS = ("agent", "common", "evaluator")
#: Our pipeline name -> the reference's evaluator module.
EVALUATORS = {
    "ar": "ar",
    "har": "h_ar",
    "bfs": "bfs",
    "h_bfs": "h_bfs",
    "wg": "wg",
    "h_wg": "h_wg",
    "h_sa": "h_sa",
}


@dataclass(frozen=True)
class Decision:
    """One recorded attempt, as both systems can state it: charged budget units, accepted steps
    (step pipelines; BFS counts graph edges), the submitted proposition, the draft, success."""

    charged: int
    steps: int | None
    submission: str | None
    draft: str | None
    solved: bool


def reference_imports(checkout: Path) -> list[str]:
    """The third-party modules the reference's Python files import (stand-ins excluded)."""
    found: set[str] = set()
    for folder in SOURCE_FOLDERS:
        for path in sorted((checkout / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    stdlib = set(sys.stdlib_module_names)
    return sorted(found - stdlib - LOCAL_MODULES - set(STAND_INS))


def ensure_venv(where: Path, packages: list[str]) -> Path:
    """A virtual environment at ``where`` with ``packages`` from PyPI; its python."""
    python = where / "bin" / "python"
    marker = where / "harcopa-reference-packages.json"
    if python.exists() and marker.exists() and json.loads(marker.read_text()) == packages:
        return python
    if not python.exists():
        venv.create(where, with_pip=True)
    print(f"reference venv {where}: pip install {' '.join(packages)}", file=sys.stderr)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    marker.write_text(json.dumps(packages))
    return python


def prepare_copy(checkout: Path, work: Path) -> Path:
    """Copy the checkout into ``work`` (never writing into the user's) and wire it to lean-sim:
    the REPL binary, the stand-in modules and the ``lake`` shim."""
    copy = work / "reference"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns(".git"))
    _script(
        copy / "common" / "pantograph" / "pantograph-repl",
        f'exec {sys.executable} -m harcopa_lean_verifier.simulator "$@"',
    )
    _script(work / "bin" / "lake", f"echo {work / 'lean-path'}")
    for name, text in STAND_INS.items():
        package = work / "stand-ins" / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(text)
    return copy


def _script(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n# written by benchmarks/reference_side.py\n{line}\n")
    path.chmod(0o755)


def evaluator_args(pipeline: str, run: dict[str, Any]) -> list[str]:
    """The evaluator's command-line flags for ``pipeline`` with the budgets of ``run``."""
    model = ["--solver_base_url", run["url"], "--solver_api_key", "none"]
    model += ["--solver_model_name", run["model"]]
    prover = ["--prover_agent", "sft_vanilla", "--prover_base_url", run["url"]]
    prover += ["--prover_api_key", "none", "--prover_model_name", run["model"]]
    common = ["--benchmark_root", run["benchmark_root"], "--project_root", run["project_root"]]
    common += ["--temperature", str(run["temperature"])]
    common += ["--num_concurrency", str(run.get("concurrency", 1))]
    steps = ["--solver_agent", "sft_vanilla", "--solver_max_search_trials", str(run["ks"])]
    steps += ["--solver_num_samples_per_trial", str(run["solver_samples"])]
    step_prover = ["--prover_max_search_trials", str(run["prover_expansions"])]
    step_prover += ["--prover_num_samples_per_trial", str(run["prover_samples"])]
    draft_prover = ["--max_search_trials", str(run["prover_expansions"])]
    draft_prover += ["--num_samples_per_trial", str(run["prover_samples"])]
    tries = ["--try_num", str(run["kw"])]
    flags = {
        "ar": steps,
        "bfs": steps,
        "har": steps + prover + step_prover,
        "h_bfs": steps + prover + step_prover,
        "wg": tries,
        "h_wg": tries + prover + draft_prover,
        "h_sa": tries + prover + draft_prover,
    }[pipeline]
    return ["--log_root", run["log_root"], "--benchmark", "formal_math500", *model, *common, *flags]


def _launch(
    python: Path, copy: Path, work: Path, pipeline: str, run: dict[str, Any]
) -> tuple[list[str], dict[str, str], BinaryIO]:
    """The evaluator's command line, environment and (opened) output log."""
    env = dict(os.environ)
    env["PATH"] = f"{work / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{work / 'stand-ins'}{os.pathsep}{copy}"
    env["LEAN_SIM_SCENARIO"] = run["lean_scenario"]
    module = f"evaluator.{EVALUATORS[pipeline]}"
    log = Path(run["log_root"]) / "stdout.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return [str(python), "-m", module, *evaluator_args(pipeline, run)], env, open(log, "wb")


def written_results(folder: Path, what: str, pattern: str = "*.jsonl") -> Path:
    """The newest results file matching ``pattern`` in ``folder``; RuntimeError naming ``what``
    if none."""
    found = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not found:
        raise RuntimeError(f"{what} wrote no results in {folder}")
    return found[-1]


async def run_reference(
    python: Path, copy: Path, work: Path, pipeline: str, run: dict[str, Any]
) -> Path:
    """Run the reference's evaluator for ``pipeline`` within ``run["timeout"]`` seconds (the
    event loop keeps serving the scripted endpoint meanwhile); the JSONL file it wrote."""
    command, env, out = _launch(python, copy, work, pipeline, run)
    with out:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=copy,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,  # a pdb prompt reads end-of-file, never hangs
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(run["timeout"]):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    return written_results(Path(run["log_root"]), f"the reference's {pipeline}")


def reference_decisions(pipeline: str, results: Path) -> list[list[Decision]]:
    """Per problem, the attempts the reference recorded."""
    problems: list[list[Decision]] = []
    for line in results.read_text(encoding="utf-8").splitlines():
        attempts = json.loads(line) or []
        problems.append([_decision(pipeline, a) for a in attempts])
    return problems


def _decision(pipeline: str, a: dict[str, Any]) -> Decision:
    if pipeline in ("ar", "har"):
        accepted = len(a["solution"]) - (1 if a["submission"] is not None else 0)
        return Decision(a["cost"], accepted, a["submission"], None, bool(a["success"]))
    if pipeline in ("bfs", "h_bfs"):
        graph = a["search_graph"]
        nodes = {n["id"]: n for n in graph["nodes"]}
        edges = graph.get("links", graph.get("edges", []))
        finals = [nodes[key] for key in a["final_nodes"]]
        solved = any(n.get("rpe_proof") is not None for n in finals)
        submission = finals[0].get("submission") if finals else None
        return Decision(a["cost"], len(edges), submission, None, solved)
    meta = a.get("metainfo") or {}
    return Decision(1, None, meta.get("submission"), a["formal_solution_draft"], bool(a["success"]))
