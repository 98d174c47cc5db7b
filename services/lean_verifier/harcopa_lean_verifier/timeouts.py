"""The verifier's one timeouts object, built once from the settings by ``server.py`` and passed
down to the REPL launch description, the pool and the FPS operations (all in seconds)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harcopa.domain import Mode


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Wall-clock limits of REPL work; ``ceiling`` caps every single request."""

    tactic: float = 60.0
    draft: float = 120.0
    file: float = 300.0
    #: Every REPL call of a paper-mode session (the reference waits up to 300 s for each).
    paper: float = 300.0
    #: A new process's wait for ``ready.`` (its Mathlib import).
    ready: float = 600.0
    #: No single REPL request may run longer than this (requested limits included).
    ceiling: float = 1200.0

    def for_mode(self, mode: Mode) -> Timeouts:
        """The limits of a session in ``mode``: paper mode uses ``paper`` for every call."""
        if mode is Mode.PAPER:
            paper = self.paper
            return dataclasses.replace(self, tactic=paper, draft=paper, file=paper)
        return self

    def capped(self, seconds: float) -> float:
        """``seconds`` (a caller's requested limit) within the ceiling."""
        return min(seconds, self.ceiling)
