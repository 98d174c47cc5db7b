"""Candidate SFT records ("pieces") of one stored attempt, rendered as the orchestrator prompted.

Called by ``harcopa_trainer.export`` for every attempt of a run; CoPA record files give pieces
through ``harcopa_trainer.copa``. What each pipeline gives (official-impl §6.3):

- AR/BFS: every accepted step and the submission step -> next-solution-step prediction;
- HAR/H-BFS: the same -> next-solution-step drafting (``sorry`` gaps kept), and every tactic of
  the gap proofs and of the backward proof -> next-proof-step prediction;
- WG/H-WG: the whole draft -> whole-solution generation / drafting; H-WG's gap proofs ->
  next-proof-step;
- H-SA and CoPA: the draft -> solution drafting (prompted with the statement the attempt
  recorded: a CoPA run's autoformalized statement); gap proofs -> next-proof-step; CoPA also
  gives its accepted statement once per problem -> statement autoformalization.

Outputs are what the orchestrator's parsers read back unchanged: a bare tactic (P1), a bare step
(P2, ``extract_code``), one ``lean4`` block for whole drafts, drafts and statements
(``extract_single_block``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from harcopa import domain as d
from harcopa.prompts import PromptTemplates
from harcopa_trainer.data import SftRecord

PROOF_STEP = "next_proof_step_prediction"
STEP_PREDICTION = "next_solution_step_prediction"
STEP_DRAFTING = "next_solution_step_drafting"
WHOLE_GENERATION = "whole_solution_generation"
WHOLE_DRAFTING = "whole_solution_drafting"
SOLUTION_DRAFTING = "solution_drafting"
STATEMENT = "statement_autoformalization"


def fenced(text: str) -> str:
    """Lean text as the one ``lean4`` block the orchestrator's whole-draft parser reads."""
    return f"```lean4\n{text}\n```"


@dataclass(frozen=True, slots=True)
class Piece:
    """A candidate record before filtering.

    ``text`` is the Lean text the model should write (``fence`` wraps it in a code block);
    ``allow_sorry`` is True for drafting outputs; ``lean_accepted`` says whether Lean accepted
    the text even when its attempt did not solve the problem (steps and their gap proofs, a
    draft whose only failure was an unproven gap); ``no_op`` marks a tactic that left its goal
    unchanged; ``prompt_state`` is the state the prompt shows (empty: not recorded);
    ``solved`` is False for pieces of an unsolved attempt or an unverified CoPA record.
    """

    task: str
    prompt: d.Prompt
    text: str
    source: str
    prompt_state: str
    allow_sorry: bool = False
    lean_accepted: bool = True
    no_op: bool = False
    fence: bool = False
    solved: bool = True

    def record(self) -> SftRecord:
        system, user = self.prompt.messages
        output = fenced(self.text) if self.fence else self.text
        return SftRecord(system.content, user.content, output, self.task, self.source)


def proof_pieces(
    templates: PromptTemplates, proof: Iterable[d.AppliedTactic], source: str
) -> Iterator[Piece]:
    """Next-proof-step pieces of one proof in order.

    A tactic is a no-op when the next tactic of the same proof was prompted with the same goal
    text at the same goal index: the stored proof keeps only the goal each tactic was shown, so
    this is the reference's "state before = state after" test on what is stored (it also drops a
    tactic that closed a goal identical to the next one: a lost record, never a wrong one).
    """
    tactics = list(proof)
    for i, tactic in enumerate(tactics):
        after = tactics[i + 1] if i + 1 < len(tactics) else None
        same = after is not None and after.goal_index == tactic.goal_index
        yield Piece(
            PROOF_STEP,
            templates.next_proof_step(tactic.prompt_state),
            tactic.tactic,
            f"{source}/tactic{i}",
            tactic.prompt_state,
            no_op=same and after is not None and after.prompt_state == tactic.prompt_state,
        )


@dataclass(frozen=True, slots=True)
class AttemptSource:
    """What rendering one run's attempts needs: templates, the problem, the pipeline."""

    templates: PromptTemplates
    problem: d.FormalProblem
    pipeline: d.Pipeline
    source: str


