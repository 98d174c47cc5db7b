"""lean-sim: a simulator of the Pantograph v0.2.25 REPL wire protocol (not a prover).

Launched as an executable (``lean-sim`` / ``python -m harcopa_lean_verifier.simulator``) by
the Pantograph backend and its tests in place of the real ``repl`` binary (DESIGN.md §2.2).
It speaks the protocol of pantograph-protocol.md: argv = modules + ``--key=value`` options,
``ready.``, one request line -> one compact JSON line, stdout never flushed explicitly.

Built-in rules (deterministic): statements ``example``/``theorem``/``lemma`` with binder
groups; ``intro``/``intros``/``rintro`` on ``∀``/``→``/``¬``; ``apply Exists.intro`` (goals
``h`` with ``?w``, then ``w``); ``constructor`` on ``↔`` (``mp``/``mpr``) and ``∧``;
``exfalso``; ``exact``/``refine`` with a hypothesis (assigns ``?w`` when the target is ``?w``),
``h.symm``/``h.1``/``h.2``, ``sorry``, ``(sorry : T)``; ``have name : P := proof`` (or without
``:=``: P becomes a goal); ``show``; ``use``; combinators ``{ }``, ``·``, ``( )``, ``try``,
``first | a | b``, ``a <;> b``. Closers (``norm_num``, ``simp``, ``decide``, ``rfl``,
``linarith``, ``nlinarith``, ``omega``, ``ring_nf``, ``ring``, ``aesop``, ``positivity``,
``field_simp``, ``rw_search``, ``assumption``, ``trivial``, ...) succeed when the target is
``True``, a closed numeral (in)equality that evaluates true (after substituting hypotheses
``x = <numeral>``), ``A = A`` / ``A ↔ A`` with identical text, ``x = a ↔ x = b`` with equal
numerals, or a hypothesis has exactly the target's text (or is ``False``). Everything else is
a tactic error. In ``draft`` mode (and ``frontend.process`` with ``sorrys``), every ``sorry``
becomes a goal, in source order.

Scenario file (JSON; path from env ``LEAN_SIM_SCENARIO`` or ``--sim.scenario=PATH``)::

    {
      "rules": [
        {"goal": "regex on the goal target",          # optional, re.search
         "goal_text": "regex on the rendered goal",    # optional ("h : T\\n⊢ target")
         "tactic": "regex on the whitespace-normalised tactic / have-proof / term text",
         "result": "close" | "error" | {"goals": [{"target": "T", "name": "case",
                                                   "hyps": [["h", "T"]]}]},
         "message": "error text for result=error",
         "delay_seconds": 0.5,                         # sleep when the rule applies
         "times": 1}                                   # default: unlimited
      ],
      "axioms": {"NAME": ["propext", "sorryAx"]},      # override `#print axioms NAME`
      "faults": {...}                                  # as below
    }

Rules are consulted, first match wins, before the built-in rules, for every tactic run
(also inside ``have ... := by ...`` blocks and for term proofs). Result goals replace the goal;
their ``hyps`` are added to its context.

``sim.io`` (lean-sim only, not a Pantograph command) performs for real the OS actions a hostile
``#eval`` would try (``connect`` to ``host:port``, ``write`` N ``bytes`` to a path, ``spin`` N
CPU seconds) and reports
the outcome with the process's cwd and TMPDIR: tests use it to show what the sandbox allows.

Faults (scenario ``faults`` or ``--sim.<key>=VALUE``, VALUE parsed as JSON when possible):
``latency`` (seconds; or ``{"dist": "uniform", "low", "high"}`` / ``{"dist": "lognormal",
"mu", "sigma"}``; or a mapping command -> either, ``"*"`` = default), ``seed``,
``ready_delay_seconds``, ``crash_after_requests`` (answers N requests, dies on the next),
``crash_on_tactic`` (regex; exit 134 without a reply, ``crash_stderr`` written to stderr,
``""`` for none), ``hang_on_tactic`` (regex; never replies), ``garbage_on_tactic`` (regex;
prints ``garbage_line`` instead of the reply), ``memory_growth_bytes_per_request`` (really
allocated and kept), ``fail_ready`` (exit 1 before ``ready.`` with ``uncaught exception:
unknown module prefix`` on stderr). Tactic regexes see the ``goal.tactic`` text (tactic,
draft, expr, have, let) and the ``frontend.process`` file text.
"""
