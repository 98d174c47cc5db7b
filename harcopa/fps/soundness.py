"""The strict soundness filter: the Lean constructs strict mode refuses, each with its reason.

Called through ``find_banned(policy="strict")`` (``harcopa.fps.steps``) by the orchestrator on
candidates, by the verifier on steps, whole drafts, submissions, tactics and CheckFile files, by
the SFT export, and as ``strict_audit`` on every paper-mode acceptance. It reads the text with
Lean's lexical rules (``harcopa.fps.tokens``), so strings and comments hide nothing and a
look-alike (``h_sorry``, ``"sorry"``, ``-- sorry``, ``native`` in a name) passes.

What it refuses outside strings and comments: ``sorry`` (unless a draft may use it; so does any
name whose last component is ``sorry``, such as ``h.sorry`` or ``«sorry»``, while
``sorry_lemma`` and ``h_sorry`` are other names), ``sorryAx``
and the other escape axioms under any spelling (``@sorryAx``, ``_root_.sorryAx``, ``open Lean``
then ``ofReduceBool``); ``native_decide``, ``decide!`` and ``decide`` told ``+kernel``/
``+native`` or ``kernel := true``/``native := true``; ``#eval``, ``#exit``, ``#print``,
``#guard``/``#guard_msgs``; ``axiom``, ``unsafe``, ``opaque``, ``implemented_by``, ``extern``;
meta code (``run_tac``, ``run_cmd``, ``run_elab``, ``run_meta``, ``by_elab``, syntax, macro and
elaborator definitions, ``initialize``, simprocs); the reference's list (official-impl §4.1);
and ``set_option`` of any option but ``maxHeartbeats``, ``maxRecDepth``,
``synthInstance.maxHeartbeats``, ``synthInstance.maxSize``, ``pp.*`` and ``linter.*``, with or
without ``in`` (``debug.skipKernelTC`` would turn the kernel check off). The ``{...}`` of a
string counts as code (it may be interpolated), and text Lean would not lex (unterminated
strings or comments, bad escapes, a string Lean may read two ways) is refused too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from harcopa.fps.tokens import Kind, LexError, Token, tokenize

#: The only axioms a strict solution may depend on (Lean's three standard axioms).
ALLOWED_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})

_REFERENCE = "is on the reference's banned list (official-impl §4.1)"
_META = "runs arbitrary meta code (it can close goals without a proof, or do IO)"
_SYNTAX = "defines syntax or an elaborator, whose code can build any name or run meta code"

#: Keywords and names refused as a whole identifier (``_root_.`` ignored), with why.
FORBIDDEN_WORDS: dict[str, str] = {
    "native_decide": "decides with compiled code, trusting the compiler (axiom Lean.ofReduceBool)",
    "decide!": "decides by kernel reduction alone (the old spelling of `decide +kernel`)",
    "axiom": "declares an assumption without a proof",
    "unsafe": "switches off Lean's safety checks",
    "opaque": "declares a constant whose code can be swapped (`implemented_by`)",
    "implemented_by": "replaces a definition's compiled code by other code",
    "extern": "replaces a definition's compiled code by foreign code",
    "run_tac": _META,
    "run_cmd": _META,
    "run_elab": _META,
    "run_meta": _META,
    "by_elab": _META,
    "elab": _SYNTAX,
    "elab_rules": _SYNTAX,
    "macro": _SYNTAX,
    "macro_rules": _SYNTAX,
    "syntax": _SYNTAX,
    "declare_syntax_cat": _SYNTAX,
    "initialize": "runs code when the module is initialised",
    "builtin_initialize": "runs code when the module is initialised",
    "simproc": "defines a simplification procedure in meta code",
    "dsimproc": "defines a simplification procedure in meta code",
    "simproc_decl": "defines a simplification procedure in meta code",
    "dsimproc_decl": "defines a simplification procedure in meta code",
    "admit": "closes the goal without a proof, like `sorry`",
    "stop": "gives up on the rest of the proof, like `sorry`",
    **{
        word: _REFERENCE
        for word in ("slim_check", "apply?", "rw?", "hint", "rw_search", "change?", "have?")
    },
    **{word: _REFERENCE for word in ("says", "try_this", "unfold?")},
}

#: Constants refused when any component of a name is theirs (so ``open Lean`` cannot hide
#: them): the display name and why.
FORBIDDEN_CONSTANTS: dict[str, tuple[str, str]] = {
    "sorryAx": ("sorryAx", "is the axiom behind `sorry`: it proves anything"),
    "ofReduceBool": ("Lean.ofReduceBool", "is an axiom trusting compiled code"),
    "ofReduceNat": ("Lean.ofReduceNat", "is an axiom trusting compiled code"),
    "trustCompiler": ("Lean.trustCompiler", "is an axiom trusting the compiler"),
    "reduceBool": ("Lean.reduceBool", "is evaluated by compiled code (Lean.ofReduceBool)"),
    "reduceNat": ("Lean.reduceNat", "is evaluated by compiled code (Lean.ofReduceNat)"),
    "lcProof": ("lcProof", "is a compiler-internal axiom " + _REFERENCE),
    "lcErased": ("lcErased", "is compiler-internal and " + _REFERENCE),
    "lcCast": ("lcCast", "is compiler-internal and " + _REFERENCE),
    "lcUnreachable": ("lcUnreachable", "is compiler-internal and " + _REFERENCE),
    "lcInv": ("Quot.lcInv", "is compiler-internal and " + _REFERENCE),
}

#: ``#`` commands refused; Lean's token table matches the longest prefix (``#evalx`` is
#: ``#eval`` then ``x``), so these are prefix tests, longest first.
FORBIDDEN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("#guard_msgs", "captures and hides the messages of a command (errors, `sorry` warnings)"),
    ("#guard", "evaluates code while the file is checked"),
    ("#eval", "runs arbitrary code, IO included, while the file is checked"),
    ("#exit", "stops Lean reading the file, so later errors and the axiom audit are never seen"),
    ("#print", "prints text that can imitate the axiom audit's report"),
)

#: Options ``set_option`` may set in strict mode (exactly, or by these prefixes).
ALLOWED_OPTIONS = frozenset(
    {"maxHeartbeats", "maxRecDepth", "synthInstance.maxHeartbeats", "synthInstance.maxSize"}
)
ALLOWED_OPTION_PREFIXES = ("pp.", "linter.")

_SORRY = "closes any goal without a proof (axiom sorryAx)"
_CONFIG = {
    "kernel": ("decide +kernel", "makes `decide` leave the goal to the kernel alone"),
    "native": ("decide +native", "makes `decide` use compiled code (axiom Lean.ofReduceBool)"),
}


@dataclass(frozen=True, slots=True)
class Violation:
    """A construct the strict filter refuses: its name, why, and where (character offset)."""

    construct: str
    reason: str
    offset: int = 0

    def describe(self) -> str:
        return f"`{self.construct}` {self.reason}"


#: Texts up to this many characters have their verdicts remembered (``_remembered``).
CACHED_TEXT_CHARS = 512
#: How many short texts' verdicts are remembered (least recently used go first): at most
#: about CACHED_TEXT_CHARS x CACHED_TEXTS characters (4 MiB of text at most).
CACHED_TEXTS = 8192


def strict_violation(text: str, *, allow_sorry: bool) -> Violation | None:
    """The first refused construct of ``text`` in reading order, or None when it is clean.

    ``allow_sorry`` lets the ``sorry`` keyword through (drafts, whose ``sorry``s are gaps);
    ``sorryAx`` and everything else stays refused. The verdict depends on the text alone, so a
    short text's is remembered: a search sends the same few tactics (``norm_num``,
    ``linarith``, ...) thousands of times, and the verifier reads each once.
    """
    if len(text) <= CACHED_TEXT_CHARS:
        return _remembered(text, allow_sorry)
    return _violation(text, allow_sorry)


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _remembered(text: str, allow_sorry: bool) -> Violation | None:
    return _violation(text, allow_sorry)


def _violation(text: str, allow_sorry: bool) -> Violation | None:
    try:
        tokens = tokenize(text)
    except LexError as error:
        reason = f"({error.message}): Lean would not read it as written"
        return Violation("unreadable text", reason, error.offset)
    for index in range(len(tokens)):
        found = _check(tokens, index, allow_sorry=allow_sorry)
        if found is not None:
            return found
    return None


def strict_audit(text: str) -> tuple[bool, str]:
    """Whether ``text`` (a whole solution, ``sorry`` refused) passes the strict filter; the
    reason when it does not. The orchestrator records it as ``Attempt.strict_audit_passed``."""
    found = strict_violation(text, allow_sorry=False)
    return (True, "") if found is None else (False, found.describe())


def _check(tokens: list[Token], index: int, *, allow_sorry: bool) -> Violation | None:
    token = tokens[index]
    if token.kind is Kind.COMMAND:
        for command, reason in FORBIDDEN_COMMANDS:
            if token.text.startswith(command):
                return Violation(command, reason, token.start)
        return None
    if token.kind is not Kind.IDENT:
        return None
    parts = token.parts
    name = ".".join(parts[1:] if parts[0] == "_root_" and len(parts) > 1 else parts)
    if name == "set_option":
        return _option(tokens, index)
    if parts[-1] == "sorry" and not allow_sorry:
        return Violation("sorry", _SORRY, token.start)
    for part in parts:
        if part in FORBIDDEN_CONSTANTS:
            display, reason = FORBIDDEN_CONSTANTS[part]
            return Violation(display, reason, token.start)
    if name in FORBIDDEN_WORDS:
        return Violation(name, FORBIDDEN_WORDS[name], token.start)
    if name in _CONFIG and _is_config_key(tokens, index):
        display, reason = _CONFIG[name]
        return Violation(display, reason, token.start)
    return None


def _is_config_key(tokens: list[Token], index: int) -> bool:
    """``+kernel``, or ``kernel := ...`` as a structure field or named argument (after ``{``,
    ``,``, ``(`` or ``with``): a tactic configuration item, not a name of the proof."""
    before = tokens[index - 1].text if index > 0 else ""
    after = tokens[index + 1].text if index + 1 < len(tokens) else ""
    return before == "+" or (after == ":=" and before in ("{", ",", "(", "with"))


def _option(tokens: list[Token], index: int) -> Violation | None:
    start = tokens[index].start
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if following is None or following.kind is not Kind.IDENT:
        return Violation("set_option", "is not followed by an option name", start)
    option = ".".join(following.parts)
    if option in ALLOWED_OPTIONS or option.startswith(ALLOWED_OPTION_PREFIXES):
        return None
    allowed = ", ".join([*sorted(ALLOWED_OPTIONS), *(p + "*" for p in ALLOWED_OPTION_PREFIXES)])
    return Violation(
        f"set_option {option}",
        f"sets an option strict mode does not allow (allowed: {allowed}); options such as "
        "debug.skipKernelTC switch checks off",
        start,
    )
