"""Local service processes: start a harcopa service as a subprocess and wait until it is ready.

Used by ``harcopa eval`` (the one-command local evaluation) and by end-to-end tests. Each
service runs as ``python -m harcopa_<name>`` with its settings in the environment, in its own
process group, tied to this process (``HARCOPA_PARENT_PID``: it stops when this process dies,
however it dies); readiness is the gRPC health check of its service name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harcopa.errors import BackendUnavailable
from harcopa.lifecycle import PARENT_PID_ENV

logger = logging.getLogger(__name__)


def free_port() -> int:
    """A currently free loopback TCP port (services bind it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """One service subprocess in its own process group; stopped with SIGTERM, then SIGKILL."""

    def __init__(
        self,
        module: str,
        service_name: str,
        env: Mapping[str, str],
        *,
        port: int,
        log_path: Path | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        """``credentials``: how to reach a TLS server for the readiness check (None: plaintext)."""
        self.module = module
        self.credentials = credentials
        self.service_name = service_name
        self.env = dict(env)
        self.port = port
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self._log: Any = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, ready_timeout_seconds: float = 600) -> None:
        env = {**os.environ, **self.env, PARENT_PID_ENV: str(os.getpid())}
        out: Any = asyncio.subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = await asyncio.to_thread(open, self.log_path, "ab")  # closed in stop()
            out = self._log
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        await self._wait_ready(ready_timeout_seconds)

    async def _wait_ready(self, timeout_seconds: float) -> None:
        assert self.proc is not None
        deadline = asyncio.get_running_loop().time() + timeout_seconds
        channel = (
            grpc.aio.secure_channel(self.target, self.credentials)
            if self.credentials is not None
            else grpc.aio.insecure_channel(self.target)
        )
        async with channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                if self.proc.returncode is not None:
                    raise BackendUnavailable(
                        f"{self.module} exited with code {self.proc.returncode}"
                        + (f"; see {self.log_path}" if self.log_path else "")
                    )
                try:
                    reply = await stub.Check(
                        health_pb2.HealthCheckRequest(service=self.service_name), timeout=2
                    )
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    await self.stop()
                    raise BackendUnavailable(
                        f"{self.module} not ready after {timeout_seconds:.0f} s"
                    )
                await asyncio.sleep(0.2)

    async def stop(self, grace_seconds: float = 15) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace_seconds)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
