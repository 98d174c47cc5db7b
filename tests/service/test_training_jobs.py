"""Training Jobs on a cluster: the real OrchestratorService (StartTraining / GetTraining through
gRPC and OrchestratorClient) with the real ``kubernetes`` client on its in-cluster configuration,
against a small HTTPS Kubernetes API server started here (no API server can run on our
machines). Asserts the exact requests sent (method, path, body, content type, token), the
rollout of the model server, a failed Job's reason and log lines, its retry, and one-line errors
for a 403, a 500 and training Jobs that are off."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

pytest.importorskip("kubernetes", reason="the orchestrator extra's kubernetes client is needed")

from harcopa import domain as d
from harcopa.cycles import outcome_line
from harcopa.errors import FailedPrecondition
from harcopa.orchestrator_client import OrchestratorClient
from harcopa.serving import Service, ServiceRunner
from harcopa.settings import ServiceSettings
from harcopa.v1 import orchestrator_pb2_grpc as pb_grpc
from harcopa_cli.local import free_port
from harcopa_orchestrator.runs import RunManager
from harcopa_orchestrator.servicer import OrchestratorServicer
from harcopa_orchestrator.settings import OrchestratorSettings
from harcopa_orchestrator.store import RunStore
from harcopa_orchestrator.training_jobs import TrainingJobs
from harcopa_orchestrator.training_manifests import KubernetesConfig
from tests.kubernetes_fake import DEPLOYMENT, NAMESPACE, TOKEN, FakeKubernetes, deployment, pod

REQUEST = d.TrainingRequest(
    name="demo-1",
    run_ids=("run-a", "run-b"),
    base_model="/workspace/base",
    output_dir="/workspace/cycles/demo-1",
    recipe="learning_rate: 2.0e-5\n",
    processes=2,
)
JOB = "harcopa-train-demo-1-" + __import__("hashlib").sha256(b"demo-1").hexdigest()[:8]
JOBS = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
DEPLOY = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}"
OUTCOME = d.TrainingOutcome(
    sft_path="/workspace/cycles/demo-1/sft.jsonl",
    sft_sha256="ab" * 32,
    sft_records=12,
    checkpoint="/workspace/cycles/demo-1/model",
    metrics_json=json.dumps({"final_loss": 0.5, "steps": 4}),
)

#: The Job the orchestrator must create for REQUEST, exactly.
EXPECTED_JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {
        "name": JOB,
        "labels": {
            "app.kubernetes.io/name": "harcopa",
            "app.kubernetes.io/component": "trainer",
            "harcopa.io/training": JOB.removeprefix("harcopa-train-"),
        },
    },
    "spec": {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": 604800,
        "template": {
            "metadata": {
                "labels": {
                    "app.kubernetes.io/name": "harcopa",
                    "app.kubernetes.io/component": "trainer",
                    "harcopa.io/training": JOB.removeprefix("harcopa-train-"),
                }
            },
            "spec": {
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
                "containers": [
                    {
                        "name": "trainer",
                        "image": "harcopa-trainer:0.1.0",
                        "command": ["python", "-m", "harcopa_cli"],
                        "args": [
                            "cycle",
                            "job",
                            "--request",
                            json.dumps(
                                {
                                    "base_model": "/workspace/base",
                                    "datasets": [],
                                    "include_unsolved": False,
                                    "name": "demo-1",
                                    "output_dir": "/workspace/cycles/demo-1",
                                    "processes": 2,
                                    "recipe": "learning_rate: 2.0e-5\n",
                                    "recipes": ["copa"],
                                    "run_ids": ["run-a", "run-b"],
                                    "tasks": [],
                                },
                                sort_keys=True,
                            ),
                            "--store",
                            "/data/harcopa.sqlite",
                            "--benchmark-root",
                            "/data/benchmark",
                        ],
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
                            {"name": "store", "mountPath": "/data"},
                            {"name": "workspace", "mountPath": "/workspace"},
                            {"name": "tmp", "mountPath": "/tmp"},
                            {"name": "home", "mountPath": "/home/harcopa"},
                            {"name": "shm", "mountPath": "/dev/shm"},
                        ],
                        "resources": {"limits": {"nvidia.com/gpu": "2"}},
                    }
                ],
                "volumes": [
                    {"name": "store", "persistentVolumeClaim": {"claimName": "harcopa-store"}},
                    {"name": "workspace", "persistentVolumeClaim": {"claimName": "harcopa-work"}},
                    {"name": "tmp", "emptyDir": {}},
                    {"name": "home", "emptyDir": {}},
                    {"name": "shm", "emptyDir": {"medium": "Memory"}},
                ],
            },
        },
    },
}


def _config(**overrides: Any) -> KubernetesConfig:
    values = {
        "enabled": True,
        "namespace": NAMESPACE,
        "trainer_image": "harcopa-trainer:0.1.0",
        "model_server_deployment": DEPLOYMENT,
        "store_claim": "harcopa-store",
        "workspace_claim": "harcopa-work",
        **overrides,
    }
    return KubernetesConfig(**values)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tmp_path / "k8s") as server:
        yield server


async def _client(
    tmp_path: Path, fake: FakeKubernetes, config: KubernetesConfig
) -> AsyncIterator[OrchestratorClient]:
    store = RunStore(tmp_path / "s.sqlite")
    manager = RunManager(store, lambda spec: [], None)  # type: ignore[arg-type]
    jobs = TrainingJobs(
        config.model_copy(update={"service_account_dir": fake.account}), fake.environ
    )
    service = Service(
        "harcopa.v1.OrchestratorService",
        OrchestratorServicer(manager, jobs),
        pb_grpc.add_OrchestratorServiceServicer_to_server,
    )
    runner = ServiceRunner(ServiceSettings(port=0, metrics_enabled=False), [service], manager, "o")
    await runner.start()
    try:
        async with OrchestratorClient(f"127.0.0.1:{runner.port}", reconnect_seconds=1) as client:
            yield client
    finally:
        await runner.stop()
        store.close()


@pytest_asyncio.fixture
async def client(tmp_path: Path, fake: FakeKubernetes) -> AsyncIterator[OrchestratorClient]:
    async for c in _client(tmp_path, fake, _config()):
        yield c


def _job_status(fake: FakeKubernetes, **status: Any) -> None:
    fake.cluster.jobs[JOB]["status"] = status


async def test_a_training_is_launched_followed_and_rolled_out(
    client: OrchestratorClient, fake: FakeKubernetes
) -> None:
    cluster = fake.cluster
    started = await client.start_training(REQUEST)
    assert (started.name, started.job_name, started.state) == (
        "demo-1",
        JOB,
        d.TrainingState.PENDING,
    )
    assert cluster.seen() == [("GET", f"{JOBS}/{JOB}/status"), ("POST", JOBS)]
    assert cluster.requests[1].body == EXPECTED_JOB
    # the service-account token, as the in-cluster loader sends it (schemes are case-blind)
    assert {r.authorization for r in cluster.requests} == {f"bearer {TOKEN}"}

    del cluster.requests[:]
    _job_status(fake, active=1)
    cluster.pods = [pod(f"{JOB}-x1", "Running", f"uid-{JOB}")]
    cluster.logs[f"{JOB}-x1"] = "export-sft: 12 records\ntrain: step 1/4 loss 1.2\n"
    running = await client.get_training("demo-1")
    assert running.state is d.TrainingState.RUNNING and running.message == "1 pod(s) running"
    assert running.log_tail == ("export-sft: 12 records", "train: step 1/4 loss 1.2")
    assert cluster.seen() == [
        ("GET", f"{JOBS}/{JOB}/status"),
        ("GET", f"{PODS}?labelSelector=controller-uid%3Duid-{JOB}"),
        ("GET", f"{PODS}/{JOB}-x1/log?container=trainer&tailLines=20"),
    ]

    del cluster.requests[:]
    _job_status(fake, succeeded=1, conditions=[{"type": "Complete", "status": "True"}])
    cluster.pods[0]["status"]["phase"] = "Succeeded"
    cluster.logs[f"{JOB}-x1"] += outcome_line(OUTCOME) + "\n"
    done = await client.get_training("demo-1")
    assert done.state is d.TrainingState.SUCCEEDED and done.outcome == OUTCOME
    assert done.rolled_out is False  # just patched
    assert cluster.seen()[3:] == [("GET", DEPLOY), ("PATCH", DEPLOY)]
    patch = cluster.requests[4]
    assert patch.content_type == "application/strategic-merge-patch+json"
    restarted = patch.body["spec"]["template"]["metadata"]["annotations"].pop(
        "kubectl.kubernetes.io/restartedAt"
    )
    assert restarted.endswith("Z") and patch.body == {
        "spec": {
            "template": {
                "metadata": {"annotations": {"harcopa.io/checkpoint": OUTCOME.checkpoint}},
                "spec": {
                    "containers": [
                        {
                            "name": "model-server",
                            "env": [
                                {
                                    "name": "HARCOPA_MODEL_BACKEND__MODEL",
                                    "value": OUTCOME.checkpoint,
                                }
                            ],
                        }
                    ]
                },
            }
        }
    }

    del cluster.requests[:]
    cluster.deployment = deployment({"harcopa.io/checkpoint": OUTCOME.checkpoint}, ready=True)
    served = await client.get_training("demo-1")
    assert served.rolled_out is True
    assert ("PATCH", DEPLOY) not in cluster.seen()  # patched once only

    again = await client.start_training(REQUEST)  # a re-run cycle: the existing training
    assert again.state is d.TrainingState.SUCCEEDED and ("POST", JOBS) not in cluster.seen()


async def test_a_failed_job_says_why_and_is_retried_by_starting_again(
    client: OrchestratorClient, fake: FakeKubernetes
) -> None:
    await client.start_training(REQUEST)
    failed_condition = {
        "type": "Failed",
        "status": "True",
        "reason": "BackoffLimitExceeded",
        "message": "Job has reached the specified backoff limit",
    }
    _job_status(fake, failed=1, conditions=[failed_condition])
    fake.cluster.pods = [pod(f"{JOB}-x1", "Failed", f"uid-{JOB}")]
    fake.cluster.logs[f"{JOB}-x1"] = "train: step 1/4\nharcopa: error: CUDA out of memory\n"
    failed = await client.get_training("demo-1")
    assert failed.state is d.TrainingState.FAILED
    assert failed.message == "BackoffLimitExceeded: Job has reached the specified backoff limit"
    assert failed.log_tail[-1] == "harcopa: error: CUDA out of memory"

    del fake.cluster.requests[:]
    retried = await client.start_training(REQUEST)
    assert retried.state is d.TrainingState.PENDING
    assert fake.cluster.seen()[-2:] == [
        ("DELETE", f"{JOBS}/{JOB}?propagationPolicy=Background"),
        ("POST", JOBS),
    ]


async def test_a_job_without_its_outcome_line_is_a_failed_training(
    client: OrchestratorClient, fake: FakeKubernetes
) -> None:
    await client.start_training(REQUEST)
    _job_status(fake, succeeded=1, conditions=[{"type": "Complete", "status": "True"}])
    fake.cluster.pods = [pod(f"{JOB}-x1", "Succeeded", f"uid-{JOB}")]
    fake.cluster.logs[f"{JOB}-x1"] = "train: done\n"
    training = await client.get_training("demo-1")
    assert training.state is d.TrainingState.FAILED and "outcome line" in training.message
    assert ("PATCH", DEPLOY) not in fake.cluster.seen()  # nothing to serve


@pytest.mark.parametrize(
    ("method", "path", "code", "expected"),
    [
        (
            "POST",
            JOBS,
            403,
            f"Kubernetes API refused to create job {JOB}: 403 Forbidden: jobs.batch is forbidden:"
            " User cannot create resource (the orchestrator's service account lacks the chart's"
            " Role: install the release with orchestrator.copaCycle.enabled=true)",
        ),
        (
            "GET",
            f"{JOBS}/{JOB}",
            500,
            f"Kubernetes API refused to read job {JOB}: 500 Internal Server Error: etcdserver:"
            " request timed out",
        ),
    ],
)
async def test_an_api_error_is_one_line_for_the_caller(
    client: OrchestratorClient,
    fake: FakeKubernetes,
    method: str,
    path: str,
    code: int,
    expected: str,
) -> None:
    message = expected.split(": ", 2)[2] if code == 403 else "etcdserver: request timed out"
    fake.cluster.errors[(method, path)] = (code, message.split(" (the")[0])
    with pytest.raises(FailedPrecondition) as caught:
        await client.start_training(REQUEST)
    assert str(caught.value) == expected and "\n" not in str(caught.value)


async def test_an_unreachable_api_server_is_one_line_at_once(
    tmp_path: Path, fake: FakeKubernetes
) -> None:
    config = _config(service_account_dir=fake.account)
    closed = {**fake.environ, "KUBERNETES_SERVICE_PORT": str(free_port())}  # nothing listens
    with pytest.raises(FailedPrecondition) as caught:
        await TrainingJobs(config, closed).get("demo-1")
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Kubernetes API to read job {JOB}: ")
    assert "\n" not in message


async def test_training_jobs_off_or_unconfigured_are_refused(
    tmp_path: Path, fake: FakeKubernetes
) -> None:
    async for client in _client(tmp_path, fake, _config(enabled=False)):
        with pytest.raises(FailedPrecondition, match="training Jobs are off"):
            await client.get_training("demo-1")
    async for client in _client(tmp_path, fake, _config(store_claim="")):
        with pytest.raises(FailedPrecondition, match="KUBERNETES__STORE_CLAIM"):
            await client.start_training(REQUEST)
    assert fake.cluster.requests == []  # nothing reached the cluster


def test_the_job_is_a_valid_kubernetes_object() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="dev extra")
    from harcopa_orchestrator.training_manifests import training_job

    kubernetes_validate.validate(training_job(_config(), REQUEST), "1.33.0", strict=True)
    assert training_job(_config(), REQUEST) == EXPECTED_JOB
    long_name = d.TrainingRequest("A" * 200, ("r",), "/b", "/o")
    name = training_job(_config(), long_name)["metadata"]["name"]
    assert len(name) <= 63 and name.startswith("harcopa-train-a")


def test_the_charts_settings_reach_the_orchestrator(monkeypatch: pytest.MonkeyPatch) -> None:
    chart_env = {
        "HARCOPA_ORCHESTRATOR_KUBERNETES__ENABLED": "true",
        "HARCOPA_ORCHESTRATOR_KUBERNETES__NAMESPACE": "team",
        "HARCOPA_ORCHESTRATOR_KUBERNETES__TRAINER_IMAGE": "harcopa-trainer:0.1.0",
        "HARCOPA_ORCHESTRATOR_KUBERNETES__MODEL_SERVER_DEPLOYMENT": "harcopa-model-server",
    }
    for key, value in chart_env.items():
        monkeypatch.setenv(key, value)
    settings = OrchestratorSettings().kubernetes
    assert (settings.enabled, settings.namespace) == (True, "team")
    assert settings.trainer_image == "harcopa-trainer:0.1.0"
    assert settings.model_server_deployment == "harcopa-model-server"
    assert settings.missing() == ["store_claim", "workspace_claim"]
