"""Sampling and filtering of model outputs into tactic and step candidates (official-impl §4.1).

Called by the prover (P1 rule) and the step-level solution searches (P2 rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from harcopa.domain import FinishReason, Generation, LogprobsMode, Mode, Prompt, SamplingParams
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


def step_candidates(ctx: SearchContext, generation: Generation, *, dedup: bool) -> list[Candidate]:
    """P2 rule: finished samples, code extracted, non-empty, no banned token but ``sorry``.

    A submission may not contain ``sorry`` in strict mode (DESIGN §2.4). BFS deduplicates
    within one expansion by normalised text; AR does not.
    """
    out: list[Candidate] = []
    seen: set[str] = set()
    for completion in generation.completions:
        if completion.finish_reason is not FinishReason.STOP:
            continue
        step = usable_step(ctx, completion.text)
        if step is None:
            continue
        key = normalize(step)
        if dedup and key in seen:
            continue
        seen.add(key)
        out.append(Candidate(step, completion.mean_nll))
    return out


def usable_step(ctx: SearchContext, text: str) -> str | None:
    """The step in one completion, or None when it is empty or holds a banned token."""
    step = extract_code(text)
    if not step:
        return None
    allow_sorry = not (ctx.strict and is_submission(step))
    if find_banned(step, allow_sorry=allow_sorry, policy=ctx.banned_policy) is not None:
        return None
    return step
