"""Settings of the core platform: the API service, the Celery workers, Cloud SQL and Redis.

Every default is the production choice; dev overrides what it runs smaller. The connection
budget that ties the API, the workers and the database together is checked in
`stackconfig.connections`, before any resource is declared.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from observability.durations import parse_duration

from . import gcp_rules
from .cloud_run_sizing import FRACTIONAL_CPU_MEMORY_CEILING_MIB, check_cpu_memory, memory_mib
from .errors import ConfigConflict
from .model_base import ConfigModel

CloudRunCpu = Literal["1", "2", "4", "6", "8"]
MEMORY_PATTERN = r"^[1-9][0-9]*(Mi|Gi)$"
# Shared-core tiers: no SLA and no high availability.
SHARED_CORE_TIERS = ("db-f1-micro", "db-g1-small")
ENTERPRISE_TIER = re.compile(r"^db-(f1-micro|g1-small|custom-[0-9]+-[0-9]+)$")
ENTERPRISE_PLUS_TIER = re.compile(r"^db-perf-optimized-N-[0-9]+$")
# Memorystore offers read replicas only on instances at least this large.
READ_REPLICAS_MIN_GB = 5
# Point-in-time recovery keeps write-ahead logs for at most this many days, per edition.
MAX_LOG_RETENTION_DAYS = {"ENTERPRISE": 7, "ENTERPRISE_PLUS": 35}


class ApiConfig(ConfigModel):
    """The Omni API on Cloud Run."""

    min_instances: int = Field(
        default=1, ge=0, le=100, description="Instances kept warm: 1 or more avoids cold starts on the first request."
    )
    max_instances: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Scale-out ceiling; every instance may hold a full database pool, so it drives the "
        "connection budget.",
    )
    cpu: CloudRunCpu = Field(
        default="2",
        description=(
            "vCPUs per instance in all, its sidecars included: the collectors take 250m each (the tracing collector "
            "500m above 512Mi) and the API's container the rest, at least 500m. 2 by default: the API keeps 1.5 vCPU, "
            "no less than the 1 it was sized with (1 would leave it 500m)."
        ),
    )
    memory: str = Field(
        default="1Gi",
        pattern=MEMORY_PATTERN,
        description="Memory of the API's container (`512Mi`, `2Gi`); the sidecars' comes on top, within Cloud "
        "Run's range for `cpu`.",
    )
    concurrency: int = Field(default=80, ge=1, le=1000, description="Requests one instance serves at once.")
    ingress: Literal["all", "internal", "internal-and-cloud-load-balancing"] = Field(
        default="all",
        description=(
            "Who may reach the service while the edge is off (dev): `all`. With the edge on (edge.enabled) the "
            "API takes traffic only through its load balancer (`internal-and-cloud-load-balancing`): leave this unset."
        ),
    )
    public: bool = Field(
        default=True,
        description="Let unauthenticated callers invoke it (the API checks its own API keys); false requires IAM.",
    )
    health_path: str = Field(
        default="/healthz", pattern=r"^/[A-Za-z0-9/_.-]*$", description="Path of the startup and liveness probes."
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Database connections each API instance keeps open (SQLAlchemy `pool_size`).",
    )
    db_max_overflow: int = Field(
        default=10, ge=0, le=200, description="Extra connections an instance may open under bursts (`max_overflow`)."
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> ApiConfig:
        # `cpu` with `memory` is checked with the sidecars the stack runs (stackconfig/combinations.py).
        if self.min_instances > self.max_instances:
            raise ConfigConflict(
                f"minInstances {self.min_instances} is above maxInstances {self.max_instances}: "
                "lower api.minInstances or raise api.maxInstances",
                "api.minInstances",
                "api.maxInstances",
            )
        return self


class WorkersConfig(ConfigModel):
    """Celery on a Cloud Run worker pool, and Celery beat."""

    instances: int = Field(default=2, ge=1, le=100, description="Worker pool instances (manual scaling).")
    cpu: CloudRunCpu = Field(
        default="2",
        description=(
            "vCPUs per worker instance in all, its sidecars included (250m per collector, see `api.cpu`); the Celery "
            "container gets the rest, at least 500m. 2 by default: Celery keeps 1.5 vCPU, no less than the 1 it "
            "was sized with."
        ),
    )
    memory: str = Field(
        default="1Gi",
        pattern=MEMORY_PATTERN,
        description="Memory of the Celery container; the sidecars' comes on top, within Cloud Run's range for `cpu`.",
    )
    concurrency: int = Field(
        default=4, ge=1, le=64, description="Celery worker processes per instance (`celery worker --concurrency`)."
    )
    db_pool_size: int = Field(
        default=2, ge=1, le=50, description="Database connections each worker process keeps open."
    )
    beat: bool = Field(
        default=True,
        description=(
            "Run Celery beat, as exactly one instance (1 vCPU in all: 750m for beat beside its 250m tracing collector; "
            "512Mi), for scheduled tasks; it uses only the broker."
        ),
    )


class DatabaseConfig(ConfigModel):
    """Cloud SQL for PostgreSQL."""

    version: Literal["POSTGRES_15", "POSTGRES_16", "POSTGRES_17"] = Field(
        default="POSTGRES_16", description="PostgreSQL major version."
    )
    edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"] = Field(
        default="ENTERPRISE",
        description="Cloud SQL edition. ENTERPRISE_PLUS (db-perf-optimized tiers) adds managed connection "
        "pooling and longer PITR.",
    )
    tier: str = Field(
        default="db-custom-4-16384",
        description="Machine type: `db-custom-<vCPUs>-<MB>` (or shared-core `db-g1-small`) on ENTERPRISE, "
        "`db-perf-optimized-N-<vCPUs>` on ENTERPRISE_PLUS.",
    )
    availability: Literal["REGIONAL", "ZONAL"] = Field(
        default="REGIONAL", description="REGIONAL is high availability: a standby in a second zone, automatic failover."
    )
    disk_size_gb: int = Field(
        default=50,
        ge=10,
        le=65536,
        description="SSD size at creation; it then grows automatically, so raising this later changes nothing.",
    )
    retained_backups: int = Field(default=14, ge=1, le=365, description="Daily automated backups kept.")
    log_retention_days: int = Field(
        default=7, ge=1, le=35, description="Days of point-in-time recovery (write-ahead logs kept)."
    )
    maintenance_day: int = Field(default=7, ge=1, le=7, description="Maintenance window day (1 Monday … 7 Sunday).")
    maintenance_hour: int = Field(default=3, ge=0, le=23, description="Maintenance window start hour, UTC.")
    read_replica: bool = Field(default=False, description="Add a read replica in the same region.")
    managed_pooling: bool = Field(
        default=False,
        description="Cloud SQL managed connection pooling (ENTERPRISE_PLUS only), in front of the application pools.",
    )
    max_connections: int | None = Field(
        default=None,
        ge=25,
        le=262143,
        description="PostgreSQL `max_connections`; unset takes Google's value for the tier's memory, set "
        "explicitly as a flag.",
    )
    reserved_connections: int = Field(
        default=10,
        ge=3,
        le=100,
        description="Connections kept free for operators, migrations and Cloud SQL's own agents.",
    )
    query_insights: bool = Field(default=True, description="Query Insights (query plans and tags) on.")

    @field_validator("tier")
    @classmethod
    def _google_takes_the_tier(cls, tier: str) -> str:
        if problem := gcp_rules.cloud_sql_tier(tier):
            raise ValueError(problem)
        return tier

    @model_validator(mode="after")
    def _edition_fits(self) -> DatabaseConfig:
        tier_pattern = ENTERPRISE_TIER if self.edition == "ENTERPRISE" else ENTERPRISE_PLUS_TIER
        if not tier_pattern.fullmatch(self.tier):
            example = "db-custom-4-16384" if self.edition == "ENTERPRISE" else "db-perf-optimized-N-4"
            raise ConfigConflict(
                f"tier {self.tier!r} is not a {self.edition} tier: use one like {example!r} or change database.edition",
                "database.tier",
                "database.edition",
            )
        if self.availability == "REGIONAL" and self.tier in SHARED_CORE_TIERS:
            raise ConfigConflict(
                f"high availability (availability REGIONAL) is not offered on shared-core tier {self.tier}: "
                "set database.availability to ZONAL or a db-custom tier",
                "database.tier",
                "database.availability",
            )
        if self.managed_pooling and self.edition != "ENTERPRISE_PLUS":
            raise ConfigConflict(
                "managed connection pooling needs database.edition ENTERPRISE_PLUS; set database.managedPooling false",
                "database.managedPooling",
                "database.edition",
            )
        limit = MAX_LOG_RETENTION_DAYS[self.edition]
        if self.log_retention_days > limit:
            raise ConfigConflict(
                f"{self.edition} keeps at most {limit} days of logs: lower database.logRetentionDays",
                "database.logRetentionDays",
                "database.edition",
            )
        if self.retained_backups <= self.log_retention_days:
            # Cloud SQL refuses logs older than the oldest backup ("backup retention should be
            # > transaction log retention").
            raise ConfigConflict(
                f"database.retainedBackups {self.retained_backups} must be greater than "
                f"database.logRetentionDays {self.log_retention_days}: raise the first or lower the second",
                "database.retainedBackups",
                "database.logRetentionDays",
            )
        return self


class RedisInstanceConfig(ConfigModel):
    """What both Memorystore for Redis instances take."""

    tier: Literal["BASIC", "STANDARD_HA"] = Field(
        default="STANDARD_HA", description="STANDARD_HA keeps a replica in another zone with automatic failover."
    )
    memory_size_gb: int = Field(default=1, ge=1, le=300, description="Capacity in GB.")
    version: Literal["REDIS_6_X", "REDIS_7_0", "REDIS_7_2"] = Field(default="REDIS_7_2", description="Redis version.")


class RedisCacheConfig(RedisInstanceConfig):
    """The cache: may evict; read replicas take read-heavy traffic off the primary."""

    memory_size_gb: int = Field(
        default=5, ge=1, le=300, description=f"Capacity in GB (read replicas need {READ_REPLICAS_MIN_GB} or more)."
    )
    read_replicas: int = Field(
        default=1, ge=0, le=5, description="Read replicas behind the read endpoint (STANDARD_HA only)."
    )

    @model_validator(mode="after")
    def _replicas_are_offered(self) -> RedisCacheConfig:
        if self.read_replicas and self.tier == "BASIC":
            raise ConfigConflict(
                "read replicas need tier STANDARD_HA: set redis.cache.readReplicas 0 or redis.cache.tier STANDARD_HA",
                "redis.cache.readReplicas",
                "redis.cache.tier",
            )
        if self.read_replicas and self.memory_size_gb < READ_REPLICAS_MIN_GB:
            raise ConfigConflict(
                f"Memorystore offers read replicas only on instances of {READ_REPLICAS_MIN_GB} GB or more: "
                f"set redis.cache.memorySizeGb {READ_REPLICAS_MIN_GB} or more, or redis.cache.readReplicas 0",
                "redis.cache.readReplicas",
                "redis.cache.memorySizeGb",
            )
        return self


class RedisBrokerConfig(RedisInstanceConfig):
    """The Celery broker: never evicts, snapshots to disk; a queue gains nothing from read replicas."""


class RedisConfig(ConfigModel):
    """Two instances on purpose: the cache may evict, the Celery broker must never lose a task."""

    cache: RedisCacheConfig = Field(
        default_factory=RedisCacheConfig,
        description="The cache: `allkeys-lru` eviction, no persistence, read replicas for read-heavy traffic.",
    )
    broker: RedisBrokerConfig = Field(
        default_factory=RedisBrokerConfig,
        description="The Celery broker: `noeviction`, RDB persistence.",
    )


# Prometheus durations as the GMP collector reads them: whole seconds or minutes.
SCRAPE_INTERVAL_PATTERN = r"^[1-9][0-9]*(s|m)$"
# Cloud Monitoring stores at most one point per series every 5 s; below 10 s costs more than it
# tells. Above 5 minutes a Prometheus series goes stale between two scrapes.
SCRAPE_INTERVAL_RANGE_SECONDS = (10, 300)


def duration_seconds(duration: str) -> int:
    """`30s` -> 30, `2m` -> 120: a Prometheus duration in the only units a scrape takes here."""
    if not re.fullmatch(SCRAPE_INTERVAL_PATTERN, duration):
        raise ValueError(f"duration {duration!r} is not like '30s' or '1m'")
    return parse_duration(duration)


class MetricsConfig(ConfigModel):
    """Managed Service for Prometheus: a collector sidecar next to the API and the workers."""

    collector: bool = Field(
        default=True,
        description=(
            "Run the Managed Prometheus collector sidecar (run-gmp-sidecar) in the API service and the "
            "Celery worker pool, scraping the app's metrics port; off, only Google Cloud's system metrics remain."
        ),
    )
    scrape_interval: str = Field(
        default="30s",
        pattern=SCRAPE_INTERVAL_PATTERN,
        description=(
            "How often the collector scrapes `/metrics` (10s to 5m). Shorter means finer graphs and faster "
            "alerts at a higher Cloud Monitoring ingestion bill; Grafana's `$__rate_interval` follows it."
        ),
    )

    @model_validator(mode="after")
    def _interval_in_range(self) -> MetricsConfig:
        low, high = SCRAPE_INTERVAL_RANGE_SECONDS
        if not low <= duration_seconds(self.scrape_interval) <= high:
            raise ConfigConflict(
                f"metrics.scrapeInterval {self.scrape_interval} is outside {low}s to {high // 60}m: "
                "shorter costs more than it tells, longer lets series go stale between scrapes",
                "metrics.scrapeInterval",
            )
        return self


# The tracing collector's memory: below 128Mi the collector itself barely fits; a sidecar gets
# 1Gi at most (`cloud_run_sizing.SIDECAR_MAX_MEMORY_MIB`).
COLLECTOR_MEMORY_RANGE_MIB = (128, 1024)


class TracingConfig(ConfigModel):
    """OpenTelemetry tracing: a collector sidecar in every Cloud Run workload, sampling
    consistently by trace id before it exports to Cloud Trace."""

    enabled: bool = Field(
        default=True,
        description=(
            "Run the OpenTelemetry Collector sidecar in the API, the workers and beat and point the app's "
            "OpenTelemetry SDK at it; off, the workloads get `OTEL_SDK_DISABLED=true` and no collector."
        ),
    )
    sampling_ratio: float = Field(
        default=0.1,
        description=(
            "Share of traces kept, above 0 up to 1 (0.1: one trace in ten). The collector decides by trace id, "
            "so a trace is kept or dropped whole, across the API, the workers and beat."
        ),
    )
    collector_memory: str = Field(
        default="256Mi",
        pattern=MEMORY_PATTERN,
        description=(
            "Memory of the collector container (128Mi to 1Gi); its memory limiter starts refusing spans below it. "
            "Above 512Mi the collector takes 500m instead of 250m of each instance's vCPUs, out of the app's share."
        ),
    )

    @field_validator("sampling_ratio")
    @classmethod
    def _ratio_in_range(cls, ratio: float) -> float:
        if ratio == 0:
            raise ValueError("0 would keep no trace at all: to turn tracing off, set tracing.enabled to false instead")
        if not 0 < ratio <= 1:
            raise ValueError(f"give a share of traces above 0 and at most 1 (0.1 keeps one in ten), not {ratio}")
        return ratio

    @field_validator("collector_memory")
    @classmethod
    def _memory_in_range(cls, memory: str) -> str:
        low, high = COLLECTOR_MEMORY_RANGE_MIB
        if not low <= memory_mib(memory) <= high:
            raise ValueError(f"the collector needs {low}Mi to {high // 1024}Gi (a sidecar's ceiling), not {memory}")
        return memory


class GrafanaConfig(ConfigModel):
    """Grafana on Cloud Run behind IAP, its state in the stack's Cloud SQL instance."""

    enabled: bool = Field(
        default=True, description="Run Grafana, with the dashboards provisioned from this repository."
    )
    version: str = Field(
        default="13.2.3",
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description="The Grafana release (`grafana/grafana` tag, pulled through the Docker Hub remote "
        "repository); an exact version, never `latest`.",
    )
    access_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
        description=(
            "The Google group whose members may pass IAP to Grafana (`omni-oncall@example.com`); unset, "
            "nobody is granted access and the run warns. Everyone who signs in is a Viewer: dashboards are code."
        ),
    )
    min_instances: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Grafana instances kept warm; 0 lets it scale to zero (a cold start of a few seconds).",
    )
    max_instances: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Grafana scale-out ceiling; each instance holds up to `dbPoolSize` database connections.",
    )
    db_pool_size: int = Field(
        default=4,
        ge=1,
        le=20,
        description="Database connections each Grafana instance may open (`max_open_conn`); counted in the "
        "connection budget.",
    )
    memory: str = Field(
        default="1Gi",
        pattern=MEMORY_PATTERN,
        description=(
            "Memory of the Grafana container, 1Gi at most: its instance has 1 vCPU in all, 750m of it Grafana's "
            "beside the query frontend's 250m."
        ),
    )

    @model_validator(mode="after")
    def _sizes(self) -> GrafanaConfig:
        try:
            check_cpu_memory("grafana", "1", self.memory)
        except ConfigConflict as conflict:
            raise ConfigConflict(str(conflict), "grafana.memory") from None  # its vCPU is fixed in code
        _, below_one_vcpu = FRACTIONAL_CPU_MEMORY_CEILING_MIB[-1]
        if memory_mib(self.memory) > below_one_vcpu:
            raise ConfigConflict(
                f"grafana.memory {self.memory}: Grafana shares its instance's one vCPU with the query frontend, and "
                f"Cloud Run gives a container below one vCPU at most {below_one_vcpu}Mi; "
                "set grafana.memory to 1Gi or less",
                "grafana.memory",
            )
        if self.min_instances > self.max_instances:
            raise ConfigConflict(
                f"grafana.minInstances {self.min_instances} is above grafana.maxInstances {self.max_instances}",
                "grafana.minInstances",
                "grafana.maxInstances",
            )
        return self
