"""Resolves a run's benchmark (a name or a problems file) to its problems; used by the run manager.

Loads are cached per (source, file modification time) so starting or resuming many runs over
one benchmark reads its file once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from harcopa import domain as d
from harcopa.benchmarks import BENCHMARKS, BenchmarkLoad, load_benchmark, load_problems_file
from harcopa.errors import InvalidRequest


@functools.lru_cache(maxsize=16)
def _load(source: str, root: str, mtime: float) -> BenchmarkLoad:
    if source in BENCHMARKS:
        return load_benchmark(Path(root), source)
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
