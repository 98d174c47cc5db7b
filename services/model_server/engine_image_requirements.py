"""Prints the requirements harcopa adds to an inference-engine image; run by the model_server
Dockerfiles at build time (and by tests/unit/test_images.py).

Usage: ``python3 engine_image_requirements.py EXTRA [pyproject.toml]``. The output is the
project's core dependencies plus the named extra, less the packages the engine image already
provides in versions it was built against (torch and friends, transformers, vllm): installing
the extra as it stands would replace the image's torch with the CPU pin.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

#: Distributions the engine image owns; never reinstalled over it.
ENGINE_PACKAGES = frozenset(
    {"torch", "torchvision", "torchaudio", "transformers", "vllm", "vllm-ascend", "torch-npu"}
)


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a PEP 508 requirement string."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def requirements(pyproject: Path, extra: str) -> list[str]:
    """Core dependencies and ``extra``'s, without the engine's packages, in file order."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    if extra not in extras:
        raise SystemExit(f"pyproject.toml has no extra {extra!r} (it has {', '.join(extras)})")
    wanted = [*project["dependencies"], *extras[extra]]
    return [r for r in wanted if requirement_name(r) not in ENGINE_PACKAGES]


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    pyproject = Path(argv[1]) if len(argv) == 2 else Path("pyproject.toml")
    print("\n".join(requirements(pyproject, argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
