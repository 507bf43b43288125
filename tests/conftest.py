"""Shared fixtures: the real project, each stack's graph (run once per session), and
throw-away projects for engine and config tests."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offline.engine import Project, run_stack

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "staging", "prod")
# The smallest stack file a throw-away project needs.
PROBE_STACK_FILE = """
config:
  gcp:project: probe-project
  gcp:region: europe-west1
"""


@pytest.fixture(scope="session")
def project() -> Project:
    return Project.load(ROOT)


@pytest.fixture(scope="session")
def graphs(project: Project) -> dict[str, dict[str, Any]]:
    """Every stack's recorded graph, in preview mode (what snapshots hold)."""
    return {stack: run_stack(project, stack).to_json() for stack in STACKS}


@pytest.fixture(scope="session")
def applied(project: Project) -> dict[str, dict[str, Any]]:
    """Every stack's graph after a simulated apply: computed values resolved, wiring visible."""
    return {stack: run_stack(project, stack, preview=False).to_json() for stack in STACKS}


@pytest.fixture
def project_copy(tmp_path: Path) -> Project:
    """A copy of the real project (program and stack files) that a test may edit."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    shutil.copytree(ROOT / "snapshots", tmp_path / "snapshots")
    return Project.load(tmp_path)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    """A throw-away Pulumi project with the given program and stack file contents."""

    def make(program: str, stack_file: str, stack: str = "test") -> Project:
        (tmp_path / "Pulumi.yaml").write_text("name: probe\nruntime: python\nstackConfigDir: stacks\n")
        (tmp_path / "__main__.py").write_text(textwrap.dedent(program))
        (tmp_path / "stacks").mkdir(exist_ok=True)
        (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text(textwrap.dedent(stack_file))
        return Project.load(tmp_path)

    return make


def resources(graph: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in graph["resources"] if r["type"] == type_]


def one(graph: dict[str, Any], type_: str) -> dict[str, Any]:
    found = resources(graph, type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    return found[0]


def edit_stack_file(project: Project, stack: str, old: str, new: str) -> None:
    path = project.stack_file(stack)
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))
