"""Conversions of the types in ``verifier.proto``: sessions, drafts, validations, file checks.

Part of the ``harcopa.wire`` package, the only proto <-> domain conversion code.
"""

from __future__ import annotations

from harcopa import domain as d
from harcopa.v1 import verifier_pb2 as v
from harcopa.wire.common import (
    from_framework,
    from_parsed,
    from_state,
    from_tactic_result,
    inverse,
    to_framework,
    to_parsed,
    to_state,
    to_tactic_result,
)

_SEVERITY = {
    d.Severity.INFO: v.LeanMessage.SEVERITY_INFO,
    d.Severity.WARNING: v.LeanMessage.SEVERITY_WARNING,
    d.Severity.ERROR: v.LeanMessage.SEVERITY_ERROR,
}
_SEVERITY_R = inverse(_SEVERITY)


def to_file_check(check: d.FileCheck) -> v.CheckFileResponse:
    return v.CheckFileResponse(
        ok=check.ok,
        messages=[
            v.LeanMessage(severity=_SEVERITY[x.severity], text=x.text, line=x.line, column=x.column)
            for x in check.messages
        ],
        sorries=check.sorries,
        axioms=list(check.axioms),
        seconds=check.seconds,
        forbidden_axioms=list(check.forbidden_axioms),
    )


def from_file_check(msg: v.CheckFileResponse) -> d.FileCheck:
    return d.FileCheck(
        ok=msg.ok,
        messages=tuple(
            d.Message(_SEVERITY_R.get(x.severity, d.Severity.INFO), x.text, x.line, x.column)
            for x in msg.messages
        ),
        sorries=msg.sorries,
        axioms=tuple(msg.axioms),
        seconds=msg.seconds,
        forbidden_axioms=tuple(msg.forbidden_axioms),
    )


def to_session(session: d.Session) -> v.OpenSessionResponse:
    return v.OpenSessionResponse(
        session_id=session.session_id,
        replica_id=session.replica_id,
        parsed=to_parsed(session.parsed),
        states=[
            v.FrameworkState(framework=to_framework(kind), state=to_state(state))
            for kind, state in session.states
        ],
    )


def from_session(msg: v.OpenSessionResponse) -> d.Session:
    return d.Session(
        session_id=msg.session_id,
        parsed=from_parsed(msg.parsed),
        states=tuple((from_framework(s.framework), from_state(s.state)) for s in msg.states),
        replica_id=msg.replica_id,
    )


def to_draft(draft: d.Draft) -> v.ApplyStepResponse:
    return v.ApplyStepResponse(result=to_tactic_result(draft.result), gap_count=draft.gap_count)


def from_draft(msg: v.ApplyStepResponse) -> d.Draft:
    return d.Draft(from_tactic_result(msg.result), msg.gap_count)


def to_validation(validation: d.Validation) -> v.ValidateSubmissionResponse:
    msg = v.ValidateSubmissionResponse(result=to_tactic_result(validation.result))
    if validation.submission is not None:
        msg.submission = validation.submission
    return msg


def from_validation(msg: v.ValidateSubmissionResponse) -> d.Validation:
    submission = msg.submission if msg.HasField("submission") else None
    return d.Validation(from_tactic_result(msg.result), submission)


def to_equivalence(equivalence: d.Equivalence) -> v.CheckEquivalenceResponse:
    msg = v.CheckEquivalenceResponse(
        supervised=equivalence.supervised,
        messages=list(equivalence.messages),
        lean_seconds=equivalence.lean_seconds,
    )
    if equivalence.tactic is not None:
        msg.tactic = equivalence.tactic
    return msg


def from_equivalence(msg: v.CheckEquivalenceResponse) -> d.Equivalence:
    return d.Equivalence(
        tactic=msg.tactic if msg.HasField("tactic") else None,
        supervised=msg.supervised,
        messages=tuple(msg.messages),
        lean_seconds=msg.lean_seconds,
    )


_INFO_FIELDS = (
    "replica_id",
    "backend",
    "version",
    "lean_version",
    "mathlib_version",
    "pantograph_version",
    "pool_size",
    "session_capacity",
    "sessions_open",
    "processes_warm",
)


def to_verifier_info(info: d.VerifierInfo) -> v.DescribeResponse:
    fields = {name: getattr(info, name) for name in _INFO_FIELDS}
    return v.DescribeResponse(imports=list(info.imports), **fields)


def from_verifier_info(msg: v.DescribeResponse) -> d.VerifierInfo:
    fields = {name: getattr(msg, name) for name in _INFO_FIELDS}
    return d.VerifierInfo(imports=tuple(msg.imports), **fields)
