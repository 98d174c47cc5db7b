#!/usr/bin/env bash
# One command: set up the environment, then run the checks and the test suite.
# Usage: scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${HARCOPA_VENV:-.venv}"
scripts/setup.sh "$VENV"
PY="$VENV/bin/python"
echo "== generated protobuf code is up to date"
"$PY" scripts/gen_protos.py --check
echo "== lint"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== types"
"$VENV/bin/mypy" -p harcopa -p harcopa_cli -p harcopa_lean_verifier -p harcopa_model_server \
  -p harcopa_orchestrator -p harcopa_trainer
echo "== import layers"
"$VENV/bin/lint-imports"
echo "== proto lint (buf: standard rules + comments)"
"$VENV/bin/buf" lint
echo "== tests"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
set +e
"$PY" -m pytest "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "no tests were collected" >&2
  exit 1
fi
exit $status
