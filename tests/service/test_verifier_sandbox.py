"""The REPL sandbox, shown on real lean-sim processes started by the real launcher and client.

lean-sim's ``sim.io`` command performs for real what a hostile ``#eval`` would try (connect,
write, burn CPU), so each test shows what the process may do: no network where the OS gives it
its own namespace, no file past RLIMIT_FSIZE, death by SIGXCPU past RLIMIT_CPU, the limits in
/proc/<pid>/limits, and a private TMPDIR that goes with the process. The last test starts the
verifier service from its settings and reads the limits of the processes its pool spawned.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from harcopa.domain import Framework
from harcopa.errors import BackendCrashed
from harcopa_lean_verifier.backends.launcher import (
    PRIVATE_DIR_PREFIX,
    check_network_isolation,
    network_isolation_available,
)
from harcopa_lean_verifier.backends.pantograph import Repl, ReplConfig
from harcopa_lean_verifier.backends.simulated import SimulatedConfig, simulator_executable
from tests.processes import wait_until
from tests.service.verifier_harness import SIMPLE, problem, serving, sim_settings

MiB = 1 << 20


def _config(tmp_path: Path, **overrides: Any) -> ReplConfig:
    values: dict[str, Any] = {
        "executable": simulator_executable(SimulatedConfig()),
        "ready_timeout_seconds": 30,
        "temp_root": tmp_path,
    }
    values.update(overrides)
    return ReplConfig(**values)


@pytest.fixture
async def repls() -> AsyncIterator[list[Repl]]:
    """Started REPLs, closed at the end of the test."""
    started: list[Repl] = []
    yield started
    for repl in started:
        await repl.close()


async def _start(repls: list[Repl], config: ReplConfig) -> Repl:
    repl = Repl(config)
    repls.append(repl)
    await repl.start()
    return repl


async def _io(repl: Repl, **payload: object) -> dict[str, Any]:
    return await repl.request("sim.io", dict(payload), timeout_seconds=20)


def _limits(pid: int) -> dict[str, tuple[str, str]]:
    """``/proc/<pid>/limits`` as {name: (soft, hard)}."""
    rows = Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]
    table = {}
    for row in rows:
        name, soft, hard = row[:26].strip(), row[26:47].strip(), row[47:68].strip()
        table[name] = (soft, hard)
    return table


async def test_limits_are_set_on_the_process(tmp_path: Path, repls: list[Repl]) -> None:
    repl = await _start(
        repls,
        _config(
            tmp_path,
            max_memory_bytes=6 << 30,
            max_cpu_seconds=900,
            max_file_bytes=3 * MiB,
            max_open_files=200,
        ),
    )
    limits = _limits(repl.pid)
    assert limits["Max address space"] == (str(6 << 30), str(6 << 30))
    assert limits["Max cpu time"] == ("900", "901")  # SIGXCPU first, SIGKILL a second later
    assert limits["Max file size"] == (str(3 * MiB), str(3 * MiB))
    assert limits["Max open files"] == ("200", "200")
    assert limits["Max core file size"] == ("0", "0")


async def test_a_write_past_the_file_size_limit_fails(tmp_path: Path, repls: list[Repl]) -> None:
    repl = await _start(repls, _config(tmp_path, max_file_bytes=1 * MiB))
    where = Path((await _io(repl))["tmpdir"])
    small = await _io(repl, write=str(where / "small"), bytes=MiB // 2)
    assert small["written"] == MiB // 2 and "write_error" not in small
    big = await _io(repl, write=str(where / "big"), bytes=2 * MiB)
    assert big["write_error"] == "EFBIG" and big["written"] == MiB
    assert repl.alive and (await repl.stat(timeout_seconds=10)) is not None  # still serving


async def test_past_its_cpu_seconds_the_process_dies(tmp_path: Path, repls: list[Repl]) -> None:
    repl = await _start(repls, _config(tmp_path, max_cpu_seconds=2))
    with pytest.raises(BackendCrashed):
        await _io(repl, spin=30)
    assert not repl.alive and repl.last_failure == "cpu_limit"


async def test_each_process_has_a_private_temporary_directory(
    tmp_path: Path, repls: list[Repl]
) -> None:
    first = await _start(repls, _config(tmp_path))
    second = await _start(repls, _config(tmp_path))
    seen = [await _io(repl) for repl in (first, second)]
    dirs = [Path(s["tmpdir"]) for s in seen]
    assert dirs[0] != dirs[1]
    for directory, reply in zip(dirs, seen, strict=True):
        assert directory.parent == tmp_path and directory.name.startswith(PRIVATE_DIR_PREFIX)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert reply["cwd"] == str(directory)  # no Mathlib project: the cwd is private too
    (dirs[0] / "left-behind").write_text("x")
    await first.close()
    await wait_until(lambda: not dirs[0].exists(), 5)
    assert not dirs[0].exists() and dirs[1].exists()


async def test_with_a_project_the_cwd_stays_the_project(tmp_path: Path, repls: list[Repl]) -> None:
    project = tmp_path / "mathlib"
    project.mkdir()
    repl = await _start(repls, _config(tmp_path, project_root=project, lean_path="/lib"))
    seen = await _io(repl)
    assert seen["cwd"] == str(project) and Path(seen["tmpdir"]).parent == tmp_path


@pytest.fixture
def listener() -> AsyncIterator[str]:
    """A TCP listener on 127.0.0.1 in the test's own network namespace."""
    server = socket.create_server(("127.0.0.1", 0))
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()


