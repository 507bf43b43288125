"""One estimator per priced resource type: a graph resource (type and inputs) in, line items out.

Quantities come from the recorded inputs; usage the graph cannot show comes from the traffic
profile. Every price is looked up in the price table by id and region; a row without an amount
yields an unpriced line (named in the output), never a guessed one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cost.model import HOURS_PER_MONTH, SECONDS_PER_MONTH, LineItem
from cost.prices import PriceRow, PriceTable
from cost.profile import TrafficProfile

# Cloud Run's defaults when a container sets no limits (1 vCPU, 512 MiB) and a service no concurrency.
DEFAULT_CPU = 1.0
DEFAULT_MEMORY_GIB = 0.5
DEFAULT_CONCURRENCY = 80
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
# Containers that mark a workload as scraped by Managed Prometheus, or traced.
METRICS_SIDECAR = "collector"
TRACING_SIDECAR = "otel-collector"
# Memorystore capacity bands by provisioned GB; rows exist per band.
REDIS_BANDS = ((4, "m1"), (10, "m2"), (35, "m3"), (100, "m4"))


@dataclass
class Context:
    graph: dict[str, Any]
    profile: TrafficProfile
    prices: PriceTable
    region: str
    rows_used: dict[tuple[str, tuple[str, ...]], PriceRow] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def row(self, price_id: str, region: str | None = None) -> PriceRow:
        row = self.prices.find(price_id, region or self.region)
        self.rows_used[(row.id, row.regions)] = row
        return row


Estimator = Callable[[dict[str, Any], str, Context], list[LineItem]]


def _item(
    resource: dict[str, Any],
    component: str,
    context: Context,
    what: str,
    quantity: float,
    price_id: str,
    *,
    fixed: bool,
    region: str | None = None,
) -> LineItem:
    row = context.row(price_id, region or _region(resource, context))
    # Quantities are counted in single units; the row may price a block (1,000,000 requests).
    return LineItem(
        urn=resource["urn"],
        resource=resource["name"],
        type=resource["type"],
        component=component,
        what=what,
        quantity=quantity / row.per,
        unit=row.unit if row.per == 1 else f"{row.per:,} {row.unit}s",
        price_id=row.id,
        unit_price=row.amount,
        fixed=fixed,
        verified=row.verified,
    )


def _region(resource: dict[str, Any], context: Context) -> str:
    inputs = resource.get("inputs", {})
    for key in ("region", "location"):
        value = inputs.get(key)
        if isinstance(value, str) and value and value[0].islower() and "-" in value:
            return value
    return context.region


# --- Cloud Run ----------------------------------------------------------------------------


def cpu_quantity(value: Any) -> float:
    """`1500m` -> 1.5, `2` -> 2.0; Cloud Run's default when unset."""
    if value is None:
        return DEFAULT_CPU
    text = str(value)
    if text.endswith("m"):
        return int(text[:-1]) / 1000
    return float(text)


def memory_gib(value: Any) -> float:
    """`512Mi` -> 0.5, `1Gi` -> 1.0, `1G` -> 10^9 bytes in GiB; Cloud Run's default when unset."""
    if value is None:
        return DEFAULT_MEMORY_GIB
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?", str(value))
    if match is None:
        raise ValueError(f"memory {value!r} is not like '512Mi' or '2Gi'")
    number, suffix = float(match.group(1)), match.group(2) or ""
    factor = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9, "": 1}[suffix]
    return number * factor / 2**30


def instance_size(containers: list[dict[str, Any]]) -> tuple[float, float]:
    """vCPU and GiB of one instance: the sum over every container, sidecars included."""
    cpu = sum(cpu_quantity((c.get("resources") or {}).get("limits", {}).get("cpu")) for c in containers)
    memory = sum(memory_gib((c.get("resources") or {}).get("limits", {}).get("memory")) for c in containers)
    return cpu, memory


def _container_names(containers: list[dict[str, Any]]) -> set[str]:
    return {c.get("name", "") for c in containers}


