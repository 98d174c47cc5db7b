"""The two service boundaries as typed protocols: Verifier (Lean) and Generator (models).

Implementations: PantographVerifier / SimulatedVerifier / VerifierClient and
TransformersGenerator / VllmGenerator / OpenAIGenerator / SimulatedGenerator / ModelClient.
Search code depends only on these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from harcopa.domain import (
    Draft,
    Equivalence,
    FileCheck,
    FormalProblem,
    Framework,
    Generation,
    Lease,
    Mode,
    Prompt,
    SamplingParams,
    Session,
    StateHandle,
    TacticResult,
    Validation,
    VerifierInfo,
)


class Verifier(Protocol):
    """Session-level FPS operations plus stateless whole-file checks (DESIGN.md §2.3).

    Each method returns exactly what its VerifierService RPC carries. A rejected tactic or step
    is a TacticError result; infrastructure failures raise harcopa.errors exceptions
    (StateNotFound when the session or process is gone).
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def open_session(
        self,
        problem: FormalProblem,
        frameworks: Sequence[Framework],
        mode: Mode = Mode.STRICT,
        *,
        imports: Sequence[str] = (),
        client_id: str = "",
    ) -> Session:
        """Parse ``problem`` and build ``frameworks``; the session belongs to ``client_id``
        (its lease) and may use ``imports`` beyond the default ones."""
        ...

    async def apply_step(
        self, state: StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> Draft:
        """Draft ``step`` on a goal: gaps first, then (unless ``whole``) the continuation."""
        ...

    async def run_tactic(
        self, state: StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> TacticResult:
        """Run one tactic; the last ``ignored_goals`` goals must be left untouched."""
        ...

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission: str
    ) -> Validation:
        """Run path + submission on ``h.mp`` of the solving state; success leaves ``h.mpr``
        and carries the submitted proposition."""
        ...

    async def read_submission(self, state: StateHandle) -> str | None: ...

    async def check_equivalence(self, session_id: str, submission: str) -> Equivalence:
        """RPE: the first tactic proving submission ↔ ground truth (``tactic`` None if none)."""
        ...

    async def check_file(
        self, text: str, *, timeout_seconds: float = 0.0, imports: Sequence[str] = ()
    ) -> FileCheck:
        """Whole-file check; 0 seconds means the verifier's default limit."""
        ...

    async def delete_states(self, states: Sequence[StateHandle]) -> None: ...

    async def close_session(self, session_id: str) -> float:
        """Close a session; returns the seconds its Lean process worked for it."""
        ...

    async def renew_lease(self, client_id: str, *, release: bool = False) -> Lease:
        """Keep ``client_id``'s sessions alive (or close them all with ``release``)."""
        ...

    async def describe(self) -> VerifierInfo:
        """Backend, versions and session capacity (summed over replicas by a client)."""
        ...


class Generator(Protocol):
    """Samples completions: ``n`` samples of one prompt share one prefill."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation: ...
