"""SFT records: the ``{system, input, output}`` type, its two JSONL forms, and deduplication.

Used by the exporter (``harcopa_trainer.export``, which writes records) and by the training job
(``harcopa_trainer.train``, which reads them). Two forms are read and written:

- ``flat`` (the paper's released dataset): one JSON object per line with ``system``, ``input``
  and ``output``; records we write also carry ``task`` and ``source`` (ignored when read back
  by tools that do not know them);
- ``xtuner``: ``{"conversation": [{"system": ..., "input": ..., "output": ...}]}``, what XTuner
  expects with ``dataset_map_fn=None`` (official-impl §6.1); ``task``/``source`` sit beside it.

Only single-turn conversations are accepted: a record with several turns is bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harcopa.errors import InvalidRequest

RecordFormat = Literal["flat", "xtuner"]
FORMATS: tuple[RecordFormat, ...] = ("flat", "xtuner")


@dataclass(frozen=True, slots=True)
class SftRecord:
    """One supervised example: the chat prompt (system + user input) and the target output.

    ``task`` is one of the seven task ids (``harcopa.prompts.TASKS``) or empty when a read
    record did not say; ``source`` tells where it came from (``run/problem/attempt`` or a file).
    """

    system: str
    input: str
    output: str
    task: str = ""
    source: str = ""

    def to_json(self, form: RecordFormat = "flat") -> dict[str, Any]:
        turn = {"system": self.system, "input": self.input, "output": self.output}
        body: dict[str, Any] = turn if form == "flat" else {"conversation": [turn]}
        return {**body, "task": self.task, "source": self.source}


def _text(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key, "" if key == "system" else None)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}: field {key!r} is missing or not text")
    return value


def record_from_json(obj: object, where: str) -> SftRecord:
    """A record from either form; ``where`` (file:line) goes into errors and ``source``."""
    if not isinstance(obj, dict):
        raise InvalidRequest(f"{where}: a record must be a JSON object")
    turn = obj
    if "conversation" in obj:
        turns = obj["conversation"]
        if not isinstance(turns, list) or len(turns) != 1 or not isinstance(turns[0], dict):
            raise InvalidRequest(f"{where}: 'conversation' must hold exactly one turn object")
        turn = turns[0]
    task = obj.get("task", "")
    source = obj.get("source", "")
    return SftRecord(
        system=_text(turn, "system", where),
        input=_text(turn, "input", where),
        output=_text(turn, "output", where),
        task=task if isinstance(task, str) else "",
        source=source if isinstance(source, str) and source else where,
    )


def read_jsonl(path: Path, what: str) -> Iterator[tuple[str, Any]]:
    """``(file:line, decoded JSON)`` for every non-blank line of a JSONL file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"cannot read {what} {path}: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidRequest(f"{where}: not JSON: {error}") from error


def read_records(path: Path) -> Iterator[SftRecord]:
    """Every record of a JSONL file in either form (blank lines skipped)."""
    for where, obj in read_jsonl(path, "SFT data"):
        yield record_from_json(obj, where)


def write_records(path: Path, records: Iterable[SftRecord], form: RecordFormat = "flat") -> int:
    """Write ``records`` as JSONL in ``form``; the number of lines written."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.to_json(form), ensure_ascii=False) + "\n")
            count += 1
    return count


class Deduplicator:
    """Keeps the first record of each exact (input, output) pair."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def first(self, record: SftRecord) -> bool:
        """True the first time this (input, output) pair is seen."""
        key = (record.input, record.output)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True
