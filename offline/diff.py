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

import json
import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from offline import replacements
from offline.graph import OPTION_DEFAULTS, SECRET, UNKNOWN

Resource = Mapping[str, Any]


class ChangeKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    SAME = "same"


KIND_ORDER: tuple[ChangeKind, ...] = tuple(ChangeKind)


class DangerKind(StrEnum):
    DELETE = "delete"
    DELETE_STATEFUL = "delete-stateful"
    DELETE_PROTECTED = "delete-protected"
    REPLACE_STATEFUL = "replace-stateful"
    REPLACE_PROTECTED = "replace-protected"
    REPLACE_OUTAGE = "replace-outage"  # the edge: a replacement interrupts public traffic
    PROTECT_REMOVED = "protect-removed"
    DELETION_PROTECTION_OFF = "deletion-protection-off"
    RETAIN_ON_DELETE_REMOVED = "retain-on-delete-removed"


class Severity(StrEnum):
    HIGH = "high"  # data loss, or an apply that Pulumi or the provider will refuse
    MEDIUM = "medium"


# Danger kinds that leave a resource less guarded than before.
PROTECTION_KINDS = frozenset(
    {
        DangerKind.PROTECT_REMOVED,
        DangerKind.DELETION_PROTECTION_OFF,
        DangerKind.RETAIN_ON_DELETE_REMOVED,
    }
)
DELETE_KINDS = frozenset(
    {DangerKind.DELETE, DangerKind.DELETE_STATEFUL, DangerKind.DELETE_PROTECTED}
)

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


@dataclass(frozen=True)
class FieldChange:
    """One changed value. ``before_set``/``after_set`` are false where the value is absent."""

    path: str
    before: Any = None
    after: Any = None
    before_set: bool = True
    after_set: bool = True
    option: bool = False  # a resource option (protect, parent, ...), not an input
    ignored: bool = False  # under the resource's ignoreChanges: the engine will not apply it
    # The value comes from this resource (URN), which is replaced: it is known after apply.
    source: str | None = None
    cause: str = ""  # that, in words: "comes from vpc, which is replaced"

    @property
    def known_after_apply(self) -> bool:
        return self.after_set and self.after == UNKNOWN


@dataclass(frozen=True)
class ReplaceCause:
    """One reason a resource is likely replaced: a force-new input path and what changes it."""

    path: str
    condition: str = ""  # set when a conditional rule (replacements.CONDITIONAL_FORCE_NEW) fired
    source: str | None = None  # set when the value comes from this replaced resource (URN)
    source_name: str = ""
    source_change: str = ""  # "replaced", "deleted and re-created" or "created"

    @property
    def reason(self) -> str:
        if self.source is not None:
            return f"its {self.path} comes from {self.source_name}, which is {self.source_change}"
        if self.condition:
            return f"{self.path} changed ({self.condition})"
        return f"{self.path} changed"


@dataclass(frozen=True)
class ResourceDiff:
    urn: str
    type: str
    name: str
    kind: ChangeKind
    custom: bool = True
    changes: tuple[FieldChange, ...] = ()
    replace_paths: tuple[str, ...] = ()  # force-new paths that change, one per cause
    replace_causes: tuple[ReplaceCause, ...] = ()
    previous_urn: str | None = None  # matched through an alias: renamed or moved
    unreadable_secrets: tuple[str, ...] = ()  # secret on both sides: unchanged as far as we see
    stateful: bool = False
    protected: bool = False


@dataclass(frozen=True)
class Danger:
    urn: str
    type: str
    name: str
    kind: DangerKind
    severity: Severity
    reason: str


@dataclass(frozen=True)
class DiffReport:
    stack: str
    project: str
    resources: tuple[ResourceDiff, ...]  # every resource of both graphs, sorted by URN
    dangers: tuple[Danger, ...]  # high severity first
    output_changes: tuple[FieldChange, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        counts = {kind.value: 0 for kind in KIND_ORDER}
        for resource in self.resources:
            counts[resource.kind.value] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.output_changes) or any(
            r.kind is not ChangeKind.SAME for r in self.resources
        )

    @property
    def has_danger(self) -> bool:
        return bool(self.dangers)

    def of_kind(self, kind: ChangeKind) -> tuple[ResourceDiff, ...]:
        return tuple(r for r in self.resources if r.kind is kind)


# --- public entry point -------------------------------------------------------------------


