"""Load-test results, as the platform saw them: the load arriving, the API's errors and latency,
and instances and database connections against their ceilings.

Only server-side series: Locust runs in the load-test project (loadtest/infra), whose metrics
this stack's Grafana cannot read, and no Locust exporter is deployed. What Locust itself
measured (its p95, its failures) is in the run's report (`omni loadtest run`, docs/loadtest.md).
"""

from __future__ import annotations

from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries
from .cloud_run import instance_thresholds
from .cloud_sql import connection_thresholds


def build(facts: MonitoringConfig) -> BoardContent:
    p95 = q.quantile(0.95, m.HTTP_REQUEST_DURATION)
    panels = [
        stat(
            "Load arriving",
            "Requests per second the API finishes, all routes and codes.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name))],
            style.REQUESTS_PER_SECOND,
        ),
        stat(
            "p95 latency",
            "95th percentile of request duration on the server; the target is under 500 ms.",
            [Query(p95)],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
        ),
        stat(
            "Server error ratio",
            "Share of requests answered with a 5xx.",
            [Query(q.api_error_ratio())],
            style.RATIO,
            thresholds=style.error_ratio_thresholds(),
            decimals=3,
        ),
        timeseries(
            "Load by route",
            "Requests per second by route template.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name, by=("route",)), "{{route}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Response time p95: app and front end",
            "The API's own p95 next to Cloud Run's front end's; "
            "the gap is queueing in front of the app and cold starts.",
            [Query(p95, "API"), Query(f"{q.quantile(0.95, m.RUN_REQUEST_LATENCIES)} / 1000", "Cloud Run front end")],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
            data_links=[style.trace_link()],
        ),
        timeseries(
            "Error ratio",
            "Share of requests answered with a 5xx, over time.",
            [Query(q.api_error_ratio(), "5xx")],
            style.RATIO,
            thresholds=style.error_ratio_thresholds(),
        ),
        timeseries(
            "API instances",
            f"Active instances against the ceiling of {facts.api_max_instances} in {facts.stack}.",
            [Query(q.sum_of(m.RUN_INSTANCES.name, 'state="active"'), "active")],
            style.COUNT,
            thresholds=instance_thresholds(facts),
        ),
        timeseries(
            "Database connections",
            f"Connections against the budget: planned {facts.budget.needed}, "
            f"max_connections {facts.budget.max_connections} in {facts.stack}.",
            [Query(q.sum_of(m.SQL_BACKENDS.name), "connections")],
            style.COUNT,
            thresholds=connection_thresholds(facts),
            width=24,
        ),
    ]
    return BoardContent(panels, ServiceScope(m.HTTP_REQUESTS.name, "service", facts.api_service), time_from="now-1h")
