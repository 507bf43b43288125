"""The status page in a real browser: headless Debian Chromium driven by playwright-core, with
axe-core (both pinned in statuspage/browser/package-lock.json, installed by `scripts/bootstrap --test`)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statuspage.build import render_status_page

from .browser_page import check_page, needs_browser, served

pytestmark = needs_browser


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("site")
    render_status_page(site)
    with served(site) as root:
        yield f"{root}index.html"


@pytest.fixture(scope="module")
def browser_run(site_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return check_page(site_url, tmp_path_factory.mktemp("screenshots"))


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
