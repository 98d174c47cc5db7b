"""``harcopa cycle --kubernetes`` against an orchestrator whose cluster is a small HTTPS fake of the
Kubernetes API (tests/kubernetes_fake.py): the orchestrator runs as a real process with the
chart's settings and its in-cluster service account, the runs go to it, the training stage is a
Job it creates, and a kubelet played by the test runs that Job's container command on this
machine (the store and workspace volumes are this machine's folders). The cycle sees a 403 (one
line, exit 1), then a failed Job (its reason and log lines, exit 1), and finishes when re-run:
the Job exports and trains, the orchestrator rolls the model server, the lineage is recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("trl", reason="the Job trains with the trainer extra (trl)")
pytest.importorskip("kubernetes", reason="the orchestrator extra's kubernetes client is needed")

from harcopa_cli.backends import plan_backends
from harcopa_cli.local import local_services
from tests.cycle_setup import write_cycle
from tests.kubernetes_fake import DEPLOYMENT, NAMESPACE, FakeKubernetes, pod

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
JOBS = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"


class Kubelet:
    """Runs each created Job's container command here, as its pod would, and reports the pod's
    phase, log and the Job's conditions to the fake cluster. ``fail_next`` fails one pod."""

    def __init__(self, fake: FakeKubernetes, store_folder: Path) -> None:
        self.fake, self.store_folder = fake, store_folder
        self.fail_next = False
        self.threads: list[threading.Thread] = []
        fake.cluster.on_create = self.created

    def created(self, job: dict[str, Any]) -> None:
        thread = threading.Thread(target=self.run, args=(job,), daemon=True)
        self.threads.append(thread)
        thread.start()

    def run(self, job: dict[str, Any]) -> None:
        cluster, name = self.fake.cluster, job["metadata"]["name"]
        pod_name = f"{name}-{len(self.threads)}"
        cluster.pods = [pod(pod_name, "Running", job["metadata"]["uid"])]
        cluster.jobs[name]["status"] = {"active": 1}
        (container,) = job["spec"]["template"]["spec"]["containers"]
        if self.fail_next:
            self.fail_next = False
            cluster.logs[pod_name] = "harcopa train: error: CUDA out of memory\n"
            return self.finish(name, "Failed", "BackoffLimitExceeded", "Failed")
        args = [a.replace("/data", str(self.store_folder)) for a in container["args"]]
        done = subprocess.run(
            [sys.executable, *container["command"][1:], *args],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        cluster.logs[pod_name] = done.stdout
        ok = done.returncode == 0
        self.finish(name, "Complete" if ok else "Failed", "" if ok else "BackoffLimitExceeded",
                    "Succeeded" if ok else "Failed")  # fmt: skip
        return None

    def finish(self, name: str, condition: str, reason: str, phase: str) -> None:
        cluster = self.fake.cluster
        cluster.pods[0]["status"]["phase"] = phase
        status = {"type": condition, "status": "True", "reason": reason or None}
        status["message"] = "Job has reached the specified backoff limit" if reason else None
        cluster.jobs[name]["status"] = {"conditions": [status]}


def _cycle_config(folder: Path, target: str) -> Path:
    path = write_cycle(folder)
    config = yaml.safe_load(path.read_text())
    config["orchestrator"] = {
        "target": target,
        "workspace": str(folder / "workspace"),
        "poll_seconds": 0.2,
    }
    config["base_model"] = str(folder / "base")  # as the Job's pod sees it
    config["runs"][0]["benchmark"] = str(folder / "corpus.jsonl")  # as the orchestrator does
    del config["generator"]  # the orchestrator's model is what the runs use
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def _cycle(folder: Path, config: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "harcopa_cli", "cycle", "--config", str(config)]
    return await asyncio.to_thread(
        subprocess.run,
        [*command, "--kubernetes"],
        cwd=folder,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


async def test_a_cycle_trains_on_the_cluster_and_survives_its_failures(tmp_path: Path) -> None:
    services = tmp_path / "orchestrator"
    with FakeKubernetes(tmp_path / "k8s") as fake:
        fake.cluster.instant_rollout = True
        kubelet = Kubelet(fake, services)
        settings = {
            **fake.environ,
            "HARCOPA_ORCHESTRATOR_KUBERNETES__ENABLED": "true",
            "HARCOPA_ORCHESTRATOR_KUBERNETES__NAMESPACE": NAMESPACE,
            "HARCOPA_ORCHESTRATOR_KUBERNETES__TRAINER_IMAGE": "harcopa-trainer:0.1.0",
            "HARCOPA_ORCHESTRATOR_KUBERNETES__MODEL_SERVER_DEPLOYMENT": DEPLOYMENT,
            "HARCOPA_ORCHESTRATOR_KUBERNETES__STORE_CLAIM": "harcopa-orchestrator",
            "HARCOPA_ORCHESTRATOR_KUBERNETES__WORKSPACE_CLAIM": "harcopa-workspace",
            "HARCOPA_ORCHESTRATOR_KUBERNETES__SERVICE_ACCOUNT_DIR": str(fake.account),
        }
        write_cycle(tmp_path)
        plan = plan_backends(_stack_args(tmp_path))
        endpoint = {"target": "", "model": ""}
        root = tmp_path / "benchmarks"
        async with local_services(plan, services, root, endpoint, settings) as stack:
            config = _cycle_config(tmp_path, stack.orchestrator)
            fake.cluster.errors[("POST", JOBS)] = (
                403,
                "jobs.batch is forbidden: User cannot create",
            )
            refused = await _cycle(tmp_path, config)
            assert refused.returncode == 1, refused.stderr[-3000:]
            assert refused.stderr.splitlines()[-1].startswith(
                "harcopa cycle: error: Kubernetes API refused to create job harcopa-train-demo-1-"
            )
            assert "403 Forbidden: jobs.batch is forbidden" in refused.stderr.splitlines()[-1]

            del fake.cluster.errors[("POST", JOBS)]
            kubelet.fail_next = True
            failed = await _cycle(tmp_path, config)
            assert failed.returncode == 1, failed.stderr[-3000:]
            lines = failed.stderr.splitlines()
            assert "  harcopa train: error: CUDA out of memory" in lines  # the pod's last lines
            assert lines[-1].endswith(
                "failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
            )

            done = await _cycle(tmp_path, config)
        assert done.returncode == 0, done.stderr[-4000:]
        for thread in kubelet.threads:
            thread.join(timeout=60)
    (record,) = json.loads(done.stdout)
    workspace = tmp_path / "workspace" / "demo-1"
    assert record["stage"] == "done" and record["training_job"].startswith("harcopa-train-demo-1-")
    assert len(record["run_ids"]) == 1 and record["export_runs"] == record["run_ids"]
    assert record["sft_path"] == str(workspace / "sft.jsonl") and record["sft_records"] == 6
    assert record["checkpoint"] == str((workspace / "model").resolve())
    assert record["train_metrics"]["steps"] == 3 and record["parent_checkpoint"] == str(
        tmp_path / "base"
    )
    seen = fake.cluster.seen()
    assert seen.count(("POST", JOBS)) == 3  # refused, failed, then the one that trained
    assert ("DELETE", f"{JOBS}/{record['training_job']}?propagationPolicy=Background") in seen
    patches = [r for r in fake.cluster.requests if r.method == "PATCH"]
    assert len(patches) == 1
    annotations = patches[0].body["spec"]["template"]["metadata"]["annotations"]
    assert annotations["harcopa.io/checkpoint"] == record["checkpoint"]


def _stack_args(folder: Path) -> Any:
    import argparse

    return argparse.Namespace(
        pool_size=3,
        concurrency=None,
        verifier_backend="sim",
        lean_scenario=folder / "lean.json",
        model_endpoint="",
        model_backend="sim",
        model="smollm2",
        model_scenario=folder / "model.json",
        template="",
        mode="strict",
    )
