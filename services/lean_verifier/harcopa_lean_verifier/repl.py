"""The ``Repl`` protocol: what the pool and the FPS operations use of one REPL process.

``backends.pantograph.Repl`` (a Pantograph or lean-sim process) is the implementation; the pool's
unit tests put in-memory stand-ins behind ``ReplFactory``. Timeouts are in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from harcopa_lean_verifier.backends.launcher import ReplConfig


class LeanCommands(Protocol):
    """The Lean commands the FPS operations send: what a process and a session's view of a
    shared process (sessions.SessionRepl) both offer."""

    async def frontend_process(
        self, file: str, *, sorrys: bool, timeout_seconds: float
    ) -> list[dict[str, Any]]: ...

    async def goal_tactic(
        self,
        state_id: int,
        goal_id: int,
        *,
        tactic: str | None = None,
        draft: str | None = None,
        timeout_seconds: float,
    ) -> dict[str, Any]: ...

    async def goal_print(
        self,
        state_id: int,
        *,
        goals: bool = False,
        extra_mvars: Sequence[str] = (),
        timeout_seconds: float,
    ) -> dict[str, Any]: ...

    async def goal_delete(self, state_ids: Sequence[int], *, timeout_seconds: float) -> None: ...


class Repl(LeanCommands, Protocol):
    """One REPL process: started once, one request at a time, never revived once dead."""

    #: Requests answered so far (the pool recycles a process after ``max_uses``).
    uses: int
    #: Seconds spent answering requests (the process's busy time).
    busy_seconds: float
    #: Why the process died (``timeout``, ``cancelled``, ``crash``, ``oom``, ...); None if alive.
    last_failure: str | None
    #: True once the process wrote to stderr after ``ready.``.
    stderr_noise: bool

    @property
    def alive(self) -> bool: ...

    async def start(self) -> None: ...

    def kill(self, reason: str | None = None) -> None: ...

    async def close(self) -> None: ...

    async def rss_bytes(self) -> int: ...

    async def cpu_seconds(self) -> float | None:
        """User + system CPU seconds of the process tree so far (None: not running)."""
        ...


#: Makes a (not yet started) process from its launch description.
ReplFactory = Callable[[ReplConfig], Repl]
