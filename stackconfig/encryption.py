"""Customer-managed encryption settings (`encryption.*`): the Cloud KMS key ring of the stack,
one key per data class, and how those keys rotate.

Every default is the production choice: on, rotated every 90 days, software keys. A dev stack
may turn it off (keys and their operations cost money; docs/encryption.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .model_base import ConfigModel

SECONDS_PER_DAY = 24 * 3600
# Cloud KMS: automatic rotation at least every day, at most every 100 years (kms/docs/key-rotation).
MIN_ROTATION_DAYS = 1
MAX_ROTATION_DAYS = 36500
# Cloud KMS keeps a destroyed version scheduled for 1 to 120 days before the material is gone.
MIN_DESTROY_SCHEDULED_DAYS = 1
MAX_DESTROY_SCHEDULED_DAYS = 120


class EncryptionSettings(ConfigModel):
    """Customer-managed encryption keys (CMEK) for every data store that takes one."""

    enabled: bool = Field(
        default=True,
        description=(
            "A Cloud KMS key ring with one key per data class, used by Cloud SQL, Memorystore, the buckets, "
            "BigQuery, Pub/Sub and Artifact Registry. Prod keeps it on (refused otherwise, and the policy pack "
            "refuses a prod data store without a key); dev may turn it off. Turning it on for existing data stores "
            "replaces some of them: read docs/encryption.md first."
        ),
    )
    rotation_period_days: int = Field(
        default=90,
        ge=MIN_ROTATION_DAYS,
        le=MAX_ROTATION_DAYS,
        description=(
            "Days between automatic rotations of every key (a new primary version; old versions keep decrypting "
            "what they encrypted). 90 is the common compliance ceiling; each rotation adds a billed key version."
        ),
    )
    protection_level: Literal["SOFTWARE", "HSM"] = Field(
        default="SOFTWARE",
        description=(
            "Where the key material lives: SOFTWARE, or HSM (FIPS 140-2 Level 3 hardware, priced per version "
            "several times higher). Fixed when a key is created: changing it replaces the keys, and with them "
            "every data store they protect."
        ),
    )
    destroy_scheduled_days: int = Field(
        default=30,
        ge=MIN_DESTROY_SCHEDULED_DAYS,
        le=MAX_DESTROY_SCHEDULED_DAYS,
        description=(
            "Days a destroyed key version stays restorable before its material is gone for good (fixed when a key "
            "is created). 30 is Google's default: time to notice the KeyVersionDisabledOrDestroyed alert and undo."
        ),
    )

    @property
    def rotation_period(self) -> str:
        """The rotation period as Cloud KMS takes it: seconds, `7776000s`."""
        return f"{self.rotation_period_days * SECONDS_PER_DAY}s"

    @property
    def destroy_scheduled_duration(self) -> str:
        return f"{self.destroy_scheduled_days * SECONDS_PER_DAY}s"