def instance_based(containers: list[dict[str, Any]]) -> bool:
    """Instance-based billing when CPU stays allocated outside requests (`cpuIdle: false`);
    Cloud Run's default (`cpuIdle` unset or true) is request-based."""
    return any((c.get("resources") or {}).get("cpuIdle") is False for c in containers)


def run_service(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    inputs = resource.get("inputs", {})
    template = inputs.get("template", {})
    containers = template.get("containers", [])
    cpu, memory = instance_size(containers)
    scaling = {**(inputs.get("scaling") or {}), **(template.get("scaling") or {})}
    min_instances = int(scaling.get("minInstanceCount") or 0)
    max_instances = scaling.get("maxInstanceCount")
    concurrency = int(template.get("maxInstanceRequestConcurrency") or DEFAULT_CONCURRENCY)
    profile = context.profile
    serves_api = _is_api(resource, context)
    requests = profile.requests_per_month if serves_api else 0
    # Busy instance time: each request holds a slot for its mean duration; instances fill to
    # concurrency x utilization before another starts.
    busy = requests * (profile.mean_duration_with_cache_ms / 1000) / (concurrency * profile.concurrency_utilization)
    floor = min_instances * SECONDS_PER_MONTH
    if max_instances is not None and busy > int(max_instances) * SECONDS_PER_MONTH:
        context.notes.append(
            f"{resource['name']}: the profile needs more than maxInstanceCount={max_instances} instances; "
            "capped (requests would queue or fail)"
        )
        busy = int(max_instances) * SECONDS_PER_MONTH
    items: list[LineItem] = []
    size = f"{cpu:g} vCPU, {memory:g} GiB over {len(containers)} containers"
    if instance_based(containers):
        above = max(0.0, busy - floor)
        if floor:
            items += [
                _item(
                    resource,
                    component,
                    context,
                    f"min {min_instances} instances: vCPU ({size})",
                    cpu * floor,
                    "run.instance.cpu",
                    fixed=True,
                ),
                _item(
                    resource,
                    component,
                    context,
                    f"min {min_instances} instances: memory",
                    memory * floor,
                    "run.instance.memory",
                    fixed=True,
                ),
            ]
        if above:
            items += [
                _item(
                    resource,
                    component,
                    context,
                    f"instances above the minimum: vCPU ({size})",
                    cpu * above,
                    "run.instance.cpu",
                    fixed=False,
                ),
                _item(
                    resource,
                    component,
                    context,
                    "instances above the minimum: memory",
                    memory * above,
                    "run.instance.memory",
                    fixed=False,
                ),
            ]
    else:
        idle = max(0.0, floor - busy)
        if idle:
            items += [
                _item(
                    resource,
                    component,
                    context,
                    f"idle min {min_instances} instances: vCPU ({size})",
                    cpu * idle,
                    "run.request.idle_cpu",
                    fixed=True,
                ),
                _item(
                    resource,
                    component,
                    context,
                    f"idle min {min_instances} instances: memory",
                    memory * idle,
                    "run.request.idle_memory",
                    fixed=True,
                ),
            ]
        if busy:
            items += [
                _item(
                    resource,
                    component,
                    context,
                    f"active instances: vCPU ({size})",
                    cpu * busy,
                    "run.request.cpu",
                    fixed=False,
                ),
                _item(
                    resource,
                    component,
                    context,
                    "active instances: memory",
                    memory * busy,
                    "run.request.memory",
                    fixed=False,
                ),
                _item(resource, component, context, "requests", requests, "run.request.requests", fixed=False),
            ]
    average_instances = max(busy, floor) / SECONDS_PER_MONTH
    items += _telemetry(resource, component, context, containers, average_instances, requests)
    return items


def _is_api(resource: dict[str, Any], context: Context) -> bool:
    """The service the traffic profile's requests reach: the one whose `service` label is `api`
    (the API component sets it; Grafana and other services get no API traffic)."""
    return (resource.get("inputs", {}).get("labels") or {}).get("service") == "api"


def _telemetry(
    resource: dict[str, Any],
    component: str,
    context: Context,
    containers: list[dict[str, Any]],
    instances: float,
    requests: float,
) -> list[LineItem]:
    names = _container_names(containers)
    profile = context.profile
    items: list[LineItem] = []
    if METRICS_SIDECAR in names and instances:
        samples = instances * profile.metric_series_per_instance * SECONDS_PER_MONTH / profile.scrape_interval_s
        items.append(
            _item(
                resource,
                component,
                context,
                "Managed Prometheus samples",
                samples,
                "prometheus.samples",
                fixed=False,
                region="global",
            )
        )
    if TRACING_SIDECAR in names and requests:
        spans = requests * profile.spans_per_request
        items.append(
            _item(resource, component, context, "Cloud Trace spans", spans, "trace.spans", fixed=False, region="global")
        )
    return items


def run_worker_pool(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    inputs = resource.get("inputs", {})
    containers = inputs.get("template", {}).get("containers", [])
    cpu, memory = instance_size(containers)
    scaling = inputs.get("scaling") or {}
    instances = int(scaling.get("manualInstanceCount") or scaling.get("minInstanceCount") or 0)
    seconds = instances * SECONDS_PER_MONTH
    size = f"{cpu:g} vCPU, {memory:g} GiB over {len(containers)} containers"
    return [
        _item(
            resource,
            component,
            context,
            f"{instances} instances: vCPU ({size})",
            cpu * seconds,
            "run.workerpool.cpu",
            fixed=True,
        ),
        _item(
            resource,
            component,
            context,
            f"{instances} instances: memory",
            memory * seconds,
            "run.workerpool.memory",
            fixed=True,
        ),
        *_telemetry(resource, component, context, containers, instances, 0),
    ]


def run_job(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    inputs = resource.get("inputs", {})
    execution = inputs.get("template", {})
    task = execution.get("template", {})
    cpu, memory = instance_size(task.get("containers", []))
    tasks = int(execution.get("taskCount") or 1)
    runs, why = job_runs_per_month(resource, context)
    seconds = runs * tasks * context.profile.job_run_seconds
    return [
        _item(
            resource,
            component,
            context,
            f"{runs:,.0f} runs ({why}) x {tasks} task: vCPU",
            cpu * seconds,
            "run.job.cpu",
            fixed=False,
        ),
        _item(
            resource,
            component,
            context,
            f"{runs:,.0f} runs x {tasks} task: memory",
            memory * seconds,
            "run.job.memory",
            fixed=False,
        ),
    ]


def job_runs_per_month(resource: dict[str, Any], context: Context) -> tuple[float, str]:
    """Runs a month: from the Cloud Scheduler job that runs it (its cron), else one per deploy."""
    name = resource.get("inputs", {}).get("name") or resource["name"]
    for other in context.graph.get("resources", []):
        if other["type"] != "gcp:cloudscheduler/job:Job":
            continue
        inputs = other.get("inputs", {})
        uri = (inputs.get("httpTarget") or {}).get("uri", "")
        if isinstance(uri, str) and uri.endswith(f"/jobs/{name}:run"):
            schedule = inputs.get("schedule", "")
            return cron_runs_per_month(schedule), f"schedule {schedule!r}"
    return float(context.profile.deploys_per_month), "one per deploy"


def _cron_field_count(text: str, low: int, high: int) -> int:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            start_text, end_text = part.split("-", 1)
            start, end = int(start_text), int(end_text)
        else:
            start = int(part)
            end = start if step == 1 else high
        values.update(range(start, end + 1, step))
    return len(values)


def cron_runs_per_month(schedule: str) -> float:
    """Runs a month of a five-field cron schedule, over 730/24 days (weekday sets in sevenths)."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"schedule {schedule!r} is not a five-field cron expression")
    minute, hour, day, month, weekday = fields
    per_day = _cron_field_count(minute, 0, 59) * _cron_field_count(hour, 0, 23)
    if day != "*":
        days = _cron_field_count(day, 1, 31) * DAYS_PER_MONTH / 30.4375
    elif weekday != "*":
        days = DAYS_PER_MONTH * _cron_field_count(weekday.replace("7", "0"), 0, 6) / 7
    else:
        days = DAYS_PER_MONTH
    months = 1.0 if month == "*" else _cron_field_count(month, 1, 12) / 12
    return per_day * days * months


# --- Cloud SQL ----------------------------------------------------------------------------

CUSTOM_TIER = re.compile(r"^db-custom-(\d+)-(\d+)$")


def sql_instance(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    inputs = resource.get("inputs", {})
    settings = inputs.get("settings") or {}
    tier = settings.get("tier", "")
    edition = settings.get("edition") or "ENTERPRISE"
    regional = settings.get("availabilityType") == "REGIONAL"
    items: list[LineItem] = []
    match = CUSTOM_TIER.match(tier)
    prefix = "sql.enterprise" if edition == "ENTERPRISE" else "sql.enterpriseplus"
    ha = ".ha" if regional and edition == "ENTERPRISE" else ""
    label = "HA (primary and standby)" if regional else "zonal"
    if match:
        vcpus, memory_gb = int(match.group(1)), int(match.group(2)) / 1024
        items += [
            _item(
                resource,
                component,
                context,
                f"{tier} {edition} {label}: {vcpus} vCPU",
                vcpus * HOURS_PER_MONTH,
                f"{prefix}{ha}.vcpu",
                fixed=True,
            ),
            _item(
                resource,
                component,
                context,
                f"{tier} {edition} {label}: {memory_gb:g} GB memory",
                memory_gb * HOURS_PER_MONTH,
                f"{prefix}{ha}.memory",
                fixed=True,
            ),
        ]
    else:
        context.notes.append(
            f"{resource['name']}: tier {tier!r} is not db-custom-N-M; its vCPU and memory are left out"
        )
    disk = float(settings.get("diskSize") or 10)
    if (settings.get("diskType") or "PD_SSD") == "PD_SSD":
        items.append(
            _item(
                resource,
                component,
                context,
                f"{disk:g} GB SSD storage ({label})",
                disk,
                "sql.storage.ssd.ha" if regional else "sql.storage.ssd",
                fixed=True,
            )
        )
    else:
        context.notes.append(f"{resource['name']}: HDD storage has no price row; left out")
    backups = settings.get("backupConfiguration") or {}
    if backups.get("enabled"):
        retained = int((backups.get("backupRetentionSettings") or {}).get("retainedBackups") or 7)
        backup_gb = disk * (1 + (retained - 1) * context.profile.backup_change_ratio)
        items.append(
            _item(
                resource,
                component,
                context,
                f"backups: {retained} retained, ~{backup_gb:g} GB",
                backup_gb,
                "sql.backup",
                fixed=False,
            )
        )
    return items


# --- Memorystore for Redis ----------------------------------------------------------------


def redis_band(size_gb: float) -> str:
    for limit, band in REDIS_BANDS:
        if size_gb <= limit:
            return band
    return "m5"


def redis_instance(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    inputs = resource.get("inputs", {})
    size = float(inputs.get("memorySizeGb") or 1)
    tier = "standard" if inputs.get("tier") == "STANDARD_HA" else "basic"
    band = redis_band(size)
    items = [
        _item(
            resource,
            component,
            context,
            f"{tier} tier, {size:g} GB ({band.upper()})",
            size * HOURS_PER_MONTH,
            f"redis.{tier}.{band}",
            fixed=True,
        ),
    ]
    replicas = int(inputs.get("replicaCount") or 0) if inputs.get("readReplicasMode") == "READ_REPLICAS_ENABLED" else 0
    if replicas > 1:
        items.append(
            _item(
                resource,
                component,
                context,
                f"{replicas - 1} read replicas beyond the first",
                (replicas - 1) * size * HOURS_PER_MONTH,
                "redis.read_replica",
                fixed=True,
            )
        )
    return items


# --- Networking ---------------------------------------------------------------------------


def nat(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    return [
        _item(resource, component, context, "gateway hours", HOURS_PER_MONTH, "nat.gateway", fixed=True),
        _item(
            resource,
            component,
            context,
            "data processed",
            context.profile.nat_gib_per_month,
            "nat.data_processed",
            fixed=False,
        ),
    ]


def forwarding_rule(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    inputs = resource.get("inputs", {})
    items = [
        _item(
            resource,
            component,
            context,
            "rule hours",
            HOURS_PER_MONTH,
            "lb.forwarding_rule",
            fixed=True,
            region="global",
        )
    ]
    if "443" in str(inputs.get("portRange", "")):
        profile = context.profile
        # Google prices data processing per GiB, in the region that processes it: the stack's region.
        gib = profile.requests_per_month * (profile.request_kb + profile.response_kb) * 1000 / 2**30
        items.append(
            _item(
                resource,
                component,
                context,
                "data processed (requests and responses)",
                gib,
                "lb.data_processed",
                fixed=False,
                region=context.region,
            )
        )
    return items


def security_policy(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    rules = resource.get("inputs", {}).get("rules") or []
    items = [_item(resource, component, context, "policy", 1, "armor.policy", fixed=True, region="global")]
    if rules:
        items.append(
            _item(
                resource,
                component,
                context,
                f"{len(rules)} rules",
                len(rules),
                "armor.rule",
                fixed=True,
                region="global",
            )
        )
    if resource.get("inputs", {}).get("type") == "CLOUD_ARMOR_EDGE":
        return items  # an edge policy sees cached (bucket) traffic, which the profile does not hold
    items.append(
        _item(
            resource,
            component,
            context,
            "requests evaluated",
            context.profile.requests_per_month,
            "armor.requests",
            fixed=False,
            region="global",
        )
    )
    return items


def security_policy_rule(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    return [_item(resource, component, context, "rule", 1, "armor.rule", fixed=True, region="global")]


# --- Observability ------------------------------------------------------------------------


def log_bucket(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    days = int(resource.get("inputs", {}).get("retentionDays") or 30)
    if days <= 30:
        return []
    # Steady state: each month's logs stay (days - 30) / 30 months past the free 30 days.
    stored = context.profile.log_gib_per_month_per_bucket * (days - 30) / 30
    return [
        _item(
            resource,
            component,
            context,
            f"{stored:g} GiB retained beyond 30 days ({days} days)",
            stored,
            "logging.retention",
            fixed=False,
        )
    ]


def uptime_check(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    inputs = resource.get("inputs", {})
    period = _seconds(inputs.get("period") or "60s")
    regions = len(inputs.get("selectedRegions") or []) or context.profile.uptime_checker_regions
    executions = SECONDS_PER_MONTH / period * regions
    return [
        _item(
            resource,
            component,
            context,
            f"every {period:g} s from {regions} regions",
            executions,
            "monitoring.uptime_executions",
            fixed=True,
            region="global",
        )
    ]


def alert_policy(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    conditions = len(resource.get("inputs", {}).get("conditions") or []) or 1
    return [
        _item(
            resource,
            component,
            context,
            f"{conditions} conditions",
            conditions,
            "monitoring.alert_condition",
            fixed=True,
            region="global",
        )
    ]


def _seconds(text: str) -> float:
    return float(str(text).rstrip("s"))


# --- Storage, registry, secrets, keys, scheduler ------------------------------------------


def bucket(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    location = str(resource.get("inputs", {}).get("location") or context.region).lower()
    return [
        _item(
            resource,
            component,
            context,
            "stored data",
            context.profile.bucket_gib_per_bucket,
            "storage.standard",
            fixed=False,
            region=location,
        )
    ]


def registry(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    return [
        _item(
            resource,
            component,
            context,
            "stored images",
            context.profile.registry_gb_per_repository,
            "registry.storage",
            fixed=False,
        )
    ]


def secret(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    replication = resource.get("inputs", {}).get("replication") or {}
    replicas = len(((replication.get("userManaged") or {}).get("replicas")) or []) or 1
    return [
        _item(
            resource,
            component,
            context,
            f"1 active version x {replicas} locations",
            replicas,
            "secrets.active_version",
            fixed=True,
            region="global",
        ),
        _item(
            resource,
            component,
            context,
            "access operations",
            context.profile.secret_accesses_per_month_per_secret,
            "secrets.access",
            fixed=False,
            region="global",
        ),
    ]


def crypto_key(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    # The primary version; each rotation adds one, billed until someone destroys the old ones.
    template = (resource.get("inputs") or {}).get("versionTemplate") or {}
    row = "kms.key_version.hsm" if template.get("protectionLevel") == "HSM" else "kms.key_version"
    return [_item(resource, component, context, "1 active key version", 1, row, fixed=True, region="global")]


def scheduler_job(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    return [_item(resource, component, context, "job", 1, "scheduler.job", fixed=True)]


# --- Pub/Sub and BigQuery -----------------------------------------------------------------


def topic(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    tib = context.profile.pubsub_gib_per_month_per_topic / 1024
    return [
        _item(
            resource, component, context, "publish throughput", tib, "pubsub.throughput", fixed=False, region="global"
        )
    ]


def subscription(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    tib = context.profile.pubsub_gib_per_month_per_topic / 1024
    if resource.get("inputs", {}).get("bigqueryConfig"):
        return [
            _item(
                resource,
                component,
                context,
                "BigQuery subscription throughput",
                tib,
                "pubsub.bigquery_subscription",
                fixed=False,
                region="global",
            )
        ]
    return [
        _item(
            resource, component, context, "delivery throughput", tib, "pubsub.throughput", fixed=False, region="global"
        )
    ]


def bigquery_table(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    profile = context.profile
    if resource.get("inputs", {}).get("view"):
        return []  # a logical view stores nothing; its queries scan (and bill) the tables it reads
    return [
        _item(
            resource,
            component,
            context,
            "active storage",
            profile.bigquery_gib_per_table,
            "bigquery.storage.active",
            fixed=False,
        ),
        _item(
            resource,
            component,
            context,
            "data scanned by queries",
            profile.bigquery_scanned_tib_per_month_per_table,
            "bigquery.analysis",
            fixed=False,
        ),
    ]


ESTIMATORS: dict[str, Estimator] = {
    "gcp:cloudrunv2/service:Service": run_service,
    "gcp:cloudrunv2/workerPool:WorkerPool": run_worker_pool,
    "gcp:cloudrunv2/job:Job": run_job,
    "gcp:sql/databaseInstance:DatabaseInstance": sql_instance,
    "gcp:redis/instance:Instance": redis_instance,
    "gcp:compute/routerNat:RouterNat": nat,
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": forwarding_rule,
    "gcp:compute/securityPolicy:SecurityPolicy": security_policy,
    "gcp:compute/securityPolicyRule:SecurityPolicyRule": security_policy_rule,
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": log_bucket,
    "gcp:artifactregistry/repository:Repository": registry,
    "gcp:secretmanager/secret:Secret": secret,
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": uptime_check,
    "gcp:monitoring/alertPolicy:AlertPolicy": alert_policy,
    "gcp:cloudscheduler/job:Job": scheduler_job,
    "gcp:storage/bucket:Bucket": bucket,
    "gcp:pubsub/topic:Topic": topic,
    "gcp:pubsub/subscription:Subscription": subscription,
    "gcp:bigquery/table:Table": bigquery_table,
    "gcp:kms/cryptoKey:CryptoKey": crypto_key,
}


def estimate_resource(resource: dict[str, Any], component: str, context: Context) -> list[LineItem]:
    estimator = ESTIMATORS.get(resource["type"])
    if estimator is None:
        raise KeyError(f"{resource['type']} is marked priced in cost/coverage.py but has no estimator")
    return estimator(resource, component, context)
