"""The installed distribution: only harcopa-prefixed top-level packages, with their data files.

Builds the wheel from the checkout (no network: no build isolation) and reads its file list.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_wheel_has_only_harcopa_top_level_packages(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(REPO_ROOT),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("harcopa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {
        "harcopa",
        "harcopa_cli",
        "harcopa_lean_verifier",
        "harcopa_model_server",
        "harcopa_orchestrator",
        "harcopa_trainer",
    }
    assert "harcopa/templates/prompts.toml" in names
    assert "harcopa_lean_verifier/simulator/__main__.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "harcopa = harcopa_cli.main:main" in text
    assert "lean-sim = harcopa_lean_verifier.simulator.__main__:main" in text
