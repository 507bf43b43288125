"""The status page in a real browser: headless Debian Chromium driven by playwright-core, with
axe-core (both pinned in statuspage/browser/package-lock.json, installed by `scripts/bootstrap --test`)."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statuspage.build import render_status_page

BROWSER_DIR = Path(__file__).resolve().parent.parent / "statuspage" / "browser"
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists()
    or shutil.which("node") is None
    or not (BROWSER_DIR / "node_modules" / "axe-core").is_dir(),
    reason="needs Debian's chromium, node and `npm ci` in statuspage/browser (scripts/bootstrap --test installs them)",
)


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("site")
    render_status_page(site)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


@pytest.fixture(scope="module")
def browser_run(site_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    shots = tmp_path_factory.mktemp("screenshots")
    completed = subprocess.run(
        ["node", str(BROWSER_DIR / "check_page.mjs"), site_url, str(shots)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=BROWSER_DIR,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)


def test_axe_finds_no_violation_in_light_or_dark_mode(browser_run):
    assert browser_run["violations"] == {"light": [], "dark": []}


def test_no_request_leaves_the_machine(browser_run):
    assert browser_run["requests"]
    assert all(url.startswith("http://127.0.0.1:") for url in browser_run["requests"]), browser_run["requests"]


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_phone_and_dark_mode_screenshots_are_taken(browser_run):
    phone, dark = (Path(path) for path in browser_run["screenshots"])
    # A phone-width page does not scroll sideways: the screenshot is the viewport's width.
    assert png_size(phone)[0] == 390
    assert png_size(dark)[0] == 1280
