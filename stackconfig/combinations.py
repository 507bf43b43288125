"""Checks across sections of the config: what the components, Google or prod's floor would refuse
once several settings meet. Each refusal names every key involved, so that the loader can print
the command that changes each one; all of them are reported together."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import gcp_rules
from .cloud_run_sizing import check_cpu_memory, memory_mib
from .errors import ConfigConflict
from .sidecars import BEAT_CPU, BEAT_MEMORY, METRICS_WORKLOADS, TRACED_WORKLOADS, sidecar_shares

if TYPE_CHECKING:
    from .model import StackConfig

# Prod's floor: what prod never runs below, whatever its stack file says.
PROD_MIN_AUDIT_RETENTION_DAYS = 365
PROD_MIN_LOG_RETENTION_DAYS = 7
PROD_MIN_RETAINED_BACKUPS = 7
# The buckets the components name after the project (components/grafana.py, status_page.py).
GRAFANA_BUCKET_SUFFIX = "-grafana"
STATUS_BUCKET_SUFFIX = "-status"


class ConfigConflicts(ValueError):
    """Several `ConfigConflict`s found by one validator, reported as one problem each."""

    def __init__(self, conflicts: list[ConfigConflict]):
        super().__init__("; ".join(str(conflict) for conflict in conflicts))
        self.conflicts = conflicts


def check_combinations(config: StackConfig) -> None:
    conflicts = [*instance_conflicts(config), *prod_floor_conflicts(config), *derived_name_conflicts(config)]
    if conflicts:
        raise ConfigConflicts(conflicts)


def instance_conflicts(config: StackConfig) -> list[ConfigConflict]:
    """Each Cloud Run instance with the sidecars this stack runs beside the app, as the
    components size it (components/cloud_run.py `instance_limits`)."""
    metrics, tracing = config.metrics.collector, config.tracing.enabled
    tracing_mib = memory_mib(config.tracing.collector_memory)
    workloads = [
        ("api", "api", config.api.cpu, config.api.memory),
        ("worker", "workers", config.workers.cpu, config.workers.memory),
    ]
    if config.workers.beat:
        workloads.append(("beat", "beat", BEAT_CPU, BEAT_MEMORY))
    conflicts = []
    for workload, section, cpu, memory in workloads:
        shares = sidecar_shares(workload, metrics=metrics, tracing=tracing, tracing_memory_mib=tracing_mib)
        try:
            check_cpu_memory(section, cpu, memory, shares)
        except ConfigConflict as conflict:
            # Beat's size is fixed in code: only the sidecars' keys (or turning beat off) change it.
            own_keys = list(conflict.keys) if section != "beat" else ["workers.beat"]
            sidecar_keys, names = [], []
            if metrics and workload in METRICS_WORKLOADS:
                sidecar_keys.append("metrics.collector")
                names.append("the metrics collector")
            if tracing and workload in TRACED_WORKLOADS:
                sidecar_keys += ["tracing.enabled", "tracing.collectorMemory"]
                names.append("the tracing collector")
            beside = f"; beside the app run {' and '.join(names)}" if names else ""
            conflicts.append(ConfigConflict(f"{conflict}{beside}", *own_keys, *sidecar_keys))
    return conflicts


def prod_floor_conflicts(config: StackConfig) -> list[ConfigConflict]:
    """Prod survives a zone's loss and keeps what an incident review or a restore needs."""
    if config.environment != "prod":
        return []
    conflicts = []
    if config.database.availability != "REGIONAL":
        conflicts.append(
            ConfigConflict(
                "prod runs a REGIONAL database: a ZONAL instance has no standby, so a zone outage or maintenance "
                "takes the API down; remove database.availability",
                "database.availability",
            )
        )
    for role in ("cache", "broker"):
        if getattr(config.redis, role).tier != "STANDARD_HA":
            loss = "every cached entry at once" if role == "cache" else "the queued tasks"
            conflicts.append(
                ConfigConflict(
                    f"prod runs redis.{role} as STANDARD_HA: a BASIC instance has no replica, so a zone outage or "
                    f"maintenance loses {loss}; remove redis.{role}.tier",
                    f"redis.{role}.tier",
                )
            )
    if not config.encryption.enabled:
        conflicts.append(
            ConfigConflict(
                "prod encrypts its data with its own Cloud KMS keys: without them no one can cut a data store off "
                "from its data, and the policy pack refuses every prod data store (docs/encryption.md); "
                "remove encryption.enabled",
                "encryption.enabled",
            )
        )
    if config.database.log_retention_days < PROD_MIN_LOG_RETENTION_DAYS:
        conflicts.append(
            ConfigConflict(
                f"prod keeps at least {PROD_MIN_LOG_RETENTION_DAYS} days of point-in-time recovery, not "
                f"{config.database.log_retention_days}: a bad migration found after a weekend must still be undoable",
                "database.logRetentionDays",
            )
        )
    if config.database.retained_backups < PROD_MIN_RETAINED_BACKUPS:
        conflicts.append(
            ConfigConflict(
                f"prod keeps at least {PROD_MIN_RETAINED_BACKUPS} daily backups, "
                f"not {config.database.retained_backups}",
                "database.retainedBackups",
            )
        )
    if config.audit.retention_days < PROD_MIN_AUDIT_RETENTION_DAYS:
        conflicts.append(
            ConfigConflict(
                f"prod keeps its audit logs at least {PROD_MIN_AUDIT_RETENTION_DAYS} days, "
                f"not {config.audit.retention_days}: "
                "a change is often questioned months later, and audits ask for a year",
                "audit.retentionDays",
            )
        )
    return conflicts


def derived_name_conflicts(config: StackConfig) -> list[ConfigConflict]:
    """Names the components build from the config, checked as Google would check them."""
    conflicts = []
    buckets = []
    if config.grafana.enabled:
        buckets.append((f"{config.project}{GRAFANA_BUCKET_SUFFIX}", ("project", "grafana.enabled")))
    if config.status_page.enabled and config.status_page.bucket is None:
        buckets.append((f"{config.project}{STATUS_BUCKET_SUFFIX}", ("project", "statusPage.bucket")))
    if config.portal.enabled and config.portal.reference_bucket is None:
        buckets.append((config.portal.bucket_name(config.project), ("project", "portal.referenceBucket")))
    for bucket, keys in buckets:
        if problem := gcp_rules.bucket_name(bucket):
            conflicts.append(ConfigConflict(f"the bucket name {bucket!r} built from the project id: {problem}", *keys))
    if problem := gcp_rules.labels(config.common_labels):
        conflicts.append(
            ConfigConflict(f"the labels every resource gets (yours and the 5 built-in ones): {problem}", "labels")
        )
    return conflicts
