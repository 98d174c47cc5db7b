"""The scheduling benchmark's measured mode runs HAR through the real services (lean-sim and the
model simulator) and prints figures that parse: wall times, the bound, imports, the speed-up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.scheduling_services import conclusion
from benchmarks.search_scheduling import main

BENCHMARK_ROOT = Path(__file__).resolve().parents[3] / "shared" / "benchmark"


def _figures(out: str) -> dict[str, float]:
    ours = re.search(r"ours:\s+wall\s+([\d.]+) s\s+solved (\d+)", out)
    bound = re.search(r"lower bound: wall\s+([\d.]+) s", out)
    ref = re.search(r"reference:\s+wall\s+([\d.]+) s\s+solved (\d+)\s+\(imports (\d+)", out)
    ratios = re.search(r"speed-up ([\d.]+)x; ours / bound ([\d.]+)", out)
    assert ours and bound and ref and ratios, out
    return {
        "ours": float(ours.group(1)),
        "ours_solved": int(ours.group(2)),
        "bound": float(bound.group(1)),
        "ref": float(ref.group(1)),
        "ref_solved": int(ref.group(2)),
        "imports": int(ref.group(3)),
        "speedup": float(ratios.group(1)),
    }


def _run(
    capsys: pytest.CaptureFixture[str], root: Path, problems: int
) -> tuple[str, dict[str, float]]:
    main(
        [
            "--backend",
            "services",
            "--benchmark-root",
            str(root),
            "--problems",
            str(problems),
            "--ks",
            "6",
            "--time-scale",
            "0.005",
        ]
    )
    out = capsys.readouterr().out
    return out, _figures(out)


def _check(figures: dict[str, float], problems: int) -> None:
    assert figures["ours_solved"] == figures["ref_solved"] == problems  # same scripted decisions
    assert figures["imports"] == 3 * problems  # two per attempt, one per RPE check
    for name in ("ours", "bound", "ref", "speedup"):
        assert 0 < figures[name] < 60, (name, figures)
    assert figures["bound"] <= figures["ours"]


def test_services_mode_on_hand_written_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out, figures = _run(capsys, tmp_path, 2)
    assert "measured in real time at time scale 0.005: 2 problems (hand-written sums)" in out
    assert "lean-sim" in out and "model simulator" in out
    _check(figures, 2)


@pytest.mark.skipif(
    not (BENCHMARK_ROOT / "formal_math500.json").exists(),
    reason="FormalMath500 not found under ../shared/benchmark",
)
def test_services_mode_on_formal_math500(capsys: pytest.CaptureFixture[str]) -> None:
    out, figures = _run(capsys, BENCHMARK_ROOT, 3)
    assert "3 problems (formal_math500)" in out
    _check(figures, 3)


def test_conclusion_of_a_statement() -> None:
    statement = (
        "example\n(answer : ℕ)\n  (h : answer = 3 + 4) -- hint: 7\n: -- 7\nanswer = 7\n:= sorry"
    )
    assert conclusion(statement) == "answer = 7"
    assert conclusion("example (answer : ℕ) : answer = 2 * 3 := sorry") == "answer = 2 * 3"
    assert conclusion("theorem t : 1 = 1 := by rfl") is None


def test_virtual_mode_prints_the_unpinned_what_if(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main(["--benchmark-root", str(tmp_path), "--problems", "6", "--verifier-processes", "2"])
    out = capsys.readouterr().out
    figures = _figures(out)
    free = re.search(r"unpinned what-if: (\d+) s \(ours / bound ([\d.]+)\)", out)
    assert free, out
    assert figures["ours_solved"] == 6
    # The same Lean work on the same processes: no schedule, pinned or not, beats the bound.
    assert float(free.group(1)) >= figures["bound"] - 1


def test_compare_ranks_runs_every_rule_on_every_workload(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import search_scheduling

    monkeypatch.setattr(search_scheduling, "RANK_WORKLOADS", ((6, 2),))
    main(["--compare-ranks", "--benchmark-root", str(BENCHMARK_ROOT)])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\s+6\s+2\s+[234]\s", line)]
    assert len(rows) == 3  # 2, 3 and 4 sessions per process
    for row in rows:
        ratios = [float(r) for r in re.findall(r"\(([\d.]+)\)", row)]
        assert len(ratios) == len(search_scheduling.RANK_RULES) and min(ratios) >= 1.0
    assert "mean wall / bound" in out and "(the verifier's)" in out
    with pytest.raises(SystemExit):  # virtual time only
        main(["--compare-ranks", "--backend", "services"])
    # The rules rank as named: the old one puts each new session last, problem age repeats
    # a problem's first place, the verifier's counts the problem's attempts first.
    newest, age = search_scheduling._NewestLast(), search_scheduling._ProblemAge()
    assert [newest.rank("c", p) for p in ("a", "b", "a")] == [(0, 0), (0, 1), (0, 2)]
    assert [age.rank("c", p) for p in ("a", "b", "a")] == [(0, 0), (0, 1), (0, 0)]
    verifier = search_scheduling.RANK_RULES["most search ahead (the verifier's)"]()
    assert [verifier.rank("c", p) for p in ("a", "b", "a")] == [(0, 0), (0, 1), (1, 0)]
