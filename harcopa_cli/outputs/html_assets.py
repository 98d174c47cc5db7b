"""The stylesheet and script inlined into ``report.html`` (no CDN, no external font or file).

Used by ``outputs/html.py``. The script only filters: it reads and sets ``hidden`` and
``textContent``, never ``innerHTML``, so no model text is ever parsed as markup. The filter
state lives in the URL fragment (``#status=unsolved&outcome=wrong_answer&q=minif2f``, and
``&expand=1`` to open the problems shown), so a filtered view can be bookmarked or shared with
the file.
"""

from __future__ import annotations

CSS = """
:root { --fg: #1d2330; --muted: #5b6473; --line: #d8dde6; --bg: #f7f8fa; --card: #fff;
  --ok: #1a7f37; --bad: #b42318; --warn: #9a6700; --info: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 18px 22px 60px; }
h1 { font-size: 21px; margin: 4px 0 10px; }
h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
h4 { margin: 10px 0 6px; font-size: 14px; }
h5 { margin: 10px 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
pre, code { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre { background: #f1f3f6; border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px;
  margin: 3px 0; white-space: pre-wrap; word-break: break-word; }
.banner { background: #fff4e5; border: 2px solid var(--warn); border-radius: 6px;
  padding: 8px 12px; margin: 10px 0; font-weight: 600; }
.note { background: #eef5ff; border-left: 4px solid var(--info); padding: 6px 10px; margin: 6px 0; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
table { border-collapse: collapse; background: var(--card); margin: 4px 0; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eef0f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plots img { max-width: 100%; border: 1px solid var(--line); background: #fff; margin: 4px 0; }
.filters { position: sticky; top: 0; z-index: 2; background: var(--bg); padding: 8px 0;
  display: flex; flex-wrap: wrap; gap: 14px; align-items: center;
  border-bottom: 1px solid var(--line); }
.filters input { width: 240px; padding: 3px 6px; }
#shown { color: var(--muted); }
details.problem { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  margin: 6px 0; }
details.problem > summary { cursor: pointer; padding: 7px 10px; display: flex; gap: 12px;
  align-items: baseline; flex-wrap: wrap; }
details.problem[open] > summary { border-bottom: 1px solid var(--line); }
.pid { font-weight: 600; font-family: ui-monospace, monospace; }
.meta { color: var(--muted); font-size: 12.5px; }
.body { padding: 4px 12px 10px; }
.attempt { border-left: 3px solid var(--line); padding: 2px 0 6px 10px; margin: 10px 0; }
.attempt.solved { border-left-color: var(--ok); }
.attempt.error { border-left-color: var(--warn); }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px;
  font-weight: 600; background: #e6e8ec; color: var(--fg); }
.badge.solved { background: #dafbe1; color: var(--ok); }
.badge.unsolved, .badge.wrong_answer, .badge.invalid_submission, .badge.gap_unproven,
.badge.rejected, .badge.budget_exhausted { background: #ffebe9; color: var(--bad); }
.badge.errored, .badge.error, .badge.unfinished { background: #fff4e5; color: var(--warn); }
.why { color: var(--bad); }
ol.steps { padding-left: 22px; margin: 4px 0; }
ol.steps > li { margin: 6px 0; }
.gap { margin: 2px 0 0 6px; color: var(--muted); }
.gap code { color: var(--fg); }
details.state > summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
table.rejected { width: 100%; }
table.rejected td.num { width: 3em; }
table.rejected td:nth-child(2) { width: 72%; }
table.rejected pre { margin: 0; }
.toolbar button { font-size: 12.5px; }
"""

SCRIPT = """
(function () {
  "use strict";
  var status = document.getElementById("status-filter");
  var outcome = document.getElementById("outcome-filter");
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var problems = Array.prototype.slice.call(document.querySelectorAll("details.problem"));
  function matches(p, s, o, q) {
    if (s && p.dataset.status !== s) return false;
    if (o && p.dataset.outcomes.split(" ").indexOf(o) < 0) return false;
    return !q || p.dataset.id.toLowerCase().indexOf(q) >= 0;
  }
  function apply() {
    var s = status.value, o = outcome.value, q = search.value.trim().toLowerCase();
    var count = 0;
    problems.forEach(function (p) {
      var ok = matches(p, s, o, q);
      p.hidden = !ok;
      if (ok) count += 1;
    });
    shown.textContent = count + " of " + problems.length + " problems shown";
    var params = new URLSearchParams();
    if (s) params.set("status", s);
    if (o) params.set("outcome", o);
    if (q) params.set("q", q);
    try { history.replaceState(null, "", "#" + params.toString()); } catch (e) { /* file: */ }
  }
  var initial = new URLSearchParams(location.hash.replace(/^#/, ""));
  status.value = initial.get("status") || "";
  outcome.value = initial.get("outcome") || "";
  search.value = initial.get("q") || "";
  status.addEventListener("change", apply);
  outcome.addEventListener("change", apply);
  search.addEventListener("input", apply);
  function openAll(open) {
    problems.forEach(function (p) { if (!p.hidden) p.open = open; });
  }
  document.getElementById("expand").addEventListener("click", function () { openAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { openAll(false); });
  apply();
  if (initial.get("expand") === "1") openAll(true);
  document.body.dataset.ready = "true";
})();
"""
