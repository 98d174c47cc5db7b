"""Incremental detokenization and rolling-window stop matching of the transformers backend.

Two tokenizers are trained here on Lean-like text: a byte-level BPE (GPT-2/SmolLM2 style, where
one character such as ``ℕ`` spans several tokens) and a Metaspace one (SentencePiece style, which
drops the leading space of a decode). The text built piece by piece must equal decoding the whole
sequence, the work per token must stay bounded, and the stop matcher must agree with a plain
search of the whole text.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

pytest.importorskip("tokenizers", reason="the tokenizer tests need the tokenizers package")

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from harcopa_model_server.backends.detokenize import IncrementalText, StopMatcher, cut_at_stop

CORPUS = [
    "theorem add_zero (n : ℕ) : n + 0 = n := by simp",
    "example (x : ℝ) (h : 2 * x = 4) : x = 2 := by linarith",
    "have h₁ : ∀ ε > 0, ∃ δ > 0, |x - a| < δ → |f x - f a| < ε := by sorry",
    "lemma foo : ¬ (1 = 2) := by decide -- ⊢ goal ↔ other",
] * 20


def _byte_level() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    return tokenizer


def _metaspace() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(
        CORPUS, trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>"])
    )
    return tokenizer


@pytest.fixture(scope="module", params=["byte-level", "metaspace"])
def tokenizer(request: pytest.FixtureRequest) -> Tokenizer:
    return _byte_level() if request.param == "byte-level" else _metaspace()


def _sequences(tokenizer: Tokenizer) -> list[list[int]]:
    rng = random.Random(0)
    encoded = [tokenizer.encode(text).ids for text in CORPUS[:4]]
    joined = [tokenizer.encode(" ".join(CORPUS[:4])).ids]
    size = tokenizer.get_vocab_size()
    noise = [[rng.randrange(size) for _ in range(60)] for _ in range(5)]  # arbitrary sequences
    return encoded + joined + noise


def test_pieces_add_up_to_the_whole_decode(tokenizer: Tokenizer) -> None:
    decoded_tokens = 0

    def decode(ids: Sequence[int]) -> str:
        nonlocal decoded_tokens
        decoded_tokens += len(ids)
        return str(tokenizer.decode(list(ids), skip_special_tokens=True))

    total = 0
    for ids in _sequences(tokenizer):
        text = IncrementalText(decode)
        pieces = [text.push(ids[: i + 1]) for i in range(len(ids))]
        whole = tokenizer.decode(ids, skip_special_tokens=True)
        if "\ufffd" not in whole:  # random byte soup may decode differently split or whole
            assert "".join(pieces) == whole
        total += len(ids)
    # Each step decodes a window of a few tokens, never the whole row.
    assert decoded_tokens <= 6 * total


def test_byte_level_waits_for_complete_characters() -> None:
    tokenizer = _byte_level()
    ids = tokenizer.encode("n : ℕ").ids
    text = IncrementalText(lambda x: str(tokenizer.decode(list(x))))
    pieces = [text.push(ids[: i + 1]) for i in range(len(ids))]
    assert "".join(pieces) == "n : ℕ"
    assert all("\ufffd" not in piece for piece in pieces)


def test_stop_matcher_agrees_with_a_search_of_the_whole_text() -> None:
    rng = random.Random(1)
    alphabet = "ab\n:=⊢"
    for _ in range(300):
        stops = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(2)]
        matcher = StopMatcher(stops)
        text = ""
        for _ in range(30):
            piece = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
            before = cut_at_stop(text, stops) is not None
            hit = matcher.feed(piece)
            text += piece
            assert hit == (not before and cut_at_stop(text, stops) is not None)
            if hit:
                break


def test_cut_at_stop_takes_the_earliest_stop() -> None:
    assert cut_at_stop("simp\n\nexact h", ["exact", "\n\n"]) == "simp"
    assert cut_at_stop("simp", ["\n\n"]) is None
