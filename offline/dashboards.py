"""A stack's dashboards rendered from its stack file, without running the Pulumi program.

The stack file goes through the same loader `pulumi up` uses (`load_stack_config`), so a bad
value fails here as it would in a preview (`StackConfigError`). Nothing is written when a panel
reads a series nothing in the stack produces (offline/producers.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from dashboards.lint import Finding, lint_dashboards
from dashboards.render import render_for
from offline.producers import check_produced, dashboard_queries
from stackconfig.monitoring import MonitoringConfig, Producers

from .monitoring import load_monitoring_config


def render_dashboards(stack: str | None = None, project_dir: Path = Path(".")) -> dict[str, str]:
    """`<uid>.json` -> the dashboard's JSON text, for every dashboard of the stack (default dev)."""
    return render_for(load_monitoring_config(stack, project_dir))


def check_dashboard_producers(
    monitoring: MonitoringConfig, rendered: dict[str, str], producers: Producers | None = None
) -> None:
    """Raise offline.producers.UnproducedSeriesError when a panel reads a series nothing in
    the stack produces (by default as its config says; `omni build` passes the graph's producers)."""
    from alerts.rules import rule_groups

    recorded = {rule.record for group in rule_groups(monitoring) for rule in group.recording_rules}
    check_produced(monitoring.stack, dashboard_queries(rendered), producers or monitoring.producers, recorded)


def write_dashboards(
    out_dir: Path, stack: str | None = None, project_dir: Path = Path("."), producers: Producers | None = None
) -> list[Path]:
    """Write every rendered dashboard under `out_dir`; return the paths, in registry order."""
    monitoring = load_monitoring_config(stack, project_dir)
    rendered = render_for(monitoring)
    check_dashboard_producers(monitoring, rendered, producers)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def lint_rendered(stack: str | None = None, project_dir: Path = Path(".")) -> list[Finding]:
    """Lint exactly what `render` writes for the stack."""
    return lint_dashboards(json.loads(text) for text in render_dashboards(stack, project_dir).values())
