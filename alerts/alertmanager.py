"""Alertmanager's configuration as data: routes by severity, grouping, inhibition, receivers;
and the route cases `amtool config routes test` checks it against.

critical -> PagerDuty (Events API v2, routing key read from a file), warning -> a ticket (an email
to the team's ticket inbox in production, a webhook in the lab), info -> nobody, Watchdog -> the
heartbeat receiver the dead man's switch watches (docs/alerting.md, "The production path").
Every critical alert of one outage family (the API, the Celery workers) is one Alertmanager group,
so one PagerDuty incident: a full API outage pages once, and the burn-rate and uptime alerts of
the same cause join that incident instead of paging again. Alertmanager 0.25 (Debian 12) accepts
`routing_key_file` and `smtp_auth_password_file` (checked with `amtool check-config`, which refuses
unknown fields); webhooks there have no `url_file`, so their URLs are plain settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.model import AlertRule, Severity

PAGERDUTY_ROUTING_KEY_FILE = "/etc/alertmanager/secrets/pagerduty-routing-key"
SMTP_PASSWORD_FILE = "/etc/alertmanager/smtp/smtp-password"
# The rule evaluator's HTTP port in the alerting instance (components/rule_evaluator.py), where
# Alertmanager, its sidecar on localhost, sends the Watchdog: the heartbeat's round trip
# (evaluator -> Alertmanager -> evaluator) counts in Alertmanager's own notification metrics,
# which Cloud Monitoring watches (alerts/deadman.py). The evaluator answers any request to
# `/-/healthy` with 200 and reads nothing of it.
EVALUATOR_PORT = 9092
WATCHDOG_WEBHOOK_URL = f"http://localhost:{EVALUATOR_PORT}/-/healthy"
# Kept for callers that render a webhook ticket receiver (the lab); production sends email.
TICKET_WEBHOOK_URL = "http://localhost:9095/tickets"

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
    "url_map_name",  # the edge's load balancer
    "policy",  # a Cloud Armor policy
    # usage metering (alerts/usage.py)
    "subscription_id",
    "topic_id",
    "job_name",
    "usage_month",
    "project_id",  # Identity Platform's project (alerts/identity.py)
    # Cloud KMS key events (alerts/encryption.py)
    "key_ring",
    "crypto_key",
    "method",
)

# One notification per alert name and severity: five databases filling up make one page.
GROUP_BY = ["alertname", "severity"]

# Alerts one cause fires together, whose pages must be one incident: the fast symptom page, the
# SLO burn-rate page behind it, the uptime check and the front end's view of the same failure.
# Each family's critical alerts form one Alertmanager group (`group_by: [severity]` under a route
# matching the family), and PagerDuty's dedup key is the group's: the first alert pages, the
# others are added to the open incident without paging again. Families are named by what
# breaks for users; a test checks every name here is an alert the rules define.
OUTAGE_FAMILIES: dict[str, tuple[str, ...]] = {
    "api": (
        "ApiHighErrorRate",
        "ApiLatencyHigh",
        "ApiAvailabilityErrorBudgetBurn",
        "ApiLatencyErrorBudgetBurn",
        "UptimeCheckFailing",
        "CloudRunHigh5xxRate",
    ),
    "celery": ("CeleryNoLiveWorkers", "CeleryTaskSuccessErrorBudgetBurn"),
}


@dataclass(frozen=True)
class EmailTickets:
    """Tickets as email to the team's email-to-ticket inbox, through an SMTP relay (production)."""

    to: str
    smarthost: str
    """`host:port` of the relay; Alertmanager speaks STARTTLS and refuses to send without it."""
    sender: str
    username: str | None = None
    """SMTP AUTH user; None: the relay accepts the sender without AUTH."""
    password_file: str = SMTP_PASSWORD_FILE
    """Read by Alertmanager at each send; used only with a username."""


@dataclass(frozen=True)
class RouteCase:
    """Labels of an alert and the receivers Alertmanager must send it to."""

    labels: dict[str, str]
    receivers: tuple[str, ...]


def family_matcher(alerts: tuple[str, ...]) -> str:
    """`alertname=~"A|B"`: a regex matcher of exactly these names (Alertmanager anchors it)."""
    return f'alertname=~"{"|".join(alerts)}"'


