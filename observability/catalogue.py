"""The one catalogue of metric names that dashboards and alert rules query.

Queries never spell a metric name: they use these objects (`HTTP_REQUESTS.name`), so a renamed
metric breaks every dashboard and rule that uses it at import time, and the tests check that
each selector in every rendered query names a metric listed here.

Three families of metrics:
- the Omni application's own, exposed on `/metrics` and scraped by the Managed Prometheus
  sidecar of each Cloud Run workload (docs/app-contract.md, "What the application exposes");
- Google Cloud system metrics, which Managed Prometheus serves to PromQL under
  `<service>_googleapis_com:<metric path with _>` (DELTA and CUMULATIVE ones are counters,
  DISTRIBUTIONs are histograms with `_bucket`, `_sum` and `_count`);
- Prometheus's own series: `up` from the collectors, `ALERTS` from the rule evaluator.

No Locust series: Locust runs in the load-test project, which deploys no exporter, so nothing in
a stack produces them (the load-test dashboard shows the server's side).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    COUNTER = "counter"  # only ever inside rate()/increase()
    GAUGE = "gauge"
    HISTOGRAM = "histogram"  # queried through its _bucket, _sum and _count series


class Source(StrEnum):
    APP = "app"  # the Omni API and Celery workers, through the GMP sidecar
    CLOUD_RUN = "cloud-run"
    CLOUD_SQL = "cloud-sql"
    MEMORYSTORE = "memorystore"
    UPTIME = "uptime-checks"
    EDGE = "edge"  # the HTTPS load balancer, and Cloud Armor's decisions counted from its logs
    PUBSUB = "pubsub"
    IDENTITY = "identity"  # Identity Platform's activity logs, counted by log-based metrics
    CUSTOM = "custom"  # written to Cloud Monitoring by our own jobs (the invoicing reconciliation)
    KMS = "kms"  # Cloud KMS key events, counted from its audit logs (components/encryption.py)
    PROMETHEUS = "prometheus"


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    source: Source
    help: str
    unit: str  # the Grafana unit of the metric's natural query ("reqps" for a counter's rate)
    labels: tuple[str, ...] = ()

    @property
    def series(self) -> tuple[str, ...]:
        """Every series name this metric appears under in PromQL."""
        if self.kind is Kind.HISTOGRAM:
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)

    @property
    def bucket(self) -> str:
        return self._part("_bucket")

    @property
    def count(self) -> str:
        return self._part("_count")

    @property
    def sum(self) -> str:
        return self._part("_sum")

    def _part(self, suffix: str) -> str:
        if self.kind is not Kind.HISTOGRAM:
            raise ValueError(f"{self.name} is a {self.kind.value}, not a histogram: it has no {suffix} series")
        return self.name + suffix


# Latency buckets of the app's histograms (seconds). 0.5 must be one of them: the latency SLO
# counts requests "under 500 ms" as the `le="0.5"` bucket.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY_SLO_BUCKET = "0.5"

# The `service` label of the application's metrics: the workload's name in the app contract
# (components/app_contract.py METRICS_WORKLOADS, which sets METRICS_SERVICE_LABEL to it), the
# same in every stack. The only place queries take it from; a test keeps it in step.
API_WORKLOAD = "api"
WORKER_WORKLOAD = "worker"
METRICS_WORKLOADS = (API_WORKLOAD, WORKER_WORKLOAD)

# --- the Omni application (prometheus_client conventions) -----------------------------------
HTTP_REQUESTS = Metric(
    "omni_http_requests_total",
    Kind.COUNTER,
    Source.APP,
    "HTTP requests the API finished, by route template, method and status code.",
    "reqps",
    ("service", "route", "method", "code"),
)
HTTP_REQUEST_DURATION = Metric(
    "omni_http_request_duration_seconds",
    Kind.HISTOGRAM,
    Source.APP,
    "Time from the request's arrival to the last byte of the response.",
    "s",
    ("service", "route", "method"),
)
HTTP_REQUESTS_IN_FLIGHT = Metric(
    "omni_http_requests_in_flight",
    Kind.GAUGE,
    Source.APP,
    "Requests being served right now by one instance.",
    "short",
    ("service",),
)
TENANT_REQUESTS = Metric(
    "omni_tenant_requests_total",
    Kind.COUNTER,
    Source.APP,
    "Requests per tenant (the owner of the API key), by route.",
    "reqps",
    ("service", "tenant", "route", "code"),
)
CACHE_REQUESTS = Metric(
    "omni_cache_requests_total",
    Kind.COUNTER,
    Source.APP,
    "Cache-aside lookups in Redis, by result (hit or miss).",
    "ops",
    ("service", "cache", "result"),
)
DB_POOL_CONNECTIONS = Metric(
    "omni_db_pool_connections",
    Kind.GAUGE,
    Source.APP,
    "Connections held by one instance's database pool, by state (in_use or idle).",
    "short",
    ("service", "state"),
)
DB_POOL_WAIT = Metric(
    "omni_db_pool_wait_seconds",
    Kind.HISTOGRAM,
    Source.APP,
    "Time a request waited for a pooled database connection.",
    "s",
    ("service",),
)
CELERY_TASKS = Metric(
    "omni_celery_tasks_total",
    Kind.COUNTER,
    Source.APP,
    "Celery tasks that finished, by task name and state (succeeded, failed, retried).",
    "ops",
    ("service", "task", "state"),
)
CELERY_TASK_DURATION = Metric(
    "omni_celery_task_duration_seconds",
    Kind.HISTOGRAM,
    Source.APP,
    "Run time of Celery tasks, by task name.",
    "s",
    ("service", "task"),
)
CELERY_QUEUE_LENGTH = Metric(
    "omni_celery_queue_length",
    Kind.GAUGE,
    Source.APP,
    "Messages waiting in a Celery queue on the broker.",
    "short",
    ("service", "queue"),
)
CELERY_WORKERS = Metric(
    "omni_celery_workers",
    Kind.GAUGE,
    Source.APP,
    "Celery worker processes that answered the last ping.",
    "short",
    ("service",),
)
CELERY_TASK_QUEUE_WAIT = Metric(
    "omni_celery_task_queue_wait_seconds",
    Kind.HISTOGRAM,
    Source.APP,
    "Time a task waited in the queue before a worker started it.",
    "s",
    ("service", "task"),
)

# Usage metering: what the app publishes to the usage topic (components/usage.py, docs/usage.md).
USAGE_EVENTS_PUBLISHED = Metric(
    "omni_usage_events_published_total",
    Kind.COUNTER,
    Source.APP,
    "Usage events the app published to the usage topic (Pub/Sub acknowledged them), by unit kind.",
    "ops",
    ("service", "unit_kind"),
)
USAGE_PUBLISH_FAILURES = Metric(
    "omni_usage_publish_failures_total",
    Kind.COUNTER,
    Source.APP,
    "Usage events the app could not publish after its client's retries (kept to publish again).",
    "ops",
    ("service",),
)
TENANT_UNITS = Metric(
    "omni_tenant_units_total",
    Kind.COUNTER,
    Source.APP,
    "Billable units per tenant, as published in usage events, by unit kind.",
    "ops",
    ("service", "tenant", "unit_kind"),
)
TENANT_QUOTA = Metric(
    "omni_tenant_quota_units",
    Kind.GAUGE,
    Source.APP,
    "The tenant's monthly quota of a unit kind under its plan (the API refuses with 429 beyond it).",
    "short",
    ("service", "tenant", "unit_kind"),
)

# --- Cloud Run (monitored resource cloud_run_revision / cloud_run_worker_pool) ---------------
RUN_REQUESTS = Metric(
    "run_googleapis_com:request_count",
    Kind.COUNTER,
    Source.CLOUD_RUN,
    "Requests that reached Cloud Run, by response code class, including ones the app never saw.",
    "reqps",
    ("service_name", "response_code_class"),
)
RUN_REQUEST_LATENCIES = Metric(
    "run_googleapis_com:request_latencies",
    Kind.HISTOGRAM,
    Source.CLOUD_RUN,
    "Request latency measured by Cloud Run's front end, in milliseconds.",
    "ms",
    ("service_name",),
)
RUN_INSTANCES = Metric(
    "run_googleapis_com:container_instance_count",
    Kind.GAUGE,
    Source.CLOUD_RUN,
    "Container instances, by state (active or idle).",
    "short",
    ("service_name", "state"),
)
RUN_CPU = Metric(
    "run_googleapis_com:container_cpu_utilizations",
    Kind.HISTOGRAM,
    Source.CLOUD_RUN,
    "CPU utilisation of container instances (0 to 1).",
    "percentunit",
    ("service_name",),
)
RUN_MEMORY = Metric(
    "run_googleapis_com:container_memory_utilizations",
    Kind.HISTOGRAM,
    Source.CLOUD_RUN,
    "Memory utilisation of container instances (0 to 1).",
    "percentunit",
    ("service_name",),
)
RUN_CONCURRENCY = Metric(
    "run_googleapis_com:container_max_request_concurrencies",
    Kind.HISTOGRAM,
    Source.CLOUD_RUN,
    "Highest number of concurrent requests per instance each minute.",
    "short",
    ("service_name",),
)
RUN_STARTUP_LATENCIES = Metric(
    "run_googleapis_com:container_startup_latencies",
    Kind.HISTOGRAM,
    Source.CLOUD_RUN,
    "Time to start a new instance (a cold start), in milliseconds.",
    "ms",
    ("service_name",),
)
RUN_BILLABLE_TIME = Metric(
    "run_googleapis_com:container_billable_instance_time",
    Kind.COUNTER,
    Source.CLOUD_RUN,
    "Billable instance time, in seconds per second.",
    "s",
    ("service_name",),
)

# --- Cloud SQL (monitored resource cloudsql_database) -----------------------------------------
SQL_BACKENDS = Metric(
    "cloudsql_googleapis_com:database_postgresql_num_backends",
    Kind.GAUGE,
    Source.CLOUD_SQL,
    "Connections to the PostgreSQL instance, by database.",
    "short",
    ("database_id", "database"),
)
SQL_CPU = Metric(
    "cloudsql_googleapis_com:database_cpu_utilization",
    Kind.GAUGE,
    Source.CLOUD_SQL,
    "CPU utilisation of the instance (0 to 1).",
    "percentunit",
    ("database_id",),
)
SQL_MEMORY = Metric(
    "cloudsql_googleapis_com:database_memory_utilization",
    Kind.GAUGE,
    Source.CLOUD_SQL,
    "Memory utilisation of the instance (0 to 1).",
    "percentunit",
    ("database_id",),
)
SQL_DISK = Metric(
    "cloudsql_googleapis_com:database_disk_utilization",
    Kind.GAUGE,
    Source.CLOUD_SQL,
    "Fraction of the disk quota in use (0 to 1).",
    "percentunit",
    ("database_id",),
)
SQL_REPLICA_LAG = Metric(
    "cloudsql_googleapis_com:database_replication_replica_lag",
    Kind.GAUGE,
    Source.CLOUD_SQL,
    "Seconds the read replica is behind the primary.",
    "s",
    ("database_id",),
)

# --- Memorystore for Redis (monitored resource redis_instance) --------------------------------
REDIS_MEMORY_RATIO = Metric(
    "redis_googleapis_com:stats_memory_usage_ratio",
    Kind.GAUGE,
    Source.MEMORYSTORE,
    "Memory in use as a fraction of the instance's maximum (0 to 1).",
    "percentunit",
    ("instance_id",),
)
REDIS_EVICTED_KEYS = Metric(
    "redis_googleapis_com:stats_evicted_keys",
    Kind.COUNTER,
    Source.MEMORYSTORE,
    "Keys evicted because memory was full.",
    "ops",
    ("instance_id",),
)
REDIS_CLIENTS = Metric(
    "redis_googleapis_com:clients_connected",
    Kind.GAUGE,
    Source.MEMORYSTORE,
    "Client connections.",
    "short",
    ("instance_id",),
)
REDIS_HIT_RATIO = Metric(
    "redis_googleapis_com:stats_cache_hit_ratio",
    Kind.GAUGE,
    Source.MEMORYSTORE,
    "Keyspace hits over lookups, as Redis counts them (0 to 1).",
    "percentunit",
    ("instance_id",),
)

# --- Cloud Run jobs (monitored resource cloud_run_job) -------------------------------------------
RUN_JOB_EXECUTIONS = Metric(
    "run_googleapis_com:job_completed_execution_count",
    Kind.COUNTER,
    Source.CLOUD_RUN,
    "Finished executions of Cloud Run jobs, by job and result (succeeded or failed).",
    "ops",
    ("job_name", "result"),
)

# --- Pub/Sub (monitored resources pubsub_topic and pubsub_subscription) --------------------------
PUBSUB_SEND_REQUESTS = Metric(
    "pubsub_googleapis_com:topic_send_request_count",
    Kind.COUNTER,
    Source.PUBSUB,
    "Publish requests to a topic, by response class (success, invalid, ...): a schema refusal is not success.",
    "reqps",
    ("topic_id", "response_class"),
)
PUBSUB_UNDELIVERED = Metric(
    "pubsub_googleapis_com:subscription_num_undelivered_messages",
    Kind.GAUGE,
    Source.PUBSUB,
    "Messages a subscription has not yet delivered and had acknowledged: its backlog.",
    "short",
    ("subscription_id",),
)
PUBSUB_OLDEST_UNACKED = Metric(
    "pubsub_googleapis_com:subscription_oldest_unacked_message_age",
    Kind.GAUGE,
    Source.PUBSUB,
    "Age of the oldest message a subscription has not had acknowledged, in seconds.",
    "s",
    ("subscription_id",),
)
PUBSUB_DEAD_LETTERS = Metric(
    "pubsub_googleapis_com:subscription_dead_letter_message_count",
    Kind.COUNTER,
    Source.PUBSUB,
    "Messages a subscription moved to its dead-letter topic after its last delivery attempt.",
    "ops",
    ("subscription_id",),
)
PUBSUB_PUSH_REQUESTS = Metric(
    "pubsub_googleapis_com:subscription_push_request_count",
    Kind.COUNTER,
    Source.PUBSUB,
    "Delivery attempts of a push or export subscription (a BigQuery subscription's writes), by response class.",
    "reqps",
    ("subscription_id", "response_class"),
)

# --- Written by the invoicing job (custom.googleapis.com) -----------------------------------------
RECONCILIATION_MISMATCHES = Metric(
    "custom_googleapis_com:omni_invoicing_reconciliation_mismatched_lines",
    Kind.GAUGE,
    Source.CUSTOM,
    "Invoice lines whose invoiced units differ from the metered units, by billed month (the reconcile job's last run).",
    "short",
    ("usage_month",),
)

# --- Uptime checks (monitored resource uptime_url) --------------------------------------------
UPTIME_CHECK_PASSED = Metric(
    "monitoring_googleapis_com:uptime_check_check_passed",
    Kind.GAUGE,
    Source.UPTIME,
    "1 when a checker location's last check passed, by check and location.",
    "bool",
    ("check_id", "checker_location"),
)

UPTIME_CERT_DAYS_LEFT = Metric(
    "monitoring_googleapis_com:uptime_check_time_until_ssl_cert_expires",
    Kind.GAUGE,
    Source.UPTIME,
    "Days until the certificate the checked host served expires, by check and location (HTTPS checks with "
    "SSL validation; no sample when no valid certificate was served).",
    "d",
    ("check_id", "checker_location"),
)

# --- The edge (monitored resource https_lb_rule; log-based metrics of components/edge) ----------
LB_REQUESTS = Metric(
    "loadbalancing_googleapis_com:https_request_count",
    Kind.COUNTER,
    Source.EDGE,
    "Requests the HTTPS load balancer served, by backend, response code class (200, 400, 500...) and CDN "
    "cache result, Cloud Armor's refusals included.",
    "reqps",
    (
        "url_map_name",
        "backend_target_name",
        "backend_target_type",
        "response_code_class",
        "response_code",
        "cache_result",
    ),
)
LB_LATENCIES = Metric(
    "loadbalancing_googleapis_com:https_total_latencies",
    Kind.HISTOGRAM,
    Source.EDGE,
    "Time from the load balancer's first request byte to its last response byte, in milliseconds.",
    "ms",
    ("backend_target_name", "response_code_class"),
)
ARMOR_DECISIONS = Metric(
    "logging_googleapis_com:user_edge_armor_decisions",
    Kind.COUNTER,
    Source.EDGE,
    "Cloud Armor's enforced decisions at the edge, by policy, rule priority and outcome (ACCEPT, DENY), "
    "counted from the load balancer's request logs.",
    "reqps",
    ("policy", "priority", "outcome"),
)
ARMOR_PREVIEW_DECISIONS = Metric(
    "logging_googleapis_com:user_edge_armor_preview_decisions",
    Kind.COUNTER,
    Source.EDGE,
    "What Cloud Armor's rules in preview mode would have done, by policy, rule priority and outcome.",
    "reqps",
    ("policy", "priority", "outcome"),
)

# --- Identity Platform: end users' sign-ins and MFA, counted from its activity logs -----------
# A user-defined log-based metric reads as `logging_googleapis_com:user_<id>` in Managed Prometheus.
LOG_METRIC_PREFIX = "logging_googleapis_com:user_"
IDENTITY_SIGN_INS = Metric(
    f"{LOG_METRIC_PREFIX}identity_sign_ins",
    Kind.COUNTER,
    Source.IDENTITY,
    "End users' sign-in attempts at Identity Platform (password, SAML/OIDC, MFA step), every outcome, by step.",
    "reqps",
    ("project_id", "method"),
)
IDENTITY_SIGN_IN_FAILURES = Metric(
    f"{LOG_METRIC_PREFIX}identity_sign_in_failures",
    Kind.COUNTER,
    Source.IDENTITY,
    "End users' failed sign-ins at Identity Platform, by step and Google's error (INVALID_LOGIN_CREDENTIALS, ...).",
    "reqps",
    ("project_id", "method", "reason"),
)
IDENTITY_MFA_ENROLMENTS = Metric(
    f"{LOG_METRIC_PREFIX}identity_mfa_enrolments",
    Kind.COUNTER,
    Source.IDENTITY,
    "Second factors end users enrolled (finalized MFA enrolments) at Identity Platform.",
    "reqps",
    ("project_id", "method"),
)
# --- Cloud KMS: key versions disabled or destroyed, counted from the audit logs --------------
KMS_KEY_EVENTS = Metric(
    "logging_googleapis_com:user_kms_key_version_disabled_or_destroyed",
    Kind.COUNTER,
    Source.KMS,
    "Cloud KMS key versions disabled or scheduled for destruction, by key ring, key and method "
    "(UpdateCryptoKeyVersion to DISABLED, DestroyCryptoKeyVersion), counted from the Admin Activity audit logs.",
    "short",
    ("key_ring", "crypto_key", "method"),
)

# --- Prometheus itself: the collectors' scrape results and the rule evaluator's alerts ---------
UP = Metric(
    "up",
    Kind.GAUGE,
    Source.PROMETHEUS,
    "1 when the last scrape of a target succeeded.",
    "bool",
    ("job", "instance"),
)
ALERTS = Metric(
    "ALERTS",
    Kind.GAUGE,
    Source.PROMETHEUS,
    "Alerts pending or firing, by alert name and severity.",
    "short",
    ("alertname", "alertstate", "severity"),
)
ALL_METRICS: tuple[Metric, ...] = tuple(value for value in globals().values() if isinstance(value, Metric))

BY_SERIES: dict[str, Metric] = {series: metric for metric in ALL_METRICS for series in metric.series}


def metric_of_series(series: str) -> Metric | None:
    """The catalogue's metric a PromQL series name belongs to, or None if it is not catalogued."""
    return BY_SERIES.get(series)
