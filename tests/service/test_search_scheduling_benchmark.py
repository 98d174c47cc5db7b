"""The scheduling benchmark's measured mode runs HAR through the real services and prints
figures that parse (wall times, bound, speed-up)."""

from __future__ import annotations

import re

import pytest

from benchmarks.search_scheduling import main


def test_services_mode_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--backend", "services", "--problems", "3", "--ks", "6", "--time-scale", "0.005"])
    out = capsys.readouterr().out
    assert "lean-sim and the model simulator" in out
    ours = re.search(r"ours:\s+wall\s+([\d.]+) s\s+solved (\d+)", out)
    bound = re.search(r"lower bound: wall\s+([\d.]+) s", out)
    ref = re.search(r"reference:\s+wall\s+([\d.]+) s\s+solved (\d+)\s+\(imports (\d+)", out)
    assert ours and bound and ref, out
    assert int(ours.group(2)) == int(ref.group(2)) == 3  # same decisions, all solved
    assert int(ref.group(3)) >= 3 * 3  # two imports per attempt and one per RPE check
    assert 0 < float(bound.group(1)) <= float(ours.group(1))
    assert float(ref.group(1)) > 0
