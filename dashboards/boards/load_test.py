"""Load-test results: what Locust sent and saw, next to how the platform coped (server-side
latency, instances, database connections against their ceilings)."""

from __future__ import annotations

from observability import catalogue as m

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries
from ..stack import StackFacts
from .cloud_run import instance_thresholds
from .cloud_sql import connection_thresholds


def build(facts: StackFacts) -> BoardContent:
    failure_ratio = q.ratio(q.sum_of(m.LOCUST_FAILURES.name), q.sum_of(m.LOCUST_REQUESTS.name))
    panels = [
        stat("Simulated users", "Users the running load test simulates.", [Query(q.sum_of(m.LOCUST_USERS.name))],
             style.COUNT),
        stat("Load sent", "Requests per second the load test sends.", [Query(q.sum_of(m.LOCUST_RPS.name))],
             style.REQUESTS_PER_SECOND),
        stat("p95 seen by the load test", "95th percentile response time Locust measured; the target is 500 ms.",
             [Query(f"max ({q.selector(m.LOCUST_P95.name)})")], style.MILLISECONDS,
             thresholds=style.latency_thresholds(scale=1000)),
        stat("Failed requests", "Share of the test's requests that failed so far.", [Query(failure_ratio)],
             style.RATIO, thresholds=style.error_ratio_thresholds(), decimals=2),
        timeseries("Load by endpoint", "Requests per second the test sends, per endpoint.",
                   [Query(q.sum_of(m.LOCUST_RPS.name, by=("name",)), "{{name}}")], style.REQUESTS_PER_SECOND,
                   stacked=True),
        timeseries("Response time p95: client and server", "Locust's p95 next to the API's own p95; the gap is "
                   "network and Cloud Run's front end.",
                   [Query(f"max ({q.selector(m.LOCUST_P95.name)}) / 1000", "load test"),
                    Query(q.quantile(0.95, m.HTTP_REQUEST_DURATION), "API")],
                   style.SECONDS, thresholds=style.latency_thresholds(), data_links=[style.trace_link()]),
        timeseries("Failure ratio", "Share of the test's requests that failed, over time.",
                   [Query(failure_ratio, "failed")], style.RATIO, thresholds=style.error_ratio_thresholds()),
        timeseries("API instances", f"Active instances against the ceiling of {facts.api_max_instances} "
                   f"in {facts.stack}.", [Query(q.sum_of(m.RUN_INSTANCES.name, 'state="active"'), "active")],
                   style.COUNT, thresholds=instance_thresholds(facts)),
        timeseries("Database connections", f"Connections against the budget: planned {facts.budget.needed}, "
                   f"max_connections {facts.budget.max_connections} in {facts.stack}.",
                   [Query(q.sum_of(m.SQL_BACKENDS.name), "connections")], style.COUNT,
                   thresholds=connection_thresholds(facts), width=24),
    ]
    return BoardContent(panels, ServiceScope(m.HTTP_REQUESTS.name, "service", facts.api_service), time_from="now-1h")
