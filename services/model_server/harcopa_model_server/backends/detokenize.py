"""Linear-time stop-string checking: incremental detokenization plus a rolling tail window.

Used by the transformers backend's decoding loop (``hf_decode.py``) once per generated token of
a row that has stop strings. :class:`IncrementalText` turns the growing token list into text a
few tokens at a time: it decodes only the tokens since the last emitted piece (and the piece
before them, so tokenizers that drop a leading space at the start of a decode, as SentencePiece
does, drop it on both sides and the difference is exact; the window start moves only past
pieces that had text, so a skipped special token never starts one); a piece ending in U+FFFD (an
incomplete UTF-8 sequence of a byte-level tokenizer) waits for the next token, at most
``MAX_PENDING_TOKENS`` tokens. :class:`StopMatcher` searches each new piece together with the
last ``len(longest stop) - 1`` characters before it, which is where every occurrence ending in
the new piece starts. Each step therefore costs O(longest stop + a few tokens), not O(row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: Tokens an incomplete character may stay undecoded before its replacement mark is emitted.
MAX_PENDING_TOKENS = 8

Decode = Callable[[Sequence[int]], str]


class IncrementalText:
    """The text of a token sequence that only grows, produced piece by piece."""

    __slots__ = ("_decode", "_prefix", "_read")

    def __init__(self, decode: Decode) -> None:
        self._decode = decode
        self._prefix = 0  # start of the window: the tokens of the previously emitted piece
        self._read = 0  # tokens already turned into emitted text

    def push(self, ids: Sequence[int]) -> str:
        """The new text after ``ids`` grew (``ids`` is the whole sequence so far)."""
        window = self._decode(ids[self._prefix :])
        if window.endswith("\ufffd") and len(ids) - self._read < MAX_PENDING_TOKENS:
            return ""
        before = self._decode(ids[self._prefix : self._read])
        piece = window[len(before) :]
        if piece:  # a piece with no text (a skipped special token) must not start a window
            self._prefix = self._read
        self._read = len(ids)
        return piece


class StopMatcher:
    """Tells whether a stop string has appeared, looking only at a rolling tail of the text."""

    __slots__ = ("_keep", "_tail", "stops")

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(stops)
        self._keep = max((len(s) for s in self.stops), default=1) - 1
        self._tail = ""

    def feed(self, piece: str) -> bool:
        """Add ``piece`` to the text; True when a stop string ends inside it."""
        if not piece:
            return False
        window = self._tail + piece
        self._tail = window[-self._keep :] if self._keep else ""
        return any(stop in window for stop in self.stops)


def cut_at_stop(text: str, stops: Sequence[str]) -> str | None:
    """``text`` before the earliest occurrence of any stop string, or None without one."""
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return text[: min(hits)] if hits else None
