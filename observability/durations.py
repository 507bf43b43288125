"""Prometheus durations ("30s", "1h", "3d", "1h30m") read and written as whole seconds: rules,
scrape intervals, alert policies."""

from __future__ import annotations

import re

# Prometheus's own grammar (model.ParseDuration): units largest first, each at most once.
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
# Written durations use days and smaller only, the way rule files usually spell them.
_WRITTEN_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def is_duration(text: str) -> bool:
    return bool(text) and _DURATION.fullmatch(text) is not None


def parse_duration(text: str) -> int:
    """Seconds in a Prometheus duration; a ValueError names the accepted form."""
    match = _DURATION.fullmatch(text) if text else None
    if match is None:
        raise ValueError(
            f"{text!r} is not a Prometheus duration: digits and a unit, largest first (30s, 5m, 1h30m, 3d)"
        )
    seconds = sum(int(value) * unit for value, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if value)
    if seconds != int(seconds):
        raise ValueError(f"{text!r} is not a whole number of seconds")
    return int(seconds)


def format_duration(seconds: int) -> str:
    """The shortest Prometheus duration for `seconds`: 90 -> "1m30s", 0 -> "0s"."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    parts = []
    for unit, size in _WRITTEN_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
