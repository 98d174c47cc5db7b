"""The model simulator backend: deterministic scripted completions plus a latency model.

Built by ``build_generator`` for ``kind: sim`` and used directly by the orchestrator's tests to
script solver and prover behaviour. It is not a language model and says so: its model name is
``simulator/<scenario name>``. A scenario (JSON file or inline) holds:

- ``rules``: the first rule whose ``match`` regex is found in the prompt (the last user message,
  or the raw text) and whose optional ``system`` regex is found in the system message answers.
  ``responses`` is a per-call sequence: the k-th matching call gets ``responses[k]`` (counted
  per distinct prompt unless ``count_by`` is ``rule``); past the end it cycles, or repeats the
  last entry with ``after: last``. ``completions`` is shorthand for one entry used every call.
  A call's list is repeated or cut to ``n`` items. With ``pick: seed`` the rule keeps no count:
  each of the ``n`` samples is drawn from ``completions`` by the request's seed and the
  sample's position (unseeded requests draw as seed 0), so a request sent again — after a
  restart of this server or of its caller — gets the same answer.
- a completion is a string or ``{text, finish_reason, logprobs, nll, tokens}``; sampling
  parameters still apply: stop strings cut the text (STOP), ``max_tokens`` cuts it (LENGTH).
  Tokens are counted as words and punctuation marks (or given by ``tokens``, or by the length
  of ``logprobs``). Without ``logprobs`` a completion gets
  ``-nll`` per token, ``nll`` defaulting to a value derived from a hash of its text.
- ``default``: the answer when no rule matches (``null`` makes that an INVALID_ARGUMENT error).
- ``latency``: per-request overhead, per uncached prompt token, per generated token (of the
  longest sample) and ``slots``, the number of requests served at once (the simulated GPUs).
  Prompts sharing a prefix with a recent prompt get that prefix as cached prompt tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from collections import deque
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from harcopa.domain import Completion, FinishReason, Generation, Prompt, SamplingParams, TokenUsage
from harcopa.errors import InvalidRequest

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])")


def count_tokens(text: str) -> int:
    """The simulator's token count: words and single punctuation marks."""
    return len(_TOKEN.findall(text))


class SimCompletion(BaseModel):
    """One scripted completion."""

    text: str
    finish_reason: Literal["stop", "length"] = "stop"
    logprobs: list[float] | None = Field(None, description="Per-token log-probabilities.")
    nll: float | None = Field(None, ge=0, description="Mean negative log-probability per token.")
    tokens: int | None = Field(None, ge=0, description="Token count (default: counted).")


def _completions(value: object) -> object:
    """Accept a bare string, one object or a list of either for a list of completions."""
    if isinstance(value, str | dict):
        value = [value]
    if isinstance(value, list):
        return [{"text": x} if isinstance(x, str) else x for x in value]
    return value


class SimRule(BaseModel):
    """Prompt pattern -> completions per call."""

    match: str = Field("", description="Regex searched in the last user message or raw text.")
    system: str | None = Field(None, description="Regex that must be found in the system text.")
    responses: list[list[SimCompletion]] = Field(
        default_factory=list, description="The k-th matching call answers with responses[k]."
    )
    completions: list[SimCompletion] | None = Field(None, description="Same answer every call.")
    after: Literal["cycle", "last"] = Field("cycle", description="Past the end of responses.")
    pick: Literal["sequence", "seed"] = Field(
        "sequence",
        description="sequence: the k-th call gets responses[k]; seed: each sample is drawn from "
        "completions by (request seed, sample index), with no state kept.",
    )
    count_by: Literal["prompt", "rule"] = Field(
        "prompt", description="Count calls per distinct prompt, or per rule."
    )

    @field_validator("completions", mode="before")
    @classmethod
    def _coerce_completions(cls, value: object) -> object:
        return _completions(value) if value is not None else None

    @field_validator("responses", mode="before")
    @classmethod
    def _coerce_responses(cls, value: object) -> object:
        return [_completions(x) for x in value] if isinstance(value, list) else value

    def answer(self, call: int) -> list[SimCompletion]:
        if not self.responses:
            return self.completions or [SimCompletion(text="")]
        if call < len(self.responses) or self.after == "cycle":
            return self.responses[call % len(self.responses)]
        return self.responses[-1]


