"""The local stack (harcopa_cli/local.py) starts its three processes side by side: all ready
together, and a service that fails to start is named, with its log, and takes nothing along
(the others are stopped, no process is left behind)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psutil
import pytest

from harcopa.errors import BackendUnavailable
from harcopa_cli.local import Plan, local_services

pytestmark = pytest.mark.timeout(120)

ENDPOINT = {"target": "http://127.0.0.1:9/v1", "model": "scripted"}  # never called here


def _service_children() -> list[str]:
    names = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            line = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "harcopa_" in line and " -m " in line:
            names.append(line)
    return names


async def test_the_three_services_start_together_and_stop(tmp_path: Path) -> None:
    plan = Plan(
        verifier_env={"HARCOPA_VERIFIER_POOL_SIZE": "3", "HARCOPA_VERIFIER_BACKEND__KIND": "sim"}
    )
    async with local_services(plan, tmp_path, tmp_path, ENDPOINT) as stack:
        assert stack.model is None and stack.verifier != stack.orchestrator
        running = _service_children()
        assert sum("harcopa_lean_verifier" in c for c in running) == 1
        assert sum("harcopa_orchestrator" in c for c in running) == 1
    await asyncio.sleep(0.2)
    assert _service_children() == []


async def test_a_service_that_cannot_start_is_named_and_the_others_stop(tmp_path: Path) -> None:
    plan = Plan(verifier_env={"HARCOPA_VERIFIER_POOL_SIZE": "0"})  # refused by its settings
    with pytest.raises(BackendUnavailable, match=r"harcopa_lean_verifier exited with code \d+"):
        async with local_services(plan, tmp_path, tmp_path, ENDPOINT):
            pytest.fail("the stack must not come up")
    assert (tmp_path / "logs" / "verifier.log").is_file()
    await asyncio.sleep(0.2)
    assert _service_children() == []
