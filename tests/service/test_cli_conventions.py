"""The command line's conventions through the real ``harcopa`` process: --version, help with
defaults, bad input refused before any service starts (exit 2, one line), --config files,
--limit, --json, plain progress lines off a terminal, the duration estimate, quiet SIGPIPE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.test_eval_local import MODEL_SCENARIO, PROBLEMS

REPO = Path(__file__).resolve().parents[2]


def _harcopa(
    *args: str, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harcopa_cli", *args],
        cwd=REPO,
        env={**os.environ, "HARCOPA_CACHE_DIR": "/nonexistent-harcopa-cache", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    problems = tmp_path / "problems.json"
    problems.write_text(json.dumps(PROBLEMS), encoding="utf-8")
    scenario = tmp_path / "model.json"
    scenario.write_text(json.dumps(MODEL_SCENARIO), encoding="utf-8")
    return problems, scenario


def test_version_and_help_with_defaults() -> None:
    version = _harcopa("--version")
    assert version.returncode == 0 and version.stdout.startswith("harcopa ")
    helptext = _harcopa("eval", "--help").stdout
    assert "Exit status: 0 every problem was checked" in helptext
    assert "Registered by" not in helptext  # no internal docstring
    assert "(default: runs)" in helptext  # --workdir
    assert "--config FILE" in helptext and "--preset {paper,smoke}" in helptext


def _bad_input(workdir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = _harcopa("eval", "--workdir", str(workdir), *args, timeout=30, env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harcopa: error: "), done.stderr
    assert not (workdir / "logs").exists()  # refused before any service started
    return lines[0]


def test_bad_inputs_fail_before_any_service_starts(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    problems, _ = inputs
    workdir = tmp_path / "runs"
    base = ["--pipeline", "har", "--benchmark", str(problems)]
    assert "not a Hugging Face hub id" in _bad_input(
        workdir, *base, "--model", "/path/to/HAR_CoPA_Cycle2"
    )
    assert "no problems with indices [9999]" in _bad_input(workdir, *base, "--problems", "9999")
    assert "spec.params.ks" in _bad_input(workdir, *base, "--ks", "0")
    assert "no run store" in _bad_input(workdir, "--resume", "0123456789abcdef")
    assert "has no minif2f_solving.json" in _bad_input(
        workdir, "--pipeline", "ar", "--benchmark", "minif2f_solving", "--benchmark-root",
        str(tmp_path),
    )  # fmt: skip
    config = tmp_path / "bad.toml"
    config.write_text('pipline = "har"\n', encoding="utf-8")
    assert "'pipline' is not an option" in _bad_input(workdir, "--config", str(config))
    config.write_text('ks = "many"\n', encoding="utf-8")
    assert "ks: 'many' is not valid" in _bad_input(workdir, "--config", str(config))
    config.write_text("mode = 'lenient'\n", encoding="utf-8")
    assert "not one of strict, paper" in _bad_input(workdir, "--config", str(config))
    # The local verifier would inherit it: checked here, even with --concurrency given.
    sessions = {"HARCOPA_VERIFIER_SESSIONS_PER_PROCESS": "0"}
    assert "HARCOPA_VERIFIER_SESSIONS_PER_PROCESS='0'" in _bad_input(
        workdir, *base, "--concurrency", "1", env=sessions
    )


def test_eval_from_a_config_file_with_limit_json_progress_and_estimate(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    problems, scenario = inputs
    config = tmp_path / "eval.toml"
    config.write_text(
        "\n".join(
            [
                'pipeline = "har"',
                f'benchmark = "{problems}"',
                'model-backend = "sim"',
                f'model_scenario = "{scenario}"',
                "ks = 6",
                "limit = 1",
                "pool-size = 2",
                "json = true",
                f'workdir = "{tmp_path / "runs"}"',
            ]
        ),
        encoding="utf-8",
    )
    done = _harcopa("eval", "--config", str(config), "--ks", "5")  # the flag wins
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)
    assert (document["problems"], document["solved"], document["status"]) == (1, 1, "succeeded")
    assert document["budget"] == 2.0  # two steps: the draft and the submission
    assert "estimate: at most" in done.stderr and "tokens/s" in done.stderr
    progress = [line for line in done.stderr.splitlines() if " done, " in line]
    assert progress and progress[-1].startswith(f"run {document['run_id']}: 1/1 done, 1 solved")
    assert "\r" not in done.stderr  # plain lines off a terminal
    run = json.loads(
        subprocess.run(
            [sys.executable, "-m", "harcopa_cli", "run", "export", document["run_id"],
             "--store", str(tmp_path / "runs" / "harcopa.sqlite"), "--out",
             str(tmp_path / "out.jsonl"), "--json"],
            capture_output=True, text=True, check=True, cwd=REPO,
        ).stdout
    )  # fmt: skip
    assert run["problems"] == 1


def test_run_export_of_an_unknown_run_is_bad_input(tmp_path: Path) -> None:
    store = tmp_path / "harcopa.sqlite"
    import asyncio

    from harcopa_orchestrator.store import RunStore

    async def create() -> None:
        RunStore(store).close()

    asyncio.run(create())
    done = _harcopa("run", "export", "nope", "--store", str(store), "--out", str(tmp_path / "x"))
    assert done.returncode == 2
    assert "no run 'nope'" in done.stderr
    assert not (tmp_path / "x").exists()


def test_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    from harcopa.benchmarks import BENCHMARKS
    from tests.unit.test_cli_benchmarks import RECORD

    for name in BENCHMARKS:
        (tmp_path / f"{name}.json").write_text(json.dumps([RECORD] * 50), encoding="utf-8")
    command = ["benchmarks", "list", "--json", "--root", str(tmp_path)]
    child = subprocess.Popen(
        [sys.executable, "-m", "harcopa_cli", *command],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader goes away before the listing is written
    errors = child.stderr.read()
    assert child.wait(timeout=60) == 141
    assert "Traceback" not in errors and "BrokenPipeError" not in errors
