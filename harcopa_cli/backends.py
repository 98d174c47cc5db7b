"""Which verifier and model backends a local stack runs on this machine, and the verifier's pool
size: the :class:`~harcopa_cli.local.Plan` of ``harcopa eval`` and of local ``harcopa cycle``.

Called by harcopa_cli/evaluate.py and harcopa_cli/cycle_runner.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from collections.abc import Mapping

from harcopa.domain.problems import MAX_SESSIONS_PER_PROCESS, SESSIONS_PER_PROCESS
from harcopa.errors import InvalidRequest
from harcopa_cli.local import Plan

#: The local verifier inherits the environment, so this setting of it applies there too.
SESSIONS_ENV = "HARCOPA_VERIFIER_SESSIONS_PER_PROCESS"
PANTOGRAPH_ENV = "HARCOPA_PANTOGRAPH_BIN"
MATHLIB_ENV = "HARCOPA_MATHLIB_PROJECT"


def plan_backends(args: argparse.Namespace, env: dict[str, str] | None = None) -> Plan:
    """The backends ``args`` ask for (``auto``: the best this machine has) and their settings."""
    env = dict(os.environ) if env is None else env
    plan = Plan()
    plan.verifier_env = {"HARCOPA_VERIFIER_POOL_SIZE": str(pool_size(args))}
    _plan_verifier(args, env, plan)
    if args.model_endpoint:
        plan.notes.append(f"model: OpenAI-compatible endpoint {args.model_endpoint}")
    else:
        _plan_model(args, plan)
    return plan


def _plan_verifier(args: argparse.Namespace, env: dict[str, str], plan: Plan) -> None:
    kind = args.verifier_backend
    if kind == "auto":
        kind = "pantograph" if env.get(PANTOGRAPH_ENV) and env.get(MATHLIB_ENV) else "sim"
    if kind == "pantograph":
        if not (env.get(PANTOGRAPH_ENV) and env.get(MATHLIB_ENV)):
            raise InvalidRequest(
                f"the pantograph backend needs ${PANTOGRAPH_ENV} and ${MATHLIB_ENV}"
            )
        plan.verifier_env |= {
            "HARCOPA_VERIFIER_BACKEND__KIND": "pantograph",
            "HARCOPA_VERIFIER_BACKEND__EXECUTABLE": env[PANTOGRAPH_ENV],
            "HARCOPA_VERIFIER_BACKEND__PROJECT_ROOT": env[MATHLIB_ENV],
        }
        plan.notes.append(f"verifier: Pantograph {env[PANTOGRAPH_ENV]} over {env[MATHLIB_ENV]}")
        return
    plan.verifier_env["HARCOPA_VERIFIER_BACKEND__KIND"] = "sim"
    if args.lean_scenario:
        plan.verifier_env["HARCOPA_VERIFIER_BACKEND__SCENARIO_PATH"] = str(args.lean_scenario)
    plan.notes.append(
        "verifier: lean-sim, a SIMULATOR of Pantograph (no Lean here): its verdicts come from"
        f" a small rule set, not from Lean; set ${PANTOGRAPH_ENV} and ${MATHLIB_ENV} for Lean"
    )


def _plan_model(args: argparse.Namespace, plan: Plan) -> None:
    backend = args.model_backend
    if backend == "auto":
        # vLLM serves checkpoints on a GPU; the packaged SmolLM2 (a GGUF) stays on transformers,
        # which uses the GPU too when there is one.
        has_vllm = importlib.util.find_spec("vllm") is not None
        gpu_checkpoint = args.model != "smollm2" and has_vllm and _cuda_available()
        backend = "vllm" if gpu_checkpoint else "transformers"
    model_env = {"HARCOPA_MODEL_BACKEND__KIND": backend}
    if backend == "vllm" and getattr(args, "mode", None) == "paper":
        # vLLM picks raw or processed log-probabilities per engine: paper mode needs processed.
        model_env["HARCOPA_MODEL_BACKEND__LOGPROBS_MODE"] = "processed"
    if backend == "sim":
        if not args.model_scenario:
            raise InvalidRequest("--model-backend sim needs --model-scenario")
        model_env["HARCOPA_MODEL_BACKEND__SCENARIO_PATH"] = str(args.model_scenario)
        plan.notes.append(f"model: the model SIMULATOR scripted by {args.model_scenario}")
    else:
        model_env["HARCOPA_MODEL_BACKEND__MODEL"] = args.model
        if args.template:
            model_env["HARCOPA_MODEL_BACKEND__TEMPLATE"] = args.template
        plan.notes.append(f"model: {args.model} on {backend}")
    plan.model_env = model_env


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def pool_size(args: argparse.Namespace) -> int:
    """The verifier's pool: as given, else room for ``--concurrency`` sessions plus a checking
    and a parsing process, else the core count + 2. Below 2 a session could wait forever for
    the process its final check needs: refused."""
    if args.pool_size is not None:
        if args.pool_size < 2:
            raise InvalidRequest(
                f"--pool-size {args.pool_size} is too small: a session holds one REPL and its"
                " checks need another (use 2 or more)"
            )
        return int(args.pool_size)
    if args.concurrency:
        return int(args.concurrency) + 2
    return (os.cpu_count() or 2) + 2


def session_processes(pool: int) -> int:
    """Processes sessions may hold in a pool of ``pool`` (the verifier's own rule, DESIGN
    §2.1): one is kept for checks and, from 4 up, one for parsing."""
    parse_reserved = 1 if pool >= 4 else 0
    return max(1, pool - parse_reserved - 1)


def sessions_per_process(env: Mapping[str, str]) -> int:
    """What the local verifier will use: ``$HARCOPA_VERIFIER_SESSIONS_PER_PROCESS`` when set
    (InvalidRequest unless a whole number from 1 to the maximum), else its default."""
    raw = env.get(SESSIONS_ENV)
    if raw is None:
        return SESSIONS_PER_PROCESS
    value = int(raw) if raw.strip().isdigit() else 0
    if not 1 <= value <= MAX_SESSIONS_PER_PROCESS:
        raise InvalidRequest(
            f"${SESSIONS_ENV}={raw[:40]!r}: use a whole number from 1 to {MAX_SESSIONS_PER_PROCESS}"
        )
    return value


def session_capacity(pool: int, env: Mapping[str, str] | None = None) -> int:
    """Sessions a pool of ``pool`` holds at once: ``sessions_per_process`` on each session
    process (``env``: the environment the verifier will inherit, default this one's)."""
    return session_processes(pool) * sessions_per_process(os.environ if env is None else env)
