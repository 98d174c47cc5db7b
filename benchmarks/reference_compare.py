"""Runs the paper's reference code beside harcopa's paper mode on one scripted workload and
prints, per pipeline, how far their requests and decisions agree, then every difference.

Usage (from the repository root): ``python -m benchmarks.reference_compare --reference DIR
[--pipelines ar,har]
[--slow-seconds 65] [--work DIR] [--venv DIR]``. DIR is the user's checkout of the reference
(github Purewhite2019/har_copa_main at 3f6f65c); it is copied, never written to, never
imported here and never committed (benchmarks/reference_side.py runs it in its own virtual
environment). Both systems run the workload of benchmarks/reference_workload.py on lean-sim (a
simulator of Pantograph, not Lean) against one scripted OpenAI-compatible endpoint per
pipeline run: our model server's HTTP front over its simulator backend, in this process,
logging every request. harcopa runs as ``harcopa eval --mode paper --reference DIR``.

Compared: the requests in order (system and user messages byte for byte; n, temperature,
max_tokens, logprobs) and, per problem, the attempts each system recorded (charged budget,
accepted steps or graph edges, submission, draft, solved). Tries the reference does not
record (a whole-draft try that raised) are left out of harcopa's side, as listed in
docs/paper-mode.md. A control run of harcopa's strict mode shows how many problems' decisions
the paper-mode changes are needed for. Each side's requests are written to
``WORK/<pipeline>/requests-<side>.jsonl``. Exit status 0 when paper mode agrees everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from benchmarks.reference_side import (
    Decision,
    ensure_venv,
    prepare_copy,
    reference_decisions,
    reference_imports,
    run_reference,
    written_results,
)
from benchmarks.reference_workload import PROBLEMS, Workload, lean_scenario, workloads
from harcopa.domain import Generation, LogprobsMode, Prompt, SamplingParams
from harcopa_model_server.backends.simulated import Scenario, SimulatedGenerator
from harcopa_model_server.http_front import HttpFront
from harcopa_model_server.servicer import ModelServicer

#: The served model name: the README's model path (no ``hf_ckpts``: H-SA's "helpful" prompt).
MODEL_NAME = "/path/to/HAR_CoPA_Cycle2"
WHOLE_DRAFT = ("wg", "h_wg", "h_sa")
#: harcopa attempts the reference never records (its try raised), by their detail.
UNRECORDED_BY_REFERENCE = ("no single code block", "the try raised")


@dataclass(frozen=True)
class Request:
    """One model request as the endpoint parsed it."""

    system: str
    user: str
    sampling: tuple[int, float, int, bool]

    @classmethod
    def of(cls, prompt: Prompt, params: SamplingParams) -> Request:
        roles = {m.role: m.content for m in prompt.messages}
        sampling = (params.n, params.temperature, params.max_tokens, params.logprobs)
        return cls(roles.get("system", ""), roles.get("user", prompt.text or ""), sampling)


class RecordingModel:
    """The model simulator under the served name, logging every request it answers."""

    backend = "sim"

    def __init__(self, scenario: dict[str, Any]) -> None:
        self.inner = SimulatedGenerator(scenario=Scenario.model_validate(scenario))
        self.model_name = MODEL_NAME
        self.requests: list[Request] = []

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def generate(self, prompt: Prompt, params: SamplingParams) -> Generation:
        self.requests.append(Request.of(prompt, params))
        return await self.inner.generate(prompt, params)


@contextlib.asynccontextmanager
async def endpoint(scenario: dict[str, Any]) -> AsyncIterator[tuple[str, RecordingModel]]:
    """A fresh scripted endpoint (its per-prompt counts start at zero) on 127.0.0.1."""
    model = RecordingModel(scenario)
    servicer = ModelServicer(model, backend="sim")
    # Requests without ``logprobs_mode`` (the reference's) get processed ones, as vLLM 0.7.3.
    front = HttpFront(
        servicer,
        host="127.0.0.1",
        port=0,
        max_request_bytes=1 << 24,
        logprobs_mode=LogprobsMode.PROCESSED,
    )
    await front.start()
    front.ready = True
    try:
        yield front.base_url, model
    finally:
        await front.close()


def harcopa_args(pipeline: str, run: dict[str, Any], reference: Path, work: Path) -> list[str]:
    args = ["eval", "--pipeline", pipeline, "--benchmark", "formal_math500", "--mode", run["mode"]]
    args += ["--benchmark-root", run["benchmark_root"], "--workdir", str(work)]
    args += ["--model-endpoint", run["url"], "--model-name", run["model"]]
    args += ["--reference", str(reference), "--verifier-backend", "sim"]
    args += ["--lean-scenario", run["lean_scenario"], "--temperature", str(run["temperature"])]
    args += ["--pool-size", str(run.get("pool_size", 4))]
    concurrency = run.get("harcopa_concurrency", 1)
    args += ["--concurrency", str(concurrency)] if concurrency else []
    if pipeline in WHOLE_DRAFT:
        args += ["--kw", str(run["kw"])]  # for step pipelines --kw would be the rollout sets
    else:
        args += ["--ks", str(run["ks"]), "--solver-samples", str(run["solver_samples"])]
    args += ["--prover-expansions", str(run["prover_expansions"])]
    return [*args, "--prover-samples", str(run["prover_samples"])]


def _eval_log(work: Path) -> BinaryIO:
    work.mkdir(parents=True, exist_ok=True)
    return open(work / "eval.log", "wb")


async def run_harcopa(pipeline: str, run: dict[str, Any], reference: Path, work: Path) -> Path:
    """``harcopa eval`` (paper mode, or strict for the control); its results file."""
    with _eval_log(work) as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "harcopa_cli",
            *harcopa_args(pipeline, run, reference, work),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(run["timeout"]):
            await process.wait()
    return written_results(work, f"harcopa's {pipeline}", "*/samples.jsonl")  # its run folder


def harcopa_decisions(pipeline: str, results: Path, count: int) -> list[list[Decision]]:
    """Per problem (in file order), harcopa's attempts as the reference would record them, read
    from the run folder's ``samples.jsonl``."""
    problems: list[list[Decision]] = [[] for _ in range(count)]
    for line in results.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        index = int(record["problem_id"].rsplit("/", 1)[1])
        for a in record["attempts"]:
            solved, submission = a["solved"], a["submission"]
            if pipeline in WHOLE_DRAFT:
                if a["outcome"] == "rejected" and a["detail"].startswith(UNRECORDED_BY_REFERENCE):
                    continue
                problems[index].append(Decision(1, None, submission, a["draft"], solved))
            else:
                steps = int(a["paper_budget"]) if "bfs" in pipeline else len(a["steps"])
                problems[index].append(Decision(a["charged"], steps, submission, None, solved))
    return problems


