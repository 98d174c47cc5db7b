#!/usr/bin/env bash
# Creates (or reuses) the project virtual environment and installs harcopa with the CPU stack.
# Usage: scripts/setup.sh [VENV_DIR]   (default: .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-${HARCOPA_VENV:-.venv}}"
PYTHON="${PYTHON:-python3}"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch is pinned to 2.13.0 (CPU build) through the extras; vLLM is never installed here.
"$VENV/bin/python" -m pip install --quiet -e ".[dev,verifier,model-server,orchestrator,trainer,reports]"
echo "harcopa installed in $VENV"
