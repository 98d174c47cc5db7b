"""Async client of one Pantograph v0.2.25 REPL process; used by the REPL pool and FPS operations.

The wire protocol is pantograph-protocol.md §3-§4 and §14: argv = imports plus ``--key=value``
options; ``ready.`` handshake; one ``command {json}`` line in, one JSON line out; never an
empty line. v0.2.25 never flushes stdout, so stdout is a pseudo-terminal in raw mode (the
child's C runtime line-buffers a tty); stdin stays a pipe (a tty caps input lines at 4095
bytes); stderr is a pipe drained in the background. Pantograph has no timeouts of its own: a
call past its wall-clock limit kills the whole process group. How a process is launched and
sandboxed (network namespace, limits, private TMPDIR) is launcher.py. The same client drives
lean-sim, the wire-protocol simulator, in tests. Longer than our usual module: the process's
lifecycle, its framing and its typed requests are one state machine and stay together.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import pty
import signal
import time
import tty
import uuid
from collections import deque
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from harcopa.domain import Goal, Variable
from harcopa.errors import (
    BackendCrashed,
    BackendUnavailable,
    DeadlineExceeded,
    HarcopaError,
    InvalidRequest,
)
from harcopa_lean_verifier import metrics
from harcopa_lean_verifier.backends.launcher import ReplConfig as ReplConfig
from harcopa_lean_verifier.backends.launcher import (
    check_network_isolation,
    discover_lean_path,
    launch_argv,
    private_directory,
    remove_directory,
    resolve_executable,
    temp_environment,
    working_directory,
)

logger = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 64 * 1024
#: A reply line longer than this is treated as a broken process (drafts can be long; 1 GiB is not).
MAX_LINE_BYTES = 1 << 30
_REAP_SECONDS = 10.0
_OOM_MARKERS = ("MemoryError", "out of memory", "bad_alloc", "Cannot allocate memory")


class PantographError(HarcopaError):
    """Pantograph answered ``{"error": kind, "desc": desc}`` (pantograph-protocol.md §6)."""

    def __init__(self, kind: str, desc: str) -> None:
        super().__init__(f"{kind}: {desc}")
        self.kind = kind
        self.desc = desc


def encode_request(command: str, payload: dict[str, Any]) -> bytes:
    """The request line ``command {compact json}\\n`` (raw UTF-8; never a blank line)."""
    if not command or any(c.isspace() for c in command):
        raise InvalidRequest(f"invalid Pantograph command {command!r}")
    if not isinstance(payload, dict):
        raise InvalidRequest(f"the payload of {command} must be an object")
    try:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return f"{command} {body}\n".encode()
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError (lone surrogate) is a ValueError
        raise InvalidRequest(f"the payload of {command} cannot be sent: {exc}") from exc


class _LineReader(asyncio.Protocol):
    """Splits the bytes read from the pty master into lines; EIO (child gone) counts as EOF."""

    def __init__(self, max_line_bytes: int) -> None:
        self._buffer = bytearray()
        self._scan = 0
        self._lines: deque[bytes] = deque()
        self._max = max_line_bytes
        self._eof = False
        self.overflow = False
        self._waiter: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (index := self._buffer.find(b"\n", self._scan)) >= 0:
            self._lines.append(bytes(self._buffer[:index]))
            del self._buffer[: index + 1]
            self._scan = 0
        self._scan = len(self._buffer)
        if self._scan > self._max:
            self.overflow = self._eof = True
        self._wake()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def readline(self) -> bytes | None:
        """The next complete line without its ``\\n``; None once the child hung up."""
        while not self._lines:
            if self._eof:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._lines.popleft()


class _Hangup(Exception):
    """Internal: the process closed its stdout or stdin during a request."""


class Repl:
    """One Pantograph process. Strictly one request in flight (an internal lock).

    Lifecycle: ``start()`` spawns and waits for ``ready.``; any timeout, cancellation, crash or
    garbage line kills the process group for good (``alive`` turns False and ``last_failure``
    says why: ``timeout``, ``cancelled``, ``crash`` or ``oom``). A dead Repl is never revived;
    the pool makes a new one (a new ``incarnation``).
    """

    def __init__(self, config: ReplConfig) -> None:
        self.config = config
        self.incarnation = uuid.uuid4().hex
        self.pid = 0
        self.uses = 0
        #: Seconds this process spent answering requests (its busy time, ``ready.`` excluded).
        self.busy_seconds = 0.0
        self.last_failure: str | None = None
        #: This process's private TMPDIR (and cwd without a project); removed when it exits.
        self.private_dir: Path | None = None
        #: True once the process wrote to stderr after ``ready.`` (its answers are suspect).
        self.stderr_noise = False
        self._proc: asyncio.subprocess.Process | None = None
        self._reader = _LineReader(MAX_LINE_BYTES)
        self._stdout: asyncio.BaseTransport | None = None
        self._stderr = bytearray()
        self._tasks: list[asyncio.Task[Any]] = []
        self._lock = asyncio.Lock()
        self._ready = False
        self._dead = False

    def __repr__(self) -> str:
        return f"Repl(pid={self.pid}, incarnation={self.incarnation[:8]}, uses={self.uses})"

    @property
    def alive(self) -> bool:
        return self._proc is not None and not self._dead and self._proc.returncode is None

    def stderr_tail(self) -> str:
        return self._stderr.decode("utf-8", errors="replace")

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the process and wait for ``ready.``; BackendUnavailable on failure or timeout."""
        if self._proc is not None:
            raise RuntimeError("a Repl is started once; make a new one")
        started = time.monotonic()
        await asyncio.to_thread(check_network_isolation, self.config.network_isolation)
        env = await self._environment()
        program = resolve_executable(self.config, env)
        self.private_dir = private_directory(self.config)
        env.update(temp_environment(self.private_dir))
        await self._spawn(launch_argv(self.config, program), env)
        try:
            async with asyncio.timeout(self.config.ready_timeout_seconds):
                await self._await_ready()
            await self.options_set(
                {"printDependentMVars": True}, timeout_seconds=self.config.ready_timeout_seconds
            )
        except TimeoutError:
            await self.close()
            raise BackendUnavailable(
                f"{self.config.executable} sent no `ready.` within "
                f"{self.config.ready_timeout_seconds:g} s; stderr: {self.stderr_tail()[-2000:]}"
            ) from None
        except (DeadlineExceeded, PantographError) as exc:
            await self.close()
            raise BackendUnavailable(f"{self.config.executable} failed after ready: {exc}") from exc
        except BaseException:
            self.kill()
            raise
        self.uses = 0
        metrics.observe_call("ready", time.monotonic() - started)
        logger.info("REPL %s ready in %.2f s", self, time.monotonic() - started)

    async def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        lean_path = self.config.lean_path
        if lean_path is None and self.config.project_root is not None:
            lean_path = await asyncio.to_thread(discover_lean_path, self.config.project_root)
        if lean_path is not None:
            env["LEAN_PATH"] = lean_path
        env.update(self.config.env)
        return env

    async def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        try:
            tty.setraw(slave)  # no echo, no CR/LF translation of the child's output
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=slave,
                stderr=asyncio.subprocess.PIPE,
                cwd=working_directory(self.config, self.private_dir or Path()),
                env=env,
                start_new_session=True,  # its own process group: one killpg takes every child
            )
        except OSError as exc:
            os.close(master)
            remove_directory(self.private_dir)
            raise BackendUnavailable(f"cannot start {self.config.executable}: {exc}") from exc
        finally:
            os.close(slave)
        self.pid = self._proc.pid
        exited = asyncio.create_task(self._proc.wait(), name=f"repl-{self.pid}-exit")
        directory = self.private_dir
        exited.add_done_callback(lambda _: remove_directory(directory))
        self._tasks.append(exited)
        if self._dead:  # killed (pool closing) while the environment was being prepared
            os.close(master)
            self.kill()
            await self._proc.wait()
            raise BackendUnavailable(f"{self.config.executable} was stopped while starting")
        pipe = os.fdopen(master, "rb", buffering=0)
        try:
            self._stdout, _ = await asyncio.get_running_loop().connect_read_pipe(
                lambda: self._reader, pipe
            )
        except BaseException:
            pipe.close()
            self.kill()
            raise
        self._tasks.append(asyncio.create_task(self._drain_stderr(), name=f"repl-{self.pid}-err"))

    async def _await_ready(self) -> None:
        while True:
            line = await self._reader.readline()
            if line is None:
                await self._wait_exit(1.0)
                code = self._proc.returncode if self._proc else None
                await self.close()
                raise BackendUnavailable(
                    f"{self.config.executable} exited before `ready.` (exit code {code}); "
                    f"stderr: {self.stderr_tail()[-2000:]}"
                )
            text = line.decode("utf-8", errors="replace").strip()
            if text == "ready.":
                self._ready = True
                return
            if text:
                logger.warning("REPL %s printed %r before `ready.`", self, text[:200])

    async def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(65536):
            self._stderr += chunk
            del self._stderr[:-STDERR_TAIL_BYTES]
            if self._ready:
                self.stderr_noise = True
            logger.debug("REPL %s stderr: %s", self, chunk[:500])

    def kill(self, reason: str | None = None) -> None:
        """SIGKILL the whole process group now and mark this Repl dead (idempotent, sync)."""
        if reason is not None and self.last_failure is None:
            self.last_failure = reason
        self._dead = True
        if self._proc is None:
            return
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        if self._stdout is not None:
            self._stdout.close()
        if self._proc.stdin is not None:
            self._proc.stdin.close()

    async def close(self) -> None:
        """Kill the whole process group and reap it."""
        self.kill()
        await self._reap()

    async def _reap(self) -> None:
        if not self._tasks:
            return
        try:
            async with asyncio.timeout(_REAP_SECONDS):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        except TimeoutError:  # a grandchild outside the group may hold stderr open
            for task in self._tasks:
                task.cancel()
            logger.warning("REPL %s: reaping took more than %s s", self, _REAP_SECONDS)

    async def _wait_exit(self, seconds: float) -> bool:
        """Give a dying process up to ``seconds`` to exit; True if it has."""
        if self._tasks:
            await asyncio.wait(self._tasks[:1], timeout=seconds)
        return self._proc is not None and self._proc.returncode is not None

    async def rss_bytes(self) -> int:
        """Resident memory of the process tree in bytes (0 when gone)."""
        if not self.alive:
            return 0
        return await asyncio.to_thread(_tree_rss, self.pid)

    async def cpu_seconds(self) -> float | None:
        """User + system CPU seconds of the process tree so far (None before the spawn or
        after the exit); the pool's start admission reads it (starts.py)."""
        if self._proc is None or self._proc.returncode is not None:
            return None
        return await asyncio.to_thread(_tree_cpu, self._proc.pid)

    # -- requests --------------------------------------------------------------------------

    async def request(
        self, command: str, payload: dict[str, Any], *, timeout_seconds: float
    ) -> dict[str, Any]:
        """Send one request and return the decoded reply object (``{"error": ...}`` included).

        Timeout: the process group is killed and DeadlineExceeded raised (waiting for a
        previous request counts, but then nothing is killed). EOF, exit or garbage: killed,
        BackendCrashed. Cancellation: killed, CancelledError re-raised.
        """
        line = encode_request(command, payload)
        seconds = timeout_seconds
        if self.config.hard_ceiling_seconds is not None:
            seconds = min(seconds, self.config.hard_ceiling_seconds)
        started, sent = time.monotonic(), False
        try:
            async with asyncio.timeout(seconds), self._lock:
                if not self.alive:
                    raise BackendCrashed(f"the Lean process {self.pid} is gone ({command})")
                sent = True
                text = await self._exchange(line)
        except TimeoutError:
            if not sent:
                raise DeadlineExceeded(
                    f"{command}: the REPL stayed busy for {seconds:g} s"
                ) from None
            self.kill("timeout")
            await self._reap()
            raise DeadlineExceeded(
                f"{command} ran past {seconds:g} s; Lean process {self.pid} was killed"
            ) from None
        except asyncio.CancelledError:
            if sent:
                self.kill("cancelled")
            raise
        except _Hangup as exc:
            raise await self._crashed(command, str(exc), grace=1.0) from None
        finally:
            if sent:
                elapsed = time.monotonic() - started
                self.busy_seconds += elapsed
                metrics.observe_call(metrics.call_kind(command, payload), elapsed, command)
        try:
            reply = json.loads(text)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise await self._crashed(command, f"answered garbage {text[:200]!r}", grace=0.0)
        self.uses += 1
        if reply.get("error") == "io" and await self._wait_exit(0.2):
            self.kill("crash")  # the top-level handler's last words (pantograph-protocol §3.3)
        return reply

    async def _exchange(self, line: bytes) -> str:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(line)
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _Hangup(f"closed its stdin ({exc})") from exc
        while True:
            raw = await self._reader.readline()
            if raw is None:
                what = "sent a line longer than the limit" if self._reader.overflow else "exited"
                raise _Hangup(what)
            text = raw.decode("utf-8", errors="replace").replace("\r", "")
            if text.strip():
                return text

    async def _crashed(self, command: str, what: str, *, grace: float) -> BackendCrashed:
        """Kill and reap after a hang-up or a garbage line; the exception to raise."""
        await self._wait_exit(grace)
        code = self._proc.returncode if self._proc else None
        self.kill()
        await self._reap()
        tail = self.stderr_tail()
        oom = code == -signal.SIGKILL or any(m in tail for m in _OOM_MARKERS)
        cause = "cpu_limit" if code == -signal.SIGXCPU else "oom" if oom else "crash"
        self.last_failure = self.last_failure or cause
        logger.warning("REPL %s %s during %s (exit code %s)", self, what, command, code)
        return BackendCrashed(
            f"Lean process {self.pid} {what} during {command} (exit code {code}); "
            f"stderr: {tail[-2000:]}"
        )

    async def _call(self, command: str, payload: dict[str, Any], seconds: float) -> dict[str, Any]:
        reply = await self.request(command, payload, timeout_seconds=seconds)
        if "error" in reply:
            raise PantographError(str(reply["error"]), str(reply.get("desc", "")))
        return reply

    # -- typed wrappers (pantograph-protocol.md §7) -----------------------------------------

    async def frontend_process(
        self, file: str, *, sorrys: bool, timeout_seconds: float
    ) -> list[dict[str, Any]]:
        """Compile ``file`` (no header) in the REPL environment; the compilation units."""
        payload = {
            "file": file,
            "invocations": False,
            "sorrys": sorrys,
            "newConstants": False,
            "typeErrorsAsGoals": False,
        }
        reply = await self._call("frontend.process", payload, timeout_seconds)
        return list(reply.get("units", []))

    async def goal_tactic(
        self,
        state_id: int,
        goal_id: int,
        *,
        tactic: str | None = None,
        draft: str | None = None,
        timeout_seconds: float,
    ) -> dict[str, Any]:
        """Run exactly one of ``tactic``/``draft`` on one goal; the raw reply (§7.12)."""
        if (tactic is None) == (draft is None):
            raise InvalidRequest("goal_tactic needs exactly one of tactic and draft")
        payload: dict[str, Any] = {"stateId": state_id, "goalId": goal_id}
        if tactic is not None:
            payload["tactic"] = tactic
        else:
            payload["draft"] = draft
        return await self._call("goal.tactic", payload, timeout_seconds)

    async def goal_print(
        self,
        state_id: int,
        *,
        goals: bool = False,
        extra_mvars: Sequence[str] = (),
        timeout_seconds: float,
    ) -> dict[str, Any]:
        payload = {
            "stateId": state_id,
            "rootExpr": False,
            "parentExpr": False,
            "goals": goals,
            "extraMVars": list(extra_mvars),
        }
        return await self._call("goal.print", payload, timeout_seconds)

    async def goal_delete(self, state_ids: Sequence[int], *, timeout_seconds: float) -> None:
        await self._call("goal.delete", {"stateIds": list(state_ids)}, timeout_seconds)

    async def options_set(self, options: dict[str, Any], *, timeout_seconds: float) -> None:
        await self._call("options.set", dict(options), timeout_seconds)

    async def reset(self, *, timeout_seconds: float) -> None:
        await self._call("reset", {}, timeout_seconds)

    async def stat(self, *, timeout_seconds: float) -> dict[str, Any]:
        return await self._call("stat", {}, timeout_seconds)

    async def expr_echo(self, expr: str, *, timeout_seconds: float) -> dict[str, Any]:
        return await self._call("expr.echo", {"expr": expr}, timeout_seconds)


