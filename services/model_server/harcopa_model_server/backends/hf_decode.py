"""The batched sampling loop over a Hugging Face causal LM; run by TransformersGenerator's batcher.

One call decodes a batch of requests together on a worker thread:

- **Shared prefill.** The batch's prompts are left-padded and prefilled in one forward pass; the
  KV cache is then expanded so each request's ``n`` samples start from its one prefill.
- **Per-request sampling.** Each request keeps its own temperature (0 = greedy), top-p and
  ``torch.Generator`` (seeded when the request has a seed, so results are reproducible).
- **Log-probabilities** are those of the *raw model distribution*: ``log_softmax`` of the
  unscaled logits at each generated position, before temperature and top-p are applied. This is
  what vLLM and OpenAI-compatible servers return by default, so every backend reports the same
  quantity (and the NALP priority of official-impl §4.2 means the same thing everywhere).
- **Finishing.** An end-of-sequence token or a stop string ends a sample with STOP (the text is
  cut before the stop string; the EOS token is not part of the text, but it is counted in
  ``num_tokens`` and has a log-probability); ``max_tokens`` or the context size with LENGTH.
- **Cancellation.** A job whose ``cancel`` flag is set loses its rows at the next step; finished
  rows leave the batch too, so the cost per step follows the live rows.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harcopa.domain import Completion, FinishReason, SamplingParams
from harcopa_model_server.batching import Job, Report


@dataclass(frozen=True, slots=True)
class DecodeRequest:
    """Token ids of one rendered prompt and how to sample from it (``params.n`` rows)."""

    prompt_ids: tuple[int, ...]
    params: SamplingParams


@dataclass(slots=True)
class _Row:
    """One sample being decoded: its owner job (index in the batch) and what it has so far."""

    owner: int
    ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    text: str | None = None
    finish: FinishReason | None = None


def _top_p(probs: Any, top_p: float) -> Any:
    """Zero the tail of each row outside the smallest set whose mass reaches ``top_p``."""
    import torch

    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs > top_p
    sorted_probs = sorted_probs.masked_fill(outside, 0.0)
    return torch.zeros_like(probs).scatter(-1, order, sorted_probs)


class Decoder:
    """Decodes batches for one loaded model; stateless between calls (safe on one thread)."""

    def __init__(self, model: Any, tokenizer: Any, *, eos_ids: set[int], max_length: int) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.max_length = max_length
        self.device = next(model.parameters()).device
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else min(eos_ids, default=0))
        # transformers 5.x renamed the cache argument of ``forward`` (past_key_values -> cache).
        params = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"

    def _forward(self, cache: Any, **inputs: Any) -> Any:
        out = self.model(use_cache=True, logits_to_keep=1, **{self._cache_kwarg: cache}, **inputs)
        return out.logits[:, -1, :].float()

    def _prefill(self, jobs: Sequence[Job[DecodeRequest]]) -> tuple[Any, Any, Any, Any]:
        """One forward over the left-padded prompts, expanded to one row per sample."""
        import torch
        from transformers import DynamicCache

        prompts = [job.request.prompt_ids for job in jobs]
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, ids in enumerate(prompts):
            input_ids[i, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention[i, width - len(ids) :] = 1
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.model.config)
        logits = self._forward(
            cache, input_ids=input_ids, attention_mask=attention, position_ids=positions
        )
        owners = [i for i, job in enumerate(jobs) for _ in range(job.request.params.n)]
        index = torch.tensor(owners, dtype=torch.long, device=self.device)
        cache.batch_select_indices(index)
        return cache, logits[index], attention[index], positions[index, -1] + 1

    def _sample(
        self, logits: Any, owners: list[int], jobs: Sequence[Job[DecodeRequest]], gens: list[Any]
    ) -> tuple[list[int], list[float]]:
        """Next token of every live row, and its log-probability under the raw distribution."""
        import torch

        tokens = torch.empty(len(owners), dtype=torch.long, device=logits.device)
        groups: dict[int, list[int]] = {}
        for k, owner in enumerate(owners):
            groups.setdefault(owner, []).append(k)
        for owner, ks in groups.items():
            params = jobs[owner].request.params
            index = torch.tensor(ks, dtype=torch.long, device=logits.device)
            sub = logits[index]
            if params.temperature <= 0:
                tokens[index] = sub.argmax(dim=-1)
                continue
            probs = torch.softmax(sub / params.temperature, dim=-1)
            if params.top_p < 1.0:
                probs = _top_p(probs, params.top_p)
            tokens[index] = torch.multinomial(probs, 1, generator=gens[owner]).squeeze(1)
        logprobs = torch.log_softmax(logits, dim=-1).gather(1, tokens[:, None]).squeeze(1)
        return tokens.tolist(), logprobs.tolist()

    def _advance(
        self, row: _Row, token: int, logprob: float, params: SamplingParams, plen: int
    ) -> None:
        """Append one token to ``row`` and decide whether it has finished."""
        row.ids.append(token)
        row.logprobs.append(logprob)
        if token in self.eos_ids:
            row.finish = FinishReason.STOP
            return
        if params.stop:
            text = self.tokenizer.decode(row.ids, skip_special_tokens=True)
            hits = [i for i in (text.find(s) for s in params.stop) if i >= 0]
            if hits:
                row.text, row.finish = text[: min(hits)], FinishReason.STOP
                return
        if len(row.ids) >= params.max_tokens or plen + len(row.ids) >= self.max_length:
            row.finish = FinishReason.LENGTH

    def _completion(self, row: _Row, params: SamplingParams) -> Completion:
        if row.text is None:
            ids = row.ids[:-1] if row.ids and row.ids[-1] in self.eos_ids else row.ids
            row.text = self.tokenizer.decode(ids, skip_special_tokens=True)
        assert row.finish is not None
        logprobs = tuple(row.logprobs) if params.logprobs else ()
        return Completion(row.text, row.finish, logprobs, num_tokens=len(row.ids))

    def run(self, jobs: Sequence[Job[DecodeRequest]], report: Report[DecodeRequest]) -> None:
        """Decode every job of the batch; ``report(job, list[Completion])`` as each finishes."""
        import torch

        with torch.inference_mode():
            self._run(jobs, report)

    def _run(self, jobs: Sequence[Job[DecodeRequest]], report: Report[DecodeRequest]) -> None:
        import torch

        gens = []
        for job in jobs:
            seed = job.request.params.seed
            gen = torch.Generator(device=self.device)
            gen.manual_seed(seed if seed is not None else random.SystemRandom().getrandbits(63))
            gens.append(gen)
        cache, logits, attention, positions = self._prefill(jobs)
        rows = [_Row(i) for i, job in enumerate(jobs) for _ in range(job.request.params.n)]
        live = list(range(len(rows)))  # indices into ``rows``, aligned with the tensors' rows
        left = [job.request.params.n for job in jobs]  # unfinished rows per job
        while live:
            for k in live:  # a cancelled job's rows end now; its caller is gone
                if jobs[rows[k].owner].cancel.is_set():
                    rows[k].finish = FinishReason.CANCELLED
            owners = [rows[k].owner for k in live]
            tokens, logprobs = self._sample(logits, owners, jobs, gens)
            for k, token, logprob in zip(live, tokens, logprobs, strict=True):
                row = rows[k]
                if row.finish is not None:
                    continue
                request = jobs[row.owner].request
                self._advance(row, token, logprob, request.params, len(request.prompt_ids))
                if row.finish is not None:
                    left[row.owner] -= 1
                    if left[row.owner] == 0:
                        mine = [r for r in rows if r.owner == row.owner]
                        report(jobs[row.owner], [self._completion(r, request.params) for r in mine])
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
