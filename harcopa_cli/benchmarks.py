"""``harcopa benchmarks list|show|fetch`` and where every command finds the benchmark files.

Registered by harcopa_cli/main.py; :func:`resolve_root` is called by ``eval``, ``run report``
and ``export-sft``. The four files are published with the paper's reference code; ``fetch``
downloads them at a pinned revision, checks each against its SHA-256 and keeps them in the
user's cache folder, which every command then uses when ``--benchmark-root`` is not given.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harcopa.errors import BackendUnavailable, InvalidRequest
from harcopa_cli.conventions import add_json_flag, add_parser, print_json

ROOT_ENV = "HARCOPA_BENCHMARK_ROOT"
URL_ENV = "HARCOPA_BENCHMARK_URL"
CACHE_ENV = "HARCOPA_CACHE_DIR"

#: The reference code's commit the files are taken from, and their SHA-256 there.
REVISION = "3f6f65c96d81a510040b59e4618cc9426d7eac89"
SHA256: dict[str, str] = {
    "formal_math500": "0227def1821ed53d9207990c83dab5d1c314ad3a9fa5d78acbb2f0f727ecdd31",
    "minif2f_solving": "c1e87e3b2829619ef567f30af34fe2166ebe3c6cf0d7ae60e1d2ab3afd8fb3b3",
    "putnam_solving": "19579f437326ad1b4f89ef43aba5adb945a2996138765b0efa0a67b3a83d8b60",
    "mathodessy": "189f567d3fb22c21bc489e1b5c5bdf16b99e733da697db3e9dae19f35021b2b2",
}
DEFAULT_URL = (
    f"https://raw.githubusercontent.com/Purewhite2019/har_copa_main/{REVISION}/data/benchmark"
)
#: Limits of one download: the largest file is 1.2 MB.
MAX_BYTES = 32 * 1024 * 1024
TIMEOUT_SECONDS = 60.0

HOW_TO_PROVIDE = (
    "run `harcopa benchmarks fetch` (it downloads them from GitHub), or put the four JSON files"
    " in a folder and pass --benchmark-root DIR (or set $HARCOPA_BENCHMARK_ROOT, or"
    " `harcopa benchmarks fetch --from DIR` to check and cache them)"
)


def cache_dir() -> Path:
    """Where fetched benchmarks live, under ``$HARCOPA_CACHE_DIR`` (default
    ``$XDG_CACHE_HOME/harcopa``, else ``~/.cache/harcopa``)."""
    if os.environ.get(CACHE_ENV):
        return cache_dir_for(Path(os.environ[CACHE_ENV]))
    xdg = os.environ.get("XDG_CACHE_HOME")
    return cache_dir_for((Path(xdg) if xdg else Path.home() / ".cache") / "harcopa")


def cache_dir_for(cache_root: Path) -> Path:
    """The benchmark folder inside the harcopa cache folder ``cache_root``."""
    return cache_root / "benchmarks" / REVISION[:12]


def resolve_root(given: Path | None) -> Path | None:
    """The benchmark folder: as given, else ``$HARCOPA_BENCHMARK_ROOT``, else the cache when it
    holds the files; None when none of them applies."""
    if given is not None:
        return Path(given)
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV])
    cached = cache_dir()
    return cached if all((cached / f"{name}.json").is_file() for name in SHA256) else None


def require_root(given: Path | None) -> Path:
    """:func:`resolve_root`, or bad input saying how to provide the files."""
    root = resolve_root(given)
    if root is None:
        raise InvalidRequest(f"no benchmark files found: {HOW_TO_PROVIDE}")
    if not root.is_dir():
        raise InvalidRequest(f"benchmark folder {root} does not exist")
    return root


def add_root_argument(parser: argparse.ArgumentParser, *aliases: str) -> None:
    parser.add_argument(
        "--benchmark-root",
        *aliases,
        dest="benchmark_root",
        type=Path,
        help="folder with the benchmark JSON files (default: $HARCOPA_BENCHMARK_ROOT, else"
        " the files `harcopa benchmarks fetch` cached)",
    )


@dataclass(frozen=True)
class Fetched:
    name: str
    path: Path
    sha256: str
    bytes: int
    action: str  # "cached" (already there), "downloaded" or "copied"


def fetch(source: str | None = None, destination: Path | None = None) -> list[Fetched]:
    """Put the four files, each checked against :data:`SHA256`, in ``destination`` (the cache).

    ``source`` is a base URL (``…/data/benchmark``) or a local folder; default the pinned
    GitHub location (``$HARCOPA_BENCHMARK_URL`` overrides it). A file already present with the
    right digest is kept. Raises BackendUnavailable when the source cannot be read and
    InvalidRequest when a file is not the published one (nothing wrong is kept).
    """
    source = source or os.environ.get(URL_ENV) or DEFAULT_URL
    target = destination or cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    done = []
    for name, digest in SHA256.items():
        path = target / f"{name}.json"
        if path.is_file() and _sha256(path.read_bytes()) == digest:
            done.append(Fetched(name, path, digest, path.stat().st_size, "cached"))
            continue
        data = _read(source, f"{name}.json")
        got = _sha256(data)
        if got != digest:
            raise InvalidRequest(
                f"{name}.json from {source} is not the published file (SHA-256 {got}, expected"
                f" {digest} at revision {REVISION[:7]})"
            )
        _write_atomically(path, data)
        action = "copied" if _is_folder(source) else "downloaded"
        done.append(Fetched(name, path, digest, len(data), action))
    return done


def _is_folder(source: str) -> bool:
    return "://" not in source or source.startswith("file://")


def _read(source: str, file_name: str) -> bytes:
    if _is_folder(source):
        folder = Path(source.removeprefix("file://"))
        path = folder / file_name
        try:
            if path.stat().st_size > MAX_BYTES:
                raise InvalidRequest(f"{path} is larger than {MAX_BYTES} bytes")
            return path.read_bytes()
        except OSError as error:
            raise InvalidRequest(f"cannot read {path}: {error.strerror}") from error
    url = f"{source.rstrip('/')}/{file_name}"
    if not url.startswith(("https://", "http://")):
        raise InvalidRequest(
            f"unsupported benchmark source {source!r}: use https://, http:// or a folder"
        )
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            data: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise BackendUnavailable(f"could not download {url}: HTTP {error.code}") from error
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise BackendUnavailable(
            f"could not download {url} ({reason}); offline? {HOW_TO_PROVIDE}"
        ) from error
    if len(data) > MAX_BYTES:
        raise InvalidRequest(f"{url} is larger than {MAX_BYTES} bytes")
    return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- the commands -------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add ``benchmarks list``, ``benchmarks show`` and ``benchmarks fetch``."""
    parser = add_parser(subparsers, "benchmarks", help="fetch and inspect the benchmark files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = add_parser(actions, "list", help="records, scored problems and rejections")
    add_root_argument(listing, "--root")
    add_json_flag(listing, "the summary")
    listing.set_defaults(handler=_list)

    show = add_parser(actions, "show", help="one problem's statement and FPS frameworks")
    show.add_argument("name", help="benchmark name")
    show.add_argument("index", type=int, help="record index (0-based)")
    add_root_argument(show, "--root")
    add_json_flag(show, "the problem")
    show.set_defaults(handler=_show)

    get = add_parser(
        actions,
        "fetch",
        help="download the four benchmark files (pinned, SHA-256 checked) into the cache",
    )
    get.add_argument(
        "--from",
        dest="source",
        help=f"base URL or local folder to take them from (default: ${URL_ENV}, else GitHub at"
        f" revision {REVISION[:7]})",
    )
    get.add_argument("--cache-dir", type=Path, help=f"where to keep them (default: {cache_dir()})")
    add_json_flag(get, "what was fetched")
    get.set_defaults(handler=_fetch)


def _fetch(args: argparse.Namespace) -> int:
    fetched = fetch(args.source, args.cache_dir)
    if args.json:
        print_json(
            {
                "revision": REVISION,
                "files": [
                    {
                        "name": f.name,
                        "path": str(f.path),
                        "sha256": f.sha256,
                        "bytes": f.bytes,
                        "action": f.action,
                    }
                    for f in fetched
                ],
            }
        )
        return 0
    for f in fetched:
        print(f"{f.action:<11}{f.path}  sha256 {f.sha256[:16]}…  {f.bytes} bytes")
    return 0


def _summary(root: Path, name: str) -> dict[str, Any]:
    from harcopa.benchmarks import load_benchmark
    from harcopa.fps import parse_fps_from_source

    load = load_benchmark(root, name)
    approximation = []
    for problem in load.problems:
        try:
            parse_fps_from_source(problem.formal_statement)
        except InvalidRequest as error:
            approximation.append({"index": problem.index, "reason": str(error)})
    return {
        "name": name,
        "records": load.records,
        "scored": len(load.scored),
        "excluded": load.excluded_indices,
        "rejected": [{"index": r.index, "reason": r.reason} for r in load.rejections],
        "source_parse_rejected": approximation,
    }


def _list(args: argparse.Namespace) -> int:
    from harcopa.benchmarks import BENCHMARKS

    root = require_root(args.benchmark_root)
    summaries = [_summary(root, name) for name in BENCHMARKS]
    if args.json:
        print_json({"root": str(root), "benchmarks": summaries})
        return 0
    print(f"{'benchmark':<18}{'records':>9}{'scored':>8}{'rejected':>10}{'no-lean parse':>15}")
    for s in summaries:
        print(
            f"{s['name']:<18}{s['records']:>9}{s['scored']:>8}{len(s['rejected']):>10}"
            f"{len(s['source_parse_rejected']):>15}"
        )
    for s in summaries:
        for r in s["rejected"]:
            print(f"rejected {s['name']}/{r['index']}: {r['reason']}")
        for r in s["source_parse_rejected"]:
            print(f"no-lean parse {s['name']}/{r['index']}: {r['reason']} (Lean may accept it)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from harcopa.benchmarks import load_benchmark

    load = load_benchmark(require_root(args.benchmark_root), args.name)
    if not 0 <= args.index < load.records:
        raise InvalidRequest(f"index {args.index} out of range: {args.name} has {load.records}")
    problem = next((p for p in load.problems if p.index == args.index), None)
    if problem is None:
        reason = next(r.reason for r in load.rejections if r.index == args.index)
        raise InvalidRequest(f"{args.name}/{args.index} was rejected: {reason}")
    frameworks = _frameworks(problem.formal_statement)
    if args.json:
        print_json(
            {
                "problem_id": problem.problem_id,
                "header": problem.effective_header,
                "formal_statement": problem.formal_statement,
                "informal_problem": problem.informal_problem,
                "fps": frameworks,
            }
        )
        return 0
    print(f"# {problem.problem_id}")
    print(f"## Header\n{problem.effective_header.rstrip()}")
    print(f"## Formal statement\n{problem.formal_statement}")
    print(_frameworks_text(frameworks))
    return 0


def _frameworks(statement: str) -> dict[str, Any]:
    """The Lean-free FPS approximation of ``statement`` (``{"error": ...}`` when unparsable)."""
    from harcopa.fps import (
        forward_reasoning_statement,
        forward_solving_statement,
        parse_fps_from_source,
        solving_statement,
    )

    try:
        parsed = parse_fps_from_source(statement)
    except InvalidRequest as error:
        return {"error": str(error)}
    return {
        "intros": [v.binder() for v in parsed.intros],
        "answer_type": parsed.answer_type,
        "outros": [v.binder() for v in parsed.outros],
        "formal_answer": parsed.formal_answer,
        "warnings": list(parsed.warnings),
        "forward_reasoning_statement": forward_reasoning_statement(parsed),
        "solving_statement": solving_statement(parsed),
        "forward_solving_statement": forward_solving_statement(parsed),
    }


def _frameworks_text(fps: dict[str, Any]) -> str:
    if "error" in fps:
        return f"## FPS form (Lean-free approximation)\nnot available: {fps['error']}"
    lines = [
        "## FPS form (Lean-free approximation; the verifier parses with Lean)",
        "intros: " + (" ".join(fps["intros"]) or "(none)"),
        f"answer type: {fps['answer_type']}",
        "outros: " + " ".join(fps["outros"]),
        f"formal answer: {fps['formal_answer']}",
        *(f"warning: {w}" for w in fps["warnings"]),
        f"## Forward-reasoning statement\n{fps['forward_reasoning_statement']}",
        f"## Solving statement\n{fps['solving_statement']}",
        f"## Forward-solving statement\n{fps['forward_solving_statement']}",
    ]
    return "\n".join(lines)
