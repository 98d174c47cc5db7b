"""The Helm chart rendered by a real Helm (the Helm v4 SDK of PyPI ``helm-python-sdk``).

Every ``helm/harcopa/ci/*.yaml`` is linted strictly and rendered; every manifest is validated with
``kubernetes-validate --strict`` (Prometheus Operator objects, which it has no schema for, against
strict schemas of the fields the chart uses). Then the properties that matter are asserted:
the verifier's isolation and per-REPL sizing, probes, security contexts, auth wiring, and which
objects exist for which values. Alert rules and dashboard queries are parsed as PromQL and may
name only metrics our services (or vLLM) export.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from harcopa import __version__
from harcopa.benchmarks import load_problems_file
from tests.conftest import REPO_ROOT

helm = pytest.importorskip("helm_python", reason="helm-python-sdk (dev extra) is not installed")
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate missing"
)
promql = pytest.importorskip("promql_parser", reason="promql-parser (dev extra) is not installed")

CHART = REPO_ROOT / "helm" / "harcopa"
CI_FILES = sorted(p.name for p in (CHART / "ci").glob("*.yaml"))
KUBE_VERSION = "1.33.0"
RELEASE, NAMESPACE = "demo", "research"
PREFIX = f"{RELEASE}-harcopa"

Docs = list[dict[str, Any]]


def values_of(ci_file: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / "ci" / ci_file).read_text(encoding="utf-8")) or {}


@cache
def chart() -> Any:
    return helm.Chart.load(str(CHART))


def render(values: dict[str, Any]) -> Docs:
    out = chart().render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs: Docs = []
    for path, text in sorted(out.items()):
        if path.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


@cache
def rendered(ci_file: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(values_of(ci_file)))


def find(docs: Any, kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]


def one(docs: Any, kind: str, name: str) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def container(docs: Any, kind: str, name: str) -> dict[str, Any]:
    pod = one(docs, kind, name)["spec"]
    pod = pod["template"]["spec"] if "template" in pod else pod
    return pod["containers"][0]  # type: ignore[no-any-return]


def env(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def pods(docs: Any) -> list[dict[str, Any]]:
    specs = []
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            specs.append(d["spec"]["template"]["spec"])
        elif d["kind"] == "Pod":
            specs.append(d["spec"])
    return specs


# ---- Prometheus Operator objects: strict schemas of the fields the chart writes --------------

_SECRET_REF = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "key"],
    "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
}
_METADATA = {"type": "object", "required": ["name", "labels"]}
MONITORING_SCHEMAS: dict[str, dict[str, Any]] = {
    "ServiceMonitor": {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "ServiceMonitor"},
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["selector", "endpoints"],
                "properties": {
                    "selector": {"type": "object"},
                    "namespaceSelector": {"type": "object"},
                    "endpoints": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["port"],
                            "properties": {
                                "port": {"type": "string"},
                                "path": {"type": "string"},
                                "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                                "relabelings": {"type": "array"},
                                "authorization": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "type": {"const": "Bearer"},
                                        "credentials": _SECRET_REF,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "PrometheusRule": {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PrometheusRule"},
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "groups": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["name", "rules"],
                            "properties": {
                                "name": {"type": "string"},
                                "rules": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["alert", "expr"],
                                        "properties": {
                                            "alert": {"type": "string", "pattern": "^[A-Za-z]+$"},
                                            "expr": {"type": "string"},
                                            "for": {"type": "string"},
                                            "labels": {"type": "object"},
                                            "annotations": {
                                                "type": "object",
                                                "required": ["summary", "description"],
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    }
                },
            },
        },
    },
}


def validate(doc: dict[str, Any]) -> None:
    if doc["kind"] in MONITORING_SCHEMAS:
        jsonschema.validate(doc, MONITORING_SCHEMAS[doc["kind"]])
    else:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


# ---- lint, render, validate every values file -------------------------------------------------


@pytest.mark.parametrize("ci_file", CI_FILES)
def test_lint_strict(ci_file: str) -> None:
    report = helm.lint(str(CHART), values_of(ci_file), strict=True, kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # warnings and errors
    assert not report["errors"] and not problems, report


@pytest.mark.parametrize("ci_file", CI_FILES)
def test_every_manifest_validates_strictly(ci_file: str) -> None:
    docs = rendered(ci_file)
    assert len(docs) >= 10
    for doc in docs:
        validate(doc)
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(names) == len(set(names))


def test_ci_values_cover_the_deployments_we_support() -> None:
    assert set(CI_FILES) >= {
        "default-values.yaml",
        "simulated-values.yaml",
        "cuda-values.yaml",
        "ascend-values.yaml",
        "trainer-values.yaml",
        "mtls-values.yaml",
    }


def test_strict_validation_rejects_an_unknown_field() -> None:
    deployment = json.loads(
        json.dumps(one(rendered("default-values.yaml"), "Deployment", f"{PREFIX}-verifier"))
    )
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    rule = json.loads(json.dumps(one(rendered("cuda-values.yaml"), "PrometheusRule", PREFIX)))
    rule["spec"]["groups"][0]["rules"][0]["expression"] = "up"
    with pytest.raises(jsonschema.ValidationError):
        validate(rule)


@pytest.mark.parametrize(
    "values",
    [
        {"verifier": {"poolSize": 1}},
        {"verifier": {"backend": {"kind": "lean3"}}},
        {"modelServer": {"accelerator": "tpu"}},
        {"verifer": {}},
        {"orchestrator": {"models": {"extra": {"m": {"model": "x"}}}}},
        {"orchestrator": {"env": {"BAD NAME": "x"}}},
    ],
)
def test_values_schema_rejects_bad_values(values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmError):
        chart().validate_schema(values)


def test_every_value_is_documented_and_the_chart_follows_the_app() -> None:
    """Every key has a `# --` comment, or is a plain parent block, or lies inside a documented
    value (the default contents of a documented map such as podSecurityContext)."""
    lines = (CHART / "values.yaml").read_text(encoding="utf-8").splitlines()
    undocumented, documented_paths = [], []
    covered: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    path: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)(?:- )?([A-Za-z0-9_.]+):(.*)$", line)
        if not match:
            continue
        indent = len(match[1])
        covered = [(d, doc) for d, doc in covered if d < indent]
        documented = i > 0 and lines[i - 1].strip().startswith("# --")
        inherited = any(doc for _, doc in covered)
        path = [(d, k) for d, k in path if d < indent] + [(indent, match[2])]
        if documented and not inherited:
            documented_paths.append(".".join(k for _, k in path))
        parent = not match[3].strip() and not documented
        if not (documented or inherited or parent):
            undocumented.append(match[2])
        covered.append((indent, documented or inherited))
    assert not undocumented
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert meta["appVersion"] == __version__
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    assert [p for p in documented_paths if f"| `{p}` |" not in readme] == []
    assert len(documented_paths) > 150


# ---- the verifier -----------------------------------------------------------------------------


def test_verifier_has_no_egress_and_only_the_orchestrator_calls_it() -> None:
    for ci_file in CI_FILES:
        policy = one(rendered(ci_file), "NetworkPolicy", f"{PREFIX}-verifier")["spec"]
        assert "Egress" in policy["policyTypes"] and policy["egress"] == []
        grpc_rule = next(r for r in policy["ingress"] if r["ports"][0]["port"] == "grpc")
        callers = [p["podSelector"]["matchLabels"] for p in grpc_rule["from"]]
        assert callers == [
            {
                "app.kubernetes.io/name": "harcopa",
                "app.kubernetes.io/instance": RELEASE,
                "app.kubernetes.io/component": "orchestrator",
            }
        ]


def test_verifier_is_headless_autoscaled_and_disruption_bounded() -> None:
    docs = rendered("default-values.yaml")
    name = f"{PREFIX}-verifier"
    assert one(docs, "Service", name)["spec"]["clusterIP"] == "None"
    hpa = one(docs, "HorizontalPodAutoscaler", name)["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert "replicas" not in one(docs, "Deployment", name)["spec"]  # the autoscaler owns it
    assert one(docs, "PodDisruptionBudget", name)["spec"]["maxUnavailable"] == 1
    sim = rendered("simulated-values.yaml")
    assert not find(sim, "HorizontalPodAutoscaler")
    assert one(sim, "Deployment", name)["spec"]["replicas"] == 1


@pytest.mark.parametrize("pool", [2, 8, 13])
def test_verifier_resources_follow_the_pool_size(pool: int) -> None:
    sizing = {"replCpuMillis": 1000, "replMemoryRequestMiB": 4096, "replAddressSpaceMiB": 8192}
    docs = render({"verifier": {"poolSize": pool, "sizing": sizing}})
    c = container(docs, "Deployment", f"{PREFIX}-verifier")
    assert c["resources"]["requests"] == {
        "cpu": f"{pool * 1000 + 500}m",
        "memory": f"{pool * 4096 + 1024}Mi",
    }
    assert c["resources"]["limits"] == {
        "cpu": f"{pool * 1000 + 500}m",
        "memory": f"{pool * 8192 + 1024}Mi",
    }
    variables = env(c)
    assert variables["HARCOPA_VERIFIER_POOL_SIZE"] == str(pool)
    assert variables["HARCOPA_VERIFIER_MAX_MEMORY_BYTES"] == str(8 * 2**30)  # 8 GiB per REPL
    explicit = {"requests": {"cpu": "3"}, "limits": {"memory": "20Gi"}}
    docs = render({"verifier": {"poolSize": pool, "resources": explicit}})
    assert container(docs, "Deployment", f"{PREFIX}-verifier")["resources"] == explicit


def test_backend_settings_become_nested_environment_variables() -> None:
    verifier = env(container(rendered("simulated-values.yaml"), "Deployment", f"{PREFIX}-verifier"))
    assert verifier["HARCOPA_VERIFIER_BACKEND__KIND"] == "sim"
    model = env(container(rendered("cuda-values.yaml"), "Deployment", f"{PREFIX}-model-server"))
    assert model["HARCOPA_MODEL_BACKEND__KIND"] == "vllm"
    assert model["HARCOPA_MODEL_BACKEND__ENABLE_PREFIX_CACHING"] == "true"
    assert model["HARCOPA_MODEL_BACKEND__TENSOR_PARALLEL_SIZE"] == "2"
    assert model["HARCOPA_MODEL_BACKEND__SERVED_MODEL_NAME"] == "har-copa-7b"
    assert model["HARCOPA_MODEL_BACKEND__DEVICE"] == "cuda"


# ---- probes and security ----------------------------------------------------------------------

SERVERS = {
    "verifier": ("harcopa.v1.VerifierService", 50051),
    "model-server": ("harcopa.v1.ModelService", 50052),
    "orchestrator": ("harcopa.v1.OrchestratorService", 50050),
}


def test_grpc_probes_ask_for_the_service_then_for_liveness() -> None:
    docs = rendered("default-values.yaml")
    for component, (service, port) in SERVERS.items():
        c = container(docs, "Deployment", f"{PREFIX}-{component}")
        assert c["startupProbe"]["grpc"] == {"port": port, "service": service}
        assert c["readinessProbe"]["grpc"] == {"port": port, "service": service}
        assert c["livenessProbe"]["grpc"] == {"port": port, "service": ""}
    # Startup budgets: the verifier's Mathlib import, the model's weight loading.
    for component, seconds in (("verifier", 900), ("model-server", 1800)):
        probe = container(docs, "Deployment", f"{PREFIX}-{component}")["startupProbe"]
        assert probe["periodSeconds"] * probe["failureThreshold"] >= seconds


def test_tls_probes_run_the_health_command_with_certificates() -> None:
    docs = rendered("mtls-values.yaml")
    for component, (service, port) in SERVERS.items():
        c = container(docs, "Deployment", f"{PREFIX}-{component}")
        command = c["readinessProbe"]["exec"]["command"]
        assert command[:2] == ["harcopa", "health"]
        assert f"--target=127.0.0.1:{port}" in command and f"--service={service}" in command
        assert f"--server-name={PREFIX}-{component}" in command
        assert "--tls-cert=/etc/harcopa/client-tls/tls.crt" in command
        assert "--service=" in c["livenessProbe"]["exec"]["command"]


@pytest.mark.parametrize("ci_file", CI_FILES)
def test_every_pod_is_hardened(ci_file: str) -> None:
    specs = pods(rendered(ci_file))
    assert specs
    for spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 1000
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"]
        for c in spec["containers"]:
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]


# ---- the model server -------------------------------------------------------------------------


def test_model_server_requests_its_accelerator_and_lands_on_its_nodes() -> None:
    cuda = rendered("cuda-values.yaml")
    spec = one(cuda, "Deployment", f"{PREFIX}-model-server")["spec"]["template"]["spec"]
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in spec["containers"][0][
        "volumeMounts"
    ]
    ascend = rendered("ascend-values.yaml")
    spec = one(ascend, "Deployment", f"{PREFIX}-model-server")["spec"]["template"]["spec"]
    c = spec["containers"][0]
    assert c["resources"]["limits"] == {"huawei.com/Ascend910": 4}
    assert env(c)["HARCOPA_MODEL_BACKEND__DEVICE"] == "npu"
    assert c["image"] == "harcopa-model-server-ascend:0.1.0"
    driver = next(v for v in spec["volumes"] if v["name"] == "ascend-driver")
    assert driver["hostPath"]["path"] == "/usr/local/Ascend/driver"
    assert spec["securityContext"]["supplementalGroups"] == [1000]
    sim = rendered("simulated-values.yaml")
    c = container(sim, "Deployment", f"{PREFIX}-model-server")
    assert "nvidia.com/gpu" not in json.dumps(c)
    assert env(c)["HARCOPA_MODEL_BACKEND__KIND"] == "sim"
    assert c["image"] == "harcopa-orchestrator:0.1.0"
    assert c["command"] == ["python", "-m", "harcopa_model_server"]
    assert "command" not in container(cuda, "Deployment", f"{PREFIX}-model-server")


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


# ---- monitoring -------------------------------------------------------------------------------


@cache
def known_metrics() -> frozenset[str]:
    """Every metric name our services register (the Prometheus registry after importing them)."""
    from prometheus_client import REGISTRY

    import harcopa.grpc_metrics
    import harcopa_lean_verifier.metrics
    import harcopa_model_server.metrics
    import harcopa_orchestrator.scheduler
    from harcopa.metrics import gauge
    from harcopa.serving import MetricsInterceptor

    for service in ("verifier", "model", "orchestrator"):
        MetricsInterceptor(service)
    gauge(
        "harcopa_build_info",
        "Always 1; labels describe the build.",
        ("service", "version", "lean_version"),
    )
    del harcopa, harcopa_lean_verifier, harcopa_model_server, harcopa_orchestrator
    names = set(REGISTRY._names_to_collectors)  # every series name, suffixes included
    # Run-level series the orchestrator's run manager exports (status and outcome labels).
    names |= {"harcopa_orchestrator_runs", "harcopa_orchestrator_problems_finished_total"}
    return frozenset(names)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    tree = promql.parse(expr)
    names: set[str] = set()

    def walk(node: Any) -> None:
        if type(node).__name__ == "VectorSelector":
            names.add(node.name)
        for attribute in ("expr", "lhs", "rhs", "args", "vector_selector"):
            child = getattr(node, attribute, None)
            if isinstance(child, list):
                for item in child:
                    walk(item)
            elif (
                child is not None
                and hasattr(child, "__class__")
                and not isinstance(child, str | int | float)
            ):
                walk(child)

    walk(tree)
    return names


def check_expr(expr: str) -> set[str]:
    names = metric_names(expr)
    assert names, expr
    for name in names:
        assert name in known_metrics() or name.startswith("vllm:"), name
    return names


def test_monitoring_objects_only_when_enabled() -> None:
    default = rendered("default-values.yaml")
    assert not find(default, "ServiceMonitor") and not find(default, "PrometheusRule")
    assert not find(default, "ConfigMap", f"{PREFIX}-dashboard")
    cuda = rendered("cuda-values.yaml")
    monitor = one(cuda, "ServiceMonitor", PREFIX)
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["selector"]["matchLabels"]["harcopa.io/metrics"] == "true"
    scraped = [
        s for s in find(cuda, "Service") if s["metadata"]["labels"].get("harcopa.io/metrics")
    ]
    assert {s["metadata"]["name"] for s in scraped} == {f"{PREFIX}-{c}" for c in SERVERS}
    assert all(any(p["name"] == "metrics" for p in s["spec"]["ports"]) for s in scraped)
    dashboard = one(cuda, "ConfigMap", f"{PREFIX}-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["harcopa.json"])["uid"] == "harcopa-overview"


def test_alert_rules_parse_and_watch_our_metrics() -> None:
    rule = one(rendered("cuda-values.yaml"), "PrometheusRule", PREFIX)
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {
        "HarcopaVerifierReplRestarts",
        "HarcopaVerifierQueueDepth",
        "HarcopaRunsStalled",
        "HarcopaRunsIncomplete",
    } <= set(alerts)
    used = set()
    for alert in alerts.values():
        used |= check_expr(alert["expr"])
        assert f'namespace="{NAMESPACE}"' in alert["expr"]
    assert {
        "harcopa_verifier_repl_restarts_total",
        "harcopa_verifier_queue_depth",
        "harcopa_orchestrator_runs",
        "harcopa_orchestrator_problems_finished_total",
    } <= used
    assert 'status="incomplete"' in alerts["HarcopaRunsIncomplete"]["expr"]


def test_dashboard_queries_parse_and_cover_our_metrics_and_vllms() -> None:
    dashboard = json.loads((CHART / "dashboards" / "harcopa.json").read_text(encoding="utf-8"))
    used: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "5m").replace("$namespace", "ns")
            used |= check_expr(expr)
    assert any(n.startswith("vllm:") for n in used)
    for prefix in ("harcopa_verifier_", "harcopa_model_", "harcopa_orchestrator_", "grpc_server_"):
        assert any(n.startswith(prefix) for n in used), prefix
    assert "harcopa_build_info" in used


# ---- the helm test hook -----------------------------------------------------------------------


def test_helm_test_runs_a_tiny_har_evaluation_on_the_release() -> None:
    docs = rendered("default-values.yaml")
    pod = one(docs, "Pod", f"{PREFIX}-test-evaluation")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["containers"][0]["command"] == [
        "harcopa",
        "run",
        "start",
        f"--orchestrator={PREFIX}-orchestrator:50050",
        "--pipeline=har",
        "--benchmark=/smoke/problems.json",
        "--solver=default",
        "--ks=4",
        "--watch",
    ]
    problems = one(docs, "ConfigMap", f"{PREFIX}-smoke")["data"]["problems.json"]
    spec = one(docs, "Deployment", f"{PREFIX}-orchestrator")["spec"]["template"]["spec"]
    assert {"name": "smoke", "mountPath": "/smoke", "readOnly": True} in spec["containers"][0][
        "volumeMounts"
    ]
    assert (
        next(v for v in spec["volumes"] if v["name"] == "smoke")["configMap"]["name"]
        == f"{PREFIX}-smoke"
    )
    path = Path(CHART / "files" / "smoke-problems.json")
    assert json.loads(problems) == json.loads(path.read_text(encoding="utf-8"))
    assert len(load_problems_file(path).problems) == 2
    off = render({"tests": {"enabled": False}})
    assert not find(off, "Pod") and not find(off, "ConfigMap", f"{PREFIX}-smoke")
