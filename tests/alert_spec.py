"""The alerts as specified: every alert's severity, `for`, threshold, traffic guard and window
pairs, written out by hand and reviewed, never computed from the objects that produce the rules.

Where a value follows the stack, it is given per stack with where it comes from. Sources:
- SLO burn rates: Google SRE workbook, "Alerting on SLOs", table 5-8 (page at 14.4x over 1h/5m
  and 6x over 6h/30m, ticket at 3x over 1d/2h and 1x over 3d/6h), times each SLO's error budget
  (availability 99.9% -> 0.1%, latency 95% -> 5%, Celery task success 99% -> 1%).
- Symptom pages (docs/alerting.md): 5xx above 5% (50x the availability budget) and more than a
  quarter of requests slower than 500 ms (5x the latency budget), each above 1 request a second.
- Connection limits: Cloud SQL's default max_connections by memory (dev db-custom-1-3840, 3.75 GB:
  100; staging db-custom-2-8192, 8 GB: 400; prod db-custom-4-16384, 16 GB: 500), minus the 10
  reserved; ticket at 80% of the rest, page at 95% (rounded down).
- Instance ceilings: api.maxInstances (dev 2, staging 4, prod 10). Concurrency: 80% of
  api.concurrency 80 = 64 in every stack.
- Usage pipeline (docs/usage.md, the runbooks; usage.enabled in every stack): a ticket when more
  than 1% of the events the app tried to publish fail for 10 minutes, or Pub/Sub refuses any; the
  oldest unwritten event older than 30 minutes is a ticket, older than 3 days (259200 s) a page,
  before Pub/Sub drops it at 7 days; BigQuery writes failing while that backlog is older than 5
  minutes; any dead letter in 15 minutes, any disagreeing invoice line, any failed invoicing run
  in the last hour: tickets after a minute.
- Security findings (docs/compliance.md, the runbook; compliance.findings.enabled in every stack):
  any finding published to the findings topic in the last 30 minutes is a ticket after a minute.
- The edge (docs/edge.md, the runbooks; edge.enabled: staging and prod, dev has no load balancer):
  5xx at the load balancer above 5% over 5 minutes, at one request a second or more, pages after
  2 minutes; Cloud Armor throttling above 10% or WAF blocks above 2% of the API's requests over 10
  minutes are tickets after 10; a certificate with fewer than 21 days left (managed renewal starts
  at 30) or none served to an uptime check, for an hour, are tickets.
- Identity Platform (docs/identity.md, the runbook; identityPlatform.enabled with activity logging
  in every stack): more than 30% of end users' sign-in attempts failing over 15 minutes, at 3
  attempts a minute (0.05 a second) or more, is a ticket after 15 minutes.
- Encryption (docs/encryption.md, the runbook; encryption.enabled: staging and prod): any Cloud KMS
  key version disabled or scheduled for destruction in the last hour pages after a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STACKS = ("dev", "staging", "prod")
EDGE_STACKS = ("staging", "prod")  # edge.enabled
ENCRYPTION_STACKS = ("staging", "prod")  # encryption.enabled


@dataclass(frozen=True)
class AlertSpec:
    for_: str
    # The main threshold: (operator, value), or per stack {stack: (operator, value)}; None for
    # alerts that compare nothing (absent(), the Watchdog) or whose thresholds are window pairs.
    threshold: tuple[str, float] | dict[str, tuple[str, float]] | None = None
    guard: float | None = None  # minimum events per second (`> guard`), or the condition's second bound
    windows: dict[tuple[str, str], float] = field(default_factory=dict)  # (long, short) -> error ratio
    stacks: tuple[str, ...] = STACKS  # where the alert exists

    def threshold_in(self, stack: str) -> tuple[str, float] | None:
        if isinstance(self.threshold, dict):
            return self.threshold[stack]
        return self.threshold


SPEC: dict[tuple[str, str], AlertSpec] = {
    # --- SLO burn rates: 14.4x/6x pages, 3x/1x tickets, times the budget ------------------------
    ("ApiAvailabilityErrorBudgetBurn", "critical"): AlertSpec(
        "30s", windows={("1h", "5m"): 0.0144, ("6h", "30m"): 0.006}
    ),
    ("ApiAvailabilityErrorBudgetBurn", "warning"): AlertSpec("15m", windows={("1d", "2h"): 0.003, ("3d", "6h"): 0.001}),
    ("ApiLatencyErrorBudgetBurn", "critical"): AlertSpec("30s", windows={("1h", "5m"): 0.72, ("6h", "30m"): 0.3}),
    ("ApiLatencyErrorBudgetBurn", "warning"): AlertSpec("15m", windows={("1d", "2h"): 0.15, ("3d", "6h"): 0.05}),
    ("CeleryTaskSuccessErrorBudgetBurn", "critical"): AlertSpec(
        "30s", windows={("1h", "5m"): 0.144, ("6h", "30m"): 0.06}
    ),
    ("CeleryTaskSuccessErrorBudgetBurn", "warning"): AlertSpec("15m", windows={("1d", "2h"): 0.03, ("3d", "6h"): 0.01}),
    # --- symptom pages --------------------------------------------------------------------------
    ("ApiHighErrorRate", "critical"): AlertSpec("30s", (">", 0.05), guard=1),
    ("ApiLatencyHigh", "critical"): AlertSpec("30s", (">", 0.25), guard=1),
    # --- Cloud Run ------------------------------------------------------------------------------
    ("CloudRunHigh5xxRate", "warning"): AlertSpec("5m", (">", 0.05)),
    ("CloudRunCpuSaturated", "warning"): AlertSpec("15m", (">", 0.9)),
    ("CloudRunConcurrencySaturated", "warning"): AlertSpec("15m", (">", 64)),
    ("CloudRunInstancesAtCeiling", "warning"): AlertSpec(
        "15m", {"dev": (">=", 2), "staging": (">=", 4), "prod": (">=", 10)}
    ),
    # --- Cloud SQL ------------------------------------------------------------------------------
    ("CloudSqlConnectionsNearLimit", "warning"): AlertSpec(
        "10m", {"dev": (">", 72), "staging": (">", 312), "prod": (">", 392)}
    ),
    ("CloudSqlConnectionsNearLimit", "critical"): AlertSpec(
        "5m", {"dev": (">", 85), "staging": (">", 370), "prod": (">", 465)}
    ),
    ("CloudSqlHighCpu", "warning"): AlertSpec("15m", (">", 0.9)),
    ("CloudSqlDiskNearlyFull", "warning"): AlertSpec("30m", (">", 0.85)),
    ("CloudSqlDiskNearlyFull", "critical"): AlertSpec("5m", (">", 0.95)),
    # Only where a read replica exists (database.readReplica: staging and prod).
    ("CloudSqlReplicationLagHigh", "warning"): AlertSpec("10m", (">", 30), stacks=("staging", "prod")),
    # --- Memorystore and the cache --------------------------------------------------------------
    ("RedisMemoryHigh", "warning"): AlertSpec("15m", (">", 0.9)),
    ("RedisEvictingKeys", "warning"): AlertSpec("15m", (">", 0)),
    ("CacheHitRateLow", "warning"): AlertSpec("1m", ("<", 0.5), guard=1),
    # --- Celery ---------------------------------------------------------------------------------
    ("CeleryQueueBacklog", "warning"): AlertSpec("15m", (">", 100)),
    ("CeleryTaskFailures", "warning"): AlertSpec("10m", (">", 0.1)),
    ("CeleryNoLiveWorkers", "critical"): AlertSpec("1m", ("<", 1)),
    # --- the API's pools, reachability, the pipeline --------------------------------------------
    ("ApiDbPoolWaitHigh", "info"): AlertSpec("10m", (">", 0.1)),
    ("UptimeCheckFailing", "critical"): AlertSpec("2m", (">=", 2)),
    ("ScrapeTargetsDown", "warning"): AlertSpec("10m", (">", 0.1)),
    ("ApiMetricsAbsent", "warning"): AlertSpec("10m"),
    ("WorkerMetricsAbsent", "warning"): AlertSpec("10m"),
    ("Watchdog", "info"): AlertSpec("1m"),
    # --- usage metering and invoicing ------------------------------------------------------------
    ("UsagePublishFailing", "warning"): AlertSpec("10m", (">", 0.01)),
    ("UsagePublishRefused", "warning"): AlertSpec("10m", (">", 0)),
    ("UsageBacklogOld", "warning"): AlertSpec("10m", (">", 1800)),
    ("UsageBacklogOld", "critical"): AlertSpec("10m", (">", 259200)),
    # The guard here is the backlog's age in seconds, not traffic: failing writes alone are retried.
    ("UsageBigQueryWritesFailing", "warning"): AlertSpec("10m", (">", 0), guard=300),
    ("UsageDeadLetters", "warning"): AlertSpec("1m", (">", 0)),
    ("InvoiceReconciliationMismatch", "warning"): AlertSpec("1m", (">", 0)),
    ("InvoicingJobFailed", "warning"): AlertSpec("1m", (">", 0)),
    # --- security findings (compliance.findings.enabled in every stack) ----------------------------
    ("SecurityFindingsNew", "warning"): AlertSpec("1m", (">", 0)),
    # --- the edge (staging and prod) --------------------------------------------------------------
    ("EdgeHigh5xxRate", "critical"): AlertSpec("2m", (">", 0.05), guard=1, stacks=EDGE_STACKS),
    ("EdgeThrottledShareHigh", "warning"): AlertSpec("10m", (">", 0.1), stacks=EDGE_STACKS),
    ("EdgeWafBlocksHigh", "warning"): AlertSpec("10m", (">", 0.02), stacks=EDGE_STACKS),
    ("EdgeCertificateExpiringSoon", "warning"): AlertSpec("1h", ("<", 21), stacks=EDGE_STACKS),
    ("EdgeCertificateNotServed", "warning"): AlertSpec("1h", stacks=EDGE_STACKS),
    # --- Identity Platform: sign-ins failing in numbers ------------------------------------------
    ("IdentitySignInFailuresHigh", "warning"): AlertSpec("15m", (">", 0.3), guard=0.05),
    # --- encryption (staging and prod) ----------------------------------------------------------
    ("KeyVersionDisabledOrDestroyed", "critical"): AlertSpec("1m", (">", 0), stacks=ENCRYPTION_STACKS),
}


def spec_in(stack: str) -> dict[tuple[str, str], AlertSpec]:
    """The alerts a stack must have."""
    return {key: spec for key, spec in SPEC.items() if stack in spec.stacks}
