"""The Kubernetes objects of a cycle's training stage: the trainer Job and the model-server patch.

Pure builders used by ``training_jobs.py`` (the orchestrator's training-job backend); the
settings they read are :class:`KubernetesConfig` (``HARCOPA_ORCHESTRATOR_KUBERNETES__*``, which
the Helm chart sets when ``orchestrator.copaCycle.enabled``). The Job runs one pod of the
trainer image: ``harcopa cycle job`` exports the runs' SFT records from the orchestrator's store
(the store's volume is mounted as in the orchestrator) and trains on them; it writes everything
into the request's output folder on the workspace volume and ends its log with one outcome line.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from harcopa import domain as d

#: Where the Job mounts the orchestrator's store volume and the workspace volume.
STORE_MOUNT = "/data"
WORKSPACE_MOUNT = "/workspace"
#: Annotations on the model server's pod template: the checkpoint it serves, the restart time.
CHECKPOINT_ANNOTATION = "harcopa.io/checkpoint"
RESTART_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
TRAINING_LABEL = "harcopa.io/training"
CONTAINER = "trainer"


class KubernetesConfig(BaseModel):
    """Training Jobs on the orchestrator's cluster (in-cluster service account)."""

    model_config = {"extra": "forbid"}

    enabled: bool = Field(False, description="Serve StartTraining / GetTraining (CoPA cycles).")
    namespace: str = Field(
        "", description="Namespace of the Jobs and the model server (empty: the pod's own)."
    )
    trainer_image: str = Field("", description="Image of the trainer Job (harcopa-trainer).")
    model_server_deployment: str = Field(
        "", description="Deployment of the model server rolled to each new checkpoint."
    )
    model_server_container: str = Field(
        "model-server", description="Container of that Deployment serving the checkpoint."
    )
    checkpoint_env: str = Field(
        "HARCOPA_MODEL_BACKEND__MODEL",
        description="Environment variable of that container naming the checkpoint folder.",
    )
    store_claim: str = Field(
        "",
        description="PersistentVolumeClaim holding the orchestrator's store and benchmarks "
        f"(mounted at {STORE_MOUNT} in the Job, as in the orchestrator; ReadWriteMany).",
    )
    workspace_claim: str = Field(
        "",
        description=f"PersistentVolumeClaim for SFT data and checkpoints (at {WORKSPACE_MOUNT}; "
        "the model server must mount it at the same path).",
    )
    accelerator_resource: str = Field(
        "nvidia.com/gpu", description="Extended resource a training worker asks for (one each)."
    )
    node_selector: dict[str, str] = Field(default_factory=dict, description="Job pod nodes.")
    tolerations: list[dict[str, Any]] = Field(default_factory=list, description="Job pod.")
    backoff_limit: int = Field(0, ge=0, le=10, description="Pod retries of a training Job.")
    ttl_seconds_after_finished: int = Field(
        7 * 86400, ge=0, description="Seconds a finished Job (and its logs) is kept."
    )
    service_account_dir: Path = Field(
        Path("/var/run/secrets/kubernetes.io/serviceaccount"),
        description="Folder of the pod's service-account token, CA and namespace.",
    )
    request_timeout_seconds: float = Field(
        30.0, gt=0, description="Limit of one Kubernetes API call (connect and read)."
    )
    log_tail_lines: int = Field(20, ge=1, le=1000, description="Pod log lines a training shows.")

    def missing(self) -> list[str]:
        """The settings a training Job needs that are not set."""
        needed = ("trainer_image", "model_server_deployment", "store_claim", "workspace_claim")
        return [name for name in needed if not getattr(self, name)]


def job_name(training: str) -> str:
    """A DNS-1123 Job name for ``training``: a readable slug plus a hash of the exact name."""
    slug = re.sub(r"[^a-z0-9]+", "-", training.lower()).strip("-")[:36].strip("-")
    digest = hashlib.sha256(training.encode("utf-8")).hexdigest()[:8]
    return f"harcopa-train-{slug}-{digest}" if slug else f"harcopa-train-{digest}"


def _labels(training: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "harcopa",
        "app.kubernetes.io/component": "trainer",
        TRAINING_LABEL: job_name(training).removeprefix("harcopa-train-"),
    }


def job_arguments(request: d.TrainingRequest) -> list[str]:
    """``harcopa cycle job`` with the request as JSON and the store as the Job mounts it."""
    body = {
        "name": request.name,
        "run_ids": list(request.run_ids),
        "base_model": request.base_model,
        "output_dir": request.output_dir,
        "recipes": list(request.recipes),
        "tasks": list(request.tasks),
        "include_unsolved": request.include_unsolved,
        "datasets": list(request.datasets),
        "recipe": request.recipe,
        "processes": request.processes,
    }
    return [
        "cycle",
        "job",
        "--request",
        json.dumps(body, ensure_ascii=False, sort_keys=True),
        "--store",
        f"{STORE_MOUNT}/harcopa.sqlite",
        "--benchmark-root",
        f"{STORE_MOUNT}/benchmark",
    ]


def _container(config: KubernetesConfig, request: d.TrainingRequest) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": config.trainer_image,
        "command": ["python", "-m", "harcopa_cli"],
        "args": job_arguments(request),
        "env": [
            {"name": "HOME", "value": "/home/harcopa"},
            {"name": "HF_HUB_OFFLINE", "value": "1"},
            {"name": "TRITON_CACHE_DIR", "value": "/tmp/triton"},
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "store", "mountPath": STORE_MOUNT},
            {"name": "workspace", "mountPath": WORKSPACE_MOUNT},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "home", "mountPath": "/home/harcopa"},
            {"name": "shm", "mountPath": "/dev/shm"},
        ],
    }
    if request.processes and config.accelerator_resource:
        limits = {config.accelerator_resource: str(request.processes)}  # a quantity
        container["resources"] = {"limits": limits}
    return container


def training_job(config: KubernetesConfig, request: d.TrainingRequest) -> dict[str, Any]:
    """The batch/v1 Job of one training (one pod, never restarted in place)."""
    labels = _labels(request.name)
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "fsGroup": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(config, request)],
        "volumes": [
            {"name": "store", "persistentVolumeClaim": {"claimName": config.store_claim}},
            {"name": "workspace", "persistentVolumeClaim": {"claimName": config.workspace_claim}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "home", "emptyDir": {}},
            {"name": "shm", "emptyDir": {"medium": "Memory"}},
        ],
    }
    if config.node_selector:
        pod["nodeSelector"] = dict(config.node_selector)
    if config.tolerations:
        pod["tolerations"] = list(config.tolerations)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(request.name), "labels": labels},
        "spec": {
            "backoffLimit": config.backoff_limit,
            "ttlSecondsAfterFinished": config.ttl_seconds_after_finished,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def rollout_patch(config: KubernetesConfig, checkpoint: str, now_iso: str) -> dict[str, Any]:
    """The strategic-merge patch that points the model server at ``checkpoint`` and restarts
    its pods (``kubectl rollout restart``'s annotation)."""
    return {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {CHECKPOINT_ANNOTATION: checkpoint, RESTART_ANNOTATION: now_iso}
                },
                "spec": {
                    "containers": [
                        {
                            "name": config.model_server_container,
                            "env": [{"name": config.checkpoint_env, "value": checkpoint}],
                        }
                    ]
                },
            }
        }
    }
