"""Assembles the verifier service from its settings: backend -> pool -> FPS operations -> gRPC.

Called by ``python -m harcopa_lean_verifier``, by ``harcopa verifier serve`` and by tests
(which run it in-process on port 0 with the lean-sim backend).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from harcopa import __version__
from harcopa.domain import VerifierInfo
from harcopa.serving import Service, ServiceRunner, run_service
from harcopa_lean_verifier.backends.pantograph import ReplConfig
from harcopa_lean_verifier.backends.simulated import SimulatedConfig, simulator_executable
from harcopa_lean_verifier.metrics import METRICS_SERVICE
from harcopa_lean_verifier.pool import PoolConfig, ReplPool
from harcopa_lean_verifier.servicer import SERVICE_NAME, VerifierServicer, register
from harcopa_lean_verifier.settings import PantographConfig, VerifierLimits, VerifierSettings
from harcopa_lean_verifier.timeouts import Timeouts
from harcopa_lean_verifier.turns import ProblemRanks
from harcopa_lean_verifier.verifier import PantographVerifier
from harcopa_lean_verifier.versions import (
    LEAN_VERSION,
    PANTOGRAPH_VERSION,
    SIMULATED_LEAN_VERSION,
    project_versions,
)


def timeouts(settings: VerifierSettings) -> Timeouts:
    """The one timeouts object of the service, from its settings."""
    return Timeouts(
        tactic=settings.tactic_timeout_seconds,
        draft=settings.draft_timeout_seconds,
        file=settings.file_timeout_seconds,
        paper=settings.paper_timeout_seconds,
        ready=settings.ready_timeout_seconds,
        ceiling=settings.hard_ceiling_seconds,
    )


def repl_config(settings: VerifierSettings, limits: Timeouts) -> ReplConfig:
    """The REPL launch description for the configured backend (a match, no registry)."""
    match settings.backend:
        case PantographConfig() as cfg:
            base = ReplConfig(
                executable=cfg.executable,
                imports=tuple(cfg.imports),
                project_root=cfg.project_root,
                lean_path=cfg.lean_path,
                env=dict(cfg.env),
            )
        case SimulatedConfig() as cfg:
            base = ReplConfig(
                executable=simulator_executable(cfg),
                imports=tuple(cfg.imports),
                env=cfg.simulator_env(),
            )
        case _:
            raise ValueError(f"unknown backend {settings.backend!r}")
    return dataclasses.replace(
        base,
        options=tuple(settings.lean_options),
        ready_timeout_seconds=limits.ready,
        max_memory_bytes=settings.max_memory_bytes,
        max_cpu_seconds=settings.max_cpu_seconds,
        max_file_bytes=settings.max_file_bytes,
        max_open_files=settings.max_open_files,
        network_isolation=settings.network_isolation,
        temp_root=settings.temp_root,
        cpu_affinity=settings.cpu_affinity,
        hard_ceiling_seconds=limits.ceiling,
    )


def pool_config(settings: VerifierSettings) -> PoolConfig:
    config = PoolConfig(
        size=settings.pool_size,
        max_uses=settings.max_uses,
        max_rss_bytes=settings.max_rss_bytes,
        acquire_timeout_seconds=settings.acquire_timeout_seconds,
        sessions_per_process=settings.sessions_per_process,
    )
    if settings.parallel_starts is None:  # the pool's default: the core count
        return config
    return dataclasses.replace(config, max_parallel_starts=settings.parallel_starts)


def stack_info(settings: VerifierSettings) -> VerifierInfo:
    """What Describe reports about the backend (the counts are filled in at call time)."""
    match settings.backend:
        case PantographConfig() as cfg:
            toolchain, mathlib = project_versions(cfg.project_root)
            return VerifierInfo(
                replica_id=settings.replica_id,
                backend="pantograph",
                version=__version__,
                lean_version=toolchain or LEAN_VERSION,
                mathlib_version=mathlib,
                pantograph_version=PANTOGRAPH_VERSION,
                imports=tuple(cfg.imports),
            )
        case SimulatedConfig() as sim:
            return VerifierInfo(
                replica_id=settings.replica_id,
                backend="lean-sim",
                version=__version__,
                lean_version=SIMULATED_LEAN_VERSION,
                imports=tuple(sim.imports),
            )
    raise ValueError(f"unknown backend {settings.backend!r}")


def build_verifier(
    settings: VerifierSettings, *, ranks: ProblemRanks | None = None
) -> PantographVerifier:
    """The FPS operations on a (not yet started) pool for the configured backend; ``ranks``
    orders the turns of sessions sharing a process (default: a new ProblemRanks)."""
    limits = timeouts(settings)
    repl = repl_config(settings, limits)
    pool = ReplPool(pool_config(settings), repl)
    verifier = PantographVerifier(
        pool,
        imports=repl.imports,
        options=repl.options,
        replica_id=settings.replica_id,
        timeouts=limits,
        session_idle_seconds=settings.session_idle_seconds,
        lease_seconds=settings.lease_seconds,
        max_sessions_per_client=settings.max_sessions_per_client,
        stack=stack_info(settings),
        max_states_per_session=settings.max_states_per_session,
        ranks=ranks,
    )
    # Keep the explicit-printing parse pass warm: a new problem never evicts a session's
    # process (and pays a Mathlib import) just to be parsed. A pool too small to leave a
    # session and a checking process beside the reservation shares its processes instead.
    if settings.parse_processes and settings.pool_size >= settings.parse_processes + 3:
        pool.reserve(verifier.parsing_key, settings.parse_processes)
    return verifier


def build_service(verifier: PantographVerifier, settings: VerifierSettings) -> Service:
    servicer = VerifierServicer(verifier, VerifierLimits.of(settings))
    return Service(SERVICE_NAME, servicer, register)


def lean_version(settings: VerifierSettings) -> str:
    """The ``lean_version`` build-info label: the Lean release, or ``lean-sim`` when simulated."""
    simulated = not isinstance(settings.backend, PantographConfig)
    return SIMULATED_LEAN_VERSION if simulated else LEAN_VERSION


def build_runner(settings: VerifierSettings) -> ServiceRunner:
    """A runner (server bound, not started) hosting the verifier; tests start and stop it."""
    verifier = build_verifier(settings)
    service = build_service(verifier, settings)
    return ServiceRunner(settings, [service], verifier, METRICS_SERVICE, lean_version(settings))


async def main(
    settings: VerifierSettings,
    on_ready: Callable[[ServiceRunner], Awaitable[None]] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT."""
    verifier = build_verifier(settings)
    service = build_service(verifier, settings)
    await run_service(
        settings, [service], verifier, METRICS_SERVICE, on_ready, lean_version(settings)
    )
