"""Model-server backends behind the Generator protocol; ``build_generator`` picks one by kind.

Called by the model server's ``__main__``, the ``harcopa model serve`` command, tests and the
throughput benchmark. Each backend imports its heavy dependencies (torch, transformers, vllm,
httpx) only when started.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from harcopa.protocols import Generator
from harcopa_model_server.backends.openai_compat import OpenAIConfig, build_openai
from harcopa_model_server.backends.simulated import SimulatedConfig, SimulatedGenerator
from harcopa_model_server.backends.transformers import TransformersConfig, TransformersGenerator
from harcopa_model_server.backends.vllm import VllmConfig, VllmGenerator

BackendConfig = Annotated[
    TransformersConfig | OpenAIConfig | SimulatedConfig | VllmConfig, Field(discriminator="kind")
]


def build_generator(
    config: TransformersConfig | OpenAIConfig | SimulatedConfig | VllmConfig,
) -> Generator:
    """The (not yet started) generator for ``config``."""
    match config:
        case TransformersConfig():
            return TransformersGenerator(config)
        case OpenAIConfig():
            return build_openai(config)
        case SimulatedConfig():
            return SimulatedGenerator(config)
        case VllmConfig():
            return VllmGenerator(config)
    raise TypeError(f"unknown backend config {type(config).__name__}")


__all__ = [
    "AnyBackendConfig",
    "BackendConfig",
    "OpenAIConfig",
    "SimulatedConfig",
    "TransformersConfig",
    "VllmConfig",
    "build_generator",
]