def step_pieces(ctx: AttemptSource, attempt: d.Attempt) -> Iterator[Piece]:
    """AR, BFS, HAR, H-BFS: accepted steps, their gap proofs, submission, backward proof."""
    drafting = ctx.pipeline.hierarchical
    task = STEP_DRAFTING if drafting else STEP_PREDICTION
    informal = ctx.problem.informal_problem
    for i, step in enumerate(attempt.steps):
        where = f"{ctx.source}/step{i}"
        prompt = ctx.templates.next_solution_step(informal, step.prompt_state, drafting=drafting)
        yield Piece(task, prompt, step.text, where, step.prompt_state, allow_sorry=drafting)
        yield from proof_pieces(ctx.templates, step.gap_proof, f"{where}/gap")
    if attempt.submission_step is not None:
        state = attempt.prompt_state
        prompt = ctx.templates.next_solution_step(informal, state, drafting=drafting)
        where = f"{ctx.source}/submission"
        yield Piece(task, prompt, attempt.submission_step, where, state, lean_accepted=False)
    yield from proof_pieces(ctx.templates, attempt.backward_proof or (), f"{ctx.source}/backward")


def statement_piece(
    templates: PromptTemplates,
    problem: d.FormalProblem,
    statement: str,
    source: str,
    *,
    solved: bool,
    lean_accepted: bool = True,
) -> Piece:
    """The statement-autoformalization piece: ``problem``'s informal problem and answer (and
    header) -> ``statement`` (P6; the state shown is the informal problem)."""
    p = problem
    prompt = templates.statement_autoformalization(
        p.informal_problem, p.informal_answer, p.effective_header
    )
    return Piece(
        STATEMENT,
        prompt,
        statement.rstrip(),
        source,
        p.informal_problem,
        allow_sorry=True,
        lean_accepted=lean_accepted,
        fence=True,
        solved=solved,
    )


def copa_statement_pieces(
    templates: PromptTemplates, problem: d.FormalProblem, result: d.ProblemResult, source: str
) -> Iterator[Piece]:
    """A CoPA problem's accepted statement (the one its attempts drafted on), if it has one:
    verified when the problem was solved, Lean-accepted (it passed every filter) otherwise."""
    statement = next((a.prompt_state for a in result.attempts if a.prompt_state), "")
    if statement:
        yield statement_piece(templates, problem, statement, source, solved=result.solved)


def draft_pieces(ctx: AttemptSource, attempt: d.Attempt) -> Iterator[Piece]:
    """WG, H-WG, H-SA, CoPA: the whole draft and the tactics that proved its gaps."""
    if attempt.draft is None:
        return
    accepted = attempt.outcome is d.AttemptOutcome.GAP_UNPROVEN
    where = f"{ctx.source}/draft"
    if ctx.pipeline in (d.Pipeline.H_SA, d.Pipeline.COPA):
        p = ctx.problem
        copa = ctx.pipeline is d.Pipeline.COPA
        statement = (attempt.prompt_state if copa else p.formal_statement).rstrip()
        prompt = ctx.templates.solution_drafting(
            p.informal_problem, p.informal_answer, p.informal_solution, statement
        )
        task, state, drafting = SOLUTION_DRAFTING, statement, True
    else:
        drafting = ctx.pipeline.hierarchical
        task = WHOLE_DRAFTING if drafting else WHOLE_GENERATION
        state = attempt.prompt_state
        prompt = ctx.templates.whole_solution(
            ctx.problem.informal_problem, state, drafting=drafting
        )
    yield Piece(task, prompt, attempt.draft, where, state, drafting, accepted, fence=True)
    yield from proof_pieces(ctx.templates, attempt.gap_proof, f"{where}/gap")


def attempt_pieces(ctx: AttemptSource, attempt: d.Attempt) -> Iterator[Piece]:
    """Every candidate record of one attempt (errored attempts store nothing to give)."""
    if ctx.pipeline.whole_draft:
        return draft_pieces(ctx, attempt)
    return step_pieces(ctx, attempt)
