"""Alertmanager's configuration as data: routes by severity, grouping, inhibition, receivers;
and the route cases `amtool config routes test` checks it against.

critical -> PagerDuty (Events API v2, routing key read from a file), warning -> the ticket
webhook, info -> nobody, Watchdog -> the dead man's switch. Alertmanager 0.25 (Debian 12)
accepts `routing_key_file` (checked with `amtool check-config`, which refuses unknown fields);
webhooks there have no `url_file`, so their URLs are plain settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.model import AlertRule, Severity

PAGERDUTY_ROUTING_KEY_FILE = "/etc/alertmanager/secrets/pagerduty-routing-key"
# Production receivers inside the VPC (docs/alerting.md): the bridge that files warnings as
# tickets in the team's queue, and the dead man's switch that alerts when heartbeats stop.
TICKET_WEBHOOK_URL = "http://alert-ticket-bridge.omni.internal:9095/alertmanager"
WATCHDOG_WEBHOOK_URL = "http://deadman-switch.omni.internal:9096/heartbeat"

WATCHDOG_ALERT = "Watchdog"

# Receiver names.
PAGERDUTY = "pagerduty"
TICKET = "ticket"
WATCHDOG = "watchdog"
NOBODY = "null"

# Labels that say which thing an alert is about. A critical alert inhibits the warning of the
# same name about the same thing: a disk at 97% hides its own "at 85%" ticket, not another
# database's. Every label an alert carries from its series must be listed (a test checks it).
IDENTITY_LABELS = (
    "alertname",
    "slo",
    "service",
    "service_name",
    "database_id",
    "instance_id",
    "cache",
    "queue",
    "task",
    "check_id",
    "job",
    # usage metering (alerts/usage.py)
    "subscription_id",
    "topic_id",
    "job_name",
    "usage_month",
)

# One notification per alert name and severity: five databases filling up make one page.
GROUP_BY = ["alertname", "severity"]


@dataclass(frozen=True)
class RouteCase:
    """Labels of an alert and the receivers Alertmanager must send it to."""

    labels: dict[str, str]
    receivers: tuple[str, ...]


def alertmanager_config(
    *,
    pagerduty_url: str | None,
    routing_key_file: str,
    ticket_webhook_url: str,
    watchdog_webhook_url: str,
) -> dict[str, Any]:
    pagerduty: dict[str, Any] = {
        "routing_key_file": routing_key_file,
        "send_resolved": True,
        "severity": "critical",
    }
    if pagerduty_url is not None:  # Alertmanager's default is PagerDuty's Events API v2 endpoint
        pagerduty["url"] = pagerduty_url
    return {
        "route": {
            # Anything without a known severity still reaches a human, as a ticket.
            "receiver": TICKET,
            "group_by": GROUP_BY,
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "routes": [
                {
                    # First: the heartbeat must reach the switch, never a person.
                    "matchers": [f'alertname="{WATCHDOG_ALERT}"'],
                    "receiver": WATCHDOG,
                    "group_wait": "0s",
                    "group_interval": "1m",
                    # The switch expects a heartbeat every few minutes; Alertmanager resends a
                    # firing group only every repeat_interval, so it is short.
                    "repeat_interval": "1m",
                },
                {
                    "matchers": [f'severity="{Severity.CRITICAL.value}"'],
                    "receiver": PAGERDUTY,
                    # Short: the page budget is 2 minutes from outage to phone, and the
                    # burn-rate alert already waited for its windows and `for`.
                    "group_wait": "10s",
                    "group_interval": "1m",
                    "repeat_interval": "4h",
                },
                {
                    "matchers": [f'severity="{Severity.WARNING.value}"'],
                    "receiver": TICKET,
                    "group_wait": "1m",
                    "repeat_interval": "24h",  # one ticket update a day while it lasts
                },
                {"matchers": [f'severity="{Severity.INFO.value}"'], "receiver": NOBODY},
            ],
        },
        "inhibit_rules": [
            {
                # A page inhibits its own warning. The Watchdog (info) matches no source.
                "source_matchers": [f'severity="{Severity.CRITICAL.value}"'],
                "target_matchers": [f'severity="{Severity.WARNING.value}"'],
                "equal": list(IDENTITY_LABELS),
            }
        ],
        "receivers": [
            {"name": PAGERDUTY, "pagerduty_configs": [pagerduty]},
            {"name": TICKET, "webhook_configs": [{"url": ticket_webhook_url, "send_resolved": True}]},
            {"name": WATCHDOG, "webhook_configs": [{"url": watchdog_webhook_url, "send_resolved": False}]},
            {"name": NOBODY},
        ],
    }


# The routing policy the configuration must implement (docs/alerting.md).
RECEIVER_BY_SEVERITY = {Severity.CRITICAL: PAGERDUTY, Severity.WARNING: TICKET, Severity.INFO: NOBODY}


def route_cases(alerts: tuple[AlertRule, ...]) -> tuple[RouteCase, ...]:
    """Where every alert must go, with its real labels, for `amtool config routes test`; and
    an alert without severity, which must still reach a human."""
    cases = []
    for alert in alerts:
        labels = {**alert.labels, "alertname": alert.name, "severity": alert.severity.value}
        receiver = WATCHDOG if alert.name == WATCHDOG_ALERT else RECEIVER_BY_SEVERITY[alert.severity]
        cases.append(RouteCase(labels, (receiver,)))
    cases.append(RouteCase({"alertname": "UnlabelledAlert"}, (TICKET,)))
    return tuple(cases)
