"""A run's statistics as data, read from Locust's CSV reports (`<prefix>_stats.csv` and
`<prefix>_stats_history.csv`)."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtest.thresholds import Totals

AGGREGATED = "Aggregated"  # the name of Locust's total row


@dataclass(frozen=True)
class RouteStats:
    """One line of Locust's statistics: a route, or the aggregated total."""

    method: str
    name: str
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    average_ms: float
    max_ms: float
    requests_per_second: float

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def totals(self) -> Totals:
        return Totals(self.requests, self.failures, self.p95_ms)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "error_ratio": self.error_ratio}


@dataclass(frozen=True)
class Sample:
    """The latest line of the history: the moment's users and throughput, the run's counts so far."""

    users: int
    requests_per_second: float
    p95_ms: float  # over Locust's recent window, not the whole run
    requests: int
    failures: int


def read_stats(csv_prefix: Path) -> tuple[RouteStats, tuple[RouteStats, ...]]:
    """The aggregated total and each route's statistics of a finished run."""
    path = Path(f"{csv_prefix}_stats.csv")
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: Locust did not write its statistics")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [_route(row) for row in csv.DictReader(handle)]
    total = next((row for row in rows if row.name == AGGREGATED), None)
    if total is None:
        raise ValueError(f"{path} has no {AGGREGATED} row")
    return total, tuple(row for row in rows if row.name != AGGREGATED)


def latest_sample(csv_prefix: Path) -> Sample | None:
    """The last aggregated line of the history written so far (Locust flushes it every few seconds)."""
    path = Path(f"{csv_prefix}_stats_history.csv")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get("Name") == AGGREGATED]
    except (FileNotFoundError, csv.Error):
        return None
    if not rows:
        return None
    row = rows[-1]
    return Sample(
        users=int(_number(row.get("User Count"))),
        requests_per_second=_number(row.get("Requests/s")),
        p95_ms=_number(row.get("95%")),
        requests=int(_number(row.get("Total Request Count"))),
        failures=int(_number(row.get("Total Failure Count"))),
    )


def _route(row: dict[str, str]) -> RouteStats:
    return RouteStats(
        method=row.get("Type", ""),
        name=row.get("Name", ""),
        requests=int(_number(row.get("Request Count"))),
        failures=int(_number(row.get("Failure Count"))),
        p50_ms=_number(row.get("50%")),
        p95_ms=_number(row.get("95%")),
        p99_ms=_number(row.get("99%")),
        average_ms=_number(row.get("Average Response Time")),
        max_ms=_number(row.get("Max Response Time")),
        requests_per_second=_number(row.get("Requests/s")),
    )


def _number(text: str | None) -> float:
    # Locust writes `N/A` for a percentile of no requests.
    try:
        return float(text) if text not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0
