"""VerifierService over lean-sim: CheckFile, request limits, health, idle expiry, tactic
timeouts that lose a session, and the `harcopa verifier serve` command line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harcopa import errors
from harcopa.domain import Framework, ProofState, Severity, TacticTimeout
from harcopa.verifier_client import VerifierClient
from harcopa_cli.local import free_port
from harcopa_cli.main import build_parser
from harcopa_cli.verifier import serve_environment
from harcopa_lean_verifier.server import build_runner, build_verifier
from tests.service.verifier_harness import SIMPLE, problem, serving, sim_settings


async def test_check_file_messages_sorries_and_axioms() -> None:
    async with serving(sim_settings(pool_size=2)) as client:
        good = await client.check_file("theorem two : (2 : ℕ) + 2 = 4 := by\n  norm_num\n")
        assert good.ok, good
        assert good.sorries == 0 and "sorryAx" not in good.axioms

        cheat = "import Mathlib\n\nexample : (2 : ℕ) + 2 = 5 := by\n  sorry\n"
        bad = await client.check_file(cheat)
        assert not bad.ok and bad.sorries == 1
        assert "sorryAx" in bad.axioms
        warning = next(m for m in bad.messages if m.severity is Severity.WARNING)
        assert warning.line == 3  # reported against the caller's text, import line included
        assert all("harcopa_audit" not in m.text for m in bad.messages)

        broken = await client.check_file("theorem t : (2 : ℕ) + 2 = 5 := by\n  norm_num\n")
        assert not broken.ok
        assert any(m.severity is Severity.ERROR for m in broken.messages)

        with pytest.raises(errors.InvalidRequest, match="import"):
            await client.check_file("import Std.Nothing\ntheorem t : True := trivial\n")


async def test_oversized_requests_are_invalid_argument() -> None:
    settings = sim_settings(pool_size=2, max_step_chars=200, max_file_chars=300)
    async with serving(settings) as client:
        session = await client.open_session(problem(SIMPLE), [Framework.FORWARD_REASONING])
        forward = session.state(Framework.FORWARD_REASONING)
        with pytest.raises(errors.InvalidRequest, match="limit"):
            await client.apply_step(forward.handle, 0, "have h : True := sorry\n" * 20)
        with pytest.raises(errors.InvalidRequest, match="limit"):
            await client.check_file("-- padding\n" * 40)
        with pytest.raises(errors.InvalidRequest, match="goal index"):
            await client.apply_step(forward.handle, 3, "have h : True := sorry")
        await client.close_session(session.session_id)


async def test_health_and_leases_of_clients_that_stop_renewing_expire() -> None:
    settings = sim_settings(pool_size=3, lease_seconds=0.6, session_idle_seconds=0.4)
    runner = build_runner(settings)
    await runner.start()
    target = f"127.0.0.1:{runner.port}"
    try:
        async with grpc.aio.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "harcopa.v1.VerifierService"):
                reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
        step = "have h : answer = 7 := sorry"
        async with VerifierClient(target, retries=False, lease_renew_seconds=0.15) as client:
            kept = await client.open_session(problem(SIMPLE), [Framework.FORWARD_REASONING])
            lease = await client.renew_lease(client.client_id)
            assert lease.sessions == 1 and lease.seconds == 0.6
            # A client whose process died stops renewing: its sessions expire with the lease.
            silent = VerifierClient(target, retries=False, lease_renew_seconds=0)
            lost = await silent.open_session(problem(SIMPLE), [Framework.FORWARD_REASONING])
            await asyncio.sleep(1.5)  # past the lease and the idle limit
            renewed = await client.apply_step(
                kept.state(Framework.FORWARD_REASONING).handle, 0, step
            )
            assert isinstance(renewed.result, ProofState)  # renewals kept it alive
            with pytest.raises(errors.StateNotFound):
                await silent.apply_step(lost.state(Framework.FORWARD_REASONING).handle, 0, step)
            # The expired session's REPL went back to the pool: new sessions still open.
            again = await client.open_session(problem(SIMPLE), [Framework.FORWARD_REASONING])
            await client.close_session(again.session_id)
            await silent.close()
            # Releasing on close frees the client's sessions at once.
        async with VerifierClient(target, retries=False) as probe:
            assert (await probe.renew_lease(client.client_id)).sessions == 0
    finally:
        await runner.stop()


async def test_sessions_without_a_client_expire_when_idle() -> None:
    verifier = build_verifier(sim_settings(pool_size=2, session_idle_seconds=0.3))
    await verifier.start()
    try:
        session = await verifier.open_session(problem(SIMPLE), [Framework.FORWARD_REASONING])
        await asyncio.sleep(0.9)
        with pytest.raises(errors.StateNotFound):
            await verifier.apply_step(
                session.state(Framework.FORWARD_REASONING).handle, 0, "have h : True := sorry"
            )
    finally:
        await verifier.close()


async def test_tactic_timeout_is_a_result_and_loses_the_session(tmp_path: Path) -> None:
    scenario = tmp_path / "hang.json"
    faults = {"hang_on_tactic": "spin_forever|rw_search", "crash_on_tactic": "crash_now"}
    scenario.write_text(json.dumps({"faults": faults}))
    settings = sim_settings(scenario, pool_size=2, tactic_timeout_seconds=1.0)
    async with serving(settings) as client:
        session = await client.open_session(problem(SIMPLE), [Framework.FORWARD_REASONING])
        forward = session.state(Framework.FORWARD_REASONING)
        result = await client.run_tactic(forward.handle, 0, "spin_forever")
        assert isinstance(result, TacticTimeout) and result.seconds == 1.0
        with pytest.raises(errors.StateNotFound):
            await client.run_tactic(forward.handle, 0, "exfalso")
        # The pool replaced the killed process: the service keeps working.
        fresh = await client.open_session(problem(SIMPLE), [Framework.FORWARD_REASONING])
        step = "have h : answer = 7 := sorry"
        drafted = (
            await client.apply_step(fresh.state(Framework.FORWARD_REASONING).handle, 0, step)
        ).result
        assert isinstance(drafted, ProofState)
        # RPE: rw_search hangs past its limit; aesop still runs on a fresh process.
        rpe = await client.check_equivalence(fresh.session_id, "answer = 8")
        assert rpe.tactic is None and any("rw_search" in m for m in rpe.messages), rpe
        # A crash during a call loses the session (NOT_FOUND), never the service.
        with pytest.raises(errors.StateNotFound, match="lost"):
            await client.run_tactic(drafted.handle, 0, "crash_now")
        with pytest.raises(errors.StateNotFound):
            await client.close_session(fresh.session_id)
        assert (await client.check_file("theorem t : (1 : ℕ) = 1 := by\n  rfl\n")).ok


async def test_cli_serve_runs_the_service_until_sigterm() -> None:
    """``harcopa verifier serve --backend sim`` becomes the service process; SIGTERM stops it."""
    flags = ["--backend", "sim", "--pool-size", "2", "--sessions-per-process", "3"]
    args = build_parser().parse_args(["verifier", "serve", *flags])
    env = serve_environment(args, {})
    assert env["HARCOPA_VERIFIER_BACKEND__KIND"] == "sim"
    assert env["HARCOPA_VERIFIER_POOL_SIZE"] == "2"
    assert env["HARCOPA_VERIFIER_SESSIONS_PER_PROCESS"] == "3"
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harcopa_cli",
        "verifier",
        "serve",
        "--backend",
        "sim",
        "--port",
        str(port),
        "--metrics-port",
        "0",
        "--pool-size",
        "2",
        "--sessions-per-process",
        "3",
        "--replica-id",
        "cli",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        banner = await asyncio.wait_for(proc.stdout.readline(), 30)  # type: ignore[union-attr]
        assert b"simulator" in banner
        async with VerifierClient(f"127.0.0.1:{port}", retries=False) as client:
            for _ in range(100):
                try:
                    session = await client.open_session(problem(SIMPLE), [Framework.SOLVING])
                    break
                except errors.BackendUnavailable:
                    await asyncio.sleep(0.1)
            assert session.session_id.startswith("cli/")
            assert (await client.describe()).session_capacity == 3  # one process, 3 on it
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_check_file_and_rpe_are_retried_on_a_fresh_process(tmp_path: Path) -> None:
    """One crash during a final check or RPE costs a process, not a verdict: the check runs
    again on a fresh process; a second crash in a row is UNAVAILABLE (never a rejection)."""

    def scenario(name: str, **faults: object) -> Path:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"faults": faults}))
        return path

    theorem = "theorem two : (2 : ℕ) + 2 = 4 := by\n  norm_num\n"
    once = {"fault_limit": 1, "fault_count_file": str(tmp_path / "file-crashes")}
    async with serving(sim_settings(scenario("file", crash_on_tactic="norm_num", **once))) as c:
        assert (await c.check_file(theorem)).ok  # the first process died; the second checked
    assert (tmp_path / "file-crashes").stat().st_size >= 1
    once = {"fault_limit": 1, "fault_count_file": str(tmp_path / "rpe-crashes")}
    async with serving(sim_settings(scenario("rpe", crash_on_tactic="^rfl$", **once))) as c:
        session = await c.open_session(problem(SIMPLE), [Framework.SOLVING])
        rpe = await c.check_equivalence(session.session_id, "answer = 7")
        assert rpe.tactic == "rfl"  # `rfl` killed the first process and won on the second
        await c.close_session(session.session_id)
    async with serving(sim_settings(scenario("always", crash_on_tactic="norm_num"))) as c:
        with pytest.raises(errors.BackendUnavailable):
            await c.check_file(theorem)
