"""Verifier throughput benchmark: REPL round trips straight to the process and through gRPC.

Run ``python benchmarks/verifier_throughput.py [--calls 500] [--concurrency 4] [--in-process]``.
Both paths drive lean-sim (the Pantograph wire-protocol simulator, zero latency, not a
prover), so the numbers measure our own overhead, not Lean:

(a) direct: ``Repl.goal_tactic`` on one simulator process per session (client + pty framing);
(b) gRPC: ``RunTactic`` through ``VerifierClient`` -> VerifierService (its own server process,
    or this process with ``--in-process``) -> session -> pool -> the same simulator, on the
    client's session stream (``Exchange``, its default) and as one unary RPC per call;
(c) gRPC floor: ``Describe`` through the same client and service (interceptors included), which
    touches no REPL: the unary transport's own cost on this machine;
(d) bare stream floor: a grpc.aio server in its own process that answers each message of a
    bidirectional stream with the same bytes, driven by a bare grpc.aio stream (no harcopa code
    on either side, messages the size of a RunTactic request): what a streamed call costs here
    before any of ours runs;
(e) bare stream + REPL floor: the same echo server, but each stream drives its own simulator
    process and runs the same ``goal.tactic`` (the Repl client of (a)) before answering each
    message: the stream and the REPL call (b) is made of, with no harcopa code on the stream's
    path. (e) - (a) is the overhead a verifier would have if its own work cost nothing.

Each path runs with 1 and with N concurrent sessions (one process per session). It prints
calls/s, p50/p99 latency and the CPU time per call of the server process (its own threads, not
the REPLs; gRPC rows with the server in its own process) and of this one (the client; with
``--in-process`` the server too) per row, then the overhead per call, (b) - (a), and how much of
it is the transport, (d) for the stream and (c) for unary calls, and how much the verifier's and
its client's own work (sessions, FPS checks, wire conversion, metrics), (b) - (a) - floor; for
the stream also (e) - (a), the overhead without any of our code, and (b) - (e), ours beyond it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The server part may spawn REPLs while gRPC threads run; keep gRPC's fork handlers off.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc
import psutil

from harcopa.domain import FormalProblem, Framework, ProofState
from harcopa.lifecycle import PARENT_PID_ENV, tie_to_parent
from harcopa.verifier_client import VerifierClient
from harcopa_cli.local import ServiceProcess, free_port
from harcopa_lean_verifier.backends.pantograph import Repl, ReplConfig
from harcopa_lean_verifier.backends.simulated import SimulatedConfig, simulator_executable

#: The goal both paths work on: the statement as a file (a) and as an FPS problem (b).
FILE_STATEMENT = "example (answer : ℕ) (h_answer : answer = 3 + 4) : answer = 7 := sorry"
FPS_STATEMENT = "example\n(answer : ℕ)\n(h_answer : answer = 3 + 4)\n: answer = 7\n:= sorry"
TACTIC = "exfalso"
SERVICE_NAME = "harcopa.v1.VerifierService"
ECHO_METHOD = "/bench.Echo/Stream"
#: The bare stream's message: about the size of the RunTactic request the stream rows send.
ECHO_MESSAGE = b"x" * 96


@dataclass(frozen=True)
class Row:
    """Latencies (seconds) of every measured call of one configuration."""

    path: str
    sessions: int
    latencies: tuple[float, ...]
    wall_seconds: float
    #: CPU seconds the server process used over the measured calls (None: not measured).
    server_cpu_seconds: float | None = None
    #: CPU seconds this process (the client; with --in-process the server too) used over them.
    own_cpu_seconds: float = 0.0

    @property
    def server_cpu_per_call(self) -> float | None:
        if self.server_cpu_seconds is None:
            return None
        return self.server_cpu_seconds / len(self.latencies)

    @property
    def own_cpu_per_call(self) -> float:
        return self.own_cpu_seconds / len(self.latencies)

    @property
    def calls_per_second(self) -> float:
        return len(self.latencies) / self.wall_seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.latencies)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid``, all its threads, not its children (None
    when it is gone); psutil, as the verifier reads its REPLs' CPU."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


async def measure(
    path: str,
    sessions: int,
    calls: int,
    warmup: int,
    one_call: Callable[[int], Awaitable[None]],
    server_pid: int | None = None,
) -> Row:
    """Run ``calls`` measured calls (after ``warmup``) in each of ``sessions`` workers, and the
    CPU time this process spent on them; with ``server_pid``, that process's too."""
    latencies: list[float] = []
    # When the measured calls began, this process's CPU time then, the server's.
    measured: list[tuple[float, float, float | None]] = []
    warm = asyncio.Barrier(sessions)

    async def worker(index: int) -> None:
        for _ in range(warmup):
            await one_call(index)
        if await warm.wait() == 0:
            cpu = None if server_pid is None else process_cpu_seconds(server_pid)
            measured.append((time.perf_counter(), time.process_time(), cpu))
        for _ in range(calls):
            began = time.perf_counter()
            await one_call(index)
            latencies.append(time.perf_counter() - began)

    async with asyncio.TaskGroup() as group:
        for index in range(sessions):
            group.create_task(worker(index))
    (began, own_before, cpu_before), used = measured[0], None
    wall, own = time.perf_counter() - began, time.process_time() - own_before
    if cpu_before is not None and server_pid is not None:
        after = process_cpu_seconds(server_pid)
        used = None if after is None else after - cpu_before
    return Row(path, sessions, tuple(latencies), wall, used, own)


