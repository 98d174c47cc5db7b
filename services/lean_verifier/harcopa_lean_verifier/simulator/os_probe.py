"""lean-sim's ``sim.io`` command: the OS actions a hostile ``#eval`` would try, for real.

Pantograph has no such command; it exists so that tests can show, through the real client and
launcher, what a REPL process may do inside the verifier's sandbox: open a TCP connection,
write a file, and where its working and temporary directories are. Called by the simulator's
protocol layer; every failure is reported in the reply (the process keeps running).
"""

from __future__ import annotations

import errno
import os
import socket
import time
from typing import Any

#: Bytes written per ``write`` call (a write past RLIMIT_FSIZE fails with EFBIG).
_CHUNK = 1 << 16


def _error_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc))


def _connect(address: str) -> dict[str, Any]:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return {"connected": True}
    except OSError as exc:
        return {"connected": False, "connect_error": _error_name(exc)}


def _write(path: str, size: int) -> dict[str, Any]:
    written = 0
    try:
        with open(path, "wb", buffering=0) as out:
            while written < size:
                written += out.write(b"x" * min(_CHUNK, size - written))
    except OSError as exc:
        return {"written": written, "write_error": _error_name(exc)}
    return {"written": written}


def _spin(seconds: int) -> dict[str, Any]:
    spent = time.process_time() + seconds
    while time.process_time() < spent:
        pass
    return {"spun": seconds}


def sim_io(args: dict[str, Any]) -> dict[str, Any]:
    """Report cwd and TMPDIR; with ``connect`` (``host:port``) try a connection; with
    ``write`` (a path) and ``bytes`` write that many bytes; with ``spin`` use that many CPU
    seconds."""
    reply: dict[str, Any] = {"cwd": os.getcwd(), "tmpdir": os.environ.get("TMPDIR")}
    if "spin" in args:
        reply.update(_spin(int(args["spin"])))
    if "connect" in args:
        reply.update(_connect(args["connect"]))
    if "write" in args:
        reply.update(_write(args["write"], int(args.get("bytes", 0))))
    return reply
