"""The monitoring config: everything alerts and dashboards need to know about one stack, as one
object derived from the stack's typed config by one function (kubernetes-mixin's `_config`).

Thresholds that depend on what the stack deploys (the database's connection limit, the API's
instance ceiling and concurrency), the workloads' label values and Cloud Run names, the scrape
and evaluation intervals, and which producers of series the stack runs (collectors, the rule
evaluator, a read replica, uptime checks) all live here. Query-building code reads them from
this object; none spells a workload name or a per-stack number itself.

Rendering never runs the Pulumi program: `offline.monitoring.load_monitoring_config` reads the
stack file through the same loader `pulumi up` uses; the program passes its already validated
config to `monitoring_config`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from observability.catalogue import API_WORKLOAD, METRICS_WORKLOADS, WORKER_WORKLOAD
from observability.durations import parse_duration

from .armor import api_rules
from .cloud_run_sizing import memory_mib
from .compliance import findings_topic
from .connections import ConnectionBudget, connection_budget, default_max_connections

if TYPE_CHECKING:
    from .model import StackConfig

__all__ = [
    "API_WORKLOAD",
    "METRICS_WORKLOADS",
    "WORKER_WORKLOAD",
    "MonitoringConfig",
    "Producers",
    "UsagePipeline",
    "monitoring_config",
]

# The rule evaluator runs in the alerting path's Cloud Run worker pool `<base>-alerting`
# (components/rule_evaluator.py, declared in every stack): the producer check finds it in the
# recorded graph by that name and the evaluator's image.
RULE_EVALUATOR_SUFFIX = "-alerting"

# The usage pipeline's Cloud Run jobs, `<base>-<mode>` (components/usage.py JOB_MODES); the
# invoice job exists only once the Stripe key has a version (usage.stripeKeyAdded).
INVOICE_JOB_MODE, RECONCILE_JOB_MODE = "invoice", "reconcile"
# The BigQuery subscription of the usage topic: `<topic>-bigquery` (components/usage.py).
BIGQUERY_SUBSCRIPTION_SUFFIX = "-bigquery"

# Shares of the application's connection limit where CloudSqlConnectionsNearLimit opens a ticket
# and where it pages: past 95% the next burst of pool overflow fails with "too many connections".
CONNECTIONS_WARNING_SHARE = 0.8
CONNECTIONS_CRITICAL_SHARE = 0.95
# Share of api.concurrency above which CloudRunConcurrencySaturated warns: scale-out lags.
CONCURRENCY_SATURATION_SHARE = 0.8


@dataclass(frozen=True)
class Workload:
    """One workload as its series name it."""

    service: str  # the `service` label of its app metrics: "api"
    cloud_run_name: str  # the Cloud Run service or worker pool: the `service_name` of its system metrics


@dataclass(frozen=True)
class Producers:
    """Who produces series in this stack: what a query may read (offline/producers.py)."""

    collectors: tuple[str, ...]  # workloads whose Managed Prometheus sidecar scrapes their app metrics
    rule_evaluator: bool  # recording rules are evaluated (and ALERTS written)
    database: bool  # Cloud SQL system metrics
    read_replica: bool  # the replica-lag metric exists only with a replica
    redis: bool  # Memorystore system metrics
    uptime_checks: bool  # uptime check results (the status page's checks)
    locust_exporter: bool  # Locust's Prometheus exporter (the load-test project's)
    load_balancer: bool  # the HTTPS load balancer's metrics (the edge)
    armor_logs: bool  # the log-based metrics of Cloud Armor's decisions (the edge)
    pubsub: bool  # Pub/Sub topic and subscription metrics (the usage pipeline's and the findings topic)
    run_jobs: bool  # Cloud Run job metrics (the invoicing jobs' executions)
    reconciliation: bool  # the reconcile job writes its custom mismatch metric
    identity_logs: bool  # the log-based metrics of Identity Platform's activity logs
    key_events: bool = False  # the log-based metric of Cloud KMS key disables and destroys (encryption.enabled)


@dataclass(frozen=True)
class UsagePipeline:
    """The usage pipeline's names as its Cloud Monitoring metrics label them (docs/usage.md)."""

    topic: str  # `topic_id` of the usage topic: `omni-prod-usage-events`
    bigquery_subscription: str  # `subscription_id` of its BigQuery subscription: `<topic>-bigquery`
    jobs: tuple[str, ...]  # `job_name` of each invoicing job the stack declares


