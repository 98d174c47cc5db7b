"""The Lean stack this verifier is built for; read by the server (build info), lean-sim and the
image checks (the verifier Dockerfile's build arguments must name the same versions)."""

from __future__ import annotations

import json
from pathlib import Path

#: Lean toolchain the Pantograph REPL and Mathlib are built with.
LEAN_VERSION = "v4.15.0"
#: Pantograph release whose `repl` the pool runs (its `lean-toolchain` is LEAN_VERSION).
PANTOGRAPH_VERSION = "v0.2.25"
#: The commit that release tag names; the image build checks it.
PANTOGRAPH_COMMIT = "4435a6459cddc0661d39d2f370887eff007c94fd"
#: Mathlib tag built with LEAN_VERSION.
MATHLIB_VERSION = "v4.15.0"
#: The ``lean_version`` label of ``harcopa_build_info`` when the REPLs are lean-sim processes.
SIMULATED_LEAN_VERSION = "lean-sim"


def project_versions(project_root: Path | None) -> tuple[str, str]:
    """(Lean toolchain, Mathlib revision) of a built Mathlib project, read from its
    ``lean-toolchain`` and ``lake-manifest.json``; empty strings for what cannot be read."""
    if project_root is None:
        return "", ""
    try:
        toolchain = (project_root / "lean-toolchain").read_text(encoding="utf-8").strip()
    except OSError:
        toolchain = ""
    mathlib = ""
    try:
        manifest = json.loads((project_root / "lake-manifest.json").read_text(encoding="utf-8"))
        for package in manifest.get("packages", []):
            if package.get("name") == "mathlib":
                mathlib = str(package.get("inputRev") or package.get("rev") or "")
        if not mathlib and manifest.get("name") == "mathlib":
            mathlib = "(the project itself)"
    except (OSError, ValueError, AttributeError):
        pass
    return toolchain, mathlib
