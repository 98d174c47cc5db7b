"""Validation at the edge: every field of a request checked before any work starts, the problems
collected as field violations and raised as one InvalidRequest.

Used by the servicers (RunSpec at StartRun, verifier and model requests) and by the CLI before
it starts any service (the same ``check_run_spec``), so a bad budget fails in under a second
with the same message everywhere. Limits are explicit constants, named in the messages.
"""

from __future__ import annotations

import math
from collections.abc import Sized
from dataclasses import dataclass, field

from harcopa import domain as d
from harcopa.errors import InvalidRequest

#: Bounds of every budget and count of a run (inclusive); 0 stands for "the default" in the
#: protos, so a value given must lie in these ranges.
RUN_LIMITS: dict[str, tuple[int, int]] = {
    "ks": (1, 100_000),
    "solver_samples": (1, 128),
    "prover_expansions": (1, 10_000),
    "prover_samples": (1, 128),
    "kw": (1, 10_000),
    "solver_max_tokens": (1, 131_072),
    "prover_max_tokens": (1, 131_072),
}
MAX_TEMPERATURE = 10.0
MAX_CONCURRENT_PROBLEMS = 4096
MAX_PROBLEM_INDICES = 100_000
MAX_INDEX = 10_000_000
MAX_NAME_CHARS = 256
MAX_BENCHMARK_CHARS = 4096
MAX_SYSTEM_PROMPT_CHARS = 32_768
MAX_ID_CHARS = 256


@dataclass
class Checker:
    """Collects field violations; ``done`` raises them (at most the first few) as one error."""

    violations: list[tuple[str, str]] = field(default_factory=list)

    def add(self, path: str, problem: str) -> None:
        self.violations.append((path, problem))

    def whole(self, path: str, value: int, low: int, high: int) -> None:
        if not low <= value <= high:
            self.add(path, f"must be an integer in [{low}, {high}] (got {value})")

    def real(self, path: str, value: float, low: float, high: float) -> None:
        if not (math.isfinite(value) and low <= value <= high):
            self.add(path, f"must be a finite number in [{low:g}, {high:g}] (got {value!r})")

    def text(self, path: str, value: str, max_chars: int, *, required: bool = False) -> None:
        if required and not value.strip():
            self.add(path, "must not be empty")
        elif len(value) > max_chars:
            self.add(path, f"must be at most {max_chars} characters (got {len(value)})")

    def many(self, path: str, values: Sized, max_items: int) -> bool:
        """False (and a violation) when ``values`` has more than ``max_items`` items."""
        if len(values) > max_items:
            self.add(path, f"must have at most {max_items} items (got {len(values)})")
            return False
        return True

    def done(self, what: str = "the request") -> None:
        if not self.violations:
            return
        shown = "; ".join(f"{path}: {problem}" for path, problem in self.violations[:5])
        more = f" (and {len(self.violations) - 5} more)" if len(self.violations) > 5 else ""
        raise InvalidRequest(f"invalid {what}: {shown}{more}", tuple(self.violations))


def check_run_spec(spec: d.RunSpec, checker: Checker | None = None, path: str = "spec") -> None:
    """Every field of a run specification in range (InvalidRequest with field violations)."""
    check = checker or Checker()
    check.text(f"{path}.name", spec.name, MAX_NAME_CHARS)
    check.text(f"{path}.benchmark", spec.benchmark, MAX_BENCHMARK_CHARS, required=True)
    if check.many(f"{path}.problem_indices", spec.problem_indices, MAX_PROBLEM_INDICES):
        bad = [i for i in spec.problem_indices if not 0 <= i <= MAX_INDEX]
        if bad:
            check.add(f"{path}.problem_indices", f"indices must be in [0, {MAX_INDEX}]: {bad[:5]}")
    for role, ref in (("solver", spec.solver), ("prover", spec.prover)):
        if ref is not None:
            _check_model(check, f"{path}.{role}", ref)
    for name, (low, high) in RUN_LIMITS.items():
        value = getattr(spec.params, name)
        if name == "kw" and value == 0:  # 0: the pipeline's default number of tries
            continue
        check.whole(f"{path}.params.{name}", value, low, high)
    check.real(f"{path}.params.temperature", spec.params.temperature, 0.0, MAX_TEMPERATURE)
    check.whole(
        f"{path}.max_concurrent_problems", spec.max_concurrent_problems, 1, MAX_CONCURRENT_PROBLEMS
    )
    if spec.seed is not None:
        check.whole(f"{path}.seed", spec.seed, -(2**63), 2**63 - 1)
    check.whole(f"{path}.limit", spec.limit, 0, MAX_INDEX + 1)
    if checker is None:
        check.done("run specification")


def _check_model(check: Checker, path: str, ref: d.ModelRef) -> None:
    check.text(f"{path}.name", ref.name, MAX_NAME_CHARS)
    check.text(f"{path}.endpoint", ref.endpoint, MAX_BENCHMARK_CHARS)
    check.text(f"{path}.endpoint_model", ref.endpoint_model, MAX_NAME_CHARS)
    check.text(f"{path}.system_prompt", ref.system_prompt, MAX_SYSTEM_PROMPT_CHARS)
    if ref.name and ref.endpoint:
        check.add(path, "name a configured model or an endpoint, not both")


def check_id(path: str, value: str, *, what: str = "id") -> None:
    """A run, problem or session id: non-empty and short (never echoed at length)."""
    check = Checker()
    check.text(path, value, MAX_ID_CHARS, required=True)
    check.done(what)


#: Bounds of a training request's lists and texts.
MAX_TRAINING_RUNS = 1000
MAX_RECIPE_CHARS = 65_536


def check_training_request(request: d.TrainingRequest) -> None:
    """A training request's fields (InvalidRequest with field violations)."""
    check = Checker()
    check.text("request.name", request.name, MAX_ID_CHARS, required=True)
    if not request.run_ids and not request.datasets:
        check.add("request.run_ids", "name at least one run (or a dataset)")
    check.many("request.run_ids", request.run_ids, MAX_TRAINING_RUNS)
    for index, run_id in enumerate(request.run_ids):
        check.text(f"request.run_ids[{index}]", run_id, MAX_ID_CHARS, required=True)
    for field_name in ("base_model", "output_dir"):
        value = getattr(request, field_name)
        check.text(f"request.{field_name}", value, MAX_BENCHMARK_CHARS, required=True)
        if value and not value.startswith("/"):
            check.add(
                f"request.{field_name}", "must be an absolute path (as the Job's pod sees it)"
            )
    check.text("request.recipe", request.recipe, MAX_RECIPE_CHARS)
    check.whole("request.processes", request.processes, 0, 1024)
    check.done("training request")
