"""Paper mode's reproduction of the reference's abort paths; used by the search algorithms.

The reference ends a rollout (AR, HAR, BFS, H-BFS) on any exception raised inside it and
restarts from the root with the remaining K_S; a whole-draft try (WG, H-WG, H-SA) that raises
moves to the next try (docs/paper-mode.md). Paper mode raises :class:`RolloutEnded` where the
reference raised, and the rollouts turn it (and any other exception, ``reference_raise``) into a
REJECTED attempt; strict mode rejects the one candidate instead. An infrastructure failure is
never one of these: it stays an errored attempt in both modes (run integrity).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence

from harcopa.domain import (
    Attempt,
    AttemptOutcome,
    ChatMessage,
    Goal,
    Prompt,
    ProofState,
)
from harcopa.errors import FailedPrecondition, HarcopaError, InvalidRequest
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import stats_since

logger = logging.getLogger(__name__)

#: H-SA's drafting system prompt in the reference: this one unless the model name contains
#: ``hf_ckpts``, which gets the SFT system prompt (official-impl §4.8).
HELPFUL_SYSTEM_PROMPT = "You are a helpful assistant."
SFT_SYSTEM_PROMPT = "You are a Lean 4 expert."
SFT_MODEL_MARK = "hf_ckpts"


class RolloutEnded(Exception):
    """Paper mode: the reference raised here, which ended its rollout; the message says why."""


def infrastructure(error: BaseException) -> bool:
    """True for an infrastructure failure (a service unavailable, lost, overloaded or too
    slow, or a timeout or OS error that no client mapped): an errored attempt in both modes,
    never an ordinary outcome."""
    if isinstance(error, HarcopaError):
        return not isinstance(error, InvalidRequest | FailedPrecondition)
    return isinstance(error, TimeoutError | OSError)


def reference_raise(ctx: SearchContext, error: BaseException) -> str | None:
    """Why ``error`` ends the rollout or try in paper mode, as the reference's catch-all did;
    None when it must propagate: strict mode, or an infrastructure failure."""
    if ctx.strict or infrastructure(error) or not isinstance(error, Exception):
        return None
    if isinstance(error, RolloutEnded):
        return str(error)
    logger.warning("a call raised; paper mode goes on as the reference did", exc_info=error)
    return f"{type(error).__name__}: {error}"[:500]


def is_submission(step: str, *, draft: bool = False) -> bool:
    """The reference's submission test on the text as it is: the last line (of a step; of an
    H-SA ``draft``, right-stripped) starts with ``exact`` (``exact `` for a draft) and ends
    with ``-- submit``. Unlike ``harcopa.fps.is_submission`` an indented line is no submission.
    """
    last = step.rstrip().split("\n")[-1] if draft else (step.splitlines() or [""])[-1]
    return last.startswith("exact " if draft else "exact") and last.endswith("-- submit")


def odd_continuation(state: ProofState) -> bool:
    """The reference's check after drafting a step: the last goal must be anonymous ``False``."""
    last = state.goals[-1] if state.goals else None
    return last is None or last.name is not None or last.target != "False"


def check_ignored(goals: Sequence[Goal], expected: Sequence[Goal]) -> None:
    """The reference prover's check of the ignored goals (official-impl §4.2 step 1): the last
    ``len(expected)`` goals match them (target, name, hypothesis names, conversion flag), have
    no sibling dependency, and no other goal depends on them. RolloutEnded otherwise."""
    if not expected:
        return
    if len(goals) < len(expected):
        raise RolloutEnded("the ignored goals are gone (the reference's prover raises)")
    kept, tail = goals[: len(goals) - len(expected)], goals[len(goals) - len(expected) :]
    span = set(range(len(kept), len(goals)))
    if any(g.sibling_dep for g in tail) or any(span.intersection(g.sibling_dep) for g in kept):
        raise RolloutEnded("a goal depends on the ignored goals (the reference's prover raises)")
    if not all(a.same_shape(b) for a, b in zip(tail, expected, strict=True)):
        raise RolloutEnded("a tactic changed the ignored goals (the reference's prover raises)")


def node_key(state: ProofState, serial: int) -> str:
    """A prover node key that never repeats: the reference's visited set never matches."""
    return f"{state.render()}\n#{serial}"


def drafting_system_prompt(model_name: str) -> str:
    """The system prompt the reference sends with H-SA's drafting prompt for ``model_name``."""
    return SFT_SYSTEM_PROMPT if SFT_MODEL_MARK in model_name else HELPFUL_SYSTEM_PROMPT


def with_system(prompt: Prompt, system: str) -> Prompt:
    """``prompt`` with its system message replaced (or added first)."""
    rest = tuple(m for m in prompt.messages if m.role != "system")
    return Prompt(messages=(ChatMessage("system", system), *rest))


async def next_try_on_exception(ctx: SearchContext, index: int, run: Awaitable[Attempt]) -> Attempt:
    """Paper mode: a whole-draft try that raises anything but an infrastructure failure is a
    REJECTED attempt, and the next try follows (the reference logged it and went on)."""
    before = ctx.meter.snapshot()
    try:
        return await run
    except Exception as error:
        why = reference_raise(ctx, error)
        if why is None:
            raise
        return Attempt(
            index=index,
            outcome=AttemptOutcome.REJECTED,
            stats=stats_since(ctx.meter, before),
            detail=f"the try raised {why}",
        )
