"""Entry point of the orchestrator: ``python -m harcopa_orchestrator`` (settings from env)."""

from __future__ import annotations

import asyncio

from harcopa import logging as hlog
from harcopa_orchestrator.server import main as serve
from harcopa_orchestrator.settings import OrchestratorSettings


def main() -> None:
    settings = OrchestratorSettings()
    hlog.configure("orchestrator", settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
