"""A bounded LRU of prompt-prefix KV caches keyed by token ids, with longest-common-prefix lookup.

Used by the transformers backend's prefill (``hf_prefill.py``) on its one decoding thread, so it
takes no locks. An entry is the full token-id sequence of a prompt plus an opaque payload (the
prompt's per-layer keys and values and its last logits) and the payload's size in bytes. The
cache holds at most ``max_entries`` entries and ``max_bytes`` bytes; the least recently used
entries go first. :meth:`PrefixCache.lookup` returns the entry sharing the longest prefix with
a new prompt: the prompt's first ``BLOCK_TOKENS``-token blocks are chain-hashed (the hash of
block k covers every token before it), an index maps each block hash to the entries that start
with those blocks, and the candidates of the deepest matching block are compared token by token.

Entries do not overlap needlessly: a prompt that is a prefix of a cached one is not stored (the
longer entry serves it), and a cached prompt that is a prefix of a new one is replaced by it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

#: Tokens per hashed block of the lookup index.
BLOCK_TOKENS = 16


@dataclass(slots=True)
class PrefixEntry:
    """One cached prompt: its token ids, payload (owned by the caller) and payload size."""

    ids: tuple[int, ...]
    payload: object
    nbytes: int
    hashes: list[int] = field(default_factory=list)  # chain hash of each full block of ``ids``


@dataclass(slots=True)
class PrefixCacheStats:
    """Counters since start: lookups, lookups that reused tokens, tokens reused, evictions."""

    lookups: int = 0
    hits: int = 0
    reused_tokens: int = 0
    evictions: int = 0


def block_hashes(ids: Sequence[int]) -> Iterator[int]:
    """Chain hashes of the full ``BLOCK_TOKENS``-token blocks of ``ids``, in order."""
    previous = 0
    for start in range(0, len(ids) - BLOCK_TOKENS + 1, BLOCK_TOKENS):
        previous = hash((previous, tuple(ids[start : start + BLOCK_TOKENS])))
        yield previous


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token-id tuples (slices compare in C)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    low, high = 0, n  # invariant: a[:low] == b[:low] and a[:high] != b[:high]
    while high - low > 1:
        mid = (low + high) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid
    return low


class PrefixCache:
    """LRU of prompt KV caches; a zero limit disables it (nothing is stored)."""

    def __init__(self, *, max_bytes: int, max_entries: int) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self.stats = PrefixCacheStats()
        self._entries: OrderedDict[tuple[int, ...], PrefixEntry] = OrderedDict()  # LRU first
        # block chain hash -> the entries whose ids start with those blocks (insertion order)
        self._index: dict[int, dict[tuple[int, ...], None]] = {}
        # chain hash of an entry's last full block (0: shorter than a block) -> those entries
        self._ends: dict[int, dict[tuple[int, ...], None]] = {}

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 and self.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, ids: tuple[int, ...]) -> tuple[PrefixEntry | None, int]:
        """(entry, length of its common prefix with ``ids``); (None, 0) when nothing matches.

        The entry found becomes the most recently used one.
        """
        self.stats.lookups += 1
        holders: dict[tuple[int, ...], None] = {}
        for digest in block_hashes(ids):
            deeper = self._index.get(digest)
            if not deeper:
                break
            holders = deeper  # the entries sharing every block so far
        # No shared first block (or a prompt shorter than one): only an exact repeat is reused.
        candidates = list(holders) if holders else [ids] if ids in self._entries else []
        best: PrefixEntry | None = None
        length = 0
        for key in candidates:
            shared = common_prefix(key, ids)
            if shared > length:
                best, length = self._entries[key], shared
        if best is None:
            return None, 0
        self._entries.move_to_end(best.ids)
        self.stats.hits += 1
        self.stats.reused_tokens += length
        return best, length

    def insert(self, ids: tuple[int, ...], payload: object, nbytes: int) -> bool:
        """Store ``payload`` for the prompt ``ids``; False when it is not kept (see module doc)."""
        if not self.enabled or nbytes > self.max_bytes or not ids:
            return False
        hashes = list(block_hashes(ids))
        # Cached prompts that start with all of ``ids`` hold every full block of it.
        pool = self._index.get(hashes[-1], {}) if hashes else self._entries
        for key in pool:
            if len(key) >= len(ids) and key[: len(ids)] == ids:
                self._entries.move_to_end(key)
                return False
        # Cached prompts that ``ids`` extends end their full blocks on one of ``ids``'s blocks.
        for digest in (0, *hashes):
            for key in list(self._ends.get(digest, ())):
                if len(key) < len(ids) and ids[: len(key)] == key:
                    self._remove(key)
        self._entries[ids] = PrefixEntry(ids, payload, nbytes, hashes)
        self.bytes += nbytes
        for digest in hashes:
            self._index.setdefault(digest, {})[ids] = None
        self._ends.setdefault(hashes[-1] if hashes else 0, {})[ids] = None
        while self.bytes > self.max_bytes or len(self._entries) > self.max_entries:
            self._remove(next(iter(self._entries)))
            self.stats.evictions += 1
        return ids in self._entries

    def clear(self) -> None:
        for key in list(self._entries):
            self._remove(key)

    def _remove(self, key: tuple[int, ...]) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.nbytes
        for table, digest in (
            *((self._index, d) for d in entry.hashes),
            (self._ends, entry.hashes[-1] if entry.hashes else 0),
        ):
            holders = table.get(digest)
            if holders is not None:
                holders.pop(key, None)
                if not holders:
                    del table[digest]
