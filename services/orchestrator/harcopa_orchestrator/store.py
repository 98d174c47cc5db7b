"""The orchestrator's run store: SQLite in WAL mode, every attempt persisted the moment it ends.

Used by the run manager, the CLI's reports and the trainer's export. A restarted orchestrator
reads runs that were pending or running and resumes them: problems with a final result (solved
or unsolved) are never redone, errored ones (infrastructure failures) are; attempts are keyed
by (run, problem, attempt index) so a replayed write never duplicates one. Rows hold the
protobuf JSON of the domain values (through harcopa.wire), so the stored format is the API's.
The ``cycles`` table holds the lineage of bootstrapping cycles (``harcopa cycle``), one
``harcopa.cycles.CycleRecord`` JSON per cycle. A store written by an earlier version gains the
newer tables (``CREATE TABLE IF NOT EXISTS``) and columns (``_migrate``) when opened.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harcopa import domain as d
from harcopa import wire
from harcopa.cycles import CycleRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    problems_total INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    caller TEXT NOT NULL DEFAULT '',
    execution_started REAL NOT NULL DEFAULT 0,
    elapsed_before REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    solved INTEGER NOT NULL,
    errored INTEGER NOT NULL,
    model_calls INTEGER NOT NULL,
    tactic_calls INTEGER NOT NULL,
    generator_seconds REAL NOT NULL,
    verifier_seconds REAL NOT NULL,
    sessions_lost INTEGER NOT NULL,
    result TEXT NOT NULL,
    finished REAL NOT NULL,
    retries INTEGER NOT NULL DEFAULT 0,
    lean_seconds REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, problem_id)
);
CREATE TABLE IF NOT EXISTS attempts (
    run_id TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    attempt_index INTEGER NOT NULL,
    attempt TEXT NOT NULL,
    PRIMARY KEY (run_id, problem_id, attempt_index)
);
CREATE TABLE IF NOT EXISTS cycles (
    cycle_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    cycle_index INTEGER NOT NULL,
    stage TEXT NOT NULL,
    record TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""

#: Columns added after the first release: (table, column, declaration).
_ADDED_COLUMNS = (
    ("runs", "caller", "TEXT NOT NULL DEFAULT ''"),
    ("runs", "execution_started", "REAL NOT NULL DEFAULT 0"),
    ("runs", "elapsed_before", "REAL NOT NULL DEFAULT 0"),
    ("results", "retries", "INTEGER NOT NULL DEFAULT 0"),
    ("results", "lean_seconds", "REAL NOT NULL DEFAULT 0"),
)
_RUN_COLUMNS = (
    "run_id, spec, status, error, problems_total, created, updated, caller,"
    " execution_started, elapsed_before"
)


class RunStore:
    """Thread-safe SQLite store; async methods run the blocking work in a worker thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._migrate()

    def _migrate(self) -> None:
        """Add the columns a store from an earlier version lacks (under the lock)."""
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    async def _run(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._exec, sql, list(args))

    # ------------------------------------------------------------------ runs

    async def create_run(
        self, run_id: str, spec: d.RunSpec, problems_total: int, caller: str = ""
    ) -> d.Run:
        now = time.time()
        await self._run(
            "INSERT INTO runs (run_id, spec, status, problems_total, created, updated, caller)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                wire.run_spec_to_json(spec),
                d.RunStatus.PENDING.value,
                problems_total,
                now,
                now,
                caller,
            ),
        )
        run = await self.get_run(run_id)
        assert run is not None  # just inserted
        return run

    async def set_status(self, run_id: str, status: d.RunStatus, error: str = "") -> None:
        """Change a run's status; entering RUNNING starts an execution (for rate and ETA),
        leaving it adds the execution's time to the run's elapsed time."""
        now = time.time()
        if status is d.RunStatus.RUNNING:
            await self._run(
                "UPDATE runs SET status = ?, error = ?, updated = ?, execution_started = ?"
                " WHERE run_id = ?",
                (status.value, error, now, now, run_id),
            )
            return
        await self._run(
            "UPDATE runs SET elapsed_before = elapsed_before + CASE WHEN status = ? AND"
            " execution_started > 0 THEN ? - execution_started ELSE 0 END,"
            " execution_started = CASE WHEN status = ? THEN 0 ELSE execution_started END,"
            " status = ?, error = ?, updated = ? WHERE run_id = ?",
            (
                d.RunStatus.RUNNING.value,
                now,
                d.RunStatus.RUNNING.value,
                status.value,
                error,
                now,
                run_id,
            ),
        )

    async def get_run(self, run_id: str) -> d.Run | None:
        rows = await self._run(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            return None
        return await self._to_run(rows[0])

    async def list_runs(
        self, statuses: Iterable[d.RunStatus] = (), *, limit: int | None = None
    ) -> list[d.Run]:
        """Runs in creation order; with ``limit``, the newest ``limit`` of them."""
        wanted = [s.value for s in statuses]
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if wanted:
            sql += f" WHERE status IN ({', '.join('?' for _ in wanted)})"
        sql += " ORDER BY created DESC, rowid DESC"
        args: list[Any] = list(wanted)
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = await self._run(sql, args)
        return [await self._to_run(row) for row in reversed(rows)]

    async def _to_run(self, row: tuple[Any, ...]) -> d.Run:
        run_id, spec, status, error, total, created, updated, caller, started, before = row
        running = status == d.RunStatus.RUNNING.value and started > 0
        errored = await self.errored_problems(run_id)
        return d.Run(
            run_id=run_id,
            spec=wire.run_spec_from_json(spec),
            status=d.RunStatus(status),
            progress=await self._progress(run_id, total, started if running else 0.0, before),
            created_unix=created,
            updated_unix=updated,
            error=error,
            errored_problems=tuple(errored),
            caller=caller,
        )

    async def progress(self, run_id: str) -> d.RunProgress:
        run = await self.get_run(run_id)
        return run.progress if run is not None else d.RunProgress()

    async def _progress(
        self, run_id: str, total: int, execution_started: float, elapsed_before: float
    ) -> d.RunProgress:
        """Counts and costs; rate and ETA from the problems finished in the current execution."""
        row = (
            await self._run(
                "SELECT TOTAL(errored = 0), TOTAL(solved), TOTAL(errored), TOTAL(model_calls),"
                " TOTAL(tactic_calls), TOTAL(generator_seconds), TOTAL(verifier_seconds),"
                " TOTAL(sessions_lost), TOTAL(retries), TOTAL(lean_seconds),"
                " TOTAL(errored = 0 AND finished >= ?) FROM results WHERE run_id = ?",
                (execution_started or float("inf"), run_id),
            )
        )[0]
        done, recent = int(row[0]), int(row[10])
        elapsed = elapsed_before
        rate, eta = 0.0, None
        if execution_started > 0:
            running_for = max(time.time() - execution_started, 1e-6)
            elapsed += running_for
            rate = recent * 3600.0 / running_for
            if recent:
                eta = max(total - done, 0) * running_for / recent
        return d.RunProgress(
            problems_total=total or 0,
            problems_done=done,
            problems_solved=int(row[1]),
            problems_errored=int(row[2]),
            model_calls=int(row[3]),
            tactic_calls=int(row[4]),
            generator_seconds=float(row[5]),
            verifier_seconds=float(row[6]),
            sessions_lost=int(row[7]),
            problems_retried=int(row[8]),
            elapsed_seconds=elapsed,
            problems_per_hour=rate,
            eta_seconds=eta,
            lean_seconds=float(row[9]),
        )

    async def run_counts(self) -> dict[d.RunStatus, int]:
        """How many runs the store holds in each status."""
        rows = await self._run("SELECT status, COUNT(*) FROM runs GROUP BY status")
        return {d.RunStatus(status): int(count) for status, count in rows}

    async def errored_problems(self, run_id: str) -> list[str]:
        """Problems whose latest result is errored (not final), in the order they errored."""
        rows = await self._run(
            "SELECT problem_id FROM results WHERE run_id = ? AND errored = 1 ORDER BY finished",
            (run_id,),
        )
        return [row[0] for row in rows]

    # ------------------------------------------------------------------ results

    async def record_attempt(self, run_id: str, problem_id: str, attempt: d.Attempt) -> None:
        """Idempotent: writing the same (run, problem, index) again replaces the row."""
        await self._run(
            "INSERT OR REPLACE INTO attempts (run_id, problem_id, attempt_index, attempt)"
            " VALUES (?, ?, ?, ?)",
            (run_id, problem_id, attempt.index, wire.attempt_to_json(attempt)),
        )

    async def attempts(self, run_id: str, problem_id: str) -> list[d.Attempt]:
        rows = await self._run(
            "SELECT attempt FROM attempts WHERE run_id = ? AND problem_id = ?"
            " ORDER BY attempt_index",
            (run_id, problem_id),
        )
        return [wire.attempt_from_json(text) for (text,) in rows]

    async def record_result(self, run_id: str, result: d.ProblemResult) -> None:
        """Stores the problem's result (final unless its status is errored) with its attempts."""
        for attempt in result.attempts:
            await self.record_attempt(run_id, result.problem_id, attempt)
        stats = result.stats
        await self._run(
            "INSERT OR REPLACE INTO results (run_id, problem_id, solved, errored, model_calls,"
            " tactic_calls, generator_seconds, verifier_seconds, sessions_lost, result, finished,"
            " retries, lean_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                result.problem_id,
                int(result.solved),
                int(result.status is d.ProblemStatus.ERRORED),
                stats.model_calls,
                stats.tactic_calls,
                stats.generator_seconds,
                stats.verifier_seconds,
                stats.sessions_lost,
                wire.result_to_json(result),
                time.time(),
                result.retries,
                stats.lean_seconds,
            ),
        )

    async def finished_problems(self, run_id: str) -> set[str]:
        """Problems that need no more work (an infrastructure error is redone on resume)."""
        rows = await self._run(
            "SELECT problem_id FROM results WHERE run_id = ? AND errored = 0", (run_id,)
        )
        return {row[0] for row in rows}

    async def result(self, run_id: str, problem_id: str) -> d.ProblemResult | None:
        rows = await self._run(
            "SELECT result FROM results WHERE run_id = ? AND problem_id = ?", (run_id, problem_id)
        )
        return wire.result_from_json(rows[0][0]) if rows else None

    async def results(self, run_id: str) -> list[d.ProblemResult]:
        rows = await self._run(
            "SELECT result FROM results WHERE run_id = ? ORDER BY finished", (run_id,)
        )
        return [wire.result_from_json(text) for (text,) in rows]

    async def export_jsonl(self, run_id: str, path: Path) -> int:
        """One JSON object per finished problem; returns the number of lines written."""
        rows = await self._run(
            "SELECT result FROM results WHERE run_id = ? ORDER BY finished", (run_id,)
        )

        def write() -> None:
            with open(path, "w", encoding="utf-8") as out:
                for (text,) in rows:
                    out.write(json.dumps(json.loads(text), ensure_ascii=False) + "\n")

        await asyncio.to_thread(write)
        return len(rows)

    # ------------------------------------------------------------------ cycles

    async def save_cycle(self, record: CycleRecord) -> CycleRecord:
        """Insert or update a cycle's lineage (its creation time is kept); the stored record."""
        now = time.time()
        old = await self.get_cycle(record.cycle_id)
        created = old.created_unix if old is not None else now
        stored = record.model_copy(update={"created_unix": created, "updated_unix": now})
        await self._run(
            "INSERT OR REPLACE INTO cycles (cycle_id, name, cycle_index, stage, record, created,"
            " updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                stored.cycle_id,
                stored.name,
                stored.index,
                stored.stage.value,
                stored.to_json(),
                created,
                now,
            ),
        )
        return stored

    async def get_cycle(self, cycle_id: str) -> CycleRecord | None:
        rows = await self._run("SELECT record FROM cycles WHERE cycle_id = ?", (cycle_id,))
        return CycleRecord.from_json(rows[0][0]) if rows else None

    async def list_cycles(self, name: str = "") -> list[CycleRecord]:
        """Every cycle (or those of the configuration ``name``), by name and index."""
        sql, args = "SELECT record FROM cycles", []
        if name:
            sql, args = sql + " WHERE name = ?", [name]
        rows = await self._run(sql + " ORDER BY name, cycle_index", args)
        return [CycleRecord.from_json(text) for (text,) in rows]
