"""Search algorithms of the orchestrator; ``harcopa_orchestrator.pipelines`` composes them.

Layout: ``tree.py`` (search tree and invariants), ``prover.py`` (best-first tactic search),
``autoregressive.py`` (AR/HAR), ``best_first.py`` (BFS/H-BFS), ``whole_generation.py``
(WG/H-WG), ``solution_drafting.py`` (H-SA), ``hierarchical.py`` (gap searches and the
``hierarchical`` composition), ``restarts.py`` (restart and retry loops), ``submission.py``
(validation, RPE, final check), ``assembly.py`` (gap proofs inlined into a whole file),
``candidates.py`` (sampling and output filters), ``concurrent.py`` (batch evaluation).

Paper mode makes the reference's decisions (``paper.py``, docs/paper-mode.md). Where we
deliberately differ from the reference (official-impl §8), in both modes unless noted:
- Strict mode rejects a bad candidate (multi-line submission, a step that leaves no ``False``
  continuation, a gap proof that touches the ignored goals) and consumes an AR trial whose
  samples are all unusable; paper mode ends the rollout there, as the reference's did, and the
  restart loop goes on. Neither ends the problem.
- BFS evaluates exactly K_S candidates in strict mode; paper mode keeps the reference's
  K_S-1 evaluated / K_S charged. A rollout that charged nothing ends the restart loop (the
  reference would restart forever).
- Candidates of one batch are evaluated concurrently but accepted in sampled order; work on
  candidates after an early exit is not charged. Paper mode runs BFS gap searches in order.
- Strict dedup: the prover by rendered state (paper mode: none, as the reference's never
  matched), BFS by the continuation goal (before any gap search, also within one batch).
- WG/H-WG record every try, an unparsable completion included (budget ``inf`` as in the
  reference's notebook); strict mode rejects a draft that never submits before any gap search.
- H-SA: paper mode runs all outer tries; strict mode stops at the first success.
- Strict mode: a solved attempt also needs the assembled solution (gap proofs inlined) to pass
  ``check_file`` (``final_check_ok``); submissions containing ``sorry`` are filtered.
- A lost verifier session is re-opened and the path replayed; the loss is counted in
  ``SearchStats.sessions_lost`` and never charged to a budget.
"""
