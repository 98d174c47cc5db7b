"""Fakes behind our Protocols shared by several tests (STYLE.md §12: fakes, never mocks)."""

from __future__ import annotations


class ReadyBackend:
    """A Lifecycle whose start and close return at once: the server is SERVING right away."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...
