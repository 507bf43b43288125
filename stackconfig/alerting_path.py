"""Settings of the production alerting path: the rule evaluator and Alertmanager on Cloud Run
(components/rule_evaluator.py), and the SMTP relay Alertmanager files tickets through."""

from __future__ import annotations

import re

from pydantic import Field

from .model_base import ConfigModel

HOST_PORT = r"^[A-Za-z0-9.-]+:[0-9]{1,5}$"
ALERTMANAGER_VERSION = r"^v[0-9]+\.[0-9]+\.[0-9]+$"


class AlertingPathConfig(ConfigModel):
    """The rule path: Alertmanager's version and how it sends tickets (email through an SMTP relay)."""

    alertmanager_version: str = Field(
        default="v0.28.1",
        pattern=ALERTMANAGER_VERSION,
        description="The `prom/alertmanager` release (`v0.28.1`), pulled through the Docker Hub remote repository.",
    )
    smtp_smarthost: str = Field(
        default="smtp-relay.gmail.com:587",
        pattern=HOST_PORT,
        description=(
            "`host:port` of the SMTP relay Alertmanager emails tickets through (STARTTLS required). "
            "Default: Google Workspace's SMTP relay, set to accept the stack's Cloud NAT addresses without "
            "SMTP AUTH (the relay's IP allowlist); Alertmanager then needs no password."
        ),
    )
    smtp_from: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Sender of ticket emails (default: `alertmanager@` the ticket inbox's domain).",
    )

    def sender(self, ticket_email: str) -> str:
        """The From address: set, or `alertmanager@<the inbox's domain>`."""
        return self.smtp_from or f"alertmanager@{re.sub(r'^.*@', '', ticket_email)}"
