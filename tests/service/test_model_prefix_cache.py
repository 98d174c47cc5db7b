"""The prefix cache's bookkeeping: longest-common-prefix lookup, insertion rules and limits.

Payloads are plain strings with a stated size; the tensors the transformers backend stores are
covered through the real server in test_model_prefix_reuse.py.
"""

from __future__ import annotations

import random

from harcopa_model_server.backends.prefix_cache import BLOCK_TOKENS, PrefixCache, common_prefix


def _ids(*parts: range | list[int]) -> tuple[int, ...]:
    return tuple(x for part in parts for x in part)


def test_lookup_finds_the_longest_common_prefix_like_a_full_scan() -> None:
    rng = random.Random(0)
    cache = PrefixCache(max_bytes=10**9, max_entries=10**6)
    system = list(range(100, 100 + 3 * BLOCK_TOKENS + 5))  # a shared "system prompt"
    stored: list[tuple[int, ...]] = []
    for _ in range(60):
        ids = _ids(system[: rng.randint(0, len(system))], [rng.randrange(8) for _ in range(40)])
        if cache.insert(ids, "kv", 1):
            stored.append(ids)
    for _ in range(200):
        query = _ids(system[: rng.randint(0, len(system))], [rng.randrange(8) for _ in range(40)])
        entry, length = cache.lookup(query)
        live = [ids for ids in stored if cache.lookup(ids)[1] == len(ids)]
        best = max((common_prefix(ids, query) for ids in live), default=0)
        # Sharing less than one block reuses nothing (only exact repeats); past it, the best.
        if best >= BLOCK_TOKENS:
            assert length == best
            assert entry is not None and entry.ids[:length] == query[:length]
        elif query not in live:
            assert length == 0


def test_exact_repeats_and_shared_prefixes() -> None:
    cache = PrefixCache(max_bytes=1000, max_entries=10)
    first = _ids(range(50))
    assert cache.lookup(first) == (None, 0)
    assert cache.insert(first, "a", 10)
    entry, length = cache.lookup(first)
    assert entry is not None and entry.payload == "a" and length == 50
    sibling = _ids(range(40), [999] * 20)
    entry, length = cache.lookup(sibling)
    assert entry is not None and entry.ids == first and length == 40
    assert cache.stats.lookups == 3 and cache.stats.hits == 2 and cache.stats.reused_tokens == 90


def test_prefixes_are_not_stored_twice() -> None:
    cache = PrefixCache(max_bytes=1000, max_entries=10)
    long = _ids(range(70))
    assert cache.insert(long, "long", 10)
    assert not cache.insert(long[:30], "short", 5)  # the longer entry serves it
    assert not cache.insert(long, "again", 10) and len(cache) == 1
    longer = _ids(range(70), range(500, 520))
    assert cache.insert(longer, "longer", 12)  # extends the cached prompt: replaces it
    assert len(cache) == 1 and cache.bytes == 12
    entry, length = cache.lookup(long)
    assert entry is not None and entry.payload == "longer" and length == 70


def test_limits_evict_the_least_recently_used() -> None:
    cache = PrefixCache(max_bytes=25, max_entries=10)
    prompts = [_ids([k] * 20) for k in range(4)]
    for k, ids in enumerate(prompts[:2]):
        cache.insert(ids, k, 10)
    cache.lookup(prompts[0])  # prompts[0] is now the most recently used
    cache.insert(prompts[2], 2, 10)  # 30 bytes > 25: prompts[1] goes
    assert cache.lookup(prompts[1]) == (None, 0)
    assert cache.lookup(prompts[0])[1] == 20 and cache.lookup(prompts[2])[1] == 20
    assert cache.bytes == 20 and cache.stats.evictions == 1
    assert not cache.insert(prompts[3], 3, 26)  # larger than the whole cache
    by_count = PrefixCache(max_bytes=1000, max_entries=1)
    by_count.insert(prompts[0], 0, 1)
    by_count.insert(prompts[1], 1, 1)
    assert len(by_count) == 1 and by_count.lookup(prompts[0]) == (None, 0)


def test_zero_limits_disable_the_cache() -> None:
    for cache in (PrefixCache(max_bytes=0, max_entries=5), PrefixCache(max_bytes=5, max_entries=0)):
        assert not cache.enabled and not cache.insert(_ids(range(20)), "x", 1)
        assert cache.lookup(_ids(range(20))) == (None, 0)
