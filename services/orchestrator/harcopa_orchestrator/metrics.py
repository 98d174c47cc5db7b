"""The orchestrator's Prometheus metrics; used by the scheduler, the metering wrappers and the run
manager.

Every label takes values from a closed set and every combination exists from import on, so
dashboards and alert rules (helm/harcopa) see zeros instead of gaps (STYLE.md §11).
"""

from __future__ import annotations

from harcopa.domain import Pipeline, RunStatus
from harcopa.metrics import SEARCH_BUCKETS, counter, gauge, histogram

#: How one problem's search ended (``error``: the search itself raised).
SEARCH_OUTCOMES = ("solved", "unsolved", "errored", "error")
#: How a problem's result came out when it was recorded (errored: infrastructure, not final).
PROBLEM_OUTCOMES = ("solved", "unsolved", "errored")
#: The shared slots a problem waits for.
SLOTS = ("model", "session", "problem")
#: A wait for a slot longer than this is logged (every wait is measured).
WAIT_LOG_SECONDS = 5.0

SEARCHES = counter(
    "harcopa_orchestrator_searches_total", "Problems searched, by outcome.", ("pipeline", "outcome")
)
SEARCH_SECONDS = histogram(
    "harcopa_orchestrator_search_duration_seconds",
    "Wall time of one problem's search.",
    ("pipeline",),
    buckets=SEARCH_BUCKETS,
)
EXPANSIONS = histogram(
    "harcopa_orchestrator_search_expansions",
    "Model calls (expansions) per problem.",
    ("pipeline",),
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
IN_FLIGHT = gauge("harcopa_orchestrator_searches_in_flight", "Problems being searched now.")
WAIT_SECONDS = histogram(
    "harcopa_orchestrator_slot_wait_seconds",
    "Time a problem waited for a shared slot, by slot kind.",
    ("slot",),
    buckets=(0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600),
)
LONG_WAITS = counter(
    "harcopa_orchestrator_long_waits_total",
    f"Waits for a shared slot longer than {WAIT_LOG_SECONDS:g} s, by slot kind.",
    ("slot",),
)
RUNS = gauge("harcopa_orchestrator_runs", "Runs in the store by status.", ("status",))
PROBLEMS_FINISHED = counter(
    "harcopa_orchestrator_problems_finished_total",
    "Problem results recorded, by pipeline and outcome (errored: retried or listed as not final).",
    ("pipeline", "outcome"),
)

for _pipeline in Pipeline:
    for _outcome in SEARCH_OUTCOMES:
        SEARCHES.labels(_pipeline.value, _outcome)
    for _outcome in PROBLEM_OUTCOMES:
        PROBLEMS_FINISHED.labels(_pipeline.value, _outcome)
    SEARCH_SECONDS.labels(_pipeline.value)
    EXPANSIONS.labels(_pipeline.value)
for _slot in SLOTS:
    WAIT_SECONDS.labels(_slot)
    LONG_WAITS.labels(_slot)
for _status in RunStatus:
    RUNS.labels(_status.value)


def set_run_counts(counts: dict[RunStatus, int]) -> None:
    """Publish how many runs of the store are in each status."""
    for status in RunStatus:
        RUNS.labels(status.value).set(counts.get(status, 0))