async def simulator_goal() -> tuple[Repl, int]:
    """A started simulator process and the id of its state for FILE_STATEMENT's goal."""
    config = ReplConfig(
        executable=simulator_executable(SimulatedConfig()), ready_timeout_seconds=60
    )
    repl = Repl(config)
    try:
        await repl.start()
        units = await repl.frontend_process(FILE_STATEMENT, sorrys=True, timeout_seconds=60)
        return repl, int(units[-1]["goalStateId"])
    except BaseException:
        await repl.close()
        raise


async def direct(sessions: int, calls: int, warmup: int) -> Row:
    """(a) ``goal.tactic`` straight on simulator processes."""
    started = await asyncio.gather(
        *(simulator_goal() for _ in range(sessions)), return_exceptions=True
    )
    repls = [r[0] for r in started if not isinstance(r, BaseException)]
    try:
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        states = [r[1] for r in started if not isinstance(r, BaseException)]

        async def one_call(index: int) -> None:
            reply = await repls[index].goal_tactic(
                states[index], 0, tactic=TACTIC, timeout_seconds=60
            )
            if "nextStateId" not in reply:
                raise RuntimeError(f"unexpected reply {reply}")

        return await measure("(a) direct Repl.goal_tactic", sessions, calls, warmup, one_call)
    finally:
        await asyncio.gather(*(r.close() for r in repls))


async def through_grpc(
    server: Server, sessions: int, calls: int, warmup: int, *, streams: bool = True
) -> Row:
    """(b) RunTactic through the VerifierClient and the VerifierService: on the session stream
    (Exchange, the client's default) or, ``streams=False``, one unary RPC per call."""
    problem = FormalProblem(benchmark="throughput", index=0, formal_statement=FPS_STATEMENT)
    client = VerifierClient(server.target, timeout_seconds=120, retries=False, streams=streams)
    path = "(b) gRPC RunTactic, stream" if streams else "(b) gRPC RunTactic, unary"
    async with client:
        opened = [
            await client.open_session(problem, [Framework.FORWARD_REASONING])
            for _ in range(sessions)
        ]
        handles = [s.state(Framework.FORWARD_REASONING).handle for s in opened]

        async def one_call(index: int) -> None:
            result = await client.run_tactic(handles[index], 0, TACTIC)
            if not isinstance(result, ProofState):
                raise RuntimeError(f"unexpected result {result}")

        try:
            return await measure(path, sessions, calls, warmup, one_call, server.pid)
        finally:
            for session in opened:
                await client.close_session(session.session_id)


async def grpc_floor(server: Server, sessions: int, calls: int, warmup: int) -> Row:
    """(c) Describe through the same client and service: no REPL, no session."""
    async with VerifierClient(server.target, timeout_seconds=120, retries=False) as client:

        async def one_call(index: int) -> None:
            await client.describe()

        path = "(c) gRPC Describe (floor)"
        return await measure(path, sessions, calls, warmup, one_call, server.pid)


