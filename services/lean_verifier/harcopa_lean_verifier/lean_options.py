"""The Lean options of the verifier's REPL processes, listed once (official-impl §3.1).

``LEAN_OPTIONS`` is every process's default (the launcher's ``ReplConfig`` and the settings'
``lean_options``); the parse pass's processes add ``PARSING_EXTRA_OPTIONS`` (their own pool key).
"""

from __future__ import annotations

#: Lean ``key=value`` options every REPL runs with (the reference's ``CORE_OPTIONS``).
LEAN_OPTIONS: tuple[str, ...] = (
    "maxHeartbeats=0",
    "maxRecDepth=100000",
    "tactic.hygienic=false",
    "pp.fullNames=true",
    "pp.funBinderTypes=true",
    "pp.piBinderTypes=true",
)

#: Options added for the parsing pass: fully explicit pretty printing.
PARSING_EXTRA_OPTIONS: tuple[str, ...] = (
    "pp.numericTypes=true",
    "pp.structureInstances=false",
    "pp.safeShadowing=false",
    "pp.fieldNotation.generalized=false",
    "pp.explicit=true",
    "pp.deepTerms=true",
    "pp.proofs=true",
    "pp.maxSteps=1000000",
    "pp.notation=false",
)
