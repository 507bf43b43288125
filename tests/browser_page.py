"""A rendered page in a real browser: served from a directory on 127.0.0.1, then checked by
headless Debian Chromium with axe-core (statuspage/browser/check_page.mjs; pinned in its
package-lock.json, installed by `scripts/bootstrap --test`). Shared by the status page's and the
API reference's tests."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

BROWSER_DIR = Path(__file__).resolve().parent.parent / "statuspage" / "browser"
CHROMIUM = "/usr/bin/chromium"

needs_browser = pytest.mark.skipif(
    not Path(CHROMIUM).exists()
    or shutil.which("node") is None
    or not (BROWSER_DIR / "node_modules" / "axe-core").is_dir(),
    reason="needs Debian's chromium, node and `npm ci` in statuspage/browser (scripts/bootstrap --test installs them)",
)


@contextmanager
def served(directory: Path) -> Iterator[str]:
    """`http://127.0.0.1:<port>/` serving `directory` until the block ends."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def check_page(url: str, screenshots: Path) -> dict[str, Any]:
    """check_page.mjs's report on `url`: axe violations in light and dark mode, requests, layout."""
    completed = subprocess.run(
        ["node", str(BROWSER_DIR / "check_page.mjs"), url, str(screenshots)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=BROWSER_DIR,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)
