"""Tests of the Pantograph REPL client against a small stub REPL script (a real subprocess).

The stub speaks Pantograph's framing (``ready.``, one request line -> one JSON line) and reports
what it saw (argv, cwd, environment, limits, the raw request bytes), so these tests pin the
launch and wire details that lean-sim does not expose. Over 400 lines: one stub harness for the
launcher and the I/O session together, as a real process sees both.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from harcopa.domain import Variable
from harcopa.errors import BackendCrashed, BackendUnavailable, DeadlineExceeded, InvalidRequest
from harcopa_lean_verifier.backends.pantograph import (
    PantographError,
    Repl,
    ReplConfig,
    encode_request,
    goals_from_json,
)
from tests.processes import gone, wait_until

STUB = r"""
import json, os, resource, subprocess, sys, time

def pdeathsig():
    import ctypes
    signal = ctypes.c_int(0)
    ctypes.CDLL(None).prctl(2, ctypes.byref(signal))  # PR_GET_PDEATHSIG
    return signal.value


mode = os.environ.get("STUB_MODE", "")
if mode == "noready":
    sys.stderr.write("uncaught exception: unknown module prefix 'Mathlib'\n")
    sys.exit(2)
if mode == "slow":
    time.sleep(30)
if mode == "chatty":
    print("warming up")
print("ready.")
children = []
for raw in iter(sys.stdin.buffer.readline, b""):
    if not raw.strip():
        break
    command, _, body = raw.decode("utf-8").partition(" ")
    payload = json.loads(body)
    if command == "probe":
        reply = {
            "argv": sys.argv[1:], "cwd": os.getcwd(), "lean_path": os.environ.get("LEAN_PATH"),
            "extra": os.environ.get("STUB_EXTRA"), "tty_out": os.isatty(1),
            "tty_in": os.isatty(0), "stack": resource.getrlimit(resource.RLIMIT_STACK)[0],
            "as": resource.getrlimit(resource.RLIMIT_AS)[0], "leader": os.getpgid(0) == os.getpid(),
            "cpus": sorted(os.sched_getaffinity(0)), "raw": raw.decode("utf-8"),
            "pdeathsig": pdeathsig(),
        }
    elif command == "sleep":
        time.sleep(payload["seconds"])
        reply = {}
    elif command == "big":
        reply = {"data": "x" * payload["n"]}
    elif command == "exit":
        sys.stderr.write("stub: exiting on request\n")
        sys.stderr.flush()
        os._exit(3)
    elif command == "garbage":
        print("PANIC at stub: not JSON")
        continue
    elif command == "io":
        print(json.dumps({"error": "io", "desc": "fatal"}))
        sys.stdout.flush()
        os._exit(0)
    elif command == "child":
        children.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"]))
        reply = {"pid": children[-1].pid}
    elif command == "noise":
        sys.stderr.write("PANIC at stub\n")
        sys.stderr.flush()
        reply = {}
    elif command == "blank":
        print("")
        reply = {"after": "blank"}
    elif command == "alloc":
        hoard = bytearray(payload["bytes"])
        reply = {"n": len(hoard)}
    elif command == "goal.delete" and 999 in payload["stateIds"]:
        reply = {"error": "index", "desc": "Invalid state index 999"}
    elif command == "frontend.process":
        reply = {"units": [{"payload": payload}]}
    else:
        reply = {"command": command, "payload": payload}
    sys.stdout.write(json.dumps(reply, ensure_ascii=False) + ("\r\n" if mode == "crlf" else "\n"))
