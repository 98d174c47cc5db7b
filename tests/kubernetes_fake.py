"""A small Kubernetes API server for tests: HTTPS on 127.0.0.1 (a certificate made by openssl),
a service-account folder for the in-cluster configuration, and the calls the training-job
backend makes (create/read/delete Job, list pods, read a log, read/patch a Deployment).

Used by tests/service/test_training_jobs.py and the cycle's ``--kubernetes`` test. It records
every request (method, path with query, JSON body, content type, authorization) and answers from
state a test sets: the Job's status, its pods and log, the Deployment, or a forced error status
for a given (method, path prefix).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NAMESPACE = "harcopa-test"
TOKEN = "test-token"
DEPLOYMENT = "harcopa-model-server"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key."""
    cert, key = folder / "ca.crt", folder / "tls.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Request:
    method: str
    path: str
    body: Any
    content_type: str
    authorization: str


@dataclass
class FakeCluster:
    """What the fake API server answers (mutated by tests between calls)."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    deployment: dict[str, Any] = field(default_factory=dict)
    errors: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    #: Called with each created Job (a test's kubelet runs it).
    on_create: Callable[[dict[str, Any]], None] | None = None
    #: Whether a patched Deployment is at once rolled out (every replica on the new template).
    instant_rollout: bool = False

    def seen(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]


def deployment(annotations: dict[str, str] | None = None, *, ready: bool = False) -> dict[str, Any]:
    """The model server's Deployment; ``ready``: every replica runs the current template."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE, "generation": 2},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "model-server"}},
            "template": {
                "metadata": {"labels": {"app": "model-server"}, "annotations": annotations or {}},
                "spec": {"containers": [{"name": "model-server", "image": "harcopa-model"}]},
            },
        },
        "status": {
            "observedGeneration": 2 if ready else 1,
            "replicas": 1,
            "updatedReplicas": 1 if ready else 0,
            "availableReplicas": 1 if ready else 0,
        },
    }


def pod(name: str, phase: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"controller-uid": uid},
            "creationTimestamp": "2025-01-01T00:00:00Z",
        },
        "status": {"phase": phase},
    }


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster

    def log_message(self, *args: object) -> None: ...

    def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, reason: str, message: str) -> None:
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message}
        self._reply(code, {**body, "reason": reason, "code": code})

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        c = self.cluster
        c.requests.append(
            Request(
                self.command,
                self.path,
                json.loads(raw) if raw else None,
                self.headers.get("Content-Type") or "",
                self.headers.get("Authorization") or "",
            )
        )
        for (method, prefix), (code, message) in c.errors.items():
            if self.command == method and self.path.startswith(prefix):
                return self._status(code, "Forced", message)
        self._route(self.path.split("?")[0], c, json.loads(raw) if raw else None)

    def _route(self, path: str, c: FakeCluster, body: Any) -> None:
        jobs = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"
        if self.command == "POST" and path == jobs:
            name = body["metadata"]["name"]
            c.jobs[name] = {**body, "metadata": {**body["metadata"], "uid": f"uid-{name}"}}
            self._reply(201, c.jobs[name])
            if c.on_create is not None:
                c.on_create(c.jobs[name])
            return None
        if path.startswith(jobs + "/"):
            name = path[len(jobs) + 1 :].removesuffix("/status")
            if name not in c.jobs:
                return self._status(404, "NotFound", f'jobs.batch "{name}" not found')
            if self.command == "DELETE":
                del c.jobs[name]
                return self._reply(200, {"kind": "Status", "status": "Success"})
            return self._reply(200, c.jobs[name])
        if path == f"/api/v1/namespaces/{NAMESPACE}/pods":
            return self._reply(200, {"apiVersion": "v1", "kind": "PodList", "items": c.pods})
        if path.startswith(f"/api/v1/namespaces/{NAMESPACE}/pods/") and path.endswith("/log"):
            name = path.split("/")[-2]
            return self._reply(200, c.logs.get(name, ""), "text/plain")
        if path == f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}":
            if self.command == "PATCH" and c.instant_rollout:
                annotations = body["spec"]["template"]["metadata"]["annotations"]
                c.deployment = deployment(annotations, ready=True)
            return self._reply(200, c.deployment)
        return self._status(404, "NotFound", f"no route {self.command} {path}")

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


class FakeKubernetes:
    """The fake API server on 127.0.0.1 over TLS, with a service-account folder for it."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.account = folder / "serviceaccount"
        self.account.mkdir(exist_ok=True)
        cert, key = make_certificate(self.account)
        (self.account / "token").write_text(TOKEN)
        (self.account / "namespace").write_text(NAMESPACE)
        self.cluster = FakeCluster(deployment=deployment())
        handler = type("Handler", (_Handler,), {"cluster": self.cluster})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def environ(self) -> dict[str, str]:
        """What a pod's environment says about the API server."""
        port = self.server.server_address[1]
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)}

    def __enter__(self) -> FakeKubernetes:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