def page_route(paging: bool) -> dict[str, Any]:
    """Critical alerts: PagerDuty, one group per outage family, else one per alert name; where
    nothing pages (dev), the ticket queue."""
    if not paging:
        return {"matchers": [f'severity="{Severity.CRITICAL.value}"'], "receiver": TICKET, "group_wait": "1m"}
    return {
        "matchers": [f'severity="{Severity.CRITICAL.value}"'],
        "receiver": PAGERDUTY,
        # None: the page budget is 2 minutes from outage to phone and the alert already waited
        # for its window and `for`. Waiting would batch little: the evaluator evaluates each rule
        # group on its own offset within the 30 s interval, so a family's alerts arrive seconds
        # apart anyway, and the family's later alerts join the incident at the next group_interval.
        "group_wait": "0s",
        # How soon an alert that joins an open incident (the burn-rate page after the
        # symptom page) is added to it.
        "group_interval": "1m",
        "repeat_interval": "4h",
        "routes": [
            {"matchers": [family_matcher(alerts)], "group_by": ["severity"]}
            for _, alerts in sorted(OUTAGE_FAMILIES.items())
        ],
    }


def ticket_receiver(tickets: EmailTickets | None, webhook_url: str | None) -> dict[str, Any]:
    if tickets is not None:
        return {"name": TICKET, "email_configs": [{"to": tickets.to, "send_resolved": True}]}
    if webhook_url is None:
        raise ValueError("the ticket receiver needs an email inbox (production) or a webhook URL (a lab)")
    return {"name": TICKET, "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}


def smtp_settings(tickets: EmailTickets | None) -> dict[str, Any]:
    """Alertmanager's `global` SMTP block for email tickets; empty without them."""
    if tickets is None:
        return {}
    settings: dict[str, Any] = {
        "smtp_smarthost": tickets.smarthost,
        "smtp_from": tickets.sender,
        "smtp_require_tls": True,
    }
    if tickets.username is not None:
        settings["smtp_auth_username"] = tickets.username
        settings["smtp_auth_password_file"] = tickets.password_file
    return settings


def alertmanager_config(
    *,
    pagerduty_url: str | None,
    routing_key_file: str,
    ticket_webhook_url: str | None = None,
    watchdog_webhook_url: str = WATCHDOG_WEBHOOK_URL,
    paging: bool = True,
    tickets: EmailTickets | None = None,
) -> dict[str, Any]:
    """The whole configuration. Tickets go by email when `tickets` is given (production), else to
    `ticket_webhook_url` (a lab's receiver); with `paging` off, critical alerts open tickets too
    and there is no PagerDuty receiver."""
    pagerduty: dict[str, Any] = {
        "routing_key_file": routing_key_file,
        "send_resolved": True,
        "severity": "critical",
    }
    if pagerduty_url is not None:  # Alertmanager's default is PagerDuty's Events API v2 endpoint
        pagerduty["url"] = pagerduty_url
    global_settings = smtp_settings(tickets)
    return {
        **({"global": global_settings} if global_settings else {}),
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
                    # The switch expects a heartbeat every minute (alerts/deadman.py). A group is
                    # resent at a flush (every group_interval) once repeat_interval has passed:
                    # shorter than the interval, so every flush resends, not every other one.
                    "repeat_interval": "30s",
                },
                page_route(paging),
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
            *([{"name": PAGERDUTY, "pagerduty_configs": [pagerduty]}] if paging else []),
            ticket_receiver(tickets, ticket_webhook_url),
            {"name": WATCHDOG, "webhook_configs": [{"url": watchdog_webhook_url, "send_resolved": False}]},
            {"name": NOBODY},
        ],
    }


# The routing policy the configuration must implement (docs/alerting.md).
RECEIVER_BY_SEVERITY = {Severity.CRITICAL: PAGERDUTY, Severity.WARNING: TICKET, Severity.INFO: NOBODY}


def route_cases(alerts: tuple[AlertRule, ...], *, paging: bool = True) -> tuple[RouteCase, ...]:
    """Where every alert must go, with its real labels, for `amtool config routes test`; and
    an alert without severity, which must still reach a human."""
    cases = []
    for alert in alerts:
        labels = {**alert.labels, "alertname": alert.name, "severity": alert.severity.value}
        receiver = WATCHDOG if alert.name == WATCHDOG_ALERT else RECEIVER_BY_SEVERITY[alert.severity]
        if receiver == PAGERDUTY and not paging:
            receiver = TICKET
        cases.append(RouteCase(labels, (receiver,)))
    cases.append(RouteCase({"alertname": "UnlabelledAlert"}, (TICKET,)))
    return tuple(cases)
