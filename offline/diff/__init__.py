"""The diff of two recorded resource graphs: what `omni diff` shows a reviewer before merge.

Pure functions over two graph dicts (``offline.graph`` format) returning a typed ``DiffReport``.
A "replace" here is a likely replacement: the input that changed is one the provider cannot
update in place (or one that comes from a resource that is itself replaced), but only the real
engine, with the real state, decides. Values marked ``SECRET`` are never compared or shown
beyond the marker itself; ``UNKNOWN`` on the after side means the value is only known after
apply, so the change may or may not be real. String inputs that hold JSON objects or arrays
(a provider's ``defaultLabels``) are compared key by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .cascade import cascade
from .dangers import danger_order, dangers_of
from .matching import index_graph, match_resources, urn_of
from .model import (
    DELETE_KINDS,
    KIND_ORDER,
    PROTECTION_KINDS,
    ChangeKind,
    Danger,
    DangerKind,
    DiffReport,
    FieldChange,
    ReplaceCause,
    Resource,
    ResourceDiff,
    Severity,
)
from .resource import OPTION_FIELDS, diff_resource
from .walk import Walk, walk_values
from .wording import danger_headline, replacement_reason, summary_line

__all__ = [
    "DELETE_KINDS",
    "KIND_ORDER",
    "OPTION_FIELDS",
    "PROTECTION_KINDS",
    "ChangeKind",
    "Danger",
    "DangerKind",
    "DiffReport",
    "FieldChange",
    "ReplaceCause",
    "Resource",
    "ResourceDiff",
    "Severity",
    "compute_diff",
    "danger_headline",
    "replacement_reason",
    "summary_line",
]


def compute_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> DiffReport:
    """Everything that changes from ``before`` to ``after``, with the dangers spelled out."""
    pairs = {urn_of(o, n): (o, n) for o, n in match_resources(index_graph(before), index_graph(after))}
    first = {urn: diff_resource(o, n) for urn, (o, n) in pairs.items()}
    diffs = cascade(first, pairs)
    dangers = [d for urn, diff in diffs.items() for d in dangers_of(diff, *pairs[urn])]
    outputs = Walk()
    walk_values(before.get("outputs") or {}, after.get("outputs") or {}, "", outputs)
    return DiffReport(
        stack=str(after.get("stack") or before.get("stack") or ""),
        project=str(after.get("project") or before.get("project") or ""),
        resources=tuple(sorted(diffs.values(), key=lambda d: d.urn)),
        dangers=tuple(sorted(dangers, key=danger_order)),
        output_changes=tuple(outputs.changes),
    )
