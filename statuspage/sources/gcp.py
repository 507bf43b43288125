"""Measurements from Cloud Monitoring in production (google-cloud-monitoring).

- **Components**: the uptime checks `components/status_page.py` declares, found by their
  `statuspage-component` user label (Cloud Monitoring picks each check's id). A component's
  uptime over a period is the fraction of passed checks from every checker location
  (`ALIGN_FRACTION_TRUE`, then the mean over locations); its state now counts the locations whose
  last checks failed, as the `UptimeCheckFailing` alert does: one location alone is degraded
  (often that location's network), `UPTIME_FAILING_LOCATIONS` or more is an outage.
- **SLO compliance**: the SLOs' PromQL through Managed Prometheus's Prometheus-compatible API,
  signed with the same credentials (`google.auth.transport.requests.AuthorizedSession`).

Needs `roles/monitoring.viewer` on the project and nothing else.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from observability.uptime import UPTIME_FAILING_LOCATIONS
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
from statuspage.sources import SourceData
from statuspage.sources.prometheus import PrometheusClient, slo_compliance

COMPONENT_LABEL = "statuspage-component"
"""The user label on each uptime check naming the component it checks."""
CHECK_PASSED = "monitoring.googleapis.com/uptime_check/check_passed"
CURRENT_SECONDS = 300  # a location's last few checks (one a minute)
PROMETHEUS_API = "https://monitoring.googleapis.com/v1/projects/{project}/location/global/prometheus"


def uptime_checks(client: Any, project: str) -> dict[str, str]:
    """Component id -> uptime check id, from the checks' `statuspage-component` labels."""
    found: dict[str, str] = {}
    for config in client.list_uptime_check_configs(request={"parent": f"projects/{project}"}):
        component = config.user_labels.get(COMPONENT_LABEL)
        if component:
            found[component] = config.name.rsplit("/", 1)[-1]
    return found


def state_from_locations(fractions: Sequence[float]) -> State:
    """The state now from each checker location's share of passed checks in the last minutes."""
    if not fractions:
        return State.UNKNOWN
    failing = sum(1 for fraction in fractions if fraction < 0.5)
    if failing >= UPTIME_FAILING_LOCATIONS:
        return State.OUTAGE
    return State.DEGRADED if failing else State.OPERATIONAL


def _point_value(series: Any) -> list[tuple[datetime.datetime, float]]:
    return [(point.interval.end_time.replace(tzinfo=datetime.UTC), point.value.double_value) for point in series.points]


class CloudMonitoring:
    """The time series queries, over a `monitoring_v3.MetricServiceClient`."""

    def __init__(self, metrics: Any, project: str):
        self.metrics = metrics
        self.project = project

    def fraction_passed(
        self,
        check_id: str,
        start: datetime.datetime,
        end: datetime.datetime,
        period_seconds: int,
        per_location: bool = False,
    ) -> list[tuple[datetime.datetime, float]]:
        """The share of passed checks per `period_seconds` ending at `end` (points newest first),
        averaged over locations unless `per_location`."""
        from google.cloud import monitoring_v3

        aggregation: dict[str, Any] = {
            "alignment_period": {"seconds": period_seconds},
            "per_series_aligner": monitoring_v3.Aggregation.Aligner.ALIGN_FRACTION_TRUE,
        }
        if not per_location:
            aggregation["cross_series_reducer"] = monitoring_v3.Aggregation.Reducer.REDUCE_MEAN
        series_list = self.metrics.list_time_series(
            request={
                "name": f"projects/{self.project}",
                "filter": f'metric.type = "{CHECK_PASSED}" AND metric.labels.check_id = "{check_id}"',
                "interval": {"start_time": start, "end_time": end},
                "aggregation": aggregation,
                "view": monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
            }
        )
        points: list[tuple[datetime.datetime, float]] = []
        for series in series_list:
            points.extend(_point_value(series))
        return points

    def measure(self, component: PublicComponent, check_id: str | None, now: datetime.datetime) -> Measurement:
        days = history_days(now.date())
        if check_id is None:
            # No check carries the component's label (yet): show no data rather than guess.
            return Measurement(component.id, State.UNKNOWN, tuple(DailyUptime(day, None) for day in days), {})
        midnight = datetime.datetime.combine(now.date(), datetime.time(), datetime.UTC)
        first = datetime.datetime.combine(days[0], datetime.time(), datetime.UTC)
        # Complete days: periods of one day ending at midnight; today so far as one period.
        by_end = dict(self.fraction_passed(check_id, first, midnight, 86_400))
        since_midnight = max(60, int((now - midnight).total_seconds()))
        today = self.fraction_passed(check_id, midnight, now, since_midnight)
        history = [
            DailyUptime(
                day,
                by_end.get(datetime.datetime.combine(day, datetime.time(), datetime.UTC) + datetime.timedelta(days=1)),
            )
            for day in days[:-1]
        ] + [DailyUptime(days[-1], today[0][1] if today else None)]
        windows: dict[str, float | None] = {}
        for window in UPTIME_WINDOWS:
            seconds = WINDOW_SECONDS[window]
            points = self.fraction_passed(check_id, now - datetime.timedelta(seconds=seconds), now, seconds)
            windows[window] = points[0][1] if points else None
        current = self.fraction_passed(
            check_id, now - datetime.timedelta(seconds=CURRENT_SECONDS), now, CURRENT_SECONDS, per_location=True
        )
        return Measurement(
            component.id, state_from_locations([value for _, value in current]), tuple(history[-HISTORY_DAYS:]), windows
        )


class GcpSource:
    name = "gcp"

    def __init__(
        self,
        project: str,
        uptime_client: Any = None,
        metric_client: Any = None,
        prometheus: PrometheusClient | None = None,
    ):
        self.project = project
        self._uptime_client = uptime_client
        self._metric_client = metric_client
        self._prometheus = prometheus

    def _clients(self) -> tuple[Any, Any, PrometheusClient]:
        """Google's clients with Application Default Credentials (the job's service account)."""
        if self._uptime_client is None or self._metric_client is None or self._prometheus is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession
            from google.cloud import monitoring_v3

            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/monitoring.read"])
            session = AuthorizedSession(credentials)

            def fetch(url: str) -> bytes:
                response = session.get(url, timeout=30)
                response.raise_for_status()
                return response.content

            self._uptime_client = self._uptime_client or monitoring_v3.UptimeCheckServiceClient(credentials=credentials)
            self._metric_client = self._metric_client or monitoring_v3.MetricServiceClient(credentials=credentials)
            self._prometheus = self._prometheus or PrometheusClient(PROMETHEUS_API.format(project=self.project), fetch)
        return self._uptime_client, self._metric_client, self._prometheus

    def measure(self, components: Sequence[PublicComponent], now: datetime.datetime) -> SourceData:
        uptime_client, metric_client, prometheus = self._clients()
        checks = uptime_checks(uptime_client, self.project)
        monitoring = CloudMonitoring(metric_client, self.project)
        measurements = tuple(monitoring.measure(component, checks.get(component.id), now) for component in components)
        return SourceData(measurements, slo_compliance(prometheus, now))
