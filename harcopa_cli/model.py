"""``harcopa model serve``: run a model server from the command line.

Registered in :data:`harcopa_cli.main.COMMANDS`. Flags build the backend config; every other setting
comes from ``HARCOPA_MODEL_*`` environment variables as for ``python -m harcopa_model_server``.
The server code is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

BACKENDS = ("transformers", "openai", "sim", "vllm")


def register(subparsers: Any) -> None:
    """Add ``model serve``."""
    parser = subparsers.add_parser("model", help="serve a model over gRPC (and HTTP)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="start a model server (transformers, openai, vllm, or sim: the model simulator)",
    )
    serve.add_argument(
        "--backend", choices=BACKENDS, default="sim", help="backend kind (sim: the model simulator)"
    )
    serve.add_argument(
        "--model",
        help="checkpoint folder (transformers: default `smollm2`; vllm: required), or the "
        "endpoint's model name (openai)",
    )
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="gRPC port (default 50052)")
    serve.add_argument("--metrics-port", type=int, default=None, help="Prometheus port")
    serve.add_argument(
        "--http-port",
        type=int,
        default=None,
        help="also serve the OpenAI-compatible HTTP API (/v1/...) on this port (default: off)",
    )
    serve.add_argument(
        "--logprobs-mode",
        choices=("raw", "processed"),
        help="log-probabilities: the mode a vllm engine returns, and the default of HTTP "
        "requests (processed = after temperature and top_p, paper mode; default raw)",
    )
    serve.add_argument("--template", help="chat template: `xtuner-default` or a Jinja file")
    serve.add_argument("--device", help="transformers: cpu/cuda/auto; vllm: auto/cuda/npu/cpu")
    serve.add_argument("--dtype", help="auto, float32, bfloat16 or float16")
    serve.add_argument("--gguf-file", help="transformers: GGUF file name inside --model")
    serve.add_argument("--base-url", help="openai: endpoint base URL (…/v1)")
    serve.add_argument("--api-key-env", help="openai: variable holding the API key")
    serve.add_argument("--scenario", type=Path, help="sim: the simulator's scenario JSON file")
    serve.set_defaults(handler=_serve)


def _backend(args: argparse.Namespace) -> dict[str, Any]:
    """The backend config as a dict for ``ModelSettings(backend=...)``; unset flags omitted."""
    fields: dict[str, Any] = {
        "model": args.model,
        "template": args.template,
        "device": args.device,
        "dtype": args.dtype,
    }
    match args.backend:
        case "transformers":
            fields["gguf_file"] = args.gguf_file
        case "vllm":
            fields["logprobs_mode"] = args.logprobs_mode
        case "openai":
            fields = {
                "model": args.model,
                "template": args.template,
                "base_url": args.base_url,
                "api_key_env": args.api_key_env,
            }
        case "sim":
            fields = {"scenario_path": args.scenario}
    return {"kind": args.backend, **{k: v for k, v in fields.items() if v is not None}}


def _serve(args: argparse.Namespace) -> int:
    from harcopa.logging import configure
    from harcopa_model_server.server import main
    from harcopa_model_server.settings import ModelSettings

    overrides = {
        "host": args.host,
        "port": args.port,
        "metrics_port": args.metrics_port,
        "http_port": args.http_port,
        "http_logprobs_mode": args.logprobs_mode,
    }
    settings = ModelSettings(
        backend=_backend(args), **{k: v for k, v in overrides.items() if v is not None}
    )
    configure("model_server", settings.log_level, settings.log_format)
    http = f", OpenAI HTTP API on port {settings.http_port}" if settings.http_port else ""
    print(
        f"harcopa model server: backend {settings.backend.kind} on "
        f"{settings.host}:{settings.port} (metrics {settings.metrics_port}{http})"
    )
    asyncio.run(main(settings))
    return 0