def compute_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> DiffReport:
    """Everything that changes from ``before`` to ``after``, with the dangers spelled out."""
    pairs = {_urn_of(o, n): (o, n) for o, n in _match(_index(before), _index(after))}
    first = {urn: _diff_resource(o, n) for urn, (o, n) in pairs.items()}
    diffs = _cascade(first, pairs)
    dangers = [d for urn, diff in diffs.items() for d in _dangers(diff, *pairs[urn])]
    outputs = _Walk()
    _walk(before.get("outputs") or {}, after.get("outputs") or {}, "", outputs)
    return DiffReport(
        stack=str(after.get("stack") or before.get("stack") or ""),
        project=str(after.get("project") or before.get("project") or ""),
        resources=tuple(sorted(diffs.values(), key=lambda d: d.urn)),
        dangers=tuple(sorted(dangers, key=_danger_order)),
        output_changes=tuple(outputs.changes),
    )


def summary_line(report: DiffReport) -> str:
    """``1 to create, 2 to update, 5 unchanged`` or ``No changes``."""
    if not report.has_changes:
        return "No changes"
    counts = report.counts
    parts = [f"{counts[k.value]} to {k.value}" for k in KIND_ORDER[:-1] if counts[k.value]]
    if report.output_changes:
        parts.append(f"{_plural(len(report.output_changes), 'stack output')} changed")
    if counts[ChangeKind.SAME.value]:
        parts.append(f"{counts[ChangeKind.SAME.value]} unchanged")
    return ", ".join(parts)


def danger_headline(report: DiffReport) -> str:
    """One sentence a reviewer cannot miss: what gets deleted, replaced or unprotected."""
    deleted = _resources_with(report.dangers, DELETE_KINDS)
    stateful_deleted = deleted & {r.urn for r in report.resources if r.stateful}
    replaced_stateful = _resources_with(report.dangers, {DangerKind.REPLACE_STATEFUL})
    replaced_protected = (
        _resources_with(report.dangers, {DangerKind.REPLACE_PROTECTED}) - replaced_stateful
    )
    unprotected = _resources_with(report.dangers, PROTECTION_KINDS)
    outages = _resources_with(report.dangers, {DangerKind.REPLACE_OUTAGE})
    clauses: list[str] = []
    if deleted:
        clauses.append(_delete_clause(len(deleted), len(stateful_deleted)))
    if replaced_stateful:
        clauses.append(f"replaces {_plural(len(replaced_stateful), 'stateful resource')}")
    if replaced_protected:
        clauses.append(f"replaces {_plural(len(replaced_protected), 'protected resource')}")
    if unprotected:
        clauses.append(f"removes protection from {_plural(len(unprotected), 'resource')}")
    if outages:
        clauses.append(f"interrupts public traffic (replaces {_plural(len(outages), 'edge resource')})")
    if not clauses:
        return ""
    joined = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return f"This change {joined}."


# --- matching resources -------------------------------------------------------------------


def _index(graph: Mapping[str, Any]) -> dict[str, Resource]:
    return {str(r["urn"]): r for r in graph.get("resources") or []}


