"""How a REPL process is launched and sandboxed; used by the Pantograph client (pantograph.py).

A REPL runs model-written Lean, which can do IO (``#eval``, ``run_tac``), so each process is
started through a small exec trampoline (never a ``preexec_fn``: that forces fork() in a
threaded gRPC server and can crash the child before exec) which, in this order:

1. gives the process its own empty network namespace (``unshare(CLONE_NEWNET)``, or with a new
   user namespace mapping our own uid and gid when that is what the OS permits unprivileged
   processes): Lean then has only a loopback interface that is down, so no connection leaves
   it. ``network_isolation`` says what happens where the OS refuses (a container without
   ``CAP_SYS_ADMIN`` under a seccomp profile that blocks ``unshare``): ``auto`` runs without it
   (logged once at start; the chart's NetworkPolicy is then the only barrier), ``require``
   refuses to start REPLs, ``off`` never tries;
2. asks Linux to SIGKILL the REPL when the verifier dies (``PR_SET_PDEATHSIG``, set after the
   namespace change, which may reset it) and exits if the verifier is already gone;
3. sets hard limits: address space (``RLIMIT_AS``), CPU seconds over the process's life
   (``RLIMIT_CPU``; SIGXCPU kills it and the pool replaces it, a session on it is recovered),
   file size (``RLIMIT_FSIZE``; SIGXFSZ is ignored, so a write past it fails with EFBIG and Lean
   reports an IO error instead of dying), open files (``RLIMIT_NOFILE``), no core dumps, the
   stack raised to its hard limit (Lean needs a deep stack), and the CPU affinity.

Each process also gets a private temporary directory (mode 0700) as ``TMPDIR``, removed once
the process is gone. It is the working directory too, unless a Mathlib project is configured:
Pantograph resolves Lake's relative ``LEAN_PATH`` entries (``././.lake/packages/...``) and
finds its toolchain from the project root, so there the cwd stays the project, which the image
keeps read-only.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harcopa.errors import BackendUnavailable
from harcopa_lean_verifier.lean_options import LEAN_OPTIONS

logger = logging.getLogger(__name__)

NetworkIsolation = Literal["auto", "require", "off"]
DEFAULT_IMPORTS: tuple[str, ...] = ("Mathlib", "Aesop")
#: The trampoline's exit status when ``network_isolation="require"`` cannot be met.
SANDBOX_EXIT_CODE = 126
PRIVATE_DIR_PREFIX = "harcopa-repl-"


@dataclass(frozen=True)
class ReplConfig:
    """How to launch one REPL process; durations in seconds, sizes in bytes."""

    executable: Path
    imports: tuple[str, ...] = DEFAULT_IMPORTS
    options: tuple[str, ...] = LEAN_OPTIONS
    project_root: Path | None = None
    lean_path: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ready_timeout_seconds: float = 600.0
    max_memory_bytes: int | None = None
    stack_unlimited: bool = True
    cpu_affinity: tuple[int, ...] | None = None
    #: No request may run longer than this, whatever timeout the caller asks for (None: no cap).
    hard_ceiling_seconds: float | None = None
    #: CPU seconds one process may use over its life (RLIMIT_CPU; None: no limit).
    max_cpu_seconds: int | None = None
    #: Largest file the process may write (RLIMIT_FSIZE; None: no limit).
    max_file_bytes: int | None = None
    #: Most files the process may hold open (RLIMIT_NOFILE; None: inherit).
    max_open_files: int | None = None
    network_isolation: NetworkIsolation = "auto"
    #: Where private temporary directories are made (None: the system temporary directory).
    temp_root: Path | None = None


_LEAN_PATHS: dict[Path, str] = {}
_LEAN_PATH_LOCK = threading.Lock()


def discover_lean_path(project_root: Path) -> str:
    """``lake env printenv LEAN_PATH`` in ``project_root``, once per project (blocking).

    The trailing newline is stripped (the reference kept it, official-impl §8 item 23).
    """
    root = project_root.resolve()
    with _LEAN_PATH_LOCK:
        cached = _LEAN_PATHS.get(root)
        if cached is not None:
            return cached
        try:
            done = subprocess.run(
                ["lake", "env", "printenv", "LEAN_PATH"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BackendUnavailable(f"cannot run `lake env` in {root}: {exc}") from exc
        if done.returncode != 0:
            raise BackendUnavailable(
                f"`lake env printenv LEAN_PATH` failed in {root}: {done.stderr.strip()[-2000:]}"
            )
        _LEAN_PATHS[root] = done.stdout.rstrip("\r\n")
        return _LEAN_PATHS[root]


_TRAMPOLINE = """\
import ctypes, json, os, resource, signal, sys
spec = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)

def own_network():
    if not hasattr(libc, "unshare"):
        return "unshare() is not available"
    if libc.unshare(0x40000000) == 0:  # CLONE_NEWNET
        return ""
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(0x10000000 | 0x40000000) != 0:  # CLONE_NEWUSER | CLONE_NEWNET
        return os.strerror(ctypes.get_errno())
    for name, line in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        try:
            with open("/proc/self/" + name, "w") as mapping:
                mapping.write(line)
        except OSError:
            pass
    return ""

why = "" if spec["network"] == "off" else own_network()
if spec.get("probe"):
    print(json.dumps({"isolated": spec["network"] != "off" and not why, "why": why}))
    sys.exit(0)
