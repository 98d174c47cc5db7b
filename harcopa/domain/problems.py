"""Problem-level domain types: formal problems, their parsed FPS form, modes and frameworks.

Built by the benchmark loaders and the verifier's OpenSession; read by the orchestrator.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from harcopa.domain.lean import ProofState, Variable

#: Header used when a problem has none (official-impl §1.3).
OPEN_HEADER = "open BigOperators Real Nat Topology\n"


class Mode(enum.Enum):
    """Acceptance rules: ``strict`` (sound, our default) or ``paper`` (the reference's rules)."""

    STRICT = "strict"
    PAPER = "paper"


class Framework(enum.Enum):
    """The Lean states built for solving (official-impl §2.2)."""

    FORWARD_REASONING = "forward_reasoning"  # one goal, target False (AR/HAR/BFS/H-BFS steps)
    SOLVING = "solving"  # goals h.mp, h.mpr, w (submission validation)
    FORWARD_SOLVING = "forward_solving"  # goals h, w (WG/H-WG whole drafts)
    STATEMENT = "statement"  # the original statement's goal (H-SA, CoPA drafting)


@dataclass(frozen=True, slots=True)
class FormalProblem:
    """One benchmark record as a formal problem.

    ``formal_statement`` is ``example ... : <conclusion> := sorry``; ``header`` is Lean text put
    before every snippet (None means :data:`OPEN_HEADER`). ``metainfo`` holds everything else
    as ``(key, json-text)`` pairs so the type stays hashable.
    """

    benchmark: str
    index: int
    formal_statement: str
    informal_problem: str = ""
    informal_answer: str = ""
    informal_solution: str = ""
    header: str | None = None
    formal_solution_draft: str | None = None
    metainfo: tuple[tuple[str, str], ...] = ()

    @property
    def effective_header(self) -> str:
        return self.header if self.header else OPEN_HEADER

    @property
    def problem_id(self) -> str:
        return f"{self.benchmark}/{self.index}"


@dataclass(frozen=True, slots=True)
class ParsedProblem:
    """The FPS form of a problem (official-impl §2.1).

    ``intros`` are binders quantified before ``answer``; ``outros`` after it, the last being the
    answer-defining hypothesis. ``formal_answer`` is the explicit pretty-print of the statement's
    conclusion, or None in unsupervised mode (RPE disabled).
    """

    intros: tuple[Variable, ...]
    answer_type: str
    outros: tuple[Variable, ...]
    formal_answer: str | None
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Session:
    """An open verifier session: its id (which names its replica), the parsed problem, and the
    framework states built for it, in the order they were requested."""

    session_id: str
    parsed: ParsedProblem
    states: tuple[tuple[Framework, ProofState], ...]
    replica_id: str = ""

    def state(self, framework: Framework) -> ProofState:
        for kind, state in self.states:
            if kind is framework:
                return state
        raise KeyError(framework)


@dataclass(frozen=True, slots=True)
class Lease:
    """A client's lease on its verifier sessions: how many it holds and seconds left."""

    sessions: int
    seconds: float


#: Sessions one verifier REPL process holds at most unless configured (the verifier's
#: ``sessions_per_process``; the local stack's admission counts with it too). Three: a search
#: session keeps its process busy about a third of the time or less while it waits for its
#: model (benchmarks/search_scheduling.py measures 1 to 6: 3 was best in its services mode).
SESSIONS_PER_PROCESS = 3
#: The most sessions one process may be configured to hold.
MAX_SESSIONS_PER_PROCESS = 64


@dataclass(frozen=True, slots=True)
class VerifierInfo:
    """What a verifier replica runs (Describe): backend, versions and session capacity."""

    replica_id: str
    backend: str
    version: str = ""
    lean_version: str = ""
    mathlib_version: str = ""
    pantograph_version: str = ""
    pool_size: int = 0
    session_capacity: int = 0
    processes_warm: int = 0
    sessions_open: int = 0
    imports: tuple[str, ...] = ()
