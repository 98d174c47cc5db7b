"""Horizontal scaling of the verifier: one client over two replicas keeps each session on the
replica that opened it, balances new sessions, and survives losing a replica."""

from __future__ import annotations

import pytest

from harcopa import domain as d
from harcopa import errors
from harcopa.replicas import parse_target
from harcopa.verifier_client import VerifierClient
from harcopa_lean_verifier.server import build_runner
from tests.service.verifier_harness import SIMPLE, problem, sim_settings

FRAMEWORKS = (d.Framework.FORWARD_REASONING,)


def test_parse_target() -> None:
    assert parse_target("10.0.0.1:50051") == ("static", ["10.0.0.1:50051"])
    assert parse_target("ipv4:127.0.0.1:1,127.0.0.1:2") == (
        "static",
        ["127.0.0.1:1", "127.0.0.1:2"],
    )
    assert parse_target("dns:///verifier.ns.svc:50051") == ("dns", ["verifier.ns.svc:50051"])
    with pytest.raises(errors.InvalidRequest):
        parse_target("dns:///verifier")


async def test_sessions_are_pinned_balanced_and_survive_a_lost_replica() -> None:
    runners = [build_runner(sim_settings(replica_id=f"replica-{i}", pool_size=3)) for i in (0, 1)]
    for runner in runners:
        await runner.start()
    target = "ipv4:" + ",".join(f"127.0.0.1:{r.port}" for r in runners)
    client = VerifierClient(target, timeout_seconds=30, retries=False)
    try:
        sessions = [await client.open_session(problem(SIMPLE), FRAMEWORKS) for _ in range(2)]
        replicas = sorted(s.session_id.split("/", 1)[0] for s in sessions)
        assert replicas == ["replica-0", "replica-1"]  # one each: balanced
        for session in sessions:  # every call reaches the replica holding its session
            state = session.state(d.Framework.FORWARD_REASONING)
            result = (
                await client.apply_step(state.handle, 0, "have h : answer = 7 := sorry")
            ).result
            assert isinstance(result, d.ProofState) and len(result.goals) == 2
        assert (await client.check_file("example : 2 + 2 = 4 := by norm_num")).ok

        await runners[0].stop()  # replica-0 goes away with its session
        lost = next(s for s in sessions if s.session_id.startswith("replica-0/"))
        with pytest.raises((errors.StateNotFound, errors.BackendUnavailable)):
            state = lost.state(d.Framework.FORWARD_REASONING)
            await client.apply_step(state.handle, 0, "have h : answer = 7 := sorry")
        reopened = await client.open_session(problem(SIMPLE), FRAMEWORKS)
        assert reopened.session_id.startswith("replica-1/")  # the live replica takes over
        for session in (reopened, next(s for s in sessions if s is not lost)):
            await client.close_session(session.session_id)
    finally:
        await client.close()
        for runner in runners:
            await runner.stop()
