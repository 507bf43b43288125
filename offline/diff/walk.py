"""Walking two JSON values side by side: every leaf that differs, with Pulumi-style property paths.

String inputs that hold JSON objects or arrays (a provider's ``defaultLabels``) are compared key
by key; ``SECRET`` on both sides is never compared."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from offline.graph import SECRET, UNKNOWN

from .model import FieldChange


class _Absent:
    """A value that is not set at all (distinct from JSON null)."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


@dataclass
class Walk:
    ignore: tuple[tuple[str, ...], ...] = ()
    changes: list[FieldChange] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)


def walk_values(before: Any, after: Any, path: str, out: Walk) -> None:
    """Record every leaf that differs between ``before`` and ``after`` under ``path``."""
    if is_marker(before, SECRET) and is_marker(after, SECRET):
        out.secrets.append(path)  # both hidden: unchanged as far as anyone can see
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            walk_values(before.get(key, ABSENT), after.get(key, ABSENT), join_path(path, str(key)), out)
        return
    if isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):
            walk_values(_item(before, i), _item(after, i), f"{path}[{i}]", out)
        return
    if same(before, after):
        return
    decoded = _json_containers(before, after)
    if decoded is not None:
        walk_values(*decoded, path, out)  # e.g. a provider's defaultLabels, sent as a JSON string
        return
    ignored = any(under(path_parts(path), prefix) for prefix in out.ignore)
    out.changes.append(
        FieldChange(
            path,
            before=None if before is ABSENT else before,
            after=None if after is ABSENT else after,
            before_set=before is not ABSENT,
            after_set=after is not ABSENT,
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
    return values[index] if index < len(values) else ABSENT


def same(a: Any, b: Any) -> bool:
    # JSON true is not 1: Python's True == 1 would hide a real change.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def is_marker(value: Any, marker: str) -> bool:
    return isinstance(value, str) and value == marker


_PLAIN_KEY = re.compile(r"^[A-Za-z_$][\w$\-/]*$")
_PATH_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(?:\d+|\*)\]|([^.\[\]]+)')


def join_path(path: str, key: str) -> str:
    """Pulumi property-path style: ``a.b``, or ``a["key.with.dots"]`` when a key needs it."""
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def path_parts(path: str) -> tuple[str, ...]:
    """The property names along a path, list indices dropped (they never change the rule)."""
    parts: list[str] = []
    for match in _PATH_TOKEN.finditer(path):
        quoted, plain = match.group(1), match.group(2)
        if quoted is not None:
            parts.append(json.loads(f'"{quoted}"'))
        elif plain is not None:
            parts.append(plain)
    return tuple(parts)


def under(parts: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return bool(prefix) and parts[: len(prefix)] == prefix


def values_at(data: Any, parts: tuple[str, ...]) -> Any:
    """The value(s) at a path; through a list it gives the list of each item's value."""
    if not parts or data is ABSENT:
        return data
    if isinstance(data, list):
        return [values_at(item, parts) for item in data]
    if isinstance(data, dict):
        return values_at(data.get(parts[0], ABSENT), parts[1:])
    if is_marker(data, SECRET) or is_marker(data, UNKNOWN):
        return data  # the whole subtree is hidden or not known yet
    return ABSENT


def unset_as_none(value: Any) -> Any:
    return None if value is ABSENT else value