class SimLatency(BaseModel):
    """Simulated service times, in seconds."""

    request_seconds: float = Field(0.0, ge=0, description="Fixed overhead per request.")
    prompt_token_seconds: float = Field(0.0, ge=0, description="Per uncached prompt token.")
    token_seconds: float = Field(0.0, ge=0, description="Per generated token of the longest one.")
    slots: int = Field(0, ge=0, description="Requests served at once (0: unlimited).")


class Scenario(BaseModel):
    """A whole simulator script (see the module docstring)."""

    name: str = "scripted"
    rules: list[SimRule] = Field(default_factory=list)
    default: list[SimCompletion] | None = Field(default_factory=lambda: [SimCompletion(text="")])
    latency: SimLatency = Field(default_factory=SimLatency)

    @field_validator("default", mode="before")
    @classmethod
    def _coerce_default(cls, value: object) -> object:
        return _completions(value) if value is not None else None

    @classmethod
    def load(cls, path: Path) -> Scenario:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


class SimulatedConfig(BaseModel):
    """Serve the model simulator from a scenario file or an inline scenario."""

    kind: Literal["sim"] = "sim"
    scenario_path: Path | None = Field(None, description="JSON scenario file for the simulator.")
    scenario: Scenario | None = Field(None, description="Inline scenario (wins over the file).")
    latency: SimLatency | None = Field(None, description="Overrides the scenario's latency.")
    prefix_cache_prompts: int = Field(256, ge=0, description="Recent prompts kept for caching.")


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.S | re.M)
    except re.error as exc:
        raise ValueError(f"bad regex {pattern!r} in the simulator scenario: {exc}") from exc


def _common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix of two strings (binary search on C-speed slices)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _default_nll(text: str) -> float:
    """A stable pseudo-random mean NLL in [0.05, 1.5) for completions that give none."""
    digest = hashlib.sha256(text.encode()).digest()
    return 0.05 + 1.45 * int.from_bytes(digest[:4], "big") / 2**32


def _shape(spec: SimCompletion, params: SamplingParams) -> Completion:
    """Apply stop strings and ``max_tokens`` to a scripted completion."""
    text, finish = spec.text, FinishReason(spec.finish_reason)
    hits = [i for i in (text.find(s) for s in params.stop) if i >= 0]
    if hits:
        text, finish = text[: min(hits)], FinishReason.STOP
    tokens = list(_TOKEN.finditer(text))
    if len(tokens) > params.max_tokens:
        text, finish = text[: tokens[params.max_tokens - 1].end()], FinishReason.LENGTH
        tokens = tokens[: params.max_tokens]
    num = len(tokens)
    if text == spec.text:  # untouched: the scenario's own token count wins
        given = spec.logprobs
        num = spec.tokens if spec.tokens is not None else len(given) if given else num
    logprobs: tuple[float, ...] = ()
    if params.logprobs:
        if spec.logprobs is not None:
            logprobs = tuple(spec.logprobs[:num])
        else:
            nll = spec.nll if spec.nll is not None else _default_nll(spec.text)
            logprobs = (-nll,) * num
    return Completion(text, finish, logprobs, num_tokens=num)