def _tree(pid: int) -> list[Any] | None:
    """The process ``pid`` and all its descendants (psutil), or None when it is gone."""
    import psutil  # the verifier extra; imported here so the client module stays light

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return None


def _tree_cpu(pid: int) -> float | None:
    import psutil

    processes = _tree(pid)
    if processes is None:
        return None
    total = 0.0
    for process in processes:
        with suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _tree_rss(pid: int) -> int:
    import psutil

    total = 0
    for process in _tree(pid) or ():
        with suppress(psutil.Error):
            total += process.memory_info().rss
    return total


# -- goal JSON -> domain ------------------------------------------------------------------


def _pp(expression: Any) -> str:
    return str(expression.get("pp", "")) if isinstance(expression, dict) else ""


def goal_from_json(obj: dict[str, Any]) -> Goal:
    """One Pantograph goal (§5.3) as a domain Goal; ``sibling_dep`` is left empty."""
    variables = tuple(
        Variable(
            name=var.get("userName"),
            type=_pp(var.get("type")),
            value=_pp(var["value"]) if var.get("value") is not None else None,
        )
        for var in obj.get("vars", [])
    )
    return Goal(
        variables=variables,
        target=_pp(obj.get("target")),
        name=obj.get("userName") or None,
        is_conversion=bool(obj.get("isConversion", False)),
        mvar_id=str(obj.get("name", "")),
    )


def goals_from_json(goals: Sequence[dict[str, Any]]) -> tuple[Goal, ...]:
    """A state's goals with ``sibling_dep``: the other goals named in ``target.dependentMVars``."""
    index_of = {str(g.get("name")): i for i, g in enumerate(goals) if g.get("name")}
    parsed: list[Goal] = []
    for i, obj in enumerate(goals):
        goal = goal_from_json(obj)
        target = obj.get("target") or {}
        deps: list[int] = []
        for mvar in target.get("dependentMVars", []) if isinstance(target, dict) else []:
            j = index_of.get(str(mvar))
            if j is not None and j != i and j not in deps:
                deps.append(j)
        parsed.append(dataclasses.replace(goal, sibling_dep=tuple(deps)) if deps else goal)
    return tuple(parsed)
