"""Security findings: a ticket for every finding published to the findings topic.

Security Command Center publishes each active, unmuted finding of the configured severities
(HIGH and CRITICAL by default), and Sensitive Data Protection each new or riskier high-risk data
profile, to one topic (components/security_findings.py). Each message is a finding someone must
triage, so any publish in the last 30 minutes is a ticket after a minute: a warning, because a
finding is a review, not an outage (a breach in progress pages through other means, the
provider's Event Threat Detection to the security contact). The window outlasts Pub/Sub's
metric delay (up to a few minutes) and the rule path's grouping, so one finding opens one ticket
and a burst opens one grouped ticket. The finding itself is read from the topic's subscription
(docs/runbooks/SecurityFindingsNew.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alerts import probes
from alerts.model import AlertRule, RuleGroup, Severity
from alerts.resources import STEADY_STEP, events_in_window_probe, steady_scenario, steady_series
from observability import catalogue as m

if TYPE_CHECKING:
    from stackconfig.monitoring import MonitoringConfig

FINDINGS_WINDOW = "30m"
FINDINGS_FOR = "1m"
_STEP = STEADY_STEP


def findings_published(topic: str) -> str:
    """Findings published to the stack's findings topic over the last 30 minutes: the alert's
    signal, and the query a Security dashboard panel shows (one definition for both)."""
    return (
        f"sum by (topic_id) (increase({m.PUBSUB_SEND_REQUESTS.name}"
        f'{{topic_id="{topic}",response_class="success"}}[{FINDINGS_WINDOW}]))'
    )


def findings_alerts(topic: str) -> RuleGroup:
    sent = m.PUBSUB_SEND_REQUESTS.name
    labels = {"topic_id": topic}
    published = probes.with_labels(sent, {**labels, "response_class": "success"})
    return RuleGroup(
        name="security-findings",
        rules=(
            AlertRule(
                name="SecurityFindingsNew",
                expr=f"{findings_published(topic)} > 0",
                for_=FINDINGS_FOR,
                severity=Severity.WARNING,
                summary="New security findings on {{ $labels.topic_id }}.",
                description=(
                    "Security findings (Security Command Center findings, or high-risk "
                    f"data profiles of Sensitive Data Protection) were published to {{{{ $labels.topic_id }}}} in the "
                    f"last {FINDINGS_WINDOW}. Pull them from its `-tickets` subscription and triage each one."
                ),
                scenario=steady_scenario(steady_series(published, 0, 1), labels=labels, value=None, onset=_STEP),
                # The level is findings per window: any at all is a ticket.
                probe=events_in_window_probe(published, FINDINGS_WINDOW, FINDINGS_FOR, labels),
            ),
        ),
    )


def compliance_rule_groups(monitoring: MonitoringConfig) -> tuple[RuleGroup, ...]:
    """The findings ticket, where the stack routes findings (compliance.findings.enabled)."""
    if monitoring.findings_topic is None:
        return ()
    return (findings_alerts(monitoring.findings_topic),)
