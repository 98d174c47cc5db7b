"""The Helm chart's values files and its services' pods, rendered by a real Helm.

Every ``helm/harcopa/ci/*.yaml`` is linted strictly and rendered; every manifest is validated with
``kubernetes-validate --strict`` (Prometheus Operator objects, which it has no schema for, against
strict schemas of the fields the chart uses). Then the properties that matter are asserted:
the verifier's isolation and per-REPL sizing, probes, security contexts and the model server's
placement. The orchestrator, auth and jobs are in test_helm_orchestrator.py, monitoring in
test_helm_monitoring.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from harcopa import __version__
from tests.helm_chart import (
    CHART,
    CI_FILES,
    KUBE_VERSION,
    PREFIX,
    RELEASE,
    SERVERS,
    chart,
    container,
    env,
    find,
    helm,
    kubernetes_validate,
    one,
    pods,
    render,
    rendered,
    validate,
    values_of,
)

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
        {"verifier": {"sessionsPerProcess": 0}},
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
