"""``report.html``: one self-contained page per run showing, per problem, the search that happened.

Called by ``outputs/folder.py`` with the RunDocument report.md renders too, and the plots'
PNG bytes (inlined as data URIs). For every attempt: the accepted steps with their gap proofs,
every rejected candidate and why, the submission, the RPE tactic, the backward proof, the final
check and forbidden axioms, the draft (whole-draft pipelines) and the cost. Problems filter by
status and attempt outcome and a search box matches problem ids (``html_assets.SCRIPT``).
All model and Lean text is untrusted: every string goes through ``escape``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from harcopa import domain as d
from harcopa_cli.outputs.cost import ESTIMATE_NOTE, cost_rows
from harcopa_cli.outputs.document import RunDocument
from harcopa_cli.outputs.html_assets import CSS, SCRIPT

_STATUSES = ("solved", "unsolved", "errored", "unfinished")
_OUTCOMES = tuple(o.value for o in d.AttemptOutcome)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _pre(text: str, cls: str = "") -> str:
    return f'<pre class="{cls}">{_e(text)}</pre>' if cls else f"<pre>{_e(text)}</pre>"


def _badge(value: str) -> str:
    return f'<span class="badge {_e(value)}">{_e(value.replace("_", " "))}</span>'


def _state(text: str, label: str = "solution state shown to the model") -> str:
    if not text:
        return ""
    return f'<details class="state"><summary>{_e(label)}</summary>{_pre(text)}</details>'


def _tactics(tactics: Sequence[dict[str, Any]] | None, label: str) -> str:
    if not tactics:
        return ""
    items = "".join(
        f"<li><code>{_e(t['tactic'])}</code> on goal {t['goal_index']}"
        f"{_state(t['prompt_state'], 'goal shown to the prover')}</li>"
        for t in tactics
    )
    return f'<div class="gap">{_e(label)}<ol>{items}</ol></div>'


def _steps(attempt: dict[str, Any]) -> str:
    if not attempt["steps"]:
        return ""
    items = "".join(
        f"<li>{_state(s['prompt_state'])}{_pre(s['text'], 'lean')}"
        f"{_tactics(s['gap_proof'], 'gap proof (tactics):')}</li>"
        for s in attempt["steps"]
    )
    return f'<h5>Accepted steps ({len(attempt["steps"])})</h5><ol class="steps">{items}</ol>'


def _rejected(attempt: dict[str, Any]) -> str:
    """Rejected candidates in order, the solution state shown once per run of equal states."""
    rejected = attempt["rejected"]
    if not rejected:
        return ""
    rows, previous = [], None
    for number, item in enumerate(rejected, 1):
        if item["prompt_state"] and item["prompt_state"] != previous:
            rows.append(f'<tr><td colspan="3">{_state(item["prompt_state"])}</td></tr>')
        previous = item["prompt_state"] or previous
        rows.append(
            f'<tr><td class="num">{number}</td><td>{_pre(item["text"]) if item["text"] else ""}'
            f'</td><td class="why">{_e(item["reason"])}</td></tr>'
        )
    return (
        f"<h5>Rejected candidates ({len(rejected)})</h5>"
        '<table class="rejected"><tr><th>#</th><th>candidate</th><th>why</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _facts(pairs: Iterable[tuple[str, object]]) -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in pairs)
    return f'<dl class="facts">{items}</dl>'


def _submission(attempt: dict[str, Any]) -> str:
    parts = []
    if attempt["draft"] is not None:
        parts += ["<h5>Whole draft</h5>", _state(attempt["prompt_state"]), _pre(attempt["draft"])]
        parts.append(_tactics(attempt["gap_proof"], "gap proofs (tactics, in order):"))
    if attempt["submission_step"] is not None:
        parts += ["<h5>Submission</h5>", _state(attempt["prompt_state"])]
        parts.append(_pre(attempt["submission_step"], "lean"))
    checks = [
        ("submitted proposition", attempt["submission"]),
        ("RPE tactic", attempt["rpe_tactic"]),
        ("final check", attempt["final_check_ok"]),
        ("strict audit (paper mode)", attempt["strict_audit_passed"]),
        ("forbidden axioms", ", ".join(attempt["forbidden_axioms"]) or None),
    ]
    shown = [(k, "—" if v is None else v) for k, v in checks if v is not None or k == "RPE tactic"]
    if attempt["submission_step"] is not None or attempt["draft"] is not None:
        parts.append(_facts(shown))
    parts.append(_tactics(attempt["backward_proof"], "backward proof of h.mpr (tactics):"))
    return "".join(parts)


def _cost_line(stats: dict[str, Any]) -> str:
    return (
        f"{stats['model_calls']} model calls, {stats['prompt_tokens']} prompt tokens"
        f" ({stats['cached_prompt_tokens']} cached), {stats['completion_tokens']} completion"
        f" tokens, {stats['model_seconds']:.2f} model s, {stats['lean_seconds']:.2f} Lean s,"
        f" {stats['verifier_overhead_seconds']:.2f} verifier overhead s,"
        f" {stats['wait_seconds']:.2f} s waiting, {stats['tactic_calls']} Lean calls"
    )


def _attempt(attempt: dict[str, Any]) -> str:
    outcome = attempt["outcome"]
    head = (
        f'<h4>Attempt {attempt["index"]} {_badge(outcome)} <span class="meta">charged'
        f" {attempt['charged']}, paper budget {_e(attempt['paper_budget'])}, seed"
        f" {_e(attempt['seed'] if attempt['seed'] is not None else 'unseeded')}</span></h4>"
    )
    detail = f'<p class="why">{_e(attempt["detail"])}</p>' if attempt["detail"] else ""
    body = _steps(attempt) + _rejected(attempt) + _submission(attempt)
    cost = f'<p class="meta">cost: {_e(_cost_line(attempt["stats"]))}</p>'
    cls = "solved" if attempt["solved"] else "error" if attempt["errored"] else ""
    return (
        f'<div class="attempt {cls}" data-outcome="{_e(outcome)}">{head}{detail}{body}{cost}</div>'
    )


def _problem(sample: dict[str, Any]) -> str:
    outcomes = " ".join(dict.fromkeys(a["outcome"] for a in sample["attempts"]))
    budget = sample["paper_budget"]
    meta = [
        f"{sample['attempt_count']} attempt{'' if sample['attempt_count'] == 1 else 's'}",
        f"budget {'—' if budget is None else budget}",
        f"charged {sample['charged']}",
        f"{sample['rejected_candidates']} rejected",
        f"{sample['wall_seconds']:.1f} s",
    ]
    if sample["excluded"]:
        meta.append("excluded by the paper's lists")
    attempts = "".join(_attempt(a) for a in sample["attempts"]) or "<p>No attempt yet.</p>"
    cost = f'<p class="meta">problem cost: {_e(_cost_line(sample["cost"]))}</p>'
    return (
        f'<details class="problem" data-id="{_e(sample["problem_id"])}"'
        f' data-status="{_e(sample["status"])}" data-outcomes="{_e(outcomes)}">'
        f'<summary><span class="pid">{_e(sample["problem_id"])}</span>'
        f'{_badge(sample["status"])}<span class="meta">{_e(" · ".join(meta))}</span></summary>'
        f'<div class="body">{attempts}{cost}</div></details>'
    )


def _options(values: Sequence[str], counts: dict[str, int], label: str, element: str) -> str:
    options = [f'<option value="">{_e(label)}</option>'] + [
        f'<option value="{_e(v)}">{_e(v.replace("_", " "))} ({counts.get(v, 0)})</option>'
        for v in values
    ]
    return f'<select id="{element}">{"".join(options)}</select>'


def _filters(samples: Sequence[dict[str, Any]]) -> str:
    statuses: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    for sample in samples:
        statuses[sample["status"]] = statuses.get(sample["status"], 0) + 1
        for outcome in {a["outcome"] for a in sample["attempts"]}:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return (
        '<div class="filters">'
        f"<label>Problem status {_options(_STATUSES, statuses, 'all', 'status-filter')}</label>"
        "<label>Has an attempt that ended "
        f"{_options(_OUTCOMES, outcomes, 'any way', 'outcome-filter')}</label>"
        '<label>Problem id <input id="search" type="search" placeholder="e.g. /12"></label>'
        '<span class="toolbar"><button id="expand" type="button">expand shown</button> '
        '<button id="collapse" type="button">collapse all</button></span>'
        '<span id="shown"></span></div>'
    )


def _overview(doc: RunDocument, images: dict[str, bytes]) -> str:
    parts = [f'<div class="banner">{_e(line)}</div>' for line in doc.banner()]
    parts += [f'<div class="note">{_e(note)}</div>' for note in doc.notes()]
    parts.append(_facts(doc.figures()))
    parts += ["<h2>The paper's table</h2>", _pre(doc.report.render(banner=False))]
    head = "".join(f"<th>{h}</th>" for h in ("figure", "total", "per problem", "per solved"))
    rows = "".join(
        f"<tr><td>{_e(r[0])}</td>" + "".join(f'<td class="num">{_e(c)}</td>' for c in r[1:])
        for r in cost_rows(doc.cost)
    )
    parts += ["<h2>Cost</h2>", f"<table><tr>{head}</tr>{rows}</table>"]
    if doc.cost["money_estimate"] is not None:
        parts.append(f'<p class="meta">Money figures are an {_e(ESTIMATE_NOTE)}.</p>')
    parts.append('<h2>Plots</h2><div class="plots">')
    for name, caption in doc.plots:
        if name in images:
            data = base64.b64encode(images[name]).decode("ascii")
            parts.append(f'<img src="data:image/png;base64,{data}" alt="{_e(caption)}">')
    if doc.plots_note:
        parts.append(f'<p class="meta">{_e(doc.plots_note)}</p>')
    parts.append("</div>")
    return "".join(parts)


def render_html(doc: RunDocument, images: dict[str, bytes]) -> str:
    """The whole report.html (one file: styles, script and plots inline)."""
    problems = "".join(_problem(s) for s in doc.samples)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(doc.title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{_e(doc.title)}</h1>{_overview(doc, images)}"
        f"<h2>Problems ({len(doc.samples)})</h2>{_filters(doc.samples)}"
        f'<div id="problems">{problems}</div>'
        f"</main><script>{SCRIPT}</script></body></html>\n"
    )
