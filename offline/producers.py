"""Every series a dashboard panel or an alert reads has a producer in the stack.

A query's series is produced when:
- an application metric: a collector the stack deploys scrapes the workload that exports it
  (the selector's `service="..."`; with no such matcher, any workload with a collector);
- a recording rule (`slo:*`) or `ALERTS`: the stack runs the rule evaluator;
- a Google Cloud system metric: the stack deploys the resource it describes (Cloud Run, Cloud
  SQL, a read replica for the replica lag, Memorystore, uptime checks, Pub/Sub topics, Cloud Run
  jobs for their executions);
- the reconciliation's custom metric: the stack declares the reconcile job that writes it;
- `up`: some collector scrapes.

The producers come from the stack's MonitoringConfig (`omni dashboards render`, which does not
run the program) or from the recorded graph (`omni build`, the tests), which is the truth.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from observability import catalogue as m
from observability.promql import Selector, expand_grafana_variables, selectors
from stackconfig.monitoring import METRICS_WORKLOADS, RECONCILE_JOB_MODE, MonitoringConfig, Producers

WORKER_POOL_TYPE = "gcp:cloudrunv2/workerPool:WorkerPool"
CLOUD_RUN_TYPES = ("gcp:cloudrunv2/service:Service", WORKER_POOL_TYPE)
DATABASE_TYPE = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS_TYPE = "gcp:redis/instance:Instance"
UPTIME_CHECK_TYPE = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig"
PUBSUB_TOPIC_TYPE = "gcp:pubsub/topic:Topic"
URL_MAP_TYPE = "gcp:compute/uRLMap:URLMap"
LOG_METRIC_TYPE = "gcp:logging/metric:Metric"
# The log-based metric of Cloud Armor's enforced decisions (components/edge): `user_<name>` in PromQL.
ARMOR_DECISIONS_METRIC = "edge_armor_decisions"
ARMOR_PREVIEW_METRIC = "edge_armor_preview_decisions"
# The log-based metric of Identity Platform's sign-ins (components/identity_platform.py).
IDENTITY_SIGN_INS_METRIC = m.IDENTITY_SIGN_INS.name.removeprefix(m.LOG_METRIC_PREFIX)
RUN_JOB_TYPE = "gcp:cloudrunv2/job:Job"
# The log-based metric of Cloud KMS key disables and destroys (components/encryption).
KEY_EVENTS_METRIC = "kms_key_version_disabled_or_destroyed"


@dataclass(frozen=True)
class Query:
    reader: str  # who reads it: `dashboard omni-slo, panel "api-availability: error budget left"`, `alert X (critical)`
    expr: str


@dataclass(frozen=True)
class Unproduced:
    reader: str
    series: str
    why: str  # what is missing, and what to do

    def __str__(self) -> str:
        return f"{self.reader} reads {self.series}, which nothing in the stack produces: {self.why}"


class UnproducedSeriesError(ValueError):
    """Readers of series nobody produces; the message names each reader and series."""

    def __init__(self, stack: str, problems: list[Unproduced]):
        lines = "\n".join(f"- {problem}" for problem in problems)
        super().__init__(f"stack {stack}: {len(problems)} queries read series nothing produces:\n{lines}")
        self.problems = problems


def dashboard_queries(rendered: Mapping[str, str]) -> list[Query]:
    """Every panel query of rendered dashboards (`<uid>.json` -> JSON text)."""
    found = []
    for name, text in rendered.items():
        board = json.loads(text)
        for panel in board.get("panels", []):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    reader = f'dashboard {board.get("uid", name)}, panel "{panel.get("title", "")}"'
                    found.append(Query(reader, expand_grafana_variables(target["expr"])))
    return found


def rule_queries(groups: Iterable[Any]) -> list[Query]:
    """Every alert's and recording rule's query (alerts.model RuleGroup objects)."""
    found = []
    for group in groups:
        for rule in group.rules:
            if hasattr(rule, "record"):
                found.append(Query(f"recording rule {rule.record} ({group.name})", rule.expr))
            else:
                found.append(Query(f"alert {rule.name} ({rule.severity.value})", rule.expr))
    return found


def _service(selector: Selector) -> str | None:
    return next((value for label, op, value in selector.matchers if label == "service" and op == "="), None)


def _why_unproduced(selector: Selector, producers: Producers, recorded: frozenset[str]) -> str | None:
    series = selector.series
    if series in recorded or series == m.ALERTS.name:
        return None if producers.rule_evaluator else "no rule evaluator runs in this stack (docs/alerting.md)"
    metric = m.metric_of_series(series)
    if metric is None:
        return "it is neither a catalogued metric nor a recording rule of alerts/"
    if metric.source is m.Source.APP:
        service = _service(selector)
        if service is not None:
            if service in producers.collectors:
                return None
            return (
                f"no collector scrapes the {service!r} workload (metrics.collector, components/managed_prometheus.py)"
            )
        return None if producers.collectors else "no workload runs a metrics collector (metrics.collector)"
    if metric is m.UP:
        return None if producers.collectors else "no collector scrapes anything, so no `up` series"
    if metric is m.SQL_REPLICA_LAG:
        return None if producers.read_replica else "the stack has no read replica (database.readReplica)"
    if metric in (m.ARMOR_DECISIONS, m.ARMOR_PREVIEW_DECISIONS):
        return None if producers.armor_logs else "the stack has no Cloud Armor log metrics (edge.enabled)"
    if metric is m.RUN_JOB_EXECUTIONS:
        return None if producers.run_jobs else "the stack has no Cloud Run job (usage.enabled)"
    if metric is m.RECONCILIATION_MISMATCHES:
        return None if producers.reconciliation else "the stack has no reconcile job to write it (usage.enabled)"
    needed = {
        m.Source.CLOUD_RUN: (True, ""),
        m.Source.CLOUD_SQL: (producers.database, "the stack has no Cloud SQL instance"),
        m.Source.MEMORYSTORE: (producers.redis, "the stack has no Memorystore instance"),
        m.Source.UPTIME: (producers.uptime_checks, "the stack has no uptime checks (statusPage.enabled)"),
        m.Source.EDGE: (producers.load_balancer, "the stack has no HTTPS load balancer (edge.enabled)"),
        m.Source.PUBSUB: (producers.pubsub, "the stack has no Pub/Sub topic (usage.enabled)"),
        m.Source.IDENTITY: (
            producers.identity_logs,
            "the stack has no Identity Platform activity metrics (identityPlatform.enabled, .activityLogging)",
        ),
        m.Source.KMS: (producers.key_events, "the stack has no Cloud KMS key-events metric (encryption.enabled)"),
    }
    present, why = needed.get(metric.source, (False, f"no producer is known for source {metric.source.value}"))
    return None if present else why


def unproduced_series(queries: Iterable[Query], producers: Producers, recorded: Iterable[str]) -> list[Unproduced]:
    """Each (reader, series) whose series nothing produces, in reading order, once."""
    known = frozenset(recorded)
    problems: list[Unproduced] = []
    seen: set[tuple[str, str]] = set()
    for query in queries:
        for selector in selectors(query.expr):
            if not selector.series or (query.reader, selector.series) in seen:
                continue
            why = _why_unproduced(selector, producers, known)
            if why is not None:
                seen.add((query.reader, selector.series))
                problems.append(Unproduced(query.reader, selector.series, why))
    return problems


def _containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return ((resource.get("inputs") or {}).get("template") or {}).get("containers") or []


def producers_in_graph(graph: Mapping[str, Any], monitoring: MonitoringConfig) -> Producers:
    """What the recorded graph (offline.graph JSON) deploys that produces series."""
    from components.managed_prometheus import COLLECTOR_IMAGE  # the program's modules: only with a graph

    resources = graph["resources"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["type"], []).append(resource)
    collectors = []
    for workload in METRICS_WORKLOADS:
        name = f"{monitoring.base_name}-{workload}"
        for kind in CLOUD_RUN_TYPES:
            for resource in by_type.get(kind, []):
                if (resource.get("inputs") or {}).get("name") == name and any(
                    container.get("image") == COLLECTOR_IMAGE for container in _containers(resource)
                ):
                    collectors.append(workload)
    evaluator = graph_has_rule_evaluator(graph, monitoring)
    databases = by_type.get(DATABASE_TYPE, [])
    return Producers(
        collectors=tuple(dict.fromkeys(collectors)),
        rule_evaluator=evaluator,
        database=any(not (resource.get("inputs") or {}).get("masterInstanceName") for resource in databases),
        read_replica=any((resource.get("inputs") or {}).get("masterInstanceName") for resource in databases),
        redis=bool(by_type.get(REDIS_TYPE)),
        uptime_checks=bool(by_type.get(UPTIME_CHECK_TYPE)),
        locust_exporter=False,
        load_balancer=bool(by_type.get(URL_MAP_TYPE)),
        armor_logs=any(
            (resource.get("inputs") or {}).get("name") == ARMOR_DECISIONS_METRIC
            for resource in by_type.get(LOG_METRIC_TYPE, [])
        ),
        pubsub=bool(by_type.get(PUBSUB_TOPIC_TYPE)),
        run_jobs=bool(by_type.get(RUN_JOB_TYPE)),
        reconciliation=any(
            (resource.get("inputs") or {}).get("name") == f"{monitoring.base_name}-{RECONCILE_JOB_MODE}"
            for resource in by_type.get(RUN_JOB_TYPE, [])
        ),
        identity_logs=any(
            (resource.get("inputs") or {}).get("name") == IDENTITY_SIGN_INS_METRIC
            for resource in by_type.get(LOG_METRIC_TYPE, [])
        ),
        key_events=any(
            (resource.get("inputs") or {}).get("name") == KEY_EVENTS_METRIC
            for resource in by_type.get(LOG_METRIC_TYPE, [])
        ),
    )


def graph_has_rule_evaluator(graph: Mapping[str, Any], monitoring: MonitoringConfig) -> bool:
    """The alerting path's worker pool `<base>-alerting`, running the rule evaluator's image."""
    from components.rule_evaluator import EVALUATOR_IMAGE  # the program's modules: only with a graph

    return any(
        resource["type"] == WORKER_POOL_TYPE
        and (resource.get("inputs") or {}).get("name") == monitoring.rule_evaluator_name
        and any(container.get("image") == EVALUATOR_IMAGE for container in _containers(resource))
        for resource in graph["resources"]
    )


def check_produced(stack: str, queries: Iterable[Query], producers: Producers, recorded: Iterable[str]) -> None:
    """Raise UnproducedSeriesError naming every reader of an unproduced series."""
    problems = unproduced_series(queries, producers, recorded)
    if problems:
        raise UnproducedSeriesError(stack, problems)
