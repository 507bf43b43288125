"""Customer-managed encryption (CMEK): a Cloud KMS key ring, one key per data class, and the
grants that let each Google service agent use its key.

- **Keys per data class**: the database, the caches, objects in buckets, analytics (BigQuery),
  messages (Pub/Sub) and container images each have their own key, so disabling one (an incident,
  an erasure) does not take the others down, and audit logs say which data was touched.
- **Location**: every key lives in the stack's region, as every data store that uses one does:
  Cloud KMS only lets a service use a key in the data store's own location (docs/encryption.md
  cites each product's rule).
- **Rotation**: a new primary version every `rotation_period_days`; older versions keep
  decrypting what they encrypted, so rotation never re-encrypts or loses data.
- **Deletion**: destroying a key version makes everything it encrypted unreadable. The keys are
  Pulumi-protected with the stack's stateful resources, and a destroyed version stays restorable
  for `destroy_scheduled_days`; the KeyVersionDisabledOrDestroyed alert says when it happens.
- **Grants**: each service agent gets `roles/cloudkms.cryptoKeyEncrypterDecrypter` on its key
  only. A data store must be created after its grant (the API refuses a key it cannot use), so
  `CustomerKey.after()` is the dependency to add to it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from stackconfig.encryption import EncryptionSettings

REQUIRED_APIS = ("cloudkms.googleapis.com",)
ENCRYPTER_DECRYPTER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
ALGORITHM = "GOOGLE_SYMMETRIC_ENCRYPTION"
# The log-based metric counting key versions disabled or scheduled for destruction (Managed
# Prometheus: logging_googleapis_com:user_<name>).
KEY_EVENTS_METRIC = "kms_key_version_disabled_or_destroyed"
# Cloud KMS audit logs (Admin Activity, always on; kms/docs/audit-logging): disabling is an
# UpdateCryptoKeyVersion whose request sets state DISABLED; destroying is DestroyCryptoKeyVersion.
KEY_EVENTS_FILTER = (
    'protoPayload.serviceName="cloudkms.googleapis.com" AND ('
    'protoPayload.methodName:"DestroyCryptoKeyVersion" OR '
    '(protoPayload.methodName:"UpdateCryptoKeyVersion" AND protoPayload.request.cryptoKeyVersion.state="DISABLED"))'
)


class DataClass(enum.StrEnum):
    """What a key protects: one key each."""

    DATABASE = "database"  # Cloud SQL: the primary, its replica, their backups
    CACHE = "cache"  # Memorystore for Redis: the cache and the Celery broker
    OBJECTS = "objects"  # Cloud Storage buckets
    ANALYTICS = "analytics"  # BigQuery: the usage dataset and its tables
    MESSAGING = "messaging"  # Pub/Sub: the usage topic and its dead letters
    IMAGES = "images"  # Artifact Registry: the container images


# The service agent that encrypts each data class's data with our key, by the API it belongs to.
# Four are created with a ServiceIdentity (they may not exist until someone asks), whose email is
# the product's documented `service-<project number>@...` address; Cloud Storage and BigQuery have
# their own lookups, which create the agent and return it (docs/encryption.md, "Service agents").
IDENTITY_AGENTS: dict[DataClass, tuple[str, str]] = {
    DataClass.DATABASE: ("sqladmin.googleapis.com", "gcp-sa-cloud-sql.iam.gserviceaccount.com"),
    DataClass.CACHE: ("redis.googleapis.com", "cloud-redis.iam.gserviceaccount.com"),
    DataClass.MESSAGING: ("pubsub.googleapis.com", "gcp-sa-pubsub.iam.gserviceaccount.com"),
    DataClass.IMAGES: ("artifactregistry.googleapis.com", "gcp-sa-artifactregistry.iam.gserviceaccount.com"),
}


def agent_member(data_class: DataClass, project_number: str) -> str:
    """The IAM member of a ServiceIdentity-created agent: `serviceAccount:service-<n>@<domain>`."""
    _, domain = IDENTITY_AGENTS[data_class]
    return f"serviceAccount:service-{project_number}@{domain}"


@dataclass(frozen=True)
class CustomerKey:
    """A key a data store encrypts with, and the grant the data store must be created after."""

    key_id: pulumi.Input[str]
    """`projects/P/locations/L/keyRings/R/cryptoKeys/K`: what every product's key field takes."""
    grants: Sequence[pulumi.Resource] = field(default_factory=tuple)

    def after(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(depends_on=list(self.grants))


def key_ring_name(base_name: str) -> str:
    """`omni-prod-keys`. Cloud KMS never deletes a key ring, nor lets its name be reused in the
    location: the name is fixed once and for all (no random suffix)."""
    return f"{base_name}-keys"


@dataclass(frozen=True)
class EncryptionArgs:
    project: str
    location: str
    """The key ring's location: the stack's region, where every data store using a key lives."""
    data_classes: Sequence[DataClass]
    """The classes of data the stack stores: a key each (a key nobody uses is a cost for nothing)."""
    settings: EncryptionSettings = field(default_factory=EncryptionSettings)
    """Rotation, protection level, destroy delay; see `EncryptionSettings`."""
    labels: dict[str, str] = field(default_factory=dict)
    protect: bool = True
    """Pulumi `protect` on the keys: deleting a key destroys every version, and with them the data."""


class Encryption(pulumi.ComponentResource):
    """The stack's key ring, its keys, the service agents' grants and the key-events metric."""

    key_ring: gcp.kms.KeyRing
    keys: dict[DataClass, CustomerKey]

    def __init__(self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:encryption:Encryption", name, None, opts)
        child = child_options(self, opts)
        stateful = child_options(self, opts, protect=args.protect)
        settings = args.settings

        self.key_ring = gcp.kms.KeyRing(
            f"{name}-keys", name=key_ring_name(name), project=args.project, location=args.location, opts=stateful
        )
        project_number = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number

        self.keys = {}
        for data_class in dict.fromkeys(args.data_classes):
            key = gcp.kms.CryptoKey(
                f"{name}-{data_class.value}-key",
                name=data_class.value,
                key_ring=self.key_ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=settings.rotation_period,
                destroy_scheduled_duration=settings.destroy_scheduled_duration,
                version_template=gcp.kms.CryptoKeyVersionTemplateArgs(
                    algorithm=ALGORITHM, protection_level=settings.protection_level
                ),
                labels={**args.labels, "data-class": data_class.value},
                opts=stateful,
            )
            member, waits = self._agent(name, args.project, data_class, project_number, child)
            grant = gcp.kms.CryptoKeyIAMMember(
                f"{name}-{data_class.value}-key-user",
                crypto_key_id=key.id,
                role=ENCRYPTER_DECRYPTER_ROLE,
                member=member,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=waits)),
            )
            self.keys[data_class] = CustomerKey(key_id=key.id, grants=(grant,))

        # Disabling or destroying a key version cuts a data store off from its data: count each.
        gcp.logging.Metric(
            f"{name}-key-events",
            project=args.project,
            name=KEY_EVENTS_METRIC,
            description="Cloud KMS key versions disabled or scheduled for destruction, by key and method",
            filter=KEY_EVENTS_FILTER,
            metric_descriptor={
                "metric_kind": "DELTA",
                "value_type": "INT64",
                "unit": "1",
                "labels": [
                    {"key": "key_ring", "value_type": "STRING", "description": "Key ring of the key version"},
                    {"key": "crypto_key", "value_type": "STRING", "description": "Key of the key version"},
                    {"key": "method", "value_type": "STRING", "description": "The Cloud KMS method called"},
                ],
            },
            label_extractors={
                "key_ring": "EXTRACT(resource.labels.key_ring_id)",
                "crypto_key": "EXTRACT(resource.labels.crypto_key_id)",
                "method": "EXTRACT(protoPayload.methodName)",
            },
            opts=child,
        )
        self.register_outputs(
            {"key_ring": self.key_ring.id, "keys": {data_class.value: k.key_id for data_class, k in self.keys.items()}}
        )

    def key(self, data_class: DataClass) -> CustomerKey | None:
        return self.keys.get(data_class)

    def _agent(
        self,
        name: str,
        project: str,
        data_class: DataClass,
        project_number: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        """The data class's service agent as an IAM member, and what its grant must wait for."""
        lookup = pulumi.InvokeOutputOptions(parent=self)
        if data_class is DataClass.OBJECTS:
            return gcp.storage.get_project_service_account_output(project=project, opts=lookup).member, []
        if data_class is DataClass.ANALYTICS:
            return gcp.bigquery.get_default_service_account_output(project=project, opts=lookup).member, []
        service, _ = IDENTITY_AGENTS[data_class]
        identity = gcp.projects.ServiceIdentity(
            f"{name}-{data_class.value}-agent", project=project, service=service, opts=child
        )
        return project_number.apply(lambda number: agent_member(data_class, number)), [identity]