if why and spec["network"] == "require":
    sys.stderr.write("harcopa sandbox: no network namespace for the REPL: " + why + "\\n")
    sys.exit(126)
if hasattr(libc, "prctl"):
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if spec["parent"] and os.getppid() != spec["parent"]:  # the verifier died meanwhile
    sys.exit(1)

def cap(kind, value):
    hard = resource.getrlimit(kind)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(kind, (value, value))

if spec["stack"]:
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    resource.setrlimit(resource.RLIMIT_STACK, (hard, hard))
for name in ("AS", "FSIZE", "NOFILE"):
    if spec[name] is not None:
        cap(getattr(resource, "RLIMIT_" + name), spec[name])
if spec["CPU"] is not None:  # SIGXCPU at the limit, SIGKILL a second later
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    top = spec["CPU"] + 1 if hard == resource.RLIM_INFINITY else hard
    resource.setrlimit(resource.RLIMIT_CPU, (min(spec["CPU"], top), min(spec["CPU"] + 1, top)))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past RLIMIT_FSIZE fails with EFBIG
if spec["cpus"]:
    os.sched_setaffinity(0, spec["cpus"])
os.execv(sys.argv[2], sys.argv[2:])
"""


def _trampoline(spec: dict[str, object], argv: list[str]) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, json.dumps(spec), *argv]


def resolve_executable(config: ReplConfig, env: Mapping[str, str]) -> str:
    """Absolute path of the executable (a bare name is looked up on PATH, a relative path
    under ``project_root`` as subprocess does); BackendUnavailable if it cannot be run."""
    name = str(config.executable)
    if os.sep not in name:
        found = shutil.which(name, path=env.get("PATH"))
    else:
        path = Path(name) if Path(name).is_absolute() else (config.project_root or Path()) / name
        found = str(path) if path.is_file() and os.access(path, os.X_OK) else None
    if found is None:
        raise BackendUnavailable(f"cannot start {name}: no such executable file")
    return os.path.abspath(found)


def launch_argv(config: ReplConfig, program: str) -> list[str]:
    """The argv to spawn: the REPL's own argv behind the sandboxing trampoline."""
    argv = [program, *config.imports, *(f"--{o}" for o in config.options)]
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    spec: dict[str, object] = {
        "network": config.network_isolation,
        "parent": os.getpid(),
        "stack": config.stack_unlimited and soft != hard,
        "AS": config.max_memory_bytes,
        "CPU": config.max_cpu_seconds,
        "FSIZE": config.max_file_bytes,
        "NOFILE": config.max_open_files,
        "cpus": list(config.cpu_affinity or ()),
    }
    return _trampoline(spec, argv)


_PROBED: dict[NetworkIsolation, str | None] = {}
_PROBE_LOCK = threading.Lock()


def check_network_isolation(mode: NetworkIsolation) -> None:
    """Find out once per process whether REPLs can get their own network namespace, and log it.

    BackendUnavailable when ``mode`` is ``require`` and the OS does not allow it (blocking).
    """
    why = _probe_once(mode)
    if why is not None and mode == "require":
        raise BackendUnavailable(f"network_isolation=require, but {why}")


def network_isolation_available() -> bool:
    """Whether this OS gives a REPL its own network namespace (probed once; blocking)."""
    return _probe_once("auto") is None


def _probe_once(mode: NetworkIsolation) -> str | None:
    with _PROBE_LOCK:
        if mode not in _PROBED:
            _PROBED[mode] = _probe(mode)
            _log_probe(mode, _PROBED[mode])
        return _PROBED[mode]


def _probe(mode: NetworkIsolation) -> str | None:
    """None when a REPL would be isolated from the network, else why not."""
    if mode == "off":
        return "network_isolation is off"
    try:
        done = subprocess.run(
            _trampoline({"network": mode, "probe": True}, []),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        answer = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return f"the sandbox probe failed: {exc}"
    if answer.get("isolated"):
        return None
    return f"the OS refuses a network namespace ({answer.get('why') or done.stderr.strip()})"


def _log_probe(mode: NetworkIsolation, why: str | None) -> None:
    if why is None:
        logger.info("REPL processes run in their own network namespace (no network access)")
    elif mode == "off":
        logger.warning("REPL processes keep the network (network_isolation=off)")
    elif mode == "auto":
        logger.warning(
            "REPL processes can reach the network: %s; only a NetworkPolicy (or a firewall) "
            "stops Lean code there; set network_isolation=require to refuse to run so",
            why,
        )


def private_directory(config: ReplConfig) -> Path:
    """A new directory only this user can enter, for one process's TMPDIR (and cwd)."""
    try:
        return Path(tempfile.mkdtemp(prefix=PRIVATE_DIR_PREFIX, dir=config.temp_root))
    except OSError as exc:
        raise BackendUnavailable(f"cannot make a private directory for a REPL: {exc}") from exc


def temp_environment(directory: Path) -> dict[str, str]:
    """The environment entries pointing temporary files into ``directory``."""
    return {name: str(directory) for name in ("TMPDIR", "TMP", "TEMP")}


def working_directory(config: ReplConfig, directory: Path) -> Path:
    """The project root when there is one (Pantograph needs it), else ``directory``."""
    return config.project_root if config.project_root is not None else directory


def remove_directory(directory: Path | None) -> None:
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)
