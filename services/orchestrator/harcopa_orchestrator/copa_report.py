"""The CoPA table of a copa run: how far each problem's chain got (statement, draft, gaps, check).

Used by ``report.py`` (``harcopa run report`` and ``harcopa eval`` on copa runs), in place of the
paper's solving table, which has no meaning for data generation. Per checked problem (errored
ones are counted apart, as in every report) the chain reached:

- ``statements``: a statement passed every filter (its attempts carry it as ``prompt_state``);
- ``drafts``: a solution draft passed the typecheck and the forward-only check;
- ``gaps``: every gap of such a draft was proven;
- ``verified``: the whole chain holds (strict mode: the assembled solution passed the final
  check) — what ``export-sft --recipe copa`` turns into training records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harcopa import domain as d

COPA_HEAD = (
    f"{'Problems':>8} {'Statements':>11} {'Drafts':>7} {'Gaps proven':>12} {'Verified':>9}"
    f" {'Rate':>7}"
)


def _gaps_proven(attempt: d.Attempt) -> bool:
    """The draft's gaps were all proven (solved, or failing only the final check)."""
    return attempt.solved or (attempt.draft is not None and attempt.final_check_ok is False)


@dataclass(frozen=True, slots=True)
class CopaFigures:
    """Problems of a copa run by how far their chain got (see the module docstring)."""

    problems: int = 0
    statements: int = 0
    drafts: int = 0
    gaps: int = 0
    verified: int = 0

    @classmethod
    def of(cls, results: Iterable[d.ProblemResult]) -> CopaFigures:
        """The figures over the checked (not errored) problems of ``results``."""
        counts = [0, 0, 0, 0, 0]
        for result in results:
            if result.status is d.ProblemStatus.ERRORED:
                continue
            reached = (
                True,
                any(a.prompt_state for a in result.attempts),
                any(a.draft is not None for a in result.attempts),
                any(_gaps_proven(a) for a in result.attempts),
                result.solved,
            )
            counts = [n + int(hit) for n, hit in zip(counts, reached, strict=True)]
        return cls(*counts)

    def __add__(self, other: CopaFigures) -> CopaFigures:
        return CopaFigures(
            self.problems + other.problems,
            self.statements + other.statements,
            self.drafts + other.drafts,
            self.gaps + other.gaps,
            self.verified + other.verified,
        )

    @property
    def rate(self) -> float:
        """Verified chains per checked problem."""
        return self.verified / self.problems if self.problems else 0.0

    def row(self) -> str:
        return (
            f"{self.problems:>8} {self.statements:>11} {self.drafts:>7} {self.gaps:>12}"
            f" {self.verified:>9} {self.rate:>7.1%}"
        )

    def json(self) -> dict[str, Any]:
        return {
            "problems": self.problems,
            "statements_accepted": self.statements,
            "drafts_verified": self.drafts,
            "gaps_proven": self.gaps,
            "chains_verified": self.verified,
            "verified_rate": self.rate,
        }
