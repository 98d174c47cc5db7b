"""Tests of the strict filter (harcopa.fps.soundness) and of the Lean tokenizer under it.

The payload table (tests/soundness_payloads.py) is refused in both positions, each with a
reason naming its construct; the look-alikes pass; paper mode stays the reference's plain
substring rule; the tokenizer reads raw strings, escapes, nested comments, char literals and
interpolated strings as Lean does.
"""

from __future__ import annotations

import pytest

from harcopa.fps import (
    BANNED_TOKENS,
    find_banned,
    normalize,
    strict_audit,
    strict_violation,
)
from harcopa.fps.tokens import Kind, LexError, tokenize
from tests.soundness_payloads import LOOK_ALIKES, PAYLOADS, STRING_LOOK_ALIKES, Payload


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.text)
@pytest.mark.parametrize("where", ["submission", "step"])
def test_every_payload_is_refused_with_its_construct(payload: Payload, where: str) -> None:
    text = payload.submission if where == "submission" else payload.step
    found = strict_violation(text, allow_sorry=False)
    assert found is not None, text
    assert payload.construct in found.construct
    assert f"`{found.construct}`" in found.describe() and len(found.reason) > 10
    if payload.construct != "sorry":
        assert strict_violation(text, allow_sorry=True) is not None  # drafts may not either
    assert find_banned(text, allow_sorry=False, policy="strict") == found.construct
    assert strict_audit(text) == (False, found.describe())


@pytest.mark.parametrize("text", LOOK_ALIKES + STRING_LOOK_ALIKES)
def test_look_alikes_pass(text: str) -> None:
    assert strict_violation(text, allow_sorry=False) is None
    assert strict_audit(text) == (True, "")


def _reference(text: str, allow_sorry: bool) -> str | None:
    """The reference's rule (official-impl §4.1): a BANNED_TOKENS substring of the text with
    comments removed and whitespace collapsed."""
    tokens = BANNED_TOKENS[1:] if allow_sorry else BANNED_TOKENS
    return next((t for t in tokens if t in normalize(text)), None)


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.text)
@pytest.mark.parametrize("allow_sorry", [True, False])
def test_paper_mode_is_the_reference_rule(payload: Payload, allow_sorry: bool) -> None:
    for text in (payload.submission, payload.step):
        assert find_banned(text, allow_sorry=allow_sorry, policy="paper") == _reference(
            text, allow_sorry
        )


def test_paper_mode_lets_through_what_the_reference_let_through() -> None:
    accepted = [p for p in PAYLOADS if _reference(p.step, allow_sorry=True) is None]
    assert {p.construct for p in accepted} >= {"sorryAx", "native_decide", "#eval", "axiom"}
    for payload in accepted:
        assert find_banned(payload.step, allow_sorry=True, policy="paper") is None


@pytest.mark.parametrize(
    ("text", "construct"),
    [
        ("have h : p := sorry", "sorry"),
        ("exact h.sorry", "sorry"),  # any name ending in `sorry` counts as it
        ("#evalx 1", "#eval"),  # Lean's token table matches the longest prefix
        ("#exitAfter", "#exit"),
        ("exact Quot.lcInv x", "Quot.lcInv"),
        ("exact _root_.lcProof", "lcProof"),
        ("  apply?\n", "apply?"),
        ("set_option trace.Meta.synthInstance true in simp", "set_option trace.Meta"),
        ("set_option in simp", "set_option"),
        ("exact (h : Lean.reduceBool b = true)", "Lean.reduceBool"),
        ('"{"', "unreadable text"),  # an interpolated reading would not end there
        ("/- never closed", "unreadable text"),
        ("exact «sorry", "unreadable text"),
    ],
)
def test_more_refusals(text: str, construct: str) -> None:
    found = strict_violation(text, allow_sorry=False)
    assert found is not None and found.construct.startswith(construct)


def test_sorry_alone_is_what_drafts_may_use() -> None:
    assert strict_violation("have h : p := sorry", allow_sorry=True) is None
    assert strict_violation("have h : p := by sorry", allow_sorry=True) is None
    found = strict_violation("have h : p := sorryAx p false", allow_sorry=True)
    assert found is not None and found.construct == "sorryAx"


def test_first_construct_in_reading_order_is_reported() -> None:
    found = strict_violation("native_decide <;> exact sorryAx _ false", allow_sorry=False)
    assert found is not None and (found.construct, found.offset) == ("native_decide", 0)


def test_raw_strings_end_where_lean_ends_them() -> None:
    tokens = tokenize('r"\\" sorry "" r##"a"#b"## x')
    assert [(t.kind, t.text) for t in tokens] == [
        (Kind.STRING, 'r"\\"'),
        (Kind.IDENT, "sorry"),
        (Kind.STRING, '""'),
        (Kind.STRING, 'r##"a"#b"##'),
        (Kind.IDENT, "x"),
    ]
    assert [t.text for t in tokenize('xr"a" r')] == ["xr", '"a"', "r"]  # r only starts a token


def test_escapes_comments_and_char_literals() -> None:
    text = "\"a\\\"b\\x41\\u03B1\\\n   c\" /- /- -/ x -/ '\"' '\\n' f⁻¹' s -- sorry"
    kinds = [(t.kind, t.text) for t in tokenize(text)]
    assert kinds[0] == (Kind.STRING, text[: text.index("/-") - 1])
    assert (Kind.CHAR, "'\"'") in kinds and (Kind.CHAR, "'\\n'") in kinds
    assert (Kind.IDENT, "s") in kinds and all(t != "sorry" for _, t in kinds)
    for bad in ('"\\q"', '"\\x4"', "/- /- -/", 'r#"never"', '"open'):
        with pytest.raises(LexError):
            tokenize(bad)


def test_identifiers_keep_their_parts() -> None:
    tokens = tokenize("@_root_.Lean.«ofReduceBool» h.1 x.y'")
    assert [t.text for t in tokens] == ["@", "_root_.Lean.«ofReduceBool»", "h", ".", "1", "x.y'"]
    assert tokens[1].parts == ("_root_", "Lean", "ofReduceBool")


def test_interpolated_strings_expose_their_code() -> None:
    texts = [t.text for t in tokenize('s!"a{f "}" x}b" m!"{y}"')]
    assert "x" in texts and "y" in texts and "f" in texts
    with pytest.raises(LexError):  # ordinary reading ends at the second quote: two readings
        tokenize('dbg "{ "}" }"')


def test_remembered_verdicts_are_the_fresh_ones() -> None:
    # A short text's verdict is remembered; asking again (in either sorry policy) gives the
    # same answer as reading it afresh, and long texts are always read afresh.
    from harcopa.fps import soundness

    for payload in PAYLOADS:
        for allow_sorry in (False, True):
            fresh = soundness._violation(payload.step, allow_sorry)
            assert strict_violation(payload.step, allow_sorry=allow_sorry) == fresh
            assert strict_violation(payload.step, allow_sorry=allow_sorry) == fresh  # remembered
    assert strict_violation("sorry", allow_sorry=True) is None
    assert strict_violation("sorry", allow_sorry=False) is not None  # not the other's verdict
    padding = "norm_num\n" * (soundness.CACHED_TEXT_CHARS // 9 + 1)
    long_text = padding + "native_decide"
    assert len(long_text) > soundness.CACHED_TEXT_CHARS
    before = soundness._remembered.cache_info().currsize
    found = strict_violation(long_text, allow_sorry=False)
    assert found is not None and found.construct == "native_decide"
    assert soundness._remembered.cache_info().currsize == before  # not kept
    assert soundness._remembered.cache_info().maxsize == soundness.CACHED_TEXTS
