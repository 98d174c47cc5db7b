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
#: Words of the probe's long prompt, about a solver prompt's length.
PROBE_PROMPT_WORDS = 600
#: From this estimate on, ``eval`` warns before starting.
WARN_SECONDS = 3600.0


@dataclass(frozen=True)
class Bound:
    """The most model work one problem can take."""

    requests: int
    completion_tokens: int


def problem_bound(spec: d.RunSpec) -> Bound:
    """The most model requests and completion tokens one problem of ``spec`` can take."""
    p = spec.params
    searches = (p.prover_expansions, p.prover_expansions * p.prover_samples * p.prover_max_tokens)
    prover = searches if spec.pipeline.hierarchical else (0, 0)
    tries = p.tries_for(spec.pipeline)
    match spec.pipeline:
        case d.Pipeline.AR | d.Pipeline.HAR:
            # A trial samples (one completion per request at worst) until one is usable; a
            # drafted step or a submission then runs one proof search.
            per_trial = (p.solver_samples + prover[0], p.solver_samples * p.solver_max_tokens)
            return Bound(p.ks * per_trial[0], p.ks * (per_trial[1] + prover[1]))
        case d.Pipeline.BFS | d.Pipeline.H_BFS:
            requests = math.ceil(p.ks / max(p.solver_samples, 1))
            tokens = requests * p.solver_samples * p.solver_max_tokens
            return Bound(requests + p.ks * prover[0], tokens + p.ks * prover[1])
        case d.Pipeline.WG | d.Pipeline.H_WG:
            drafts = tries
        case _:  # H-SA and CoPA: up to K_W drafting tries per outer attempt
            drafts = tries * tries
    return Bound(
        drafts + tries * GAPS_PER_DRAFT * prover[0],
        drafts * p.solver_max_tokens + tries * GAPS_PER_DRAFT * prover[1],
    )


@dataclass(frozen=True)
class Speed:
    """What the model server showed: seconds to read a prompt of :data:`PROBE_PROMPT_WORDS`
    words, and completion tokens per second with ``samples`` completions at once."""

    prompt_seconds: float
    tokens_per_second: float
    samples: int


async def measure_speed(target: str, samples: int) -> Speed:
    """Time a long prompt and a batch of ``samples`` completions on the server at ``target``."""
    from harcopa.model_client import ModelClient

    def prompt(text: str) -> d.Prompt:
        return d.Prompt(messages=(d.ChatMessage("user", text),))

    salt = f"{time.time_ns()}"  # a prompt no cache holds
    long_prompt = prompt(
        " ".join(f"h{salt}_{i} : x{i} = {i}" for i in range(PROBE_PROMPT_WORDS // 8))
    )
    async with ModelClient(target, timeout_seconds=900) as client:
        # The first request of a fresh server pays one-time set-up: not part of the speed.
        await client.generate(prompt("Hello."), d.SamplingParams(n=1, max_tokens=2))
        started = time.perf_counter()
        await client.generate(long_prompt, d.SamplingParams(n=1, max_tokens=1))
        prompt_seconds = time.perf_counter() - started
        started = time.perf_counter()
        params = d.SamplingParams(n=samples, temperature=0.7, max_tokens=PROBE_TOKENS)
        generation = await client.generate(prompt(PROBE_PROMPT), params)
        seconds = time.perf_counter() - started
    tokens = max(generation.usage.completion_tokens, 1)
    return Speed(prompt_seconds, tokens / max(seconds, 1e-6), samples)


def probe_samples(spec: d.RunSpec) -> int:
    """Completions the probe asks for at once: about what the run keeps in flight."""
    return max(1, min(spec.params.solver_samples * spec.max_concurrent_problems, 16))


def describe(spec: d.RunSpec, problems: int, speed: Speed) -> tuple[str, bool]:
    """The line ``eval`` prints, and whether it is a warning (hours or more)."""
    from harcopa_cli.progress import duration

    bound = problem_bound(spec)
    requests, tokens = bound.requests * problems, bound.completion_tokens * problems
    seconds = requests * speed.prompt_seconds + tokens / speed.tokens_per_second
    line = (
        f"estimate: at most {duration(seconds)} of model time for {problems} problems"
        f" ({requests:,} requests, {tokens:,} completion tokens if every budget were spent and"
        f" every completion ran to its limit; measured here: {speed.prompt_seconds:.1f} s per"
        f" prompt, {speed.tokens_per_second:.1f} tokens/s with {speed.samples} samples at once);"
        " most problems end much sooner"
    )
    warn = seconds >= WARN_SECONDS
    if warn:
        line += (
            "\nwarning: this run may take hours or more on this backend; `--preset smoke` runs"
            " a few problems at tiny budgets, a GPU (vLLM) is much faster"
        )
    return line, warn
