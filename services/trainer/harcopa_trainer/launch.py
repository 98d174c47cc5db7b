"""Starting training workers: one process, or ``torchrun`` per node with a c10d rendezvous.

Called by ``harcopa train`` (harcopa_cli/training.py) and by each worker's ``__main__``.
Multi-node jobs follow the environment Kubernetes gives the pods of a training Job: torchrun's
own ``PET_*`` variables (what the Kubeflow training operator sets), else ``MASTER_ADDR`` /
``MASTER_PORT`` for the rendezvous endpoint and ``JOB_COMPLETION_INDEX`` (an Indexed Job) for
the node rank. Workers on a machine without CUDA or Ascend devices run DeepSpeed's CPU
accelerator (``DS_ACCELERATOR=cpu``) over gloo.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harcopa.errors import InvalidRequest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accelerator_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``DS_ACCELERATOR=cpu`` where there is no CUDA or Ascend device (unless already set)."""
    from harcopa_trainer.config import device_kind

    if "DS_ACCELERATOR" in env or device_kind() != "cpu":
        return {}
    return {"DS_ACCELERATOR": "cpu"}


def single_process_environment(env: Mapping[str, str]) -> dict[str, str]:
    """What DeepSpeed needs in a process that torchrun did not start: a world of one."""
    out = accelerator_environment(env)
    if "RANK" not in env:
        out |= {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}
        out |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    return out


@dataclass(frozen=True, slots=True)
class Topology:
    """Processes per node, nodes, and (multi-node) the rendezvous."""

    nproc_per_node: int = 1
    nnodes: int = 1
    rdzv_endpoint: str = ""
    rdzv_id: str = "harcopa-train"
    node_rank: int | None = None

    @property
    def world_size(self) -> int:
        return self.nproc_per_node * self.nnodes


def topology_from_env(env: Mapping[str, str], nproc_per_node: int | None) -> Topology:
    """The job's shape from ``PET_*`` / ``MASTER_*`` / ``JOB_COMPLETION_INDEX``."""
    endpoint = env.get("PET_RDZV_ENDPOINT", "")
    if not endpoint and env.get("MASTER_ADDR"):
        endpoint = f"{env['MASTER_ADDR']}:{env.get('MASTER_PORT', '29500')}"
    rank = env.get("PET_NODE_RANK") or env.get("JOB_COMPLETION_INDEX")
    return Topology(
        nproc_per_node=nproc_per_node or int(env.get("PET_NPROC_PER_NODE", "0")) or devices(),
        nnodes=int(env.get("PET_NNODES", "1")),
        rdzv_endpoint=endpoint,
        rdzv_id=env.get("PET_RDZV_ID") or env.get("JOB_NAME") or "harcopa-train",
        node_rank=int(rank) if rank else None,
    )


def devices() -> int:
    """Accelerators on this node (1 on a CPU-only node)."""
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.device_count())
    npu = getattr(torch, "npu", None)
    return int(npu.device_count()) if npu is not None and npu.is_available() else 1


def worker_command(config: Path, topology: Topology) -> list[str]:
    """argv of this node's launcher: the worker itself, or torchrun around it."""
    worker = ["-m", "harcopa_trainer", "--config", str(config)]
    if topology.world_size == 1:
        return [sys.executable, *worker]
    run = [sys.executable, "-m", "torch.distributed.run"]
    run += ["--nproc-per-node", str(topology.nproc_per_node), "--nnodes", str(topology.nnodes)]
    if topology.nnodes == 1:
        run += ["--standalone"]
    else:
        if not topology.rdzv_endpoint:
            raise InvalidRequest("a multi-node job needs a rendezvous endpoint (HOST:PORT)")
        run += ["--rdzv-backend", "c10d", "--rdzv-endpoint", topology.rdzv_endpoint]
        run += ["--rdzv-id", topology.rdzv_id]
        if topology.node_rank is not None:
            run += ["--node-rank", str(topology.node_rank)]
    return [*run, *worker]
