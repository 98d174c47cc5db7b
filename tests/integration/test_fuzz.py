"""The fuzz suite: hypothesis-generated messages for every RPC of the three services, sent to the
real servers (real processes on loopback), plus bytes that are no message at all.

Every answer must be OK or a deliberate status (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED,
FAILED_PRECONDITION, UNAVAILABLE, DEADLINE_EXCEEDED): never UNKNOWN or INTERNAL, and every
service must still answer its health check afterwards. The counts of codes seen are written to
``fuzz-codes.json`` in the test's folder and printed.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor as pd
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harcopa.v1 import model_pb2, orchestrator_pb2, verifier_pb2
from harcopa_cli.local import free_port
from tests.conftest import REPO_ROOT

EXAMPLES = int(os.environ.get("HARCOPA_FUZZ_EXAMPLES", "12"))
FORBIDDEN = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
CODES: collections.Counter[str] = collections.Counter()

SERVICES = {
    "verifier": (verifier_pb2, "VerifierService"),
    "model": (model_pb2, "ModelService"),
    "orchestrator": (orchestrator_pb2, "OrchestratorService"),
}
STATEMENT = "example (answer : ℕ) (h_answer : answer = 2 + 2) : answer = 4 := sorry"
INTERESTING_TEXT = [
    "",
    " ",
    "minif2f_solving",
    "formal_math500",
    "../../../etc/passwd",
    "\x00",
    "☃" * 3,
    STATEMENT,
    "exact (sorry : answer = 4) -- submit",
    "x" * 70_000,
]
INT_RANGES = {
    pd.FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    pd.FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    pd.FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    pd.FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}


def _scalar(field: pd.FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == pd.FieldDescriptor.TYPE_STRING:
        return st.text(max_size=40) | st.sampled_from(INTERESTING_TEXT)
    if kind == pd.FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == pd.FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (pd.FieldDescriptor.TYPE_DOUBLE, pd.FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    if kind == pd.FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return st.sampled_from(known) | st.integers(-5, 99)  # open enums: unknown values too
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return st.integers(-3, 100) | st.integers(low, high)
    if kind == pd.FieldDescriptor.TYPE_MESSAGE:
        return message(field.message_type, depth + 1)
    return st.none()


def _value(field: pd.FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.is_repeated:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            return st.just([])
        size = 3 if depth < 2 else 1
        return st.lists(_scalar(field, depth), max_size=size) | st.just(
            [] if field.type == pd.FieldDescriptor.TYPE_MESSAGE else ["1"] * 0
        )
    return _scalar(field, depth)


def message(descriptor: pd.Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """Messages of ``descriptor``: any subset of fields set to arbitrary, extreme values."""
    cls = message_factory.GetMessageClass(descriptor)
    if depth > 3:
        return st.just(cls())
    optional = {f.name: _value(f, depth) for f in descriptor.fields}

    def build(values: dict[str, Any]) -> Any:
        msg = cls()
        for name, value in values.items():
            field = descriptor.fields_by_name[name]
            try:
                if field.is_repeated:
                    target = getattr(msg, name)
                    for item in value:
                        if field.type == pd.FieldDescriptor.TYPE_MESSAGE:
                            target.add().CopyFrom(item)
                        else:
                            target.append(item)
                elif field.type == pd.FieldDescriptor.TYPE_MESSAGE:
                    getattr(msg, name).CopyFrom(value)
                else:
                    setattr(msg, name, value)
            except (ValueError, TypeError):  # a value the field cannot hold: leave it unset
                continue
        return msg

    return st.fixed_dictionaries({}, optional=optional).map(build)


def _start(name: str, env: dict[str, str], root: Path) -> subprocess.Popen[bytes]:
    module = {"verifier": "harcopa_lean_verifier", "model": "harcopa_model_server"}.get(
        name, "harcopa_orchestrator"
    )
    log = open(root / f"{name}.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", module],
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
        cwd=REPO_ROOT,
        start_new_session=True,
    )


def _serving(target: str, service: str, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("fuzz")
    ports = {name: free_port() for name in SERVICES}
    models = root / "models.json"
    models.write_text(json.dumps({"models": {"solver": {"target": f"127.0.0.1:{ports['model']}"}}}))
    envs = {
        "verifier": {
            "HARCOPA_VERIFIER_BACKEND__KIND": "sim",
            "HARCOPA_VERIFIER_POOL_SIZE": "3",
            "HARCOPA_VERIFIER_ACQUIRE_TIMEOUT_SECONDS": "2",
        },
        "model": {"HARCOPA_MODEL_BACKEND__KIND": "sim"},
        "orchestrator": {
            "HARCOPA_ORCHESTRATOR_STORE_PATH": str(root / "runs.sqlite"),
            "HARCOPA_ORCHESTRATOR_VERIFIER_TARGET": f"127.0.0.1:{ports['verifier']}",
            "HARCOPA_ORCHESTRATOR_MODELS_FILE": str(models),
            "HARCOPA_ORCHESTRATOR_BENCHMARK_ROOT": str(root),
        },
    }
    procs = []
    for name, env in envs.items():
        prefix = {"verifier": "VERIFIER", "model": "MODEL", "orchestrator": "ORCHESTRATOR"}[name]
        env |= {
            f"HARCOPA_{prefix}_PORT": str(ports[name]),
            f"HARCOPA_{prefix}_METRICS_ENABLED": "false",
        }
        procs.append(_start(name, env, root))
    found = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    try:
        for name, target in found.items():
            assert _serving(target, f"harcopa.v1.{SERVICES[name][1]}"), (
                root / f"{name}.log"
            ).read_text()
        yield found
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        (root / "fuzz-codes.json").write_text(json.dumps(dict(CODES), indent=1))
        print("fuzz status codes:", dict(CODES))


def _methods() -> list[tuple[str, str, pd.MethodDescriptor]]:
    found = []
    for name, (module, service) in SERVICES.items():
        descriptor = module.DESCRIPTOR.services_by_name[service]
        found += [(name, service, method) for method in descriptor.methods]
    return found


def _call(target: str, service: str, method: pd.MethodDescriptor, payload: bytes) -> None:
    path = f"/harcopa.v1.{service}/{method.name}"
    with grpc.insecure_channel(target) as channel:
        if method.server_streaming:
            call = channel.unary_stream(path)(payload, timeout=10)
            try:
                for _ in zip(range(3), call, strict=False):
                    pass
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                code = error.code()
            finally:
                call.cancel()
        else:
            try:
                channel.unary_unary(path)(payload, timeout=20)
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                code = error.code()
    CODES[code.name] += 1
    assert code not in FORBIDDEN, f"{path} answered {code.name}"


@pytest.mark.parametrize(
    ("name", "service", "method"), _methods(), ids=lambda x: getattr(x, "name", x)
)
def test_generated_messages_never_break_a_server(
    targets: dict[str, str], name: str, service: str, method: pd.MethodDescriptor
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=message(method.input_type))
    def run(request: Any) -> None:
        _call(targets[name], service, method, request.SerializeToString())

    run()


@pytest.mark.parametrize("name", list(SERVICES))
def test_bytes_that_are_no_message_are_invalid_argument(targets: dict[str, str], name: str) -> None:
    service = SERVICES[name][1]
    methods = [m for n, s, m in _methods() if n == name]

    @settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True)
    @given(payload=st.binary(min_size=1, max_size=256), pick=st.integers(0, len(methods) - 1))
    def run(payload: bytes, pick: int) -> None:
        _call(targets[name], service, methods[pick], payload)

    run()
    garbage = b"\xff" * 64  # never a valid message: decoding fails
    path = f"/harcopa.v1.{service}/{methods[0].name}"
    with grpc.insecure_channel(targets[name]) as channel:
        with pytest.raises(grpc.RpcError) as failed:
            channel.unary_unary(path)(garbage, timeout=10)
    assert failed.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_every_service_is_still_serving(targets: dict[str, str]) -> None:
    for name, target in targets.items():
        assert _serving(target, f"harcopa.v1.{SERVICES[name][1]}", seconds=10), name
    assert sum(CODES.values()) > 0 and not FORBIDDEN & {grpc.StatusCode[c] for c in CODES}
