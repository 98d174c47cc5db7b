"""Entry point of lean-sim, the Pantograph v0.2.25 wire-protocol simulator (``lean-sim``).

Run as ``lean-sim [MODULE ...] [--key=value ...]`` or ``python -m
harcopa_lean_verifier.simulator``; the Pantograph backend launches it in place of ``repl``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time

from harcopa_lean_verifier.simulator.faults import FAIL_READY_EXIT_CODE, KNOWN_KEYS, Faults
from harcopa_lean_verifier.simulator.protocol import dumps, error, execute, fault_text, parse_line
from harcopa_lean_verifier.simulator.scenario import ScenarioError, load_scenario
from harcopa_lean_verifier.simulator.state import Repl

VERSION = "0.2.25"
SCENARIO_ENV = "LEAN_SIM_SCENARIO"
HELP = f"""usage: lean-sim [MODULE ...] [--OPTION=VALUE ...]

lean-sim is a SIMULATOR of the Pantograph {VERSION} REPL (Lean v4.15.0): it speaks the same
wire protocol (argv, `ready.`, one request line -> one JSON line, no stdout flushing) but it
is not a prover. Tactic outcomes come from a small deterministic rule set and from scenario
files. Modules and Lean options are accepted and recorded only.

  --version               print {VERSION} and exit
  --sim.scenario=PATH     scenario file (also env {SCENARIO_ENV})
  --sim.<fault>=VALUE     fault injection: {", ".join(sorted(KNOWN_KEYS))}
"""


def parse_argv(argv: list[str]) -> tuple[list[str], dict[str, str], dict[str, object]]:
    """Modules, Lean options (``--key=value``) and simulator options (``--sim.key=value``)."""
    modules: list[str] = []
    lean: dict[str, str] = {}
    sim: dict[str, object] = {}
    for arg in argv:
        if not arg.startswith("--"):
            modules.append(arg)
            continue
        key, _, value = arg[2:].partition("=")
        if key.startswith("sim."):
            try:
                sim[key[4:]] = json.loads(value)
            except json.JSONDecodeError:
                sim[key[4:]] = value
        else:
            lean[key] = value
    return modules, lean, sim


def _stdout() -> io.TextIOWrapper:
    """stdout as the Lean runtime has it: line-buffered on a tty, block-buffered otherwise.

    Replies are never flushed explicitly (Pantograph v0.2.25 does not flush), whatever
    PYTHONUNBUFFERED says.
    """
    raw = io.FileIO(sys.stdout.fileno(), "w", closefd=False)
    return io.TextIOWrapper(
        io.BufferedWriter(raw, 8192),
        encoding="utf-8",
        newline="\n",
        line_buffering=os.isatty(raw.fileno()),
    )


def _fail_ready(modules: list[str]) -> None:
    module = modules[0] if modules else "Init"
    sys.stderr.write(
        f"uncaught exception: unknown module prefix '{module}'\n\nNo directory '{module}' or "
        f"file '{module}.olean' in the search path entries:\n(simulator fault injection: "
        "fail_ready)\n"
    )
    sys.stderr.flush()
    sys.exit(FAIL_READY_EXIT_CODE)


def serve(repl: Repl, faults: Faults, out: io.TextIOWrapper) -> None:
    """The request loop: an empty line or EOF ends it."""
    stdin = sys.stdin.buffer
    while True:
        raw = stdin.readline()
        if not raw:
            return
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            out.write(dumps(error("command", f"simulator: invalid UTF-8: {exc}")) + "\n")
            continue
        if not line.strip():
            return
        parsed = parse_line(line)
        if isinstance(parsed, dict):
            out.write(dumps(parsed) + "\n")
            continue
        command, payload = parsed
        garbage = faults.before_request(command, fault_text(command, payload))
        if garbage is not None:
            out.write(garbage + "\n")
            continue
        try:
            reply = execute(repl, command, payload)
        except Exception as exc:  # Pantograph's dispatcher answers `io` and keeps running
            reply = error("io", f"simulator internal error: {exc!r}")
        out.write(dumps(reply) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(VERSION)
        return 0
    if "--help" in args or "-h" in args:
        print(HELP)
        return 0
    modules, lean_options, sim = parse_argv(args)
    try:
        scenario = load_scenario(str(sim.pop("scenario", "")) or os.environ.get(SCENARIO_ENV))
        faults = Faults({**scenario.faults, **sim})
    except ScenarioError as exc:
        sys.stderr.write(f"uncaught exception: simulator configuration: {exc}\n")
        return FAIL_READY_EXIT_CODE
    if faults.fail_ready:
        _fail_ready(modules)
    if faults.ready_delay_seconds > 0:
        time.sleep(faults.ready_delay_seconds)
    out = _stdout()
    out.write("ready.\n")
    try:
        serve(Repl(scenario, modules, lean_options), faults, out)
    finally:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
