"""The exact prompt strings of a reference checkout, written as a harcopa templates file.

Called by harcopa_cli.prompts (``harcopa prompts import``, ``harcopa eval --reference``). Steps:
check the files' hashes (release.py); compile each prompt builder alone (source.py, tasks.py);
call it with a unique marker in every field and turn the markers into ``{placeholders}``
(literal braces doubled); write the TOML file; load it back with harcopa.prompts and compare its
renderings with the builders' output on further inputs (braces, backticks, quotes, unicode,
empty fields), byte for byte. The file is only put in place when every comparison holds.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harcopa.domain import OPEN_HEADER
from harcopa.errors import InvalidRequest
from harcopa.prompts import TASK_FIELDS, TASKS, PromptTemplates
from harcopa.reference.release import RELEASE, RELEASED_FILES, read_checked
from harcopa.reference.source import ReferenceMismatch, ReferenceSource
from harcopa.reference.tasks import OPEN_TARGET, SOLUTION_CASE, TaskSite, task_sites

_INFORMAL = (
    "Find {x} with `x` = 2: ∑ᵢ aᵢ → √2, ε > 0; ''' \"\"\" ```lean4 {{}} }",
    "",
    "line 1\n\nline 3 — «quoted» ‘text’\n",
)
_ANSWERS = ("2", "", "{√3} and `x` ≠ 0")
_GOALS = (
    "x y : ℕ\nh₀ : {y | y > 0} = ∅\n⊢ x = `1`",
    "⊢ True",
    "case inl\np : Prop\n⊢ p ∨ ¬p\ncase inr\n⊢ {} = {{}}",
)
_SOLUTION_STATES = (
    "case h.mp\nx y : ℕ\nh₀ : {y | y > 0} = ∅\n⊢ ?w",
    "case h.mp\n⊢ ?w",
    'case h.mp\nanswer : ℝ\nh : answer = √2 ∧ "`x`" = """\n⊢ ?w',
)
_INITIAL_STATES = (
    "case h.mp\nanswer : ℕ\nh₀ : answer = {1}\n⊢ ?w",
    "case h.mp\n⊢ ?w",
    "case h.mp\nf : ℝ → ℝ\nh : ∀ x, f x = `x` ^ 2\n⊢ ?w ∧ answer = f 3",
)
_STATEMENTS = (
    "example\n(answer : ℕ)\n(h : answer = {2} ∧ `x` = 1)\n: answer = 2\n:= by",
    "example\n:= by",
    "theorem t (x : ℝ) :\n  x = x -- «» ∀ ε ''' \"\"\"\n:= by",
)
_HEADERS = (OPEN_HEADER, "", "open Real\nopen {Nat}\n")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What ``import_reference`` wrote and how much it compared."""

    path: Path
    tasks: tuple[str, ...]
    comparisons: int
    released: bool


def _values(task: str, field: str) -> tuple[str, ...]:
    if field == "solution_state":
        return _SOLUTION_STATES if task.startswith("next_solution") else _INITIAL_STATES
    return {
        "goal": _GOALS,
        "informal_answer": _ANSWERS,
        "formal_statement": _STATEMENTS,
        "header": _HEADERS,
    }.get(field, _INFORMAL)


def _probe(task: str, field: str, marker: str) -> str:
    """A value of ``field`` that carries ``marker`` and has the shape harcopa gives the field."""
    if field == "solution_state":
        tail = "\n" + OPEN_TARGET if task.startswith("next_solution") else ""
        return SOLUTION_CASE + marker + tail
    if field == "formal_statement":
        return marker + "\n:= by"
    return marker


def _call(site: TaskSite, fields: Mapping[str, str], default: str) -> tuple[str, str]:
    try:
        system, user = site.call(fields)
    except Exception as error:  # the reference's own assertions or harcopa's field shapes
        raise ReferenceMismatch(f"{site.task}: the reference builder failed: {error!r}") from error
    return (default if system is None else system), user


def _template(site: TaskSite, default: str) -> tuple[str, str]:
    """(system, user template) of one task, from the builder's output on marker fields."""
    token = secrets.token_hex(6)
    fields = sorted(TASK_FIELDS[site.task])
    probes = {f: _probe(site.task, f, f"\u2063harcopa-field-{f}-{token}\u2063") for f in fields}
    system, user = _call(site, probes, default)
    by_value = {value: field for field, value in probes.items()}
    pattern = re.compile("|".join(re.escape(v) for v in sorted(by_value, key=len, reverse=True)))
    parts: list[str] = []
    seen: set[str] = set()
    last = 0
    for match in pattern.finditer(user):
        parts += [_escape(user[last : match.start()]), "{" + by_value[match.group()] + "}"]
        seen.add(by_value[match.group()])
        last = match.end()
    template = "".join([*parts, _escape(user[last:])])
    if token in template or token in system or seen != set(fields):
        missing = sorted(set(fields) - seen) or fields
        raise ReferenceMismatch(
            f"{site.task}: the reference builds {', '.join(missing)} differently from harcopa"
        )
    return system, template


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


