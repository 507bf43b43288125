"""Renderers for a ``DiffReport``: terminal text, a GitHub PR comment, and JSON.

Each returns a string and never prints. Dangers always come first. The only secret content a
graph holds is the ``[secret]`` marker, and that marker is all that is ever rendered for it.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from typing import Any

from offline.diff import (
    ChangeKind,
    Danger,
    DiffReport,
    FieldChange,
    ReplaceCause,
    ResourceDiff,
    Severity,
    danger_headline,
    summary_line,
)
from offline.graph import SECRET, UNKNOWN

# Most consequential first, as a reviewer should read them.
GROUP_ORDER: tuple[ChangeKind, ...] = (
    ChangeKind.DELETE,
    ChangeKind.REPLACE,
    ChangeKind.UPDATE,
    ChangeKind.CREATE,
)
SYMBOLS: dict[ChangeKind, str] = {
    ChangeKind.CREATE: "+",
    ChangeKind.DELETE: "-",
    ChangeKind.UPDATE: "~",
    ChangeKind.REPLACE: "+-",
    ChangeKind.SAME: " ",
}
GROUP_TITLES: dict[ChangeKind, str] = {
    ChangeKind.DELETE: "Deleted",
    ChangeKind.REPLACE: "Replaced (likely)",
    ChangeKind.UPDATE: "Updated in place",
    ChangeKind.CREATE: "Created",
}
KNOWN_AFTER_APPLY = "(known after apply)"
NOT_SET = "(not set)"
NO_DANGER_NOTE = "✅ Nothing is deleted, no stateful resource is replaced, no protection is removed."
TEXT_VALUE_LIMIT = 80
MARKDOWN_VALUE_LIMIT = 60


# --- values -------------------------------------------------------------------------------


def format_value(value: Any, is_set: bool = True, limit: int = TEXT_VALUE_LIMIT) -> str:
    """A value as one short line: JSON, markers spelled out, cut at ``limit`` characters."""
    return _window(_value_text(value, is_set), 0, limit)


def format_pair(change: FieldChange, limit: int = TEXT_VALUE_LIMIT) -> tuple[str, str]:
    """Before and after, each cut at ``limit`` characters around their first difference, so
    two long values that share a prefix still visibly differ."""
    before = _value_text(change.before, change.before_set)
    after = _value_text(change.after, change.after_set)
    if len(before) <= limit and len(after) <= limit:
        return before, after
    same = (b == a for b, a in zip(before, after, strict=False))
    differs_at = next((i for i, equal in enumerate(same) if not equal), min(len(before), len(after)))
    lead = limit // 3  # what is shown of the shared text before the difference
    start = 0 if differs_at < limit - lead else differs_at - lead
    return _window(before, start, limit), _window(after, start, limit)


def _value_text(value: Any, is_set: bool) -> str:
    if not is_set:
        return NOT_SET
    # Markers are replaced wherever they sit, at the top or deep inside a dict or list.
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    return text.replace(json.dumps(UNKNOWN), KNOWN_AFTER_APPLY).replace(json.dumps(SECRET), SECRET)


def _window(text: str, start: int, limit: int) -> str:
    """At most ``limit`` characters of ``text`` from ``start``, with … where it was cut."""
    if len(text) <= limit:
        return text
    head = "…" if start > 0 else ""
    rest = text[start:]
    if len(head) + len(rest) <= limit:
        return head + rest
    return head + rest[: limit - len(head) - 1] + "…"


def _change_note(change: FieldChange) -> str:
    """Words for what the values alone do not say."""
    notes: list[str] = []
    if change.cause:
        notes.append(f"{change.cause}: known after apply")
    elif change.known_after_apply:
        notes.append("may or may not change")
    if change.before == SECRET and change.after_set and change.after != SECRET:
        notes.append("no longer secret")
    if change.after == SECRET and change.before_set and change.before != SECRET:
        notes.append("now secret")
    if change.ignored:
        notes.append("ignored: in ignoreChanges, not applied")
    return "; ".join(notes)


def _change_label(change: FieldChange) -> str:
    return f"{change.path} (resource option)" if change.option else change.path


def _resource_note(resource: ResourceDiff) -> str:
    notes: list[str] = []
    if resource.kind is ChangeKind.REPLACE:
        notes.append(f"likely replacement: {_replace_wording(resource)}")
    if resource.previous_urn:
        notes.append(f"was {resource.previous_urn}")
    return "; ".join(notes)


def _replace_wording(resource: ResourceDiff) -> str:
    """``name, project forces a new resource``, a conditional rule's reason in parentheses,
    and for an inherited replacement where the value comes from."""
    causes = resource.replace_causes or tuple(ReplaceCause(p) for p in resource.replace_paths)
    plain = [c.path for c in causes if not c.condition and c.source is None]
    parts = [f"{', '.join(plain)} forces a new resource"] if plain else []
    for cause in causes:
        if cause.source is not None:
            parts.append(cause.reason)
        elif cause.condition:
            parts.append(f"{cause.path} forces a new resource ({cause.condition})")
    return "; ".join(parts)


def _changed(report: DiffReport) -> list[ResourceDiff]:
    return [r for kind in GROUP_ORDER for r in report.of_kind(kind)]


# --- text ---------------------------------------------------------------------------------


def render_text(report: DiffReport) -> str:
    """Terminal output in the spirit of `pulumi preview`: dangers, then grouped resources."""
    header = f"omni diff: stack {report.stack or '?'} ({report.project or '?'})"
    if not report.has_changes:
        unchanged = report.counts[ChangeKind.SAME.value]
        return f"{header}\nNo changes ({unchanged} resources unchanged).\n"
    lines = [header, f"Summary: {summary_line(report)}", ""]
    if report.has_danger:
        lines += _text_dangers(report)
    for kind in GROUP_ORDER:
        lines += _text_group(kind, report.of_kind(kind))
    if report.output_changes:
        lines += ["Stack outputs:", *(_text_change(c) for c in report.output_changes), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _text_dangers(report: DiffReport) -> list[str]:
    lines = [f"DANGER: {danger_headline(report)}"]
    for danger in report.dangers:
        mark = "!!" if danger.severity is Severity.HIGH else "! "
        lines.append(f"  {mark} {danger.type} {danger.name}: {danger.reason}")
    return [*lines, ""]


def _text_group(kind: ChangeKind, resources: tuple[ResourceDiff, ...]) -> list[str]:
    if not resources:
        return []
    lines = [f"{GROUP_TITLES[kind]} ({len(resources)}):"]
    for resource in resources:
        note = _resource_note(resource)
        lines.append(f"  {SYMBOLS[kind]:<2} {resource.type} {resource.name}" + (f"  ({note})" if note else ""))
        lines += ["      " + _text_change(c) for c in resource.changes]
        if resource.unreadable_secrets and kind in (ChangeKind.UPDATE, ChangeKind.REPLACE):
            paths = ", ".join(resource.unreadable_secrets)
            lines.append(f"      (secret values at {paths}: unchanged as far as we can see)")
    return [*lines, ""]


def _text_change(change: FieldChange) -> str:
    label = _change_label(change)
    if not change.before_set:
        line = f"+ {label}: {format_value(change.after)}"
    elif not change.after_set:
        line = f"- {label}: {format_value(change.before)}"
    else:
        before, after = format_pair(change)
        line = f"~ {label}: {before} => {after}"
    note = _change_note(change)
    return f"{line}  [{note}]" if note else line


# --- markdown -----------------------------------------------------------------------------


def render_markdown(report: DiffReport) -> str:
    """A GitHub PR comment: heading, danger section first, counts, then per-resource details."""
    lines = [f"## omni diff: stack `{_md_text(report.stack or '?')}`", ""]
    if not report.has_changes:
        unchanged = report.counts[ChangeKind.SAME.value]
        return "\n".join([*lines, f"No changes ({unchanged} resources unchanged)."]) + "\n"
    lines += _md_dangers(report) if report.has_danger else [NO_DANGER_NOTE, ""]
    lines += _md_summary(report)
    for kind in GROUP_ORDER:
        lines += _md_group(kind, report.of_kind(kind))
    if report.output_changes:
        lines += ["### Stack outputs", "", *_md_table(report.output_changes), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_dangers(report: DiffReport) -> list[str]:
    lines = ["> [!CAUTION]", f"> ⚠️ **{danger_headline(report)}**", ">"]
    for danger in report.dangers:
        icon = "🔴" if danger.severity is Severity.HIGH else "🟠"
        who = f"**{_md_code(danger.name)}** ({_md_code(danger.type)})"
        lines.append(f"> - {icon} {who}: {_md_text(danger.reason)}")
    return [*lines, ""]


def _md_summary(report: DiffReport) -> list[str]:
    counts = report.counts
    rows = [f"| {SYMBOLS[k]} {k.value} | {counts[k.value]} |" for k in GROUP_ORDER]
    rows.append(f"| unchanged | {counts[ChangeKind.SAME.value]} |")
    return ["| Change | Resources |", "| --- | ---: |", *rows, ""]


def _md_group(kind: ChangeKind, resources: tuple[ResourceDiff, ...]) -> list[str]:
    if not resources:
        return []
    lines = [f"### {GROUP_TITLES[kind]} ({len(resources)})", ""]
    if kind in (ChangeKind.CREATE, ChangeKind.DELETE):
        return [*lines, *(_md_bullet(r) for r in resources), ""]
    for resource in resources:
        lines += _md_details(resource)
    return lines


def _md_bullet(resource: ResourceDiff) -> str:
    return f"- `{SYMBOLS[resource.kind]}` {_md_code(resource.name)} {_md_code(resource.type)}"


def _md_details(resource: ResourceDiff) -> list[str]:
    codes = " ".join(
        f"<code>{html.escape(part)}</code>" for part in (SYMBOLS[resource.kind], resource.name, resource.type)
    )
    summary = f"{codes} ({_plural_fields(len(resource.changes))})"
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    note = _resource_note(resource)
    if note:
        lines += [f"_{_md_text(note)}_", ""]
    if resource.changes:
        lines += [*_md_table(resource.changes), ""]
    if resource.unreadable_secrets:
        paths = ", ".join(_md_code(p) for p in resource.unreadable_secrets)
        lines += [f"Secret values at {paths}: unchanged as far as we can see.", ""]
    return [*lines, "</details>", ""]


def _md_table(changes: tuple[FieldChange, ...]) -> list[str]:
    rows = ["| Field | Before | After | Note |", "| --- | --- | --- | --- |"]
    for change in changes:
        before, after = format_pair(change, MARKDOWN_VALUE_LIMIT)
        cells = (
            _md_code(_change_label(change)),
            _md_code(before),
            _md_code(after),
            _md_text(_change_note(change)),
        )
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _md_code(text: str) -> str:
    """Inline code that survives a table cell: pipes escaped, backticks fenced."""
    text = text.replace("|", "\\|")
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


def _md_text(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _plural_fields(count: int) -> str:
    return "1 field" if count == 1 else f"{count} fields"


# --- the pull-request comment: every stack, danger of all stacks first -------------------

# Finds the bot's earlier comment, so the workflow edits it instead of adding another.
COMMENT_MARKER = "<!-- omni-diff -->"
# GitHub refuses a comment over 65,536 characters; the danger section always fits.
COMMENT_LIMIT = 60_000
# Riskiest stack first in the danger section.
STACK_RANK: dict[str, int] = {"prod": 0, "staging": 1, "dev": 2}
NO_DANGER_IN_ANY_STACK = (
    "✅ No stack loses anything: nothing is deleted, no stateful resource is replaced, no protection is removed."
)
COST_HEADING = "**Monthly cost** (estimate at list prices; `omni cost --stack S` shows every line and assumption):"
DETAILS_TOO_LONG = (
    "_Details left out: the comment would pass GitHub's size limit. "
    "Run `omni diff --stack {stack} --ref origin/main` or read the workflow's `omni-diff` artifact._"
)


def render_markdown_comment(
    reports: list[DiffReport], limit: int = COMMENT_LIMIT, cost_lines: list[str] | None = None
) -> str:
    """One PR comment for every stack: the danger of all stacks at the very top (riskiest
    stack first, each danger named with its resource), a summary row per stack, the monthly
    cost line of each stack (``cost_lines``, rendered by the caller), then each stack's own
    diff. When that is too long for GitHub, the per-stack details go, never the danger."""
    head = [COMMENT_MARKER, "# Infrastructure diff", ""]
    dangerous = sorted((r for r in reports if r.has_danger), key=lambda r: STACK_RANK.get(r.stack, len(STACK_RANK)))
    head += _md_comment_dangers(dangerous) if dangerous else [NO_DANGER_IN_ANY_STACK, ""]
    head += ["| Stack | Plan | Danger |", "| --- | --- | --- |"]
    for report in reports:
        danger = f"⚠️ {len(report.dangers)}" if report.has_danger else "none"
        head.append(f"| `{_md_text(report.stack or '?')}` | {_md_text(summary_line(report))} | {danger} |")
    if cost_lines:
        head += ["", COST_HEADING, *cost_lines]
    top = "\n".join([*head, ""]) + "\n"
    details = "\n\n".join(render_markdown(report).rstrip("\n") for report in reports) + "\n"
    if len(top) + len(details) <= limit:
        return top + details
    short = "\n".join(
        f"## omni diff: stack `{_md_text(r.stack or '?')}`\n\n{DETAILS_TOO_LONG.format(stack=r.stack)}\n"
        for r in reports
    )
    return top + short


def _md_comment_dangers(reports: list[DiffReport]) -> list[str]:
    stacks = ", ".join(_md_text(r.stack or "?") for r in reports)
    lines = ["> [!CAUTION]", f"> ⚠️ **Danger in {stacks}: read this before approving.**"]
    for report in reports:
        lines += [">", f"> **{_md_text(report.stack or '?')}**: {_md_text(danger_headline(report))}"]
        for danger in report.dangers:
            icon = "🔴" if danger.severity is Severity.HIGH else "🟠"
            who = f"**{_md_code(danger.name)}** ({_md_code(danger.type)})"
            lines.append(f"> - {icon} {who}: {_md_text(danger.reason)}")
    return [*lines, ""]


# --- json ---------------------------------------------------------------------------------


def render_json(report: DiffReport) -> str:
    """Deterministic JSON (sorted keys): unchanged resources are counted, not listed."""
    data = {
        "stack": report.stack,
        "project": report.project,
        "summary": summary_line(report),
        "has_changes": report.has_changes,
        "has_danger": report.has_danger,
        "danger_headline": danger_headline(report),
        "counts": report.counts,
        "dangers": [_json_danger(d) for d in report.dangers],
        "resources": [_json_resource(r) for r in sorted(_changed(report), key=lambda r: r.urn)],
        "output_changes": [_json_change(c) for c in report.output_changes],
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _json_danger(danger: Danger) -> dict[str, Any]:
    return asdict(danger)


def _json_resource(resource: ResourceDiff) -> dict[str, Any]:
    # Every field as declared; changes also carry the derived `known_after_apply`.
    return {**asdict(resource), "changes": [_json_change(c) for c in resource.changes]}


def _json_change(change: FieldChange) -> dict[str, Any]:
    return {**asdict(change), "known_after_apply": change.known_after_apply}
