"""Enterprise controls (stack key `compliance`): who Google tells about security, billing,
technical and legal matters (Essential Contacts), where security findings go (Security Command
Center's notification to a Pub/Sub topic that the ticket path watches), and Sensitive Data
Protection's discovery of personal data in the usage dataset and the database.

Every control is on by default, the production-safe choice; prod refuses to turn one off, and
needs contacts for every category `PROD_CONTACT_CATEGORIES` names. Discovery is billed per GB
profiled, so dev may turn it off (docs/compliance.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator

from .errors import ConfigConflict
from .model_base import ConfigModel

# Google's NotificationCategory enum (Essential Contacts API v1), without UNSPECIFIED.
NotificationCategory = Literal[
    "ALL", "SUSPENSION", "SECURITY", "TECHNICAL", "BILLING", "LEGAL", "PRODUCT_UPDATES", "TECHNICAL_INCIDENTS"
]
# Who must hear from Google about prod: a breach, an unpaid bill, an outage, a legal notice.
PROD_CONTACT_CATEGORIES: tuple[str, ...] = ("SECURITY", "BILLING", "TECHNICAL", "LEGAL")
# A finding's severity in Security Command Center.
FindingSeverity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
# An email Essential Contacts accepts: one address, no display name.
CONTACT_EMAIL = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
# BCP-47 tags Google documents for contacts look like `en`, `en-US`, `pt-BR`, `zh-Hant`.
LANGUAGE_TAG = r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"
UpdateFrequency = Literal["UPDATE_FREQUENCY_NEVER", "UPDATE_FREQUENCY_DAILY", "UPDATE_FREQUENCY_MONTHLY"]


class EssentialContactSettings(ConfigModel):
    """One person or group Google notifies, and about what."""

    email: str = Field(
        pattern=CONTACT_EMAIL,
        description=(
            "The address Google writes to: a group or a team inbox, not one person's, so a notice survives "
            "a departure. An organization policy (`essentialcontacts.allowedContactDomains`) may restrict domains."
        ),
    )
    categories: list[NotificationCategory] = Field(
        min_length=1,
        description=(
            "What this contact hears about (Google's notification categories): SECURITY, BILLING, TECHNICAL, "
            "LEGAL, SUSPENSION, PRODUCT_UPDATES, TECHNICAL_INCIDENTS, or ALL."
        ),
    )
    language: str = Field(
        default="en", pattern=LANGUAGE_TAG, description="Language of the notices (a BCP-47 tag: `en`, `de`, `fr-CA`)."
    )

    @field_validator("categories")
    @classmethod
    def _each_category_once(cls, categories: list[str]) -> list[str]:
        if len(set(categories)) != len(categories):
            raise ValueError("a category appears twice")
        if "ALL" in categories and len(categories) > 1:
            raise ValueError("ALL already includes every category: list ALL alone, or the categories without ALL")
        return categories


class FindingsSettings(ConfigModel):
    """Security findings routed to the ticket path."""

    enabled: bool = Field(
        default=True,
        description=(
            "The findings topic, its subscription and the `SecurityFindingsNew` ticket; with `sccActivated`, "
            "Security Command Center's notification config publishing to it. Prod refuses false."
        ),
    )
    scc_activated: bool = Field(
        default=True,
        description=(
            "Security Command Center is activated for the project's organization (Standard, free) or the "
            "project (Premium): a notification config fails to create otherwise. False: the topic carries "
            "Sensitive Data Protection's high-risk profiles only (the fallback in docs/compliance.md)."
        ),
    )
    severities: list[FindingSeverity] = Field(
        default=["HIGH", "CRITICAL"],
        min_length=1,
        description="Severities of the active, unmuted findings published to the topic (each one opens a ticket).",
    )
    retention_days: int = Field(
        default=7,
        ge=1,
        le=31,
        description=(
            "Days the findings subscription keeps a message nobody pulled: the ticket's reader pulls the "
            "finding itself from there (Pub/Sub keeps at most 31 days)."
        ),
    )

    @field_validator("severities")
    @classmethod
    def _each_severity_once(cls, severities: list[str]) -> list[str]:
        if len(set(severities)) != len(severities):
            raise ValueError("a severity appears twice")
        return severities

    @property
    def filter(self) -> str:
        """SCC's filter: active, unmuted findings of the configured severities. OR binds tighter
        than AND in SCC's filter syntax; the parentheses say so anyway."""
        return finding_filter(self.severities)


