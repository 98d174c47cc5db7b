"""Local service processes: start a harcopa service as a subprocess and wait until it is ready;
start the verifier, model server and orchestrator of one local stack.

Used by ``harcopa eval`` (the one-command local evaluation), ``harcopa cycle`` (each cycle's
data generation) and by end-to-end tests. Each service runs as ``python -m harcopa_<name>`` with
its settings in the environment, in its own process group, tied to this process
(``HARCOPA_PARENT_PID``: it stops when this process dies, however it dies); readiness is the
gRPC health check of its service name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harcopa.errors import BackendUnavailable
from harcopa.lifecycle import PARENT_PID_ENV

logger = logging.getLogger(__name__)


async def interruptible(work: Coroutine[Any, Any, int], interrupted: Callable[[], int]) -> int:
    """``work``'s exit code; SIGINT or SIGTERM cancel it (its ``finally`` blocks stop what it
    started) and the code is then ``interrupted()``'s."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    stop: list[int] = []

    def interrupt(signum: int) -> None:
        stop.append(signum)
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupt, signum)
    try:
        return await work
    except asyncio.CancelledError:
        if not stop:
            raise
        task.uncancel()
        return interrupted()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


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


@dataclass
class Plan:
    """Which backends this machine runs, and the environment of each service."""

    verifier_env: dict[str, str] = field(default_factory=dict)
    model_env: dict[str, str] | None = None  # None: an external OpenAI-compatible endpoint
    templates_path: Path | None = None  # the reference's exact prompts (--reference)
    notes: list[str] = field(default_factory=list)


def _ports(service: str, port: int) -> dict[str, str]:
    return {f"HARCOPA_{service}_PORT": str(port), f"HARCOPA_{service}_METRICS_ENABLED": "false"}


def _templates_env(plan: Plan) -> dict[str, str]:
    if plan.templates_path is None:
        return {}
    return {"HARCOPA_ORCHESTRATOR_TEMPLATES_PATH": str(plan.templates_path.resolve())}


def _service(module: str, service: str, prefix: str, env: Mapping[str, str], logs: Path) -> Any:
    port = free_port()
    name = module.removeprefix("harcopa_").removeprefix("lean_")
    return ServiceProcess(
        module,
        f"harcopa.v1.{service}",
        {**env, **_ports(prefix, port)},
        port=port,
        log_path=logs / f"{name}.log",
    )


@dataclass(frozen=True)
class LocalStack:
    """The targets of one local stack's services."""

    orchestrator: str
    verifier: str
    model: str | None  # None: the model is an external OpenAI-compatible endpoint


def _backends(
    plan: Plan, endpoint: Mapping[str, str], logs: Path
) -> tuple[list[ServiceProcess], dict[str, str]]:
    """The verifier and (unless an external endpoint) the model server, not started yet; the
    model map's entry for ``solver``."""
    services = [
        _service("harcopa_lean_verifier", "VerifierService", "VERIFIER", plan.verifier_env, logs)
    ]
    model_endpoint = {**endpoint, "api_key_env": "HARCOPA_API_KEY"}
    if plan.model_env is not None:
        model = _service("harcopa_model_server", "ModelService", "MODEL", plan.model_env, logs)
        services.append(model)
        model_endpoint = {"target": model.target}
    return services, model_endpoint


async def _start_all(services: Sequence[ServiceProcess]) -> None:
    """Start ``services`` side by side; the first failure cancels the others' starts and is
    raised as it is (the caller stops whatever did start)."""
    try:
        async with asyncio.TaskGroup() as group:
            for service in services:
                group.create_task(service.start())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


@contextlib.asynccontextmanager
async def local_services(
    plan: Plan,
    workdir: Path,
    benchmark_root: Path,
    endpoint: Mapping[str, str],
    orchestrator_env: Mapping[str, str] | None = None,
    logs: Path | None = None,
) -> AsyncIterator[LocalStack]:
    """Verifier, model server (unless ``plan`` names an external endpoint, ``endpoint``) and
    orchestrator as local processes, their logs in ``logs`` (default ``workdir/logs``); yields
    their targets once all three are ready, stops them on exit.

    The three start side by side: their ports are chosen first, and the orchestrator reads the
    verifier's capacity once the verifier answers (it waits for a starting verifier), so its own
    start-up overlaps the verifier's REPL warm-up instead of following it.

    The orchestrator's store is ``workdir/harcopa.sqlite`` and its one model is ``solver``;
    it resumes nothing by itself and marks its runs interrupted when it stops (the caller owns
    the runs: it resumes them on request). ``orchestrator_env`` adds orchestrator settings.
    """
    logs = logs if logs is not None else workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started: list[ServiceProcess] = []
    try:
        backends, model_endpoint = _backends(plan, endpoint, logs)
        verifier = backends[0]
        models_file = workdir / "models.json"
        models_file.write_text(
            json.dumps({"default": "solver", "models": {"solver": model_endpoint}})
        )
        settings = {
            "HARCOPA_ORCHESTRATOR_STORE_PATH": str(workdir / "harcopa.sqlite"),
            "HARCOPA_ORCHESTRATOR_BENCHMARK_ROOT": str(benchmark_root),
            "HARCOPA_ORCHESTRATOR_VERIFIER_TARGET": verifier.target,
            "HARCOPA_ORCHESTRATOR_MODELS_FILE": str(models_file),
            "HARCOPA_ORCHESTRATOR_RESUME_ON_START": "false",
            "HARCOPA_ORCHESTRATOR_INTERRUPT_RUNS_ON_SHUTDOWN": "true",
            **_templates_env(plan),
            **(orchestrator_env or {}),
        }
        orchestrator = _service(
            "harcopa_orchestrator", "OrchestratorService", "ORCHESTRATOR", settings, logs
        )
        started += [*backends, orchestrator]
        print(f"harcopa: starting local services (logs in {logs})", file=sys.stderr)
        await _start_all(started)
        model = model_endpoint["target"] if plan.model_env is not None else None
        yield LocalStack(orchestrator.target, verifier.target, model)
    finally:
        for service in reversed(started):
            await service.stop()
