"""The Helm chart's orchestrator, auth wiring (tokens, mTLS), trainer job and CoPA cycle RBAC,
rendered by a real Helm: which objects exist for which values and what they hold.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.helm_chart import (
    NAMESPACE,
    PREFIX,
    container,
    env,
    find,
    one,
    render,
    rendered,
    values_of,
)

# ---- the orchestrator and auth ----------------------------------------------------------------


def models_file(docs: Any) -> dict[str, Any]:
    secret = one(docs, "Secret", f"{PREFIX}-orchestrator-models")
    return json.loads(secret["stringData"]["models.json"])  # type: ignore[no-any-return]


def test_orchestrator_is_one_recreated_replica_with_its_store_and_targets() -> None:
    docs = rendered("default-values.yaml")
    name = f"{PREFIX}-orchestrator"
    spec = one(docs, "Deployment", name)["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    assert (
        one(docs, "PersistentVolumeClaim", name)["spec"]["resources"]["requests"]["storage"]
        == "20Gi"
    )
    store = next(v for v in spec["template"]["spec"]["volumes"] if v["name"] == "store")
    assert store["persistentVolumeClaim"]["claimName"] == name
    variables = env(spec["template"]["spec"]["containers"][0])
    assert variables["HARCOPA_ORCHESTRATOR_VERIFIER_TARGET"] == f"dns:///{PREFIX}-verifier:50051"
    assert variables["HARCOPA_ORCHESTRATOR_MODELS_FILE"] == "/etc/harcopa/models/models.json"
    assert variables["HARCOPA_ORCHESTRATOR_ALLOWED_ENDPOINT_HOSTS"] == "[]"
    assert variables["HARCOPA_ORCHESTRATOR_KUBERNETES__ENABLED"] == "false"
    assert models_file(docs) == {
        "default": "default",
        "models": {"default": {"target": f"dns:///{PREFIX}-model-server:50052"}},
    }
    assert one(docs, "Service", f"{PREFIX}-model-server")["spec"]["clusterIP"] == "None"
    assert not find(docs, "Secret", f"{PREFIX}-auth") and not find(docs, "Role")
    assert spec["template"]["spec"]["automountServiceAccountToken"] is False


def test_mtls_values_wire_certificates_and_tokens_into_every_service_and_client() -> None:
    docs = rendered("mtls-values.yaml")
    for component, prefix, secret in (
        ("verifier", "HARCOPA_VERIFIER", "harcopa-verifier-cert"),
        ("model-server", "HARCOPA_MODEL", "harcopa-model-server-cert"),
        ("orchestrator", "HARCOPA_ORCHESTRATOR", "harcopa-orchestrator-cert"),
    ):
        spec = one(docs, "Deployment", f"{PREFIX}-{component}")["spec"]["template"]["spec"]
        variables = env(spec["containers"][0])
        assert variables[f"{prefix}_AUTH_TOKEN_FILE"] == "/etc/harcopa/auth/token"
        assert variables[f"{prefix}_TLS__CERT_FILE"] == "/etc/harcopa/tls/tls.crt"
        assert variables[f"{prefix}_TLS__KEY_FILE"] == "/etc/harcopa/tls/tls.key"
        assert variables[f"{prefix}_TLS__CLIENT_CA_FILE"] == "/etc/harcopa/tls/ca.crt"
        assert variables[f"{prefix}_METRICS_AUTH"] == "true"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == secret
        assert volumes["client-tls"]["secret"]["secretName"] == "harcopa-client-cert"
        assert volumes["auth-token"]["secret"]["secretName"] == f"{PREFIX}-auth"
        mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        assert mounts["tls"] == "/etc/harcopa/tls" and mounts["auth-token"] == "/etc/harcopa/auth"
    orchestrator = env(container(docs, "Deployment", f"{PREFIX}-orchestrator"))
    assert orchestrator["HARCOPA_ORCHESTRATOR_VERIFIER_TOKEN_FILE"] == "/etc/harcopa/auth/token"
    assert (
        orchestrator["HARCOPA_ORCHESTRATOR_VERIFIER_TLS__CA_FILE"]
        == "/etc/harcopa/client-tls/ca.crt"
    )
    assert (
        orchestrator["HARCOPA_ORCHESTRATOR_VERIFIER_TLS__CERT_FILE"]
        == "/etc/harcopa/client-tls/tls.crt"
    )
    assert (
        orchestrator["HARCOPA_ORCHESTRATOR_VERIFIER_TLS__KEY_FILE"]
        == "/etc/harcopa/client-tls/tls.key"
    )
    models = models_file(docs)["models"]
    assert models["default"] == {
        "target": f"dns:///{PREFIX}-model-server:50052",
        "token_file": "/etc/harcopa/auth/token",
        "tls_ca_file": "/etc/harcopa/client-tls/ca.crt",
        "tls_cert_file": "/etc/harcopa/client-tls/tls.crt",
        "tls_key_file": "/etc/harcopa/client-tls/tls.key",
    }
    assert models["hosted"] == {
        "target": "https://llm.example.org/v1",
        "model": "har-copa-7b",
        "api_key_file": "/etc/harcopa/models/keys/hosted/api-key",
    }
    spec = one(docs, "Deployment", f"{PREFIX}-orchestrator")["spec"]["template"]["spec"]
    projected = next(v for v in spec["volumes"] if v["name"] == "models")["projected"]["sources"]
    assert {"name": "hosted-llm", "items": [{"key": "api-key", "path": "keys/hosted/api-key"}]} in [
        s["secret"] for s in projected
    ]
    token = one(docs, "Secret", f"{PREFIX}-auth")["data"]["token"]
    assert len(token) >= 48
    endpoint = one(docs, "ServiceMonitor", PREFIX)["spec"]["endpoints"][0]
    assert endpoint["authorization"]["credentials"] == {"name": f"{PREFIX}-auth", "key": "token"}
    test_pod = container(docs, "Pod", f"{PREFIX}-test-evaluation")
    assert env(test_pod)["HARCOPA_CLIENT_TOKEN_FILE"] == "/etc/harcopa/auth/token"
    assert env(test_pod)["HARCOPA_CLIENT_TLS__CERT_FILE"] == "/etc/harcopa/client-tls/tls.crt"


def test_an_existing_token_secret_is_used_and_not_created() -> None:
    docs = render(
        {"auth": {"token": {"enabled": True, "existingSecret": "team-token", "key": "t"}}}
    )
    assert not find(docs, "Secret", f"{PREFIX}-auth")
    spec = one(docs, "Deployment", f"{PREFIX}-verifier")["spec"]["template"]["spec"]
    volume = next(v for v in spec["volumes"] if v["name"] == "auth-token")["secret"]
    assert volume["secretName"] == "team-token" and volume["items"] == [
        {"key": "t", "path": "token"}
    ]


# ---- the trainer and the CoPA cycle -----------------------------------------------------------


def test_trainer_job_only_when_enabled_as_an_indexed_torchrun_job() -> None:
    assert not find(rendered("default-values.yaml"), "Job")
    docs = rendered("trainer-values.yaml")
    name = f"{PREFIX}-trainer"
    job = one(docs, "Job", name)["spec"]
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == 2
    pod = job["template"]["spec"]
    assert pod["subdomain"] == name and pod["restartPolicy"] == "Never"
    service = one(docs, "Service", name)["spec"]
    assert service["clusterIP"] == "None" and service["publishNotReadyAddresses"] is True
    c = pod["containers"][0]
    assert c["command"] == ["torchrun"]
    assert c["args"][:5] == [
        "--nnodes=2",
        "--nproc-per-node=8",
        "--node-rank=$(JOB_COMPLETION_INDEX)",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint={name}-0.{name}:29500",
    ]
    assert c["args"][c["args"].index("-m") + 1 :] == [
        "harcopa_trainer",
        "--config",
        "/etc/harcopa/train.yaml",
    ]
    variables = env(c)
    assert variables["DS_ACCELERATOR"] == "cuda"
    assert "job-completion-index" in variables["JOB_COMPLETION_INDEX"]["fieldRef"]["fieldPath"]
    assert c["resources"]["limits"] == {"nvidia.com/gpu": 8}
    config = one(docs, "ConfigMap", name)["data"]["train.yaml"]
    assert config == values_of("trainer-values.yaml")["trainer"]["config"]  # verbatim
    assert yaml.safe_load(config)["learning_rate"] == 2.0e-5
    ascend = render({"trainer": {"enabled": True, "accelerator": "ascend", "processesPerNode": 4}})
    c = container(ascend, "Job", name)
    assert env(c)["DS_ACCELERATOR"] == "npu" and c["resources"]["limits"] == {
        "huawei.com/Ascend910": 4
    }


def test_copa_cycle_gets_exactly_the_rbac_it_needs() -> None:
    docs = rendered("trainer-values.yaml")
    name = f"{PREFIX}-orchestrator"
    rules = {
        (rule["apiGroups"][0], resource): tuple(rule["verbs"])
        for rule in one(docs, "Role", name)["rules"]
        for resource in rule["resources"]
    }
    assert rules == {
        ("batch", "jobs"): ("create", "get", "list", "watch", "delete"),
        ("", "pods"): ("get", "list"),
        ("", "pods/log"): ("get",),
        ("apps", "deployments"): ("get", "patch"),
    }
    binding = one(docs, "RoleBinding", name)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}]
    spec = one(docs, "Deployment", name)["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == name and spec["automountServiceAccountToken"] is True
    variables = env(spec["containers"][0])
    assert variables["HARCOPA_ORCHESTRATOR_KUBERNETES__ENABLED"] == "true"
    assert variables["HARCOPA_ORCHESTRATOR_KUBERNETES__TRAINER_IMAGE"] == "harcopa-trainer:0.1.0"
    assert (
        variables["HARCOPA_ORCHESTRATOR_KUBERNETES__MODEL_SERVER_DEPLOYMENT"]
        == f"{PREFIX}-model-server"
    )
    assert (
        variables["HARCOPA_ORCHESTRATOR_KUBERNETES__NAMESPACE"]["fieldRef"]["fieldPath"]
        == "metadata.namespace"
    )
    # The trainer Jobs it launches mount the store's claim and the trainer's workspace claim.
    assert variables["HARCOPA_ORCHESTRATOR_KUBERNETES__STORE_CLAIM"] == name
    assert variables["HARCOPA_ORCHESTRATOR_KUBERNETES__WORKSPACE_CLAIM"] == "harcopa-workspace"
    assert one(docs, "PersistentVolumeClaim", name)["metadata"]["name"] == name
