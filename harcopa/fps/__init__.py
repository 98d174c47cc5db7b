"""The FPS text layer: statements, binder recovery, problem parsing, frameworks, steps, soundness.

Pure functions over text, used by the verifier, the orchestrator, the simulator and the CLI.

The names below are loaded on first use (PEP 562), so importing one light module of the
package (say ``harcopa.fps.lexing``, as lean-sim does at every process start) does not pay for
the heavy ones (``parse`` imports the domain model, ``autoformalization`` the error classes and
with them grpc).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harcopa.fps.autoformalization import (
        STATEMENT_FILTERS,
        Screened,
        canonical_statement,
        screen_statement,
    )
    from harcopa.fps.frameworks import (
        backward_statement,
        binder_sequence,
        forward_reasoning_statement,
        forward_solving_statement,
        initial_solution_state_text,
        intro_names,
        intros_tactic,
        outro_names,
        rpe_statement,
        solution_state_text,
        solving_statement,
    )
    from harcopa.fps.lexing import identifiers, normalize, remove_comments
    from harcopa.fps.parse import (
        ANSWER_NAME,
        BANNED_TOKENS_IN_ANSWER_TYPE,
        BANNED_TOKENS_IN_SOLVING_STATE,
        SUBMISSION_NAME,
        parse_fps,
        parse_fps_from_source,
    )
    from harcopa.fps.soundness import ALLOWED_AXIOMS, Violation, strict_audit, strict_violation
    from harcopa.fps.statement import (
        Binder,
        RecoveredStatement,
        benchmark_statement,
        recover_binders,
    )
    from harcopa.fps.steps import (
        BANNED_TOKENS,
        BannedPolicy,
        collapse_by_sorry,
        extract_code,
        extract_single_block,
        find_banned,
        is_submission,
        replace_block,
        split_solution_steps,
        submission_line,
    )
    from harcopa.fps.tokens import IDENTIFIER

#: Each public name -> the module of this package that defines it.
_SOURCES = {
    "ALLOWED_AXIOMS": "soundness",
    "ANSWER_NAME": "parse",
    "BANNED_TOKENS": "steps",
    "BANNED_TOKENS_IN_ANSWER_TYPE": "parse",
    "BANNED_TOKENS_IN_SOLVING_STATE": "parse",
    "BannedPolicy": "steps",
    "Binder": "statement",
    "IDENTIFIER": "tokens",
    "RecoveredStatement": "statement",
    "STATEMENT_FILTERS": "autoformalization",
    "SUBMISSION_NAME": "parse",
    "Screened": "autoformalization",
    "Violation": "soundness",
    "backward_statement": "frameworks",
    "benchmark_statement": "statement",
    "binder_sequence": "frameworks",
    "canonical_statement": "autoformalization",
    "collapse_by_sorry": "steps",
    "extract_code": "steps",
    "extract_single_block": "steps",
    "find_banned": "steps",
    "forward_reasoning_statement": "frameworks",
    "forward_solving_statement": "frameworks",
    "identifiers": "lexing",
    "initial_solution_state_text": "frameworks",
    "intro_names": "frameworks",
    "intros_tactic": "frameworks",
    "is_submission": "steps",
    "normalize": "lexing",
    "outro_names": "frameworks",
    "parse_fps": "parse",
    "parse_fps_from_source": "parse",
    "recover_binders": "statement",
    "remove_comments": "lexing",
    "replace_block": "steps",
    "rpe_statement": "frameworks",
    "screen_statement": "autoformalization",
    "solution_state_text": "frameworks",
    "solving_statement": "frameworks",
    "split_solution_steps": "steps",
    "strict_audit": "soundness",
    "strict_violation": "soundness",
    "submission_line": "steps",
}

__all__ = [
    "ALLOWED_AXIOMS",
    "ANSWER_NAME",
    "BANNED_TOKENS",
    "BANNED_TOKENS_IN_ANSWER_TYPE",
    "BANNED_TOKENS_IN_SOLVING_STATE",
    "IDENTIFIER",
    "STATEMENT_FILTERS",
    "SUBMISSION_NAME",
    "BannedPolicy",
    "Binder",
    "RecoveredStatement",
    "Screened",
    "Violation",
    "backward_statement",
    "benchmark_statement",
    "binder_sequence",
    "canonical_statement",
    "collapse_by_sorry",
    "extract_code",
    "extract_single_block",
    "find_banned",
    "forward_reasoning_statement",
    "forward_solving_statement",
    "identifiers",
    "initial_solution_state_text",
    "intro_names",
    "intros_tactic",
    "is_submission",
    "normalize",
    "outro_names",
    "parse_fps",
    "parse_fps_from_source",
    "recover_binders",
    "remove_comments",
    "replace_block",
    "rpe_statement",
    "screen_statement",
    "solution_state_text",
    "solving_statement",
    "split_solution_steps",
    "strict_audit",
    "strict_violation",
    "submission_line",
]


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups find it without this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
