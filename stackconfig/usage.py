"""Usage metering and invoicing settings (`usage.*`), and the names Google must accept.

The pipeline's names derive from the stack's base name (`omni-prod-usage-events`,
`omni_prod_usage`); they are checked here against Google's rules, so a name Pub/Sub or
BigQuery would refuse stops the run before any resource is declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import Field, field_validator

from .cron import check_cron, check_monthly
from .model_base import ConfigModel

# Pub/Sub topic, subscription and schema ids: 3-255 characters, a letter first, then letters,
# digits and `-_.~+%`, never starting with `goog`.
PUBSUB_ID = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$")
# BigQuery dataset ids: letters, digits and underscores, at most 1024 characters.
BIGQUERY_DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
# The longest suffix the component appends to the topic id: the dead-letter subscription.
TOPIC_SUFFIXES = ("-schema", "-bigquery", "-dead-letter", "-dead-letter-sub")
RELEASE = r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$"
MAX_RETENTION_DAYS = 3650


def check_pubsub_id(name: str) -> str:
    """A Pub/Sub resource id Google accepts, with every id the component derives from it."""
    for candidate in (name, *(name + suffix for suffix in TOPIC_SUFFIXES)):
        if candidate.lower().startswith("goog"):
            raise ValueError(f"Pub/Sub refuses {candidate!r}: ids must not start with `goog`")
        if not PUBSUB_ID.fullmatch(candidate):
            raise ValueError(
                f"Pub/Sub refuses {candidate!r}: ids are 3-255 characters, start with a letter, "
                "then letters, digits, -, _, ., ~, + or %"
            )
    return name


def check_dataset_id(name: str) -> str:
    if not BIGQUERY_DATASET_ID.fullmatch(name):
        raise ValueError(f"BigQuery refuses dataset id {name!r}: letters, digits and underscores only, at most 1024")
    return name


@dataclass(frozen=True)
class UsageNames:
    topic: str
    dataset: str


class UsageConfig(ConfigModel):
    """Usage metering (Pub/Sub into BigQuery) and monthly invoicing through Stripe."""

    enabled: bool = Field(
        default=True,
        description=(
            "The usage pipeline (topic, BigQuery dataset, views) and the invoicing job. On in staging and prod; "
            "a dev stack may turn it off (the app then gets no USAGE_TOPIC and must not publish)."
        ),
    )
    raw_retention_days: int = Field(
        default=400,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description=(
            "Days a raw usage event is kept (the events table's partition expiration): what the privacy policy "
            "allows. 400 keeps 13 months, so any invoice of the last year can be reproduced from its events."
        ),
    )
    invoice_schedule: str = Field(
        default="0 6 2 * *",
        description=(
            "When the invoicing job bills the previous month (unix-cron, UTC): once a month, on a day every month "
            "has. The 2nd at 06:00 leaves a day for late events to arrive."
        ),
    )
    reconcile_schedule: str = Field(
        default="30 7 * * *",
        description="When the job compares invoiced with metered units (unix-cron, UTC); daily catches late events.",
    )
    topic: str | None = Field(
        default=None,
        description="Pub/Sub topic id of the usage events; unset: `<namePrefix>-<environment>-usage-events`.",
    )
    dataset: str | None = Field(
        default=None,
        description="BigQuery dataset id; unset: `<namePrefix>_<environment>_usage` (dashes become underscores).",
    )
    stripe_key_added: bool = Field(
        default=False,
        description=(
            "An operator has added the Stripe key's first version to Secret Manager (docs/usage.md). Cloud Run refuses "
            "a job whose secret has no version, so until then the invoice job and its schedule are not declared (the "
            "secret and the reconcile job are); set it true once the key is there."
        ),
    )
    invoicing_release: str | None = Field(
        default=None,
        pattern=RELEASE,
        description=(
            "Tag or digest of the `omni-invoicing` image the invoicing job runs; unset: Google's placeholder job "
            "image, so the first `pulumi up` works before CI pushed one."
        ),
    )

    @field_validator("invoice_schedule")
    @classmethod
    def _monthly(cls, schedule: str) -> str:
        return check_monthly(schedule)

    @field_validator("reconcile_schedule")
    @classmethod
    def _cron(cls, schedule: str) -> str:
        check_cron(schedule)
        return schedule

    @field_validator("topic")
    @classmethod
    def _topic_id(cls, topic: str | None) -> str | None:
        return None if topic is None else check_pubsub_id(topic)

    @field_validator("dataset")
    @classmethod
    def _dataset_id(cls, dataset: str | None) -> str | None:
        return None if dataset is None else check_dataset_id(dataset)

    def names(self, base_name: str) -> UsageNames:
        """The topic and dataset ids, derived from the base name (`omni-prod`) where not set;
        ValueError when Google would refuse a derived one."""
        topic = self.topic or f"{base_name}-usage-events"
        dataset = self.dataset or f"{base_name.replace('-', '_')}_usage"
        try:
            check_pubsub_id(topic)
            check_dataset_id(dataset)
        except ValueError as error:
            raise ValueError(f"{error} (derived from namePrefix; set usage.topic or usage.dataset)") from None
        return UsageNames(topic, dataset)
