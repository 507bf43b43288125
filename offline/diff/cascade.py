"""Replacements that follow from others: a replaced resource's outputs are new, so what takes them changes too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from offline import replacements
from offline.graph import UNKNOWN

from .model import ChangeKind, FieldChange, ReplaceCause, Resource, ResourceDiff
from .resource import ignored_prefixes, inputs_of
from .walk import ABSENT, join_path, path_parts, under, unset_as_none

Pair = tuple[Resource | None, Resource | None]


def cascade(diffs: dict[str, ResourceDiff], pairs: dict[str, Pair]) -> dict[str, ResourceDiff]:
    """Replacements that follow from others, to a fixpoint.

    Offline, a resource's id is ``UNKNOWN`` in both graphs, so an input that takes it compares
    equal. The engine knows better: a replaced resource's outputs are new, so a resource whose
    force-new input comes from it (``propertyDependencies`` of the after graph) is replaced
    too, and one whose updatable input does is updated with a value known after apply.
    """
    recreated = _recreated(diffs)
    grew = True
    while grew:
        grew = False
        for urn in sorted(diffs):
            old, new = pairs[urn]
            if urn in recreated or old is None or new is None or not diffs[urn].custom:
                continue
            if any(force_new for _, _, force_new in _inherited(new, recreated)):
                recreated[urn] = "replaced"
                grew = True
    result = dict(diffs)
    for urn, diff in diffs.items():
        old, new = pairs[urn]
        if old is not None and new is not None and diff.custom:
            result[urn] = _with_inherited(diff, old, new, recreated, diffs)
    return result


def _recreated(diffs: Mapping[str, ResourceDiff]) -> dict[str, str]:
    """Resources whose outputs are new after apply, with how: replaced, re-created, created."""
    deleted = {(d.type, d.name) for d in diffs.values() if d.kind is ChangeKind.DELETE}
    found: dict[str, str] = {}
    for urn, diff in diffs.items():
        if diff.kind is ChangeKind.REPLACE:
            found[urn] = "replaced"
        elif diff.kind is ChangeKind.CREATE:
            # Same type and name under a new URN, with no alias: a delete and a create.
            again = (diff.type, diff.name) in deleted
            found[urn] = "deleted and re-created" if again else "created"
    return found


def _inherited(new: Resource, recreated: Mapping[str, str]) -> list[tuple[str, str, bool]]:
    """``(input, source URN, force-new?)`` for each top-level input that takes a value from a
    recreated resource (the first such source, by URN). Ignored inputs are left out."""
    deps: Mapping[str, Any] = new.get("propertyDependencies") or {}
    roots = _force_new_roots(new)
    ignore = ignored_prefixes(new)
    found: list[tuple[str, str, bool]] = []
    for key in sorted(deps, key=str):
        sources = sorted(str(u) for u in deps[key] or [] if str(u) in recreated)
        if not sources or any(under((str(key),), prefix) for prefix in ignore):
            continue
        found.append((str(key), sources[0], roots is None or str(key) in roots))
    return found


def _force_new_roots(resource: Resource) -> frozenset[str] | None:
    """The top-level inputs with a force-new path at or under them (None: every input)."""
    rtype = str(resource["type"])
    own = [str(p) for p in resource.get("replaceOnChanges") or []]
    if "*" in own:
        return None
    rules = [rule.path for rule in replacements.conditional_force_new(rtype)]
    ignore = ignored_prefixes(resource)
    roots: set[str] = set()
    for path in (*replacements.force_new_paths(rtype), *own, *rules):
        parts = path_parts(path)
        if parts and not any(under(parts, prefix) for prefix in ignore):
            roots.add(parts[0])
    return frozenset(roots)


def _with_inherited(
    diff: ResourceDiff,
    old: Resource,
    new: Resource,
    recreated: Mapping[str, str],
    diffs: Mapping[str, ResourceDiff],
) -> ResourceDiff:
    """``diff`` plus what it inherits from the recreated resources its inputs come from."""
    inherited = _inherited(new, recreated)
    if not inherited:
        return diff
    own_roots = {path_parts(c.path)[:1] for c in diff.changes if not c.option}
    own_causes = {c.path for c in diff.replace_causes}
    causes = list(diff.replace_causes)
    added: list[FieldChange] = []
    for key, source, force_new in inherited:
        name, how = diffs[source].name, recreated[source]
        if force_new and key not in own_causes:
            causes.append(ReplaceCause(key, source=source, source_name=name, source_change=how))
        if (key,) not in own_roots:
            before = inputs_of(old).get(key, ABSENT)
            added.append(
                FieldChange(
                    join_path("", key),
                    before=unset_as_none(before),
                    after=UNKNOWN,
                    before_set=before is not ABSENT,
                    source=source,
                    cause=f"comes from {name}, which is {how}",
                )
            )
    inputs = [c for c in diff.changes if not c.option] + added
    inputs.sort(key=lambda c: path_parts(c.path)[:1])  # stable: walk order within an input
    kind = diff.kind
    if causes:
        kind = ChangeKind.REPLACE
    elif added and kind is ChangeKind.SAME:
        kind = ChangeKind.UPDATE
    return replace(
        diff,
        kind=kind,
        changes=(*inputs, *(c for c in diff.changes if c.option)),
        replace_paths=tuple(c.path for c in causes),
        replace_causes=tuple(causes),
    )
