"""The bundled demo data set: 90 days of uptime derived from the demo's own incident files.

Deterministic: the clock is fixed (`DEMO_NOW`) and the few minutes of background failures each
component has are drawn from a generator seeded with its id, so two renders are byte-identical.
Downtime comes from the same notices the demo page lists (`statuspage/demo/incidents/`): an
outage counts its whole duration as down, a degradation half of it; planned maintenance is
announced downtime and does not count against uptime.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alerts.slo import SLOS
from statuspage.model import (
    HISTORY_DAYS,
    UPTIME_WINDOWS,
    WINDOW_SECONDS,
    DailyUptime,
    Measurement,
    PublicComponent,
    State,
    history_days,
)
from statuspage.notices import Notice, load_notices
from statuspage.sources import SloCompliance, SourceData

DEMO_NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC)
DEMO_NOTICES_DIR = Path(__file__).resolve().parent.parent / "demo" / "incidents"
BLIP_PROBABILITY = 0.08  # days with a few failed checks, as real checks have
IMPACT_WEIGHT = {"outage": 1.0, "degraded": 0.5}
DEMO_SLO_COMPLIANCE = {"api-availability": 0.99962, "api-latency": 0.9713, "celery-task-success": 0.9871}


@dataclass(frozen=True)
class Downtime:
    start: datetime.datetime
    end: datetime.datetime
    weight: float  # 1: fully down, 0.5: degraded


def downtime_fraction(downtimes: Sequence[Downtime], start: datetime.datetime, end: datetime.datetime) -> float:
    """The weighted share of [start, end) covered by downtime (overlaps are not merged: the
    demo's downtimes never overlap)."""
    total = (end - start).total_seconds()
    down = 0.0
    for downtime in downtimes:
        overlap = (min(end, downtime.end) - max(start, downtime.start)).total_seconds()
        if overlap > 0:
            down += overlap * downtime.weight
    return min(1.0, down / total)


def _blips(component_id: str, now: datetime.datetime) -> list[Downtime]:
    generator = random.Random(component_id)
    blips = []
    for day in history_days(now.date()):
        if generator.random() < BLIP_PROBABILITY:
            start = datetime.datetime.combine(day, datetime.time(), datetime.UTC) + datetime.timedelta(
                minutes=generator.randrange(0, 1380)
            )
            blips.append(Downtime(start, start + datetime.timedelta(minutes=generator.choice((1, 2, 3, 5))), 1.0))
    return [blip for blip in blips if blip.end <= now]


def _incident_downtimes(component_id: str, notices: Sequence[Notice], now: datetime.datetime) -> list[Downtime]:
    return [
        Downtime(notice.started, notice.resolved_at or now, IMPACT_WEIGHT[notice.impact])
        for notice in notices
        if notice.kind == "incident" and notice.impact and component_id in notice.components
    ]


class DemoSource:
    name = "demo"

    def __init__(self, notices: Sequence[Notice] | None = None):
        self.notices = list(notices) if notices is not None else load_notices(DEMO_NOTICES_DIR)

    def measure(self, components: Sequence[PublicComponent], now: datetime.datetime) -> SourceData:
        measurements = []
        for component in components:
            downtimes = _blips(component.id, now) + _incident_downtimes(component.id, self.notices, now)
            days = []
            for day in history_days(now.date()):
                start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
                end = min(now, start + datetime.timedelta(days=1))
                days.append(
                    DailyUptime(day, 1 - downtime_fraction(downtimes, start, end))
                    if end > start
                    else DailyUptime(day, None)
                )
            windows: dict[str, float | None] = {
                window: 1 - downtime_fraction(downtimes, now - datetime.timedelta(seconds=WINDOW_SECONDS[window]), now)
                for window in UPTIME_WINDOWS
            }
            open_impacts = [
                State(notice.impact)
                for notice in self.notices
                if notice.is_open_incident() and notice.impact and component.id in notice.components
            ]
            state = max(open_impacts, key=lambda s: s.severity, default=State.OPERATIONAL)
            measurements.append(Measurement(component.id, state, tuple(days[-HISTORY_DAYS:]), windows))
        slos = tuple(
            SloCompliance(slo.name, slo.description, slo.objective, DEMO_SLO_COMPLIANCE.get(slo.name)) for slo in SLOS
        )
        return SourceData(tuple(measurements), slos)
