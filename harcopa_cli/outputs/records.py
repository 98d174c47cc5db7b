"""Plain JSON records of a run's problems and attempts, the lines of ``samples.jsonl``.

Called by ``outputs/folder.py`` (and the HTML report reads the same records). Built here
field by field rather than with protobuf's JSON printer, which drops false and zero fields and
prints 64-bit integers as strings: every field is always present (None as ``null``), numbers
are JSON numbers, and an infinite budget is the string ``"inf"`` (as in the paper's table).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

from harcopa import domain as d
from harcopa_orchestrator.metering import attempt_seed
from harcopa_orchestrator.report import problem_budget

#: Status of a problem of the run that has no result yet.
UNFINISHED = "unfinished"


def number(value: float) -> float | str:
    """A JSON number, or ``"inf"``/``"nan"`` for what JSON cannot hold."""
    return value if math.isfinite(value) else str(value)


def stats_record(stats: d.SearchStats) -> dict[str, Any]:
    """One search's (or a sum's) counts, tokens and seconds."""
    usage = stats.usage
    return {
        "expansions": stats.expansions,
        "model_calls": stats.model_calls,
        "tactic_calls": stats.tactic_calls,
        "prompt_tokens": usage.prompt_tokens,
        "cached_prompt_tokens": usage.cached_prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "model_seconds": stats.generator_seconds,
        "verifier_seconds": stats.verifier_seconds,
        "lean_seconds": stats.lean_seconds,
        "verifier_overhead_seconds": max(stats.verifier_seconds - stats.lean_seconds, 0.0),
        "wait_seconds": stats.wait_seconds,
        "sessions_lost": stats.sessions_lost,
    }


def _tactics(tactics: Sequence[d.AppliedTactic] | None) -> list[dict[str, Any]] | None:
    if tactics is None:
        return None
    return [
        {"goal_index": t.goal_index, "tactic": t.tactic, "prompt_state": t.prompt_state}
        for t in tactics
    ]


def attempt_record(attempt: d.Attempt, run_seed: int | None) -> dict[str, Any]:
    """Everything one attempt recorded, with the seed its sampling used (None: unseeded)."""
    return {
        "index": attempt.index,
        "outcome": attempt.outcome.value,
        "solved": attempt.solved,
        "errored": attempt.errored,
        "charged": attempt.charged,
        "paper_budget": number(attempt.paper_budget),
        "steps": [
            {"text": s.text, "prompt_state": s.prompt_state, "gap_proof": _tactics(s.gap_proof)}
            for s in attempt.steps
        ],
        "submission_step": attempt.submission_step,
        "submission": attempt.submission,
        "rpe_tactic": attempt.rpe_tactic,
        "backward_proof": _tactics(attempt.backward_proof),
        "draft": attempt.draft,
        "gap_proof": _tactics(attempt.gap_proof),
        "final_check_ok": attempt.final_check_ok,
        "strict_audit_passed": attempt.strict_audit_passed,
        "forbidden_axioms": list(attempt.forbidden_axioms),
        "rejected": [
            {"text": r.text, "reason": r.reason, "prompt_state": r.prompt_state}
            for r in attempt.rejected
        ],
        "detail": attempt.detail,
        "prompt_state": attempt.prompt_state,
        "seed": attempt_seed(run_seed, attempt.index),
        "stats": stats_record(attempt.stats),
    }


def charged_to_solve(result: d.ProblemResult) -> int | None:
    """Budget units (step candidates or drafts) charged up to and including the first
    solving attempt; None when no attempt solved the problem."""
    total = 0
    for attempt in result.attempts:
        total += attempt.charged
        if attempt.solved:
            return total
    return None


def problem_key(problem_id: str) -> tuple[str, int, str]:
    """Sort key putting problem ids in benchmark order (``<benchmark>/<index>``)."""
    benchmark, _, index = problem_id.rpartition("/")
    return (benchmark, int(index), "") if index.isdigit() else (problem_id, -1, problem_id)


def sample_record(
    problem_id: str,
    result: d.ProblemResult | None,
    spec: d.RunSpec,
    excluded: Collection[str],
) -> dict[str, Any]:
    """One line of ``samples.jsonl``: a problem's status, figures, cost and attempts."""
    attempts = result.attempts if result is not None else ()
    status = result.status.value if result is not None else UNFINISHED
    budget: float | None = None
    steps: int | None = None
    if result is not None and result.status is not d.ProblemStatus.ERRORED:
        budget, steps = problem_budget(result, spec.pipeline.whole_draft, spec.params.ks)
    first = next((a for a in attempts if a.solved), None)
    return {
        "problem_id": problem_id,
        "status": status,
        "solved": status == d.ProblemStatus.SOLVED.value,
        "errored": status == d.ProblemStatus.ERRORED.value,
        "excluded": problem_id in excluded,
        "attempt_count": len(attempts),
        "retries": result.retries if result is not None else 0,
        "wall_seconds": result.seconds if result is not None else 0.0,
        "paper_budget": None if budget is None else number(budget),
        "steps": steps,
        "charged": sum(a.charged for a in attempts),
        "charged_to_solve": charged_to_solve(result) if result is not None else None,
        "solving_attempt": first.index if first is not None else None,
        "submission": first.submission if first is not None else None,
        "rpe_tactic": first.rpe_tactic if first is not None else None,
        "rejected_candidates": sum(len(a.rejected) for a in attempts),
        "cost": stats_record(result.stats if result is not None else d.SearchStats()),
        "attempts": [attempt_record(a, spec.seed) for a in attempts],
    }


def ordered_ids(results: Sequence[d.ProblemResult], problem_ids: Sequence[str]) -> list[str]:
    """Every problem of the run in benchmark order: the run's own list when known (it has the
    unfinished ones too), else the problems with a result."""
    known = list(dict.fromkeys([*problem_ids, *(r.problem_id for r in results)]))
    return sorted(known, key=problem_key)
