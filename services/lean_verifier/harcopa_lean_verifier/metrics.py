"""The lean_verifier's Prometheus metrics; used by the REPL client, the pool and the FPS calls.

Every label takes values from a closed set and every combination is created at import time,
so dashboards see zeros instead of gaps (STYLE.md §11). The constructors in
``harcopa.metrics`` are idempotent, so importing this module twice (or building two servers in
one test process) reuses the same collectors.
"""

from __future__ import annotations

from harcopa.metrics import LONG_BUCKETS, child, counter, gauge, histogram

#: The ``<service>`` of the per-call series ``harcopa_<service>_requests_total`` and friends.
METRICS_SERVICE = "verifier"

#: ``state`` of a REPL process: ``starting`` (spawned, before ``ready.``), ``idle``, ``busy``.
REPL_STATES = ("starting", "idle", "busy")
#: Why a REPL process was destroyed (and, when the pool is open, replaced).
RESTART_REASONS = ("max_uses", "timeout", "crash", "oom", "cancelled", "rss", "stderr")
#: ``kind`` of one REPL request: a tactic, a draft, a whole file, the start handshake, the rest.
CALL_KINDS = ("tactic", "draft", "file", "ready", "other")
#: ``outcome`` of a tactic, step or submission as the FPS layer reports it.
TACTIC_OUTCOMES = ("progress", "complete", "error", "timeout")

REPLS = gauge("harcopa_verifier_repls", "REPL processes of this replica by state.", ("state",))
QUEUE_DEPTH = gauge("harcopa_verifier_queue_depth", "Callers waiting for a free REPL process.")
REPL_RESTARTS = counter(
    "harcopa_verifier_repl_restarts_total",
    "REPL processes destroyed (and replaced), by reason.",
    ("reason",),
)
REPL_EVICTIONS = counter(
    "harcopa_verifier_repl_evictions_total",
    "Idle REPL processes of one key killed to start one for another key (the pool was full).",
)
REPL_STARTS = counter("harcopa_verifier_repl_starts_total", "REPL processes started.")
REPL_COMMANDS = counter(
    "harcopa_verifier_repl_commands_total",
    "Requests sent to REPL processes, by Pantograph command (goal.tactic, goal.print, ...).",
    ("command",),
)
# One histogram cannot carry two bucket sets; LONG_BUCKETS is TACTIC_BUCKETS extended to 300 s.
CALL_DURATION = histogram(
    "harcopa_verifier_call_duration_seconds",
    "Wall time of one request to a REPL process (ready: spawn to `ready.`), by kind.",
    ("kind",),
    buckets=LONG_BUCKETS,
)
#: What a caller of the pool waited for: a session's process, a check (RPE/CheckFile), parsing,
#: or (``turn``) a session's call for the process it shares with other sessions.
WAIT_PURPOSES = ("session", "check", "parse", "turn")
ACQUIRE_WAIT = histogram(
    "harcopa_verifier_acquire_wait_seconds",
    "Time a caller waited for a REPL process, by purpose.",
    ("purpose",),
    buckets=(0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300),
)
TACTIC_RESULTS = counter(
    "harcopa_verifier_tactic_results_total",
    "Tactic, step and submission outcomes.",
    ("outcome",),
)

for _state in REPL_STATES:
    REPLS.labels(_state)
for _reason in RESTART_REASONS:
    REPL_RESTARTS.labels(_reason)
for _kind in CALL_KINDS:
    CALL_DURATION.labels(_kind)
for _outcome in TACTIC_OUTCOMES:
    TACTIC_RESULTS.labels(_outcome)
for _purpose in WAIT_PURPOSES:
    ACQUIRE_WAIT.labels(_purpose)


def call_kind(command: str, payload: dict[str, object]) -> str:
    """The ``kind`` label of a request: ``tactic``, ``draft``, ``file`` or ``other``."""
    if command == "goal.tactic":
        return "draft" if "draft" in payload else "tactic"
    if command == "frontend.process":
        return "file"
    return "other"


def observe_call(kind: str, seconds: float, command: str = "") -> None:
    """Record the duration of one REPL request of ``kind`` (one of CALL_KINDS) and count its
    Pantograph ``command``."""
    child(CALL_DURATION, kind).observe(seconds)
    if command:
        child(REPL_COMMANDS, command).inc()


def count_restart(reason: str) -> None:
    """Count one destroyed REPL process; ``reason`` is one of RESTART_REASONS."""
    REPL_RESTARTS.labels(reason if reason in RESTART_REASONS else "crash").inc()


def set_repls(*, starting: int, idle: int, busy: int) -> None:
    """Publish the pool's process counts."""
    child(REPLS, "starting").set(starting)
    child(REPLS, "idle").set(idle)
    child(REPLS, "busy").set(busy)


def set_queue_depth(waiters: int) -> None:
    """Publish the number of callers waiting in ``ReplPool.acquire``."""
    QUEUE_DEPTH.set(waiters)


def observe_wait(purpose: str, seconds: float) -> None:
    """Record how long a caller of the pool, or (``turn``) a session's call for its shared
    process, waited (``purpose`` in WAIT_PURPOSES)."""
    child(ACQUIRE_WAIT, purpose).observe(seconds)
