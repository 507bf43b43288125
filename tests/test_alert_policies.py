"""Cloud Monitoring alert policies: the alert rules of alerts/, one policy each, with the same
PromQL and `for`, routed by severity (critical pages, warning opens a ticket, info notifies
nobody), documented with the runbook, and never reading a recording rule."""

from __future__ import annotations

import json

import pytest

from alerts.model import AlertRule, RuleGroup, Severity
from alerts.rules import rule_groups
from components.alert_policies import (
    VALUE_PLACEHOLDER,
    WATCHDOG,
    Channel,
    cloud_monitoring_text,
    evaluation_interval,
    has_policy,
    notification_targets,
    policy_key,
)
from observability.durations import parse_duration
from observability.promql import selectors
from offline.stackfile import read_stack_file

from .conftest import STACKS, resources

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
MONITORING_API = "monitoring.googleapis.com"
GROUPS = rule_groups()
RULES = [(group, rule) for group in GROUPS for rule in group.alerts]
# Every rule but the watchdog, which Cloud Monitoring would keep as an incident open forever.
POLICY_RULES = [(group, rule) for group, rule in RULES if has_policy(rule)]
RECORDED_SERIES = {rule.record for group in GROUPS for rule in group.recording_rules}


def policies(graph) -> dict[str, dict]:
    """Each policy by its alert rule's key (`ApiLatencyErrorBudgetBurn-critical`)."""
    prefix = f"omni-{graph['stack']}-alerts-"
    return {r["name"].removeprefix(prefix): r for r in resources(graph, POLICY)}


def channel_types(graph, policy) -> list[str]:
    """What a policy notifies, by channel type (`pagerduty`, `email`)."""
    by_urn = {r["urn"]: r for r in resources(graph, CHANNEL)}
    return sorted(by_urn[urn]["inputs"]["type"] for urn in policy["propertyDependencies"].get("notificationChannels", []))


def condition(policy) -> dict:
    (only,) = policy["inputs"]["conditions"]
    return only["conditionPrometheusQueryLanguage"]


def test_the_rules_hold_alerts_of_every_severity_and_the_watchdog():
    # Otherwise the routing tests below would pass on nothing.
    assert {rule.severity for _, rule in RULES} == set(Severity)
    assert any(rule.name == WATCHDOG for _, rule in RULES)
    assert RECORDED_SERIES


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_rule_but_the_watchdog_has_exactly_one_policy_and_nothing_else_does(graphs, stack):
    assert sorted(policies(graphs[stack])) == sorted(policy_key(rule) for _, rule in POLICY_RULES)


@pytest.mark.parametrize("stack", STACKS)
def test_the_always_firing_watchdog_never_becomes_a_policy(graphs, stack):
    assert WATCHDOG not in {r["inputs"]["displayName"] for r in resources(graphs[stack], POLICY)}


@pytest.mark.parametrize(("group", "rule"), POLICY_RULES, ids=[policy_key(rule) for _, rule in POLICY_RULES])
def test_each_policy_has_the_rules_promql_for_labels_and_origin(graphs, group, rule):
    policy = policies(graphs["prod"])[policy_key(rule)]
    promql = condition(policy)
    assert policy["inputs"]["displayName"] == rule.name
    assert promql["query"] == rule.expr_without_recording_rules
    assert promql["duration"] == f"{parse_duration(rule.for_)}s"
    assert promql["labels"] == {**rule.labels, "severity": rule.severity.value}
    assert (promql["ruleGroup"], promql["alertRule"]) == (group.name, rule.name)
    assert policy["inputs"]["userLabels"] == {"severity": rule.severity.value}


@pytest.mark.parametrize(("group", "rule"), POLICY_RULES, ids=[policy_key(rule) for _, rule in POLICY_RULES])
def test_no_policy_reads_a_recording_rule(graphs, group, rule):
    query = condition(policies(graphs["prod"])[policy_key(rule)])["query"]
    series = {selector.series for selector in selectors(query)}
    assert not series & RECORDED_SERIES, f"{rule.name} reads {series & RECORDED_SERIES}: Cloud Monitoring has no recording rules"
    assert "slo:" not in query


def test_evaluation_intervals_are_the_groups_rounded_up_to_30_seconds(graphs):
    for group, rule in POLICY_RULES:
        interval = condition(policies(graphs["prod"])[policy_key(rule)])["evaluationInterval"]
        seconds = parse_duration(interval)
        assert seconds % 30 == 0
        assert seconds >= (parse_duration(group.interval) if group.interval else 30)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_critical_alerts_page_through_pagerduty_and_nothing_else(graphs, stack):
    graph = graphs[stack]
    criticals = [rule for _, rule in POLICY_RULES if rule.severity is Severity.CRITICAL]
    assert criticals
    for rule in criticals:
        assert channel_types(graph, policies(graph)[policy_key(rule)]) == ["pagerduty"], rule.name


