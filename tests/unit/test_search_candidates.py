"""Unit tests of candidate filtering (P1/P2), seeded metered sampling and the pipelines map."""

from __future__ import annotations

import asyncio

from harcopa.domain import (
    Completion,
    FinishReason,
    Generation,
    Mode,
    Pipeline,
    Prompt,
    SamplingParams,
    SearchParams,
    TokenUsage,
)
from harcopa.prompts import PromptTemplates
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.metering import Meter, MeteredGenerator
from harcopa_orchestrator.pipelines import PIPELINES
from harcopa_orchestrator.search.candidates import step_candidates, tactic_candidates


def ctx(mode: Mode) -> SearchContext:
    return SearchContext(
        verifier=None,  # type: ignore[arg-type]
        solver=None,  # type: ignore[arg-type]
        prover=None,
        params=SearchParams(),
        mode=mode,
        templates=PromptTemplates.load(),
        meter=Meter(),
    )


def generation(*items: tuple[str, FinishReason, float]) -> Generation:
    return Generation(tuple(Completion(t, r, (-nll,) * 2, 2) for t, r, nll in items), TokenUsage())


STOP, LENGTH = FinishReason.STOP, FinishReason.LENGTH


def test_tactic_candidates_follow_the_p1_rule() -> None:
    out = tactic_candidates(
        ctx(Mode.PAPER),
        generation(
            ("simp  \n", STOP, 0.1),
            ("simp -- again", STOP, 0.2),  # same once normalised
            ("norm_num", LENGTH, 0.3),  # unfinished
            ("sorry", STOP, 0.4),  # banned
            ("nlinarith [sq_nonneg x]", STOP, 0.5),
        ),
    )
    assert [(c.text, c.nll) for c in out] == [("simp", 0.1), ("nlinarith [sq_nonneg x]", 0.5)]


def test_step_candidates_extract_code_and_allow_drafted_sorry() -> None:
    draft = "```lean4\nhave h : x = 1 := sorry\n```"
    items = [
        (draft, STOP, 0.1),
        ("have h : x = 1 := sorry", STOP, 0.2),  # the same step again
        ("```lean4\nexact (sorry : x = 1) -- submit\n```", STOP, 0.3),
        ("stop here", STOP, 0.4),
    ]
    strict = step_candidates(ctx(Mode.STRICT), generation(*items), dedup=True)
    assert [c.text for c in strict] == ["have h : x = 1 := sorry"]
    paper = step_candidates(ctx(Mode.PAPER), generation(*items), dedup=False)
    # Paper mode accepts a sorry in a submission (the reference's rule) and keeps duplicates.
    assert [c.text for c in paper] == [
        "have h : x = 1 := sorry",
        "have h : x = 1 := sorry",
        "exact (sorry : x = 1) -- submit",
    ]


class EchoSeed:
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        return Generation((Completion(str(params.seed), STOP),), TokenUsage(3, 1))


async def test_metered_generator_seeds_per_prompt_and_counts() -> None:
    meter = Meter()
    gen = MeteredGenerator(EchoSeed(), asyncio.Semaphore(1), meter, seed=5)
    a, b = Prompt(text="a"), Prompt(text="b")
    first = [(await gen.generate(p, SamplingParams())).completions[0].text for p in (a, b, a)]
    again = MeteredGenerator(EchoSeed(), asyncio.Semaphore(1), Meter(), seed=5)
    second = [(await again.generate(p, SamplingParams())).completions[0].text for p in (b, a, a)]
    assert first[0] != first[2]  # a prompt's second sample gets another seed
    assert sorted(first) == sorted(second) and first[1] == second[0]  # order-independent
    assert meter.model_calls == 3 and meter.usage.prompt_tokens == 9


def test_the_seven_pipelines_and_copa() -> None:
    assert set(PIPELINES) == set(Pipeline)
