"""Render every dashboard of a stack to deterministic JSON: sorted keys, two-space indent, a
trailing newline, so the same code and config give the same bytes and diffs stay readable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .board import assemble
from .registry import DASHBOARDS
from observability.monitoring import MonitoringConfig, Producers, load_monitoring_config
from observability.producers import check_produced, dashboard_queries


class _GrafanalibEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if hasattr(o, "to_json_data"):
            return o.to_json_data()
        return super().default(o)


def dashboard_text(data: Any) -> str:
    return json.dumps(data, cls=_GrafanalibEncoder, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render_dashboards(stack: str | None = None, project_dir: Path = Path(".")) -> dict[str, str]:
    """`<uid>.json` -> the dashboard's JSON text, for every dashboard of the stack (default dev)."""
    return render_for(load_monitoring_config(stack, project_dir))


def render_for(facts: MonitoringConfig) -> dict[str, str]:
    """Every dashboard for a stack's facts; a Pulumi program that holds its validated config
    passes `monitoring_config(stack, config)` instead of reading the stack file again."""
    return {f"{spec.uid}.json": dashboard_text(assemble(spec, facts)) for spec in DASHBOARDS}


def check_dashboard_producers(monitoring: MonitoringConfig, rendered: dict[str, str], producers: Producers | None = None) -> None:
    """Raise observability.producers.UnproducedSeriesError when a panel reads a series nothing in
    the stack produces (by default as its config says; `omni build` passes the graph's producers)."""
    from alerts.rules import rule_groups

    recorded = {rule.record for group in rule_groups(monitoring) for rule in group.recording_rules}
    check_produced(monitoring.stack, dashboard_queries(rendered), producers or monitoring.producers, recorded)


def write_dashboards(
    out_dir: Path, stack: str | None = None, project_dir: Path = Path("."), producers: Producers | None = None
) -> list[Path]:
    """Write every rendered dashboard under `out_dir`; return the paths, in registry order.
    Nothing is written when a panel reads a series the stack does not produce."""
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
