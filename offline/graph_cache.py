"""Graphs reused between commands: `omni diff --all` then `omni check` run each stack once.

A stack's graph is a pure function of the project's files, the stack file and the installed
SDKs, so it is stored under `.omni-cache/graphs/` with a key that digests all of them; any
change to any of them is a miss and the program runs again. Only successful runs are stored
(a failing run is rerun, so its error is always reported). `OMNI_GRAPH_CACHE=off` disables it;
`OMNI_GRAPH_CACHE_DIR` puts it elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

CACHE_DIR = ".omni-cache/graphs"
SWITCH = "OMNI_GRAPH_CACHE"
# Folders whose files never change a graph (the graph reads none of them).
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        ".omni-cache",
        "out",
        "snapshots",
        "tests",
        "node_modules",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".pyright",
        "benchmarks",
    }
)
SDKS = ("pulumi", "pulumi-gcp", "pulumi-random", "pulumi-pagerduty", "pulumi-kubernetes", "grafanalib")


def enabled() -> bool:
    return os.environ.get(SWITCH, "on").lower() not in ("off", "0", "false", "no")


@cache
def _tree_digest(root: Path) -> str:
    """One digest of every file under the project that a run could read, and the SDK versions."""
    digest = hashlib.sha256()
    for name in SDKS:
        try:
            digest.update(f"{name}=={version(name)}\n".encode())
        except PackageNotFoundError:
            digest.update(f"{name} absent\n".encode())
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for file in sorted(files):
            if file.endswith((".pyc", ".pyo")):
                continue
            path = Path(directory, file)
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _path(root: Path, stack: str, preview: bool) -> Path:
    directory = Path(os.environ.get("OMNI_GRAPH_CACHE_DIR") or root / CACHE_DIR)
    return directory / f"{stack}.{'preview' if preview else 'simulated-apply'}.json"


def load(root: Path, stack: str, preview: bool) -> dict[str, Any] | None:
    """The stored graph of `stack`, or None when there is none for the project as it is now."""
    if not enabled():
        return None
    path = _path(root, stack, preview)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != _tree_digest(root):
        return None
    return stored.get("graph")


def store(root: Path, stack: str, preview: bool, graph: dict[str, Any]) -> None:
    if not enabled():
        return
    path = _path(root, stack, preview)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps({"key": _tree_digest(root), "graph": graph}), encoding="utf-8")
        scratch.replace(path)  # atomic: a concurrent reader sees the old or the new file
    except OSError:
        pass  # a read-only checkout still works, only without reuse
