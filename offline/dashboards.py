"""A stack's dashboards rendered from its stack file, without running the Pulumi program.

The stack file goes through the same loader `pulumi up` uses (`load_stack_config`), so a bad
value fails here as it would in a preview (`StackConfigError`).
"""

from __future__ import annotations

import json
from pathlib import Path

from dashboards.lint import Finding, lint_dashboards
from dashboards.render import render_for
from dashboards.stack import DEFAULT_STACK, StackFacts, facts_from_config
from stackconfig.loader import load_stack_config
from stackconfig.location import stack_file

from .stackfile import read_stack_file


def load_stack_facts(stack: str | None = None, project_dir: Path = Path(".")) -> StackFacts:
    """Read and validate the stack's file (raising `StackConfigError` as `omni preview` would)."""
    name = stack or DEFAULT_STACK
    values, secret_keys = read_stack_file(stack_file(project_dir, name))
    return facts_from_config(name, load_stack_config(name, values, secret_keys))


def render_dashboards(stack: str | None = None, project_dir: Path = Path(".")) -> dict[str, str]:
    """`<uid>.json` -> the dashboard's JSON text, for every dashboard of the stack (default dev)."""
    return render_for(load_stack_facts(stack, project_dir))


def write_dashboards(out_dir: Path, stack: str | None = None, project_dir: Path = Path(".")) -> list[Path]:
    """Write every rendered dashboard under `out_dir`; return the paths, in registry order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_dashboards(stack, project_dir).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def lint_rendered(stack: str | None = None, project_dir: Path = Path(".")) -> list[Finding]:
    """Lint exactly what `render` writes for the stack."""
    return lint_dashboards(json.loads(text) for text in render_dashboards(stack, project_dir).values())
