"""The Omni application's metrics as prometheus_client objects, built from the catalogue.

Names, help texts, label names and histogram buckets all come from `observability.catalogue`, so
what the demo service exposes is exactly what dashboards and rules query.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from observability import catalogue as c
from observability.catalogue import Kind, Metric, Source

# Buckets for the histograms that are not request latencies (pool waits, task run and queue times).
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)


def _counter(metric: Metric, registry: CollectorRegistry) -> Counter:
    _expect(metric, Kind.COUNTER)
    return Counter(metric.name, metric.help, metric.labels, registry=registry)


def _gauge(metric: Metric, registry: CollectorRegistry) -> Gauge:
    _expect(metric, Kind.GAUGE)
    return Gauge(metric.name, metric.help, metric.labels, registry=registry)


def _histogram(metric: Metric, registry: CollectorRegistry, buckets: tuple[float, ...]) -> Histogram:
    _expect(metric, Kind.HISTOGRAM)
    return Histogram(metric.name, metric.help, metric.labels, registry=registry, buckets=buckets)


def _expect(metric: Metric, kind: Kind) -> None:
    if metric.kind is not kind or metric.source is not Source.APP:
        raise ValueError(f"{metric.name} is a {metric.source.value} {metric.kind.value}, not an app {kind.value}")


class AppMetrics:
    """Every app metric of the catalogue, registered in one registry (one per demo instance)."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self.http_requests = _counter(c.HTTP_REQUESTS, registry)
        self.http_request_duration = _histogram(c.HTTP_REQUEST_DURATION, registry, c.LATENCY_BUCKETS)
        self.http_requests_in_flight = _gauge(c.HTTP_REQUESTS_IN_FLIGHT, registry)
        self.tenant_requests = _counter(c.TENANT_REQUESTS, registry)
        self.cache_requests = _counter(c.CACHE_REQUESTS, registry)
        self.db_pool_connections = _gauge(c.DB_POOL_CONNECTIONS, registry)
        self.db_pool_wait = _histogram(c.DB_POOL_WAIT, registry, TASK_BUCKETS)
        self.celery_tasks = _counter(c.CELERY_TASKS, registry)
        self.celery_task_duration = _histogram(c.CELERY_TASK_DURATION, registry, TASK_BUCKETS)
        self.celery_queue_length = _gauge(c.CELERY_QUEUE_LENGTH, registry)
        self.celery_workers = _gauge(c.CELERY_WORKERS, registry)
        self.celery_task_queue_wait = _histogram(c.CELERY_TASK_QUEUE_WAIT, registry, TASK_BUCKETS)
        self.usage_events_published = _counter(c.USAGE_EVENTS_PUBLISHED, registry)
        self.usage_publish_failures = _counter(c.USAGE_PUBLISH_FAILURES, registry)
        self.tenant_units = _counter(c.TENANT_UNITS, registry)
        self.tenant_quota = _gauge(c.TENANT_QUOTA, registry)


def app_metrics_in_catalogue() -> tuple[Metric, ...]:
    """The catalogue's app metrics, which `AppMetrics` must cover one for one."""
    return tuple(metric for metric in c.ALL_METRICS if metric.source is Source.APP)
