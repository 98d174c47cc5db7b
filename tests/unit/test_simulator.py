"""Tests of lean-sim, the Pantograph v0.2.25 simulator, driven as a real subprocess.

stdout goes through a raw-mode pseudo-terminal and stdin through a pipe, as the Pantograph
client does; covers framing, buffering, conformance (official-impl §3.7), the FPS solving
flow (§2.2), faults and scenarios. One module because every test drives the same subprocess
harness; over 400 lines for the breadth of the protocol it pins.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
import tty
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, require_benchmarks

MODULE = "harcopa_lean_verifier.simulator"
FRONTEND_FLAGS = {"invocations": False, "typeErrorsAsGoals": False, "newConstants": False}


class Sim:
    """One lean-sim process: stdin a pipe, stdout a raw pty, stderr a pipe."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, *args],
            stdin=subprocess.PIPE,
            stdout=slave,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
        )
        os.close(slave)
        self.master = master
        self.buffer = b""

    def readline(self, timeout: float = 10.0) -> str | None:
        """One stdout line, or None on EOF; raises TimeoutError when nothing arrives."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no line from lean-sim")
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO on Linux once the child has exited
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8")

    def write(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode("utf-8") + b"\n")
        self.proc.stdin.flush()

    def send(self, command: str, payload: dict[str, Any], timeout: float = 10.0) -> Any:
        self.write(f"{command} {json.dumps(payload, ensure_ascii=False)}")
        line = self.readline(timeout)
        assert line is not None, "lean-sim closed stdout"
        return json.loads(line)

    def close(self) -> int:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        return code

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode("utf-8", "replace")


@pytest.fixture
def sim() -> Any:
    s = Sim("Mathlib", "Aesop", "--maxHeartbeats=0")
    assert s.readline() == "ready."
    yield s
    s.close()


def frontend(sim: Sim, text: str, sorrys: bool = True) -> Any:
    return sim.send("frontend.process", {"file": text, "sorrys": sorrys, **FRONTEND_FLAGS})


def names(reply: Any) -> list[str | None]:
    return [g.get("userName") for g in reply["goals"]]


def render(goal: dict[str, Any]) -> str:
    hyps = [f"{v['userName']} : {v['type']['pp']}" for v in goal["vars"]]
    return "\n".join([*hyps, "⊢ " + goal["target"]["pp"]])


# --- process, framing, buffering ----------------------------------------------------------


def test_version_and_help() -> None:
    run = [sys.executable, "-m", MODULE]
    out = subprocess.run([*run, "--version"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert (out.returncode, out.stdout) == (0, "0.2.25\n")
    help_text = subprocess.run([*run, "--help"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert "simulator" in help_text.stdout.lower()


def test_ready_then_empty_line_exits(sim: Sim) -> None:
    assert sim.send("stat", {})["nGoals"] == 0
    assert "simulator" in sim.send("stat", {})["simulator"]
    sim.write("")
    assert sim.readline() is None
    assert sim.close() == 0


def test_plain_pipe_stdout_is_block_buffered() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"stat {}\n")
    proc.stdin.flush()
    ready, _, _ = select.select([proc.stdout], [], [], 0.5)
    assert not ready, "a reply arrived over a plain pipe: stdout must not be flushed"
    out, _ = proc.communicate(b"", timeout=10)  # EOF ends the process, which flushes
    lines = out.decode().splitlines()
    assert lines[0] == "ready." and json.loads(lines[1])["nGoals"] == 0


def test_command_errors(sim: Sim) -> None:
    sim.write("goal.start {not json")
    assert json.loads(sim.readline() or "")["error"] == "command"
    assert sim.send("frobnicate", {}) == {"error": "command", "desc": "Unknown command frobnicate"}
    sim.write("stat")
    assert json.loads(sim.readline() or "")["error"] == "command"
    missing = sim.send("goal.tactic", {"goalId": 0, "tactic": "simp"})
    assert missing["error"] == "command"
    assert missing["desc"].startswith(
        "Unable to parse json: Pantograph.Protocol.GoalTactic.stateId"
    )
    assert sim.send("goal.tactic", {"stateId": 7, "goalId": 0, "tactic": "simp"}) == {
        "error": "index",
        "desc": "Invalid state index 7",
    }
    sim.send("goal.start", {"expr": "1 = 1"})
    bad_goal = sim.send("goal.tactic", {"stateId": 0, "goalId": 3, "tactic": "rfl"})
    assert bad_goal == {"error": "index", "desc": "Invalid goal index 3"}
    both = sim.send("goal.tactic", {"stateId": 0, "goalId": 0, "tactic": "rfl", "expr": "rfl"})
    assert both["error"] == "arguments"
    sim.write(json.dumps({"cmd": "goal.delete", "payload": {"stateIds": [0], "extra": 1}}))
    assert json.loads(sim.readline() or "") == {}
    assert sim.send("reset", {}) == {"nGoals": 0}


def test_state_ids_reset_and_delete(sim: Sim) -> None:
    assert sim.send("goal.start", {"expr": "1 = 1"})["stateId"] == 0
    assert sim.send("goal.start", {"expr": "2 = 2"})["stateId"] == 1
    assert sim.send("goal.delete", {"stateIds": [0, 42]}) == {}
    assert sim.send("stat", {})["nGoals"] == 1
    assert sim.send("reset", {}) == {"nGoals": 1}
    assert sim.send("goal.start", {"expr": "3 = 3"})["stateId"] == 0


def test_options_roundtrip(sim: Sim) -> None:
    assert sim.send("options.set", {"printDependentMVars": True, "automaticMode": False}) == {}
    options = sim.send("options.print", {})
    assert options["printDependentMVars"] is True and options["automaticMode"] is False


# --- conformance (official-impl §3.7) ---------------------------------------------------


def test_conformance_echo_start_intro(sim: Sim) -> None:
    assert sim.send("expr.echo", {"expr": "2 + 2 = 4"})["type"] == {"pp": "Prop"}
    start = sim.send("goal.start", {"expr": "∀ (p q: Prop), p ∨ q → q ∨ p"})
    assert start["stateId"] == 0 and start["root"].startswith("_uniq.")
    step = sim.send("goal.tactic", {"stateId": 0, "goalId": 0, "tactic": "intro a"})
    assert step["nextStateId"] == 1
    assert render(step["goals"][0]) == "a : Prop\n⊢ ∀ (q : Prop), a ∨ q → q ∨ a"
    failed = sim.send("goal.tactic", {"stateId": 1, "goalId": 0, "tactic": "assumption"})
    assert failed["tacticErrors"][0].startswith("tactic 'assumption' failed")
    parse = sim.send("goal.tactic", {"stateId": 1, "goalId": 0, "tactic": "exact (a"})
    assert "parseError" in parse


def test_conformance_load_sorry_and_draft(sim: Sim) -> None:
    unit = frontend(sim, "example (p: Prop): p → p := sorry")["units"][0]
    assert [render(g) for g in unit["goals"]] == ["p : Prop\n⊢ p → p"]
    assert unit["messages"] == ["<anonymous>:1:0: warning: declaration uses 'sorry'\n"]
    draft = "by\nhave h1 : Or p p := sorry\nsorry"
    out = sim.send("goal.tactic", {"stateId": unit["goalStateId"], "goalId": 0, "draft": draft})
    assert [render(g) for g in out["goals"]] == [
        "p : Prop\n⊢ p ∨ p",
        "p : Prop\nh1 : p ∨ p\n⊢ p → p",
    ]


def test_frontend_byte_offsets_axioms_and_errors(sim: Sim) -> None:
    text = "theorem t (a b : ℕ) : a + b = b + a := by sorry"
    unit = frontend(sim, text)["units"][0]
    assert unit["boundary"] == [0, 49] and unit["goalSrcBoundaries"] == [[44, 49]]
    assert unit["messages"] == ["<anonymous>:1:8: warning: declaration uses 'sorry'\n"]
    good = (
        "theorem foo (x : ℝ) (h₀ : x = 2) : x + 1 = 3 := by\n  -- note\n"
        "  have h1 : x * 2 = 4 := by\n    norm_num [h₀]\n  linarith\n#print axioms foo"
    )
    units = frontend(sim, good, sorrys=False)["units"]
    assert units[0]["messages"] == []
    assert units[1]["messages"] == [
        "'foo' depends on axioms: [propext, Classical.choice, Quot.sound]\n"
    ]
    bad = "theorem bar (x : ℝ) (h : x = 2) : x + 1 = 4 := by\n  linarith\n#print axioms bar"
    messages = frontend(sim, bad, sorrys=False)["units"][0]["messages"]
    assert messages[0].startswith("<anonymous>:2:2: error: linarith failed to find a contradiction")
    cheat = (
        "theorem c : 1 = 2 := sorry\n#print axioms c\n"
        "theorem n : 2 + 2 = 4 := by native_decide\n#print axioms n"
    )
    units = frontend(sim, cheat, sorrys=False)["units"]
    assert "sorryAx" in units[1]["messages"][0] and "Lean.ofReduceBool" in units[3]["messages"][0]
    broken = frontend(sim, "example (a : ℕ) (h : a = 1 : a = a := sorry")["units"][0]
    assert ": error: " in broken["messages"][0] and "goalStateId" not in broken


def test_binders_instances_and_manual_mode(sim: Sim) -> None:
    text = "example {α : Type} [Fintype α] [DecidableEq α] ⦃n : ℕ⦄ (a b : ℕ) : a = a := sorry"
    goal = frontend(sim, text)["units"][0]["goals"][0]
    assert [v["userName"] for v in goal["vars"]] == ["α", "inst✝¹", "inst✝", "n", "a", "b"]
    assert [v["isInaccessible"] for v in goal["vars"]][1:3] == [True, True]
    sim.send("options.set", {"automaticMode": False})
    state = sim.send("goal.start", {"expr": "(1 = 1) ∧ (2 = 2)"})["stateId"]
    out = sim.send("goal.tactic", {"stateId": state, "goalId": 0, "tactic": "constructor"})
    assert names(out) == ["left", "right"]
    out = sim.send("goal.tactic", {"stateId": out["nextStateId"], "goalId": 1, "tactic": "rfl"})
    assert out["goals"] == []


# --- the FPS flows (official-impl §2.2-§2.6) ---------------------------------------------

OPEN_HEADER = "open BigOperators Real Nat Topology\n"


def _benchmark_record() -> dict[str, Any]:
    """A FormalMath500 record whose statement has exactly ``answer`` and ``h_answer``."""
    records = json.loads((require_benchmarks() / "formal_math500.json").read_text("utf-8"))
    for record in records:
        problem = record["formal_problem"]
        if problem.count("(") >= 2 and "h_answer" in problem and problem.count(" : ") == 2:
            if "sqrt" not in problem and "(answer : ℝ)" in problem:
                return record
    pytest.skip("no suitable benchmark record")


def _conclusion(record: dict[str, Any]) -> str:
    lines = [ln for ln in record["formal_answer"].splitlines() if not ln.strip().startswith("--")]
    return " ".join(lines).strip()


def test_fps_solving_state_submission_and_rpe(sim: Sim) -> None:
    record = _benchmark_record()
    sim.send("options.set", {"printDependentMVars": True})
    statement = f"example\n{record['formal_problem']}\n: {record['formal_answer']}\n:= sorry"
    parsed = frontend(sim, OPEN_HEADER + statement)["units"]
    assert parsed[0]["messages"] == [] and len(parsed) == 2
    goal = parsed[1]["goals"][0]
    assert [v["userName"] for v in goal["vars"]] == ["answer", "h_answer"]
    h_answer = goal["vars"][1]["type"]["pp"]
    solving = (
        "example :\n∀ (answer : ℝ), ∃ (h_submission : Prop), \n"
        f"(({h_answer}) ↔ h_submission)\n:= sorry"
    )
    state = frontend(sim, OPEN_HEADER + solving)["units"][1]["goalStateId"]

    def tactic(state_id: int, goal_id: int, text: str) -> Any:
        out = sim.send("goal.tactic", {"stateId": state_id, "goalId": goal_id, "tactic": text})
        assert "goals" in out, out
        return out

    out = tactic(state, 0, "intros answer")
    out = tactic(out["nextStateId"], 0, "apply Exists.intro")
    assert names(out) == ["h", "w"]
    printed = sim.send("goal.print", {"stateId": out["nextStateId"], "goals": True})
    w_name = next(g["name"] for g in printed["goals"] if g.get("userName") == "w")
    assert printed["goals"][0]["target"]["dependentMVars"] == [w_name]
    out = tactic(out["nextStateId"], 0, "constructor")
    out = tactic(out["nextStateId"], 1, "intros h_submission")
    out = tactic(out["nextStateId"], 1, "intros h_answer")
    assert names(out) == ["h.mp", "h.mpr", "w"]
    assert out["goals"][0]["target"]["pp"] == "?w"
    assert out["goals"][1]["vars"][-1]["type"]["pp"] == "?w"
    solving_state = out["nextStateId"]

    answer = _conclusion(record)
    submission = f"{{\n-- the answer\nhave h_final : {answer} := sorry\nexact h_final -- submit\n}}"
    out = tactic(solving_state, 0, submission)
    assert names(out) == ["h.mpr"]
    assert out["goals"][0]["vars"][-1]["type"]["pp"] == answer  # ?w instantiated
    read = sim.send("goal.print", {"stateId": out["nextStateId"], "extraMVars": [w_name]})
    assert read["extraMVars"] == [{"pp": answer}]
    unassigned = sim.send("goal.print", {"stateId": solving_state, "extraMVars": [w_name]})
    assert unassigned["extraMVars"] == [{}]

    rpe = f"example (answer : ℝ) : (\n{answer}\n) ↔ (\n{answer}\n) := sorry\n"
    rpe_state = frontend(sim, OPEN_HEADER + rpe)["units"][1]["goalStateId"]
    assert tactic(rpe_state, 0, "rfl")["goals"] == []


def test_fps_forward_reasoning_draft_gaps_and_proved_have(sim: Sim) -> None:
    text = "example (answer : ℝ) \n(h_answer : answer = (10 - 2) / (24 - 3*2))\n: False := sorry"
    unit = frontend(sim, OPEN_HEADER + text)["units"][1]
    state = unit["goalStateId"]
    step = "by\n-- compute\nhave h1 : answer = 4 / 9 := by norm_num [h_answer]\nsorry"
    out = sim.send("goal.tactic", {"stateId": state, "goalId": 0, "draft": step})
    assert [g["target"]["pp"] for g in out["goals"]] == ["False"]
    assert out["goals"][0]["vars"][-1]["userName"] == "h1"
    gaps = "by\nhave h2 : answer > 0 := sorry\nhave h3 : answer > 1 := by\n  linarith\nsorry"
    out = sim.send("goal.tactic", {"stateId": state, "goalId": 0, "draft": gaps})
    assert out["tacticErrors"][0].startswith("linarith failed")  # 4 / 9 > 1 is false
    gaps = "by\nhave h2 : answer > 0 := sorry\nhave h3 : answer < 1 := sorry\nsorry"
    out = sim.send("goal.tactic", {"stateId": state, "goalId": 0, "draft": gaps})
    assert [g["target"]["pp"] for g in out["goals"]] == ["answer > 0", "answer < 1", "False"]
    assert [v["userName"] for v in out["goals"][2]["vars"]][-2:] == ["h2", "h3"]
    wrong = "by\nhave h1 : answer = 1 / 2 := by norm_num [h_answer]\nsorry"
    out = sim.send("goal.tactic", {"stateId": state, "goalId": 0, "draft": wrong})
    assert out["tacticErrors"][0].startswith("unsolved goals")


# --- faults and scenarios ---------------------------------------------------------------


def _start(*args: str, env: dict[str, str] | None = None) -> Sim:
    s = Sim(*args, env=env)
    assert s.readline() == "ready."
    return s


def test_fault_fail_ready_and_slow_ready() -> None:
    s = Sim("Mathlib", "--sim.fail_ready=true")
    assert s.readline() is None
    assert s.close() == 1
    assert "uncaught exception: unknown module prefix 'Mathlib'" in s.stderr()
    began = time.monotonic()
    s = Sim("--sim.ready_delay_seconds=0.4")
    assert s.readline() == "ready."
    assert time.monotonic() - began >= 0.4
    s.close()


def test_fault_latency_fixed_and_distribution() -> None:
    s = _start('--sim.latency={"stat": 0.3}')
    began = time.monotonic()
    s.send("stat", {})
    assert time.monotonic() - began >= 0.3
    began = time.monotonic()
    s.send("reset", {})
    assert time.monotonic() - began < 0.3
    s.close()
    s = _start('--sim.latency={"dist": "uniform", "low": 0.05, "high": 0.1}', "--sim.seed=7")
    began = time.monotonic()
    s.send("stat", {})
    assert time.monotonic() - began >= 0.05
    s.close()


def test_fault_crash_after_requests() -> None:
    s = _start("--sim.crash_after_requests=1")
    assert s.send("stat", {})["nGoals"] == 0
    s.write("stat {}")
    assert s.readline() is None
    assert s.close() == 134
    assert "uncaught exception" in s.stderr()


def test_fault_crash_hang_and_garbage_on_tactic() -> None:
    s = _start(
        "--sim.crash_on_tactic=boom", "--sim.garbage_on_tactic=junk", "--sim.hang_on_tactic=forever"
    )
    s.send("goal.start", {"expr": "1 = 1"})
    s.write(
        json.dumps({"cmd": "goal.tactic", "payload": {"stateId": 0, "goalId": 0, "tactic": "junk"}})
    )
    line = s.readline()
    assert line is not None
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    assert s.send("stat", {})["nGoals"] == 1  # still alive after the garbage line
    s.write('goal.tactic {"stateId": 0, "goalId": 0, "tactic": "forever"}')
    with pytest.raises(TimeoutError):
        s.readline(timeout=0.5)
    s.proc.kill()
    s.close()
    s = _start("--sim.crash_on_tactic=boom")
    s.send("goal.start", {"expr": "1 = 1"})
    s.write('goal.tactic {"stateId": 0, "goalId": 0, "tactic": "boom"}')
    assert s.readline() is None
    assert s.close() == 134


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_fault_memory_growth() -> None:
    s = _start("--sim.memory_growth_bytes_per_request=20000000")
    before = _rss_bytes(s.proc.pid)
    for _ in range(3):
        s.send("stat", {})
    assert _rss_bytes(s.proc.pid) - before >= 50_000_000
    s.close()


def test_scenario_rules(tmp_path: Path) -> None:
    scenario = {
        "rules": [
            {"goal": r"^x = 5$", "tactic": "^nlinarith", "result": "close", "times": 1},
            {"goal": "x = 5", "tactic": "omega", "result": "error", "message": "omega said no"},
            {
                "goal": "x = 5",
                "tactic": "cases h",
                "delay_seconds": 0.2,
                "result": {
                    "goals": [{"target": "x = 2 + 3", "name": "inl", "hyps": [["h1", "x = 2"]]}]
                },
            },
        ],
        "axioms": {"fine": ["propext"]},
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    s = _start(env={"LEAN_SIM_SCENARIO": str(path)})
    s.send("goal.start", {"expr": "x = 5"})
    closed = s.send("goal.tactic", {"stateId": 0, "goalId": 0, "tactic": "nlinarith [sq_nonneg x]"})
    assert closed["goals"] == []
    again = s.send("goal.tactic", {"stateId": 0, "goalId": 0, "tactic": "nlinarith [sq_nonneg x]"})
    assert again["tacticErrors"][0].startswith("linarith failed")  # times: 1 was used up
    assert s.send("goal.tactic", {"stateId": 0, "goalId": 0, "tactic": "omega"}) == {
        "tacticErrors": ["omega said no"]
    }
    began = time.monotonic()
    split = s.send("goal.tactic", {"stateId": 0, "goalId": 0, "tactic": "cases h"})
    assert time.monotonic() - began >= 0.2
    assert render(split["goals"][0]) == "h1 : x = 2\n⊢ x = 2 + 3" and names(split) == ["inl"]
    text = "theorem fine (x : ℕ) : x = 5 := by\n  nlinarith\n#print axioms fine"
    units = frontend(s, text, sorrys=False)["units"]
    assert units[0]["messages"][0].startswith("<anonymous>:2:2: error: linarith failed")
    assert units[1]["messages"] == ["'fine' depends on axioms: [propext]\n"]
    s.close()
    s = _start(f"--sim.scenario={path}")
    s.send("goal.start", {"expr": "x = 5"})
    nl = s.send("goal.tactic", {"stateId": 0, "goalId": 0, "tactic": "nlinarith"})
    assert nl["goals"] == []
    s.close()


def test_tactic_blocks_braces_bullets_and_sorry_modes(sim: Sim) -> None:
    state = frontend(sim, "example (a b : ℕ) (h : a = 2) : False := sorry")["units"][0]
    state_id = state["goalStateId"]
    draft = (
        "by {\n  have h1 : a + 1 = 3 := by\n    norm_num [h]\n"
        "  have h2 : b = b := by rfl\n  sorry\n}"
    )
    out = sim.send("goal.tactic", {"stateId": state_id, "goalId": 0, "draft": draft})
    assert [v["userName"] for v in out["goals"][0]["vars"]] == ["a", "b", "h", "h1", "h2"]
    bullets = "have hx : a = 2 ∧ 1 = 1 := by\n  constructor\n  · exact h\n  · rfl\nsorry"
    out = sim.send("goal.tactic", {"stateId": state_id, "goalId": 0, "tactic": bullets})
    assert out["goals"] == []  # in tactic mode `sorry` closes its goal
    open_bullet = "have hx : a = 2 ∧ 1 = 1 := by\n  constructor\n  · exact h\nsorry"
    out = sim.send("goal.tactic", {"stateId": state_id, "goalId": 0, "tactic": open_bullet})
    assert out["tacticErrors"][0].startswith("unsolved goals\ncase right")
    unknown = sim.send("goal.tactic", {"stateId": state_id, "goalId": 0, "tactic": "rw [h]"})
    assert "simulator" in unknown["tacticErrors"][0]