@dataclass
class Comparison:
    """One pipeline's figures and differences."""

    workload: Workload
    ours: list[Request]
    theirs: list[Request]
    our_decisions: list[list[Decision]]
    their_decisions: list[list[Decision]]
    seconds: tuple[float, float]
    #: harcopa's strict mode on the same workload (the control), when it was run.
    strict: list[list[Decision]] | None = None

    def differences(self) -> list[str]:
        out: list[str] = []
        if len(self.ours) != len(self.theirs):
            out.append(f"requests: reference {len(self.theirs)}, harcopa {len(self.ours)}")
        for i, (a, b) in enumerate(zip(self.theirs, self.ours, strict=False)):
            for what in ("system", "user", "sampling"):
                if getattr(a, what) != getattr(b, what):
                    out.append(f"request {i}: {what} differs: reference {getattr(a, what)!r:.300}"
                               f" / harcopa {getattr(b, what)!r:.300}")  # fmt: skip
        pairs = zip(self.their_decisions, self.our_decisions, strict=True)
        for p, (theirs, ours) in enumerate(pairs):
            if theirs != ours:
                out.append(f"problem {p}: reference {theirs} / harcopa {ours}")
        return out

    def row(self) -> list[str]:
        pairs = list(zip(self.theirs, self.ours, strict=False))
        prompts = sum(a.system == b.system and a.user == b.user for a, b in pairs)
        sampling = sum(a.sampling == b.sampling for a, b in pairs)
        theirs, ours = self.their_decisions, self.our_decisions
        return [
            self.workload.pipeline,
            f"{len(self.theirs)}/{len(self.ours)}",
            f"{prompts}/{max(len(self.theirs), len(self.ours))}",
            f"{sampling}/{max(len(self.theirs), len(self.ours))}",
            f"{sum(any(d.solved for d in p) for p in theirs)}/"
            f"{sum(any(d.solved for d in p) for p in ours)}",
            f"{sum(len(p) for p in theirs)}/{sum(len(p) for p in ours)}",
            f"{_charged(theirs)}/{_charged(ours)}",
            f"{sum(a == b for a, b in zip(theirs, ours, strict=True))}/{len(theirs)}",
            " ".join(self.workload.exercises),
            f"{self.seconds[0]:.0f}/{self.seconds[1]:.0f}",
            "-" if self.strict is None else
            f"{sum(a == b for a, b in zip(theirs, self.strict, strict=True))}/{len(theirs)}",
        ]  # fmt: skip


def _charged(problems: list[list[Decision]]) -> int:
    return sum(d.charged for attempts in problems for d in attempts)


HEADER = [
    "pipeline",
    "requests ref/ours",
    "same prompts",
    "same sampling",
    "solved ref/ours",
    "attempts ref/ours",
    "charged ref/ours",
    "same decisions",
    "items",
    "seconds ref/ours",
    "strict: same decisions",
]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in (HEADER, *rows)
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


async def _control(
    pipeline: str, run: dict[str, Any], reference: Path, work: Path
) -> list[list[Decision]] | None:
    """harcopa's strict mode on the workload; None when it does not finish in time."""
    try:
        results = await run_harcopa(pipeline, run, reference, work)
    except (TimeoutError, RuntimeError) as error:
        print(f"strict control of {pipeline} did not finish: {error!r}", file=sys.stderr)
        return None
    return harcopa_decisions(pipeline, results, run["problems"])


