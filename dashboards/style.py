"""The house style every dashboard shares: the datasource and template variables, units,
colours, thresholds, the targets panels are drawn against, prices, and the links to
runbooks and traces. A preference changes here once, never in a dashboard.
"""

from __future__ import annotations

from typing import Any

from grafanalib import core
from grafanalib.core import REFRESH_ON_DASHBOARD_LOAD, REFRESH_ON_TIME_RANGE_CHANGE

from alerts.model import RUNBOOK_BASE_URL
from observability import catalogue as m

from .builders import Template

# The uid Grafana's Prometheus datasource (Managed Prometheus, through the GMP frontend) is
# provisioned with; the `datasource` variable defaults to it.
DATASOURCE_UID = "managed-prometheus"
# What every panel and target points at: the variable, never a fixed datasource.
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TAG = "omni"

# --- template variables -------------------------------------------------------------------------
DATASOURCE_VARIABLE = "datasource"
ENVIRONMENT_VARIABLE = "environment"  # the GCP project: every series carries `project_id`
# The workload (`api`, `worker`): app metrics carry it as `service` (the collector sets it, so rules
# and dashboards read the same value in every stack); Cloud Run's own metrics carry the service's
# full name, `<prefix>-<environment>-<workload>`, as `service_name`.
SERVICE_VARIABLE = "service"
ENVIRONMENT_LABEL = "project_id"
SERVICE_LABELS = ("service", "service_name")
SERVICE_NAME_MATCH = f".+-${SERVICE_VARIABLE}"  # `service_name` of the chosen workload
SERVICE_NAME_WORKLOAD = "/^.+-([a-z]+)$/"  # the workload at the end of a Cloud Run service name
RATE_INTERVAL = "$__rate_interval"


def datasource_variable() -> core.Template:
    return Template(
        name=DATASOURCE_VARIABLE,
        label="Data source",
        query="prometheus",
        type="datasource",
        default=DATASOURCE_UID,
        refresh=REFRESH_ON_DASHBOARD_LOAD,
    )


def label_variable(
    name: str, label: str, query: str, default: str, *, include_all: bool = False, regex: str | None = None
) -> core.Template:
    """A query variable over label values, refreshed when the time range changes (a service
    that appeared an hour ago is offered)."""
    return Template(
        regex=regex,
        name=name,
        label=label,
        query=query,
        dataSource=DATASOURCE,
        default=default,
        includeAll=include_all,
        allValue=".*" if include_all else None,
        refresh=REFRESH_ON_TIME_RANGE_CHANGE,
    )


def environment_variable(project: str) -> core.Template:
    return label_variable(
        ENVIRONMENT_VARIABLE, "Environment (GCP project)", f"label_values({ENVIRONMENT_LABEL})", project
    )


def service_variable(anchor: str, label: str, default: str) -> core.Template:
    """The workloads that report `anchor` in the chosen environment (from a Cloud Run service
    name, its last part)."""
    query = f'label_values({anchor}{{{ENVIRONMENT_LABEL}=~"${ENVIRONMENT_VARIABLE}"}}, {label})'
    regex = SERVICE_NAME_WORKLOAD if label == "service_name" else None
    return label_variable(SERVICE_VARIABLE, "Service", query, default, include_all=True, regex=regex)


# --- units (Grafana unit ids) --------------------------------------------------------------------
SECONDS = "s"
MILLISECONDS = "ms"
RATIO = "percentunit"  # 0..1 shown as a percentage
REQUESTS_PER_SECOND = "reqps"
OPS_PER_SECOND = "ops"
COUNT = "short"
USD = "currencyUSD"
BURN_RATE = "none"  # a pure factor: 1 spends the budget exactly over the SLO period

# --- colours and thresholds ---------------------------------------------------------------------
GOOD = "green"
WARNING = "orange"
BAD = "red"
NEUTRAL = "blue"


def thresholds(base: str, *steps: tuple[float, str]) -> list[dict[str, Any]]:
    """Grafana threshold steps: `base` below the first value, then each colour from its value up."""
    values = [value for value, _ in steps]
    if values != sorted(values):
        raise ValueError(f"threshold values must increase: {values}")
    return [{"color": base, "value": None}, *({"color": colour, "value": value} for value, colour in steps)]


# Targets panels are drawn against (issue 4): the latency objective and the cache's hit rate.
LATENCY_TARGET_SECONDS = float(m.LATENCY_SLO_BUCKET)  # p95 under 500 ms
CACHE_HIT_RATIO_TARGET = 0.5
ERROR_RATIO_WARNING = 0.001  # the availability SLO's budget: 0.1% of requests may fail
ERROR_RATIO_CRITICAL = 0.01
UTILISATION_WARNING = 0.7
UTILISATION_CRITICAL = 0.9
REPLICA_LAG_WARNING_SECONDS = 10.0
REPLICA_LAG_CRITICAL_SECONDS = 60.0


def latency_thresholds(scale: float = 1.0) -> list[dict[str, Any]]:
    """Green under the 500 ms target, red above; `scale` 1000 for metrics in milliseconds."""
    return thresholds(GOOD, (LATENCY_TARGET_SECONDS * scale, BAD))


def utilisation_thresholds() -> list[dict[str, Any]]:
    return thresholds(GOOD, (UTILISATION_WARNING, WARNING), (UTILISATION_CRITICAL, BAD))


def error_ratio_thresholds() -> list[dict[str, Any]]:
    return thresholds(GOOD, (ERROR_RATIO_WARNING, WARNING), (ERROR_RATIO_CRITICAL, BAD))


# --- prices -------------------------------------------------------------------------------------
# Cloud Run, Tier 1 regions (europe-west1), CPU allocated only while serving requests (the API
# runs with `cpu_idle`), list prices in USD before the free tier and discounts. Source:
# https://cloud.google.com/run/pricing, read 2026-11-25. Check again when the region or the
# billing mode changes.
CLOUD_RUN_PRICES_SOURCE = "https://cloud.google.com/run/pricing (Tier 1, request-based billing), read 2026-11-25"
CLOUD_RUN_USD_PER_VCPU_SECOND = 0.000024
CLOUD_RUN_USD_PER_GIB_SECOND = 0.0000025
CLOUD_RUN_USD_PER_REQUEST = 0.40 / 1_000_000


def instance_second_price(vcpus: float, memory_gib: float) -> float:
    """USD for one second of one billable instance of this size."""
    return vcpus * CLOUD_RUN_USD_PER_VCPU_SECOND + memory_gib * CLOUD_RUN_USD_PER_GIB_SECOND


# --- links --------------------------------------------------------------------------------------
# Cloud Trace's list of the chosen environment's traces; Grafana fills in the variable.
TRACE_LIST_URL = "https://console.cloud.google.com/traces/list?project=${environment}"


def runbook_link(alert_name: str) -> dict[str, Any]:
    return {"title": f"Runbook: {alert_name}", "url": f"{RUNBOOK_BASE_URL}/{alert_name}.md", "targetBlank": True}


def trace_link(title: str = "Open Cloud Trace for this environment") -> dict[str, Any]:
    return {"title": title, "url": TRACE_LIST_URL, "targetBlank": True}
