"""Measurements from a Prometheus HTTP API: `/api/v1/query` and `/api/v1/query_range`.

Any server that speaks the API works: the alert lab's Prometheus, a local one, or Managed
Prometheus's frontend. Each component's availability is its `Indicator` (statuspage.indicators):
the ratio over 5 minutes gives the state now, one point a day at each UTC midnight the daily bars,
and instant queries over 24h, 7d and 30d the rolling windows. A query with no result is no data,
never 100%.
"""

from __future__ import annotations

import datetime
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence

from alerts.slo import SLO_PERIOD, SLOS
from statuspage.indicators import INDICATORS
from statuspage.model import (
    HISTORY_DAYS,
    UPTIME_WINDOWS,
    DailyUptime,
    Measurement,
    PublicComponent,
    State,
    history_days,
)
from statuspage.sources import SloCompliance, SourceData

CURRENT_WINDOW = "5m"
# Below the API's 99.9% objective over 5 minutes users notice errors; below 90% most requests fail.
OPERATIONAL_RATIO = 0.999
DEGRADED_RATIO = 0.9
TIMEOUT_SECONDS = 20

# Fetches a URL and returns the body: urllib by default, an authorized session for Google's API.
Fetch = Callable[[str], bytes]


class PrometheusError(RuntimeError):
    """The server could not be reached, or refused a query: the message names both."""


def state_from_ratio(ratio: float | None) -> State:
    if ratio is None:
        return State.UNKNOWN
    if ratio >= OPERATIONAL_RATIO:
        return State.OPERATIONAL
    return State.DEGRADED if ratio >= DEGRADED_RATIO else State.OUTAGE


def _urllib_fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        return response.read()


def _number(value: str) -> float | None:
    number = float(value)
    # 0/0 (no requests at all) is NaN: no data, not an outage.
    return None if math.isnan(number) or math.isinf(number) else min(1.0, max(0.0, number))


class PrometheusClient:
    def __init__(self, base_url: str, fetch: Fetch = _urllib_fetch):
        self.base_url = base_url.rstrip("/")
        self.fetch = fetch

    def _get(self, path: str, params: dict[str, str]) -> list[dict[str, object]]:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        try:
            body = self.fetch(url)
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise PrometheusError(
                f"{self.base_url} refused the query {params.get('query')!r}: {error.code} {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            raise PrometheusError(f"cannot reach Prometheus at {self.base_url}: {error}") from None
        document = json.loads(body)
        if document.get("status") != "success":
            raise PrometheusError(f"{self.base_url} answered {document.get('errorType')}: {document.get('error')}")
        return list(document["data"]["result"])

    def instant(self, query: str, at: datetime.datetime) -> float | None:
        """The single value of `query` at `at`; None when it has no result (or is NaN)."""
        result = self._get("/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"})
        if not result:
            return None
        if len(result) > 1:
            raise PrometheusError(f"query {query!r} returned {len(result)} series; expected one")
        value = result[0]["value"]
        return _number(value[1])  # type: ignore[index]

    def daily(self, query: str, ends: Sequence[datetime.datetime]) -> dict[datetime.datetime, float | None]:
        """`query` evaluated at each of `ends` (one day apart) in one range query."""
        result = self._get(
            "/api/v1/query_range",
            {
                "query": query,
                "start": f"{ends[0].timestamp():.3f}",
                "end": f"{ends[-1].timestamp():.3f}",
                "step": "86400",
            },
        )
        values: dict[datetime.datetime, float | None] = dict.fromkeys(ends)
        for series in result[:1]:
            for timestamp, value in series["values"]:  # type: ignore[union-attr]
                at = datetime.datetime.fromtimestamp(float(timestamp), datetime.UTC)
                values[at] = _number(value)
        return values


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), datetime.UTC)


def measure_with_indicators(
    client: PrometheusClient, component: PublicComponent, now: datetime.datetime
) -> Measurement:
    indicator = INDICATORS[component.id]
    days = history_days(now.date())
    # A point at the end of each complete day covers that day exactly; today is covered so far.
    ends = [_midnight(day) + datetime.timedelta(days=1) for day in days[:-1]]
    complete = client.daily(indicator.query("1d"), ends)
    since_midnight = max(60, int((now - _midnight(now.date())).total_seconds()))
    today = client.instant(indicator.query(f"{since_midnight}s"), now)
    history = [DailyUptime(day, complete[end]) for day, end in zip(days[:-1], ends, strict=True)] + [
        DailyUptime(days[-1], today)
    ]
    windows = {window: client.instant(indicator.query(window), now) for window in UPTIME_WINDOWS}
    current = client.instant(indicator.query(CURRENT_WINDOW), now)
    return Measurement(component.id, state_from_ratio(current), tuple(history[-HISTORY_DAYS:]), windows)


def slo_compliance(client: PrometheusClient, now: datetime.datetime) -> tuple[SloCompliance, ...]:
    """Each SLO's good ratio over its period, from the raw series (no recording rules needed)."""
    return tuple(
        SloCompliance(
            slo.name,
            slo.description,
            slo.objective,
            client.instant(
                f"({slo.good.substitute(window=SLO_PERIOD)}) / ({slo.total.substitute(window=SLO_PERIOD)})", now
            ),
        )
        for slo in SLOS
    )


class PrometheusSource:
    name = "prometheus"

    def __init__(self, base_url: str, fetch: Fetch = _urllib_fetch):
        self.client = PrometheusClient(base_url, fetch)

    def measure(self, components: Sequence[PublicComponent], now: datetime.datetime) -> SourceData:
        measurements = tuple(measure_with_indicators(self.client, component, now) for component in components)
        return SourceData(measurements, slo_compliance(self.client, now))
