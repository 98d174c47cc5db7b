"""Rendering and validating the Helm chart ``helm/harcopa`` with a real Helm (the Helm v4 SDK of
PyPI ``helm-python-sdk``), and finding objects in what it renders.

Imported by the chart's tests (tests/unit/test_helm_*.py); a test module that imports it is
skipped where the dev extra's Helm, kubernetes-validate or promql-parser is missing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml

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


SERVERS = {
    "verifier": ("harcopa.v1.VerifierService", 50051),
    "model-server": ("harcopa.v1.ModelService", 50052),
    "orchestrator": ("harcopa.v1.OrchestratorService", 50050),
}
