"""Model-facing domain types: prompts, sampling parameters, completions and token usage.

Used by the model server's backends and by the orchestrator's model client.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """Either chat messages (rendered with a chat template) or raw text, never both."""

    messages: tuple[ChatMessage, ...] = ()
    text: str | None = None

    def __post_init__(self) -> None:
        if bool(self.messages) == (self.text is not None):
            raise ValueError("a prompt is either chat messages or raw text")


class LogprobsMode(enum.Enum):
    """Which distribution per-token log-probabilities are taken from.

    RAW is the model's own distribution (log-softmax of the unscaled logits). PROCESSED is the
    distribution the token was sampled from: the logits divided by the temperature, with the
    tokens outside ``top_p`` removed, then log-softmax (greedy requests: the raw distribution).
    PROCESSED is what vLLM 0.7.3's engine V0 returned, the quantity behind the paper's NALP
    priorities (official-impl §4.2).
    """

    RAW = "raw"
    PROCESSED = "processed"


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """Sampling settings; ``max_tokens`` counts generated tokens, ``seed`` None is random;
    ``logprobs_mode`` says which distribution ``logprobs`` come from (see LogprobsMode)."""

    n: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = False
    logprobs_mode: LogprobsMode = LogprobsMode.RAW


class FinishReason(enum.Enum):
    STOP = "stop"  # end of sequence or a stop string
    LENGTH = "length"  # hit max_tokens
    CANCELLED = "cancelled"

    @classmethod
    def of_openai(cls, reason: str | None) -> FinishReason:
        """The reason of an OpenAI-style ``finish_reason`` (vLLM's too): ``abort`` is CANCELLED,
        an unknown or missing one STOP."""
        return _OPENAI_FINISH.get(reason or "", cls.STOP)


_OPENAI_FINISH = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "abort": FinishReason.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class Completion:
    """One sample: its text, per-token log-probabilities (natural log) and why it ended."""

    text: str
    finish_reason: FinishReason
    token_logprobs: tuple[float, ...] = ()
    num_tokens: int = 0

    @property
    def mean_nll(self) -> float:
        """Mean negative log-probability per generated token (0.0 without logprobs)."""
        if not self.token_logprobs:
            return 0.0
        return -sum(self.token_logprobs) / len(self.token_logprobs)


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_prompt_tokens + other.cached_prompt_tokens,
        )


@dataclass(frozen=True, slots=True)
class Generation:
    """The answer to one generate call: n completions and the request's token usage."""

    completions: tuple[Completion, ...]
    usage: TokenUsage
    model: str = ""
    seconds: float = 0.0
