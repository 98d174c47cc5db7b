"""Sessions sharing one REPL process (``sessions_per_process``) over lean-sim, through the
service: their calls take turns, so a sibling's call never eats a call's timeout; each session
is charged its own Lean time; a call cut off while waiting its turn loses only its own session;
a timeout kills the process and so loses every session on it, and the pool replaces it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from harcopa import errors
from harcopa.domain import Framework, ProofComplete, ProofState, TacticTimeout
from harcopa.verifier_client import VerifierClient
from harcopa_lean_verifier import sessions
from tests.service.verifier_harness import SIMPLE, problem, running, sim_settings

pytestmark = pytest.mark.asyncio

FORWARD = (Framework.FORWARD_REASONING,)
SLOW = 0.6  # seconds lean-sim spends on `slow_tactic`


def _settings(tmp_path: Path, **overrides: object) -> object:
    path = tmp_path / "shared.json"
    rules = [
        {"tactic": "^slow_tactic$", "result": "close", "delay_seconds": SLOW},
        {"tactic": "^hang_tactic$", "result": "close", "delay_seconds": 30},
    ]
    path.write_text(json.dumps({"rules": rules}))
    # Two processes: one for sessions (two at most on it), one for checks and parsing.
    values = {"pool_size": 2, "sessions_per_process": 2, "tactic_timeout_seconds": 1.0}
    return sim_settings(path, **{**values, **overrides})


async def _two_sessions(client: VerifierClient) -> tuple[object, object]:
    one = await client.open_session(problem(SIMPLE), FORWARD)
    two = await client.open_session(problem(SIMPLE), FORWARD)
    info = await client.describe()
    assert (info.session_capacity, info.sessions_open) == (2, 2)
    return one.state(Framework.FORWARD_REASONING).handle, two.state(
        Framework.FORWARD_REASONING
    ).handle


async def test_siblings_take_turns_and_each_gets_its_whole_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sessions, "WAIT_LOG_SECONDS", SLOW / 2)  # a long turn wait is logged
    caplog.set_level(logging.INFO, logger=sessions.__name__)
    async with running(_settings(tmp_path)) as target:
        async with VerifierClient(target, retries=False) as client:
            first, second = await _two_sessions(client)
            started = time.monotonic()
            # Each takes 0.6 s of a 1.0 s limit: together 1.2 s on the one process.
            results = await asyncio.gather(
                client.run_tactic(first, 0, "slow_tactic"),
                client.run_tactic(second, 0, "slow_tactic"),
            )
            assert time.monotonic() - started >= 2 * SLOW  # they took turns
            assert all(isinstance(r, ProofComplete) for r in results), results
            assert "goal_tactic waited" in caplog.text and "for its turn" in caplog.text
            # Each session is charged its own call, not its sibling's.
            seconds = [await client.close_session(h.session_id) for h in (first, second)]
            assert all(SLOW <= s < 2 * SLOW for s in seconds), seconds


async def test_a_call_cut_off_in_its_turn_wait_loses_only_its_session(tmp_path: Path) -> None:
    async with running(_settings(tmp_path)) as target:
        async with VerifierClient(target, retries=False) as client:
            first, second = await _two_sessions(client)
            running_call = asyncio.create_task(client.run_tactic(first, 0, "slow_tactic"))
            await asyncio.sleep(0.15)  # the first call holds the process
            waiting = asyncio.create_task(client.run_tactic(second, 0, "exfalso"))
            await asyncio.sleep(0.15)
            waiting.cancel()  # cut off while it waits for its turn
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert isinstance(await running_call, ProofComplete)
            # The process lives on: the first session still works, the second is gone.
            assert isinstance(await client.run_tactic(first, 0, "exfalso"), ProofState)
            with pytest.raises(errors.StateNotFound):
                await client.run_tactic(second, 0, "exfalso")


async def test_a_timeout_loses_every_session_on_the_process_and_it_is_replaced(
    tmp_path: Path,
) -> None:
    async with running(_settings(tmp_path)) as target:
        async with VerifierClient(target, retries=False) as client:
            first, second = await _two_sessions(client)
            timed_out = await client.run_tactic(first, 0, "hang_tactic")
            assert isinstance(timed_out, TacticTimeout)
            with pytest.raises(errors.StateNotFound, match="lost"):
                await client.run_tactic(second, 0, "exfalso")
            again = await client.open_session(problem(SIMPLE), FORWARD)  # a fresh process
            state = again.state(Framework.FORWARD_REASONING).handle
            assert isinstance(await client.run_tactic(state, 0, "exfalso"), ProofState)


async def test_a_problem_on_its_first_attempt_goes_before_one_that_started_over(
    tmp_path: Path,
) -> None:
    # Problem 0 opens and starts over (a new attempt: a new session), then problems 1 and 2
    # open, all on the one session process. While 2 holds it, 0's second session asks first
    # and then 1: 1 goes next, on its first attempt (more of its search ahead), though its
    # session is younger and its problem came later.
    settings = _settings(tmp_path, sessions_per_process=3)
    async with running(settings) as target:
        async with VerifierClient(target, retries=False) as client:
            first = await client.open_session(problem(SIMPLE, index=0), FORWARD)
            await client.close_session(first.session_id)
            opened = {
                name: await client.open_session(problem(SIMPLE, index=index), FORWARD)
                for name, index in (("0 again", 0), ("1", 1), ("2", 2))
            }
            handle = {n: s.state(Framework.FORWARD_REASONING).handle for n, s in opened.items()}
            order: list[str] = []

            async def call(name: str) -> None:
                result = await client.run_tactic(handle[name], 0, "slow_tactic")
                assert isinstance(result, ProofComplete), result
                order.append(name)

            holder = asyncio.create_task(call("2"))
            await asyncio.sleep(SLOW / 3)  # 2 holds the process
            started_over = asyncio.create_task(call("0 again"))
            await asyncio.sleep(SLOW / 3)  # 0's second session waits first
            first_attempt = asyncio.create_task(call("1"))
            await asyncio.gather(holder, started_over, first_attempt)
            assert order == ["2", "1", "0 again"]


async def test_every_end_of_a_session_reaches_its_problems_rank(tmp_path: Path) -> None:
    # Closed by its client or lost (a tactic timeout kills the process): either way its
    # problem counts it as ended, so a problem idle past the limit ranks as new again.
    from harcopa_lean_verifier.server import build_verifier
    from harcopa_lean_verifier.turns import ProblemRanks

    now = [0.0]
    ranks = ProblemRanks(forget_idle_seconds=10, clock=lambda: now[0])
    verifier = build_verifier(_settings(tmp_path, sessions_per_process=3), ranks=ranks)
    await verifier.start()
    try:
        first = await verifier.open_session(problem(SIMPLE), FORWARD, client_id="c")
        await verifier.close_session(first.session_id)
        lost = await verifier.open_session(problem(SIMPLE), FORWARD, client_id="c")
        handle = lost.state(Framework.FORWARD_REASONING).handle
        assert isinstance(await verifier.run_tactic(handle, 0, "hang_tactic"), TacticTimeout)
        now[0] = 11.0  # both ended, and the problem idle past the limit
        assert ranks.rank("c", problem(SIMPLE).problem_id) == (0, 1)  # new again
    finally:
        await verifier.close()
