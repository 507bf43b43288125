"""Tracing: where latency comes from, with every latency panel one click from Cloud Trace."""

from __future__ import annotations

from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, table, timeseries
from .api import within_target_thresholds

TARGET = m.LATENCY_SLO_BUCKET


def slow_requests(by: tuple[str, ...] = ()) -> str:
    """Requests per second that took longer than the 500 ms target."""
    all_requests = q.sum_rate(m.HTTP_REQUEST_DURATION.count, by=by)
    within = q.sum_rate(m.HTTP_REQUEST_DURATION.bucket, f'le="{TARGET}"', by=by)
    return f"{all_requests} - {within}"


def build(facts: MonitoringConfig) -> BoardContent:
    traces = [style.trace_link()]
    p95_by_route = q.quantile(0.95, m.HTTP_REQUEST_DURATION, by=("route",))
    panels = [
        stat(
            "Requests within 500 ms",
            "Share of requests within the target; click through to the traces of the slow ones.",
            [Query(q.api_share_within_latency_target())],
            style.RATIO,
            thresholds=within_target_thresholds(),
            decimals=2,
            links=traces,
            width=8,
        ),
        stat(
            "Slow requests per second",
            "Requests slower than 500 ms per second.",
            [Query(slow_requests())],
            style.REQUESTS_PER_SECOND,
            links=traces,
            width=8,
        ),
        stat(
            "p99 latency",
            "99th percentile of request duration.",
            [Query(q.quantile(0.99, m.HTTP_REQUEST_DURATION))],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
            links=traces,
            width=8,
        ),
        timeseries(
            "p95 by route: click a point for its traces",
            "95th percentile duration per route; each "
            "point links to Cloud Trace for the environment, where the spans show the slow part.",
            [Query(p95_by_route, "{{route}}")],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
            data_links=traces,
            links=traces,
        ),
        timeseries(
            "Slow requests by route",
            "Requests over 500 ms per second per route: where to look first in the traces.",
            [Query(slow_requests(by=("route",)), "{{route}}")],
            style.REQUESTS_PER_SECOND,
            data_links=traces,
            links=traces,
        ),
        table(
            "Routes over the target now",
            "Routes whose p95 is above 500 ms right now, slowest first.",
            [Query(f"{p95_by_route} > {float(TARGET)}", instant=True)],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
            links=traces,
        ),
        timeseries(
            "Front end p99 (Cloud Run)",
            "Latency as Cloud Run measured it; a gap to the app's own "
            "numbers is queueing or cold starts, visible as startup spans in the traces.",
            [Query(q.quantile(0.99, m.RUN_REQUEST_LATENCIES), "p99")],
            style.MILLISECONDS,
            thresholds=style.latency_thresholds(scale=1000),
            data_links=traces,
            links=traces,
        ),
    ]
    return BoardContent(panels, ServiceScope(m.HTTP_REQUESTS.name, "service", facts.api_service))
