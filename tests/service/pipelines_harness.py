"""Test harness for the pipelines: a scripted model simulator and a search-context factory.

Used by tests/service/test_pipelines*.py. The verifier is the real VerifierService over
lean-sim (tests/service/verifier_harness.py); the model side is the real ModelService (on
127.0.0.1 port 0, reached through ModelClient) serving ``ScriptedGeneratorSimulator``, whose
outputs a test scripts per prompt pattern; ``scenario_verifier`` serves lean-sim scripted by
a test's scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harcopa.domain import (
    Completion,
    FinishReason,
    FormalProblem,
    Generation,
    Mode,
    Prompt,
    SamplingParams,
    SearchParams,
    TokenUsage,
)
from harcopa.model_client import ModelClient
from harcopa.prompts import PromptTemplates
from harcopa.protocols import Verifier
from harcopa.serving import ServiceRunner
from harcopa_model_server.server import build_runner
from harcopa_model_server.settings import ModelSettings
from harcopa_orchestrator.context import SearchContext
from harcopa_orchestrator.pipelines import solve
from harcopa_orchestrator.scheduler import Limits, Scheduler
from harcopa_orchestrator.search.tree import SearchTree
from tests.service.verifier_harness import serving, sim_settings

#: One scripted output: its text, or (text, finish reason).
Output = str | tuple[str, FinishReason]


@dataclass
class Script:
    """Outputs for prompts whose user message matches ``pattern``, handed out in order
    (cycling when exhausted)."""

    pattern: str
    outputs: Sequence[Output]
    cursor: int = 0

    def next(self) -> tuple[str, FinishReason]:
        item = self.outputs[self.cursor % len(self.outputs)]
        self.cursor += 1
        return (item, FinishReason.STOP) if isinstance(item, str) else item


@dataclass
class ScriptedGeneratorSimulator:
    """A Generator simulator: the first script whose pattern matches the prompt answers.

    Every sample gets 4 tokens of log-probability -0.5, except where ``nll`` names a text
    (then that mean NLL). Unmatched prompts get ``default``. Records the peak concurrency.
    """

    scripts: list[Script]
    default: str = "-- simulator: no script matched"
    nll: dict[str, float] = field(default_factory=dict)
    delay_seconds: float = 0.0
    calls: list[str] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        user = prompt.messages[-1].content
        self.calls.append(user)
        self.prompts.append(prompt)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            script = next((s for s in self.scripts if re.search(s.pattern, user)), None)
            completions = []
            for _ in range(params.n):
                text, reason = script.next() if script else (self.default, FinishReason.STOP)
                logprob = -self.nll.get(text, 0.5)
                completions.append(Completion(text, reason, (logprob,) * 4, 4))
            return Generation(tuple(completions), TokenUsage(len(user) // 4, 4 * params.n))
        finally:
            self.in_flight -= 1


def scripted(*scripts: tuple[str, Sequence[Output]], **kw: object) -> ScriptedGeneratorSimulator:
    return ScriptedGeneratorSimulator([Script(p, o) for p, o in scripts], **kw)  # type: ignore[arg-type]


class ServedGeneratorSimulator:
    """A Generator that reaches ``simulator`` through a real ModelService over gRPC.

    The server starts on the first call; ``stop`` shuts it down.
    """

    def __init__(self, simulator: ScriptedGeneratorSimulator) -> None:
        self.simulator = simulator
        self._runner: ServiceRunner | None = None
        self._client: ModelClient | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def _connected(self) -> ModelClient:
        async with self._lock:
            if self._client is None:
                settings = ModelSettings(port=0, metrics_enabled=False, grace_seconds=0.2)
                self._runner = build_runner(settings, self.simulator)
                await self._runner.start()
                self._client = ModelClient(f"127.0.0.1:{self._runner.port}", retries=False)
                await self._client.start()
            return self._client

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        return await (await self._connected()).generate(prompt, params)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.stop()


@dataclass
class Harness:
    """A scheduler over the shared verifier plus the trees every search built."""

    verifier: Verifier
    trees: list[SearchTree] = field(default_factory=list)
    served: list[ServedGeneratorSimulator] = field(default_factory=list)

    def serve(self, simulator: ScriptedGeneratorSimulator) -> ServedGeneratorSimulator:
        served = ServedGeneratorSimulator(simulator)
        self.served.append(served)
        return served

    async def stop(self) -> None:
        for served in self.served:
            await served.stop()

    def context(
        self,
        solver: ScriptedGeneratorSimulator,
        prover: ScriptedGeneratorSimulator | None = None,
        *,
        mode: Mode = Mode.STRICT,
        limits: Limits | None = None,
        templates: PromptTemplates | None = None,
        **params: int,
    ) -> tuple[Scheduler, SearchContext]:
        served_prover = self.serve(prover) if prover is not None else None
        scheduler = Scheduler(
            self.verifier, self.serve(solver), served_prover, limits or Limits(), solve
        )
        ctx = scheduler.context(
            params=SearchParams().merged(**params),
            mode=mode,
            templates=templates or PromptTemplates.load(),
            seed=1,
        )
        ctx.on_tree = self.trees.append
        return scheduler, ctx

    def check_trees(self) -> None:
        for tree in self.trees:
            tree.check_invariants()


def simple_problem(informal: str, index: int = 0) -> FormalProblem:
    """``answer = 3 + 4`` with ground truth ``answer = 7``; ``informal`` keys the scripts."""
    return FormalProblem(
        benchmark="handwritten",
        index=index,
        formal_statement=(
            "example\n(answer : ℕ)\n  (h_answer : answer = 3 + 4) -- what is 3 + 4?\n"
            ": answer = 7\n:= sorry"
        ),
        informal_problem=informal,
        informal_answer="7",
        informal_solution="3 + 4 = 7.",
    )


class SessionCountingVerifier:
    """Delegates to a Verifier and records the peak number of simultaneously open sessions."""

    def __init__(self, inner: Verifier) -> None:
        self._inner = inner
        self.open = 0
        self.peak = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def open_session(self, *args: object, **kwargs: object) -> object:
        session = await self._inner.open_session(*args, **kwargs)  # type: ignore[arg-type]
        self.open += 1
        self.peak = max(self.peak, self.open)
        return session

    async def close_session(self, session_id: str) -> float:
        self.open -= 1
        return await self._inner.close_session(session_id)


@contextlib.asynccontextmanager
async def scenario_verifier(
    folder: Path, scenario: Mapping[str, Any], **settings: Any
) -> AsyncIterator[Verifier]:
    """A VerifierService over lean-sim scripted by ``scenario`` (written into ``folder``) and a
    client of it, for the block; ``settings`` are the verifier's."""
    path = folder / "scenario.json"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    async with serving(sim_settings(path, **settings)) as client:
        yield client
