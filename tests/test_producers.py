"""Every series has a producer in every stack: each dashboard panel's and each rule's query reads
only series that something the stack's recorded graph deploys produces (a collector sidecar, the
rule evaluator, the resource a Cloud Monitoring metric describes), and `omni build` and
`omni dashboards render` refuse a panel or a rule that reads anything else, naming both."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alerts.rules import rule_groups
from cli.main import app
from dashboards.render import render_for
from offline.monitoring import load_monitoring_config
from offline.producers import (
    dashboard_queries,
    graph_has_rule_evaluator,
    producers_in_graph,
    rule_queries,
    unproduced_series,
)
from stackconfig.monitoring import METRICS_WORKLOADS, Producers

from .conftest import ROOT, STACKS, edit_stack_file

runner = CliRunner()


def _recorded(groups) -> set[str]:
    return {rule.record for group in groups for rule in group.recording_rules}


@pytest.mark.parametrize("stack", STACKS)
def test_the_monitoring_config_names_the_producers_the_graph_deploys(stack: str, graphs):
    monitoring = load_monitoring_config(stack, ROOT)
    from_graph = producers_in_graph(graphs[stack], monitoring)
    assert from_graph == monitoring.producers
    assert from_graph.collectors == ("api", "worker"), "both workloads run the Managed Prometheus sidecar"
    assert from_graph.read_replica == (stack != "dev")
    assert from_graph.uptime_checks
    assert from_graph.redis
    assert from_graph.database
    assert not from_graph.locust_exporter
    assert from_graph.rule_evaluator, "the alerting path's worker pool runs the evaluator"
    assert from_graph.load_balancer == from_graph.armor_logs == (stack != "dev"), "dev turns the edge off"
    assert from_graph.pubsub, "the usage topic and its BigQuery subscription (usage.enabled)"
    assert from_graph.run_jobs
    assert from_graph.reconciliation, "the reconcile job writes the mismatch metric"


@pytest.mark.parametrize("stack", STACKS)
def test_every_panel_and_every_rule_of_the_stack_reads_only_produced_series(stack: str, graphs):
    monitoring = load_monitoring_config(stack, ROOT)
    producers = producers_in_graph(graphs[stack], monitoring)
    groups = rule_groups(monitoring)
    queries = dashboard_queries(render_for(monitoring)) + rule_queries(groups)
    assert len(queries) > 150
    assert unproduced_series(queries, producers, _recorded(groups)) == []


def test_the_rule_evaluator_is_read_from_the_graph(graphs):
    """Recording rules and ALERTS count as produced because the graph holds the alerting path's
    worker pool `<base>-alerting` running the evaluator's image, not on the config's word."""
    for stack in STACKS:
        monitoring = load_monitoring_config(stack, ROOT)
        assert monitoring.rule_evaluator_name == f"omni-{stack}-alerting"
        assert graph_has_rule_evaluator(graphs[stack], monitoring), stack
        without = {
            **graphs[stack],
            "resources": [
                resource
                for resource in graphs[stack]["resources"]
                if (resource.get("inputs") or {}).get("name") != monitoring.rule_evaluator_name
            ],
        }
        assert not producers_in_graph(without, monitoring).rule_evaluator


def test_without_an_evaluator_the_slo_dashboard_and_burn_alerts_read_nothing():
    monitoring = load_monitoring_config("prod", ROOT)
    groups = rule_groups(monitoring)
    no_evaluator = Producers(
        collectors=METRICS_WORKLOADS,
        rule_evaluator=False,
        database=True,
        read_replica=True,
        redis=True,
        uptime_checks=True,
        locust_exporter=False,
        load_balancer=True,
        armor_logs=True,
        pubsub=True,
        run_jobs=True,
        reconciliation=True,
        identity_logs=True,
        key_events=True,
    )
    problems = unproduced_series(
        dashboard_queries(render_for(monitoring)) + rule_queries(groups), no_evaluator, _recorded(groups)
    )
    readers = {problem.reader for problem in problems}
    assert 'dashboard omni-slo, panel "api-availability: error budget left"' in readers
    assert "alert ApiAvailabilityErrorBudgetBurn (critical)" in readers
    assert all(problem.series.startswith("slo:") for problem in problems)
    assert "no rule evaluator runs in this stack" in str(problems[0])


def test_the_workloads_queries_select_are_the_app_contracts():
    from components.app_contract import METRICS_WORKLOADS as CONTRACT_WORKLOADS

    assert METRICS_WORKLOADS == CONTRACT_WORKLOADS


def test_no_dashboard_reads_locust_series_nobody_exports():
    for text in render_for(load_monitoring_config("prod", ROOT)).values():
        assert "locust_" not in text


def test_dashboards_render_refuses_panels_reading_series_the_stack_does_not_produce(project_copy, tmp_path: Path):
    """With the collector off, the app's metrics have no producer: render names panel and series."""
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:metrics:\n    collector: false",
    )
    out = tmp_path / "dashboards"
    result = runner.invoke(
        app, ["dashboards", "render", "--stack", "prod", "-C", str(project_copy.root), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert 'dashboard omni-api-overview, panel "Requests per second" reads omni_http_requests_total' in result.output
    assert (
        "no collector scrapes the 'api' workload" in result.output
        or "no workload runs a metrics collector" in result.output
    )
    assert not out.exists()


def test_build_refuses_rules_reading_series_the_stack_does_not_produce(project_copy, tmp_path: Path):
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:metrics:\n    collector: false",
    )
    result = runner.invoke(
        app, ["build", "--stack", "prod", "-C", str(project_copy.root), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert "alert ApiHighErrorRate (critical) reads omni_http_requests_total" in result.output


def test_a_stack_without_the_usage_pipeline_has_no_usage_alerts_nor_pipeline_board(project_copy):
    """usage.enabled false: nothing produces the Pub/Sub, job and reconciliation series, so the
    pipeline's alerts and board are left out rather than read series nobody writes."""
    edit_stack_file(
        project_copy,
        "dev",
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:usage:\n    enabled: false",
    )
    monitoring = load_monitoring_config("dev", project_copy.root)
    assert monitoring.usage is None
    # Pub/Sub metrics still come from the security findings topic (compliance.findings.enabled).
    assert (monitoring.producers.pubsub, monitoring.producers.run_jobs, monitoring.producers.reconciliation) == (
        True,
        False,
        False,
    )
    groups = rule_groups(monitoring)
    assert "usage-metering" not in {group.name for group in groups}
    rendered = render_for(monitoring)
    assert "omni-usage-pipeline.json" not in rendered
    assert (
        unproduced_series(dashboard_queries(rendered) + rule_queries(groups), monitoring.producers, _recorded(groups))
        == []
    )


def test_the_usage_alerts_read_the_stacks_own_pipeline_names():
    """The topic, BigQuery subscription and invoicing jobs come from the stack (usage.topic's
    default `<base>-usage-events`; the invoice job only where the Stripe key was added)."""
    for stack, jobs in (("dev", "omni-dev-reconcile"), ("prod", "omni-prod-invoice|omni-prod-reconcile")):
        (group,) = [
            group for group in rule_groups(load_monitoring_config(stack, ROOT)) if group.name == "usage-metering"
        ]
        exprs = "\n".join(alert.expr for alert in group.alerts)
        assert f'topic_id="omni-{stack}-usage-events"' in exprs
        assert f'subscription_id="omni-{stack}-usage-events-bigquery"' in exprs
        assert f'job_name=~"{jobs}"' in exprs
