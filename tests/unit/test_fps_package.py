"""The FPS package's public names load on first use; lean-sim's start stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import harcopa.fps as fps


def test_every_public_name_resolves_to_its_module() -> None:
    assert set(fps.__all__) == set(fps._SOURCES)
    for name in fps.__all__:
        value = getattr(fps, name)
        module = sys.modules[f"harcopa.fps.{fps._SOURCES[name]}"]
        assert value is getattr(module, name)
    assert set(fps.__all__) <= set(dir(fps))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'parse_everything'"):
        fps.parse_everything  # noqa: B018
    with pytest.raises(ImportError):
        exec("from harcopa.fps import parse_everything", {})


def test_lean_sim_starts_without_grpc_or_the_domain_model() -> None:
    # Every simulated REPL process imports this at its start; grpc and the domain model cost
    # about 0.2 s of CPU there, which a scenario's configured start delay does not include.
    probe = (
        "import sys, harcopa_lean_verifier.simulator.__main__ as m; "
        "print(sorted(n for n in ('grpc', 'harcopa.domain', 'harcopa.errors', 'harcopa.fps.parse')"
        " if n in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
