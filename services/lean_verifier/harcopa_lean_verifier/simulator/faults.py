"""Fault injection for lean-sim: latency, slow or failed start, crash, hang, garbage, memory.

Built by the simulator's entry point from the scenario's ``faults`` object merged with the
``--sim.<key>=value`` options; the protocol loop calls it around every request. Deterministic
given the settings and ``seed``.

Transient faults: with ``fault_limit`` N and ``fault_count_file`` F, the crash, hang and
garbage faults fire at most N times in total over every process sharing F (each firing appends
one byte to F, so concurrent processes count correctly); the processes that start after that
behave. Without them a fault fires every time its condition holds.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from typing import Any

from harcopa_lean_verifier.simulator.scenario import ScenarioError

CRASH_EXIT_CODE = 134
FAIL_READY_EXIT_CODE = 1
KNOWN_KEYS = frozenset(
    {
        "latency",
        "seed",
        "ready_delay_seconds",
        "crash_after_requests",
        "crash_on_tactic",
        "crash_stderr",
        "hang_on_tactic",
        "garbage_on_tactic",
        "garbage_line",
        "memory_growth_bytes_per_request",
        "fail_ready",
        "fault_limit",
        "fault_count_file",
    }
)
DEFAULT_CRASH_STDERR = "uncaught exception: simulator fault injection: crash"
DEFAULT_GARBAGE = "PANIC at simulator fault injection: garbage line instead of JSON"


def _regex(settings: dict[str, Any], key: str) -> re.Pattern[str] | None:
    raw = settings.get(key)
    if raw in (None, ""):
        return None
    try:
        return re.compile(str(raw))
    except re.error as exc:
        raise ScenarioError(f"fault {key}: bad regex {raw!r}: {exc}") from exc


class Latency:
    """Per-command delay: a number, a distribution, or a mapping command -> either."""

    def __init__(self, spec: object, rng: random.Random) -> None:
        self._rng = rng
        self._spec = spec
        for value in self._specs():
            self._check(value)

    def _specs(self) -> list[object]:
        if isinstance(self._spec, dict) and "dist" not in self._spec:
            return list(self._spec.values())
        return [self._spec]

    @staticmethod
    def _check(spec: object) -> None:
        if spec is None or isinstance(spec, int | float):
            return
        if isinstance(spec, dict) and spec.get("dist") in ("uniform", "lognormal", "fixed"):
            return
        raise ScenarioError(f"latency: unsupported spec {spec!r}")

    def _for(self, command: str) -> object:
        if isinstance(self._spec, dict) and "dist" not in self._spec:
            return self._spec.get(command, self._spec.get("*"))
        return self._spec

    def seconds(self, command: str) -> float:
        spec = self._for(command)
        if spec is None:
            return 0.0
        if isinstance(spec, int | float):
            return float(spec)
        assert isinstance(spec, dict)
        if spec["dist"] == "uniform":
            return self._rng.uniform(float(spec["low"]), float(spec["high"]))
        if spec["dist"] == "lognormal":
            return self._rng.lognormvariate(float(spec["mu"]), float(spec["sigma"]))
        return float(spec.get("seconds", 0.0))


class Faults:
    """The configured faults; methods are called by the protocol loop."""

    def __init__(self, settings: dict[str, Any]) -> None:
        unknown = set(settings) - KNOWN_KEYS
        if unknown:
            raise ScenarioError(f"unknown fault keys: {sorted(unknown)}")
        self._rng = random.Random(settings.get("seed", 0))
        self.latency = Latency(settings.get("latency"), self._rng)
        self.ready_delay_seconds = float(settings.get("ready_delay_seconds") or 0.0)
        after = settings.get("crash_after_requests")
        self.crash_after_requests = None if after in (None, "") else int(after)
        self.crash_on_tactic = _regex(settings, "crash_on_tactic")
        self.crash_stderr = str(settings.get("crash_stderr", DEFAULT_CRASH_STDERR))
        self.hang_on_tactic = _regex(settings, "hang_on_tactic")
        self.garbage_on_tactic = _regex(settings, "garbage_on_tactic")
        self.garbage_line = str(settings.get("garbage_line", DEFAULT_GARBAGE))
        self.memory_growth = int(settings.get("memory_growth_bytes_per_request") or 0)
        self.fail_ready = settings.get("fail_ready") in (True, "true", "1", 1)
        limit = settings.get("fault_limit")
        self.fault_limit = None if limit in (None, "") else int(limit)
        count_file = settings.get("fault_count_file")
        self.fault_count_file = str(count_file) if count_file else None
        if (self.fault_limit is None) != (self.fault_count_file is None):
            raise ScenarioError("fault_limit and fault_count_file go together")
        self._hoard: list[bytes] = []
        self._requests = 0

    def _fires(self) -> bool:
        """Whether a fault whose condition holds fires now (within ``fault_limit``)."""
        if self.fault_count_file is None or self.fault_limit is None:
            return True
        fd = os.open(self.fault_count_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, b".")
            return os.fstat(fd).st_size <= self.fault_limit
        finally:
            os.close(fd)

    def before_request(self, command: str, tactic_text: str | None) -> str | None:
        """Apply the per-request faults; return a garbage line to print instead of a reply."""
        self._requests += 1
        after = self.crash_after_requests
        if after is not None and self._requests > after and self._fires():
            self.crash()
        if self.memory_growth > 0:
            # bytes * n is filled by memset, so the pages are resident (RSS really grows).
            self._hoard.append(b"\x01" * self.memory_growth)
        if tactic_text is not None:
            if self._matches(self.crash_on_tactic, tactic_text):
                self.crash()
            if self._matches(self.hang_on_tactic, tactic_text):
                self.hang()
            if self._matches(self.garbage_on_tactic, tactic_text):
                return self.garbage_line
        delay = self.latency.seconds(command)
        if delay > 0:
            time.sleep(delay)
        return None

    def _matches(self, pattern: re.Pattern[str] | None, text: str) -> bool:
        return pattern is not None and pattern.search(text) is not None and self._fires()

    def crash(self) -> None:
        """Die like an aborted Lean process: no reply, exit status 134."""
        if self.crash_stderr:
            sys.stderr.write(self.crash_stderr + "\n")
            sys.stderr.flush()
        os._exit(CRASH_EXIT_CODE)

    @staticmethod
    def hang() -> None:
        """Never reply (a tactic that runs forever); only a signal ends the process."""
        while True:
            time.sleep(3600)