@pytest.mark.parametrize("stack", STACKS)
def test_warnings_open_a_ticket_and_page_nobody(graphs, stack):
    graph = graphs[stack]
    for rule in (rule for _, rule in POLICY_RULES if rule.severity is Severity.WARNING):
        assert channel_types(graph, policies(graph)[policy_key(rule)]) == ["email"], rule.name


@pytest.mark.parametrize("stack", STACKS)
def test_info_alerts_notify_nobody(graphs, stack):
    graph = graphs[stack]
    for rule in (rule for _, rule in POLICY_RULES if rule.severity is Severity.INFO):
        policy = policies(graph)[policy_key(rule)]
        assert policy["inputs"].get("notificationChannels", []) == [], rule.name
        assert "severity" not in policy["inputs"]


def test_dev_pages_nobody_so_its_critical_alerts_open_tickets(graphs):
    graph = graphs["dev"]
    assert [r["inputs"]["type"] for r in resources(graph, CHANNEL)] == ["email"]
    for rule in (rule for _, rule in POLICY_RULES if rule.severity is Severity.CRITICAL):
        assert channel_types(graph, policies(graph)[policy_key(rule)]) == ["email"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_ticket_channel_emails_the_stacks_ticket_queue(project, graphs, stack):
    values, _ = read_stack_file(project.stack_file(stack))
    (ticket,) = [r for r in resources(graphs[stack], CHANNEL) if r["inputs"]["type"] == "email"]
    assert ticket["inputs"]["labels"] == {"email_address": json.loads(values["omni-infra:alerting"])["ticketEmail"]}


@pytest.mark.parametrize(("group", "rule"), POLICY_RULES, ids=[policy_key(rule) for _, rule in POLICY_RULES])
def test_every_policy_documents_summary_description_and_runbook(graphs, group, rule):
    docs = policies(graphs["prod"])[policy_key(rule)]["inputs"]["documentation"]
    assert docs["subject"] == cloud_monitoring_text(rule.summary)
    assert docs["content"].startswith(cloud_monitoring_text(rule.description))
    assert rule.runbook_url in docs["content"]
    assert docs["links"] == [{"displayName": "Runbook", "url": rule.runbook_url}]
    assert docs["mimeType"] == "text/markdown"
    assert "{{" not in docs["subject"] + docs["content"]


@pytest.mark.parametrize("stack", STACKS)
def test_policies_and_channels_wait_for_the_monitoring_api(graphs, stack):
    graph = graphs[stack]
    monitoring = next(r["urn"] for r in graph["resources"] if r["inputs"].get("service") == MONITORING_API)
    for resource in resources(graph, POLICY) + resources(graph, CHANNEL):
        assert monitoring in resource["dependencies"], resource["name"]


# --- the pure pieces -------------------------------------------------------------------------


def rule(name: str = "QueueStuck", severity: Severity = Severity.WARNING) -> AlertRule:
    return AlertRule(
        name=name,
        expr="sum(omni_queue_length) > 100",
        for_="10m",
        severity=severity,
        summary="Queue {{ $labels.queue }} is stuck.",
        description="{{ $value }} messages wait.",
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("SLO {{ $labels.slo }} burns.", "SLO ${metric.label.slo} burns."),
        ("{{$labels.service}}/{{ $labels.queue }}", "${metric.label.service}/${metric.label.queue}"),
        ("at {{ $value | humanizePercentage }} now", f"at {VALUE_PLACEHOLDER} now"),
        ("no template at all", "no template at all"),
    ],
)
def test_prometheus_templates_become_cloud_monitoring_variables(template, expected):
    assert cloud_monitoring_text(template) == expected


def test_a_template_cloud_monitoring_cannot_render_is_refused_by_name():
    with pytest.raises(ValueError, match=r"\{\{ if \$labels.x \}\} has no Cloud Monitoring equivalent"):
        cloud_monitoring_text("{{ if $labels.x }}yes{{ end }}")


@pytest.mark.parametrize(("interval", "expected"), [(None, "30s"), ("15s", "30s"), ("30s", "30s"), ("45s", "60s"), ("2m", "120s")])
def test_evaluation_interval_rounds_up_to_a_multiple_of_30_seconds(interval, expected):
    assert evaluation_interval(RuleGroup(name="g", rules=(), interval=interval)) == expected


@pytest.mark.parametrize(
    ("severity", "paging", "expected"),
    [
        (Severity.CRITICAL, True, (Channel.PAGER,)),
        (Severity.CRITICAL, False, (Channel.TICKET,)),
        (Severity.WARNING, True, (Channel.TICKET,)),
        (Severity.WARNING, False, (Channel.TICKET,)),
        (Severity.INFO, True, ()),
    ],
)
def test_routing_by_severity(severity, paging, expected):
    assert notification_targets(rule(severity=severity), paging) == expected


def test_the_watchdog_never_pages_whatever_its_severity():
    assert notification_targets(rule(WATCHDOG, Severity.CRITICAL), paging=True) == ()
