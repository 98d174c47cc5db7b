"""Entry point of the model server: ``python -m harcopa_model_server`` (settings from env)."""

from __future__ import annotations

import asyncio

from harcopa.logging import configure
from harcopa_model_server.server import main
from harcopa_model_server.settings import ModelSettings


def run() -> None:
    settings = ModelSettings()
    configure("model_server", settings.log_level, settings.log_format)
    asyncio.run(main(settings))


if __name__ == "__main__":
    run()
