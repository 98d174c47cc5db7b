"""Resolves a run's benchmark (a name, a problems file or an informal corpus) to its problems.

Used by the run manager and the run reports. Loads are cached per (source, file modification
time) so starting or resuming many runs over one benchmark reads its file once. An informal
corpus (``.jsonl``: problems without formal statements) can only feed a copa run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from harcopa import domain as d
from harcopa.benchmarks import BENCHMARKS, BenchmarkLoad, load_benchmark, load_problems_file
from harcopa.corpus import is_corpus_path, load_corpus
from harcopa.errors import InvalidRequest


@functools.lru_cache(maxsize=16)
def _load(source: str, root: str, mtime: float) -> BenchmarkLoad:
    if source in BENCHMARKS:
        return load_benchmark(Path(root), source)
    if is_corpus_path(source):
        problems = load_corpus(Path(source))
        return BenchmarkLoad(Path(source).stem, problems[-1].index + 1, problems, [])
    return load_problems_file(Path(source))


def problem_loader(benchmark_root: Path) -> Callable[[d.RunSpec], Sequence[d.FormalProblem]]:
    """A loader for RunManager: the spec's problems in index order, validated."""

    def load(spec: d.RunSpec) -> Sequence[d.FormalProblem]:
        path = (
            benchmark_root / f"{spec.benchmark}.json"
            if spec.benchmark in BENCHMARKS
            else Path(spec.benchmark)
        )
        if not path.is_file():
            raise InvalidRequest(
                f"benchmark {spec.benchmark!r} not found (looked for {path}); known benchmarks:"
                f" {', '.join(BENCHMARKS)}, or give a path to a problems JSON file"
            )
        if is_corpus_path(spec.benchmark) and spec.pipeline is not d.Pipeline.COPA:
            raise InvalidRequest(
                f"{spec.benchmark} is an informal corpus (no formal statements): only copa runs"
                " can use it"
            )
        loaded = _load(spec.benchmark, str(benchmark_root), path.stat().st_mtime)
        selected = _select(spec, loaded)
        return selected[: spec.limit] if spec.limit else selected

    return load


def _select(spec: d.RunSpec, loaded: BenchmarkLoad) -> Sequence[d.FormalProblem]:
    """The problems ``spec.problem_indices`` name (all when empty), in the order given."""
    if not spec.problem_indices:
        return loaded.problems
    by_index = {p.index: p for p in loaded.problems}
    missing = [i for i in spec.problem_indices if i not in by_index]
    if missing:
        raise InvalidRequest(
            f"{spec.benchmark} has no problems with indices {missing[:10]}"
            f" (it has {loaded.records} records)"
        )
    return [by_index[i] for i in dict.fromkeys(spec.problem_indices)]
