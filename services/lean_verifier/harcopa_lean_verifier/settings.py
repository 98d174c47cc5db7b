"""Settings of the lean_verifier service (env prefix ``HARCOPA_VERIFIER_``); parsed in __main__.

The backend is a discriminated union on ``kind``: ``pantograph`` (real Pantograph REPLs over a
Mathlib project) or ``sim`` (lean-sim, the wire-protocol simulator). Nested fields use ``__``,
e.g. ``HARCOPA_VERIFIER_BACKEND__KIND=sim``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from harcopa.domain.problems import MAX_SESSIONS_PER_PROCESS, SESSIONS_PER_PROCESS
from harcopa.settings import ServiceSettings
from harcopa_lean_verifier.backends.launcher import NetworkIsolation
from harcopa_lean_verifier.backends.simulated import SimulatedConfig
from harcopa_lean_verifier.lean_options import LEAN_OPTIONS
from harcopa_lean_verifier.starts import CEILING_FACTOR


class PantographConfig(BaseModel):
    """Run the verifier on real Pantograph v0.2.25 ``repl`` processes."""

    kind: Literal["pantograph"] = "pantograph"
    executable: Path = Field(Path("repl"), description="Path of the Pantograph `repl` binary.")
    project_root: Path | None = Field(
        None, description="Built Mathlib project: the REPLs' cwd and source of LEAN_PATH."
    )
    lean_path: str | None = Field(
        None, description="Explicit LEAN_PATH; wins over discovery in project_root."
    )
    imports: tuple[str, ...] = Field(
        ("Mathlib", "Aesop"), description="Modules every REPL imports at start."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables for REPL processes."
    )


VerifierBackend = PantographConfig | SimulatedConfig


class VerifierSettings(ServiceSettings):
    """Everything the verifier reads at start; every duration is in seconds, sizes in bytes."""

    model_config = SettingsConfigDict(env_prefix="HARCOPA_VERIFIER_", env_nested_delimiter="__")

    backend: VerifierBackend = Field(
        default_factory=PantographConfig,
        discriminator="kind",
        description="Which executable the REPL pool runs: Pantograph or the lean-sim simulator.",
    )
    replica_id: str = Field(
        default_factory=socket.gethostname,
        description="This replica's name; session ids start with it (default: the hostname).",
    )
    lean_options: tuple[str, ...] = Field(
        LEAN_OPTIONS, description="Lean `key=value` options passed to every REPL."
    )
    pool_size: int = Field(
        4,
        ge=2,
        description="Most REPL processes (all keys): open sessions pin them "
        "(sessions_per_process each), and parsing, RPE and CheckFile lease one each, so the "
        "sessions get pool_size - 2 of them (pool_size - 1 below 4).",
    )
    parse_processes: int = Field(
        1,
        ge=0,
        description="Pool processes kept warm for the explicit-printing parse pass (never "
        "evicted); applied when pool_size leaves at least 3 other processes.",
    )
    parallel_starts: int | None = Field(
        None,
        ge=1,
        description="Most REPL processes starting (importing) at once while using CPU (None: "
        "the core count); starts that only wait (on the disk, or lean-sim's sleep) do not count, "
        f"up to {CEILING_FACTOR} times this many in all. The service reports ready once the "
        "parse process and one session process are warm; Describe reports how many of "
        "pool_size are warm.",
    )
    sessions_per_process: int = Field(
        SESSIONS_PER_PROCESS,
        ge=1,
        le=MAX_SESSIONS_PER_PROCESS,
        description="Sessions that may share one REPL process (their calls take turns on it): "
        "sessions spread over the processes first and share only when every session process "
        "holds one, so a search waiting on its model leaves the process to another. A process "
        "that dies (a timeout, a crash) loses all its sessions, which their clients replay. "
        "1: a process per session.",
    )
    max_uses: int = Field(500, ge=1, description="Requests a REPL serves before it is recycled.")
    max_rss_bytes: int | None = Field(
        None,
        ge=1,
        description="A REPL whose process tree's resident memory passes this many bytes is "
        "killed (sampled while in use, checked again on release); its session is recovered.",
    )
    rss_sample_seconds: float = Field(
        5.0, gt=0, description="How often REPLs in use are checked against max_rss_bytes."
    )
    max_memory_bytes: int | None = Field(
        None, ge=1, description="RLIMIT_AS per REPL process in bytes (None: no limit)."
    )
    max_cpu_seconds: int | None = Field(
        7200,
        ge=1,
        description="RLIMIT_CPU per REPL process: CPU seconds over its whole life (SIGXCPU then "
        "kills it; the pool replaces it and its session is recovered). None: no limit.",
    )
    max_file_bytes: int | None = Field(
        64 << 20,
        ge=1,
        description="RLIMIT_FSIZE per REPL process in bytes: a longer write fails (Lean needs to "
        "write nothing). None: no limit.",
    )
    max_open_files: int | None = Field(
        65536,
        ge=16,
        description="RLIMIT_NOFILE per REPL process (capped at the verifier's own hard limit). "
        "None: inherit.",
    )
    network_isolation: NetworkIsolation = Field(
        "auto",
        description="Give each REPL its own empty network namespace: `auto` where the OS allows "
        "it (else logged once at start), `require` (REPLs do not start without it), `off`.",
    )
    temp_root: Path | None = Field(
        None,
        description="Directory for each REPL's private TMPDIR (None: the system temporary "
        "directory); it must be writable (an emptyDir under a read-only root file system).",
    )
    acquire_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest wait for a free REPL before RESOURCE_EXHAUSTED."
    )
    ready_timeout_seconds: float = Field(
        600.0, gt=0, description="Longest wait for a new REPL's `ready.` line."
    )
    tactic_timeout_seconds: float = Field(
        60.0, gt=0, description="Wall-clock limit of one tactic; past it the REPL is replaced."
    )
    draft_timeout_seconds: float = Field(
        120.0, gt=0, description="Wall-clock limit of one draft (step or whole solution)."
    )
    file_timeout_seconds: float = Field(
        300.0, gt=0, description="Default wall-clock limit of compiling one file or statement."
    )
    paper_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="Wall-clock limit of every REPL call (tactic, draft, statement, RPE) of a "
        "paper-mode session: the reference's 300 s.",
    )
    hard_ceiling_seconds: float = Field(
        1200.0, gt=0, description="No single REPL request may run longer than this."
    )
    session_idle_seconds: float = Field(
        900.0,
        gt=0,
        description="A session without a client lease (in-process callers) unused this long is "
        "closed and its REPL released.",
    )
    lease_seconds: float = Field(
        15.0,
        gt=0,
        description="A client's sessions are closed this long after its last RenewLease or call "
        "(a dead or restarted orchestrator frees its REPLs within this time).",
    )
    max_sessions_per_client: int | None = Field(
        None,
        ge=1,
        description="Most sessions one client instance may hold on this replica "
        "(RESOURCE_EXHAUSTED beyond; None: no cap beyond the pool).",
    )
    max_states_per_session: int = Field(
        20000, ge=16, description="Live proof states one session may hold before it must delete."
    )
    max_statement_chars: int = Field(
        20000, ge=1, description="Longest formal statement plus header accepted, in characters."
    )
    max_step_chars: int = Field(
        20000, ge=1, description="Longest step, tactic, draft or submission, in characters."
    )
    max_path_steps: int = Field(
        256, ge=1, description="Most path steps a ValidateSubmission request may carry."
    )
    max_file_chars: int = Field(
        500000, ge=1, description="Longest file accepted by CheckFile, in characters."
    )
    cpu_affinity: tuple[int, ...] | None = Field(
        None, description="CPU cores the REPL processes may run on (None: inherit)."
    )


class VerifierLimits(BaseModel):
    """The request size limits the servicer enforces (copied out of VerifierSettings)."""

    max_statement_chars: int = 20000
    max_step_chars: int = 20000
    max_path_steps: int = 256
    max_file_chars: int = 500000

    @classmethod
    def of(cls, settings: VerifierSettings) -> VerifierLimits:
        return cls(**{name: getattr(settings, name) for name in cls.model_fields})
