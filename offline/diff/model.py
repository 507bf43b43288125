"""What a diff is made of: the change and danger kinds, one field's change, one resource's diff, the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from offline.graph import UNKNOWN

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
DELETE_KINDS = frozenset({DangerKind.DELETE, DangerKind.DELETE_STATEFUL, DangerKind.DELETE_PROTECTED})


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
        return bool(self.output_changes) or any(r.kind is not ChangeKind.SAME for r in self.resources)

    @property
    def has_danger(self) -> bool:
        return bool(self.dangers)

    def of_kind(self, kind: ChangeKind) -> tuple[ResourceDiff, ...]:
        return tuple(r for r in self.resources if r.kind is kind)
