"""The status page publisher's image installs only what it runs.

The test builds what the Dockerfile builds, without Docker: a directory holding the packages the
Dockerfile copies and, from the shared virtualenv, only the distributions its requirements file
installs (with their own requirements). The publisher then imports and publishes there, in an
interpreter that sees nothing else, so an import of Pulumi, Locust, psycopg or the stack config
fails here as it would in the image.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "statuspage" / "Dockerfile"
REQUIREMENTS = ROOT / "statuspage" / "requirements.txt"
NEVER_IN_THE_IMAGE = ("pulumi", "pulumi_gcp", "locust", "psycopg", "redis", "grafanalib", "typer", "stackconfig")


def requirement_lines() -> list[str]:
    lines = (line.split("#")[0].strip() for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def copied_packages() -> list[str]:
    """The repository folders the Dockerfile copies into the image, besides the requirements."""
    copies = re.findall(r"^COPY\s+(\S+)\s+\S+\s*$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    return [source.strip("/") for source in copies if not source.endswith(".txt")]


def distribution_closure(requirements: list[str]) -> set[str]:
    """The installed distributions `pip install -r requirements` brings, extras followed."""
    todo = [Requirement(line) for line in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    while todo:
        requirement = todo.pop()
        key = (requirement.name.lower(), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        distribution = metadata.distribution(requirement.name)
        names.add(distribution.metadata["Name"])
        for text in distribution.requires or []:
            sub = Requirement(text)
            extras = requirement.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(sub)
    return names


def link_distribution(name: str, site: Path) -> None:
    """Every file the distribution installed, linked into `site` at its place."""
    distribution = metadata.distribution(name)
    for file in distribution.files or []:
        if file.parts[0] == ".." or file.parts[0].endswith((".dist-info", ".data")) or "__pycache__" in file.parts:
            continue
        target = site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(Path(str(distribution.locate_file(file))).resolve())


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    app = tmp_path_factory.mktemp("image")
    for package in copied_packages():
        (app / package).symlink_to(ROOT / package, target_is_directory=True)
    site = app / "site-packages"
    for name in sorted(distribution_closure(requirement_lines())):
        link_distribution(name, site)
    return app


PUBLISH_IN_THE_IMAGE = """
import datetime, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/site-packages"]
# What `python -m statuspage.publish` imports on its way to Cloud Monitoring.
import statuspage.publish as publish
import google.auth
from google.auth.transport.requests import AuthorizedSession
import statuspage.sources.gcp
from google.cloud import monitoring_v3
from statuspage.sources.demo import DEMO_NOW, DemoSource

class MemoryBucket:
    name = "status"
    def __init__(self):
        self.files = {}
    def list(self, prefix):
        return []
    def read(self, name):
        raise KeyError(name)
    def write(self, name, content, content_type, cache_control):
        self.files[name] = content

bucket = MemoryBucket()
written = publish.publish(bucket, DemoSource(), "Omni API status", "", DEMO_NOW)
print(json.dumps({"written": written, "modules": sorted(sys.modules)}))
"""


def run_publisher(app: Path) -> dict[str, list[str]]:
    # -I: no user site, no PYTHON* variables; -S: no site-packages. The interpreter sees the
    # standard library, the image's packages and the linked distributions, nothing else.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PUBLISH_IN_THE_IMAGE, str(app)],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def published(image: Path) -> dict[str, list[str]]:
    return run_publisher(image)


def test_the_publisher_renders_and_uploads_with_only_its_requirements_installed(
    published: dict[str, list[str]],
) -> None:
    assert published["written"][-1] == "index.html"
    assert "status.json" in published["written"]


def test_the_publisher_loads_no_pulumi_locust_psycopg_or_stack_config(published: dict[str, list[str]]) -> None:
    loaded = {module.split(".")[0] for module in published["modules"]}
    assert loaded.isdisjoint(NEVER_IN_THE_IMAGE)
    first_party = {module for module in published["modules"] if module.split(".")[0] in {"alerts", "observability"}}
    assert first_party <= {"alerts", "alerts.slo", "observability", "observability.catalogue", "observability.uptime"}


def test_the_image_copies_only_the_publishers_packages_and_installs_only_its_requirements() -> None:
    assert sorted(copied_packages()) == ["alerts", "observability", "statuspage"]
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "pip install --no-cache-dir -r statuspage/requirements.txt" in text
    assert "pip install ." not in text
    closure = {name.lower() for name in distribution_closure(requirement_lines())}
    assert closure.isdisjoint({"pulumi", "pulumi-gcp", "locust", "psycopg", "psycopg-binary", "redis", "grafanalib"})


def test_the_publishers_pins_are_the_projects_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = {Requirement(line).name.lower(): str(Requirement(line).specifier) for line in project}
    for line in requirement_lines():
        requirement = Requirement(line)
        assert pins.get(requirement.name.lower()) == str(requirement.specifier), line
