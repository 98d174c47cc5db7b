"""Autoformalized statements as text: the statement in a completion and the Lean-free filters.

Called by the orchestrator's CoPA statement stage on every sampled statement, before the
verifier compiles it (the last filter, ``lean``, is the verifier's). Each filter has a name, so
a rejection says which one fired; a candidate that passes is returned in the canonical shape
``example <binders> : <conclusion>\\n:= sorry`` that the solution-drafting prompt needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harcopa.errors import InvalidRequest
from harcopa.fps.lexing import identifiers, remove_comments
from harcopa.fps.parse import ANSWER_NAME
from harcopa.fps.statement import recover_binders
from harcopa.fps.steps import extract_single_block, find_banned

#: The statement filters in the order they run; ``lean`` is the verifier's compilation
#: (exactly one goal, FPS parsing), run only on candidates that pass the others.
STATEMENT_FILTERS = (
    "truncated",
    "no_single_block",
    "shape",
    "string_literal",
    "banned_token",
    "no_answer",
    "lean",
)

_TRAILER = re.compile(r"\s*:=\s*sorry\s*$")
_EXAMPLE = re.compile(r"\s*example\b")


@dataclass(frozen=True, slots=True)
class Screened:
    """A candidate after the text filters: the canonical statement, or the filter that fired
    (one of :data:`STATEMENT_FILTERS`) and why."""

    statement: str | None
    filter: str = ""
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.statement is not None


def _rejected(filter_name: str, reason: str) -> Screened:
    return Screened(None, filter_name, reason)


def canonical_statement(text: str) -> str:
    """The statement with its ``:= sorry`` trailer on a line of its own; InvalidRequest when
    it is not an ``example`` statement ending in ``:= sorry``."""
    code = remove_comments(text)
    if not _EXAMPLE.match(code):
        raise InvalidRequest("the statement must be an `example` (no named theorem)")
    if identifiers(code).count("example") != 1:
        raise InvalidRequest("the text holds several declarations; expected one `example`")
    recover_binders(text)  # the binder groups and the top-level `:` (raises with a reason)
    trailer = _TRAILER.search(text)
    if trailer is None:
        raise InvalidRequest("the statement must end with `:= sorry`")
    return text[: trailer.start()].rstrip() + "\n:= sorry"


def screen_statement(completion: str, *, truncated: bool = False) -> Screened:
    """Run the text filters on one completion of the statement-autoformalization task.

    ``no_single_block``: one fenced block (the whole-draft rule); ``shape``: an
    ``example ... := sorry`` statement whose binders the FPS parser recovers; ``string_literal``:
    no ``"`` outside comments (the reference's solving-state ban); ``banned_token``: no banned
    token (strict policy, ``sorry`` included) before the trailer; ``no_answer``: an
    ``(answer : T)`` binder and a conclusion that mentions ``answer``.
    """
    if truncated:
        return _rejected("truncated", "the completion hit the token limit")
    block = extract_single_block(completion)
    if not block:
        return _rejected("no_single_block", "the completion has no single code block")
    try:
        statement = canonical_statement(block)
        recovered = recover_binders(statement)
    except InvalidRequest as error:
        return _rejected("shape", str(error))
    body = statement[: -len("sorry")]
    if '"' in remove_comments(body):
        return _rejected("string_literal", "the statement contains a string literal")
    banned = find_banned(body, allow_sorry=False, policy="strict")
    if banned is not None:
        return _rejected("banned_token", f"the statement contains the banned token {banned!r}")
    if not any(ANSWER_NAME in binder.names for binder in recovered.binders):
        return _rejected("no_answer", f"no `({ANSWER_NAME} : T)` binder")
    if ANSWER_NAME not in identifiers(recovered.conclusion):
        return _rejected("no_answer", f"the conclusion does not mention `{ANSWER_NAME}`")
    return Screened(statement)