def save_requests(path: Path, requests: list[Request]) -> None:
    lines = [json.dumps(dataclasses.asdict(r), ensure_ascii=False) + "\n" for r in requests]
    path.write_text("".join(lines), encoding="utf-8")


def workload_files(work: Path, workload: Workload, slow_seconds: float) -> dict[str, Any]:
    """The benchmark file, lean-sim scenario and project folder of one pipeline's runs."""
    root = work / workload.pipeline
    bench = root / "benchmark"
    bench.mkdir(parents=True, exist_ok=True)
    records = [PROBLEMS[i] for i in workload.problems]
    (bench / "formal_math500.json").write_text(json.dumps(records, ensure_ascii=False))
    lean = root / "lean-scenario.json"
    lean.write_text(json.dumps(lean_scenario(slow_seconds), ensure_ascii=False))
    (root / "mathlib").mkdir(exist_ok=True)
    return {
        "model": MODEL_NAME,
        "benchmark_root": str(bench),
        "project_root": str(root / "mathlib"),
        "lean_scenario": str(lean),
        "temperature": 0,
        "problems": len(records),
        **{k: getattr(workload, k) for k in ("ks", "solver_samples", "kw")},
        **{k: getattr(workload, k) for k in ("prover_expansions", "prover_samples")},
    }


async def compare(args: argparse.Namespace, work: Path, workload: Workload) -> Comparison:
    """Both systems on one pipeline's workload, each against its own fresh endpoint."""
    pipeline = workload.pipeline
    root = work / pipeline
    run = workload_files(work, workload, args.slow_seconds) | {"timeout": args.timeout}
    seconds: list[float] = []
    logs: list[list[Request]] = []
    decisions: dict[str, list[list[Decision]] | None] = {}
    sides = ("reference", "paper", "strict") if args.strict_control else ("reference", "paper")
    for side in sides:
        async with endpoint(workload.scenario()) as (url, model):
            started = time.monotonic()
            run |= {"url": url, "mode": side, "log_root": str(root / "reference-output")}
            if side == "reference":
                results = await run_reference(args.python, args.copy, work, pipeline, run)
                decisions[side] = reference_decisions(pipeline, results)
            elif side == "paper":
                results = await run_harcopa(pipeline, run, args.reference, root / side)
                decisions[side] = harcopa_decisions(pipeline, results, run["problems"])
            else:
                decisions[side] = await _control(pipeline, run, args.reference, root / side)
            seconds.append(time.monotonic() - started)
            logs.append(model.requests)
            save_requests(root / f"requests-{side}.jsonl", model.requests)
    paper, reference = decisions["paper"], decisions["reference"]
    assert paper is not None and reference is not None
    return Comparison(
        workload,
        logs[1],
        logs[0],
        paper,
        reference,
        (seconds[0], seconds[1]),
        decisions.get("strict"),
    )


async def main_async(args: argparse.Namespace) -> int:
    work = args.work
    args.python = ensure_venv(args.venv, reference_imports(args.reference))
    args.copy = prepare_copy(args.reference, work)
    chosen = [w for w in workloads(args.slow_seconds) if w.pipeline in args.pipelines]
    comparisons = [await compare(args, work, w) for w in chosen]
    print(f"reference: {args.reference} (copied to {args.copy}); work folder {work}")
    print("verifier: lean-sim, a SIMULATOR of Pantograph; models: the scripted model SIMULATOR")
    print(table([c.row() for c in comparisons]))
    differences = [(c.workload.pipeline, d) for c in comparisons for d in c.differences()]
    print(f"\n{len(differences)} differences" + (":" if differences else ""))
    for pipeline, difference in differences:
        print(f"- {pipeline}: {difference}")
    return 1 if differences else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, required=True, help="checkout of the reference")
    parser.add_argument("--pipelines", default="ar,har,bfs,h_bfs,wg,h_wg,h_sa")
    parser.add_argument("--work", default="", help="work folder (default: a new temp folder)")
    parser.add_argument("--venv", default="~/.cache/harcopa/reference-venv")
    parser.add_argument("--slow-seconds", type=float, default=0.0, help="item 3's slow tactic")
    parser.add_argument("--timeout", type=float, default=900.0, help="per system and pipeline")
    parser.add_argument(
        "--no-strict-control",
        dest="strict_control",
        action="store_false",
        help="skip the control run of harcopa's strict mode (whose decisions should differ)",
    )
    args = parser.parse_args(argv)
    args.reference = args.reference.resolve()
    args.work = Path(args.work or tempfile.mkdtemp(prefix="harcopa-reference-compare-")).resolve()
    args.venv = Path(args.venv).expanduser()
    args.pipelines = [p.strip() for p in args.pipelines.split(",") if p.strip()]
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async(parse_args())))
