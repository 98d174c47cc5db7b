"""The chart's verifier sandbox, per-client session cap and the model server's HTTP front become
settings the services read."""

from __future__ import annotations

import os
from typing import Any

import pytest

from harcopa_lean_verifier.settings import VerifierSettings
from tests.helm_chart import PREFIX, container, env, one, render, values_of


def _verifier_env(values: dict[str, Any]) -> dict[str, Any]:
    return env(container(render(values), "Deployment", f"{PREFIX}-verifier"))


def _settings(rendered: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> VerifierSettings:
    for name in [n for n in os.environ if n.startswith("HARCOPA_VERIFIER_")]:
        monkeypatch.delenv(name)
    for name, value in rendered.items():
        if name.startswith("HARCOPA_VERIFIER_") and isinstance(value, str):
            monkeypatch.setenv(name, value)
    return VerifierSettings()


def test_defaults_render_the_sandbox_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = _verifier_env(values_of("default-values.yaml"))
    assert "HARCOPA_VERIFIER_MAX_SESSIONS_PER_CLIENT" not in rendered
    settings = _settings(rendered, monkeypatch)
    assert settings.max_cpu_seconds == 7200 and settings.max_file_bytes == 64 << 20
    assert settings.max_open_files == 65536 and settings.network_isolation == "auto"
    assert str(settings.temp_root) == "/tmp"  # the writable scratch volume
    assert settings.max_sessions_per_client is None


def test_sandbox_values_reach_the_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    values = values_of("default-values.yaml")
    values["verifier"] = {
        **values.get("verifier", {}),
        "sandbox": {
            "maxCpuSeconds": 600,
            "maxFileMiB": 8,
            "maxOpenFiles": 1024,
            "networkIsolation": "require",
        },
        "maxSessionsPerClient": 6,
    }
    settings = _settings(_verifier_env(values), monkeypatch)
    assert (settings.max_cpu_seconds, settings.max_file_bytes) == (600, 8 << 20)
    assert settings.max_open_files == 1024 and settings.network_isolation == "require"
    assert settings.max_sessions_per_client == 6


def test_parallel_starts_follow_the_pods_cpus_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    values = values_of("default-values.yaml")
    settings = _settings(_verifier_env(values), monkeypatch)
    assert settings.parallel_starts == 8  # poolSize 8 x 1000 millicores: the pod's 8 CPUs
    values["verifier"] = {
        **values.get("verifier", {}),
        "poolSize": 3,
        "sizing": {"replCpuMillis": 500},  # merged with the chart's other sizing values
    }
    assert _settings(_verifier_env(values), monkeypatch).parallel_starts == 2  # 1.5 CPUs, up
    values["verifier"]["parallelStarts"] = 5
    assert _settings(_verifier_env(values), monkeypatch).parallel_starts == 5


def test_sessions_per_process_reach_the_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    values = values_of("default-values.yaml")
    assert _settings(_verifier_env(values), monkeypatch).sessions_per_process == 3
    values["verifier"] = {**values.get("verifier", {}), "sessionsPerProcess": 1}
    assert _settings(_verifier_env(values), monkeypatch).sessions_per_process == 1


def test_the_model_servers_http_front_is_opt_in() -> None:
    values = values_of("default-values.yaml")
    off = render(values)
    name = f"{PREFIX}-model-server"
    assert "HARCOPA_MODEL_HTTP_PORT" not in env(container(off, "Deployment", name))
    values["modelServer"] = {**values.get("modelServer", {}), "service": {"httpPort": 8080}}
    on = render(values)
    model = container(on, "Deployment", name)
    assert env(model)["HARCOPA_MODEL_HTTP_PORT"] == "8080"
    assert {"name": "http", "containerPort": 8080, "protocol": "TCP"} in model["ports"]
    service = one(on, "Service", name)
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]}["http"] == 8080
