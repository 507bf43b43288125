"""Cloud Monitoring alert policies rendered from the alert rule objects: one PromQL policy per
alert, evaluated against Managed Prometheus, notifying by severity.

The rules are those of `alerts/` (the same objects the Prometheus rule files are rendered
from), read through `expr_without_recording_rules`: Cloud Monitoring evaluates each policy on its
own and has no recording rules. Critical alerts page through the PagerDuty channel (or, where
nothing pages, open tickets); warnings email the ticket queue; info alerts notify nobody. The
always-firing `Watchdog` is left out: it only means something to Alertmanager's dead man's switch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_gcp as gcp

from alerts.alertmanager import WATCHDOG_ALERT
from alerts.model import AlertRule, RuleGroup, Severity
from components.options import child_options
from observability.durations import parse_duration

REQUIRED_APIS = ("monitoring.googleapis.com",)
# Cloud Monitoring evaluates PromQL conditions on a 30-second grid.
EVALUATION_STEP_SECONDS = 30
# For rule groups that set no interval: Cloud Monitoring's own default, and the shortest, which
# the 2-minute paging budget of the burn-rate alerts needs.
DEFAULT_EVALUATION_SECONDS = 30
# Always firing, to prove the pipeline works: Alertmanager sends it to the dead man's switch.
# Cloud Monitoring has no such receiver, and a policy on it would be an incident open forever
# (hiding real ones in the incident list), so it gets no policy at all.
WATCHDOG = WATCHDOG_ALERT
# Policy severity in Cloud Monitoring's terms; info has none.
POLICY_SEVERITY = {Severity.CRITICAL: "CRITICAL", Severity.WARNING: "WARNING"}
TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
LABEL_REFERENCE = re.compile(r"^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$")
VALUE_REFERENCE = re.compile(r"^\$value(\s*\|\s*[a-zA-Z]+)*$")
# Cloud Monitoring's documentation variables cannot show a PromQL condition's value; the
# incident it opens charts it.
VALUE_PLACEHOLDER = "(value on the incident's chart)"


class Channel(StrEnum):
    PAGER = "pagerduty"
    TICKET = "ticket"


def seconds(duration: str) -> str:
    """A Prometheus duration as the Monitoring API's protobuf Duration: `2m` → `120s`."""
    return f"{parse_duration(duration)}s"


def evaluation_interval(group: RuleGroup) -> str:
    """The group's interval, rounded up to the 30-second step Cloud Monitoring requires."""
    wanted = parse_duration(group.interval) if group.interval else DEFAULT_EVALUATION_SECONDS
    return f"{max(1, math.ceil(wanted / EVALUATION_STEP_SECONDS)) * EVALUATION_STEP_SECONDS}s"


def notification_targets(rule: AlertRule, paging: bool) -> tuple[Channel, ...]:
    """Where an alert goes: critical pages (a ticket where nothing pages), warning opens a
    ticket, info notifies nobody (nor would the watchdog, which gets no policy)."""
    if rule.name == WATCHDOG or rule.severity is Severity.INFO:
        return ()
    if rule.severity is Severity.CRITICAL:
        return (Channel.PAGER,) if paging else (Channel.TICKET,)
    return (Channel.TICKET,)


def cloud_monitoring_text(template: str) -> str:
    """A Prometheus annotation template in Cloud Monitoring's documentation syntax:
    `{{ $labels.slo }}` → `${metric.label.slo}`; `$value` has no equivalent there."""

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        label = LABEL_REFERENCE.match(expression)
        if label:
            return "${metric.label." + label.group(1) + "}"
        if VALUE_REFERENCE.match(expression):
            return VALUE_PLACEHOLDER
        raise ValueError(
            f"template {{{{ {expression} }}}} has no Cloud Monitoring equivalent: "
            "annotations may use only {{ $labels.<name> }} and {{ $value }}"
        )

    return TEMPLATE.sub(replace, template)


def documentation(group: RuleGroup, rule: AlertRule) -> gcp.monitoring.AlertPolicyDocumentationArgs:
    """What the responder reads in the page, the ticket or the incident: the summary as the
    subject, the description and the runbook."""
    content = "\n\n".join(
        [
            cloud_monitoring_text(rule.description),
            f"**Severity:** {rule.severity.value}",
            f"**Runbook:** {rule.runbook_url}",
            f"**Rule:** `{group.name}/{rule.name}` (alerts/ in omni-infra)",
        ]
    )
    return gcp.monitoring.AlertPolicyDocumentationArgs(
        subject=cloud_monitoring_text(rule.summary),
        content=content,
        mime_type="text/markdown",
        links=[gcp.monitoring.AlertPolicyDocumentationLinkArgs(display_name="Runbook", url=rule.runbook_url)],
    )