_LITERAL_UNSAFE = re.compile(r"'''|[\x00-\x08\x0b-\x1f\x7f]|'\Z")


def toml_string(text: str, *, multiline: bool = False) -> str:
    """``text`` as a TOML string: a multi-line literal when it can be one, else escaped."""
    if multiline and not _LITERAL_UNSAFE.search(text):
        return "'''\n" + text + "'''"
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    return "\n".join("# " + line if line else "#" for line in text.splitlines())


def render_file(
    default: str, tables: list[tuple[TaskSite, str, str]], root: Path, released: bool
) -> str:
    """The templates TOML for ``tables`` of (site, system, user template)."""
    source = (
        f"{RELEASE}, every file read checked by SHA-256"
        if released
        else ("an UNRELEASED tree (file hashes given by the caller, not the released ones)")
    )
    head = [
        "Prompt templates with the exact strings of the HAR & CoPA reference code,",
        f"written by `harcopa prompts import` from {str(root)!r}.",
        f"Source: {source}.",
        "Placeholders are written {name}; literal braces are doubled.",
    ]
    lines = [_comment("\n".join(head)), "", "[system]"]
    lines += ["# SYSTEM_PROMPT_SFT of common/constants.py.", f"default = {toml_string(default)}"]
    for site, system, user in tables:
        lines += ["", _comment(f"{site.task}: {site.origin}")]
        if site.note:
            lines.append(_comment(site.note))
        lines.append(f"[tasks.{site.task}]")
        if site.task != "statement_autoformalization":
            lines.append(f"system = {toml_string(system)}")
        lines.append(f"user = {toml_string(user, multiline=True)}")
    return "\n".join(lines) + "\n"


def _cases(task: str) -> list[dict[str, str]]:
    fields = sorted(TASK_FIELDS[task])
    return [
        {f: _values(task, f)[(i + k) % len(_values(task, f))] for k, f in enumerate(fields)}
        for i in range(3)
    ]


def _first_difference(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def verify(path: Path, sites: list[TaskSite], default: str) -> int:
    """Compare the file's renderings with the builders' output; the number of comparisons."""
    templates = PromptTemplates.load(path)
    count = 0
    for site in sites:
        for fields in _cases(site.task):
            prompt = templates.render(site.task, **fields)
            ours = (prompt.messages[0].content, prompt.messages[1].content)
            theirs = _call(site, fields, default)
            for role, mine, reference in zip(("system", "user"), ours, theirs, strict=True):
                if mine != reference:
                    at = _first_difference(mine, reference)
                    raise ReferenceMismatch(
                        f"{site.task}: our {role} text differs from the reference's at character"
                        f" {at}: {mine[at : at + 40]!r} vs {reference[at : at + 40]!r}"
                    )
            count += 1
    return count


def import_reference(
    root: Path, out: Path, *, hashes: Mapping[str, str] | None = None
) -> ImportResult:
    """Write the templates of the reference at ``root`` to ``out`` (checked by hash first)."""
    root, out = Path(root), Path(out)
    released = hashes is None or dict(hashes) == dict(RELEASED_FILES)
    texts = read_checked(root, RELEASED_FILES if hashes is None else hashes)
    files = {relative: ReferenceSource(relative, texts[relative]) for relative in RELEASED_FILES}
    default, sites = task_sites(files)
    if [site.task for site in sites] != list(TASKS):
        raise ReferenceMismatch("the reference sites do not cover harcopa's tasks")
    tables = [(site, *_template(site, default)) for site in sites]
    staged = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(render_file(default, tables, root, released), encoding="utf-8")
    except OSError as error:
        raise InvalidRequest(f"cannot write {out}: {error}") from error
    try:
        comparisons = verify(staged, sites, default)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    try:
        staged.replace(out)
    except OSError as error:
        staged.unlink(missing_ok=True)
        raise InvalidRequest(f"cannot write {out}: {error}") from error
    return ImportResult(out, tuple(TASKS), comparisons, released)
