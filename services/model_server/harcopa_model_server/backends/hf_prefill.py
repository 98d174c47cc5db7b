"""Prefill for the transformers backend: each prompt once, from its longest cached prefix.

Called by :class:`hf_decode.Decoder` on its decoding thread at the start of every batch:

- :meth:`Prefiller.prefill` runs one prompt alone (no padding). It looks the prompt up in the
  :class:`~harcopa_model_server.backends.prefix_cache.PrefixCache`: an exact repeat reuses the
  cached keys, values and last logits without any forward pass; otherwise the longest cached
  common prefix (at most all tokens but the last) is reused and only the rest of the prompt is
  run. The prompt's own keys, values and last logits are then cached for later requests.
  ``cached_tokens`` is the number of prompt tokens whose keys and values were not computed.
- :meth:`Prefiller.batch` left-pads the prompts' caches to one width, repeats each request's row
  ``n`` times (the ``n`` samples share one prefill) and returns the batch cache, the first
  logits, the attention mask and the next position of every row.

Only full-attention caches (transformers' ``DynamicLayer``) can be cut at a prefix and padded;
models with sliding-window or recurrent layers are refused at start with that reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harcopa.errors import BackendUnavailable
from harcopa_model_server import metrics
from harcopa_model_server.backends.prefix_cache import PrefixCache

#: ``forward(cache, **inputs) -> last-position logits (float32)``, the decoder's model call.
Forward = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Prefilled:
    """One prompt after prefill: per-layer (keys, values) of shape [1, heads, tokens, head_dim],
    the float32 logits of the next token, and how many prompt tokens came from the cache."""

    layers: tuple[tuple[Any, Any], ...]
    logits: Any
    cached_tokens: int

    @property
    def length(self) -> int:
        return int(self.layers[0][0].shape[-2])

    @property
    def nbytes(self) -> int:
        tensors = [t for pair in self.layers for t in pair] + [self.logits]
        return sum(int(t.numel()) * int(t.element_size()) for t in tensors)


def cache_layers(cache: Any) -> tuple[tuple[Any, Any], ...]:
    """(keys, values) of every layer of a transformers DynamicCache (4.5x and 5.x layouts)."""
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return tuple((layer.keys, layer.values) for layer in layers)
    return tuple(zip(cache.key_cache, cache.value_cache, strict=True))


class Prefiller:
    """Prefills prompts for one loaded model, sharing a bounded prefix cache between requests."""

    def __init__(self, model: Any, forward: Forward, cache: PrefixCache) -> None:
        from transformers import DynamicCache

        self.model = model
        self.cache = cache
        self.device = next(model.parameters()).device
        self._forward = forward
        self._new_cache: Callable[[], Any] = lambda: DynamicCache(config=model.config)
        kinds = {type(layer).__name__ for layer in getattr(self._new_cache(), "layers", ())}
        if kinds - {"DynamicLayer"}:
            raise BackendUnavailable(
                f"the transformers backend needs full-attention KV caches; this model has "
                f"{sorted(kinds)} layers (serve it with the vllm backend)"
            )

    def _cache_of(self, layers: Sequence[tuple[Any, Any]]) -> Any:
        cache = self._new_cache()
        for index, (keys, values) in enumerate(layers):
            cache.update(keys, values, index)
        return cache

    def prefill(self, ids: tuple[int, ...]) -> Prefilled:
        """The prompt ``ids`` prefilled, reusing (and then refreshing) the prefix cache."""
        import torch

        entry, shared = self.cache.lookup(ids) if self.cache.enabled else (None, 0)
        if entry is not None and shared == len(ids) == len(entry.ids):
            stored: Prefilled = entry.payload  # type: ignore[assignment]
            return Prefilled(stored.layers, stored.logits, len(ids))
        reuse = min(shared, len(ids) - 1)
        past = () if entry is None or reuse == 0 else entry.payload.layers  # type: ignore[attr-defined]
        cache = self._cache_of([(k[:, :, :reuse], v[:, :, :reuse]) for k, v in past])
        device = self.device
        logits = self._forward(
            cache,
            input_ids=torch.tensor([ids[reuse:]], dtype=torch.long, device=device),
            attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=device),
            position_ids=torch.arange(reuse, len(ids), dtype=torch.long, device=device)[None],
        )
        done = Prefilled(cache_layers(cache), logits[0], reuse)
        if self.cache.enabled:
            self.cache.insert(ids, done, done.nbytes)
            metrics.PREFIX_CACHE_BYTES.set(self.cache.bytes)
            metrics.PREFIX_CACHE_ENTRIES.set(len(self.cache))
        return done

    def batch(self, prompts: Sequence[Prefilled], owners: Sequence[int]) -> tuple[Any, ...]:
        """(cache, logits, attention mask, next positions) with one row per entry of ``owners``
        (an index into ``prompts``); prompts are left-padded to the longest one."""
        import torch
        from torch.nn.functional import pad

        width = max(p.length for p in prompts)
        index = torch.tensor(list(owners), dtype=torch.long, device=self.device)
        merged = []
        for pairs in zip(*(p.layers for p in prompts), strict=True):
            keys = [pad(k, (0, 0, width - k.shape[-2], 0)) for k, _ in pairs]
            values = [pad(v, (0, 0, width - v.shape[-2], 0)) for _, v in pairs]
            merged.append((torch.cat(keys)[index], torch.cat(values)[index]))
        attention = torch.zeros((len(prompts), width), dtype=torch.long, device=self.device)
        for i, prompt in enumerate(prompts):
            attention[i, width - prompt.length :] = 1
        positions = torch.tensor([p.length for p in prompts], device=self.device)
        logits = torch.stack([p.logits for p in prompts])
        return self._cache_of(merged), logits[index], attention[index], positions[index]
