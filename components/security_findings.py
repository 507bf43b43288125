"""Security findings routed to the ticket path: a Pub/Sub topic that Security Command Center
(and Sensitive Data Protection's discovery, components/data_discovery.py) publish findings to,
and a pull subscription that keeps each finding for the engineer who takes the ticket.

The ticket itself comes from the rule path, like every other ticket: the rule evaluator reads the
topic's publish count from Cloud Monitoring and `SecurityFindingsNew` (alerts/compliance.py) fires
on any message, routed by Alertmanager to the ticket queue with grouping and a runbook
(docs/runbooks/SecurityFindingsNew.md). One path for tickets means one place for routing,
silences and inhibition; a Cloud Monitoring policy here would be a second ticket system.

Security Command Center publishes only where it is activated (the organization's Standard tier,
free, or the project's Premium): `scc_filter=None` leaves the notification config out and the
topic carries the discovery's high-risk profiles alone (docs/compliance.md, "Without SCC").
Creating the config grants SCC's service agent publish on the topic, which needs the deployer's
`pubsub.topics.setIamPolicy` there (Pub/Sub Admin holds it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.encryption import CustomerKey, topic_encryption
from components.options import child_options

REQUIRED_APIS = ("pubsub.googleapis.com",)
SCC_APIS = ("securitycenter.googleapis.com",)
# Project-level notification configs live in SCC's `global` location unless data residency is on.
SCC_LOCATION = "global"
SECONDS_PER_DAY = 86400
# A finding nobody pulled stays in the subscription while the ticket is open; the subscription
# itself never expires for inactivity (Pub/Sub's default deletes it after 31 idle days).
NEVER_EXPIRES = ""


@dataclass(frozen=True)
class SecurityFindingsArgs:
    project: str
    region: str
    """Where the topic keeps messages when it has a key (the key's region)."""
    topic: str
    """The findings topic's name (`omni-prod-security-findings`): the alert's `topic_id`."""
    scc_filter: str | None
    """Security Command Center's filter (stackconfig/compliance.py `finding_filter`); None where
    SCC is not activated (`compliance.findings.sccActivated: false`): no notification config."""
    retention_days: int = 7
    """Days the subscription keeps an unpulled finding (1-31)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    messaging_key: CustomerKey | None = None
    """The stack's messaging key (prod): findings name people and systems, like the usage events."""


class SecurityFindings(pulumi.ComponentResource):
    """The findings topic, its subscription, and SCC's notification config publishing to it."""

    topic: gcp.pubsub.Topic
    subscription: gcp.pubsub.Subscription
    notification: gcp.securitycenter.V2ProjectNotificationConfig | None

    def __init__(self, name: str, args: SecurityFindingsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:compliance:SecurityFindings", name, None, opts)
        if not 1 <= args.retention_days <= 31:
            raise ValueError(
                f"findings retention {args.retention_days} days: Pub/Sub keeps 1 to 31 "
                "(compliance.findings.retentionDays)"
            )
        child = child_options(self, opts)
        topic_key = topic_encryption(args.messaging_key, args.region)
        self.topic = gcp.pubsub.Topic(
            f"{name}-topic",
            name=args.topic,
            project=args.project,
            labels=dict(args.labels),
            kms_key_name=topic_key.kms_key_name,
            message_storage_policy=topic_key.message_storage_policy,
            # The Pub/Sub agent must hold the key before a topic can be created with it.
            opts=pulumi.ResourceOptions.merge(
                child, args.messaging_key.after() if args.messaging_key else pulumi.ResourceOptions()
            ),
        )
        self.subscription = gcp.pubsub.Subscription(
            f"{name}-tickets",
            name=f"{args.topic}-tickets",
            project=args.project,
            topic=self.topic.id,
            ack_deadline_seconds=60,
            message_retention_duration=f"{args.retention_days * SECONDS_PER_DAY}s",
            retain_acked_messages=False,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=NEVER_EXPIRES),
            labels=dict(args.labels),
            opts=child,
        )
        self.notification = (
            gcp.securitycenter.V2ProjectNotificationConfig(
                f"{name}-scc",
                config_id=f"{args.topic}-scc",
                project=args.project,
                location=SCC_LOCATION,
                description="Active, unmuted findings of the configured severities, to the ticket path; by Pulumi",
                pubsub_topic=self.topic.id,
                streaming_config=gcp.securitycenter.V2ProjectNotificationConfigStreamingConfigArgs(
                    filter=args.scc_filter
                ),
                opts=child,
            )
            if args.scc_filter is not None
            else None
        )
        self.topic_id = self.topic.id
        self.topic_name = self.topic.name
        self.register_outputs(
            {"topic": self.topic.name, "subscription": self.subscription.name, "scc": args.scc_filter is not None}
        )
