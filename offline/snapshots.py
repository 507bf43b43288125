"""Committed snapshots: `snapshots/<stack>.json`, the graph reviewers see change in a diff."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import Project, run_stack
from .graph import dumps, loads

SNAPSHOT_DIR = "snapshots"


def snapshot_path(project: Project, stack: str) -> Path:
    return project.root / SNAPSHOT_DIR / f"{stack}.json"


def render_snapshot(project: Project, stack: str) -> str:
    """The exact bytes `omni snapshot` writes for `stack` now."""
    return dumps(run_stack(project, stack).to_json())


def write_snapshot(project: Project, stack: str) -> tuple[Path, bool]:
    """Write the snapshot; return its path and whether its content changed."""
    path = snapshot_path(project, stack)
    text = render_snapshot(project, stack)
    changed = not path.is_file() or path.read_text(encoding="utf-8") != text
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path, changed


def read_snapshot_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; create it with `omni snapshot --stack <stack>`")
    return loads(path.read_text(encoding="utf-8"), str(path))


def read_snapshot_at_ref(project: Project, stack: str, ref: str) -> dict[str, Any]:
    """The snapshot as committed at a git ref (a branch, tag or commit)."""
    relative = snapshot_path(project, stack).relative_to(project.root).as_posix()
    result = subprocess.run(
        ["git", "show", f"{ref}:{relative}"], cwd=project.root, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise FileNotFoundError(f"cannot read {relative} at {ref}: {result.stderr.strip() or 'git show failed'}")
    return loads(result.stdout, f"{ref}:{relative}")


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
