"""The Helm chart's monitoring objects and its ``helm test``, rendered by a real Helm: alert rules
and dashboard queries are parsed as PromQL and may name only metrics our services (or vLLM)
export.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from harcopa.benchmarks import load_problems_file
from tests.helm_chart import (
    CHART,
    NAMESPACE,
    PREFIX,
    SERVERS,
    find,
    one,
    promql,
    render,
    rendered,
)

# ---- monitoring -------------------------------------------------------------------------------


@cache
def known_metrics() -> frozenset[str]:
    """Every metric name our services register (the Prometheus registry after importing them)."""
    from prometheus_client import REGISTRY

    import harcopa.grpc_metrics
    import harcopa_lean_verifier.metrics
    import harcopa_model_server.metrics
    import harcopa_orchestrator.scheduler
    from harcopa.interceptors import MetricsInterceptor
    from harcopa.metrics import gauge

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
