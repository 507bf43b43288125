"""A recorded graph as `pulumi preview` lays it out: a tree under the stack, then counts."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any


def preview_rows(graph: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
    """(tree prefix, type, name, flags) for each resource, parents before children."""
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for resource in graph["resources"]:
        children[resource["parent"]].append(resource)
    for siblings in children.values():
        # Components first, then by type and name: the order `pulumi preview` users scan.
        siblings.sort(key=lambda r: (r["custom"], r["type"], r["name"]))

    rows: list[tuple[str, str, str, list[str]]] = []

    def walk(resource: dict[str, Any], prefix: str, is_last: bool, depth: int) -> None:
        branch = "" if depth == 0 else prefix + ("└─ " if is_last else "├─ ")
        rows.append((branch, resource["type"], resource["name"], _flags(resource)))
        kids = children.get(resource["urn"], [])
        deeper = "" if depth == 0 else prefix + ("   " if is_last else "│  ")
        for index, child in enumerate(kids):
            walk(child, deeper, index == len(kids) - 1, depth + 1)

    for root in children.get(None, []):
        walk(root, "", True, 0)
    return rows


def _flags(resource: dict[str, Any]) -> list[str]:
    flags = []
    if resource.get("protect"):
        flags.append("protected")
    if resource.get("retainOnDelete"):
        flags.append("retained on delete")
    if resource.get("deleteBeforeReplace"):
        flags.append("delete before replace")
    if resource.get("ignoreChanges"):
        flags.append("ignores " + ", ".join(resource["ignoreChanges"]))
    return flags


def type_counts(graph: dict[str, Any]) -> list[tuple[str, int]]:
    """How many resources of each type, most first (the stack counts, as in `pulumi preview`)."""
    counts = Counter(r["type"] for r in graph["resources"])
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def render_preview_text(graph: dict[str, Any]) -> str:
    """Plain text (no colour) of the whole preview: what `omni preview` prints."""
    rows = preview_rows(graph)
    type_width = max((len(prefix) + len(type_) for prefix, type_, _, _ in rows), default=10)
    name_width = max((len(name) for _, _, name, _ in rows), default=10)
    lines = [f"Previewing stack {graph['stack']} of {graph['project']} (offline: no cloud, no state)"]
    simulated = graph.get("simulated")
    if simulated is not None:
        invokes = ", ".join(simulated.get("standInInvokes", [])) or "none"
        lines.append(
            "SIMULATED APPLY: computed outputs and provider-function answers are stand-ins derived from the URNs, "
            f"not values from Google Cloud (stand-in invokes: {invokes})"
        )
    lines.append("")
    lines.append(f"     {'Type':<{type_width}}  {'Name':<{name_width}}  Plan")
    for prefix, type_, name, flags in rows:
        note = f"  [{'; '.join(flags)}]" if flags else ""
        lines.append(f" +   {prefix + type_:<{type_width}}  {name:<{name_width}}  create{note}")
    counts = type_counts(graph)
    total = sum(count for _, count in counts)
    protected = sum(1 for r in graph["resources"] if r.get("protect"))
    lines += ["", "Outputs:"]
    for key, value in sorted(graph.get("outputs", {}).items()):
        shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        lines.append(f"    {key}: {shown}")
    lines += ["", f"Resources: + {total} to create ({protected} protected)"]
    for type_, count in counts:
        lines.append(f"    {count:>4}  {type_}")
    from .validation import coverage  # the provider facts are read only to print this line

    lines += ["", coverage(graph).line()]
    return "\n".join(lines) + "\n"
