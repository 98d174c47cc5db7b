"""The progress display of a run being followed (``harcopa eval``, ``run start --watch``,
``run watch``): a live bar on a terminal, plain periodic lines in a log or a pipe.

Both show the same figures as the run's ``WatchRun`` events: done / total, solved, errored, in
flight, the rate in problems per hour and the estimated time left (computed by the
orchestrator from the problems finished so far).
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from harcopa import domain as d

#: Seconds between plain lines while nothing changes (a heartbeat for logs).
PLAIN_INTERVAL_SECONDS = 30.0


def duration(seconds: float | None) -> str:
    """``3725`` -> ``1h02m``; ``None`` -> ``?``."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    seconds = int(seconds)
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def summary(status: d.RunStatus, p: d.RunProgress) -> str:
    """One line of a run's figures."""
    rate = f"{p.problems_per_hour:.1f}/h" if p.problems_per_hour else "-/h"
    eta = duration(p.eta_seconds) if p.eta_seconds is not None else "?"
    return (
        f"{p.problems_done}/{p.problems_total} done, {p.problems_solved} solved,"
        f" {p.problems_errored} errored, {p.problems_in_flight} in flight, {rate},"
        f" ETA {eta}, elapsed {duration(p.elapsed_seconds)} [{status.value}]"
    )


class PlainProgress:
    """A line when a problem finishes (at most every 5 s), else every ``interval`` seconds."""

    def __init__(self, stream: TextIO, run_id: str, interval: float) -> None:
        self.stream, self.run_id, self.interval = stream, run_id, interval
        self.last: d.RunEvent | None = None
        self.printed_at = 0.0
        self.printed_done = -1

    def update(self, event: d.RunEvent) -> None:
        self.last = event
        since = time.monotonic() - self.printed_at
        changed = event.progress.problems_done != self.printed_done
        if (changed and since >= 5) or since >= self.interval:
            self._print()

    def close(self) -> None:
        if self.last is not None:
            self._print()

    def _print(self) -> None:
        assert self.last is not None
        self.stream.write(f"run {self.run_id}: {summary(self.last.status, self.last.progress)}\n")
        self.stream.flush()
        self.printed_at = time.monotonic()
        self.printed_done = self.last.progress.problems_done


class LiveProgress:
    """A rich progress bar on a terminal."""

    def __init__(self, stream: TextIO, run_id: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn(f"run {run_id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[figures]}"),
            console=Console(file=stream),
            transient=False,
        )
        self.task = self.progress.add_task("run", total=None, figures="starting")
        self.progress.start()

    def update(self, event: d.RunEvent) -> None:
        p = event.progress
        rate = f"{p.problems_per_hour:.1f}/h" if p.problems_per_hour else "-/h"
        figures = (
            f"{p.problems_solved} solved  {p.problems_errored} errored  "
            f"{p.problems_in_flight} in flight  {rate}  ETA {duration(p.eta_seconds)}"
            f"  [{event.status.value}]"
        )
        self.progress.update(
            self.task, total=p.problems_total or None, completed=p.problems_done, figures=figures
        )

    def close(self) -> None:
        self.progress.stop()


def display(stream: TextIO, run_id: str, interactive: bool | None = None) -> Any:
    """A live bar when ``stream`` is a terminal, else plain lines."""
    tty = stream.isatty() if interactive is None else interactive
    return (
        LiveProgress(stream, run_id)
        if tty
        else PlainProgress(stream, run_id, PLAIN_INTERVAL_SECONDS)
    )


async def follow(client: Any, run_id: str, stream: TextIO, interactive: bool | None = None) -> int:
    """Show a run's progress until it ends; 0 when it succeeded, else 1."""
    shown = display(stream, run_id, interactive)
    final: d.RunEvent | None = None
    try:
        async for event in client.watch(run_id):  # with the orchestrator's periodic snapshots
            final = event
            shown.update(event)
    finally:
        shown.close()
    return 0 if final is not None and final.status is d.RunStatus.SUCCEEDED else 1
