"""The FPS text layer: statements, binder recovery, problem parsing, frameworks, steps, soundness.

Pure functions over text, used by the verifier, the orchestrator, the simulator and the CLI.
"""

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
