"""The diff in words: the summary line, the danger headline, why a resource is replaced."""

from __future__ import annotations

from collections.abc import Iterable, Set

from .model import (
    DELETE_KINDS,
    KIND_ORDER,
    PROTECTION_KINDS,
    ChangeKind,
    Danger,
    DangerKind,
    DiffReport,
    ReplaceCause,
    ResourceDiff,
)


def summary_line(report: DiffReport) -> str:
    """``1 to create, 2 to update, 5 unchanged`` or ``No changes``."""
    if not report.has_changes:
        return "No changes"
    counts = report.counts
    parts = [f"{counts[k.value]} to {k.value}" for k in KIND_ORDER[:-1] if counts[k.value]]
    if report.output_changes:
        parts.append(f"{plural(len(report.output_changes), 'stack output')} changed")
    if counts[ChangeKind.SAME.value]:
        parts.append(f"{counts[ChangeKind.SAME.value]} unchanged")
    return ", ".join(parts)


def danger_headline(report: DiffReport) -> str:
    """One sentence a reviewer cannot miss: what gets deleted, replaced or unprotected."""
    deleted = _resources_with(report.dangers, DELETE_KINDS)
    stateful_deleted = deleted & {r.urn for r in report.resources if r.stateful}
    replaced_stateful = _resources_with(report.dangers, {DangerKind.REPLACE_STATEFUL})
    replaced_protected = _resources_with(report.dangers, {DangerKind.REPLACE_PROTECTED}) - replaced_stateful
    unprotected = _resources_with(report.dangers, PROTECTION_KINDS)
    outages = _resources_with(report.dangers, {DangerKind.REPLACE_OUTAGE})
    clauses: list[str] = []
    if deleted:
        clauses.append(_delete_clause(len(deleted), len(stateful_deleted)))
    if replaced_stateful:
        clauses.append(f"replaces {plural(len(replaced_stateful), 'stateful resource')}")
    if replaced_protected:
        clauses.append(f"replaces {plural(len(replaced_protected), 'protected resource')}")
    if unprotected:
        clauses.append(f"removes protection from {plural(len(unprotected), 'resource')}")
    if outages:
        clauses.append(f"interrupts public traffic (replaces {plural(len(outages), 'edge resource')})")
    if not clauses:
        return ""
    joined = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return f"This change {joined}."


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
        return f"deletes {plural(stateful, 'stateful resource')}"
    if stateful:
        return f"deletes {plural(deleted, 'resource')} ({stateful} stateful)"
    return f"deletes {plural(deleted, 'resource')}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
