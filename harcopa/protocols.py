"""The two service boundaries as typed protocols: Verifier (Lean) and Generator (models).

Implementations: PantographVerifier / SimulatedVerifier / VerifierClient and
TransformersGenerator / VllmGenerator / OpenAIGenerator / SimulatedGenerator / ModelClient.
Search code depends only on these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from harcopa.domain import (
    FileCheck,
    FormalProblem,
    Framework,
    Generation,
    Mode,
    Prompt,
    SamplingParams,
    Session,
    StateHandle,
    TacticResult,
)


class Verifier(Protocol):
    """Session-level FPS operations plus stateless whole-file checks (DESIGN.md §2.3).

    A rejected tactic or step is a TacticError result; infrastructure failures raise
    harcopa.errors exceptions (StateNotFound when the session or process is gone).
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def open_session(
        self,
        problem: FormalProblem,
        frameworks: Sequence[Framework],
        mode: Mode = Mode.STRICT,
    ) -> Session: ...

    async def apply_step(
        self, state: StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> TacticResult:
        """Draft ``step`` on a goal: gaps first, then (unless ``whole``) the continuation."""
        ...

    async def run_tactic(
        self, state: StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> TacticResult:
        """Run one tactic; the last ``ignored_goals`` goals must be left untouched."""
        ...

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> TacticResult:
        """Run path + submission on ``h.mp`` of the solving state; success leaves ``h.mpr``."""
        ...

    async def read_submission(self, state: StateHandle) -> str | None: ...

    async def check_equivalence(self, session_id: str, submission: str) -> str | None:
        """RPE: the first tactic proving submission ↔ ground truth, or None."""
        ...

    async def check_file(self, text: str, *, timeout_seconds: float = 0.0) -> FileCheck: ...

    async def delete_states(self, states: Sequence[StateHandle]) -> None: ...

    async def close_session(self, session_id: str) -> None: ...


class Generator(Protocol):
    """Samples completions: ``n`` samples of one prompt share one prefill."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation: ...
