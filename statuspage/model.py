"""What the status page shows: the public components, their states, and what a source measures.

Plain data, no I/O. The sources (`statuspage.sources`) fill `Measurement`s, the notices
(`statuspage.notices`) come from reviewed files, and `statuspage.report` combines both into the
one `StatusReport` every output (HTML, JSON, Atom, badges) is rendered from.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum

HISTORY_DAYS = 90
"""Daily uptime bars per component, as the best status pages show (Atlassian, Upptime)."""
UPTIME_WINDOWS = ("24h", "7d", "30d")
"""The rolling windows a badge and the JSON show next to the 90 days."""
WINDOW_SECONDS = {"24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400}


class State(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def severity(self) -> int:
        """Worse is higher: the page's overall state is its components' worst."""
        return STATE_SEVERITY[self]


STATE_LABELS = {
    State.OPERATIONAL: "Operational",
    State.DEGRADED: "Degraded performance",
    State.OUTAGE: "Outage",
    State.MAINTENANCE: "Under maintenance",
    State.UNKNOWN: "No data",
}
# No data is better news than maintenance or a failure: it does not hide one.
STATE_SEVERITY = {State.OPERATIONAL: 0, State.UNKNOWN: 1, State.MAINTENANCE: 2, State.DEGRADED: 3, State.OUTAGE: 4}


def worst(states: list[State]) -> State:
    return max(states, key=lambda state: state.severity, default=State.UNKNOWN)


@dataclass(frozen=True)
class PublicComponent:
    """Something users depend on and can check from outside: one uptime check and one row."""

    id: str
    """Short, stable, used in file names, badge URLs, the JSON and incident files (`api`)."""
    name: str
    description: str
    check_path: str
    """The API path the uptime check requests; 2xx means the component works (the application
    serves these paths: docs/platform.md, "Status page")."""


PUBLIC_COMPONENTS: tuple[PublicComponent, ...] = (
    PublicComponent("api", "API", "The Omni REST API.", "/healthz"),
    PublicComponent("auth", "Authentication", "API keys and sign-in tokens are accepted.", "/healthz/auth"),
    PublicComponent("tasks", "Task submission", "New tasks are accepted and queued.", "/healthz/tasks"),
    PublicComponent("workers", "Workers", "Queued tasks are picked up and run.", "/healthz/workers"),
)
COMPONENT_IDS = tuple(component.id for component in PUBLIC_COMPONENTS)


@dataclass(frozen=True)
class DailyUptime:
    day: datetime.date
    ratio: float | None
    """Fraction of the day the component was up (0 to 1); None: no data that day."""


@dataclass(frozen=True)
class Measurement:
    """What a source knows about one component at one instant."""

    component_id: str
    state: State
    """The measured state now (UNKNOWN without data); notices may make it worse."""
    days: tuple[DailyUptime, ...]
    """HISTORY_DAYS entries, oldest first, the last one being today (so far)."""
    windows: dict[str, float | None] = field(default_factory=dict)
    """Uptime over each of UPTIME_WINDOWS, None without data."""

    def __post_init__(self) -> None:
        if len(self.days) != HISTORY_DAYS:
            raise ValueError(f"{self.component_id}: {len(self.days)} days of history, expected {HISTORY_DAYS}")
        for day in self.days:
            if day.ratio is not None and not 0 <= day.ratio <= 1:
                raise ValueError(f"{self.component_id}: uptime {day.ratio} on {day.day} is not between 0 and 1")

    @property
    def uptime_90d(self) -> float | None:
        """The mean of the days with data (a day without data counts neither up nor down)."""
        known = [day.ratio for day in self.days if day.ratio is not None]
        return sum(known) / len(known) if known else None


def history_days(today: datetime.date) -> list[datetime.date]:
    """The HISTORY_DAYS calendar days (UTC) ending with `today`, oldest first."""
    return [today - datetime.timedelta(days=offset) for offset in range(HISTORY_DAYS - 1, -1, -1)]
