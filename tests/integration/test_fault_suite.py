"""The fault suite: a HAR run under injected faults must decide exactly what the fault-free run
with the same seed decides, or end incomplete and resume to it.

Real processes throughout (tests/integration/fault_stack.py): lean-sim faults, kill -9 and
restart of each service, an orchestrator killed mid-run, persistent faults, the (pool,
concurrency) admission table, and no orphan process when the launching `harcopa eval` dies.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import pytest_asyncio

from benchmarks.fault_stack import SUMS, Stack, model_scenario, problems
from harcopa import domain as d
from tests.conftest import REPO_ROOT
from tests.processes import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _run_to_end(stack: Stack, spec: d.RunSpec | None = None) -> tuple[str, d.Run]:
    async with stack.client() as client:
        run_id = await client.start_run(spec or stack.spec())
        return run_id, await _follow(client, run_id)


async def _follow(client: Any, run_id: str) -> d.Run:
    async for event in client.watch(run_id):
        if event.status.finished:
            break
    return await client.get_run(run_id)


async def _when_done(stack: Stack, run_id: str, count: int) -> None:
    """Return once ``count`` problems of the run have a final result."""
    async with stack.client() as client:
        async for event in client.watch(run_id):
            if event.progress.problems_done >= count or event.status.finished:
                return


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fault_free(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    stack = Stack(tmp_path_factory.mktemp("fault-free"))
    await stack.start()
    try:
        run_id, run = await _run_to_end(stack)
        assert run.status is d.RunStatus.SUCCEEDED
        outcomes = await stack.outcomes(run_id)
    finally:
        await stack.stop()
    statuses = [decided[0] for decided in outcomes.values()]
    assert len(outcomes) == len(SUMS)
    assert "solved" in statuses and "unsolved" in statuses  # the seed decides both ways
    yield outcomes


@pytest.mark.parametrize("service", ["verifier", "model"])
async def test_service_killed_and_restarted_mid_run(
    service: str, fault_free: dict, tmp_path: Path
) -> None:
    """The verifier (with every session on it) or the model server is gone for a while."""
    stack = Stack(tmp_path)
    await stack.start()
    try:
        async with stack.client() as client:
            run_id = await client.start_run(stack.spec())
            await _when_done(stack, run_id, 1)
            stack.kill(service)
            await asyncio.sleep(2.0)
            await stack.start(service)
            run = await _follow(client, run_id)
        assert run.status is d.RunStatus.SUCCEEDED
        assert await stack.outcomes(run_id) == fault_free
    finally:
        await stack.stop()


async def test_orchestrator_killed_and_restarted_resumes(fault_free: dict, tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    await stack.start()
    try:
        async with stack.client() as client:
            run_id = await client.start_run(stack.spec())
            await _when_done(stack, run_id, 2)
        stack.kill("orchestrator")  # its sessions' lease lapses; the next one never waits on it
        await stack.start("orchestrator")  # resumes the run it finds running
        async with stack.client() as client:
            run = await _follow(client, run_id)
        assert run.status is d.RunStatus.SUCCEEDED
        assert await stack.outcomes(run_id) == fault_free
    finally:
        await stack.stop()


async def test_transient_lean_crashes_are_recovered(fault_free: dict, tmp_path: Path) -> None:
    faults = {
        "crash_after_requests": 7,  # every REPL dies after 7 requests ...
        "fault_limit": 12,  # ... twelve times over the run, then they behave
        "fault_count_file": str(tmp_path / "crashes"),
    }
    stack = Stack(tmp_path, lean_faults=faults)
    await stack.start()
    try:
        run_id, run = await _run_to_end(stack)
        assert run.status is d.RunStatus.SUCCEEDED
        assert (tmp_path / "crashes").stat().st_size >= 12  # the faults really fired
        assert await stack.outcomes(run_id) == fault_free
    finally:
        await stack.stop()


async def test_persistent_faults_end_incomplete_and_resume(
    fault_free: dict, tmp_path: Path
) -> None:
    # `simp` kills Lean every time: an attempt that samples it loses its session twice.
    stack = Stack(tmp_path, lean_faults={"crash_on_tactic": "^simp$"})
    stack.orchestrator_env["PROBLEM_RETRIES"] = "1"
    await stack.start()
    try:
        run_id, run = await _run_to_end(stack)
        assert run.status is d.RunStatus.INCOMPLETE  # never "succeeded" with unchecked problems
        assert run.errored_problems and run.progress.problems_errored == len(run.errored_problems)
        assert run.progress.problems_retried >= len(run.errored_problems)  # each retried first
        for problem_id in run.errored_problems:  # errored, not counted as unsolved
            assert fault_free[problem_id] != (await stack.outcomes(run_id))[problem_id]
        stack.kill("verifier")
        stack.write_lean_faults({})  # the fault is fixed
        await stack.start("verifier")
        async with stack.client() as client:
            await client.resume_run(run_id)
            resumed = await _follow(client, run_id)
        assert resumed.status is d.RunStatus.SUCCEEDED and resumed.errored_problems == ()
        assert await stack.outcomes(run_id) == fault_free
    finally:
        await stack.stop()


@pytest.mark.parametrize(("pool", "concurrency"), [(2, 1), (2, 6), (3, 6), (6, 6)])
async def test_admission_table_never_deadlocks(
    fault_free: dict, tmp_path: Path, pool: int, concurrency: int
) -> None:
    stack = Stack(tmp_path, pool_size=pool, model_latency_seconds=0.02)
    await stack.start()
    try:
        run_id, run = await _run_to_end(stack, stack.spec(concurrency=concurrency))
        assert run.status is d.RunStatus.SUCCEEDED
        assert await stack.outcomes(run_id) == fault_free
    finally:
        await stack.stop()


def _eval_command(workdir: Path, scenario: Path, problems_file: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harcopa_cli",
        "eval",
        "--pipeline",
        "har",
        "--benchmark",
        str(problems_file),
        "--model-backend",
        "sim",
        "--model-scenario",
        str(scenario),
        "--workdir",
        str(workdir),
        "--ks",
        "3",
        "--prover-expansions",
        "2",
        "--prover-samples",
        "2",
        "--seed",
        "7",
        *extra,
    ]


def _eval_files(tmp_path: Path, latency: float) -> tuple[Path, Path]:
    scenario, problems_file = tmp_path / "model.json", tmp_path / "problems.json"
    scenario.write_text(json.dumps(model_scenario(latency)), encoding="utf-8")
    problems_file.write_text(json.dumps(problems()), encoding="utf-8")
    return scenario, problems_file


async def test_eval_defaults_on_this_machine_give_the_fault_free_results(
    fault_free: dict, tmp_path: Path
) -> None:
    """`harcopa eval` with its own pool and concurrency defaults (cores + 2 REPLs)."""
    scenario, problems_file = _eval_files(tmp_path, 0.02)
    lean = tmp_path / "lean.json"
    from benchmarks.fault_stack import lean_scenario

    lean.write_text(json.dumps(lean_scenario()), encoding="utf-8")
    command = _eval_command(
        tmp_path / "runs", scenario, problems_file, "--lean-scenario", str(lean)
    )
    done = await asyncio.to_thread(
        subprocess.run, command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stack = Stack(tmp_path / "read")
    stack.root = tmp_path / "runs"  # read the eval's store
    (run_folder,) = (p.parent for p in (tmp_path / "runs").glob("*/results.json"))
    assert await stack.outcomes(run_folder.name) == {
        pid.replace("problems/", f"{problems_file.stem}/"): v for pid, v in fault_free.items()
    }


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
async def test_no_orphan_when_eval_is_killed(tmp_path: Path, how: signal.Signals) -> None:
    scenario, problems_file = _eval_files(tmp_path, 0.5)  # slow: still running when killed
    command = _eval_command(tmp_path / "runs", scenario, problems_file)
    eval_proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    parent = psutil.Process(eval_proc.pid)
    assert eval_proc.stderr is not None
    lines: list[str] = []
    while not any(line.startswith("harcopa eval: run ") for line in lines):
        line = await asyncio.wait_for(eval_proc.stderr.readline(), 120)
        assert line, "".join(lines)
        lines.append(line.decode())
    await asyncio.sleep(1.0)  # the run is under way: sessions open, REPLs busy
    seen = {p.pid for p in parent.children(recursive=True)}
    assert len(seen) >= 5  # three services and at least two REPLs
    eval_proc.send_signal(how)
    _, rest = await asyncio.wait_for(eval_proc.communicate(), 60)
    stderr = "".join(lines) + rest.decode()

    def all_gone() -> bool:
        return not any(psutil.pid_exists(pid) and _alive(pid) for pid in seen)

    await wait_until(all_gone, 30)
    assert all_gone(), [p for p in seen if psutil.pid_exists(p) and _alive(p)]
    if how is not signal.SIGKILL:
        text = stderr
        assert eval_proc.returncode == 130
        assert "Traceback" not in text
        (line,) = [x for x in text.splitlines() if "interrupted" in x]
        assert "resume with: harcopa eval --resume" in line
    store = Stack(tmp_path / "read")
    store.root = tmp_path / "runs"
    from harcopa_orchestrator.store import RunStore

    runs = RunStore(tmp_path / "runs" / "harcopa.sqlite")
    try:
        (run,) = await runs.list_runs()
    finally:
        runs.close()
    assert run.status is d.RunStatus.INTERRUPTED  # the store says so, whatever killed eval


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
