"""The released files of the paper's reference code that the prompt importer reads, by SHA-256.

Used by harcopa.reference.importer before any file is parsed: the importer executes the prompt
functions it finds, so it accepts only the files of the released commit (or, for tests and
patched forks, a tree whose hashes the caller names explicitly).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from harcopa.errors import InvalidRequest

#: The release whose prompts the published checkpoints were trained and evaluated with.
RELEASE = "github.com/Purewhite2019/har_copa_main@3f6f65c"

#: SHA-256 of each file the importer reads, as released (line endings normalised to LF).
RELEASED_FILES: Mapping[str, str] = MappingProxyType(
    {
        "agent/proof_search.py": (
            "9438c1b10bc3dba7dd100aef8f769959553d485112d5432b9ad4fef02b8b0e3c"
        ),
        "agent/solution_autoregression.py": (
            "c27ad09d91d31245dbaf070c9b88027f5a0362d0c5e2c9626e7b6d5afaebd6ec"
        ),
        "agent/solution_search.py": (
            "39f57ad15bd26021146ad9c58abd0207935412998af6b7128ba6cfc375cf63b7"
        ),
        "agent/solution_autoformalization.py": (
            "fab11e42cb21bfb90ee4adeebc31a958415fb67bb745f99cf4d2a903a94738ca"
        ),
        "common/utils.py": "4e3bf9b3f0ac5d0f02e684f0212ca3391037d5cdf12c36caed08b6d62a7130e1",
        "common/constants.py": ("25a02d380ada02a9e0efbe9ecfc5cfca57090ea2f19c890a87d7a2ee4e3d1a1b"),
        "evaluator/wg.py": "5e914c5afdf320df8db216a7f283cd0d1d57fa26313ce6b547d5429fa94d0cdb",
        "evaluator/h_wg.py": "def4af1c3d40ed0f9c6556bf143b2d6c9dc721cfb452c777560372e0cd7c506a",
    }
)


def normalised_bytes(path: Path) -> bytes:
    """The file's bytes with CRLF line endings read as LF (Python reads source the same way)."""
    return path.read_bytes().replace(b"\r\n", b"\n")


def digest(path: Path) -> str:
    """SHA-256 (hex) of a file as the release check sees it."""
    return hashlib.sha256(normalised_bytes(path)).hexdigest()


def read_checked(root: Path, expected: Mapping[str, str] = RELEASED_FILES) -> dict[str, str]:
    """The text of every file in ``expected`` under ``root``, after checking each one's hash.

    Raises InvalidRequest naming the first file that is missing or differs.
    """
    root = Path(root)
    if not root.is_dir():
        raise InvalidRequest(f"reference folder not found: {root}")
    texts: dict[str, str] = {}
    for relative, wanted in sorted(expected.items()):
        path = root / relative
        if not path.is_file():
            raise InvalidRequest(f"reference file {relative} is missing under {root}")
        data = normalised_bytes(path)
        found = hashlib.sha256(data).hexdigest()
        if found != wanted:
            raise InvalidRequest(
                f"reference file {relative} differs from the released one ({RELEASE}):"
                f" sha256 {found[:16]}…, expected {wanted[:16]}…"
            )
        try:
            texts[relative] = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidRequest(f"reference file {relative} is not UTF-8: {error}") from error
    return texts


def load_hashes(path: Path) -> dict[str, str]:
    """A JSON object ``{relative path: sha256}`` naming the files of an unreleased tree."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidRequest(f"cannot read reference hashes {path}: {error}") from error
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InvalidRequest(f"reference hashes {path}: expected an object of path -> sha256")
    missing = sorted(set(RELEASED_FILES) - set(data))
    if missing:
        raise InvalidRequest(f"reference hashes {path} miss files: {', '.join(missing)}")
    return dict(data)
