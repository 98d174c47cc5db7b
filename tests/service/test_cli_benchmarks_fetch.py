"""``harcopa benchmarks fetch`` against a local HTTP server started here (never the internet):
pinned files are downloaded, checked by SHA-256 and cached; later commands find them there; a
file that is not the published one and an unreachable source fail with one line each."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harcopa_cli import benchmarks
from tests.conftest import require_benchmarks


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """An HTTP server over a folder; (base URL, the folder, the paths it was asked for)."""
    folder = tmp_path / "www" / "data" / "benchmark"
    folder.mkdir(parents=True)
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(tmp_path / "www"))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/data/benchmark", folder, requests
    finally:
        server.shutdown()
        server.server_close()


def _harcopa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harcopa_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _env(cache: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "HARCOPA_BENCHMARK_ROOT"}
    return {**env, "HARCOPA_CACHE_DIR": str(cache)}


def test_fetch_downloads_checks_caches_and_is_found(
    served: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    data = require_benchmarks()
    url, folder, requests = served
    for name in benchmarks.SHA256:
        shutil.copyfile(data / f"{name}.json", folder / f"{name}.json")
    env = _env(tmp_path / "cache")

    first = _harcopa("benchmarks", "fetch", "--from", url, "--json", env=env)
    assert first.returncode == 0, first.stderr
    files = json.loads(first.stdout)["files"]
    assert [f["action"] for f in files] == ["downloaded"] * 4
    assert {f["name"]: f["sha256"] for f in files} == benchmarks.SHA256
    assert sorted(requests) == sorted(f"/data/benchmark/{n}.json" for n in benchmarks.SHA256)

    again = _harcopa("benchmarks", "fetch", "--from", url, "--json", env=env)
    assert [f["action"] for f in json.loads(again.stdout)["files"]] == ["cached"] * 4
    assert len(requests) == 4  # nothing downloaded twice

    listing = _harcopa("benchmarks", "list", "--json", env=env)  # no --benchmark-root given
    assert listing.returncode == 0, listing.stderr
    document = json.loads(listing.stdout)
    assert Path(document["root"]) == benchmarks.cache_dir_for(tmp_path / "cache")
    assert {b["name"]: b["records"] for b in document["benchmarks"]}["minif2f_solving"] == 375


def test_a_file_that_is_not_the_published_one_is_refused(
    served: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    url, folder, _ = served
    (folder / "formal_math500.json").write_text("[]", encoding="utf-8")
    result = _harcopa("benchmarks", "fetch", "--from", url, env=_env(tmp_path / "cache"))
    assert result.returncode == 2
    assert "formal_math500.json" in result.stderr and "not the published file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "cache").rglob("*.json"))  # nothing wrong is kept


def test_unreachable_source_says_how_to_provide_the_files(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _env(tmp_path / "cache")
    result = _harcopa("benchmarks", "fetch", "--from", f"http://127.0.0.1:{port}/x", env=env)
    assert result.returncode == 1
    assert "could not download" in result.stderr and "--benchmark-root" in result.stderr
    missing = _harcopa("benchmarks", "list", env=env)
    assert missing.returncode == 2
    assert "harcopa benchmarks fetch" in missing.stderr


def test_fetch_from_a_local_folder_copies_after_checking(tmp_path: Path) -> None:
    data = require_benchmarks()
    fetched = benchmarks.fetch(str(data), tmp_path / "cache")
    assert [f.action for f in fetched] == ["copied"] * 4
    assert all(f.path.read_bytes() == (data / f.path.name).read_bytes() for f in fetched)
