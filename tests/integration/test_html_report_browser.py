"""report.html in headless Chromium: its filters hide and show the right problems, a candidate
holding ``<script>`` stays text, and a screenshot of an expanded problem renders.

Needs Debian's ``chromium`` (or ``$HARCOPA_CHROMIUM``); skipped with the reason where it is
absent. The filters are driven through the URL fragment (``#status=...&outcome=...&q=...``),
which the page reads on load; ``--dump-dom`` prints the DOM after its script ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harcopa_cli.main import main
from tests.run_folder_data import recorded_store

ALL = ["problems/0", "problems/1", "problems/2", "problems/3"]


def _chromium() -> str:
    found = os.environ.get("HARCOPA_CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None
    )
    if not found:
        pytest.skip("Chromium not found (apt-get install chromium, or set $HARCOPA_CHROMIUM)")
    return found


class _Problems(HTMLParser):
    """Collects each problem's id and whether it is hidden, the count line and the title."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[str] = []
        self.hidden: list[str] = []
        self.ready = False
        self._capture = ""
        self.texts: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "details" and "problem" in (values.get("class") or "").split():
            (self.hidden if "hidden" in values else self.shown).append(values["data-id"] or "")
        if tag == "body":
            self.ready = values.get("data-ready") == "true"
        if tag == "title" or values.get("id") == "shown":
            self._capture = "title" if tag == "title" else "shown"

    def handle_data(self, data: str) -> None:
        if self._capture:
            self.texts[self._capture] = self.texts.get(self._capture, "") + data

    def handle_endtag(self, tag: str) -> None:
        self._capture = ""


def _browse(chromium: str, page: Path, fragment: str, profile: Path, *flags: str) -> str:
    headless = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    done = subprocess.run(
        [chromium, *headless, f"--user-data-dir={profile}", *flags, page.as_uri() + fragment],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run-folder")
    store, _, _ = recorded_store(folder)
    args = ["--store", str(store), "--no-exclusions", "--output-dir", str(folder / "out")]
    assert main(["run", "report", "run-har", *args]) == 0
    return folder / "out" / "run-har" / "report.html"


@pytest.mark.parametrize(
    ("fragment", "shown"),
    [
        ("", ALL),
        ("#status=solved", ["problems/0"]),
        ("#status=unfinished", ["problems/3"]),
        ("#outcome=wrong_answer", ["problems/0"]),
        ("#outcome=budget_exhausted", ["problems/1"]),
        ("#status=errored&outcome=error", ["problems/2"]),
        ("#q=%2F2", ["problems/2"]),
        ("#status=unsolved&q=%2F0", []),
    ],
)
def test_the_filters_hide_and_show_the_right_problems(
    page: Path, tmp_path: Path, fragment: str, shown: list[str]
) -> None:
    dom = _Problems()
    dom.feed(_browse(_chromium(), page, fragment, tmp_path / "profile", "--dump-dom"))
    assert dom.ready  # the page's script ran to its end
    assert dom.shown == shown
    assert dom.hidden == [p for p in ALL if p not in shown]
    assert dom.texts["shown"] == f"{len(shown)} of 4 problems shown"
    assert dom.texts["title"].startswith("Run run-har")  # the candidate's script never ran


def test_a_screenshot_of_an_expanded_problem_renders(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    size = ["--hide-scrollbars", "--window-size=1280,4200", f"--screenshot={shot}"]
    _browse(_chromium(), page, "#q=problems%2F0&expand=1", tmp_path / "profile", *size)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
    keep = os.environ.get("HARCOPA_SCREENSHOT_DIR")
    if keep:  # for a person to look at
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report-html.png")
