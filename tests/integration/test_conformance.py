"""Verifier conformance: official-impl §3.7 behaviours and pantograph-protocol.md §13 vectors,
driven through VerifierClient against two targets.

``lean-sim`` always runs: where a vector needs real Lean semantics the simulator has no rule
for (``rw [Nat.add_comm]``), the test's scenario file supplies that outcome, so what the sim
target checks is our service's handling of it. ``pantograph`` (marked ``lean``) runs the same
vectors on real Pantograph v0.2.25 + Mathlib when ``HARCOPA_PANTOGRAPH_BIN`` and
``HARCOPA_MATHLIB_PROJECT`` are set. Raw protocol facts invisible through the service (state
ids, ``expr.echo``, version) are covered by the Pantograph client's own tests.

The soundness cases compare lean-sim's model of ``#print axioms`` (and ``#exit``) with Lean's,
below the text filter, and show a write past the sandbox's file-size limit failing as an IO
error in real Lean.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from harcopa.domain import Framework, Mode, ProofComplete, ProofState, TacticError
from harcopa.verifier_client import VerifierClient
from harcopa_lean_verifier import stateless
from harcopa_lean_verifier.server import build_verifier
from harcopa_lean_verifier.settings import PantographConfig
from tests.service.verifier_harness import problem, serving, sim_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Outcomes of real Lean that lean-sim's built-in rules do not model (used by the sim only).
SIM_SCENARIO = {
    "rules": [
        {"goal": r"^a \+ b = b \+ a$", "tactic": r"^rw \[Nat\.add_comm\]$", "result": "close"},
    ]
}
COMMUTE = "theorem t (a b : ℕ) : a + b = b + a := by\n  rw [Nat.add_comm]"


def _pantograph_settings() -> object:
    binary, project = (
        os.environ.get("HARCOPA_PANTOGRAPH_BIN"),
        os.environ.get("HARCOPA_MATHLIB_PROJECT"),
    )
    if not binary or not project:
        pytest.skip(
            "real Pantograph not configured: set HARCOPA_PANTOGRAPH_BIN (the v0.2.25 `repl` "
            "binary) and HARCOPA_MATHLIB_PROJECT (a built Mathlib v4.15.0 project)"
        )
    backend = PantographConfig(executable=Path(binary), project_root=Path(project))
    return sim_settings(
        backend=backend,
        ready_timeout_seconds=900.0,
        tactic_timeout_seconds=120.0,
        draft_timeout_seconds=300.0,
        file_timeout_seconds=600.0,
        acquire_timeout_seconds=900.0,
    )


@pytest_asyncio.fixture(
    loop_scope="module",
    scope="module",
    params=["lean-sim", pytest.param("pantograph", marks=pytest.mark.lean)],
)
async def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[VerifierClient]:
    if request.param == "pantograph":
        settings = _pantograph_settings()
    else:
        scenario = tmp_path_factory.mktemp("conformance") / "scenario.json"
        scenario.write_text(json.dumps(SIM_SCENARIO))
        settings = sim_settings(scenario)
    async with serving(settings) as connected:  # type: ignore[arg-type]
        yield connected


async def _statement(client: VerifierClient, text: str) -> ProofState:
    session = await client.open_session(problem(text), [Framework.STATEMENT])
    return session.state(Framework.STATEMENT)


async def test_sorry_statement_gives_its_goal(client: VerifierClient) -> None:
    """§3.7 load_sorry: ``example (p: Prop): p → p := sorry`` -> ``p : Prop ⊢ p → p``."""
    state = await _statement(
        client, "example (answer : Prop) (p: Prop) (h : answer) : p → p := sorry"
    )
    goal = state.goals[0]
    assert goal.target == "p → p"
    assert ("p", "Prop") in [(v.name, v.type) for v in goal.variables]
    await client.close_session(state.handle.session_id)


async def test_intro_names_the_bound_variable(client: VerifierClient) -> None:
    """§3.7: ``intro a`` on ``∀ (p q : Prop), p ∨ q → q ∨ p``."""
    text = "example (answer : Prop) (h : answer) : ∀ (p q : Prop), p ∨ q → q ∨ p := sorry"
    state = await _statement(client, text)
    result = await client.run_tactic(state.handle, 0, "intro a")
    assert isinstance(result, ProofState), result
    assert result.goals[0].target == "∀ (q : Prop), a ∨ q → q ∨ a"
    assert (result.goals[0].variables[-1].name, result.goals[0].variables[-1].type) == (
        "a",
        "Prop",
    )
    failed = await client.run_tactic(result.handle, 0, "assumption")
    assert isinstance(failed, TacticError)
    await client.close_session(state.handle.session_id)


async def test_draft_puts_gaps_first_and_the_continuation_last(client: VerifierClient) -> None:
    """§3.7: draft ``by\\nhave h1 : Or p p := sorry\\nsorry`` on ``p → p``."""
    state = await _statement(
        client, "example (answer : Prop) (p: Prop) (h : answer) : p → p := sorry"
    )
    reply = await client.apply_step(state.handle, 0, "have h1 : Or p p := sorry")
    result, gaps = reply.result, reply.gap_count
    assert isinstance(result, ProofState), result
    assert gaps == 1
    gap, continuation = result.goals
    assert gap.target in ("p ∨ p", "Or p p")  # Lean prints the notation
    assert continuation.target == "p → p" and continuation.name is None
    assert continuation.variables[-1].name == "h1"
    await client.close_session(state.handle.session_id)


async def test_end_to_end_session_vector(client: VerifierClient) -> None:
    """pantograph-protocol.md §13: sorry statement, ``rw [Nat.add_comm]``, re-check the file."""
    state = await _statement(
        client, "theorem t (answer : ℕ) (h : answer = 0) (a b : ℕ) : a + b = b + a := by sorry"
    )
    assert state.goals[0].target == "a + b = b + a"
    closed = await client.run_tactic(state.handle, 0, "rw [Nat.add_comm]")
    assert isinstance(closed, ProofComplete), closed
    await client.delete_states([closed.state.handle])
    check = await client.check_file(COMMUTE)
    assert check.ok and check.sorries == 0 and not check.messages, check
    await client.close_session(state.handle.session_id)


async def test_automatic_mode_ordering_builds_the_solving_framework(
    client: VerifierClient,
) -> None:
    """§3.7 reordering, as the solving framework relies on it (§2.2: h.mp, h.mpr, w)."""
    text = "example (answer : ℕ) (h_answer : answer = 2 + 2) : answer = 4 := sorry"
    session = await client.open_session(
        problem(text), [Framework.SOLVING, Framework.FORWARD_SOLVING], Mode.STRICT
    )
    assert [g.name for g in session.state(Framework.SOLVING).goals] == ["h.mp", "h.mpr", "w"]
    assert [g.name for g in session.state(Framework.FORWARD_SOLVING).goals] == ["h", "w"]
    validation = await client.validate_submission(
        session.session_id, [], "exact h_answer -- submit"
    )
    validated, text_w = validation.result, validation.submission
    assert isinstance(validated, ProofState), validated
    assert [g.name for g in validated.goals] == ["h.mpr"]
    assert text_w == "answer = 2 + 2"
    assert (await client.check_equivalence(session.session_id, text_w)).tactic is not None
    await client.close_session(session.session_id)


async def test_sorry_file_fails_the_check(client: VerifierClient) -> None:
    check = await client.check_file("theorem u (p : Prop) : p → p := by\n  sorry")
    assert not check.ok and check.sorries == 1 and "sorryAx" in check.axioms
    assert check.forbidden_axioms == ("sorryAx",)


# ---------------------------------------------------------------- soundness (strict mode)


async def test_strict_filter_refuses_before_lean(client: VerifierClient) -> None:
    text = "example (answer : ℕ) (h_answer : answer = 2 + 2) : answer = 4 := sorry"
    session = await client.open_session(problem(text), [Framework.SOLVING], Mode.STRICT)
    refused = (
        await client.validate_submission(
            session.session_id, [], "exact (sorryAx _ false) -- submit"
        )
    ).result
    assert isinstance(refused, TacticError) and "`sorryAx`" in refused.messages[0]
    await client.close_session(session.session_id)
    check = await client.check_file("theorem t : 2 + 2 = 4 := by native_decide")
    assert not check.ok and "native_decide" in check.messages[0].text


@pytest_asyncio.fixture(
    loop_scope="module",
    scope="module",
    params=["lean-sim", pytest.param("pantograph", marks=pytest.mark.lean)],
)
async def pool_verifier(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Any]]:
    """The verifier in process (its real pool), to compile files below the text filter."""
    settings = _pantograph_settings() if request.param == "pantograph" else sim_settings()
    built = build_verifier(settings)  # type: ignore[arg-type]
    await built.start()
    yield request.param, built
    await built.close()


async def _audit(pool_verifier: tuple[str, Any], text: str) -> Any:
    _, verifier = pool_verifier
    return await stateless.compile_and_audit(
        verifier.pool, verifier.default_key, text, verifier.imports, 600.0
    )


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("theorem n : 2 + 2 = 4 := by native_decide", "Lean.ofReduceBool"),
        ("axiom cheat : False\ntheorem t : 1 = 2 := cheat.elim\ntheorem u : 1 = 2 := t", "cheat"),
        ("theorem s (p : Prop) : p := sorry", "sorryAx"),
        ("theorem ok : 2 + 2 = 4 := by decide", None),
    ],
)
async def test_axiom_audit_matches_lean(
    pool_verifier: tuple[str, Any], text: str, forbidden: str | None
) -> None:
    """lean-sim's ``#print axioms`` model against Lean's: what each proof depends on."""
    check = await _audit(pool_verifier, text)
    if forbidden is None:
        assert check.ok and check.forbidden_axioms == (), check
    else:
        assert not check.ok and forbidden in check.forbidden_axioms, check


async def test_exit_cuts_the_audit_off(pool_verifier: tuple[str, Any]) -> None:
    check = await _audit(pool_verifier, "theorem n : 2 + 2 = 4 := by\n  decide\n#exit")
    assert not check.ok
    assert any("axiom audit did not answer" in m.text for m in check.messages), check


async def test_a_write_past_the_file_size_limit_is_an_io_error(
    pool_verifier: tuple[str, Any],
) -> None:
    """Real Lean in the sandbox: ``#eval`` writing past RLIMIT_FSIZE fails, the REPL lives on."""
    if pool_verifier[0] == "lean-sim":
        pytest.skip("lean-sim does not evaluate #eval (its sim.io command is tested instead)")
    size = 2 * (64 << 20)
    text = f"#eval IO.FS.writeFile \"big.bin\" (String.mk (List.replicate {size} 'a'))"
    check = await _audit(pool_verifier, text)
    assert any(m.severity.value == "error" for m in check.messages), check
    again = await _audit(pool_verifier, "theorem n : 2 + 2 = 4 := by decide")
    assert again.ok, again
