"""Read-only access to the orchestrator's SQLite run store, for the SFT exporter.

Called by ``harcopa_trainer.export``. The store's rows hold protobuf JSON (table
``runs(run_id, spec, status, ...)``, table ``results(run_id, problem_id, ..., result)``), decoded
here with ``harcopa.wire``; the file is opened read-only, so an export never changes a run and
can read a store that a live orchestrator is writing (SQLite WAL readers do not block it).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from harcopa import domain as d
from harcopa import wire
from harcopa.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class StoredRun:
    """One run as stored: its id, spec, status and finished problem results."""

    run_id: str
    spec: d.RunSpec
    status: d.RunStatus
    results: tuple[d.ProblemResult, ...]


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise InvalidRequest(f"run store not found: {path}")
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise InvalidRequest(f"cannot open run store {path}: {error}") from error


def read_runs(path: Path, run_ids: list[str]) -> list[StoredRun]:
    """The named runs with their results (in finishing order); InvalidRequest for an id the
    store does not hold."""
    db = _connect(Path(path))
    try:
        runs = []
        for run_id in run_ids:
            row = db.execute("SELECT spec, status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise InvalidRequest(f"unknown run id {run_id!r} in {path}")
            rows = db.execute(
                "SELECT result FROM results WHERE run_id = ? ORDER BY finished, problem_id",
                (run_id,),
            ).fetchall()
            runs.append(
                StoredRun(
                    run_id=run_id,
                    spec=wire.run_spec_from_json(row[0]),
                    status=d.RunStatus(row[1]),
                    results=tuple(wire.result_from_json(text) for (text,) in rows),
                )
            )
        return runs
    except sqlite3.Error as error:
        raise InvalidRequest(f"{path} is not a harcopa run store: {error}") from error
    finally:
        db.close()