@dataclass(frozen=True)
class MonitoringConfig:
    stack: str
    project: str  # the GCP project: the `project_id` label and the `environment` variable's default
    region: str
    base_name: str  # `omni-prod`
    api: Workload
    worker: Workload
    api_min_instances: int
    api_max_instances: int  # the instance ceiling
    api_concurrency: int
    api_vcpus: float
    api_memory_gib: float
    api_connections_per_instance: int  # pool + overflow
    worker_instances: int
    worker_processes: int  # instances x concurrency
    budget: ConnectionBudget
    max_connections: int  # PostgreSQL's max_connections: set, or the tier's default
    reserved_connections: int  # kept for operators and migrations
    scrape_interval: str  # how often the collectors scrape /metrics
    evaluation_interval: str  # how often rules are evaluated: the scrape interval (no point evaluating faster)
    producers: Producers
    usage: UsagePipeline | None  # None where usage.enabled is false
    edge: bool  # the HTTPS load balancer, Cloud Armor and certificates (edge.enabled)
    # The API's Cloud Armor rules as (priority, name): the logs, and so the edge's panels, name a
    # rule by its priority (stackconfig/armor.py).
    armor_rules: tuple[tuple[int, str], ...]
    # The security findings topic's `topic_id` (stackconfig/compliance.py); None where
    # compliance.findings.enabled is false.
    findings_topic: str | None = None

    @property
    def api_service(self) -> str:
        return self.api.service

    @property
    def worker_service(self) -> str:
        return self.worker.service

    @property
    def app_connection_limit(self) -> int:
        """Connections the application may open: max_connections minus the reserve."""
        return self.max_connections - self.reserved_connections

    @property
    def connections_warning(self) -> int:
        return int(self.app_connection_limit * CONNECTIONS_WARNING_SHARE)

    @property
    def connections_critical(self) -> int:
        return int(self.app_connection_limit * CONNECTIONS_CRITICAL_SHARE)

    @property
    def concurrency_saturation(self) -> float:
        return CONCURRENCY_SATURATION_SHARE * self.api_concurrency

    @property
    def database_id(self) -> str:
        """The `database_id` label of the primary's Cloud SQL metrics: `<project>:<instance>`."""
        return f"{self.project}:{self.base_name}-pg"

    @property
    def replica_database_id(self) -> str:
        return f"{self.database_id}-replica"

    @property
    def cache_instance_id(self) -> str:
        """The `instance_id` label of the cache's Memorystore metrics."""
        return f"projects/{self.project}/locations/{self.region}/instances/{self.base_name}-cache-redis"

    @property
    def rule_evaluator_name(self) -> str:
        return f"{self.base_name}{RULE_EVALUATOR_SUFFIX}"

    @property
    def evaluation_seconds(self) -> int:
        return parse_duration(self.evaluation_interval)


def monitoring_config(stack: str, config: StackConfig) -> MonitoringConfig:
    """The one function from a validated stack config to what alerts and dashboards read."""
    database = config.database
    base = config.base_name
    return MonitoringConfig(
        stack=stack,
        project=config.project,
        region=config.region,
        base_name=base,
        api=Workload(API_WORKLOAD, f"{base}-{API_WORKLOAD}"),
        worker=Workload(WORKER_WORKLOAD, f"{base}-{WORKER_WORKLOAD}"),
        api_min_instances=config.api.min_instances,
        api_max_instances=config.api.max_instances,
        api_concurrency=config.api.concurrency,
        api_vcpus=float(config.api.cpu),
        api_memory_gib=memory_mib(config.api.memory) / 1024,
        api_connections_per_instance=config.api.db_pool_size + config.api.db_max_overflow,
        worker_instances=config.workers.instances,
        worker_processes=config.workers.instances * config.workers.concurrency,
        budget=connection_budget(config.api, config.workers, database),
        max_connections=database.max_connections or default_max_connections(database.tier),
        reserved_connections=database.reserved_connections,
        scrape_interval=config.metrics.scrape_interval,
        evaluation_interval=config.metrics.scrape_interval,
        producers=Producers(
            collectors=METRICS_WORKLOADS if config.metrics.collector else (),
            rule_evaluator=True,  # the alerting path is part of every stack
            database=True,
            read_replica=database.read_replica,
            redis=True,
            uptime_checks=config.status_page.enabled,
            locust_exporter=False,
            load_balancer=config.edge.enabled,
            armor_logs=config.edge.enabled,
            pubsub=config.usage.enabled or config.compliance.findings.enabled,
            run_jobs=config.usage.enabled,
            reconciliation=config.usage.enabled,
            identity_logs=config.identity_platform.enabled and config.identity_platform.activity_logging,
            key_events=config.encryption.enabled,
        ),
        usage=usage_pipeline(config) if config.usage.enabled else None,
        edge=config.edge.enabled,
        armor_rules=tuple((rule.priority, rule.name) for rule in api_rules(config.edge.armor)),
        findings_topic=findings_topic(base) if config.compliance.findings.enabled else None,
    )


def usage_pipeline(config: StackConfig) -> UsagePipeline:
    base = config.base_name
    topic = config.usage.names(base).topic
    modes = (INVOICE_JOB_MODE, RECONCILE_JOB_MODE) if config.usage.stripe_key_added else (RECONCILE_JOB_MODE,)
    return UsagePipeline(
        topic=topic,
        bigquery_subscription=f"{topic}{BIGQUERY_SUBSCRIPTION_SUFFIX}",
        jobs=tuple(f"{base}-{mode}" for mode in modes),
    )


def production_defaults() -> MonitoringConfig:
    """The monitoring config of a production stack that sets nothing but its project: every
    setting at the model's production-safe default (for the lab, which reads no stack file)."""
    from .model import StackConfig

    config = StackConfig.model_validate({"project": "omni-api-prod", "environment": "prod"})
    return monitoring_config("prod", config)