def _match(
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


def _urn_of(old: Resource | None, new: Resource | None) -> str:
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


# --- diffing one resource -----------------------------------------------------------------


def _diff_resource(old: Resource | None, new: Resource | None) -> ResourceDiff:
    current = new if new is not None else old
    assert current is not None
    rtype = str(current["type"])
    base: dict[str, Any] = {
        "urn": str(current["urn"]),
        "type": rtype,
        "name": str(current.get("name", "")),
        "custom": bool(current.get("custom", True)),
        "stateful": replacements.is_stateful(rtype),
        "protected": bool(_option(current, "protect")),
    }
    if old is None:
        return ResourceDiff(kind=ChangeKind.CREATE, **base)
    if new is None:
        return ResourceDiff(kind=ChangeKind.DELETE, **base)
    walk = _Walk(ignore=_ignored_prefixes(new))
    _walk(_inputs(old), _inputs(new), "", walk)
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


def _update_kind(
    walk: _Walk, causes: tuple[ReplaceCause, ...], renamed_from: str | None
) -> ChangeKind:
    if causes:
        return ChangeKind.REPLACE
    # A rename alone is shown as an update so the reviewer sees it; the engine only
    # rewrites the URN in its state and leaves the cloud resource alone.
    if renamed_from or any(not c.ignored for c in walk.changes):
        return ChangeKind.UPDATE
    return ChangeKind.SAME


def _inputs(resource: Resource) -> dict[str, Any]:
    return dict(resource.get("inputs") or {})


def _option(resource: Resource, name: str) -> Any:
    return resource.get(name, OPTION_DEFAULTS.get(name))


def _option_changes(old: Resource, new: Resource) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name in OPTION_FIELDS:
        before, after = _option(old, name), _option(new, name)
        if not _same(before, after):
            changes.append(FieldChange(name, before, after, option=True))
    return changes


def _ignored_prefixes(resource: Resource) -> tuple[tuple[str, ...], ...]:
    return tuple(_path_parts(str(p)) for p in resource.get("ignoreChanges") or [])


def _replace_causes(
    rtype: str, old: Resource, new: Resource, walk: _Walk
) -> tuple[ReplaceCause, ...]:
    """Force-new paths (provider ForceNew, the conditional rules whose condition holds, and the
    resource's replaceOnChanges) that changed."""
    own = [str(p) for p in new.get("replaceOnChanges") or []]
    applied = [c for c in walk.changes if not c.ignored and not c.option]
    if "*" in own and applied:
        return (ReplaceCause("*"),)
    rules = {rule.path: rule for rule in replacements.conditional_force_new(rtype)}
    hits: list[ReplaceCause] = []
    for path in dict.fromkeys((*replacements.force_new_paths(rtype), *own, *rules)):
        parts = _path_parts(path)
        if any(_under(parts, prefix) for prefix in walk.ignore):
            continue
        before, after = _values_at(_inputs(old), parts), _values_at(_inputs(new), parts)
        probe = _Walk()
        _walk(before, after, path, probe)
        if not probe.changes:
            continue
        rule = rules.get(path) if path not in own else None
        if rule is None:
            hits.append(ReplaceCause(path))
        elif rule.forces(_unset_as_none(before), _unset_as_none(after)):
            hits.append(ReplaceCause(path, condition=rule.meaning))
    return tuple(hits)


def _unset_as_none(value: Any) -> Any:
    return None if value is _ABSENT else value


# --- cascading replacements ---------------------------------------------------------------

Pair = tuple[Resource | None, Resource | None]


def _cascade(diffs: dict[str, ResourceDiff], pairs: dict[str, Pair]) -> dict[str, ResourceDiff]:
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
    ignore = _ignored_prefixes(new)
    found: list[tuple[str, str, bool]] = []
    for key in sorted(deps, key=str):
        sources = sorted(str(u) for u in deps[key] or [] if str(u) in recreated)
        if not sources or any(_under((str(key),), prefix) for prefix in ignore):
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
    ignore = _ignored_prefixes(resource)
    roots: set[str] = set()
    for path in (*replacements.force_new_paths(rtype), *own, *rules):
        parts = _path_parts(path)
        if parts and not any(_under(parts, prefix) for prefix in ignore):
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
    own_roots = {_path_parts(c.path)[:1] for c in diff.changes if not c.option}
    own_causes = {c.path for c in diff.replace_causes}
    causes = list(diff.replace_causes)
    added: list[FieldChange] = []
    for key, source, force_new in inherited:
        name, how = diffs[source].name, recreated[source]
        if force_new and key not in own_causes:
            causes.append(ReplaceCause(key, source=source, source_name=name, source_change=how))
        if (key,) not in own_roots:
            before = _inputs(old).get(key, _ABSENT)
            added.append(
                FieldChange(
                    _join("", key),
                    before=_unset_as_none(before),
                    after=UNKNOWN,
                    before_set=before is not _ABSENT,
                    source=source,
                    cause=f"comes from {name}, which is {how}",
                )
            )
    inputs = [c for c in diff.changes if not c.option] + added
    inputs.sort(key=lambda c: _path_parts(c.path)[:1])  # stable: walk order within an input
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


# --- walking two values -------------------------------------------------------------------


class _Absent:
    """A value that is not set at all (distinct from JSON null)."""

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


@dataclass
class _Walk:
    ignore: tuple[tuple[str, ...], ...] = ()
    changes: list[FieldChange] = field(default_factory=lambda: [])
    secrets: list[str] = field(default_factory=lambda: [])


def _walk(before: Any, after: Any, path: str, out: _Walk) -> None:
    """Record every leaf that differs between ``before`` and ``after`` under ``path``."""
    if _is_marker(before, SECRET) and _is_marker(after, SECRET):
        out.secrets.append(path)  # both hidden: unchanged as far as anyone can see
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            _walk(before.get(key, _ABSENT), after.get(key, _ABSENT), _join(path, str(key)), out)
        return
    if isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):
            _walk(_item(before, i), _item(after, i), f"{path}[{i}]", out)
        return
    if _same(before, after):
        return
    decoded = _json_containers(before, after)
    if decoded is not None:
        _walk(*decoded, path, out)  # e.g. a provider's defaultLabels, sent as a JSON string
        return
    ignored = any(_under(_path_parts(path), prefix) for prefix in out.ignore)
    out.changes.append(
        FieldChange(
            path,
            before=None if before is _ABSENT else before,
            after=None if after is _ABSENT else after,
            before_set=before is not _ABSENT,
            after_set=after is not _ABSENT,
            ignored=ignored,
        )
    )


