"""The batched sampling loop over a Hugging Face causal LM; run by TransformersGenerator's batcher.

One call decodes a batch of requests together on a worker thread:

- **Prefill with prefix reuse.** Each prompt is prefilled once (``hf_prefill.Prefiller``) from
  its longest prefix in the bounded prefix cache, so the ``n`` samples of a request and the
  repeated prompts of a search share their prompt's keys and values; the prompts are then
  left-padded into one batch cache with one row per sample.
- **Per-request sampling.** Each request keeps its own temperature (0 = greedy), top-p and
  ``torch.Generator`` (seeded when the request has a seed, so results are reproducible).
- **Log-probabilities** follow the request's ``logprobs_mode``: RAW is ``log_softmax`` of the
  unscaled logits (what vLLM and OpenAI-compatible servers return by default); PROCESSED is
  ``log_softmax`` of the logits the token was sampled from, divided by the temperature and with
  the tokens outside ``top_p`` removed (what vLLM 0.7.3 engine V0 returned, the paper's NALP
  priorities); for greedy requests both are the raw distribution, as in vLLM.
- **Finishing.** An end-of-sequence token or a stop string ends a sample with STOP (the text is
  cut before the stop string; the EOS token is not part of the text, but it is counted in
  ``num_tokens`` and has a log-probability); ``max_tokens`` or the context size with LENGTH.
  Stop strings are checked on incrementally decoded text (``detokenize.py``), so a step costs
  the same at token 10 and at token 2000.
- **Cancellation.** A job whose ``cancel`` flag is set loses its rows at the next step; finished
  rows leave the batch too, so the cost per step follows the live rows.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harcopa.domain import Completion, FinishReason, LogprobsMode, SamplingParams
from harcopa_model_server.backends.detokenize import IncrementalText, StopMatcher, cut_at_stop
from harcopa_model_server.backends.hf_prefill import Prefiller
from harcopa_model_server.backends.prefix_cache import PrefixCache
from harcopa_model_server.batching import Job, Report


@dataclass(frozen=True, slots=True)
class DecodeRequest:
    """Token ids of one rendered prompt and how to sample from it (``params.n`` rows)."""

    prompt_ids: tuple[int, ...]
    params: SamplingParams


@dataclass(frozen=True, slots=True)
class Decoded:
    """The result of one request: its completions and the prompt tokens taken from the cache."""

    completions: tuple[Completion, ...]
    cached_prompt_tokens: int


@dataclass(slots=True)
class _Row:
    """One sample being decoded: its owner job (index in the batch) and what it has so far."""

    owner: int
    ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish: FinishReason | None = None
    stopped: bool = False  # a stop string appeared in the text
    text: IncrementalText | None = None  # set when the request has stop strings
    matcher: StopMatcher | None = None


def _top_p_mask(scaled: Any, top_p: float) -> Any:
    """``scaled`` logits with the tokens outside the smallest set of mass >= ``top_p`` at -inf."""
    import torch

    sorted_probs, order = torch.sort(torch.softmax(scaled, dim=-1), dim=-1, descending=True)
    outside_sorted = torch.cumsum(sorted_probs, dim=-1) - sorted_probs > top_p
    outside = torch.zeros_like(outside_sorted).scatter(-1, order, outside_sorted)
    return scaled.masked_fill(outside, float("-inf"))


class Decoder:
    """Decodes batches for one loaded model; only its prefix cache outlives a call (one thread)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        eos_ids: set[int],
        max_length: int,
        prefix_cache: PrefixCache | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.max_length = max_length
        self.device = next(model.parameters()).device
        # transformers 5.x renamed the cache argument of ``forward`` (past_key_values -> cache).
        params = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        if prefix_cache is None:
            prefix_cache = PrefixCache(max_bytes=0, max_entries=0)
        self.prefiller = Prefiller(model, self._forward, prefix_cache)

    def _forward(self, cache: Any, **inputs: Any) -> Any:
        out = self.model(use_cache=True, logits_to_keep=1, **{self._cache_kwarg: cache}, **inputs)
        return out.logits[:, -1, :].float()

    def _decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def _sample(
        self, logits: Any, owners: list[int], jobs: Sequence[Job[DecodeRequest]], gens: list[Any]
    ) -> tuple[list[int], list[float]]:
        """Next token of every live row, and its log-probability in the request's mode."""
        import torch

        tokens = torch.empty(len(owners), dtype=torch.long, device=logits.device)
        chosen = torch.empty(len(owners), dtype=torch.float32, device=logits.device)
        raw = torch.log_softmax(logits, dim=-1)
        groups: dict[int, list[int]] = {}
        for k, owner in enumerate(owners):
            groups.setdefault(owner, []).append(k)
        for owner, ks in groups.items():
            params = jobs[owner].request.params
            index = torch.tensor(ks, dtype=torch.long, device=logits.device)
            if params.temperature <= 0:
                picked, logprobs = logits[index].argmax(dim=-1), raw[index]
            else:
                scaled = logits[index] / params.temperature
                if params.top_p < 1.0:
                    scaled = _top_p_mask(scaled, params.top_p)
                probs = torch.softmax(scaled, dim=-1)
                picked = torch.multinomial(probs, 1, generator=gens[owner]).squeeze(1)
                processed = params.logprobs_mode is LogprobsMode.PROCESSED
                logprobs = torch.log_softmax(scaled, dim=-1) if processed else raw[index]
            tokens[index] = picked
            chosen[index] = logprobs.gather(1, picked[:, None]).squeeze(1)
        return tokens.tolist(), chosen.tolist()

    def _advance(
        self, row: _Row, token: int, logprob: float, params: SamplingParams, plen: int
    ) -> None:
        """Append one token to ``row`` and decide whether it has finished."""
        row.ids.append(token)
        row.logprobs.append(logprob)
        if token in self.eos_ids:
            row.finish = FinishReason.STOP
            return
        if row.text is not None and row.matcher is not None:
            if row.matcher.feed(row.text.push(row.ids)):
                row.finish, row.stopped = FinishReason.STOP, True
                return
        if len(row.ids) >= params.max_tokens or plen + len(row.ids) >= self.max_length:
            row.finish = FinishReason.LENGTH

    def _completion(self, row: _Row, params: SamplingParams) -> Completion:
        ids = row.ids[:-1] if row.ids and row.ids[-1] in self.eos_ids else row.ids
        text = self._decode(ids)  # once per sample: the whole text, as the tokenizer decodes it
        if row.stopped:
            cut = cut_at_stop(text, params.stop)
            text = cut if cut is not None else text
        assert row.finish is not None
        logprobs = tuple(row.logprobs) if params.logprobs else ()
        return Completion(text, row.finish, logprobs, num_tokens=len(row.ids))

    def _rows(self, jobs: Sequence[Job[DecodeRequest]]) -> list[_Row]:
        rows = []
        for i, job in enumerate(jobs):
            stops = job.request.params.stop
            for _ in range(job.request.params.n):
                row = _Row(i)
                if stops:
                    row.text, row.matcher = IncrementalText(self._decode), StopMatcher(stops)
                rows.append(row)
        return rows

    def run(self, jobs: Sequence[Job[DecodeRequest]], report: Report[DecodeRequest]) -> None:
        """Decode every job of the batch; ``report(job, Decoded)`` as each finishes."""
        import torch

        with torch.inference_mode():
            self._run(jobs, report)

    def _generators(self, jobs: Sequence[Job[DecodeRequest]]) -> list[Any]:
        import torch

        gens = []
        for job in jobs:
            seed = job.request.params.seed
            gen = torch.Generator(device=self.device)
            gen.manual_seed(seed if seed is not None else random.SystemRandom().getrandbits(63))
            gens.append(gen)
        return gens

    def _run(self, jobs: Sequence[Job[DecodeRequest]], report: Report[DecodeRequest]) -> None:
        import torch

        gens = self._generators(jobs)
        prompts = [self.prefiller.prefill(job.request.prompt_ids) for job in jobs]
        rows = self._rows(jobs)
        cache, logits, attention, positions = self.prefiller.batch(prompts, [r.owner for r in rows])
        live = list(range(len(rows)))  # indices into ``rows``, aligned with the tensors' rows
        left = [job.request.params.n for job in jobs]  # unfinished rows per job
        while live:
            for k in live:  # a cancelled job's rows end now; its caller is gone
                if jobs[rows[k].owner].cancel.is_set():
                    rows[k].finish = FinishReason.CANCELLED
            tokens, logprobs = self._sample(logits, [rows[k].owner for k in live], jobs, gens)
            for k, token, logprob in zip(live, tokens, logprobs, strict=True):
                row = rows[k]
                if row.finish is not None:
                    continue
                request = jobs[row.owner].request
                self._advance(row, token, logprob, request.params, len(request.prompt_ids))
                if row.finish is not None:
                    left[row.owner] -= 1
                    if left[row.owner] == 0:
                        report(jobs[row.owner], self._decoded(rows, row.owner, jobs, prompts))
            keep = [j for j, k in enumerate(live) if rows[k].finish is None]
            if not keep:
                return
            if len(keep) < len(live):
                index = torch.tensor(keep, dtype=torch.long, device=self.device)
                cache.batch_select_indices(index)
                attention, positions = attention[index], positions[index]
                tokens = [tokens[j] for j in keep]
                live = [live[j] for j in keep]
            attention = torch.cat([attention, attention.new_ones((len(live), 1))], dim=1)
            logits = self._forward(
                cache,
                input_ids=torch.tensor(tokens, dtype=torch.long, device=self.device)[:, None],
                attention_mask=attention,
                position_ids=positions[:, None],
            )
            positions = positions + 1

    def _decoded(
        self, rows: list[_Row], owner: int, jobs: Sequence[Job[DecodeRequest]], prompts: list[Any]
    ) -> Decoded:
        """The finished result of job ``owner``: its rows' completions and its cached tokens."""
        params = jobs[owner].request.params
        mine = tuple(self._completion(r, params) for r in rows if r.owner == owner)
        return Decoded(mine, prompts[owner].cached_tokens)
