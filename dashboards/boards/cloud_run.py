"""Cloud Run: instances against the ceiling, concurrency, cold starts, CPU and memory."""

from __future__ import annotations

from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries, utilisation


def instance_thresholds(facts: MonitoringConfig) -> list:
    """Orange at 80% of the API's max instances, red at the ceiling (requests queue, then 429)."""
    ceiling = facts.api_max_instances
    return style.thresholds(style.GOOD, (0.8 * ceiling, style.WARNING), (float(ceiling), style.BAD))


def build(facts: MonitoringConfig) -> BoardContent:
    ceiling = (
        f"The API may scale from {facts.api_min_instances} to {facts.api_max_instances} instances in {facts.stack}"
    )
    panels = [
        stat(
            "Active instances",
            f"Instances serving requests now. {ceiling}.",
            [Query(q.sum_of(m.RUN_INSTANCES.name, 'state="active"'))],
            style.COUNT,
            thresholds=instance_thresholds(facts),
        ),
        stat(
            "Cold starts per minute",
            "New instances started per minute (each one a cold start).",
            [Query(f"60 * {q.sum_rate(m.RUN_STARTUP_LATENCIES.count)}")],
            style.COUNT,
        ),
        stat(
            "Cold start p95",
            "95th percentile of the time to start an instance.",
            [Query(q.quantile(0.95, m.RUN_STARTUP_LATENCIES))],
            style.MILLISECONDS,
        ),
        stat(
            "Busiest instance concurrency (p95)",
            f"Concurrent requests per instance; each API instance takes {facts.api_concurrency}.",
            [Query(q.quantile(0.95, m.RUN_CONCURRENCY))],
            style.COUNT,
            thresholds=style.thresholds(style.GOOD, (float(facts.api_concurrency), style.BAD)),
        ),
        timeseries(
            "Instances by state",
            f"Active and idle instances; the lines are 80% and 100% of the ceiling. {ceiling}.",
            [Query(q.sum_of(m.RUN_INSTANCES.name, by=("state",)), "{{state}}")],
            style.COUNT,
            thresholds=instance_thresholds(facts),
            stacked=True,
        ),
        timeseries(
            "Concurrent requests per instance",
            "Percentiles of each instance's highest concurrency per "
            f"minute; the line is the configured concurrency ({facts.api_concurrency}).",
            [Query(q.quantile(p, m.RUN_CONCURRENCY), f"p{round(p * 100)}") for p in (0.5, 0.95)],
            style.COUNT,
            thresholds=style.thresholds(style.GOOD, (float(facts.api_concurrency), style.BAD)),
        ),
        timeseries(
            "Cold starts",
            "Instances started per second: each one a cold start for the requests it takes first.",
            [Query(q.sum_rate(m.RUN_STARTUP_LATENCIES.count), "starts per second")],
            style.OPS_PER_SECOND,
        ),
        timeseries(
            "Cold start duration",
            "Time from an instance's start to its readiness.",
            [Query(q.quantile(p, m.RUN_STARTUP_LATENCIES), f"p{round(p * 100)}") for p in (0.5, 0.95)],
            style.MILLISECONDS,
        ),
        utilisation(
            "CPU utilisation",
            "Percentiles of instances' CPU use; sustained use near the line means "
            "the instances are too small or too few.",
            [Query(q.quantile(p, m.RUN_CPU), f"p{round(p * 100)}") for p in (0.5, 0.95)],
        ),
        utilisation(
            "Memory utilisation",
            "Percentiles of instances' memory use; an instance past its limit is killed.",
            [Query(q.quantile(p, m.RUN_MEMORY), f"p{round(p * 100)}") for p in (0.5, 0.95)],
        ),
        timeseries(
            "Requests by response class",
            "Requests per second as Cloud Run answered them, by class.",
            [Query(q.sum_rate(m.RUN_REQUESTS.name, by=("response_code_class",)), "{{response_code_class}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
            width=24,
        ),
    ]
    return BoardContent(panels, ServiceScope(m.RUN_INSTANCES.name, "service_name", facts.api_service))