def _json_containers(before: Any, after: Any) -> tuple[Any, Any] | None:
    """Both strings decoded, when both hold a JSON object or array; else None."""
    if not isinstance(before, str) or not isinstance(after, str):
        return None
    decoded: list[Any] = []
    for text in (before, after):
        if not text.lstrip().startswith(("{", "[")):
            return None
        try:
            value = json.loads(text)
        except ValueError:  # markers like "[unknown]" land here too
            return None
        if not isinstance(value, (dict, list)):
            return None
        decoded.append(value)
    return decoded[0], decoded[1]


def _item(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else _ABSENT


def _same(a: Any, b: Any) -> bool:
    # JSON true is not 1: Python's True == 1 would hide a real change.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _is_marker(value: Any, marker: str) -> bool:
    return isinstance(value, str) and value == marker


_PLAIN_KEY = re.compile(r"^[A-Za-z_$][\w$\-/]*$")
_PATH_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(?:\d+|\*)\]|([^.\[\]]+)')


def _join(path: str, key: str) -> str:
    """Pulumi property-path style: ``a.b``, or ``a["key.with.dots"]`` when a key needs it."""
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _path_parts(path: str) -> tuple[str, ...]:
    """The property names along a path, list indices dropped (they never change the rule)."""
    parts: list[str] = []
    for match in _PATH_TOKEN.finditer(path):
        quoted, plain = match.group(1), match.group(2)
        if quoted is not None:
            parts.append(json.loads(f'"{quoted}"'))
        elif plain is not None:
            parts.append(plain)
    return tuple(parts)


