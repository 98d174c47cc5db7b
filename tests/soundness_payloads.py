"""The payloads strict mode must refuse and the look-alikes it must accept, shared by the tests.

Used by tests/unit/test_soundness_filter.py (the text filter alone) and
tests/service/test_verifier_soundness.py (the same table through the VerifierService). Each
payload has a kind that says how it is written into a submission and into a path step, and the
construct the filter names in its reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Payload:
    """``kind``: ``term`` (a proof term), ``tactic`` or ``command`` (a top-level command)."""

    kind: str
    text: str
    construct: str

    @property
    def submission(self) -> str:
        """The payload in a submission step (``exact ... -- submit``, one line)."""
        if self.kind == "term":
            return f"exact ({self.text}) -- submit"
        if self.kind == "tactic":
            return f"exact (by {self.text}) -- submit"
        return f"exact h_answer {self.text} -- submit"

    @property
    def step(self) -> str:
        """The payload in a path step (a ``have`` at column 0, or the command itself)."""
        if self.kind == "term":
            return f"have h₁ : answer = 7 := {self.text}"
        if self.kind == "tactic":
            return f"have h₁ : answer = 7 := by {self.text}"
        return self.text


PAYLOADS: tuple[Payload, ...] = (
    Payload("term", "sorryAx _ false", "sorryAx"),
    Payload("term", "@sorryAx (answer = 7) false", "sorryAx"),
    Payload("term", "_root_.sorryAx _ false", "sorryAx"),
    Payload("term", "«sorryAx» _ false", "sorryAx"),
    Payload("tactic", "native_decide", "native_decide"),
    Payload("term", "Lean.ofReduceBool _ _ rfl", "Lean.ofReduceBool"),
    Payload("term", "open Lean in ofReduceBool _ _ rfl", "Lean.ofReduceBool"),
    Payload("term", "Lean.ofReduceNat _ _ rfl", "Lean.ofReduceNat"),
    Payload("term", "Lean.trustCompiler.elim", "Lean.trustCompiler"),
    Payload("tactic", "decide +kernel", "decide +kernel"),
    Payload("tactic", "decide (config := {kernel := true})", "decide +kernel"),
    Payload("tactic", "decide (config := { native := true })", "decide +native"),
    Payload("tactic", "decide!", "decide!"),
    Payload("tactic", "set_option debug.skipKernelTC true in exact h_answer", "set_option"),
    Payload("tactic", "set_option compiler.extract_closed false in simp", "set_option"),
    Payload("tactic", "run_tac Lean.Elab.admitGoal (← Lean.Elab.Tactic.getMainGoal)", "run_tac"),
    Payload("tactic", 'run_tac do let _ ← IO.Process.run {cmd := "sh"}; pure ()', "run_tac"),
    Payload("term", "by_elab Lean.Meta.mkSorry (Lean.mkConst ``False) false", "by_elab"),
    Payload("command", "@[implemented_by cheatImpl] def cheat : Bool := true", "implemented_by"),
    Payload("command", '@[extern "lean_cheat"] opaque cheat : Nat', "extern"),
    Payload("command", "attribute [implemented_by cheatImpl] cheat", "implemented_by"),
    Payload("command", "unsafe def cheat : False := cheat", "unsafe"),
    Payload("command", "opaque cheat : Nat", "opaque"),
    Payload("command", "#exit", "#exit"),
    Payload("command", "axiom cheat : False", "axiom"),
    Payload("command", '#eval IO.Process.run {cmd := "curl", args := #["x.example"]}', "#eval"),
    Payload("command", "#print axioms cheat", "#print"),
    Payload("command", "#guard_msgs in example : False := sorry", "#guard_msgs"),
    Payload("command", 'run_cmd Lean.logInfo m!"hi"', "run_cmd"),
    Payload("command", 'elab "cheat" : tactic => Lean.Elab.admitGoal', "elab"),
    Payload("command", 'macro "cheat" : tactic => `(tactic| sorry)', "macro"),
    Payload("term", 'r"\\" sorry ""', "sorry"),  # Lean: raw string, then `sorry`
    Payload("term", 'r#"a"# sorry', "sorry"),
    Payload("term", 's!"{sorry}"', "sorry"),
    Payload("term", '"\\q" sorry', "unreadable text"),  # a bad escape: Lean errors, then?
    Payload("term", '"unterminated sorry', "unreadable text"),
    Payload("tactic", "admit", "admit"),
    Payload("tactic", "stop", "stop"),
)

#: Steps strict mode accepts: ``sorry`` and friends only in comments, strings or longer names.
LOOK_ALIKES: tuple[str, ...] = (
    "have h_sorry : answer = 7 := by norm_num [h_answer] -- sorry, native_decide, #exit",
    "have sorry_lemma : answer = 7 := by norm_num [h_answer] /- sorryAx /- nested -/ #eval -/",
    "have native_x : answer = 7 := by norm_num [h_answer]",
    "/-- doc: `axiom cheat : False`, `set_option debug.skipKernelTC` -/\n"
    "have h₁ : answer = 7 := by norm_num [h_answer]",
)
#: Look-alikes in strings (text level only: lean-sim has no rule for these tactics).
STRING_LOOK_ALIKES: tuple[str, ...] = (
    'trace "sorry #exit native_decide Lean.ofReduceBool"',
    'simp [show "#eval" = "#eval" from rfl]',
    "exact 'a' = 'a'",
    'exact r#"sorry "# = r"sorry"',
    'exact "a\\"sorry\\"b" = "x\\ny"',
    "set_option maxHeartbeats 400000 in simp",
    "set_option pp.all true in rfl",
    "have kernel_bound : kernel ≤ native := le_refl _",
    "exact Nat.card_eq_fintype_card (α := Fin 3)",
)