def condition(group: RuleGroup, rule: AlertRule) -> gcp.monitoring.AlertPolicyConditionArgs:
    return gcp.monitoring.AlertPolicyConditionArgs(
        display_name=rule.name,
        condition_prometheus_query_language=gcp.monitoring.AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
            query=rule.expr_without_recording_rules,
            duration=seconds(rule.for_),
            evaluation_interval=evaluation_interval(group),
            labels={**rule.labels, "severity": rule.severity.value},
            rule_group=group.name,
            alert_rule=rule.name,
            # A new project has none of the app's series until its first scrape; without this
            # the API refuses a policy on a metric that does not exist yet.
            disable_metric_validation=True,
        ),
    )


def has_policy(rule: AlertRule) -> bool:
    """Every alert rule but the watchdog becomes a Cloud Monitoring policy."""
    return rule.name != WATCHDOG


def policy_key(rule: AlertRule) -> str:
    """`ApiAvailabilityErrorBudgetBurn-critical`: unique, where the alert name alone is not."""
    return f"{rule.name}-{rule.severity.value}"


@dataclass(frozen=True)
class AlertPoliciesArgs:
    groups: Sequence[RuleGroup]
    """The rule groups (`alerts.rules.rule_groups()`); one policy per alert rule in them."""
    ticket_email: str | None
    """The team's ticket queue: every warning (and every critical alert where nothing pages).
    Required; None only reaches here if the config check was skipped."""
    pagerduty_routing_key: pulumi.Input[str] | None = None
    """The PagerDuty service's Events API v2 key; None where nothing pages (dev)."""


class AlertPolicies(pulumi.ComponentResource):
    """The notification channels, and one `gcp.monitoring.AlertPolicy` per alert rule but the
    watchdog, named
    `<name>-<AlertName>-<severity>`: an SLO's burn-rate alert is one name at two severities."""

    channels: dict[Channel, gcp.monitoring.NotificationChannel]
    policies: dict[str, gcp.monitoring.AlertPolicy]

    def __init__(self, name: str, args: AlertPoliciesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:monitoring:AlertPolicies", name, None, opts)
        child = child_options(self, opts)
        if args.ticket_email is None:
            raise ValueError("alert policies need the ticket queue's address (alerting.ticketEmail)")
        paging = args.pagerduty_routing_key is not None
        self.channels = {
            Channel.TICKET: gcp.monitoring.NotificationChannel(
                f"{name}-ticket",
                display_name=f"{name} ticket queue",
                description="Warnings (and criticals where nothing pages) open tickets here; managed by Pulumi",
                type="email",
                labels={"email_address": args.ticket_email},
                opts=child,
            )
        }
        if args.pagerduty_routing_key is not None:
            self.channels[Channel.PAGER] = gcp.monitoring.NotificationChannel(
                f"{name}-pagerduty",
                display_name=f"{name} PagerDuty",
                description="Critical alerts page the on-call engineer; managed by Pulumi",
                type="pagerduty",
                sensitive_labels=gcp.monitoring.NotificationChannelSensitiveLabelsArgs(
                    service_key=pulumi.Output.secret(args.pagerduty_routing_key)
                ),
                opts=child,
            )
        self.policies = {}
        for group in args.groups:
            for rule in filter(has_policy, group.alerts):
                key = policy_key(rule)
                if key in self.policies:
                    raise ValueError(f"alert {rule.name} is defined twice at severity {rule.severity.value}")
                self.policies[key] = gcp.monitoring.AlertPolicy(
                    f"{name}-{key}",
                    display_name=rule.name,
                    combiner="OR",
                    conditions=[condition(group, rule)],
                    severity=POLICY_SEVERITY.get(rule.severity),
                    user_labels={"severity": rule.severity.value},
                    documentation=documentation(group, rule),
                    notification_channels=[self.channels[c].id for c in notification_targets(rule, paging)],
                    opts=child,
                )
        self.register_outputs({"policies": sorted(self.policies), "channels": sorted(c.value for c in self.channels)})
