"""What a search algorithm receives for one problem: services, budgets, prompts and a meter.

Built per problem by ``scheduler.Scheduler.context``; read by every algorithm in ``search/``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from harcopa.domain import Attempt, AttemptOutcome, Mode, SearchParams
from harcopa.errors import HarcopaError
from harcopa.fps import BannedPolicy
from harcopa.prompts import PromptTemplates
from harcopa.protocols import Generator, Verifier
from harcopa_orchestrator.metering import Meter
from harcopa_orchestrator.search.tree import SearchTree

logger = logging.getLogger(__name__)

#: Seconds a cancelled search waits for its sessions to close before leaving them to leases.
CLOSE_ON_CANCEL_SECONDS = 5.0


@dataclass
class SearchContext:
    """Everything one problem's search needs. ``verifier`` is already metered, bounded and
    resilient to lost sessions; ``on_attempt`` persists each attempt the moment it ends.

    Used as ``async with ctx:``: leaving it closes every verifier session the search left
    open (a problem that ended early, failed or was cancelled).
    """

    verifier: Verifier
    solver: Generator
    prover: Generator | None
    params: SearchParams
    mode: Mode
    templates: PromptTemplates
    meter: Meter
    seed: int | None = None
    on_attempt: Callable[[Attempt], Awaitable[None]] | None = None
    #: Called with every search tree an algorithm builds (tests check their invariants).
    on_tree: Callable[[SearchTree], None] | None = None
    #: Attempts a previous orchestrator process already finished on this problem (resume).
    prior: tuple[Attempt, ...] = ()
    #: Closes the sessions the search left open; called on leaving ``async with``.
    close_sessions: Callable[[], Awaitable[None]] | None = None
    #: Called with an attempt's index as it starts (seeds its sampling).
    begin_attempt: Callable[[int], None] | None = None
    #: The name the solver model is called by (paper mode's H-SA system prompt depends on it).
    solver_name: str = ""

    async def __aenter__(self) -> SearchContext:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.close_sessions is None:
            return
        if kind is None or not issubclass(kind, asyncio.CancelledError):
            await self.close_sessions()
            return
        # Cancelled (a shutdown, CancelRun): close what answers soon; the verifier's leases
        # end the rest, so a verifier that is down cannot hold the shutdown.
        try:
            await asyncio.wait_for(self.close_sessions(), CLOSE_ON_CANCEL_SECONDS)
        except (TimeoutError, HarcopaError) as error:
            logger.info("sessions left to their leases on cancellation (%s)", error or "timeout")

    def resumed_attempts(self) -> list[Attempt]:
        """The prior attempts a search continues from: those before the first ERROR attempt
        (an infrastructure failure is retried, under the same attempt index)."""
        kept: list[Attempt] = []
        for attempt in self.prior:
            if attempt.outcome is AttemptOutcome.ERROR:
                break
            kept.append(attempt)
        return kept

    def start_attempt(self, index: int) -> None:
        """An attempt starts: its sampling is seeded from the run seed and its index."""
        if self.begin_attempt is not None:
            self.begin_attempt(index)

    @property
    def strict(self) -> bool:
        return self.mode is Mode.STRICT

    @property
    def banned_policy(self) -> BannedPolicy:
        return "strict" if self.strict else "paper"

    def observe(self, tree: SearchTree) -> None:
        if self.on_tree is not None:
            self.on_tree(tree)

    async def record(self, attempt: Attempt) -> Attempt:
        """Hand ``attempt`` to ``on_attempt`` (if any) and return it."""
        if self.on_attempt is not None:
            await self.on_attempt(attempt)
        return attempt
