"""Committed snapshots: `snapshots/<stack>.json`, the graph reviewers see change in a diff."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import Project
from .graph import GRAPH_VERSION, loads

SNAPSHOT_DIR = "snapshots"


def snapshot_path(project: Project, stack: str) -> Path:
    return project.root / SNAPSHOT_DIR / f"{stack}.json"


def write_snapshot(project: Project, stack: str, text: str) -> tuple[Path, bool]:
    """Write a stack's serialised graph as its snapshot; return its path and whether it changed."""
    path = snapshot_path(project, stack)
    changed = not path.is_file() or path.read_text(encoding="utf-8") != text
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path, changed


def read_graph_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    return loads(path.read_text(encoding="utf-8"), str(path))


def read_snapshot(project: Project, stack: str) -> dict[str, Any]:
    path = snapshot_path(project, stack)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; create it with `omni snapshot --stack {stack}` and commit it")
    return read_graph_file(path)


def empty_graph(project: Project, stack: str) -> dict[str, Any]:
    """The graph of a stack that does not exist yet: everything in it is a create."""
    return {"version": GRAPH_VERSION, "stack": stack, "project": project.name, "resources": [], "outputs": {}}


def read_snapshot_at_ref(project: Project, stack: str, ref: str) -> dict[str, Any]:
    """The snapshot as committed at a git ref (a branch, tag or commit); a stack that has no
    snapshot there is new, so it compares as empty."""
    relative = snapshot_path(project, stack).relative_to(project.root).as_posix()
    if _git(project, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise FileNotFoundError(f"{ref} is not a commit in {project.root}")
    # `./` makes the path relative to the project, wherever it sits in the repository.
    result = _git(project, "show", f"{ref}:./{relative}")
    if result.returncode != 0:
        if _git(project, "cat-file", "-e", f"{ref}:./{relative}").returncode != 0:
            return empty_graph(project, stack)
        raise FileNotFoundError(f"cannot read {relative} at {ref}: {result.stderr.strip() or 'git show failed'}")
    return loads(result.stdout, f"{ref}:{relative}")


def _git(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class SnapshotStatus:
    stack: str
    path: Path
    state: str  # "current", "stale" or "missing"


def snapshot_status(project: Project, stack: str, fresh_text: str) -> SnapshotStatus:
    path = snapshot_path(project, stack)
    if not path.is_file():
        return SnapshotStatus(stack, path, "missing")
    state = "current" if path.read_text(encoding="utf-8") == fresh_text else "stale"
    return SnapshotStatus(stack, path, state)
