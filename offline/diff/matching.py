"""Pairing the resources of two graphs: by URN, then by alias (a rename or move)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Resource


def index_graph(graph: Mapping[str, Any]) -> dict[str, Resource]:
    return {str(r["urn"]): r for r in graph.get("resources") or []}


def match_resources(
    old: dict[str, Resource], new: dict[str, Resource]
) -> list[tuple[Resource | None, Resource | None]]:
    """Pair resources by URN, then by alias (a rename or move), leaving creates and deletes."""
    pairs: list[tuple[Resource | None, Resource | None]] = []
    claimed = {urn for urn in new if urn in old}
    pairs.extend((old[urn], new[urn]) for urn in sorted(claimed))
    for urn in sorted(set(new) - claimed):
        alias = _unclaimed_alias(new[urn], old, new, claimed)
        if alias is None:
            pairs.append((None, new[urn]))
        else:
            claimed.add(alias)
            pairs.append((old[alias], new[urn]))
    pairs.extend((old[urn], None) for urn in sorted(set(old) - claimed))
    return pairs


def urn_of(old: Resource | None, new: Resource | None) -> str:
    current = new if new is not None else old
    assert current is not None
    return str(current["urn"])


def _unclaimed_alias(
    resource: Resource, old: dict[str, Resource], new: dict[str, Resource], claimed: set[str]
) -> str | None:
    for alias in resource.get("aliases") or []:
        # A URN still present in `after` is its own resource, not a former name of this one.
        if isinstance(alias, str) and alias in old and alias not in new and alias not in claimed:
            return alias
    return None
