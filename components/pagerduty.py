"""PagerDuty for one stack: the on-call schedule, its escalation policy, the service critical
alerts page, and the Events API v2 integration whose routing key the alert senders use."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_pagerduty as pagerduty

from components.options import child_options
from stackconfig.model import PagerDutyConfig
from stackconfig.runtime import providers_run

SECONDS_PER_DAY = 24 * 3600
# Events API v2: what both Cloud Monitoring's PagerDuty channel and Alertmanager's
# `pagerduty_configs` (`routing_key`) send to.
EVENTS_API_V2 = "events_api_v2_inbound_integration"
# Rule 1 pages whoever is on call; rule 2, reached after the delay, pages the whole rotation.
# PagerDuty's `num_loops` counts the repeats after the last rule: with 2, both rules run three
# times in all, after which PagerDuty stops notifying and the incident waits, unacknowledged.
ESCALATION_LOOPS = 2


def pagerduty_provider(name: str, token: pulumi.Input[str] | None) -> pagerduty.Provider:
    """An explicit provider whose token is the stack's checked config (`pagerduty:token`, a
    Pulumi secret), never whatever `PAGERDUTY_TOKEN` the operator's shell exports: a provider
    declared without a token would fall back to it. So a missing token is refused wherever
    providers run; only under the mock runtime (the offline engine), where none runs, may it be
    absent."""
    if token is None:
        if providers_run():
            raise ValueError(
                "the PagerDuty provider needs the stack's `pagerduty:token` secret "
                "(pulumi config set --secret pagerduty:token <key>); it never reads PAGERDUTY_TOKEN from the "
                "environment"
            )
        return pagerduty.Provider(name)
    return pagerduty.Provider(name, token=pulumi.Output.secret(token))


@dataclass(frozen=True)
class PagerDutyArgs:
    settings: PagerDutyConfig
    """The rotation (user IDs, shift length, hand-over time and zone) and the escalation delay."""
    description: str
    """What the service is about, shown to responders in PagerDuty: `the Omni API (prod)`."""
    protect: bool = True
    """Pulumi `protect` on the service: deleting it deletes its incidents and their history."""


class PagerDuty(pulumi.ComponentResource):
    """Schedule `<name> on-call`, escalation policy, service and its Events API v2 integration."""

    schedule: pagerduty.Schedule
    escalation_policy: pagerduty.EscalationPolicy
    service: pagerduty.Service
    integration: pagerduty.ServiceIntegration
    service_id: pulumi.Output[str]
    routing_key: pulumi.Output[str]

    def __init__(self, name: str, args: PagerDutyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:paging:PagerDuty", name, None, opts)
        child = child_options(self, opts)
        stateful = child_options(self, opts, protect=args.protect)
        settings = args.settings
        if not settings.on_call:
            raise ValueError("a PagerDuty rotation needs at least one user ID (alerting.pagerduty.onCall)")
        self.schedule = pagerduty.Schedule(
            f"{name}-on-call",
            name=f"{name} on-call",
            description=f"Who is paged first for {args.description}; managed by Pulumi",
            time_zone=settings.time_zone,
            layers=[
                pagerduty.ScheduleLayerArgs(
                    name="Rotation",
                    # PagerDuty moves a start in the past to now; the virtual start keeps the
                    # order anchored, so re-running never reshuffles who is on call.
                    start=settings.rotation_anchor,
                    rotation_virtual_start=settings.rotation_anchor,
                    rotation_turn_length_seconds=settings.rotation_days * SECONDS_PER_DAY,
                    users=list(settings.on_call),
                )
            ],
            opts=child,
        )
        self.escalation_policy = pagerduty.EscalationPolicy(
            f"{name}-escalation",
            name=f"{name} escalation",
            description=f"On-call first, then the whole rotation, for {args.description}; managed by Pulumi",
            num_loops=ESCALATION_LOOPS,
            rules=[
                pagerduty.EscalationPolicyRuleArgs(
                    escalation_delay_in_minutes=settings.escalation_delay_minutes,
                    targets=[pagerduty.EscalationPolicyRuleTargetArgs(type="schedule_reference", id=self.schedule.id)],
                ),
                pagerduty.EscalationPolicyRuleArgs(
                    escalation_delay_in_minutes=settings.escalation_delay_minutes,
                    targets=[
                        pagerduty.EscalationPolicyRuleTargetArgs(type="user_reference", id=user)
                        for user in settings.on_call
                    ],
                ),
            ],
            opts=child,
        )
        self.service = pagerduty.Service(
            f"{name}-service",
            name=name,
            description=f"Critical alerts of {args.description}; managed by Pulumi",
            escalation_policy=self.escalation_policy.id,
            # Only critical alerts arrive here. High urgency wakes someone (and escalates); low
            # urgency (staging) notifies by the responders' low-urgency rules and never escalates.
            incident_urgency_rule=pagerduty.ServiceIncidentUrgencyRuleArgs(type="constant", urgency=settings.urgency),
            # Never close an incident on a timer: the senders resolve it when the alert clears.
            auto_resolve_timeout="null",
            opts=stateful,
        )
        self.integration = pagerduty.ServiceIntegration(
            f"{name}-events-v2",
            name="Cloud Monitoring and Alertmanager (Events API v2)",
            service=self.service.id,
            type=EVENTS_API_V2,
            # The routing key lets anyone who holds it page the on-call engineer.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(additional_secret_outputs=["integration_key"])
            ),
        )
        self.service_id = self.service.id
        self.routing_key = pulumi.Output.secret(self.integration.integration_key)
        self.register_outputs({"service_id": self.service_id, "routing_key": self.routing_key})
