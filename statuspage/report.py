"""One `StatusReport`: the measurements of a source and the notices people wrote, combined.

Every output (the HTML page, status.json, the Atom feed, the badges) is rendered from this one
object, so they cannot disagree. A component's state is the worse of what was measured and what
an open incident or a maintenance in progress says: a person who declares an incident is
believed even when the checks still pass.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from statuspage.model import (
    HISTORY_DAYS,
    PUBLIC_COMPONENTS,
    DailyUptime,
    Measurement,
    PublicComponent,
    State,
    worst,
)
from statuspage.notices import Notice
from statuspage.sources import SloCompliance, SourceData

OVERALL_MESSAGES = {
    State.OPERATIONAL: "All systems operational",
    State.DEGRADED: "Some systems are degraded",
    State.OUTAGE: "Some systems are down",
    State.MAINTENANCE: "Maintenance in progress",
    State.UNKNOWN: "Status unknown: no recent data",
}
# The colour band of a day's bar: what it means, for the bar's text and its CSS class.
UPTIME_BANDS = ((0.999, "good"), (0.99, "minor"), (0.95, "major"), (0.0, "down"))


def uptime_band(ratio: float | None) -> str:
    if ratio is None:
        return "none"
    return next(band for threshold, band in UPTIME_BANDS if ratio >= threshold)


def percent(ratio: float | None) -> str:
    """`99.98%`: two decimals, never rounded up to 100% while anything failed."""
    if ratio is None:
        return "no data"
    hundredths = int(ratio * 10_000)  # floor: 99.999% shows as 99.99%, not 100.00%
    return f"{hundredths / 100:.2f}%"


@dataclass(frozen=True)
class ComponentStatus:
    component: PublicComponent
    state: State
    measured: Measurement
    notices: tuple[Notice, ...]
    """The open incidents and maintenances in progress that affect it now."""

    @property
    def days(self) -> tuple[DailyUptime, ...]:
        return self.measured.days

    @property
    def windows(self) -> dict[str, float | None]:
        return {**self.measured.windows, "90d": self.measured.uptime_90d}


@dataclass(frozen=True)
class StatusReport:
    title: str
    generated_at: datetime.datetime
    source: str
    components: tuple[ComponentStatus, ...]
    notices: tuple[Notice, ...]
    """Every notice to list: open or recent (HISTORY_DAYS) incidents, upcoming and recent maintenance."""
    slos: tuple[SloCompliance, ...]
    demo: bool = False

    @property
    def state(self) -> State:
        return worst([status.state for status in self.components])

    @property
    def message(self) -> str:
        return OVERALL_MESSAGES[self.state]

    @property
    def active(self) -> tuple[Notice, ...]:
        return tuple(n for n in self.notices if n.is_open_incident() or n.is_maintenance_in_progress(self.generated_at))

    @property
    def upcoming(self) -> tuple[Notice, ...]:
        return tuple(
            sorted((n for n in self.notices if n.is_upcoming_maintenance(self.generated_at)), key=lambda n: n.started)
        )

    @property
    def past(self) -> tuple[Notice, ...]:
        shown = {n.id for n in (*self.active, *self.upcoming)}
        return tuple(n for n in self.notices if n.id not in shown)


def build_report(
    title: str,
    data: SourceData,
    notices: Sequence[Notice],
    now: datetime.datetime,
    source: str,
    components: Sequence[PublicComponent] = PUBLIC_COMPONENTS,
    demo: bool = False,
) -> StatusReport:
    by_id = {measurement.component_id: measurement for measurement in data.measurements}
    missing = [component.id for component in components if component.id not in by_id]
    if missing:
        raise ValueError(f"the {source} source measured no {', '.join(missing)}")
    horizon = now - datetime.timedelta(days=HISTORY_DAYS)
    statuses = []
    for component in components:
        measured = by_id[component.id]
        affecting = tuple(n for n in notices if component.id in n.components and n.state_for(now) is not None)
        declared = [state for n in affecting if (state := n.state_for(now)) is not None]
        statuses.append(
            ComponentStatus(
                component, worst([measured.state, *declared]) if declared else measured.state, measured, affecting
            )
        )
    listed = tuple(
        n
        for n in notices
        if n.state_for(now) is not None or n.is_upcoming_maintenance(now) or n.last_updated >= horizon
    )
    # In the order given (the loaders sort newest first); the page groups them by active, upcoming and past.
    return StatusReport(title, now, source, tuple(statuses), listed, data.slos, demo)
