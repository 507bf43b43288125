"""The fault model of the demo service: how far from healthy each part of the system is.

Kept apart from the metrics and the traffic that reads it, so another lab (connection pooling and
caching, issue 7) can drive the same service with its own faults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Faults:
    """The state the synthetic traffic follows; the defaults are a healthy system."""

    error_ratio: float = 0.0002  # API requests answered 5xx (healthy: 0.2x the 99.9% SLO's budget)
    slow_ratio: float = 0.01  # API requests slower than the 500 ms latency SLO (healthy: 0.2x the 5% budget)
    live_workers: int = 2  # Celery workers answering pings; 0 also stops task processing
    cache_hit_ratio: float = 0.92  # cache-aside lookups that hit

    def __post_init__(self) -> None:
        for name in ("error_ratio", "slow_ratio", "cache_hit_ratio"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.live_workers < 0:
            raise ValueError(f"live_workers must be 0 or more, not {self.live_workers}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Faults from a JSON object; unknown keys are an error, missing ones stay healthy."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        return cls(**data)


HEALTHY = Faults()

# The named faults the alerts lab injects, each one thing broken and the rest healthy.
NAMED_FAULTS: dict[str, Faults] = {
    "healthy": HEALTHY,
    "full-outage": Faults(error_ratio=1.0),
    "error-spike": Faults(error_ratio=0.2),
    "latency-regression": Faults(slow_ratio=0.9),
    "workers-gone": Faults(live_workers=0),
    "cache-collapse": Faults(cache_hit_ratio=0.02),
}