def _under(parts: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return bool(prefix) and parts[: len(prefix)] == prefix


def _values_at(data: Any, parts: tuple[str, ...]) -> Any:
    """The value(s) at a path; through a list it gives the list of each item's value."""
    if not parts or data is _ABSENT:
        return data
    if isinstance(data, list):
        return [_values_at(item, parts) for item in data]
    if isinstance(data, dict):
        return _values_at(data.get(parts[0], _ABSENT), parts[1:])
    if _is_marker(data, SECRET) or _is_marker(data, UNKNOWN):
        return data  # the whole subtree is hidden or not known yet
    return _ABSENT


# --- dangers ------------------------------------------------------------------------------


def _dangers(diff: ResourceDiff, old: Resource | None, new: Resource | None) -> list[Danger]:
    # Components hold nothing in the cloud; each of their children is judged on its own.
    if not diff.custom:
        return []
    if diff.kind is ChangeKind.DELETE and old is not None:
        return [_delete_danger(diff, old)]
    if old is None or new is None or diff.kind not in (ChangeKind.UPDATE, ChangeKind.REPLACE):
        return []
    found = _replace_dangers(diff, _inputs(old)) if diff.kind is ChangeKind.REPLACE else []
    return found + _guard_dangers(diff, old, new)


def _danger(diff: ResourceDiff, kind: DangerKind, severity: Severity, reason: str) -> Danger:
    return Danger(diff.urn, diff.type, diff.name, kind, severity, reason)


def _delete_danger(diff: ResourceDiff, old: Resource) -> Danger:
    retained = (
        bool(_option(old, "retainOnDelete")) or _inputs(old).get("deletionPolicy") == "ABANDON"
    )
    guards = [s.path for s in replacements.protection_switches(diff.type) if _blocks_delete(old, s)]
    reasons = [
        "will be deleted"
        + (": a stateful resource, the data in it is lost" if diff.stateful else "")
    ]
    if diff.protected:
        reasons.append(
            "it is protected (protect: true), so Pulumi will refuse to delete it and the "
            "update fails until protection is removed in an earlier change"
        )
    if guards:
        reasons.append(
            f"the provider's deletion guard ({', '.join(guards)}) is on, "
            "so the delete fails at apply"
        )
    if retained:
        reasons.append(
            "it is retained on delete: the cloud resource is kept, only dropped from the stack"
        )
    kind = DangerKind.DELETE_PROTECTED if diff.protected else DangerKind.DELETE
    if kind is DangerKind.DELETE and diff.stateful:
        kind = DangerKind.DELETE_STATEFUL
    high = diff.protected or (diff.stateful and not retained)
    return _danger(diff, kind, Severity.HIGH if high else Severity.MEDIUM, "; ".join(reasons))


def _blocks_delete(resource: Resource, switch: replacements.ProtectionSwitch) -> bool:
    # ABANDON/DISABLE do not block a delete, they soften it (see "retained").
    value = _switch_value(_inputs(resource), switch)
    return _is_protective(value, switch) and value not in ("ABANDON", "DISABLE")


def _replace_dangers(diff: ResourceDiff, inputs: dict[str, Any]) -> list[Danger]:
    because = replacement_reason(diff)
    found: list[Danger] = []
    if diff.stateful:
        found.append(
            _danger(
                diff,
                DangerKind.REPLACE_STATEFUL,
                Severity.HIGH,
                f"likely replaced (delete and re-create) because {because}: what the old "
                "one holds (its data, or its generated value) is lost",
            )
        )
    if diff.protected:
        found.append(
            _danger(
                diff,
                DangerKind.REPLACE_PROTECTED,
                Severity.HIGH,
                f"likely replaced because {because}, but it is protected (protect: true): "
                "Pulumi will refuse to replace it and the update fails",
            )
        )
    outage = replacements.outage_on_replace(diff.type, inputs)
    if outage is not None:
        found.append(
            _danger(diff, DangerKind.REPLACE_OUTAGE, Severity.HIGH, f"likely replaced because {because}: an outage, {outage}")
        )
    return found


def _guard_dangers(diff: ResourceDiff, old: Resource, new: Resource) -> list[Danger]:
    severity = Severity.HIGH if diff.stateful else Severity.MEDIUM
    found: list[Danger] = []
    if _option(old, "protect") is True and _option(new, "protect") is not True:
        found.append(
            _danger(
                diff,
                DangerKind.PROTECT_REMOVED,
                severity,
                "protection removed (protect: true → false): "
                "Pulumi will no longer refuse to delete it",
            )
        )
    if _option(old, "retainOnDelete") is True and _option(new, "retainOnDelete") is not True:
        found.append(
            _danger(
                diff,
                DangerKind.RETAIN_ON_DELETE_REMOVED,
                severity,
                "retainOnDelete removed (true → false): deleting it from the program will now "
                "delete the cloud resource too",
            )
        )
    for switch in replacements.protection_switches(diff.type):
        before = _switch_value(_inputs(old), switch)
        after = _switch_value(_inputs(new), switch)
        if _is_protective(before, switch) and not _is_protective(after, switch):
            found.append(
                _danger(
                    diff,
                    DangerKind.DELETION_PROTECTION_OFF,
                    severity,
                    f"{switch.meaning} ({switch.path}: {_plain(before)} → {_plain(after)})",
                )
            )
    return found


def _switch_value(inputs: dict[str, Any], switch: replacements.ProtectionSwitch) -> Any:
    value = _values_at(inputs, _path_parts(switch.path))
    return switch.default if value is _ABSENT else value


def _is_protective(value: Any, switch: replacements.ProtectionSwitch) -> bool:
    if not isinstance(value, (bool, int, float, str)):
        return False
    return any(_same(value, p) for p in switch.protective)


def _plain(value: Any) -> str:
    if _is_marker(value, UNKNOWN):
        return "(known after apply)"
    if _is_marker(value, SECRET):
        return SECRET
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _danger_order(danger: Danger) -> tuple[int, int, str]:
    kinds = list(DangerKind)
    return (0 if danger.severity is Severity.HIGH else 1, kinds.index(danger.kind), danger.urn)


# --- wording helpers ----------------------------------------------------------------------


def replacement_reason(diff: ResourceDiff) -> str:
    """Why ``diff`` is likely replaced: ``region, name changed; its network comes from vpc,
    which is replaced``. Plain force-new paths are grouped; every other cause says its own."""
    causes = diff.replace_causes or tuple(ReplaceCause(p) for p in diff.replace_paths)
    plain = [c.path for c in causes if not c.condition and c.source is None]
    clauses = [f"{', '.join(plain)} changed"] if plain else []
    clauses += [c.reason for c in causes if c.condition or c.source is not None]
    return "; ".join(clauses)


def _resources_with(dangers: Iterable[Danger], kinds: Set[DangerKind]) -> set[str]:
    return {d.urn for d in dangers if d.kind in kinds}


def _delete_clause(deleted: int, stateful: int) -> str:
    if stateful == deleted:
        return f"deletes {_plural(stateful, 'stateful resource')}"
    if stateful:
        return f"deletes {_plural(deleted, 'resource')} ({stateful} stateful)"
    return f"deletes {_plural(deleted, 'resource')}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
