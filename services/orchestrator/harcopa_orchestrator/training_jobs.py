"""The orchestrator's training-job backend: trainer Jobs on its own cluster, followed to the end,
and the model server rolled to each new checkpoint. Called by the servicer's StartTraining and
GetTraining (``harcopa cycle --kubernetes`` drives them).

It talks to the Kubernetes API with the official ``kubernetes`` client and the pod's service
account (in-cluster configuration: token and CA from ``service_account_dir``, the API server from
``KUBERNETES_SERVICE_HOST``/``_PORT``), within the Role the Helm chart grants: jobs create, get,
delete; pods list; pods/log get; deployments get, patch. A training is named by its request;
its Job is the source of truth, so the orchestrator keeps no state and a restarted one answers
the same. Calls are blocking, so each runs in a worker thread, bounded by
``request_timeout_seconds`` and never retried here: any API failure (403, 500, no connection)
is one FailedPrecondition whose message says which call failed and why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from harcopa import domain as d
from harcopa.cycles import parse_outcome
from harcopa.errors import FailedPrecondition, StateNotFound
from harcopa_orchestrator.training_manifests import (
    CHECKPOINT_ANNOTATION,
    CONTAINER,
    KubernetesConfig,
    job_name,
    rollout_patch,
    training_job,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
_HINT_403 = (
    " (the orchestrator's service account lacks the chart's Role: install the release with"
    " orchestrator.copaCycle.enabled=true)"
)


def _api_message(error: Any) -> str:
    """The API server's own explanation from a failed call's Status body, else its reason."""
    try:
        return str(json.loads(error.body).get("message") or error.reason)
    except (TypeError, ValueError, AttributeError):
        return str(getattr(error, "reason", "") or error)


class TrainingJobs:
    """StartTraining / GetTraining against the cluster (see the module docstring)."""

    def __init__(self, config: KubernetesConfig, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self._environ = dict(os.environ if environ is None else environ)
        self._apis: tuple[Any, Any, Any] | None = None
        self._namespace = config.namespace

    def _clients(self) -> tuple[Any, Any, Any]:
        """(BatchV1Api, CoreV1Api, AppsV1Api) over the in-cluster configuration."""
        if self._apis is None:
            from kubernetes import client
            from kubernetes.config.config_exception import ConfigException
            from kubernetes.config.incluster_config import InClusterConfigLoader

            account = self.config.service_account_dir
            configuration = client.Configuration()
            try:
                loader = InClusterConfigLoader(  # type: ignore[no-untyped-call]
                    token_filename=str(account / "token"),
                    cert_filename=str(account / "ca.crt"),
                    environ=self._environ,
                )
                loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
            except ConfigException as error:
                raise FailedPrecondition(
                    f"no in-cluster Kubernetes configuration ({error}): training Jobs need the"
                    " orchestrator to run in the cluster with its service account"
                ) from error
            configuration.retries = False  # fail fast: the caller sees every error
            api = client.ApiClient(configuration)
            self._apis = (client.BatchV1Api(api), client.CoreV1Api(api), client.AppsV1Api(api))
            if not self._namespace:
                namespace_file = account / "namespace"
                self._namespace = (
                    namespace_file.read_text().strip() if namespace_file.is_file() else "default"
                )
        return self._apis

    def _check_enabled(self) -> None:
        if not self.config.enabled:
            raise FailedPrecondition(
                "training Jobs are off on this orchestrator (install the chart with"
                " orchestrator.copaCycle.enabled=true, or train locally without --kubernetes)"
            )
        missing = self.config.missing()
        if missing:
            names = ", ".join(f"HARCOPA_ORCHESTRATOR_KUBERNETES__{m.upper()}" for m in missing)
            raise FailedPrecondition(f"training Jobs need these orchestrator settings: {names}")

    async def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One API call in a worker thread; ApiException and transport errors become one
        FailedPrecondition naming the call (404 is StateNotFound for the caller to handle)."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        timeout = self.config.request_timeout_seconds
        try:
            return await asyncio.to_thread(function, *args, _request_timeout=timeout, **kwargs)
        except ApiException as error:
            status = error.status
            if status == 404:
                raise StateNotFound(f"Kubernetes: {what}: not found") from error
            hint = _HINT_403 if status in (401, 403) else ""
            raise FailedPrecondition(
                f"Kubernetes API refused to {what}: {status} {error.reason}: {_api_message(error)}"
                + hint
            ) from error
        except HTTPError as error:
            raise FailedPrecondition(
                f"cannot reach the Kubernetes API to {what}: {error}"
            ) from error

    # ------------------------------------------------------------------ API

    async def start(self, request: d.TrainingRequest) -> d.Training:
        """Create the training's Job; an existing one is returned as it is, except a failed one,
        which is deleted and created again (re-running a cycle retries its training)."""
        self._check_enabled()
        batch, _, _ = self._clients()
        name = job_name(request.name)
        try:
            current = await self.get(request.name)
        except StateNotFound:
            current = None
        if current is not None and current.state is not d.TrainingState.FAILED:
            return current
        if current is not None:
            logger.info(
                "training %s failed before (%s); starting it again", request.name, current.message
            )
            await self._call(
                f"delete job {name}",
                batch.delete_namespaced_job,
                name,
                self._namespace,
                propagation_policy="Background",
            )
        body = training_job(self.config, request)
        await self._call(f"create job {name}", batch.create_namespaced_job, self._namespace, body)
        logger.info("training %s: created job %s", request.name, name)
        return d.Training(request.name, name, d.TrainingState.PENDING, "job created")

    async def get(self, name: str) -> d.Training:
        """The training's state from its Job, its pod's log and (on success) the rollout."""
        self._check_enabled()
        batch, _, _ = self._clients()
        job = await self._call(
            f"read job {job_name(name)}",
            batch.read_namespaced_job_status,
            job_name(name),
            self._namespace,
        )
        state, message = _job_state(job)
        tail = await self._log_tail(job, failed=state is d.TrainingState.FAILED)
        training = d.Training(name, job_name(name), state, message, tail)
        if state is not d.TrainingState.SUCCEEDED:
            return training
        outcome = parse_outcome(tail)
        if outcome is None:
            why = "the job completed but its log ends without the training outcome line"
            return d.Training(name, job_name(name), d.TrainingState.FAILED, why, tail)
        rolled = await self._roll_out(outcome.checkpoint)
        return d.Training(name, job_name(name), state, message, tail, outcome, rolled)

    async def _log_tail(self, job: Any, *, failed: bool) -> tuple[str, ...]:
        """The last log lines of the Job's pod (the failed one when the Job failed)."""
        _, core, _ = self._clients()
        selector = f"controller-uid={job.metadata.uid}"
        pods = await self._call(
            f"list pods of job {job.metadata.name}",
            core.list_namespaced_pod,
            self._namespace,
            label_selector=selector,
        )
        started = [p for p in pods.items if p.status is not None and p.status.phase != "Pending"]
        if failed:
            started = [p for p in started if p.status.phase == "Failed"] or started
        if not started:
            return ()
        pod = max(started, key=lambda p: p.metadata.creation_timestamp or dt.datetime.min)
        text = await self._call(
            f"read the log of pod {pod.metadata.name}",
            core.read_namespaced_pod_log,
            pod.metadata.name,
            self._namespace,
            container=CONTAINER,
            tail_lines=self.config.log_tail_lines,
        )
        return tuple(str(text).splitlines())

    async def _roll_out(self, checkpoint: str) -> bool:
        """Point the model server at ``checkpoint`` once; True when its pods all run it."""
        _, _, apps = self._clients()
        name = self.config.model_server_deployment
        deployment = await self._call(
            f"read deployment {name}", apps.read_namespaced_deployment, name, self._namespace
        )
        annotations = deployment.spec.template.metadata.annotations or {}
        if annotations.get(CHECKPOINT_ANNOTATION) != checkpoint:
            now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            patch = rollout_patch(self.config, checkpoint, now)
            await self._call(
                f"patch deployment {name}",
                apps.patch_namespaced_deployment,
                name,
                self._namespace,
                patch,
            )
            logger.info("model server %s rolled to %s", name, checkpoint)
            return False
        status = deployment.status
        wanted = deployment.spec.replicas if deployment.spec.replicas is not None else 1
        return bool(
            status is not None
            and (status.observed_generation or 0) >= (deployment.metadata.generation or 0)
            and (status.updated_replicas or 0) == wanted
            and (status.available_replicas or 0) == wanted
            and (status.replicas or 0) == wanted
        )


def _job_state(job: Any) -> tuple[d.TrainingState, str]:
    """The training state and the reason a Job's status gives."""
    status = job.status
    for condition in (status.conditions or []) if status is not None else []:
        if condition.status != "True":
            continue
        if condition.type == "Complete":
            return d.TrainingState.SUCCEEDED, "job complete"
        if condition.type == "Failed":
            reason = condition.reason or "Failed"
            return d.TrainingState.FAILED, f"{reason}: {condition.message or 'the job failed'}"
    if status is not None and (status.active or 0) > 0:
        return d.TrainingState.RUNNING, f"{status.active} pod(s) running"
    return d.TrainingState.PENDING, "waiting for its pod"
