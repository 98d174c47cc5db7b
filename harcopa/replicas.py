"""Replica-aware channels for stateful services: sessions stay on the replica that opened them.

Used by VerifierClient. gRPC balances per connection, and a verifier session lives inside one
replica, so a client that scales over replicas keeps one channel per replica address, opens each
new session on the replica holding the fewest of its sessions, and sends every later call of
that session to the same replica. Targets:

- ``host:port``: one replica;
- ``dns:///name:port``: every address the name resolves to (a Kubernetes headless Service),
  re-resolved at most every ``refresh_seconds`` when sessions are opened;
- ``ipv4:a:port,b:port``: a fixed list of replicas.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import grpc

from harcopa.channels import open_channel
from harcopa.errors import BackendUnavailable, InvalidRequest

S = TypeVar("S")


def parse_target(target: str) -> tuple[str, list[str]]:
    """("dns", [host:port]) | ("static", [addr, ...]) for a target string."""
    if target.startswith("dns:///"):
        rest = target[len("dns:///") :]
        if ":" not in rest:
            raise InvalidRequest(f"dns target {target!r} needs a port")
        return "dns", [rest]
    if target.startswith("ipv4:"):
        addresses = [a.strip() for a in target[len("ipv4:") :].split(",") if a.strip()]
        if not addresses:
            raise InvalidRequest(f"no addresses in {target!r}")
        return "static", addresses
    return "static", [target]


class ReplicaSet(Generic[S]):
    """Per-replica channels and stubs, plus the session -> replica map."""

    def __init__(
        self,
        target: str,
        service_names: Sequence[str],
        make_stub: Callable[[grpc.aio.Channel], S],
        *,
        refresh_seconds: float = 30.0,
        retries: bool = True,
        max_message_bytes: int = 16 * 1024 * 1024,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.kind, self._seeds = parse_target(target)
        self._credentials = credentials
        self._service_names = list(service_names)
        self._make_stub = make_stub
        self._refresh_seconds = refresh_seconds
        self._retries = retries
        self._max_message_bytes = max_message_bytes
        self._channels: dict[str, tuple[grpc.aio.Channel, S]] = {}
        self._sessions: dict[str, str] = {}  # session id -> replica address
        self._resolved_at = float("-inf")
        self._down_until: dict[str, float] = {}  # replica address -> monotonic time
        self._round_robin = itertools.count()
        self._lock = asyncio.Lock()

    @property
    def addresses(self) -> list[str]:
        return sorted(self._channels)

    def _ensure(self, address: str) -> S:
        if address not in self._channels:
            channel = open_channel(
                address,
                self._service_names,
                retries=self._retries,
                max_message_bytes=self._max_message_bytes,
                credentials=self._credentials,
            )
            self._channels[address] = (channel, self._make_stub(channel))
        return self._channels[address][1]

    async def _resolve(self) -> list[str]:
        if self.kind == "static":
            return list(self._seeds)
        host, _, port = self._seeds[0].rpartition(":")
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except OSError as exc:
            raise BackendUnavailable(f"cannot resolve {host}: {exc}") from exc
        return sorted({f"{info[4][0]}:{port}" for info in infos})

    async def refresh(self, *, force: bool = False) -> None:
        """Re-resolve (DNS targets) and drop channels of replicas that left and hold no session."""
        async with self._lock:
            now = time.monotonic()
            if self._channels and not force and now - self._resolved_at < self._refresh_seconds:
                return
            current = await self._resolve()
            self._resolved_at = now
            for address in current:
                self._ensure(address)
            used = set(self._sessions.values())
            for address in [a for a in self._channels if a not in current and a not in used]:
                channel, _ = self._channels.pop(address)
                await channel.close()

    def mark_down(self, address: str) -> None:
        """Skip ``address`` for new sessions for ``refresh_seconds`` (it refused a session)."""
        self._down_until[address] = time.monotonic() + self._refresh_seconds

    async def for_new_session(self) -> tuple[str, S]:
        """The live replica holding the fewest of this client's sessions (ties: address order);
        replicas marked down are used only when no other is left."""
        await self.refresh()
        if not self._channels:
            raise BackendUnavailable("no verifier replica resolved")
        now = time.monotonic()
        live = [a for a in self._channels if self._down_until.get(a, 0.0) <= now]
        load = {address: 0 for address in live or self._channels}
        for address in self._sessions.values():
            if address in load:
                load[address] += 1
        address = min(load, key=lambda a: (load[a], a))
        return address, self._channels[address][1]

    def stub(self, address: str) -> S:
        """The stub of one known replica."""
        return self._ensure(address)

    def holding_sessions(self) -> list[tuple[str, S]]:
        """(address, stub) of every replica that holds one of this client's sessions."""
        used = sorted(set(self._sessions.values()))
        return [(a, self._channels[a][1]) for a in used if a in self._channels]

    def bind(self, session_id: str, address: str) -> None:
        self._sessions[session_id] = address

    def forget(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def for_session(self, session_id: str) -> S:
        """The stub of the session's replica (any replica for an unknown session: it will
        answer NOT_FOUND, which is the truth)."""
        address = self._sessions.get(session_id)
        if address is not None and address in self._channels:
            return self._channels[address][1]
        return self.any()

    async def stateless(self) -> S:
        """Round robin over replicas, for calls that need no session."""
        await self.refresh()
        return self.any()

    def any(self) -> S:
        if not self._channels:
            for seed in self._seeds if self.kind == "static" else []:
                self._ensure(seed)
        if not self._channels:
            raise BackendUnavailable("no verifier replica resolved yet")
        addresses = sorted(self._channels)
        return self._channels[addresses[next(self._round_robin) % len(addresses)]][1]

    async def close(self) -> None:
        for channel, _ in self._channels.values():
            await channel.close()
        self._channels.clear()
        self._sessions.clear()
