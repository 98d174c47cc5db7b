"""How long a run may take, from its budgets and the model backend's measured speed; printed by
``harcopa eval`` before the run starts, with a warning when it is hours or more.

The figure is an upper bound of the model's time: every completion is assumed to run to its
token limit and every budget to be spent (a problem usually ends sooner, at its first accepted
submission). Lean's time is not included: on lean-sim it is negligible, on real Lean it runs
beside the model on the verifier's processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from harcopa import domain as d

#: Gaps per whole draft assumed by the bound (a draft's gaps are not known in advance).
GAPS_PER_DRAFT = 4
#: Completion tokens of the speed probe, per sample.
PROBE_TOKENS = 24
PROBE_PROMPT = "Count from 1 to 200, separated by spaces."
#: From this estimate on, ``eval`` warns before starting.
WARN_SECONDS = 3600.0


def completion_tokens_bound(spec: d.RunSpec) -> int:
    """The most completion tokens one problem of ``spec`` can ask the models for."""
    p = spec.params
    proof_search = p.prover_expansions * p.prover_samples * p.prover_max_tokens
    prover = proof_search if spec.pipeline.hierarchical else 0
    step = p.solver_samples * p.solver_max_tokens
    tries = p.tries_for(spec.pipeline)
    match spec.pipeline:
        case d.Pipeline.AR | d.Pipeline.HAR:
            # A trial samples until one completion is usable; a drafted step or a submission
            # then runs one proof search.
            return p.ks * (step + prover)
        case d.Pipeline.BFS | d.Pipeline.H_BFS:
            requests = math.ceil(p.ks / max(p.solver_samples, 1))
            return requests * step + p.ks * prover
        case d.Pipeline.WG | d.Pipeline.H_WG:
            return tries * (p.solver_max_tokens + GAPS_PER_DRAFT * prover)
        case _:  # H-SA and CoPA: up to K_W drafting tries per outer attempt
            return tries * (tries * p.solver_max_tokens + GAPS_PER_DRAFT * prover)


@dataclass(frozen=True)
class Speed:
    tokens_per_second: float
    samples: int
    seconds: float


async def measure_speed(target: str, samples: int) -> Speed:
    """Time one request of ``samples`` completions on the model server at ``target``."""
    from harcopa.model_client import ModelClient

    prompt = d.Prompt(messages=(d.ChatMessage("user", PROBE_PROMPT),))
    params = d.SamplingParams(n=samples, temperature=0.7, max_tokens=PROBE_TOKENS)
    async with ModelClient(target, timeout_seconds=600) as client:
        # The first request of a fresh server pays one-time set-up: not part of the speed.
        await client.generate(prompt, d.SamplingParams(n=1, max_tokens=2))
        started = time.perf_counter()
        generation = await client.generate(prompt, params)
        seconds = time.perf_counter() - started
    tokens = max(generation.usage.completion_tokens, 1)
    return Speed(tokens / max(seconds, 1e-6), samples, seconds)


def probe_samples(spec: d.RunSpec) -> int:
    """Completions the probe asks for at once: about what the run keeps in flight."""
    return max(1, min(spec.params.solver_samples * spec.max_concurrent_problems, 16))


def describe(spec: d.RunSpec, problems: int, speed: Speed) -> tuple[str, bool]:
    """The line ``eval`` prints, and whether it is a warning (hours or more)."""
    from harcopa_cli.progress import duration

    tokens = completion_tokens_bound(spec) * problems
    seconds = tokens / speed.tokens_per_second
    line = (
        f"estimate: at most {duration(seconds)} of model time for {problems} problems"
        f" ({tokens:,} completion tokens if every completion ran to its limit, at the measured"
        f" {speed.tokens_per_second:.1f} tokens/s with {speed.samples} samples at once);"
        " most problems end sooner"
    )
    if seconds >= WARN_SECONDS:
        line += (
            "\nwarning: this run may take hours or more on this backend; `--preset smoke` runs"
            " a few problems at tiny budgets, a GPU (vLLM) is much faster"
        )
    return line, seconds >= WARN_SECONDS
