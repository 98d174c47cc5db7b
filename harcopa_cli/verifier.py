"""``harcopa verifier serve``: run the Lean verifier service in the foreground.

Registered by harcopa_cli/main.py. Flags override the ``HARCOPA_VERIFIER_*`` environment, and the
command then becomes ``python -m harcopa_lean_verifier`` (same interpreter).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

PREFIX = "HARCOPA_VERIFIER_"


def register(subparsers: Any) -> None:
    """Add ``verifier serve``."""
    parser = subparsers.add_parser("verifier", help="the Lean verifier service")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve VerifierService (Pantograph REPLs, or lean-sim: the protocol simulator)",
    )
    serve.add_argument(
        "--backend",
        choices=["pantograph", "sim"],
        default=None,
        help="pantograph: real Lean REPLs; sim: lean-sim, a simulator (not a prover)",
    )
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="gRPC port (0: any free port)")
    serve.add_argument("--metrics-port", type=int, default=None, help="Prometheus port")
    serve.add_argument("--pool-size", type=int, default=None, help="warm REPL processes")
    serve.add_argument(
        "--sessions-per-process",
        type=int,
        default=None,
        help="sessions that may share one REPL process (default 3; 1: a process each)",
    )
    serve.add_argument("--replica-id", default=None, help="session id prefix (default hostname)")
    serve.add_argument("--executable", type=Path, default=None, help="REPL binary path")
    serve.add_argument("--project-root", type=Path, default=None, help="Mathlib project")
    serve.add_argument("--scenario", type=Path, default=None, help="simulator scenario JSON")
    serve.set_defaults(handler=_serve)


def serve_environment(args: argparse.Namespace, base: dict[str, str]) -> dict[str, str]:
    """``base`` plus the ``HARCOPA_VERIFIER_*`` variables the flags set."""
    flags = {
        "HOST": args.host,
        "PORT": args.port,
        "METRICS_PORT": args.metrics_port,
        "POOL_SIZE": args.pool_size,
        "SESSIONS_PER_PROCESS": args.sessions_per_process,
        "REPLICA_ID": args.replica_id,
        "BACKEND__KIND": args.backend,
        "BACKEND__EXECUTABLE": args.executable,
        "BACKEND__PROJECT_ROOT": args.project_root,
        "BACKEND__SCENARIO_PATH": args.scenario,
    }
    env = dict(base)
    env.update({f"{PREFIX}{k}": str(v) for k, v in flags.items() if v is not None})
    return env


def _serve(args: argparse.Namespace) -> int:
    """Replace this process with ``python -m harcopa_lean_verifier`` (flags as environment).

    The service must import grpc itself, after disabling gRPC's fork handlers (see its
    ``__main__``); this process already imported grpc.
    """
    env = serve_environment(args, dict(os.environ))
    if env.get(f"{PREFIX}BACKEND__KIND") == "sim":
        print("harcopa verifier: using lean-sim, a Lean protocol simulator (not a prover)")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "harcopa_lean_verifier"], env)
    return 0  # pragma: no cover - execve does not return