def finding_filter(severities: Sequence[str]) -> str:
    """`state="ACTIVE" AND -mute="MUTED" AND (severity="HIGH" OR severity="CRITICAL")`: SCC's
    filter syntax negates a restriction with a leading `-`."""
    if not severities:
        raise ValueError("a finding filter needs at least one severity")
    chosen = " OR ".join(f'severity="{severity}"' for severity in severities)
    return f'state="ACTIVE" AND -mute="MUTED" AND ({chosen})'


class DiscoverySettings(ConfigModel):
    """Sensitive Data Protection's discovery over the usage dataset and the database."""

    enabled: bool = Field(
        default=True,
        description=(
            "Profile the usage dataset's tables and the Cloud SQL database for personal data. Billed per GB "
            "profiled: dev may turn it off; prod refuses false."
        ),
    )
    cloud_sql: bool = Field(
        default=True,
        description=(
            "Include the Cloud SQL database. Profiling starts once a person gives the connection Sensitive "
            "Data Protection creates its database login (docs/compliance.md); until then only BigQuery is profiled."
        ),
    )
    refresh_frequency: UpdateFrequency = Field(
        default="UPDATE_FREQUENCY_MONTHLY",
        description=(
            "How often an unchanged table is profiled again (each run is billed); schema changes are profiled "
            "again monthly whatever this says."
        ),
    )


class ComplianceSettings(ConfigModel):
    """Enterprise controls: Essential Contacts, security findings to tickets, personal data discovery."""

    contacts: list[EssentialContactSettings] = Field(
        default_factory=list,
        description=(
            "Essential Contacts of the project (email, categories, language). Prod needs SECURITY, BILLING, "
            "TECHNICAL and LEGAL covered (or ALL); each address once."
        ),
    )
    findings: FindingsSettings = Field(
        default_factory=FindingsSettings, description="Security findings to the ticket path (see FindingsSettings)."
    )
    discovery: DiscoverySettings = Field(
        default_factory=DiscoverySettings,
        description="Sensitive Data Protection discovery (see DiscoverySettings).",
    )

    @field_validator("contacts")
    @classmethod
    def _each_address_once(cls, contacts: list[EssentialContactSettings]) -> list[EssentialContactSettings]:
        seen: set[str] = set()
        for contact in contacts:
            address = contact.email.lower()
            if address in seen:
                raise ValueError(f"{contact.email!r} appears twice: list its categories under one entry")
            seen.add(address)
        return contacts

    def covered_categories(self) -> set[str]:
        """Every category some contact hears about (ALL counts as each of them)."""
        covered = {category for contact in self.contacts for category in contact.categories}
        return set(PROD_CONTACT_CATEGORIES) | covered if "ALL" in covered else covered

    def missing_prod_categories(self) -> list[str]:
        return [category for category in PROD_CONTACT_CATEGORIES if category not in self.covered_categories()]


def contact_key(email: str) -> str:
    """A resource name part from an address: `security@omni.example` → `security-omni-example`."""
    return re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")


def check_prod_controls(compliance: ComplianceSettings, environment: str | None) -> ComplianceSettings:
    """Prod keeps every control on (its contacts are a deployment problem: `missing_contacts_problem`)."""
    if environment != "prod":
        return compliance
    if not compliance.findings.enabled:
        raise ConfigConflict(
            "prod routes security findings to the ticket path: a finding nobody reads is a breach nobody sees",
            "compliance.findings.enabled",
        )
    if not compliance.discovery.enabled:
        raise ConfigConflict(
            "prod profiles its data stores for personal data: GDPR's record of processing needs to know where it is",
            "compliance.discovery.enabled",
        )
    return compliance


def missing_contacts_problem(compliance: ComplianceSettings, environment: str) -> str | None:
    """What a prod stack lacks of its Essential Contacts (a deployment problem: defaults cannot
    name inboxes, so the model cannot require them), or None."""
    if environment != "prod" or not (missing := compliance.missing_prod_categories()):
        return None
    return (
        f"prod needs an Essential Contact for {', '.join(missing)}: Google sends security incidents, billing, "
        "outage and legal notices only to contacts of those categories; add to the stack file e.g. "
        "`omni-infra:compliance: {contacts: [{email: security@your.domain, categories: [SECURITY]}]}`"
    )


FINDINGS_TOPIC_SUFFIX = "-security-findings"


def findings_topic(base_name: str) -> str:
    """The findings topic's name, `omni-prod-security-findings`: the alert's `topic_id`."""
    return f"{base_name}{FINDINGS_TOPIC_SUFFIX}"
