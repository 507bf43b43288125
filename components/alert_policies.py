"""Cloud Monitoring's part of alerting: its notification channels, and the one alert policy the
rule path cannot own, the dead man's switch of that path (`alerts/deadman.py`).

Every alert rule of `alerts/` is evaluated by the rule evaluator and routed by Alertmanager
(components/rule_evaluator.py): that path pages and opens tickets, with grouping and inhibition.
A Cloud Monitoring policy for the same rules would page a second time for every outage, so there
is none. What Cloud Monitoring keeps is what must not depend on the rule path: the check that the
path itself is alive (`AlertingPathDown`), paging through its own PagerDuty channel (the same
PagerDuty service, its own integration key path) or, where nothing pages, emailing the ticket
queue. The uptime checks (components/status_page.py) are Cloud Monitoring's too; the rule path
reads their results and pages on them (`UptimeCheckFailing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_gcp as gcp

from alerts.deadman import DEADMAN_CHECK, DeadmanCheck
from components.options import child_options
from observability.durations import parse_duration

REQUIRED_APIS = ("monitoring.googleapis.com",)
# Cloud Monitoring evaluates PromQL conditions on a 30-second grid; the shortest interval.
EVALUATION_INTERVAL = "30s"


class Channel(StrEnum):
    PAGER = "pagerduty"
    TICKET = "ticket"


def seconds(duration: str) -> str:
    """A Prometheus duration as the Monitoring API's protobuf Duration: `2m` → `120s`."""
    return f"{parse_duration(duration)}s"


def deadman_targets(paging: bool) -> tuple[Channel, ...]:
    """The switch pages where anything pages; elsewhere (dev) it opens a ticket."""
    return (Channel.PAGER,) if paging else (Channel.TICKET,)


def deadman_condition(check: DeadmanCheck) -> gcp.monitoring.AlertPolicyConditionArgs:
    return gcp.monitoring.AlertPolicyConditionArgs(
        display_name=check.name,
        condition_prometheus_query_language=gcp.monitoring.AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
            query=check.query,
            duration=seconds(check.duration),
            evaluation_interval=EVALUATION_INTERVAL,
            labels={"severity": "critical"},
            alert_rule=check.name,
            # The heartbeat and Alertmanager's series exist only once the path has run.
            disable_metric_validation=True,
        ),
    )


def deadman_documentation(check: DeadmanCheck) -> gcp.monitoring.AlertPolicyDocumentationArgs:
    return gcp.monitoring.AlertPolicyDocumentationArgs(
        subject=check.summary,
        content="\n\n".join([check.description, "**Severity:** critical", f"**Runbook:** {check.runbook_url}"]),
        mime_type="text/markdown",
        links=[gcp.monitoring.AlertPolicyDocumentationLinkArgs(display_name="Runbook", url=check.runbook_url)],
    )


@dataclass(frozen=True)
class AlertPoliciesArgs:
    ticket_email: str | None
    """The team's ticket queue: the switch emails it where nothing pages. Required; None only
    reaches here if the config check was skipped."""
    pagerduty_routing_key: pulumi.Input[str] | None = None
    """The PagerDuty service's Events API v2 key; None where nothing pages (dev)."""
    watches: pulumi.Resource | None = None
    """The rule path the switch watches (the rule evaluator): the policy is created once it
    runs, so a new stack's first `pulumi up` does not page for a heartbeat not yet written."""


class AlertPolicies(pulumi.ComponentResource):
    """The notification channels and the dead man's switch policy `<name>-AlertingPathDown`."""

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
                description="The dead man's switch opens a ticket here where nothing pages; managed by Pulumi",
                type="email",
                labels={"email_address": args.ticket_email},
                opts=child,
            )
        }
        if args.pagerduty_routing_key is not None:
            self.channels[Channel.PAGER] = gcp.monitoring.NotificationChannel(
                f"{name}-pagerduty",
                display_name=f"{name} PagerDuty",
                description="The dead man's switch of the alerting path pages the on-call engineer; managed by Pulumi",
                type="pagerduty",
                sensitive_labels=gcp.monitoring.NotificationChannelSensitiveLabelsArgs(
                    service_key=pulumi.Output.secret(args.pagerduty_routing_key)
                ),
                opts=child,
            )
        check = DEADMAN_CHECK
        after_path = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[args.watches] if args.watches is not None else [])
        )
        self.policies = {
            check.name: gcp.monitoring.AlertPolicy(
                f"{name}-{check.name}",
                display_name=check.name,
                combiner="OR",
                conditions=[deadman_condition(check)],
                severity="CRITICAL",
                user_labels={"severity": "critical"},
                documentation=deadman_documentation(check),
                notification_channels=[self.channels[c].id for c in deadman_targets(paging)],
                opts=after_path,
            )
        }
        self.register_outputs({"policies": sorted(self.policies), "channels": sorted(c.value for c in self.channels)})
