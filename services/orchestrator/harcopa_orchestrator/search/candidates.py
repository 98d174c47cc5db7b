"""Sampling and filtering of model outputs into tactic and step candidates (official-impl §4.1).

Called by the prover (P1 rule) and the step-level solution searches (P2 rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harcopa.domain import (
    Completion,
    FinishReason,
    Generation,
    LogprobsMode,
    Mode,
    Prompt,
    SamplingParams,
)
from harcopa.fps import extract_code, find_banned, is_submission, normalize
from harcopa.protocols import Generator
from harcopa_orchestrator.context import SearchContext


@dataclass(frozen=True, slots=True)
class Candidate:
    """A filtered sample: its text and the mean negative log-probability of its tokens."""

    text: str
    nll: float


async def sample(
    ctx: SearchContext,
    generator: Generator,
    prompt: Prompt,
    *,
    n: int,
    max_tokens: int,
    logprobs: bool,
) -> Generation:
    """One generate call with the run's temperature; counts one expansion in the meter.

    Paper mode asks for processed log-probabilities (after temperature scaling), what the
    reference's vLLM 0.7.3 returned and its NALP priorities were computed from; strict mode
    uses the model's raw distribution.
    """
    ctx.meter.add_expansion()
    mode = LogprobsMode.PROCESSED if ctx.mode is Mode.PAPER else LogprobsMode.RAW
    params = SamplingParams(
        n=n,
        temperature=ctx.params.temperature,
        max_tokens=max_tokens,
        logprobs=logprobs,
        logprobs_mode=mode,
    )
    return await generator.generate(prompt, params)


def tactic_candidates(ctx: SearchContext, generation: Generation) -> list[Candidate]:
    """P1 rule: finished samples, trailing space stripped, deduplicated, no banned token."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for completion in generation.completions:
        if completion.finish_reason is not FinishReason.STOP:
            continue
        tactic = completion.text.rstrip()
        key = normalize(tactic)
        if not key or key in seen:
            continue
        seen.add(key)
        if find_banned(tactic, allow_sorry=False, policy=ctx.banned_policy) is not None:
            continue
        out.append(Candidate(tactic, completion.mean_nll))
    return out


#: ``(candidate text, why it was not accepted)``: what a filter reports of a rejected sample.
Rejection = Callable[[str, str], None]


def step_candidates(
    ctx: SearchContext,
    generation: Generation,
    *,
    dedup: bool,
    on_reject: Rejection | None = None,
) -> list[Candidate]:
    """P2 rule: finished samples, code extracted, non-empty, no banned token but ``sorry``.

    A submission may not contain ``sorry`` in strict mode (DESIGN §2.4). BFS deduplicates
    within one expansion by normalised text; AR does not. ``on_reject`` hears every sample
    left out, with the reason.
    """
    out: list[Candidate] = []
    seen: set[str] = set()
    for completion in generation.completions:
        step, why = screen_step(ctx, completion)
        if step is not None and dedup and normalize(step) in seen:
            step, why = None, "duplicate of an earlier candidate"
        if step is None:
            if on_reject is not None:
                on_reject(extract_code(completion.text) or completion.text, why)
            continue
        seen.add(normalize(step))
        out.append(Candidate(step, completion.mean_nll))
    return out


def screen_step(ctx: SearchContext, completion: Completion) -> tuple[str | None, str]:
    """``(step, "")`` for a usable completion; ``(None, why not)`` when it was cut at the token
    limit, holds no code, or holds a banned token."""
    if completion.finish_reason is FinishReason.LENGTH:
        return None, "cut at the token limit"
    if completion.finish_reason is not FinishReason.STOP:
        return None, f"unfinished ({completion.finish_reason.value})"
    step = extract_code(completion.text)
    if not step:
        return None, "empty: the completion holds no code"
    allow_sorry = not (ctx.strict and is_submission(step))
    banned = find_banned(step, allow_sorry=allow_sorry, policy=ctx.banned_policy)
    if banned is not None:
        return None, f"banned token `{banned}`"
    return step, ""
