"""``report.md``: the run's table, cost, plots, provenance and one row per problem, as Markdown.

Called by ``outputs/folder.py`` with the RunDocument that ``report.html`` renders too. Model
text (steps, submissions) is not shown here (report.html has the whole search); what is shown
of it is escaped so that it cannot break the table.
"""

from __future__ import annotations

import json
from typing import Any

from harcopa_cli.outputs.cost import ESTIMATE_NOTE, cost_rows
from harcopa_cli.outputs.document import RunDocument


def _cell(text: object) -> str:
    """A table cell: no newlines, pipes escaped, text that would be Markdown markup escaped."""
    flat = " ".join(str(text).split())
    for char in "\\|*_`<>[]":
        flat = flat.replace(char, "\\" + char)
    return flat


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _problem_row(sample: dict[str, Any]) -> tuple[str, ...]:
    outcomes = ", ".join(a["outcome"] for a in sample["attempts"]) or "—"
    budget = sample["paper_budget"]
    return (
        sample["problem_id"],
        sample["status"] + (" (excluded)" if sample["excluded"] else ""),
        str(sample["attempt_count"]),
        outcomes,
        "—" if budget is None else f"{budget:g}" if isinstance(budget, float) else str(budget),
        str(sample["charged"]),
        str(sample["rejected_candidates"]),
        f"{sample['wall_seconds']:.1f}",
    )


def _provenance(provenance: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("harcopa", "models", "lean"):
        value = provenance.get(key)
        if isinstance(value, str):
            lines.append(f"- **{key}**: {value}")
        else:
            lines.append(f"- **{key}**: `{json.dumps(value, ensure_ascii=False)}`")
    return lines


def render_markdown(doc: RunDocument) -> str:
    """The whole report.md."""
    lines = [f"# {doc.title}", ""]
    for line in doc.banner():
        lines.append(f"> **{line}**")
    if doc.banner():
        lines.append("")
    lines += [f"> {note}" for note in doc.notes()]
    lines += ["", *(f"- {label}: {value}" for label, value in doc.figures())]
    lines += ["", "## The paper's table", "", "```text", doc.report.render(banner=False), "```", ""]
    lines += ["## Cost", ""]
    lines += _table(("figure", "total", "per problem", "per solved problem"), cost_rows(doc.cost))
    if doc.cost["money_estimate"] is not None:
        lines += ["", f"Money figures are an {ESTIMATE_NOTE}."]
    lines += ["", "## Plots", ""]
    lines += [f"![{caption}]({name})" for name, caption in doc.plots] or [doc.plots_note]
    lines += ["", "## Provenance", "", *_provenance(doc.provenance), ""]
    lines += [
        "## Problems",
        "",
        f"Budget is the paper's Budget of the problem; charged counts {doc.budget_unit()};"
        " report.html shows each search step by step.",
        "",
    ]
    head = ("problem", "status", "attempts", "outcomes", "budget", "charged", "rejected", "wall s")
    lines += _table(head, [_problem_row(s) for s in doc.samples])
    return "\n".join(lines) + "\n"
