"""What a reviewer must not miss: deletes, replacements of stateful or protected resources, guards removed."""

from __future__ import annotations

import json
from typing import Any

from offline import replacements
from offline.graph import SECRET, UNKNOWN

from .model import ChangeKind, Danger, DangerKind, Resource, ResourceDiff, Severity
from .resource import inputs_of, option_of
from .walk import ABSENT, is_marker, path_parts, same, values_at
from .wording import replacement_reason


def dangers_of(diff: ResourceDiff, old: Resource | None, new: Resource | None) -> list[Danger]:
    # Components hold nothing in the cloud; each of their children is judged on its own.
    if not diff.custom:
        return []
    if diff.kind is ChangeKind.DELETE and old is not None:
        return [_delete_danger(diff, old)]
    if old is None or new is None or diff.kind not in (ChangeKind.UPDATE, ChangeKind.REPLACE):
        return []
    found = _replace_dangers(diff, inputs_of(old)) if diff.kind is ChangeKind.REPLACE else []
    return found + _guard_dangers(diff, old, new)


def _danger(diff: ResourceDiff, kind: DangerKind, severity: Severity, reason: str) -> Danger:
    return Danger(diff.urn, diff.type, diff.name, kind, severity, reason)


def _delete_danger(diff: ResourceDiff, old: Resource) -> Danger:
    retained = bool(option_of(old, "retainOnDelete")) or inputs_of(old).get("deletionPolicy") == "ABANDON"
    guards = [s.path for s in replacements.protection_switches(diff.type) if _blocks_delete(old, s)]
    reasons = ["will be deleted" + (": a stateful resource, the data in it is lost" if diff.stateful else "")]
    if diff.protected:
        reasons.append(
            "it is protected (protect: true), so Pulumi will refuse to delete it and the "
            "update fails until protection is removed in an earlier change"
        )
    if guards:
        reasons.append(f"the provider's deletion guard ({', '.join(guards)}) is on, so the delete fails at apply")
    if retained:
        reasons.append("it is retained on delete: the cloud resource is kept, only dropped from the stack")
    kind = DangerKind.DELETE_PROTECTED if diff.protected else DangerKind.DELETE
    if kind is DangerKind.DELETE and diff.stateful:
        kind = DangerKind.DELETE_STATEFUL
    high = diff.protected or (diff.stateful and not retained)
    return _danger(diff, kind, Severity.HIGH if high else Severity.MEDIUM, "; ".join(reasons))


def _blocks_delete(resource: Resource, switch: replacements.ProtectionSwitch) -> bool:
    # ABANDON/DISABLE do not block a delete, they soften it (see "retained").
    value = _switch_value(inputs_of(resource), switch)
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
            _danger(
                diff,
                DangerKind.REPLACE_OUTAGE,
                Severity.HIGH,
                f"likely replaced because {because}: an outage, {outage}",
            )
        )
    return found


def _guard_dangers(diff: ResourceDiff, old: Resource, new: Resource) -> list[Danger]:
    severity = Severity.HIGH if diff.stateful else Severity.MEDIUM
    found: list[Danger] = []
    if option_of(old, "protect") is True and option_of(new, "protect") is not True:
        found.append(
            _danger(
                diff,
                DangerKind.PROTECT_REMOVED,
                severity,
                "protection removed (protect: true → false): Pulumi will no longer refuse to delete it",
            )
        )
    if option_of(old, "retainOnDelete") is True and option_of(new, "retainOnDelete") is not True:
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
        before = _switch_value(inputs_of(old), switch)
        after = _switch_value(inputs_of(new), switch)
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
    value = values_at(inputs, path_parts(switch.path))
    return switch.default if value is ABSENT else value


def _is_protective(value: Any, switch: replacements.ProtectionSwitch) -> bool:
    if not isinstance(value, (bool, int, float, str)):
        return False
    return any(same(value, p) for p in switch.protective)


def _plain(value: Any) -> str:
    if is_marker(value, UNKNOWN):
        return "(known after apply)"
    if is_marker(value, SECRET):
        return SECRET
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def danger_order(danger: Danger) -> tuple[int, int, str]:
    kinds = list(DangerKind)
    return (0 if danger.severity is Severity.HIGH else 1, kinds.index(danger.kind), danger.urn)
