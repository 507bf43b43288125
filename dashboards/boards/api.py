"""The API's health: RED overview, latency against the 500 ms target, errors by route and status."""

from __future__ import annotations

from alerts.slo import API_LATENCY
from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, table, timeseries

P95_LATENCY = q.quantile(0.95, m.HTTP_REQUEST_DURATION)


def api_scope(facts: MonitoringConfig) -> ServiceScope:
    return ServiceScope(m.HTTP_REQUESTS.name, "service", facts.api_service)


def within_target_thresholds() -> list:
    """Red below the latency SLO's objective (95% of requests within 500 ms)."""
    return style.thresholds(style.BAD, (API_LATENCY.objective, style.GOOD))


def overview(facts: MonitoringConfig) -> BoardContent:
    panels = [
        stat(
            "Requests per second",
            "Requests the API finished per second, all routes and codes.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name))],
            style.REQUESTS_PER_SECOND,
        ),
        stat(
            "Server error ratio",
            "Share of requests answered with a 5xx; the availability SLO allows 0.1%.",
            [Query(q.api_error_ratio())],
            style.RATIO,
            thresholds=style.error_ratio_thresholds(),
            decimals=3,
        ),
        stat(
            "p95 latency",
            "95th percentile of request duration; the target is under 500 ms.",
            [Query(P95_LATENCY)],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
        ),
        stat(
            "Requests in flight",
            "Requests being served right now, summed over instances.",
            [Query(q.sum_of(m.HTTP_REQUESTS_IN_FLIGHT.name))],
            style.COUNT,
        ),
        timeseries(
            "Rate: requests by status code",
            "Requests per second by HTTP status code.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name, by=("code",)), "{{code}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Errors: server error ratio",
            "Share of requests answered with a 5xx. Orange at the availability SLO's 0.1% budget, red at 1%.",
            [Query(q.api_error_ratio(), "5xx ratio")],
            style.RATIO,
            thresholds=style.error_ratio_thresholds(),
        ),
        timeseries(
            "Duration: p50, p95, p99",
            "Request duration percentiles from the app's histogram; the "
            "line is the 500 ms p95 target. Click a point to open the traces of that period.",
            [Query(q.quantile(p, m.HTTP_REQUEST_DURATION), f"p{round(p * 100)}") for p in (0.5, 0.95, 0.99)],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
            data_links=[style.trace_link()],
        ),
        timeseries(
            "Saturation: requests in flight per instance",
            f"Busiest instance's concurrent requests; the line is the configured concurrency "
            f"({facts.api_concurrency} per instance), where Cloud Run starts another instance.",
            [Query(f"max ({q.selector(m.HTTP_REQUESTS_IN_FLIGHT.name)})", "busiest instance")],
            style.COUNT,
            thresholds=style.thresholds(style.GOOD, (facts.api_concurrency, style.BAD)),
        ),
    ]
    return BoardContent(panels, api_scope(facts))


def latency(facts: MonitoringConfig) -> BoardContent:
    traces = [style.trace_link()]
    panels = [
        timeseries(
            "p50, p95, p99 against the 500 ms target",
            "Request duration percentiles over all routes; "
            "the red line is the p95 target. Click a point for the traces of that period.",
            [Query(q.quantile(p, m.HTTP_REQUEST_DURATION), f"p{round(p * 100)}") for p in (0.5, 0.95, 0.99)],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
            data_links=traces,
            width=16,
        ),
        stat(
            "Requests within 500 ms",
            f"Share of requests answered within 500 ms: the latency SLI. The SLO asks for {API_LATENCY.objective:.0%}.",
            [Query(q.api_share_within_latency_target())],
            style.RATIO,
            thresholds=within_target_thresholds(),
            decimals=2,
            width=8,
            height=8,
        ),
        timeseries(
            "p95 by route",
            "95th percentile duration per route template; a route above the line "
            "misses the target. Click a point for traces.",
            [Query(q.quantile(0.95, m.HTTP_REQUEST_DURATION, by=("route",)), "{{route}}")],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
            data_links=traces,
        ),
        table(
            "Slowest routes now (p95)",
            "The ten routes with the highest p95 duration right now.",
            [Query(q.top(10, q.quantile(0.95, m.HTTP_REQUEST_DURATION, by=("route",))), instant=True)],
            style.SECONDS,
            thresholds=style.latency_thresholds(),
            links=traces,
        ),
        timeseries(
            "Share within 500 ms by route",
            "Per route, the share of requests answered within 500 ms.",
            [Query(q.api_share_within_latency_target(by=("route",)), "{{route}}")],
            style.RATIO,
            thresholds=within_target_thresholds(),
            max_value=1,
        ),
        timeseries(
            "Cloud Run front-end p95",
            "Latency measured by Cloud Run in front of the container, "
            "including queueing and cold starts the app does not see.",
            [Query(q.quantile(0.95, m.RUN_REQUEST_LATENCIES), "p95")],
            style.MILLISECONDS,
            thresholds=style.latency_thresholds(scale=1000),
            data_links=traces,
        ),
        timeseries(
            "Wait for a database connection (p95)",
            "Time requests wait for a pooled connection; "
            "a rise means the pool is exhausted before the database is; traces show the waits as spans.",
            [Query(q.quantile(0.95, m.DB_POOL_WAIT), "p95")],
            style.SECONDS,
            data_links=traces,
            width=24,
        ),
    ]
    return BoardContent(panels, api_scope(facts))


def errors(facts: MonitoringConfig) -> BoardContent:
    panels = [
        stat(
            "Server error ratio",
            "Share of requests answered with a 5xx over the last interval.",
            [Query(q.api_error_ratio())],
            style.RATIO,
            thresholds=style.error_ratio_thresholds(),
            decimals=3,
            width=8,
        ),
        stat(
            "Server errors per second",
            "5xx responses per second.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name, q.SERVER_ERRORS))],
            style.REQUESTS_PER_SECOND,
            width=8,
        ),
        stat(
            "Client errors per second",
            "4xx responses per second: callers' mistakes, or a broken client.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name, q.CLIENT_ERRORS))],
            style.REQUESTS_PER_SECOND,
            width=8,
        ),
        timeseries(
            "5xx by route",
            "Server errors per second per route template.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name, q.SERVER_ERRORS, by=("route",)), "{{route}}")],
            style.REQUESTS_PER_SECOND,
        ),
        timeseries(
            "4xx by route",
            "Client errors per second per route template.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name, q.CLIENT_ERRORS, by=("route",)), "{{route}}")],
            style.REQUESTS_PER_SECOND,
        ),
        timeseries(
            "Errors by status code",
            "4xx and 5xx responses per second by exact status code.",
            [Query(q.sum_rate(m.HTTP_REQUESTS.name, 'code=~"4..|5.."', by=("code",)), "{{code}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        table(
            "Error ratio by route",
            "Per route, the share of that route's requests that failed with a 5xx, highest first.",
            [Query(q.top(20, q.api_error_ratio(by=("route",))), instant=True)],
            style.RATIO,
            thresholds=style.error_ratio_thresholds(),
        ),
        timeseries(
            "5xx seen by Cloud Run",
            "Server errors counted by Cloud Run's front end, including "
            "requests that never reached the app (crashes, timeouts, no instance available).",
            [Query(q.sum_rate(m.RUN_REQUESTS.name, 'response_code_class="5xx"'), "5xx")],
            style.REQUESTS_PER_SECOND,
            width=24,
        ),
    ]
    return BoardContent(panels, api_scope(facts))
