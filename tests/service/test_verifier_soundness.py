"""Strict soundness through the VerifierService over lean-sim: the text filter and the axiom audit.

Every payload of tests/soundness_payloads.py is refused in a strict session as a submission
(``exact ... -- submit``), as a path step, as a step and (tactics) as a tactic, with a reason
naming its construct; paper sessions apply only the reference's tokens. CheckFile refuses
filtered files before Lean and fails any file whose declarations depend on an axiom outside
``propext``/``Classical.choice``/``Quot.sound``, naming it in ``forbidden_axioms``. Below the
filter, the audit alone (``stateless.compile_and_audit`` on the real pool) is shown on what
lean-sim models of Lean's ``#print axioms``: ``native_decide``, a file axiom reached through
another theorem, named escape axioms, and ``#exit`` cutting the audit off.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from harcopa.domain import Framework, Mode, ProofState, Session, TacticError
from harcopa.fps import BANNED_TOKENS, normalize
from harcopa.verifier_client import VerifierClient
from harcopa_lean_verifier import stateless
from harcopa_lean_verifier.server import build_verifier
from harcopa_lean_verifier.verifier import PantographVerifier
from tests.service.verifier_harness import SIMPLE, problem, serving, sim_settings
from tests.soundness_payloads import LOOK_ALIKES, PAYLOADS, Payload

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCENARIO = {
    "rules": [
        {"goal": "^answer = 7$", "tactic": r"^norm_num \[h_answer\]$", "result": "close"},
        {
            "goal": "^1 = 2$",
            "tactic": r"^exact Lean\.(ofReduceBool|trustCompiler)",
            "result": "close",
        },
    ],
    "axioms": {
        "hidden_native": ["propext", "Classical.choice", "Lean.ofReduceBool", "Quot.sound"],
        "hidden_compiler": ["Lean.trustCompiler"],
        "hidden_axiom": ["propext", "cheat"],
    },
}


def _reference_refuses(step: str) -> bool:
    """The reference's rule for a step: a BANNED_TOKENS[1:] substring, comments removed."""
    return any(token in normalize(step) for token in BANNED_TOKENS[1:])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("lean-sim")) / "scenario.json"
    path.write_text(json.dumps(SCENARIO), encoding="utf-8")
    return path


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(scenario: Path) -> AsyncIterator[VerifierClient]:
    async with serving(sim_settings(scenario)) as connected:
        yield connected


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def strict(client: VerifierClient) -> AsyncIterator[Session]:
    frameworks = [Framework.FORWARD_REASONING, Framework.SOLVING]
    session = await client.open_session(problem(SIMPLE), frameworks, Mode.STRICT)
    yield session
    await client.close_session(session.session_id)


def _refusal(result: object, payload: Payload, what: str) -> None:
    assert isinstance(result, TacticError), result
    message = result.messages[0]
    assert message.startswith(f"{what} is refused by the strict filter")
    assert payload.construct in message


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.text)
async def test_strict_refuses_every_payload_everywhere(
    client: VerifierClient, strict: Session, payload: Payload
) -> None:
    validation = await client.validate_submission(strict.session_id, [], payload.submission)
    _refusal(validation.result, payload, "the submission")
    if payload.construct == "sorry":
        return  # a step's `sorry` is a gap (proven, then re-checked in the final file)
    submit = "exact h_answer -- submit"
    in_path = await client.validate_submission(strict.session_id, [payload.step], submit)
    _refusal(in_path.result, payload, "a path step")
    forward = strict.state(Framework.FORWARD_REASONING)
    _refusal((await client.apply_step(forward.handle, 0, payload.step)).result, payload, "the step")
    if payload.kind == "tactic":
        tactic = await client.run_tactic(forward.handle, 0, payload.text)
        _refusal(tactic, payload, "the tactic")


async def test_paper_applies_only_the_reference_tokens(client: VerifierClient) -> None:
    session = await client.open_session(problem(SIMPLE), [Framework.SOLVING], Mode.PAPER)
    for payload in PAYLOADS:
        path = [payload.step]
        result = (
            await client.validate_submission(session.session_id, path, "exact h_answer -- submit")
        ).result
        text = result.messages[0] if isinstance(result, TacticError) else ""
        assert "strict filter" not in text
        assert ("banned token" in text) is _reference_refuses(payload.step), (payload, text)
    await client.close_session(session.session_id)


