"""The FPS operations on a REPL pool: the verifier service's implementation of ``Verifier``.

The servicer calls these; so do tests and benchmarks in-process. Each session pins a REPL,
which up to the pool's ``sessions_per_process`` sessions share (sessions.py); problem parsing
and framework construction live in opening.py, submission validation in submission.py, and the
stateless checks (CheckFile, RPE) in stateless.py, which run on leased processes so a session's
process is never restarted. (Over 400 lines: the one class that implements the whole Verifier
protocol.) A paper-mode session waits as long as the reference for every REPL call
(``Timeouts.for_mode``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from harcopa.domain import (
    Draft,
    Equivalence,
    FileCheck,
    FormalProblem,
    Framework,
    Goal,
    Lease,
    Mode,
    ParsedProblem,
    ProofComplete,
    ProofState,
    Session,
    StateHandle,
    TacticError,
    TacticResult,
    TacticTimeout,
    Validation,
    VerifierInfo,
)
from harcopa.errors import (
    BackendCrashed,
    DeadlineExceeded,
    FailedPrecondition,
    HarcopaError,
    InvalidRequest,
)
from harcopa.fps import is_submission
from harcopa_lean_verifier import stateless, submission
from harcopa_lean_verifier.calls import TacticReply, counted, rejection, tactic_call
from harcopa_lean_verifier.lean_options import PARSING_EXTRA_OPTIONS
from harcopa_lean_verifier.opening import (
    UNPARSED,
    build_framework,
    parse_problem,
)
from harcopa_lean_verifier.sessions import SessionRecord, SessionRegistry, SessionRepl, StateRef
from harcopa_lean_verifier.timeouts import Timeouts
from harcopa_lean_verifier.turns import ProblemRanks

logger = logging.getLogger(__name__)

#: Parsed problems remembered (re-opened sessions skip the parsing pass).
PARSE_CACHE_SIZE = 4096
#: Opening a session (parse pass + frameworks) is tried this often when its process dies.
OPEN_ATTEMPTS = 2


class PantographVerifier:
    """``Verifier`` on a ReplPool of Pantograph (or lean-sim) processes.

    ``imports``/``options`` form the pool's default key; the parsing pass uses the same
    imports with PARSING_EXTRA_OPTIONS appended (its own warm processes).
    """

    def __init__(
        self,
        pool: Any,
        *,
        imports: Sequence[str],
        options: Sequence[str],
        replica_id: str,
        timeouts: Timeouts,
        session_idle_seconds: float = 900.0,
        lease_seconds: float = 15.0,
        max_sessions_per_client: int | None = None,
        max_states_per_session: int = 20000,
        stack: VerifierInfo | None = None,
        ranks: ProblemRanks | None = None,
    ) -> None:
        self.pool = pool
        self.imports = tuple(imports)
        self.default_key = (self.imports, tuple(options))
        self.parsing_key = (self.imports, (*options, *PARSING_EXTRA_OPTIONS))
        self.replica_id = replica_id
        self.timeouts = timeouts
        self.max_states = max_states_per_session
        self.sessions = SessionRegistry(
            replica_id,
            session_idle_seconds,
            self._release,
            lease_seconds=lease_seconds,
            max_sessions_per_client=max_sessions_per_client,
        )
        self._parsed: OrderedDict[tuple[str, str], ParsedProblem] = OrderedDict()
        # the most of its search ahead first (turns.py)
        self._ranks = ranks if ranks is not None else ProblemRanks()
        self._stack = stack or VerifierInfo(replica_id, "unknown", imports=self.imports)

    def _limits(self, record: SessionRecord) -> Timeouts:
        return self.timeouts.for_mode(record.mode)

    async def start(self) -> None:
        await self.pool.start(wait_all=False)  # serve while the other processes warm
        await self.sessions.start()

    async def close(self) -> None:
        await self.sessions.close()
        await self.pool.close()

    async def _release(self, record: SessionRecord, destroy: bool) -> None:
        self._ranks.closed(record.client_id, record.problem_id)
        if not destroy and record.alive and record.states:
            ids = [ref.pantograph_id for ref in record.states.values()]
            try:
                timeout = self._limits(record).tactic
                await record.repl.goal_delete(ids, timeout_seconds=timeout)
            except HarcopaError:  # a process that cannot free its states is not reused
                destroy = True
        record.states.clear()
        await self.pool.release(record.repl.process, destroy=destroy or not record.alive)

    # ------------------------------------------------------------------ sessions

    async def open_session(
        self,
        problem: FormalProblem,
        frameworks: Sequence[Framework],
        mode: Mode = Mode.STRICT,
        *,
        imports: Sequence[str] = (),
        client_id: str = "",
    ) -> Session:
        """Parse ``problem`` and build ``frameworks`` on a newly pinned REPL; a process that
        dies meanwhile is replaced and the opening tried once more."""
        missing = [m for m in imports if m not in self.imports]
        if missing:
            raise InvalidRequest(f"imports {missing} are not served (loaded: {list(self.imports)})")
        kinds = tuple(dict.fromkeys(frameworks))
        with self.sessions.admitting(client_id):
            for attempt in range(1, OPEN_ATTEMPTS + 1):
                try:
                    return await self._open(problem, kinds, mode, client_id)
                except BackendCrashed as exc:
                    if attempt == OPEN_ATTEMPTS:
                        raise
                    logger.warning("opening a session lost its process (%s); retrying", exc)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _open(
        self, problem: FormalProblem, kinds: tuple[Framework, ...], mode: Mode, client_id: str
    ) -> Session:
        if mode is Mode.PAPER and kinds == (Framework.STATEMENT,):
            parsed, parse_seconds = UNPARSED, 0.0  # the reference's H-SA: no parse
        else:
            parsed, parse_seconds = await self._parse(problem, mode)
        process = await self.pool.acquire(self.default_key, pin=True)
        rank = self._ranks.rank(client_id, problem.problem_id)
        repl = SessionRepl(process, self.pool.turn(process), rank)
        record = SessionRecord(
            self.sessions.new_id(), repl, mode, problem.effective_header, parsed, self.max_states
        )
        record.client_id, record.problem_id = client_id, problem.problem_id
        record.extra_lean_seconds = parse_seconds
        self.sessions.add(record)  # its end (any way) tells self._ranks (_release)
        try:
            async with record.lock:
                states = [await self._build(record, problem, kind) for kind in kinds]
        except InvalidRequest:
            await self.sessions.drop(record, destroy=False, reason="framework rejected")
            raise
        except BaseException:
            await self.sessions.drop(record, destroy=True, reason="opening failed")
            raise
        logger.debug(
            "session %s opened for %s (%s)", record.session_id, problem.problem_id, mode.value
        )
        states_by_kind = tuple(zip(kinds, states, strict=True))
        return Session(record.session_id, parsed, states_by_kind, self.replica_id)

    async def _parse(self, problem: FormalProblem, mode: Mode) -> tuple[ParsedProblem, float]:
        """Parse on a process with explicit printing, and the Lean seconds it took; results
        are cached (parsing is pure)."""
        key = (problem.effective_header, problem.formal_statement)
        cached = self._parsed.get(key)
        if cached is not None:
            self._parsed.move_to_end(key)
            return cached, 0.0
        async with self.pool.lease(self.parsing_key) as parser:
            busy = parser.busy_seconds
            parsed = await parse_problem(parser, problem, self.timeouts.for_mode(mode))
            seconds = parser.busy_seconds - busy
        self._parsed[key] = parsed
        if len(self._parsed) > PARSE_CACHE_SIZE:
            self._parsed.popitem(last=False)
        return parsed, seconds

    async def _build(
        self, record: SessionRecord, problem: FormalProblem, kind: Framework
    ) -> ProofState:
        timeouts = self._limits(record)
        built = await build_framework(record.repl, kind, problem, record.parsed, timeouts)
        state = record.add_state(built.pantograph_id, built.goals, kind)
        record.frameworks[kind] = state.handle.state_id
        if built.answer_mvar is not None:
            record.answer_mvars[kind] = built.answer_mvar
        return state

    async def close_session(self, session_id: str) -> float:
        """Close the session; the seconds its Lean processes worked for it."""
        record = self.sessions.get(session_id)
        async with record.lock:
            seconds = record.lean_seconds
            await self.sessions.drop(record, destroy=False, reason="closed by the client")
        return seconds

    async def delete_states(self, states: Sequence[StateHandle]) -> None:
        """Forget states (``goal.delete``); unknown handles of a live session are ignored."""
        by_session: dict[str, list[int]] = {}
        for handle in states:
            by_session.setdefault(handle.session_id, []).append(handle.state_id)
        for session_id, handles in by_session.items():
            async with self.sessions.use(session_id) as record:
                refs = [record.states.pop(h) for h in handles if h in record.states]
                for kind, number in list(record.frameworks.items()):
                    if number in handles:
                        del record.frameworks[kind]
                if refs:
                    ids = [ref.pantograph_id for ref in refs]
                    timeout = self._limits(record).tactic
                    await record.repl.goal_delete(ids, timeout_seconds=timeout)

    # ------------------------------------------------------------------ tactic-level calls

    async def _call(
        self, record: SessionRecord, state_id: int, goal_id: int, **action: str
    ) -> TacticReply | TacticError | TacticTimeout:
        """One tactic or draft on the session's REPL; a timeout loses the session. A paper-mode
        session waits as long as the reference (``Timeouts.paper``)."""
        timeouts = self._limits(record)
        seconds = timeouts.draft if "draft" in action else timeouts.tactic
        try:
            return await tactic_call(
                record.repl, state_id, goal_id, timeout_seconds=seconds, **action
            )
        except DeadlineExceeded:
            # The REPL killed its process: the session is lost, the caller gets a result.
            await self.sessions.drop(record, destroy=True, reason="a tactic timed out")
            return TacticTimeout(seconds)

    async def apply_step(
        self, state: StateHandle, goal_index: int, step: str, *, whole: bool = False
    ) -> Draft:
        """Draft a step (gaps + continuation) or a whole draft on one goal."""
        async with self.sessions.use(state.session_id) as record:
            ref = record.resolve(state)
            _check_goal_index(ref.goals, goal_index)
            refused = _step_text_error(record.mode, step, whole)
            if refused is not None:
                return Draft(counted(refused))
            draft = f"by {{\n{step}\n}}" if whole else f"by\n{step}\nsorry"
            outcome = await self._call(record, ref.pantograph_id, goal_index, draft=draft)
            if not isinstance(outcome, TacticReply):
                return Draft(counted(outcome))
            others = {g.mvar_id for i, g in enumerate(ref.goals) if i != goal_index}
            produced = [g for g in outcome.goals if g.mvar_id not in others]
            # Paper mode returns any continuation: the caller ends its rollout on a wrong one,
            # as the reference's search did (harcopa_orchestrator.search.paper).
            if not whole and (
                not produced
                or (
                    record.mode is not Mode.PAPER
                    and not _is_continuation(produced[-1], ref.goals[goal_index])
                )
            ):
                return Draft(
                    counted(
                        rejection(
                            "the step must leave the goal's continuation last "
                            "(an anonymous goal with the acted-on goal's target)"
                        )
                    )
                )
            new_state = record.add_state(outcome.state_id, outcome.goals, ref.origin)
            gaps = len(produced) - (0 if whole else 1)
            result: TacticResult = new_state if outcome.goals else ProofComplete(new_state)
            return Draft(counted(result), gaps)

    async def run_tactic(
        self, state: StateHandle, goal_index: int, tactic: str, *, ignored_goals: int = 0
    ) -> TacticResult:
        """One tactic; the last ``ignored_goals`` goals must come out unchanged (§4.2)."""
        async with self.sessions.use(state.session_id) as record:
            ref = record.resolve(state)
            _check_ignored(ref.goals, goal_index, ignored_goals)
            if not tactic.strip():
                raise InvalidRequest("empty tactic")
            refused = submission.refuse_text(
                record.mode, tactic, allow_sorry=False, what="the tactic"
            )
            if refused is not None:
                return counted(refused)
            outcome = await self._call(record, ref.pantograph_id, goal_index, tactic=tactic)
            if not isinstance(outcome, TacticReply):
                return counted(outcome)
            new_state = record.add_state(outcome.state_id, outcome.goals, ref.origin)
            return counted(_classify(ref.goals, new_state, ignored_goals))

    # ------------------------------------------------------------------ submissions

    async def validate_submission(
        self, session_id: str, path: Sequence[str], submission_step: str
    ) -> Validation:
        """Validate path + submission on ``h.mp``; success is the ``[h.mpr]`` state + ``?w``."""
        async with self.sessions.use(session_id) as record:
            _, ref = record.framework(Framework.SOLVING)
            refused = submission.check_submission_text(record.mode, path, submission_step)
            if refused is not None:
                return Validation(counted(refused))

            async def call(state_id: int, goal_id: int, **action: str) -> Any:
                return await self._call(record, state_id, goal_id, **action)

            intermediate: list[int] = []
            if record.mode is Mode.PAPER:
                outcome = await submission.validate_paper(
                    call, ref.pantograph_id, path, submission_step
                )
            else:
                outcome, intermediate = await submission.validate_strict(
                    call, ref.pantograph_id, ref.goals, path, submission_step
                )
            if record.closed:  # a timeout lost the session
                return Validation(counted(outcome))  # type: ignore[arg-type]
            if intermediate:
                timeout = self._limits(record).tactic
                await record.repl.goal_delete(intermediate, timeout_seconds=timeout)
            if not isinstance(outcome, TacticReply):
                return Validation(counted(outcome))
            state = record.add_state(outcome.state_id, outcome.goals, Framework.SOLVING)
            text = await self._read(record, record.resolve(state.handle))
            return Validation(counted(state), text)

    async def read_submission(self, state: StateHandle) -> str | None:
        async with self.sessions.use(state.session_id) as record:
            return await self._read(record, record.resolve(state))

    async def _read(self, record: SessionRecord, ref: StateRef) -> str | None:
        mvar = record.answer_mvars.get(ref.origin)
        if mvar is None:
            raise FailedPrecondition(f"a {ref.origin.value} state has no submission variable")
        printed = await record.repl.goal_print(
            ref.pantograph_id,
            extra_mvars=[mvar],
            timeout_seconds=self._limits(record).tactic,
        )
        extra = printed.get("extraMVars") or [{}]
        pp = extra[0].get("pp") if isinstance(extra[0], dict) else None
        return str(pp) if pp else None

    async def check_equivalence(self, session_id: str, submission_text: str) -> Equivalence:
        """RPE on a separate pool process (the session's process is untouched)."""
        record = self.sessions.get(session_id)
        record.touch()
        return await stateless.check_equivalence(
            self.pool,
            self.default_key,
            record.header,
            record.parsed,
            submission_text,
            record.mode,
            self._limits(record),
        )

    async def check_file(
        self, text: str, *, timeout_seconds: float = 0.0, imports: Sequence[str] = ()
    ) -> FileCheck:
        """Whole-file check on a pooled process; 0 means the default file timeout."""
        missing = [m for m in imports if m not in self.imports]
        if missing:
            raise InvalidRequest(f"imports {missing} are not loaded by this verifier")
        seconds = timeout_seconds if timeout_seconds > 0 else self.timeouts.file
        seconds = self.timeouts.capped(seconds)
        return await stateless.check_file(self.pool, self.default_key, text, self.imports, seconds)

    async def renew_lease(self, client_id: str, *, release: bool = False) -> Lease:
        """Extend the lease of ``client_id``'s sessions, or close them all (``release``)."""
        return await self.sessions.renew(client_id, release=release)

    async def describe(self) -> VerifierInfo:
        """The backend and versions, with the pool's size, session capacity and open sessions."""
        return dataclasses.replace(
            self._stack,
            pool_size=self.pool.config.size,
            processes_warm=self.pool.warm_count,
            session_capacity=self.pool.session_capacity,
            sessions_open=len(self.sessions),
        )


# ---------------------------------------------------------------------- pure helpers


def _check_goal_index(goals: Sequence[Goal], goal_index: int) -> None:
    if not 0 <= goal_index < len(goals):
        raise InvalidRequest(f"goal index {goal_index} out of range (the state has {len(goals)})")


def _step_text_error(mode: Mode, step: str, whole: bool) -> TacticError | None:
    if not step.strip():
        return rejection("empty step")
    # Paper mode: no text filter here; the reference filters steps where it samples them (the
    # orchestrator does too) and never filters whole drafts. Its acceptances are audited
    # strictly all the same (strict_audit_passed).
    if mode is not Mode.PAPER:
        refused = submission.refuse_text(mode, step, allow_sorry=True, what="the step")
        if refused is not None:
            return refused
    if not whole and is_submission(step) and mode is not Mode.PAPER:  # paper: caller's test
        return rejection("submission steps go through ValidateSubmission")
    if whole and is_submission(step) and mode is Mode.STRICT:
        line = [text for text in step.splitlines() if text.strip()][-1]
        return submission.refuse_text(mode, line, allow_sorry=False, what="the submission line")
    return None


def _is_continuation(goal: Goal, before: Goal) -> bool:
    """The draft's trailing ``sorry``: anonymous, with the acted-on goal's target."""
    return goal.name is None and goal.target == before.target


def _check_ignored(goals: Sequence[Goal], goal_index: int, ignored: int) -> None:
    if not 0 <= ignored <= len(goals):
        raise InvalidRequest(f"ignored_goals {ignored} out of range (the state has {len(goals)})")
    if not 0 <= goal_index < len(goals) - ignored:
        raise InvalidRequest(f"goal index {goal_index} is not an active (non-ignored) goal")
    tail = range(len(goals) - ignored, len(goals))
    for index in tail:
        if goals[index].sibling_dep:
            raise InvalidRequest(f"ignored goal {index} depends on other goals")
    for goal in goals[: len(goals) - ignored]:
        if set(goal.sibling_dep).intersection(tail):
            raise InvalidRequest("an active goal depends on an ignored goal")


def _classify(before: Sequence[Goal], state: ProofState, ignored: int) -> TacticResult:
    """ProofComplete when only the ignored goals remain; TacticError if they were touched."""
    goals = state.goals
    if ignored == 0:
        return state if goals else ProofComplete(state)
    kept, tail = goals[: len(goals) - ignored], goals[len(goals) - ignored :]
    expected = before[len(before) - ignored :]
    same = len(tail) == ignored and all(
        a.same_shape(b) and (not a.mvar_id or not b.mvar_id or a.mvar_id == b.mvar_id)
        for a, b in zip(tail, expected, strict=True)
    )
    if not same:
        return rejection("the tactic changed the ignored goals")
    span = range(len(kept), len(goals))
    if any(set(g.sibling_dep).intersection(span) for g in kept):
        return rejection("a remaining goal depends on the ignored goals")
    return state if kept else ProofComplete(state)
