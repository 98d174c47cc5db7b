"""Entry point of the orchestrator: ``python -m harcopa_orchestrator`` (settings from env)."""

from __future__ import annotations

import asyncio

from harcopa import logging as hlog
from harcopa.serving import run_service
from harcopa_orchestrator.app import build
from harcopa_orchestrator.settings import OrchestratorSettings


async def serve(settings: OrchestratorSettings) -> None:
    services, backend = build(settings)
    await run_service(settings, services, backend, "orchestrator")


def main() -> None:
    settings = OrchestratorSettings()
    hlog.configure("orchestrator", settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
