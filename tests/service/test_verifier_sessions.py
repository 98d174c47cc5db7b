"""VerifierService over lean-sim through VerifierClient: sessions, frameworks, steps, tactics,
the solving flow with both acceptance modes, RPE and state bookkeeping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from harcopa import errors
from harcopa.domain import (
    Framework,
    Mode,
    ProofComplete,
    ProofState,
    Session,
    TacticError,
)
from harcopa.verifier_client import VerifierClient
from tests.conftest import require_benchmarks
from tests.service.verifier_harness import SIMPLE, WITH_VARS, problem, serving, sim_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALL = (Framework.FORWARD_REASONING, Framework.SOLVING)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client() -> AsyncIterator[VerifierClient]:
    async with serving(sim_settings()) as connected:
        yield connected


async def test_open_session_parses_and_builds_every_framework(client: VerifierClient) -> None:
    kinds = list(Framework)
    session = await client.open_session(problem(WITH_VARS), kinds)
    assert session.session_id.startswith("test-replica/")
    assert [v.name for v in session.parsed.intros] == ["x"]
    assert session.parsed.answer_type == "ℕ"
    assert [v.name for v in session.parsed.outros] == ["h₀", "h_answer"]
    assert session.parsed.formal_answer == "answer = 7"
    assert [kind for kind, _ in session.states] == kinds
    forward = session.state(Framework.FORWARD_REASONING)
    assert [g.target for g in forward.goals] == ["False"]
    assert [v.name for v in forward.goals[0].variables] == ["x", "answer", "h₀", "h_answer"]
    solving = session.state(Framework.SOLVING)
    assert [g.name for g in solving.goals] == ["h.mp", "h.mpr", "w"]
    assert [g.name for g in session.state(Framework.FORWARD_SOLVING).goals] == ["h", "w"]
    assert session.state(Framework.STATEMENT).goals[0].target == "answer = 7"
    await client.close_session(session.session_id)


async def test_open_session_rejects_bad_statements(client: VerifierClient) -> None:
    with pytest.raises(errors.InvalidRequest, match=r"outro|after `answer`"):
        await client.open_session(problem("example (answer : ℕ) : answer = 7 := sorry"), ALL)
    with pytest.raises(errors.InvalidRequest, match="String"):
        bad = "example (answer : String) (h : answer = answer) : answer = answer := sorry"
        await client.open_session(problem(bad), ALL)
    with pytest.raises(errors.InvalidRequest, match=r"compile|error"):
        unbalanced = "example (answer : ℕ) (h : answer = 7 : answer = 7 := sorry"
        await client.open_session(problem(unbalanced), ALL)


async def test_open_session_on_benchmark_statements(client: VerifierClient) -> None:
    from harcopa.benchmarks import load_benchmark

    root = require_benchmarks()
    for name, index in (("formal_math500", 1), ("minif2f_solving", 1), ("putnam_solving", 0)):
        record = load_benchmark(root, name).problems[index]
        session = await client.open_session(record, ALL)
        assert session.parsed.outros, name
        assert [g.name for g in session.state(Framework.SOLVING).goals] == ["h.mp", "h.mpr", "w"]
        await client.close_session(session.session_id)


async def _solving(client: VerifierClient, mode: Mode) -> Session:
    return await client.open_session(problem(SIMPLE), ALL, mode)


async def test_step_with_gap_then_strict_submission(client: VerifierClient) -> None:
    session = await _solving(client, Mode.STRICT)
    forward = session.state(Framework.FORWARD_REASONING)
    step = "-- compute the value\nhave h_seven : answer = 7 := sorry"
    reply = await client.apply_step(forward.handle, 0, step)
    result, gaps = reply.result, reply.gap_count
    assert isinstance(result, ProofState) and gaps == 1
    assert result.goals[0].target == "answer = 7"  # the gap
    continuation = result.goals[-1]
    assert continuation.name is None and continuation.target == "False"
    assert [v.name for v in continuation.variables][-1] == "h_seven"

    validation = await client.validate_submission(
        session.session_id, [step], "exact h_seven -- submit"
    )
    validated, text = validation.result, validation.submission
    assert isinstance(validated, ProofState), validated
    assert [g.name for g in validated.goals] == ["h.mpr"]
    assert text == "answer = 7"
    assert await client.read_submission(validated.handle) == "answer = 7"
    assert (await client.check_equivalence(session.session_id, text)).tactic is not None
    await client.close_session(session.session_id)


async def test_strict_rejects_sorry_submission_and_paper_accepts_it(
    client: VerifierClient,
) -> None:
    cheat = "exact (sorry : answer = 7) -- submit"
    strict = await _solving(client, Mode.STRICT)
    refused = (await client.validate_submission(strict.session_id, [], cheat)).result
    assert isinstance(refused, TacticError)
    assert "sorry" in refused.messages[0]
    paper = await _solving(client, Mode.PAPER)
    accepted = (await client.validate_submission(paper.session_id, [], cheat)).result
    assert isinstance(accepted, ProofState), accepted
    assert [g.name for g in accepted.goals] == ["h.mpr"]
    for session in (strict, paper):
        await client.close_session(session.session_id)


async def test_submission_rejections_are_results(client: VerifierClient) -> None:
    session = await _solving(client, Mode.STRICT)
    multi = "exact\n  h_answer -- submit"
    assert isinstance(
        (await client.validate_submission(session.session_id, [], multi)).result, TacticError
    )
    wrong = (
        await client.validate_submission(session.session_id, [], "exact h_nothing -- submit")
    ).result
    assert isinstance(wrong, TacticError)
    forward = session.state(Framework.FORWARD_REASONING)
    submit = (await client.apply_step(forward.handle, 0, "exact h_answer -- submit")).result
    assert isinstance(submit, TacticError) and "ValidateSubmission" in submit.messages[0]
    banned = (await client.apply_step(forward.handle, 0, "have h : answer = 7 := by rw?")).result
    assert isinstance(banned, TacticError) and "rw?" in banned.messages[0]
    await client.close_session(session.session_id)


async def test_rpe_outcomes(client: VerifierClient) -> None:
    session = await _solving(client, Mode.STRICT)
    found = await client.check_equivalence(session.session_id, "answer = 7")
    assert found.supervised and found.tactic == "rfl"
    unproven = await client.check_equivalence(session.session_id, "answer = 8")
    assert unproven.supervised and unproven.tactic is None
    broken = await client.check_equivalence(session.session_id, "answer = (")
    assert broken.tactic is None and broken.messages
    await client.close_session(session.session_id)
    unsupervised = "example (answer : ℕ) (h_answer : answer = 7) : True := sorry"
    session = await client.open_session(problem(unsupervised), ALL)
    assert session.parsed.formal_answer is None and session.parsed.warnings
    outcome = await client.check_equivalence(session.session_id, "answer = 7")
    assert not outcome.supervised and outcome.tactic is None
    await client.close_session(session.session_id)


async def test_run_tactic_with_ignored_goals(client: VerifierClient) -> None:
    session = await _solving(client, Mode.STRICT)
    forward = session.state(Framework.FORWARD_REASONING)
    drafted = (
        await client.apply_step(forward.handle, 0, "have h_seven : answer = 7 := sorry")
    ).result
    assert isinstance(drafted, ProofState) and len(drafted.goals) == 2
    wrong = await client.run_tactic(drafted.handle, 0, "exact h_missing", ignored_goals=1)
    assert isinstance(wrong, TacticError)
    closed = await client.run_tactic(drafted.handle, 0, "norm_num [h_answer]", ignored_goals=1)
    if isinstance(closed, TacticError):  # the simulator's closer needs the hypothesis' text
        closed = await client.run_tactic(drafted.handle, 0, "exact h_answer", ignored_goals=1)
    assert isinstance(closed, ProofComplete), closed
    assert closed.state.goals[-1].same_shape(drafted.goals[-1])
    with pytest.raises(errors.InvalidRequest):
        await client.run_tactic(drafted.handle, 1, "exfalso", ignored_goals=1)
    touched = await client.run_tactic(drafted.handle, 0, "sorry", ignored_goals=1)
    assert isinstance(touched, TacticError) and "sorry" in touched.messages[0]
    await client.close_session(session.session_id)


async def test_delete_states_and_unknown_handles(client: VerifierClient) -> None:
    session = await _solving(client, Mode.STRICT)
    forward = session.state(Framework.FORWARD_REASONING)
    drafted = (
        await client.apply_step(forward.handle, 0, "have h_seven : answer = 7 := sorry")
    ).result
    assert isinstance(drafted, ProofState)
    await client.delete_states([drafted.handle])
    with pytest.raises(errors.StateNotFound):
        await client.run_tactic(drafted.handle, 0, "exact h_answer")
    await client.close_session(session.session_id)
    with pytest.raises(errors.StateNotFound):
        await client.apply_step(forward.handle, 0, "have h : answer = 7 := sorry")
    with pytest.raises(errors.StateNotFound):
        await client.close_session(session.session_id)
    with pytest.raises(errors.StateNotFound):
        await client.check_equivalence("test-replica/unknown", "answer = 7")


async def test_whole_drafts_on_the_forward_solving_framework(client: VerifierClient) -> None:
    session = await client.open_session(problem(SIMPLE), [Framework.FORWARD_SOLVING])
    h = session.state(Framework.FORWARD_SOLVING)
    draft = "-- the value\nhave h_seven : answer = 7 := sorry\nexact h_seven -- submit"
    reply = await client.apply_step(h.handle, 0, draft, whole=True)
    drafted, gaps = reply.result, reply.gap_count
    assert isinstance(drafted, ProofState) and gaps == 1, drafted
    assert [g.target for g in drafted.goals] == ["answer = 7"]
    assert await client.read_submission(drafted.handle) == "answer = 7"
    complete = (await client.apply_step(h.handle, 0, "exact h_answer -- submit", whole=True)).result
    assert isinstance(complete, ProofComplete), complete
    assert await client.read_submission(complete.state.handle) == "answer = 3 + 4"
    cheat = (
        await client.apply_step(h.handle, 0, "exact (sorry : answer = 7) -- submit", whole=True)
    ).result
    assert isinstance(cheat, TacticError)
    with pytest.raises(errors.FailedPrecondition):
        await client.validate_submission(session.session_id, [], "exact h_answer -- submit")
    await client.close_session(session.session_id)


async def test_paper_mode_path_sorries_close_their_gaps(client: VerifierClient) -> None:
    session = await _solving(client, Mode.PAPER)
    path = ["have h_seven : answer = 7 := sorry"]
    validation = await client.validate_submission(
        session.session_id, path, "exact h_seven -- submit"
    )
    validated, text = validation.result, validation.submission
    assert isinstance(validated, ProofState), validated
    assert [g.name for g in validated.goals] == ["h.mpr"] and text == "answer = 7"
    strict_rpe = await client.check_equivalence(session.session_id, "answer = 7")
    assert strict_rpe.tactic == "rfl"
    await client.close_session(session.session_id)
    strict = await _solving(client, Mode.STRICT)
    refused = await client.check_equivalence(strict.session_id, "(sorry : Prop)")
    assert refused.tactic is None and "sorry" in refused.messages[0]
    await client.close_session(strict.session_id)
