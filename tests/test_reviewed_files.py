"""The reviewed files `pulumi up` publishes (status notices, the OpenAPI document) are checked at
the top of the program: a file that does not fit stops the run before any resource is declared,
names every file and key at once, and prints no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.reviewed_files import ReviewedFileError, load_reviewed_files
from stackconfig import StackConfigError

from .conftest import ROOT

DEMO_NOTICE = ROOT / "statuspage" / "demo" / "incidents" / "2026-10-14-api-outage.yaml"
SPEC = ROOT / "apireference" / "openapi.yaml"


def files(tmp_path: Path, notices: dict[str, str], spec: str | None = None) -> dict[str, Path]:
    incidents = tmp_path / "statuspage" / "incidents"
    incidents.mkdir(parents=True)
    for name, text in notices.items():
        (incidents / name).write_text(text)
    spec_path = tmp_path / "apireference" / "openapi.yaml"
    spec_path.parent.mkdir()
    spec_path.write_text(SPEC.read_text() if spec is None else spec)
    return {"notices_dir": incidents, "spec_path": spec_path, "root": tmp_path}


def test_the_committed_files_load_every_notice_and_the_api_document():
    reviewed = load_reviewed_files()
    committed = sorted(path.stem for path in (ROOT / "statuspage" / "incidents").glob("*.yaml"))
    assert sorted(reviewed.notices) == committed
    assert str(reviewed.api_spec["openapi"]).startswith("3.")
    assert reviewed.api_spec["paths"]


def test_good_notices_are_passed_on_as_written(tmp_path: Path):
    text = DEMO_NOTICE.read_text()
    reviewed = load_reviewed_files(**files(tmp_path, {"2026-10-14-api-outage.yaml": text}))
    assert reviewed.notices == {"2026-10-14-api-outage": text}


def test_every_bad_file_is_named_at_once_with_its_key(tmp_path: Path):
    bad_notice = DEMO_NOTICE.read_text().replace("impact: outage", "impact: catastrophic")
    paths = files(tmp_path, {"2026-12-05-oops.yaml": bad_notice}, spec="openapi: 2.0\ninfo: {}\npaths: {}\n")

    with pytest.raises(ReviewedFileError) as raised:
        load_reviewed_files(**paths)

    message = str(raised.value)
    assert isinstance(raised.value, StackConfigError)  # printed alone by pulumi and omni
    assert message.startswith("2 reviewed files do not fit; no resource was declared.")
    assert "statuspage/incidents/2026-12-05-oops.yaml" in message
    assert "impact: Input should be 'degraded' or 'outage'" in message
    assert "apireference/openapi.yaml" in message
    assert "openapi: expected an OpenAPI 3 version" in message
    assert str(tmp_path) not in message, "paths are shown from the repository's root"


def test_a_notice_that_is_not_yaml_is_refused(tmp_path: Path):
    with pytest.raises(ReviewedFileError, match=r"(?s)2026-12-05-oops\.yaml.*not valid YAML"):
        load_reviewed_files(**files(tmp_path, {"2026-12-05-oops.yaml": "title: [unclosed\n"}))


def test_preview_stops_before_any_resource_without_a_traceback(tmp_path: Path):
    """The whole path a reviewer hits: a bad notice in a pull request, `omni preview` on it."""
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", ".omni-cache", "__pycache__", "out"),
    )
    bad_notice = DEMO_NOTICE.read_text().replace("impact: outage", "impact: catastrophic")
    (copy / "statuspage" / "incidents" / "2026-12-05-oops.yaml").write_text(bad_notice)
    env = {**os.environ, "PYTHONPATH": str(copy), "OMNI_GRAPH_CACHE": "off"}

    result = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "preview", "--stack", "dev", "-C", str(copy)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "statuspage/incidents/2026-12-05-oops.yaml" in output
    assert "impact" in output
    assert "no resource was declared" in output
    assert "Traceback" not in output