async def test_no_network_in_the_process_namespace(
    tmp_path: Path, repls: list[Repl], listener: str
) -> None:
    if not await asyncio.to_thread(network_isolation_available):
        pytest.skip("this OS does not give processes their own network namespace here")
    open_repl = await _start(repls, _config(tmp_path, network_isolation="off"))
    assert (await _io(open_repl, connect=listener))["connected"]  # the control
    closed = await _start(repls, _config(tmp_path, network_isolation="require"))
    reply = await _io(closed, connect=listener)
    assert not reply["connected"] and reply["connect_error"] in ("ENETUNREACH", "ECONNREFUSED")
    own, theirs = os.readlink("/proc/self/ns/net"), os.readlink(f"/proc/{closed.pid}/ns/net")
    assert own != theirs
    interfaces = _interfaces(closed.pid)
    assert interfaces == ["lo"]
    check_network_isolation("require")  # available, so it does not refuse


async def test_service_settings_reach_the_pool_processes(tmp_path: Path) -> None:
    settings = sim_settings(
        max_cpu_seconds=1234,
        max_file_bytes=5 * MiB,
        max_open_files=300,
        temp_root=tmp_path,
    )
    async with serving(settings) as client:
        session = await client.open_session(problem(SIMPLE), [Framework.SOLVING])
        sims = [p for p in psutil.Process().children(recursive=True) if _is_sim(p)]
        assert sims
        for process in sims:
            limits = _limits(process.pid)
            assert limits["Max cpu time"][0] == "1234"
            assert limits["Max file size"][0] == str(5 * MiB)
            assert limits["Max open files"][0] == "300"
            assert process.environ()["TMPDIR"].startswith(str(tmp_path / PRIVATE_DIR_PREFIX))
        await client.close_session(session.session_id)
    await wait_until(lambda: not _private_dirs(tmp_path), 10)
    assert not _private_dirs(tmp_path)  # every process took its own directory with it


def _private_dirs(root: Path) -> list[Path]:
    return list(root.glob(PRIVATE_DIR_PREFIX + "*"))


def _interfaces(pid: int) -> list[str]:
    """The network interfaces of ``pid``'s namespace (``/proc/<pid>/net/dev``)."""
    rows = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    return [row.split(":")[0].strip() for row in rows]


def _is_sim(process: psutil.Process) -> bool:
    try:
        return any("lean-sim" in part or "simulator" in part for part in process.cmdline())
    except psutil.Error:
        return False
