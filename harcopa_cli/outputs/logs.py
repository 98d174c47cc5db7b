"""The service logs of one ``harcopa eval`` execution: written to a fresh staging folder while the
run id is unknown, then moved into the run's folder (``DIR/<run_id>/logs/``).

Called by ``harcopa_cli/evaluate.py``. The services keep writing after the move: their open
files follow a rename on POSIX. Every execution gets new files, never appended to an earlier
run's: a resumed run's later executions go to ``logs/resume-1/``, ``logs/resume-2/``, ...
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def staging_folder(output_dir: Path) -> Path:
    """A new, empty folder for this execution's logs, under ``output_dir``."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    folder = output_dir / f".logs-{stamp}-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def adopt(staging: Path, output_dir: Path, run_id: str) -> Path:
    """Move the staging folder to the run folder's ``logs/`` (or its next ``resume-N/``);
    the new path."""
    logs = output_dir / run_id / "logs"
    target = logs
    if logs.exists():
        taken = {p.name for p in logs.iterdir()}
        number = 1
        while f"resume-{number}" in taken:
            number += 1
        target = logs / f"resume-{number}"
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)
    return target
