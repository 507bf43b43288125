"""The connection budget: every process that may hold a database connection, at full scale,
must fit the instance's `max_connections`, or the busiest minute of the year fails with
`FATAL: too many connections`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .platform import ApiConfig, DatabaseConfig, WorkersConfig

# Cloud SQL for PostgreSQL's default max_connections by instance memory (GB, upper bound
# exclusive), from Google's "Quotas and limits" page; shared-core tiers have fixed values.
SHARED_CORE_MAX_CONNECTIONS = {"db-f1-micro": 25, "db-g1-small": 50}
MAX_CONNECTIONS_BY_MEMORY_GB: tuple[tuple[float, int], ...] = (
    (6, 100),
    (7.5, 200),
    (15, 400),
    (30, 500),
    (60, 600),
    (120, 800),
    (float("inf"), 1000),
)
CUSTOM_TIER = re.compile(r"^db-custom-(?P<cpus>[0-9]+)-(?P<memory_mb>[0-9]+)$")
PERF_OPTIMIZED_TIER = re.compile(r"^db-perf-optimized-N-(?P<cpus>[0-9]+)$")
PERF_OPTIMIZED_GB_PER_VCPU = 8  # ENTERPRISE_PLUS N-series machines: 8 GB per vCPU


def tier_memory_gb(tier: str) -> float:
    """Memory of a Cloud SQL tier, read from its name."""
    if match := CUSTOM_TIER.fullmatch(tier):
        return int(match["memory_mb"]) / 1024
    if match := PERF_OPTIMIZED_TIER.fullmatch(tier):
        return int(match["cpus"]) * PERF_OPTIMIZED_GB_PER_VCPU
    raise ValueError(f"unknown Cloud SQL tier {tier!r}")


def default_max_connections(tier: str) -> int:
    """What Cloud SQL would choose for this tier; we set it explicitly as a flag."""
    if tier in SHARED_CORE_MAX_CONNECTIONS:
        return SHARED_CORE_MAX_CONNECTIONS[tier]
    memory = tier_memory_gb(tier)
    return next(limit for below, limit in MAX_CONNECTIONS_BY_MEMORY_GB if memory < below)


@dataclass(frozen=True)
class BudgetLine:
    what: str
    connections: int
    keys: str  # the config keys that change this line


@dataclass(frozen=True)
class ConnectionBudget:
    lines: tuple[BudgetLine, ...]
    max_connections: int

    @property
    def needed(self) -> int:
        return sum(line.connections for line in self.lines)

    @property
    def fits(self) -> bool:
        return self.needed <= self.max_connections

    def explain(self) -> str:
        parts = "; ".join(f"{line.what} = {line.connections} ({line.keys})" for line in self.lines)
        return f"{parts}; total {self.needed} against max_connections {self.max_connections}"


def connection_budget(api: ApiConfig, workers: WorkersConfig, database: DatabaseConfig) -> ConnectionBudget:
    """Connections at full scale: every API instance with its whole pool and overflow open,
    every worker process with its pool, plus the reserve for operators and migrations (beat
    only talks to the broker)."""
    per_instance = api.db_pool_size + api.db_max_overflow
    worker_processes = workers.instances * workers.concurrency
    lines = [
        BudgetLine(
            f"API {api.max_instances} instances x (pool {api.db_pool_size} + overflow {api.db_max_overflow})",
            api.max_instances * per_instance,
            "api.maxInstances, api.dbPoolSize, api.dbMaxOverflow",
        ),
        BudgetLine(
            f"workers {workers.instances} instances x {workers.concurrency} processes x pool {workers.db_pool_size}",
            worker_processes * workers.db_pool_size,
            "workers.instances, workers.concurrency, workers.dbPoolSize",
        ),
    ]
    lines.append(BudgetLine("reserved", database.reserved_connections, "database.reservedConnections"))
    limit = database.max_connections or default_max_connections(database.tier)
    return ConnectionBudget(tuple(lines), limit)


def check_connection_budget(api: ApiConfig, workers: WorkersConfig, database: DatabaseConfig) -> None:
    """Raise with the numbers and the keys to change when the budget does not fit."""
    budget = connection_budget(api, workers, database)
    if not budget.fits:
        raise ValueError(
            f"the connection budget does not fit: {budget.explain()}. Lower one of the keys named, "
            "or raise database.tier / database.maxConnections"
        )
