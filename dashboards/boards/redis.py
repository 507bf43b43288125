"""Memorystore for Redis: the cache's hit rate against the 50% target, memory, evictions, clients."""

from __future__ import annotations

from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries, utilisation

INSTANCE_VARIABLE = "instance"
IN_INSTANCE = f'instance_id=~"${INSTANCE_VARIABLE}"'


def instance_variable():
    query = (
        f'label_values({m.REDIS_MEMORY_RATIO.name}{{{style.ENVIRONMENT_LABEL}=~"${style.ENVIRONMENT_VARIABLE}"}}, '
        "instance_id)"
    )
    return style.label_variable(INSTANCE_VARIABLE, "Redis instance", query, "$__all", include_all=True)


def hit_ratio_thresholds() -> list:
    """Red below the 50% target: under it, the cache costs more lookups than it saves."""
    return style.thresholds(style.BAD, (style.CACHE_HIT_RATIO_TARGET, style.GOOD))


def app_hit_ratio(by: tuple[str, ...] = ()) -> str:
    return q.ratio(q.sum_rate(m.CACHE_REQUESTS.name, 'result="hit"', by=by), q.sum_rate(m.CACHE_REQUESTS.name, by=by))


def per_instance(metric: m.Metric) -> str:
    return f"max by (instance_id) ({q.selector(metric.name, IN_INSTANCE)})"


def build(facts: MonitoringConfig) -> BoardContent:
    panels = [
        stat(
            "Cache hit rate",
            "Share of the app's cache-aside lookups that found the key; the target is "
            f"{style.CACHE_HIT_RATIO_TARGET:.0%}.",
            [Query(app_hit_ratio())],
            style.RATIO,
            thresholds=hit_ratio_thresholds(),
            decimals=1,
            width=8,
        ),
        stat(
            "Evictions per second",
            "Keys Redis dropped because memory was full; any is a sign the cache is too small.",
            [Query(f"sum ({q.rate(m.REDIS_EVICTED_KEYS.name, IN_INSTANCE)})")],
            style.OPS_PER_SECOND,
            thresholds=style.thresholds(style.GOOD, (1.0, style.WARNING)),
            width=8,
        ),
        stat(
            "Memory used (fullest instance)",
            "Memory in use on the fullest selected instance, as a share of its maximum.",
            [Query(f"max ({per_instance(m.REDIS_MEMORY_RATIO)})")],
            style.RATIO,
            thresholds=style.utilisation_thresholds(),
            width=8,
        ),
        timeseries(
            "Hit rate by cache",
            "Per logical cache, the share of lookups that hit; the line is the "
            f"{style.CACHE_HIT_RATIO_TARGET:.0%} target.",
            [Query(app_hit_ratio(by=("cache",)), "{{cache}}")],
            style.RATIO,
            thresholds=hit_ratio_thresholds(),
            max_value=1,
        ),
        timeseries(
            "Keyspace hit ratio (Redis)",
            "Hits over lookups as Redis counts them, per instance (the broker's are Celery's, not the cache's).",
            [Query(per_instance(m.REDIS_HIT_RATIO), "{{instance_id}}")],
            style.RATIO,
            thresholds=hit_ratio_thresholds(),
            max_value=1,
        ),
        timeseries(
            "Lookups by result",
            "The app's cache lookups per second, hits and misses.",
            [Query(q.sum_rate(m.CACHE_REQUESTS.name, by=("result",)), "{{result}}")],
            style.OPS_PER_SECOND,
            stacked=True,
        ),
        utilisation(
            "Memory used",
            "Memory in use per instance, as a share of its maximum; evictions start near 100%.",
            [Query(per_instance(m.REDIS_MEMORY_RATIO), "{{instance_id}}")],
        ),
        timeseries(
            "Evictions",
            "Keys evicted per second, per instance.",
            [Query(f"sum by (instance_id) ({q.rate(m.REDIS_EVICTED_KEYS.name, IN_INSTANCE)})", "{{instance_id}}")],
            style.OPS_PER_SECOND,
        ),
        timeseries(
            "Connected clients",
            "Client connections per instance; a steady climb is a connection leak.",
            [Query(per_instance(m.REDIS_CLIENTS), "{{instance_id}}")],
            style.COUNT,
        ),
    ]
    return BoardContent(
        panels, ServiceScope(m.CACHE_REQUESTS.name, "service", facts.api_service), (instance_variable(),)
    )
