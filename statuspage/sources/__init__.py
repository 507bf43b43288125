"""Where the status page's measurements come from: one module per source, one `Source` protocol.

- `demo`: a bundled, deterministic data set (no network, no credentials): the default.
- `prometheus`: any Prometheus HTTP API (the alert lab's, a local one), from the app's metrics.
- `gcp`: Cloud Monitoring in production: the uptime checks' results, and SLO compliance through
  Managed Prometheus's PromQL API.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from statuspage.model import Measurement, PublicComponent


@dataclass(frozen=True)
class SloCompliance:
    """An SLO's good-event ratio over its 30-day period, next to its objective."""

    name: str
    description: str
    objective: float
    compliance: float | None  # None: no events in the period

    @property
    def met(self) -> bool | None:
        return None if self.compliance is None else self.compliance >= self.objective


@dataclass(frozen=True)
class SourceData:
    measurements: tuple[Measurement, ...]
    slos: tuple[SloCompliance, ...] = ()


class Source(Protocol):
    name: str
    """Shown on the page and in status.json (`demo`, `prometheus`, `gcp`)."""

    def measure(self, components: Sequence[PublicComponent], now: datetime.datetime) -> SourceData:
        """One measurement per component, in the given order, as of `now` (UTC)."""
        ...
