"""The lean-sim backend config: the Pantograph client and pool pointed at the simulator executable.

Used by the verifier settings (``backend.kind = "sim"``) and by tests. lean-sim speaks the
Pantograph v0.2.25 wire protocol but is a simulator, not a prover (DESIGN.md §2.2): tactic
outcomes come from a small rule set and from scenario files.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

SIMULATOR_MODULE = "harcopa_lean_verifier.simulator"


class SimulatedConfig(BaseModel):
    """Run the verifier on lean-sim processes (tests, local development, load tests)."""

    kind: Literal["sim"] = "sim"
    executable: Path | None = Field(
        None,
        description="lean-sim executable; None finds `lean-sim` beside the Python interpreter "
        "or on PATH, else a launcher running `python -m harcopa_lean_verifier.simulator`.",
    )
    scenario_path: Path | None = Field(
        None,
        description="Scenario JSON for the simulator (rules and faults); None: built-in rules.",
    )
    imports: tuple[str, ...] = Field(
        ("Mathlib", "Aesop"), description="Module names passed to every simulator process."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables for simulator processes."
    )

    def simulator_env(self) -> dict[str, str]:
        """The environment additions: the scenario path (``LEAN_SIM_SCENARIO``) and ``env``."""
        env = dict(self.env)
        if self.scenario_path is not None:
            env["LEAN_SIM_SCENARIO"] = str(self.scenario_path)
        return env


def simulator_executable(config: SimulatedConfig) -> Path:
    """The executable to spawn for lean-sim, writing a small launcher script if none exists."""
    if config.executable is not None:
        return config.executable
    beside = Path(sys.executable).parent / "lean-sim"
    if beside.exists():
        return beside
    found = shutil.which("lean-sim")
    if found:
        return Path(found)
    return _launcher()


def _launcher() -> Path:
    """A shell script running the simulator module with this interpreter (cached per process)."""
    folder = Path(tempfile.gettempdir()) / f"harcopa-lean-sim-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "lean-sim"
    script = f'#!/bin/sh\nexec "{sys.executable}" -m {SIMULATOR_MODULE} "$@"\n'
    if not path.exists() or path.read_text() != script:
        path.write_text(script)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path