class SimulatedGenerator:
    """The model simulator: scripted, deterministic completions with simulated latency."""

    backend = "sim"

    def __init__(self, config: SimulatedConfig | None = None, *, scenario: Scenario | None = None):
        config = config or SimulatedConfig()
        if scenario is None:
            scenario = config.scenario
        if scenario is None and config.scenario_path is not None:
            scenario = Scenario.load(config.scenario_path)
        self.scenario = scenario or Scenario()
        self.latency = config.latency or self.scenario.latency
        self.model_name = f"simulator/{self.scenario.name}"
        self._patterns = [
            (
                re.compile(r.match, re.S | re.M),
                re.compile(r.system, re.S | re.M) if r.system else None,
            )
            for r in self.scenario.rules
        ]
        self._calls: dict[tuple[int, str], int] = {}
        self._recent: deque[str] = deque(maxlen=config.prefix_cache_prompts)
        slots = self.latency.slots
        self._slots = asyncio.Semaphore(slots) if slots else None
        self.calls = 0
        #: Simulated service time of the requests answered so far (seconds, slot-held).
        self.busy_seconds = 0.0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _script(self, prompt: Prompt, params: SamplingParams) -> list[SimCompletion]:
        """The ``n`` scripted completions answering one request."""
        rule = self._rule(prompt)
        if rule is not None and rule.pick == "seed":
            pool = rule.completions or [c for r in rule.responses for c in r]
            return [pool[_draw(params.seed or 0, i, len(pool))] for i in range(params.n)]
        script = self._sequence(prompt, rule)
        return [script[i % len(script)] for i in range(params.n)]

    def _rule(self, prompt: Prompt) -> SimRule | None:
        text, system = _prompt_texts(prompt)
        for rule, (pattern, system_pattern) in zip(
            self.scenario.rules, self._patterns, strict=True
        ):
            if pattern.search(text) and (system_pattern is None or system_pattern.search(system)):
                return rule
        return None

    def _sequence(self, prompt: Prompt, rule: SimRule | None) -> list[SimCompletion]:
        if rule is not None:
            index = self.scenario.rules.index(rule)
            counter = (index, _prompt_key(prompt) if rule.count_by == "prompt" else "")
            call = self._calls.get(counter, 0)
            self._calls[counter] = call + 1
            return rule.answer(call)
        if self.scenario.default is None:
            raise InvalidRequest(f"no rule of simulator scenario {self.scenario.name!r} matches")
        return self.scenario.default

    def _cached_tokens(self, key: str) -> int:
        best = max((_common_prefix(key, seen) for seen in self._recent), default=0)
        self._recent.append(key)
        return count_tokens(key[:best])

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        started = time.perf_counter()
        self.calls += 1
        completions = tuple(_shape(spec, params) for spec in self._script(prompt, params))
        key = _prompt_key(prompt)
        prompt_tokens = count_tokens(key)
        cached = self._cached_tokens(key)
        longest = max(c.num_tokens for c in completions)
        lat = self.latency
        seconds = (
            lat.request_seconds
            + lat.prompt_token_seconds * (prompt_tokens - cached)
            + lat.token_seconds * longest
        )
        if seconds > 0:
            async with self._slots or contextlib.nullcontext():
                await asyncio.sleep(seconds)  # cancellation ends the wait at once
                self.busy_seconds += seconds
        usage = TokenUsage(prompt_tokens, sum(c.num_tokens for c in completions), cached)
        return Generation(completions, usage, self.model_name, time.perf_counter() - started)


def _draw(seed: int, sample: int, size: int) -> int:
    """A stable choice among ``size`` items for one sample of a seeded request."""
    digest = hashlib.blake2b(f"{seed}/{sample}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % size


def _prompt_texts(prompt: Prompt) -> tuple[str, str]:
    """(the text rules match: the last user message or the raw text, the system text)."""
    if prompt.text is not None:
        return prompt.text, ""
    users = [m.content for m in prompt.messages if m.role == "user"]
    system = "\n".join(m.content for m in prompt.messages if m.role == "system")
    return (users[-1] if users else ""), system


def _prompt_key(prompt: Prompt) -> str:
    if prompt.text is not None:
        return prompt.text
    return "\n".join(f"{m.role}: {m.content}" for m in prompt.messages)