@pytest.mark.parametrize("step", LOOK_ALIKES)
async def test_look_alikes_are_accepted(client: VerifierClient, strict: Session, step: str) -> None:
    forward = strict.state(Framework.FORWARD_REASONING)
    drafted = (await client.apply_step(forward.handle, 0, step)).result
    assert isinstance(drafted, ProofState), drafted
    name = re.search(r"have (\S+) :", step)
    assert name is not None
    submit = f"exact {name.group(1)} -- submit"
    validated = (await client.validate_submission(strict.session_id, [step], submit)).result
    assert isinstance(validated, ProofState) and [g.name for g in validated.goals] == ["h.mpr"]


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if p.kind == "command"], ids=str)
async def test_check_file_refuses_filtered_files_before_lean(
    client: VerifierClient, payload: Payload
) -> None:
    check = await client.check_file(f"theorem t : 2 + 2 = 4 := by norm_num\n{payload.text}")
    assert not check.ok and check.axioms == () and check.sorries == 0
    assert "refused by the strict filter" in check.messages[0].text
    assert payload.construct in check.messages[0].text


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("hidden_native", ("Lean.ofReduceBool",)),
        ("hidden_compiler", ("Lean.trustCompiler",)),
        ("hidden_axiom", ("cheat",)),
        ("clean", ()),
    ],
)
async def test_check_file_axiom_allowlist(
    client: VerifierClient, name: str, forbidden: tuple[str, ...]
) -> None:
    check = await client.check_file(f"theorem {name} : 2 + 2 = 4 := by norm_num")
    assert check.forbidden_axioms == forbidden
    assert check.ok is (not forbidden)
    assert set(check.axioms) - set(forbidden) <= {"propext", "Classical.choice", "Quot.sound"}


async def test_check_file_names_sorry_ax_as_forbidden(client: VerifierClient) -> None:
    check = await client.check_file("theorem s (p : Prop) : p := by\n  sorry")
    assert not check.ok and check.sorries == 1 and check.forbidden_axioms == ("sorryAx",)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def verifier(scenario: Path) -> AsyncIterator[PantographVerifier]:
    """The verifier's pool in process (no gRPC), to check files below the text filter."""
    built = build_verifier(sim_settings(scenario, pool_size=2, parse_processes=0))
    await built.start()
    yield built
    await built.close()


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("theorem n : 2 + 2 = 4 := by native_decide", ("Lean.ofReduceBool",)),
        ("theorem n : 2 + 2 = 4 := by decide (config := {native := true})", ("Lean.ofReduceBool",)),
        (
            "axiom cheat : False\ntheorem t : 1 = 2 := cheat.elim\ntheorem u : 1 = 2 := by\n"
            "  exact t",
            ("cheat",),
        ),
        ("theorem r : 1 = 2 := by\n  exact Lean.ofReduceBool _ _ rfl", ("Lean.ofReduceBool",)),
        ("theorem c : 1 = 2 := by\n  exact Lean.trustCompiler.elim", ("Lean.trustCompiler",)),
        ("example : 2 + 2 = 4 := by norm_num", ()),
    ],
)
async def test_the_audit_alone_follows_what_proofs_use(
    verifier: PantographVerifier, text: str, forbidden: tuple[str, ...]
) -> None:
    check = await stateless.compile_and_audit(
        verifier.pool, verifier.default_key, text, verifier.imports, 20.0
    )
    assert check.forbidden_axioms == forbidden, check
    assert check.ok is (not forbidden)


async def test_an_audit_that_never_answered_fails(verifier: PantographVerifier) -> None:
    text = "theorem n : 2 + 2 = 4 := by\n  norm_num\n#exit"
    check = await stateless.compile_and_audit(
        verifier.pool, verifier.default_key, text, verifier.imports, 20.0
    )
    assert not check.ok and check.forbidden_axioms == ()
    assert any("axiom audit did not answer for 1 of 1" in m.text for m in check.messages)
