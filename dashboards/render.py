"""Render every dashboard of a stack to deterministic JSON: sorted keys, two-space indent, a
trailing newline, so the same code and config give the same bytes and diffs stay readable."""

from __future__ import annotations

import json
from typing import Any

from .board import assemble
from .registry import DASHBOARDS
from .stack import StackFacts


class _GrafanalibEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if hasattr(o, "to_json_data"):
            return o.to_json_data()
        return super().default(o)


def dashboard_text(data: Any) -> str:
    return json.dumps(data, cls=_GrafanalibEncoder, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render_for(facts: StackFacts) -> dict[str, str]:
    """Every dashboard for a stack's facts; a Pulumi program that holds its validated config
    passes `facts_from_config(stack, config)` instead of reading the stack file again."""
    return {f"{spec.uid}.json": dashboard_text(assemble(spec, facts)) for spec in DASHBOARDS}
