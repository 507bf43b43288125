"""Cloud Monitoring's alerting: its channels, and one policy only, the dead man's switch of the
rule path. Every alert rule pages (or opens its ticket) through the rule evaluator and
Alertmanager (tests/test_alerting_path.py); a Cloud Monitoring policy for one of them would page
a second time for the same outage."""

from __future__ import annotations

import json

import pytest

from alerts.deadman import DEADMAN_CHECK, DEADMAN_SIGNALS, HEARTBEAT_SERIES
from alerts.rules import all_alerts
from components.alert_policies import Channel, deadman_targets, seconds
from offline.stackfile import read_stack_file

from .conftest import STACKS, resources

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
MONITORING_API = "monitoring.googleapis.com"


def channel_types(graph, policy) -> list[str]:
    """What a policy notifies, by channel type (`pagerduty`, `email`)."""
    by_urn = {r["urn"]: r for r in resources(graph, CHANNEL)}
    return sorted(
        by_urn[urn]["inputs"]["type"] for urn in policy["propertyDependencies"].get("notificationChannels", [])
    )


@pytest.mark.parametrize("stack", STACKS)
def test_no_alert_rule_has_a_policy_so_no_outage_pages_twice(graphs, stack):
    names = {policy["inputs"]["displayName"] for policy in resources(graphs[stack], POLICY)}
    assert names == {DEADMAN_CHECK.name}
    assert not names & {alert.name for alert in all_alerts()}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_switch_pages_through_pagerduty_where_the_stack_pages(graphs, stack):
    (policy,) = resources(graphs[stack], POLICY)
    assert channel_types(graphs[stack], policy) == ["pagerduty"]
    assert policy["inputs"]["severity"] == "CRITICAL"


def test_dev_pages_nobody_so_its_switch_opens_a_ticket(graphs):
    (policy,) = resources(graphs["dev"], POLICY)
    assert channel_types(graphs["dev"], policy) == ["email"]
    assert [r["inputs"]["type"] for r in resources(graphs["dev"], CHANNEL)] == ["email"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_ticket_channel_emails_the_stacks_ticket_queue(project, graphs, stack):
    values, _ = read_stack_file(project.stack_file(stack))
    (ticket,) = [r for r in resources(graphs[stack], CHANNEL) if r["inputs"]["type"] == "email"]
    assert ticket["inputs"]["labels"] == {"email_address": json.loads(values["omni-infra:alerting"])["ticketEmail"]}


@pytest.mark.parametrize("stack", STACKS)
def test_the_switch_watches_the_heartbeat_and_alertmanager_on_cloud_monitorings_grid(graphs, stack):
    (policy,) = resources(graphs[stack], POLICY)
    (condition,) = policy["inputs"]["conditions"]
    promql = condition["conditionPrometheusQueryLanguage"]
    assert promql["query"] == DEADMAN_CHECK.query
    assert HEARTBEAT_SERIES in promql["query"]
    assert "alertmanager_notifications_total" in promql["query"]
    assert promql["duration"] == "120s"
    assert promql["evaluationInterval"] == "30s"
    # The series exist only once the path runs; the API must not refuse the policy before.
    assert promql["disableMetricValidation"] is True


def test_the_switchs_signals_each_cover_a_part_of_the_path():
    assert [signal.name for signal in DEADMAN_SIGNALS] == [
        "evaluator heartbeat missing",
        "Alertmanager heartbeat not delivered",
        "Alertmanager metrics missing",
        "Alertmanager cannot reach PagerDuty",
    ]
    # One series without labels whichever signal holds: one Cloud Monitoring incident.
    assert DEADMAN_CHECK.query.count("sum(") >= len(DEADMAN_SIGNALS)


@pytest.mark.parametrize("stack", STACKS)
def test_the_switch_documents_its_runbook(graphs, stack):
    (policy,) = resources(graphs[stack], POLICY)
    docs = policy["inputs"]["documentation"]
    assert docs["links"] == [{"displayName": "Runbook", "url": DEADMAN_CHECK.runbook_url}]
    assert DEADMAN_CHECK.runbook_url.endswith("/docs/runbooks/AlertingPathDown.md")
    assert docs["subject"] == DEADMAN_CHECK.summary
    assert docs["mimeType"] == "text/markdown"


@pytest.mark.parametrize("stack", STACKS)
def test_policies_and_channels_wait_for_the_monitoring_api(graphs, stack):
    graph = graphs[stack]
    monitoring = next(r["urn"] for r in graph["resources"] if r["inputs"].get("service") == MONITORING_API)
    for resource in resources(graph, POLICY) + resources(graph, CHANNEL):
        assert monitoring in resource["dependencies"], resource["name"]


@pytest.mark.parametrize(("paging", "expected"), [(True, (Channel.PAGER,)), (False, (Channel.TICKET,))])
def test_the_switch_pages_where_anything_pages_and_opens_a_ticket_elsewhere(paging, expected):
    assert deadman_targets(paging) == expected


@pytest.mark.parametrize(("duration", "expected"), [("0s", "0s"), ("2m", "120s"), ("90s", "90s")])
def test_durations_become_protobuf_durations(duration, expected):
    assert seconds(duration) == expected
