"""Checks that run on a leased pool process, never on a session's: CheckFile and RPE.

Called by the pool verifier (verifier.py). A timeout or crash inside a lease destroys that
process (the pool replaces it); sessions are never touched. CheckFile runs the strict filter,
then compiles the file and audits its declarations' axioms (appended ``#print axioms``) against
the allowlist; RPE (official-impl §2.6) tries rfl, norm_num, ring_nf, rw_search and aesop in
order.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harcopa.domain import Equivalence, FileCheck, Message, Mode, ParsedProblem, Severity
from harcopa.errors import BackendCrashed, DeadlineExceeded
from harcopa.fps import rpe_statement, strict_violation
from harcopa_lean_verifier.backends.pantograph import PantographError
from harcopa_lean_verifier.calls import TacticReply, tactic_call
from harcopa_lean_verifier.messages import (
    AuditText,
    audit_text,
    axiom_reports,
    axioms_in,
    count_sorries,
    describe,
    errors_of,
    forbidden_axioms,
    unit_messages,
)
from harcopa_lean_verifier.pool import PoolKey, ReplPool
from harcopa_lean_verifier.repl import Repl
from harcopa_lean_verifier.timeouts import Timeouts

logger = logging.getLogger(__name__)

#: RPE tactics in the reference's order; the first that leaves no goal wins.
RPE_TACTICS: tuple[str, ...] = ("rfl", "norm_num", "ring_nf", "rw_search", "aesop")


#: A check whose process died (or hung past its limit) is tried once more on a fresh process.
CHECK_ATTEMPTS = 2


async def check_file(
    pool: ReplPool, key: PoolKey, text: str, imports: Sequence[str], timeout_seconds: float
) -> FileCheck:
    """``compile_and_audit``, retried on a fresh process when the process crashed or hung.

    Two timeouts in a row are Lean's verdict (the file is too slow to check): a failed check.
    Two crashes in a row are an infrastructure failure: BackendCrashed (UNAVAILABLE). A file
    the strict filter refuses (``sorry`` aside, which Lean counts) never reaches Lean.
    """
    refused = strict_violation(text, allow_sorry=True)
    if refused is not None:
        reason = f"refused by the strict filter: {refused.describe()}"
        return FileCheck(False, (Message(Severity.ERROR, reason),), 0, ())
    for attempt in range(1, CHECK_ATTEMPTS + 1):
        try:
            return await compile_and_audit(pool, key, text, imports, timeout_seconds)
        except BackendCrashed as exc:
            if attempt == CHECK_ATTEMPTS:
                raise
            logger.warning("CheckFile lost its process (%s); retrying on a fresh one", exc)
        except DeadlineExceeded:
            if attempt == CHECK_ATTEMPTS:
                message = f"the file did not finish checking within {timeout_seconds:g} s (twice)"
                return FileCheck(False, (Message(Severity.ERROR, message),), 0, ())
            logger.warning("CheckFile timed out; retrying on a fresh process")
    raise AssertionError("unreachable")  # the loop returns or raises


async def compile_and_audit(
    pool: ReplPool, key: PoolKey, text: str, imports: Sequence[str], timeout_seconds: float
) -> FileCheck:
    """Compile a whole file (no sorrys as goals) once, without the text filter; ok iff no error,
    no sorry, every declaration audited and no axiom outside the allowlist."""
    audit = audit_text(text, imports)
    started = time.perf_counter()
    async with pool.lease(key) as repl:
        try:
            units = await repl.frontend_process(
                audit.text, sorrys=False, timeout_seconds=timeout_seconds
            )
        except PantographError as exc:
            failure = Message(Severity.ERROR, f"{getattr(exc, 'kind', '')}: {exc}")
            return FileCheck(False, (failure,), 0, (), time.perf_counter() - started)
    return _verdict(audit, units, time.perf_counter() - started)


def _verdict(audit: AuditText, units: Sequence[Any], seconds: float) -> FileCheck:
    """The FileCheck of compiled ``units``: the caller's messages, sorries and the axiom audit.

    A declaration whose ``#print axioms`` never answered (Lean stopped reading the file) fails
    the check: an audit that did not run is not an audit that passed.
    """
    own_units, audit_units = audit.split(units)
    own = unit_messages(own_units, line_offset=audit.line_offset)
    reports = unit_messages(audit_units)
    axioms = axioms_in(reports)
    forbidden = forbidden_axioms(axioms)
    missing = len(audit.declarations) - axiom_reports(reports)
    if missing > 0:
        text = f"the axiom audit did not answer for {missing} of {len(audit.declarations)} "
        own.append(Message(Severity.ERROR, text + "declarations"))
    sorries = count_sorries(own)
    ok = not errors_of(own) and sorries == 0 and not forbidden
    return FileCheck(ok, tuple(own), sorries, axioms, seconds, forbidden)


@dataclass
class _Progress:
    """Where an RPE run stands, so a timeout can resume at the next tactic."""

    index: int = 0
    compiling: bool = True
    lean_seconds: float = 0.0


async def check_equivalence(
    pool: ReplPool,
    key: PoolKey,
    header: str,
    parsed: ParsedProblem,
    submission: str,
    mode: Mode,
    timeouts: Timeouts,
) -> Equivalence:
    """``submission ↔ formal_answer`` proven by the first RPE tactic that closes it."""
    if parsed.formal_answer is None:
        return Equivalence(None, False, ("unsupervised problem: no ground truth to compare",))
    if mode is Mode.STRICT:
        refused = strict_violation(submission, allow_sorry=False)
        if refused is not None:
            return Equivalence(None, True, (f"the submission is refused: {refused.describe()}",))
    text = header + "\n" + rpe_statement(parsed, submission)
    progress, notes, crashes = _Progress(), list[str](), 0
    while progress.index < len(RPE_TACTICS):
        try:
            async with pool.lease(key) as repl:
                busy = repl.busy_seconds
                try:
                    outcome = await _rpe_attempt(repl, text, progress, notes, timeouts)
                finally:
                    progress.lean_seconds += repl.busy_seconds - busy
                return dataclasses.replace(outcome, lean_seconds=progress.lean_seconds)
        except BackendCrashed as exc:  # resume at the same tactic on a fresh process, once
            crashes += 1
            if crashes >= CHECK_ATTEMPTS:
                raise
            logger.warning("RPE lost its process (%s); retrying on a fresh one", exc)
        except DeadlineExceeded:
            if progress.compiling:
                notes.append("the RPE statement timed out")
                return Equivalence(None, True, tuple(notes), progress.lean_seconds)
            notes.append(f"`{RPE_TACTICS[progress.index]}` timed out")
            progress.index += 1
    return Equivalence(None, True, tuple(notes), progress.lean_seconds)


async def _rpe_attempt(
    repl: Repl, text: str, progress: _Progress, notes: list[str], timeouts: Timeouts
) -> Equivalence:
    progress.compiling = True
    units = await repl.frontend_process(text, sorrys=True, timeout_seconds=timeouts.file)
    errors = errors_of(unit_messages(units))
    if errors or not units or "goalStateId" not in units[-1]:
        reason = describe(errors) if errors else "the RPE statement yields no goal"
        return Equivalence(None, True, (*notes, f"RPE statement does not compile: {reason}"))
    state_id = int(units[-1]["goalStateId"])
    progress.compiling = False
    created, winner = [state_id], None
    for index in range(progress.index, len(RPE_TACTICS)):
        progress.index = index
        step = await tactic_call(
            repl, state_id, 0, tactic=RPE_TACTICS[index], timeout_seconds=timeouts.tactic
        )
        if isinstance(step, TacticReply):
            created.append(step.state_id)
            if not step.goals:
                winner = RPE_TACTICS[index]
                break
    progress.index = len(RPE_TACTICS)
    # Only on the normal path: after a timeout the process is gone and so are its states.
    await repl.goal_delete(created, timeout_seconds=timeouts.tactic)
    return Equivalence(winner, True, tuple(notes))