"""


@pytest.fixture
def stub(tmp_path: Path) -> Path:
    path = tmp_path / "stub-repl"
    path.write_text(f"#!{sys.executable}\n{STUB}")
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
async def no_leftover_processes() -> AsyncIterator[None]:
    """Fail a test that leaves a child process behind (and stop those children)."""
    yield
    await wait_until(lambda: not psutil.Process().children(recursive=True), 3)
    leftovers = psutil.Process().children(recursive=True)
    for process in leftovers:
        process.kill()
    assert leftovers == []


async def started(stub: Path, **overrides: object) -> Repl:
    config = ReplConfig(**{"executable": stub, "ready_timeout_seconds": 10, **overrides})
    repl = Repl(config)
    await repl.start()
    return repl


async def test_launch_argv_environment_limits_and_framing(stub: Path, tmp_path: Path) -> None:
    repl = await started(
        stub,
        imports=("Mathlib", "Aesop"),
        options=("maxHeartbeats=0", "pp.fullNames=true"),
        project_root=tmp_path,
        lean_path="/lib/a:/lib/b",
        env={"STUB_EXTRA": "yes"},
        max_memory_bytes=3 << 30,
        cpu_affinity=(0,),
    )
    seen = await repl.request("probe", {"k": "ℕ ⊢ \n x"}, timeout_seconds=5)
    assert seen["argv"] == ["Mathlib", "Aesop", "--maxHeartbeats=0", "--pp.fullNames=true"]
    assert seen["cwd"] == str(tmp_path) and seen["lean_path"] == "/lib/a:/lib/b"
    assert seen["extra"] == "yes" and seen["tty_out"] and not seen["tty_in"]
    assert seen["stack"] == resource.getrlimit(resource.RLIMIT_STACK)[1]
    assert seen["as"] == 3 << 30 and seen["leader"] and seen["cpus"] == [0]
    assert seen["pdeathsig"] == signal.SIGKILL  # the REPL dies with the verifier
    # compact JSON, raw UTF-8, escaped newline: exactly one line
    assert seen["raw"] == 'probe {"k":"ℕ ⊢ \\n x"}\n'
    assert repl.uses == 1 and repl.alive
    await repl.close()
    assert not repl.alive


async def test_lean_path_discovered_once_per_project(
    stub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, project, calls = tmp_path / "bin", tmp_path / "project", tmp_path / "calls"
    bin_dir.mkdir()
    project.mkdir()
    lake = bin_dir / "lake"
    lake.write_text(f"#!/bin/sh\necho run >> {calls}\nprintf '././.lake/build/lib:/x\\n'\n")
    lake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    first = await started(stub, project_root=project)
    second = await started(stub, project_root=project)
    for repl in (first, second):
        seen = await repl.request("probe", {}, timeout_seconds=5)
        assert seen["lean_path"] == "././.lake/build/lib:/x"  # no trailing newline
        await repl.close()
    assert calls.read_text().count("run") == 1


def test_encode_request_never_sends_a_blank_or_split_line() -> None:
    assert encode_request("stat", {}) == b"stat {}\n"
    for bad in ("", " ", "goal.tactic\n", "a b"):
        with pytest.raises(InvalidRequest):
            encode_request(bad, {})
    with pytest.raises(InvalidRequest):
        encode_request("stat", [])  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        encode_request("expr.echo", {"expr": "\ud800"})
    assert encode_request("x", {"s": "a\nb\u2028"}).count(b"\n") == 1


async def test_large_lines_both_ways(stub: Path) -> None:
    repl = await started(stub)
    reply = await repl.request("big", {"n": 3_000_000}, timeout_seconds=10)
    assert len(reply["data"]) == 3_000_000
    text = "y" * 200_000  # far beyond a tty's 4095-byte canonical line
    reply = await repl.request("echo", {"text": text}, timeout_seconds=10)
    assert reply["payload"]["text"] == text
    await repl.close()


async def test_typed_wrappers_send_every_required_field(stub: Path) -> None:
    repl = await started(stub)
    units = await repl.frontend_process("example : True := sorry", sorrys=True, timeout_seconds=5)
    assert units[0]["payload"] == {
        "file": "example : True := sorry",
        "invocations": False,
        "sorrys": True,
        "newConstants": False,
        "typeErrorsAsGoals": False,
    }
    printed = await repl.goal_print(3, goals=True, extra_mvars=["_uniq.1"], timeout_seconds=5)
    assert printed["payload"] == {
        "stateId": 3,
        "rootExpr": False,
        "parentExpr": False,
        "goals": True,
        "extraMVars": ["_uniq.1"],
    }
    tactic = await repl.goal_tactic(1, 0, tactic="simp", timeout_seconds=5)
    assert tactic["payload"] == {"stateId": 1, "goalId": 0, "tactic": "simp"}
    draft = await repl.goal_tactic(1, 2, draft="by\n  sorry", timeout_seconds=5)
    assert draft["payload"] == {"stateId": 1, "goalId": 2, "draft": "by\n  sorry"}
    with pytest.raises(InvalidRequest):
        await repl.goal_tactic(1, 0, tactic="a", draft="b", timeout_seconds=5)
    assert (await repl.stat(timeout_seconds=5))["command"] == "stat"
    assert (await repl.expr_echo("1 + 1", timeout_seconds=5))["payload"] == {"expr": "1 + 1"}
    await repl.goal_delete([1, 2], timeout_seconds=5)
    await repl.reset(timeout_seconds=5)
    await repl.close()


async def test_error_replies(stub: Path) -> None:
    repl = await started(stub)
    raw = await repl.request("goal.delete", {"stateIds": [999]}, timeout_seconds=5)
    assert raw == {"error": "index", "desc": "Invalid state index 999"}
    with pytest.raises(PantographError) as caught:
        await repl.goal_delete([999], timeout_seconds=5)
    assert caught.value.kind == "index" and "999" in caught.value.desc
    assert repl.alive  # a command error is not a crash
    await repl.close()


async def test_timeout_kills_the_whole_process_group(stub: Path) -> None:
    repl = await started(stub)
    grandchild = (await repl.request("child", {}, timeout_seconds=5))["pid"]
    assert psutil.pid_exists(grandchild)
    began = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        await repl.request("sleep", {"seconds": 30}, timeout_seconds=0.3)
    assert time.monotonic() - began < 5
    assert not repl.alive and repl.last_failure == "timeout"
    await wait_until(lambda: gone(grandchild), 3)  # its fds close just before it exits
    assert gone(grandchild)
    with pytest.raises(BackendCrashed):
        await repl.stat(timeout_seconds=5)
    await repl.close()


async def test_hard_ceiling_caps_every_timeout(stub: Path) -> None:
    repl = await started(stub, hard_ceiling_seconds=0.3)
    with pytest.raises(DeadlineExceeded):
        await repl.request("sleep", {"seconds": 30}, timeout_seconds=60)
    await repl.close()


async def test_exit_during_call_is_a_crash_with_stderr(stub: Path) -> None:
    repl = await started(stub)
    with pytest.raises(BackendCrashed) as caught:
        await repl.request("exit", {}, timeout_seconds=5)
    assert "exit code 3" in str(caught.value) and "exiting on request" in str(caught.value)
    assert not repl.alive and repl.last_failure == "crash"
    await repl.close()


async def test_garbage_line_is_a_crash(stub: Path) -> None:
    repl = await started(stub)
    with pytest.raises(BackendCrashed, match="garbage"):
        await repl.request("garbage", {}, timeout_seconds=5)
    assert not repl.alive
    await repl.close()


async def test_address_space_limit_is_reported_as_oom(stub: Path) -> None:
    repl = await started(stub, max_memory_bytes=400 << 20)
    with pytest.raises(BackendCrashed, match="MemoryError"):
        await repl.request("alloc", {"bytes": 1 << 30}, timeout_seconds=10)
    assert repl.last_failure == "oom"
    await repl.close()


async def test_cancellation_kills_the_process(stub: Path) -> None:
    repl = await started(stub)
    call = asyncio.create_task(repl.request("sleep", {"seconds": 30}, timeout_seconds=60))
    await asyncio.sleep(0.2)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert not repl.alive and repl.last_failure == "cancelled"
    await repl.close()


async def test_requests_are_serialized(stub: Path) -> None:
    repl = await started(stub)
    began = time.monotonic()
    await asyncio.gather(
        *(repl.request("sleep", {"seconds": 0.2}, timeout_seconds=5) for _ in range(3))
    )
    assert time.monotonic() - began >= 0.55 and repl.uses == 3
    # a caller whose limit passes while it waits for the lock kills nothing
    slow = asyncio.create_task(repl.request("sleep", {"seconds": 0.5}, timeout_seconds=5))
    await asyncio.sleep(0.05)
    with pytest.raises(DeadlineExceeded, match="busy"):
        await repl.request("stat", {}, timeout_seconds=0.1)
    await slow
    assert repl.alive
    await repl.close()


async def test_io_error_followed_by_exit_marks_the_process_dead(stub: Path) -> None:
    repl = await started(stub)
    assert await repl.request("io", {}, timeout_seconds=5) == {"error": "io", "desc": "fatal"}
    assert not repl.alive
    await repl.close()


async def test_blank_lines_crlf_and_stderr_noise(stub: Path) -> None:
    repl = await started(stub, env={"STUB_MODE": "crlf"})
    assert await repl.request("blank", {}, timeout_seconds=5) == {"after": "blank"}
    assert await repl.request("x", {"a": 1}, timeout_seconds=5) == {
        "command": "x",
        "payload": {"a": 1},
    }
    assert not repl.stderr_noise
    await repl.request("noise", {}, timeout_seconds=5)
    await asyncio.sleep(0.1)
    assert repl.stderr_noise and "PANIC at stub" in repl.stderr_tail()
    await repl.close()


async def test_start_failures(stub: Path, tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="unknown module prefix"):
        await started(stub, env={"STUB_MODE": "noready"})
    began = time.monotonic()
    with pytest.raises(BackendUnavailable, match="ready"):
        await started(stub, env={"STUB_MODE": "slow"}, ready_timeout_seconds=0.5)
    assert time.monotonic() - began < 5
    with pytest.raises(BackendUnavailable, match="cannot start"):
        await started(tmp_path / "missing")
    repl = await started(stub, env={"STUB_MODE": "chatty"})
    assert repl.alive
    await repl.close()


def test_goals_from_json_maps_names_and_sibling_dependencies() -> None:
    goals = goals_from_json(
        [
            {
                "name": "_uniq.7",
                "userName": "h",
                "isConversion": False,
                "target": {"pp": "?w = 2", "dependentMVars": ["_uniq.8", "_uniq.99"]},
                "vars": [
                    {"name": "_uniq.1", "userName": "x", "type": {"pp": "ℕ"}},
                    {"name": "_uniq.2", "userName": "y", "type": {"pp": "ℕ"}, "value": {"pp": "1"}},
                ],
            },
            {"name": "_uniq.8", "userName": "w", "target": {"pp": "ℕ", "dependentMVars": []}},
            {"name": "_uniq.9", "isConversion": True, "target": {"pp": "a", "dependentMVars": []}},
        ]
    )
    assert goals[0].name == "h" and goals[0].sibling_dep == (1,) and goals[0].mvar_id == "_uniq.7"
    assert goals[0].variables == (Variable("x", "ℕ"), Variable("y", "ℕ", "1"))
    assert goals[1].sibling_dep == () and goals[1].target == "ℕ"
    assert goals[2].name is None and goals[2].is_conversion


async def test_request_payload_round_trip_is_json(stub: Path) -> None:
    repl = await started(stub)
    payload = {"nested": {"list": [1, 2.5, None, True]}, "text": "∀ x, x = x"}
    assert (await repl.request("echo", payload, timeout_seconds=5))["payload"] == json.loads(
        json.dumps(payload)
    )
    await repl.close()


def move_into(path: Path, folder: Path) -> None:
    folder.mkdir()
    path.rename(folder / path.name)


async def test_executable_found_on_path_or_under_the_project(
    stub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{stub.parent}{os.pathsep}{os.environ['PATH']}")
    by_name = await started(Path(stub.name))
    move_into(stub, tmp_path / "bin")
    relative = await started(Path("bin") / stub.name, project_root=tmp_path, lean_path="")
    for repl in (by_name, relative):
        assert (await repl.request("probe", {}, timeout_seconds=5))["argv"] == [
            "Mathlib",
            "Aesop",
            "--maxHeartbeats=0",
            "--maxRecDepth=100000",
            "--tactic.hygienic=false",
            "--pp.fullNames=true",
            "--pp.funBinderTypes=true",
            "--pp.piBinderTypes=true",
        ]
        await repl.close()
    with pytest.raises(BackendUnavailable, match="no such executable"):
        await started(Path("no-such-repl-binary"))