def _same(data: bytes) -> bytes:
    return data


async def echo_server(port: int, *, with_repl: bool = False) -> None:
    """(d)'s server: answer every message of every stream with its own bytes, until killed;
    ``with_repl`` (e): each stream first starts a simulator process and runs one ``goal.tactic``
    on it per message before answering."""

    async def stream(requests: AsyncIterator[bytes], context: object) -> AsyncIterator[bytes]:
        async for message in requests:
            yield message

    async def stream_with_repl(
        requests: AsyncIterator[bytes], context: object
    ) -> AsyncIterator[bytes]:
        repl, state = await simulator_goal()
        try:
            async for message in requests:
                reply = await repl.goal_tactic(state, 0, tactic=TACTIC, timeout_seconds=60)
                if "nextStateId" not in reply:
                    raise RuntimeError(f"unexpected reply {reply}")
                yield message
        finally:
            await repl.close()

    handler = grpc.stream_stream_rpc_method_handler(
        stream_with_repl if with_repl else stream,
        request_deserializer=_same,
        response_serializer=_same,
    )
    service, method = ECHO_METHOD.strip("/").split("/")
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {method: handler}),)
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


async def bare_stream(sessions: int, calls: int, warmup: int, *, with_repl: bool = False) -> Row:
    """(d) one bare grpc.aio stream per session to the echo server in its own process; (e)
    ``with_repl``, the server running a REPL call per message."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--echo-server-with-repl" if with_repl else "--echo-server",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, PARENT_PID_ENV: str(os.getpid())},  # it dies with this process
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await asyncio.wait_for(channel.channel_ready(), 60)
            open_stream = channel.stream_stream(
                ECHO_METHOD, request_serializer=_same, response_deserializer=_same
            )
            streams = [open_stream() for _ in range(sessions)]

            async def one_call(index: int) -> None:
                await streams[index].write(ECHO_MESSAGE)
                if await streams[index].read() != ECHO_MESSAGE:
                    raise RuntimeError("the echo server answered other bytes")

            try:
                path = (
                    "(e) bare stream + REPL (floor)"
                    if with_repl
                    else "(d) bare gRPC stream (floor)"
                )
                return await measure(path, sessions, calls, warmup, one_call, server.pid)
            finally:
                for call in streams:
                    call.cancel()
    finally:
        server.kill()
        await server.wait()


def server_environment(port: int, pool_size: int) -> dict[str, str]:
    """HARCOPA_VERIFIER_* settings of a benchmark server on the simulator backend."""
    return {
        "HARCOPA_VERIFIER_HOST": "127.0.0.1",
        "HARCOPA_VERIFIER_PORT": str(port),
        "HARCOPA_VERIFIER_METRICS_ENABLED": "false",
        "HARCOPA_VERIFIER_BACKEND__KIND": "sim",
        "HARCOPA_VERIFIER_POOL_SIZE": str(pool_size),
        "HARCOPA_VERIFIER_REPLICA_ID": "throughput",
        "HARCOPA_VERIFIER_LOG_LEVEL": "WARNING",
        "HARCOPA_VERIFIER_MAX_STATES_PER_SESSION": "1000000",
    }


@dataclass(frozen=True)
class Server:
    """A running server: its address and, when it runs in its own process, that process."""

    target: str
    pid: int | None


@asynccontextmanager
async def verifier_server(pool_size: int, in_process: bool) -> AsyncIterator[Server]:
    """A running VerifierService over lean-sim."""
    port = free_port()
    env = server_environment(port, pool_size)
    if not in_process:
        process = ServiceProcess("harcopa_lean_verifier", SERVICE_NAME, env, port=port)
        await process.start(ready_timeout_seconds=120)
        assert process.proc is not None  # started
        try:
            yield Server(process.target, process.proc.pid)
        finally:
            await process.stop()
        return
    from harcopa_lean_verifier.server import build_runner
    from harcopa_lean_verifier.settings import VerifierSettings

    settings = VerifierSettings(
        host="127.0.0.1",
        port=port,
        metrics_enabled=False,
        backend=SimulatedConfig(),
        pool_size=pool_size,
        replica_id="throughput",
        max_states_per_session=1_000_000,
    )
    runner = build_runner(settings)
    await runner.start()
    try:
        yield Server(f"127.0.0.1:{runner.port}", None)
    finally:
        await runner.stop()


def report(rows: Sequence[Row], calls: int) -> str:
    lines = [
        f"lean-sim (simulator, zero latency): `{TACTIC}` x {calls} calls per session",
        f"{'path':<32} {'sessions':>8} {'calls/s':>10} {'p50 ms':>9} {'p99 ms':>9}"
        f" {'server CPU ms/call':>19} {'this process CPU ms/call':>25}",
    ]
    for row in rows:
        cpu = row.server_cpu_per_call
        lines.append(
            f"{row.path:<32} {row.sessions:>8} {row.calls_per_second:>10.0f} "
            f"{row.quantile(0.5) * 1e3:>9.3f} {row.quantile(0.99) * 1e3:>9.3f}"
            f" {'-' if cpu is None else f'{cpu * 1e3:.3f}':>19} {row.own_cpu_per_call * 1e3:>25.3f}"
        )
    direct_rows = {r.sessions: r for r in rows if r.path.startswith("(a)")}
    floor_rows = {r.sessions: r for r in rows if r.path.startswith("(c)")}
    stream_rows = {r.sessions: r for r in rows if r.path.startswith("(d)")}
    repl_rows = {r.sessions: r for r in rows if r.path.startswith("(e)")}
    for row in rows:
        base = direct_rows.get(row.sessions)
        if row.path.startswith("(b)") and base is not None:
            p50 = row.quantile(0.5) - base.quantile(0.5)
            line = (
                f"overhead per call {row.path[4:]} (b - a), {row.sessions} session(s):"
                f" p50 +{p50 * 1e3:.3f} ms, "
                f"mean +{(row.mean - base.mean) * 1e3:.3f} ms"
            )
            name = "(c)" if row.path.endswith("unary") else "(d)"
            floor = (floor_rows if name == "(c)" else stream_rows).get(row.sessions)
            if floor is not None:
                own = p50 - floor.quantile(0.5)
                line += (
                    f"; of it transport {name} {floor.quantile(0.5) * 1e3:.3f} ms, "
                    f"ours (b - a - {name[1]}) {own * 1e3:+.3f} ms"
                )
            bare = repl_rows.get(row.sessions) if name == "(d)" else None
            if bare is not None:
                floor_p50 = bare.quantile(0.5) - base.quantile(0.5)
                ours = row.quantile(0.5) - bare.quantile(0.5)
                line += (
                    f"; without any of our code (e - a) +{floor_p50 * 1e3:.3f} ms,"
                    f" ours beyond that (b - e) {ours * 1e3:+.3f} ms"
                )
            lines.append(line)
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[Row]:
    levels = sorted({1, args.concurrency})
    rows = [await direct(n, args.calls, args.warmup) for n in levels]
    # One process per session, the parse pass's reserved one and one checking process.
    async with verifier_server(max(levels) + 2, args.in_process) as server:
        rows += [await through_grpc(server, n, args.calls, args.warmup) for n in levels]
        rows += [
            await through_grpc(server, n, args.calls, args.warmup, streams=False) for n in levels
        ]
        rows += [await grpc_floor(server, n, args.calls, args.warmup) for n in levels]
    rows += [await bare_stream(n, args.calls, args.warmup) for n in levels]
    rows += [await bare_stream(n, args.calls, args.warmup, with_repl=True) for n in levels]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="measured calls per session")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured calls per session")
    parser.add_argument("--concurrency", type=int, default=4, help="N concurrent sessions")
    parser.add_argument(
        "--in-process", action="store_true", help="run the gRPC server in this process"
    )
    parser.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--echo-server-with-repl", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # (d)'s and (e)'s server process, ended by its parent's death too
    for port, with_repl in ((args.echo_server, False), (args.echo_server_with_repl, True)):
        if port is not None:
            tie_to_parent()
            asyncio.run(echo_server(port, with_repl=with_repl))
            return 0
    if args.calls < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--calls and --concurrency must be positive, --warmup not negative")
    rows = asyncio.run(run(args))
    print(report(rows, args.calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
