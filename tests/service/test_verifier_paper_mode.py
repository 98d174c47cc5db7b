"""The verifier's part of paper mode, through the real VerifierService over lean-sim: the
reference's REPL time limit (item 3), no banned-token filter on whole drafts (item 5), H-SA's
statement compiled without the FPS parse (item 6), and a wrong step continuation returned for
the caller to end its rollout (item 7); strict sessions keep our rules (docs/paper-mode.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harcopa import domain as d
from harcopa.errors import InvalidRequest
from tests.service.verifier_harness import SIMPLE, problem, serving, sim_settings

#: lean-sim rules: a tactic that turns the goal into ``answer = 7`` (so a step ending with it
#: leaves a continuation that is not ``False``), and a valid tactic that takes 2 s.
SCENARIO = {
    "rules": [
        {"tactic": "^retarget$", "result": {"goals": [{"target": "answer = 7"}]}},
        {"tactic": "^slow_tactic$", "result": "close", "delay_seconds": 2},
    ]
}
WHOLE_BANNED = "have h₁ : answer = 7 := by rw_search\nexact h₁ -- submit"
SLOW = "have h : True := by slow_tactic"
NO_OUTRO = "example (answer : ℕ) : answer = 7\n:= sorry"  # our FPS parse needs an outro
FRAMEWORKS = [d.Framework.FORWARD_REASONING, d.Framework.FORWARD_SOLVING]


@pytest.fixture
def settings(tmp_path: Path) -> object:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    # Strict limits far below the slow tactic, paper's far above it.
    return sim_settings(
        scenario,
        tactic_timeout_seconds=0.5,
        draft_timeout_seconds=0.5,
        paper_timeout_seconds=60.0,
    )


async def test_paper_sessions_follow_the_reference(settings: object) -> None:
    async with serving(settings) as verifier:  # type: ignore[arg-type]
        outcomes: dict[d.Mode, dict[str, d.TacticResult]] = {}
        for mode in (d.Mode.STRICT, d.Mode.PAPER):
            session = await verifier.open_session(problem(SIMPLE), FRAMEWORKS, mode)
            forward = session.state(d.Framework.FORWARD_REASONING).handle
            solving = session.state(d.Framework.FORWARD_SOLVING).handle
            banned = await verifier.apply_step(solving, 0, WHOLE_BANNED, whole=True)
            retarget = await verifier.apply_step(forward, 0, "retarget")
            slow = await verifier.apply_step(forward, 0, SLOW)  # last: a timeout loses the session
            outcomes[mode] = {
                "banned": banned.result,
                "retarget": retarget.result,
                "slow": slow.result,
            }
        strict, paper = outcomes[d.Mode.STRICT], outcomes[d.Mode.PAPER]
        # Item 3: 300 s (here 60 s) per call in paper mode; the strict limit fires.
        assert isinstance(strict["slow"], d.TacticTimeout)
        assert isinstance(paper["slow"], d.ProofState)
        # Item 5: the whole draft reaches Lean in paper mode (and lean-sim accepts it).
        assert isinstance(strict["banned"], d.TacticError)
        assert "`rw_search` is on the reference's banned list" in strict["banned"].messages[0]
        assert isinstance(paper["banned"], d.ProofComplete)
        # Item 7: the continuation check is the caller's in paper mode.
        assert isinstance(strict["retarget"], d.TacticError)
        assert isinstance(paper["retarget"], d.ProofState)
        assert paper["retarget"].goals[-1].target == "answer = 7"

        # Item 6: H-SA's statement session is not parsed in paper mode.
        with pytest.raises(InvalidRequest, match="outro"):
            await verifier.open_session(problem(NO_OUTRO), [d.Framework.STATEMENT], d.Mode.STRICT)
        session = await verifier.open_session(
            problem(NO_OUTRO), [d.Framework.STATEMENT], d.Mode.PAPER
        )
        (goal,) = session.state(d.Framework.STATEMENT).goals
        assert goal.target == "answer = 7" and session.parsed.outros == ()
        assert "not parsed" in session.parsed.warnings[0]
        await verifier.close_session(session.session_id)
