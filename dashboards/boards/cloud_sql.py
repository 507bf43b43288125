"""Cloud SQL: connections against the connection budget, CPU, memory, disk, replication lag."""

from __future__ import annotations

from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries, utilisation

DATABASE_VARIABLE = "database"
IN_DATABASE = f'database_id=~"${DATABASE_VARIABLE}"'


def database_variable():
    query = f'label_values({m.SQL_CPU.name}{{{style.ENVIRONMENT_LABEL}=~"${style.ENVIRONMENT_VARIABLE}"}}, database_id)'
    return style.label_variable(DATABASE_VARIABLE, "Cloud SQL instance", query, "$__all", include_all=True)


def connection_thresholds(facts: MonitoringConfig) -> list:
    """Orange past the planned full-scale total, red at max_connections (new connections fail)."""
    budget = facts.budget
    return style.thresholds(
        style.GOOD, (float(budget.needed), style.WARNING), (float(budget.max_connections), style.BAD)
    )


def per_instance(metric: m.Metric) -> str:
    return f"max by (database_id) ({q.selector(metric.name, IN_DATABASE)})"


def build(facts: MonitoringConfig) -> BoardContent:
    budget = facts.budget
    plan = (
        f"Budget in {facts.stack}: {budget.explain()}. Orange past the planned {budget.needed}, "
        f"red at max_connections {budget.max_connections}."
    )
    api_pools = facts.api_max_instances * facts.api_connections_per_instance
    panels = [
        stat(
            "Connections now",
            f"Connections open on the instance. {plan}",
            [Query(q.sum_of(m.SQL_BACKENDS.name, IN_DATABASE))],
            style.COUNT,
            thresholds=connection_thresholds(facts),
            width=8,
        ),
        stat(
            "CPU",
            "CPU utilisation of the busiest selected instance.",
            [Query(f"max ({per_instance(m.SQL_CPU)})")],
            style.RATIO,
            thresholds=style.utilisation_thresholds(),
            width=8,
        ),
        *replica_lag_stat(facts),
        timeseries(
            "Connections against the budget",
            f"Connections per database. {plan}",
            [Query(q.sum_of(m.SQL_BACKENDS.name, IN_DATABASE, by=("database_id",)), "{{database_id}}")],
            style.COUNT,
            thresholds=connection_thresholds(facts),
        ),
        timeseries(
            "Application pools by service and state",
            "Connections the app's pools hold, in use or "
            f"idle. At full scale the API's pools may hold {api_pools} ({facts.api_max_instances} instances "
            f"x {facts.api_connections_per_instance}); the line marks it.",
            [Query(q.sum_of(m.DB_POOL_CONNECTIONS.name, by=("service", "state")), "{{service}} {{state}}")],
            style.COUNT,
            thresholds=style.thresholds(style.GOOD, (float(api_pools), style.BAD)),
            stacked=True,
        ),
        utilisation(
            "CPU utilisation",
            "CPU utilisation per instance.",
            [Query(per_instance(m.SQL_CPU), "{{database_id}}")],
        ),
        utilisation(
            "Memory utilisation",
            "Memory utilisation per instance; PostgreSQL's caches fill it by design, "
            "sustained use near 100% risks out-of-memory restarts.",
            [Query(per_instance(m.SQL_MEMORY), "{{database_id}}")],
        ),
        utilisation(
            "Disk utilisation",
            "Share of the disk in use; storage grows automatically, a fast climb means runaway writes or bloat.",
            [Query(per_instance(m.SQL_DISK), "{{database_id}}")],
        ),
        *replica_lag_timeseries(facts),
        timeseries(
            "Wait for a pooled connection (p95)",
            "Time requests and tasks wait for a connection from their pool, per service.",
            [Query(q.quantile(0.95, m.DB_POOL_WAIT, by=("service",)), "{{service}}")],
            style.SECONDS,
            width=24,
        ),
    ]
    return BoardContent(
        panels, ServiceScope(m.DB_POOL_CONNECTIONS.name, "service", facts.api_service), (database_variable(),)
    )


def _lag_thresholds() -> list:
    return style.thresholds(
        style.GOOD, (style.REPLICA_LAG_WARNING_SECONDS, style.WARNING), (style.REPLICA_LAG_CRITICAL_SECONDS, style.BAD)
    )


def replica_lag_stat(facts: MonitoringConfig) -> list:
    """The replica's lag where the stack has one (`database.readReplica`); the memory otherwise:
    without a replica nothing reports a lag."""
    if not facts.producers.read_replica:
        return [
            stat(
                "Memory",
                "Memory utilisation of the busiest selected instance.",
                [Query(f"max ({per_instance(m.SQL_MEMORY)})")],
                style.RATIO,
                thresholds=style.utilisation_thresholds(),
                width=8,
            )
        ]
    return [
        stat(
            "Replication lag",
            "Seconds the read replica is behind the primary.",
            [Query(f"max ({per_instance(m.SQL_REPLICA_LAG)})")],
            style.SECONDS,
            thresholds=_lag_thresholds(),
            width=8,
        )
    ]


def replica_lag_timeseries(facts: MonitoringConfig) -> list:
    if not facts.producers.read_replica:
        return []
    return [
        timeseries(
            "Replication lag",
            "Seconds each replica is behind its primary; reads from a lagging replica are stale.",
            [Query(per_instance(m.SQL_REPLICA_LAG), "{{database_id}}")],
            style.SECONDS,
            thresholds=_lag_thresholds(),
        )
    ]
