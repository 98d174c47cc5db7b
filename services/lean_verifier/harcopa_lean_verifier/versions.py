"""The Lean stack this verifier is built for; read by the server (build info), lean-sim and the
image checks (the verifier Dockerfile's build arguments must name the same versions)."""

from __future__ import annotations

#: Lean toolchain the Pantograph REPL and Mathlib are built with.
LEAN_VERSION = "v4.15.0"
#: Pantograph release whose `repl` the pool runs (its `lean-toolchain` is LEAN_VERSION).
PANTOGRAPH_VERSION = "v0.2.25"
#: The commit that release tag names; the image build checks it.
PANTOGRAPH_COMMIT = "4435a6459cddc0661d39d2f370887eff007c94fd"
#: Mathlib tag built with LEAN_VERSION.
MATHLIB_VERSION = "v4.15.0"
#: The ``lean_version`` label of ``harcopa_build_info`` when the REPLs are lean-sim processes.
SIMULATED_LEAN_VERSION = "lean-sim"
