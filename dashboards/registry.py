"""Every dashboard, in the order `omni dashboards list` shows them. A uid never changes: links,
bookmarks and Grafana's provisioning key on it."""

from __future__ import annotations

from .board import DashboardSpec
from .boards import (
    api,
    celery,
    cloud_run,
    cloud_sql,
    cost,
    edge,
    load_test,
    redis,
    security,
    slo,
    tracing,
    usage,
    usage_pipeline,
)

DASHBOARDS: tuple[DashboardSpec, ...] = (
    DashboardSpec(
        "omni-api-overview",
        "API overview",
        "Is the API healthy right now? Rate, errors and duration (RED) with saturation.",
        api.overview,
        ("api",),
    ),
    DashboardSpec(
        "omni-api-latency",
        "API latency",
        "Is the API fast enough? p50/p95/p99 against the 500 ms p95 target, per route.",
        api.latency,
        ("api",),
    ),
    DashboardSpec(
        "omni-api-errors",
        "API errors",
        "What fails, where and how? Errors by route and status code.",
        api.errors,
        ("api",),
    ),
    DashboardSpec(
        "omni-slo",
        "SLOs and error budgets",
        "Are we meeting our SLOs, and how fast is each error budget burning?",
        slo.build,
        ("slo",),
    ),
    DashboardSpec(
        "omni-cloud-run",
        "Cloud Run",
        "Is Cloud Run keeping up? Instances against the ceiling, concurrency, cold starts, CPU, memory.",
        cloud_run.build,
        ("gcp",),
    ),
    DashboardSpec(
        "omni-cloud-sql",
        "Cloud SQL",
        "Is the database healthy? Connections against the budget, CPU, memory, disk, replication lag.",
        cloud_sql.build,
        ("gcp",),
    ),
    DashboardSpec(
        "omni-redis",
        "Redis",
        "Is the cache worth it? Hit rate against the 50% target, memory, evictions, clients.",
        redis.build,
        ("gcp",),
    ),
    DashboardSpec(
        "omni-celery",
        "Celery",
        "Is background work keeping up? Queue depth, task latency, failures, workers.",
        celery.build,
        ("workers",),
    ),
    DashboardSpec(
        "omni-usage",
        "Usage and quota",
        "Who uses the API and how much of their quota? Requests and billable units per tenant "
        "(API key owner), quota use at the current rate, refusals, top endpoints.",
        usage.build,
        ("api",),
    ),
    DashboardSpec(
        "omni-usage-pipeline",
        "Usage pipeline",
        "Does every usage event reach BigQuery once, and do invoices agree with it? Publishing, backlog, "
        "BigQuery writes, dead letters, invoicing runs, reconciliation.",
        usage_pipeline.build,
        ("usage",),
        deployed_in=lambda facts: facts.usage is not None,
    ),
    DashboardSpec(
        "omni-cost",
        "Cost per request",
        "What does a request cost? Billable instance time at list prices over requests.",
        cost.build,
        ("gcp",),
    ),
    DashboardSpec(
        "omni-tracing",
        "Tracing",
        "Which requests are slow, and where do I see their traces? Latency linked to Cloud Trace.",
        tracing.build,
        ("api",),
    ),
    DashboardSpec(
        "omni-edge",
        "Edge",
        "Is the front door healthy? Requests, latency, 4xx/5xx, Cloud Armor's refusals by rule, CDN hits.",
        edge.build,
        ("gcp", "edge"),
        deployed_in=lambda facts: facts.edge,
    ),
    DashboardSpec(
        "omni-security",
        "Security",
        "Are the controls that guard users and data holding? End users' sign-ins and their failures, MFA "
        "enrolments, Cloud KMS key versions disabled or destroyed; each control's signals in its own section.",
        security.build,
        ("security",),
        deployed_in=security.deployed,
    ),
    DashboardSpec(
        "omni-load-test",
        "Load test",
        "How did the platform cope with the load test? The server's side: load, errors, latency, "
        "instances, connections.",
        load_test.build,
        ("load-test",),
    ),
)
