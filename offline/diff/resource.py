"""One resource's diff: its inputs and options walked, and the force-new paths that changed."""

from __future__ import annotations

from typing import Any

from offline import replacements
from offline.graph import OPTION_DEFAULTS

from .model import ChangeKind, FieldChange, ReplaceCause, Resource, ResourceDiff
from .walk import Walk, path_parts, same, under, unset_as_none, values_at, walk_values

# Resource options compared field by field. `dependencies` and `aliases` are not: they follow
# from how the program is written, not from what the engine will do to the resource.
# Resource options compared field by field. `dependencies` and `aliases` are not: they follow
# from how the program is written, not from what the engine will do to the resource.
OPTION_FIELDS: tuple[str, ...] = (
    "protect",
    "retainOnDelete",
    "deleteBeforeReplace",
    "ignoreChanges",
    "replaceOnChanges",
    "additionalSecretOutputs",
    "provider",
    "parent",
)


def diff_resource(old: Resource | None, new: Resource | None) -> ResourceDiff:
    current = new if new is not None else old
    assert current is not None
    rtype = str(current["type"])
    base: dict[str, Any] = {
        "urn": str(current["urn"]),
        "type": rtype,
        "name": str(current.get("name", "")),
        "custom": bool(current.get("custom", True)),
        "stateful": replacements.is_stateful(rtype),
        "protected": bool(option_of(current, "protect")),
    }
    if old is None:
        return ResourceDiff(kind=ChangeKind.CREATE, **base)
    if new is None:
        return ResourceDiff(kind=ChangeKind.DELETE, **base)
    walk = Walk(ignore=ignored_prefixes(new))
    walk_values(inputs_of(old), inputs_of(new), "", walk)
    walk.changes.extend(_option_changes(old, new))
    causes = _replace_causes(rtype, old, new, walk)
    renamed_from = None if old["urn"] == new["urn"] else str(old["urn"])
    return ResourceDiff(
        kind=_update_kind(walk, causes, renamed_from),
        changes=tuple(walk.changes),
        replace_paths=tuple(c.path for c in causes),
        replace_causes=causes,
        previous_urn=renamed_from,
        unreadable_secrets=tuple(walk.secrets),
        **base,
    )


def _update_kind(walk: Walk, causes: tuple[ReplaceCause, ...], renamed_from: str | None) -> ChangeKind:
    if causes:
        return ChangeKind.REPLACE
    # A rename alone is shown as an update so the reviewer sees it; the engine only
    # rewrites the URN in its state and leaves the cloud resource alone.
    if renamed_from or any(not c.ignored for c in walk.changes):
        return ChangeKind.UPDATE
    return ChangeKind.SAME


def inputs_of(resource: Resource) -> dict[str, Any]:
    return dict(resource.get("inputs") or {})


def option_of(resource: Resource, name: str) -> Any:
    return resource.get(name, OPTION_DEFAULTS.get(name))


def _option_changes(old: Resource, new: Resource) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name in OPTION_FIELDS:
        before, after = option_of(old, name), option_of(new, name)
        if not same(before, after):
            changes.append(FieldChange(name, before, after, option=True))
    return changes


def ignored_prefixes(resource: Resource) -> tuple[tuple[str, ...], ...]:
    return tuple(path_parts(str(p)) for p in resource.get("ignoreChanges") or [])


def _replace_causes(rtype: str, old: Resource, new: Resource, walk: Walk) -> tuple[ReplaceCause, ...]:
    """Force-new paths (provider ForceNew, the conditional rules whose condition holds, and the
    resource's replaceOnChanges) that changed."""
    own = [str(p) for p in new.get("replaceOnChanges") or []]
    applied = [c for c in walk.changes if not c.ignored and not c.option]
    if "*" in own and applied:
        return (ReplaceCause("*"),)
    rules = {rule.path: rule for rule in replacements.conditional_force_new(rtype)}
    hits: list[ReplaceCause] = []
    for path in dict.fromkeys((*replacements.force_new_paths(rtype), *own, *rules)):
        parts = path_parts(path)
        if any(under(parts, prefix) for prefix in walk.ignore):
            continue
        before, after = values_at(inputs_of(old), parts), values_at(inputs_of(new), parts)
        probe = Walk()
        walk_values(before, after, path, probe)
        if not probe.changes:
            continue
        rule = rules.get(path) if path not in own else None
        if rule is None:
            hits.append(ReplaceCause(path))
        elif rule.forces(unset_as_none(before), unset_as_none(after)):
            hits.append(ReplaceCause(path, condition=rule.meaning))
    return tuple(hits)
