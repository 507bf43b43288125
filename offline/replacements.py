"""What a change to a resource of a given type means: replacement, data loss, protection.

Data, not logic. ``offline.diff`` reads four tables:

- ``FORCE_NEW``: input paths whose change makes the provider plan a NEW resource (Terraform
  ``ForceNew`` / ``immutable``, which the Pulumi bridge reports as a replace). Paths use the
  engine's camelCase names, dots for nesting and no list indices: a change anywhere under a
  listed path counts. Types not listed fall back to ``DEFAULT_FORCE_NEW``.
- ``CONDITIONAL_FORCE_NEW``: input paths that force a new resource only for some changes
  (Terraform ``customdiff.ForceNewIfChange``), each with a small ``(old, new) -> bool`` rule.
- ``STATEFUL_TYPES``: resources whose loss loses data (or something as hard to get back).
- ``PROTECTION_SWITCHES``: inputs that guard a resource against deletion.

Sources: the google provider schemas (hashicorp/terraform-provider-google and the
magic-modules product YAML it is generated from) and terraform-provider-random, read for the
provider generation that pulumi-gcp 10.2 / pulumi-random 4.21 bridge. ``FORCE_NEW`` lists
only unconditional ForceNew fields; the conditional ones that can be judged from the two values
alone are in ``CONDITIONAL_FORCE_NEW``, the rest are named in comments.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from offline.graph import UNKNOWN

# Unknown types: a new name or project is a new cloud object for nearly every GCP resource.
DEFAULT_FORCE_NEW: tuple[str, ...] = ("name", "project")

FORCE_NEW: dict[str, tuple[str, ...]] = {
    # IAM member grants cannot be edited: any change is a revoke plus a new grant.
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": ("name", "location", "project", "role", "member", "condition"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("secretId", "project", "role", "member", "condition"),
    "gcp:compute/network:Network": (
        "name",
        "project",
        "autoCreateSubnetworks",
        "description",
        "internalIpv6Range",
        "networkProfile",
        "params",  # resource manager tags, only sent on create
    ),
    # ipCidrRange is updated in place when it grows: see CONDITIONAL_FORCE_NEW.
    "gcp:compute/subnetwork:Subnetwork": (
        "name",
        "project",
        "region",
        "network",
        "description",
        "purpose",
        "params",
    ),
    # Every field but labels is immutable (labels go through setLabels).
    "gcp:compute/globalAddress:GlobalAddress": (
        "name",
        "project",
        "address",
        "addressType",
        "description",
        "ipVersion",
        "network",
        "prefixLength",
        "purpose",
    ),
    "gcp:compute/router:Router": (
        "name",
        "project",
        "region",
        "network",
        "encryptedInterconnectRouter",
    ),
    "gcp:compute/routerNat:RouterNat": (
        "name",
        "project",
        "region",
        "router",
        "type",
        "initialNatIps",
        "endpointTypes",
    ),
    # network is NOT ForceNew on firewalls: the rule is patched in place.
    "gcp:compute/firewall:Firewall": ("name", "project", "direction", "params"),
    # reservedPeeringRanges is patched in place; the connection has no name or project input.
    "gcp:servicenetworking/connection:Connection": ("network", "service"),
    "gcp:projects/service:Service": ("project", "service"),
    # databaseVersion is NOT listed: major version upgrades run in place. Shrinking
    # settings.diskSize is in CONDITIONAL_FORCE_NEW. Conditional replacements the engine
    # decides: removing settings.ipConfiguration.privateNetwork, changing masterInstanceName
    # outside a switchover.
    "gcp:sql/databaseInstance:DatabaseInstance": (
        "name",
        "project",
        "region",
        "encryptionKeyName",
        "masterInstanceName",
        "replicaConfiguration",
        "settings.collation",
        "settings.diskType",
    ),
    "gcp:sql/database:Database": ("name", "project", "instance"),  # charset/collation update
    "gcp:sql/user:User": ("name", "project", "instance", "host", "type"),  # password updates
    # redisVersion downgrades also force a new instance (upgrades run in place).
    "gcp:redis/instance:Instance": (
        "name",
        "project",
        "region",
        "locationId",
        "alternativeLocationId",
        "authorizedNetwork",
        "connectMode",
        "reservedIpRange",
        "tier",
        "transitEncryptionMode",
        "customerManagedKey",
    ),
    "gcp:memorystore/instance:Instance": (
        "instanceId",
        "location",
        "project",
        "authorizationMode",
        "transitEncryptionMode",
        "zoneDistributionConfig",
    ),
    # Cloud Run v2 patches everything else, template included (a new revision, same service).
    "gcp:cloudrunv2/service:Service": ("name", "location", "project"),
    "gcp:cloudrunv2/workerPool:WorkerPool": ("name", "location", "project"),
    "gcp:cloudrunv2/job:Job": ("name", "location", "project"),
    # replication is immutable as a block (a KMS key inside it may be updatable, but the
    # block is the safe unit to warn about); tags are create-only resource manager tags.
    "gcp:secretmanager/secret:Secret": ("secretId", "project", "replication", "tags"),
    # A new payload is a new version: versions are immutable. Only `enabled` updates.
    "gcp:secretmanager/secretVersion:SecretVersion": (
        "secret",
        "project",
        "secretData",
        "isSecretDataBase64",
        "secretDataWoVersion",
    ),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),  # displayName etc. update
    # remoteRepositoryConfig is immutable nearly field by field; treated as one block.
    "gcp:artifactregistry/repository:Repository": (
        "repositoryId",
        "location",
        "project",
        "format",
        "mode",
        "kmsKeyName",
        "mavenConfig.allowSnapshotOverwrites",
        "mavenConfig.versionPolicy",
        "remoteRepositoryConfig",
    ),
    # storageClass, versioning, lifecycle rules... are patched. Unlocking a locked
    # retentionPolicy also forces a new bucket (conditional, not listed).
    "gcp:storage/bucket:Bucket": (
        "name",
        "location",
        "project",
        "enableObjectRetention",
        "customPlacementConfig.dataLocations",
        "hierarchicalNamespace",
    ),
    # An IAM member binding has no update at all: any change is remove + add.
    "gcp:projects/iAMMember:IAMMember": ("project", "role", "member", "condition"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId", "role", "member", "condition"),
    # One audit config per service: the log types update in place.
    "gcp:projects/iAMAuditConfig:IAMAuditConfig": ("project", "service"),
    # A pool id, once deleted, stays reserved for 30 days: a replacement needs a new id.
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": ("workloadIdentityPoolId", "project", "mode"),
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": (
        "workloadIdentityPoolId",
        "workloadIdentityPoolProviderId",
        "project",
    ),
    # retentionDays and locked update in place (a locked retention only grows).
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": ("bucketId", "location", "project"),
    "gcp:logging/projectSink:ProjectSink": ("name", "project", "uniqueWriterIdentity"),
    # resource_google_project_iam_custom_role.go: role_id and project are ForceNew; title,
    # description, permissions and stage are updated in place.
    "gcp:projects/iAMCustomRole:IAMCustomRole": ("roleId", "project"),
    # magic-modules IAM2 DenyPolicy: the parameters parent and name are immutable; the rules
    # and the display name are updated in place.
    "gcp:iam/denyPolicy:DenyPolicy": ("parent", "name"),
    # Every argument of random_password is RequiresReplace: a change means a NEW password.
    "random:index/randomPassword:RandomPassword": (
        "keepers",
        "length",
        "lower",
        "upper",
        "special",
        "number",
        "numeric",
        "minLower",
        "minUpper",
        "minNumeric",
        "minSpecial",
        "overrideSpecial",
    ),
    # Everything but the project is patched in place, the PromQL condition included.
    "gcp:monitoring/alertPolicy:AlertPolicy": ("project",),
    # Patched in place, even its type; the sensitive labels are write-only (never read back).
    "gcp:monitoring/notificationChannel:NotificationChannel": ("project",),
    # The checked target cannot move: a new resource, host or checker type is a new check (and
    # a new check id, which the status page finds again by its label). Paths, period and
    # labels are patched.
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": (
        "project",
        "monitoredResource",
        "resourceGroup",
        "syntheticMonitor",
        "checkerType",
        "tcpCheck",
    ),
    # Schedule, target and retries are patched; the name and region are the job's identity.
    "gcp:cloudscheduler/job:Job": ("name", "project", "region"),
    "gcp:cloudrunv2/jobIamMember:JobIamMember": ("name", "location", "project", "role", "member", "condition"),
    # terraform-provider-pagerduty: only the integration has ForceNew inputs; schedules
    # (layers are ended, never removed), escalation policies and services are all updated in place.
    "pagerduty:index/serviceIntegration:ServiceIntegration": ("service", "type", "vendor", "emailFilters"),
    "pagerduty:index/schedule:Schedule": (),
    "pagerduty:index/escalationPolicy:EscalationPolicy": (),
    "pagerduty:index/service:Service": (),
    # Grafana's provisioning files. A new content is a new object (the program replaces them
    # delete-first: same bucket and name); metadata such as cacheControl is patched.
    "gcp:storage/bucketObject:BucketObject": (
        "bucket",
        "name",
        "content",
        "source",
        "contentType",
        "detectMd5hash",
        "customerEncryption",
        "kmsKeyName",
    ),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", "role", "member", "condition"),
    "gcp:iap/webCloudRunServiceIamMember:WebCloudRunServiceIamMember": (
        "project",
        "location",
        "cloudRunServiceName",
        "role",
        "member",
        "condition",
    ),
    # Creating a service agent is idempotent; nothing of it updates.
    "gcp:projects/serviceIdentity:ServiceIdentity": ("project", "service"),
    # pulumi-kubernetes (provider/pkg/provider/forcenew.go): a new name or namespace is a new
    # object for every kind; ConfigMap and Secret contents replace (the provider's default
    # until its `enableConfigMapMutable`/`enableSecretMutable`), as do immutable selectors and
    # a Service's cluster IP or type.
    "kubernetes:core/v1:Namespace": ("metadata.name", "metadata.namespace"),
    "kubernetes:core/v1:ConfigMap": ("metadata.name", "metadata.namespace", "binaryData", "data"),
    "kubernetes:core/v1:Secret": ("metadata.name", "metadata.namespace", "type", "stringData", "data"),
    "kubernetes:core/v1:Service": ("metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"),
    "kubernetes:apps/v1:Deployment": ("metadata.name", "metadata.namespace", "spec.selector"),
    "gcp:container/cluster:Cluster": (
        "name",
        "location",
        "project",
        "description",
        "network",
        "subnetwork",
        "networkingMode",
        "clusterIpv4Cidr",
        "initialNodeCount",
        "defaultMaxPodsPerNode",
        "enableAutopilot",
        "enableKubernetesAlpha",
        "enableTpu",
        "confidentialNodes",
        "masterAuth.clientCertificateConfig",
    ),
}

@dataclass(frozen=True)
class ConditionalForceNew:
    """An input whose change forces a new resource only when ``forces(old, new)`` says so.

    ``forces`` is called only when the value at ``path`` changed, with the plain values
    (``None`` where unset, the ``UNKNOWN`` marker where only known after apply). For an
    ``UNKNOWN`` value it answers true: a likely replacement is the safe thing to show a
    reviewer when the value is not known yet.
    """

    path: str
    forces: Callable[[Any, Any], bool]
    # Why a change that forces a new resource does so, for the reviewer.
    meaning: str


def cidr_not_expanded(old: Any, new: Any) -> bool:
    """terraform-provider-google ``IsShrinkageIpCidr``: only a range that still contains every
    address of the old one is patched in place; a shrink or a move forces a new subnetwork."""
    if new == UNKNOWN or old == UNKNOWN:
        return True
    try:
        old_net = ipaddress.ip_network(str(old), strict=False)
        new_net = ipaddress.ip_network(str(new), strict=False)
    except ValueError:
        return False  # as the provider: its validation rejects a malformed range anyway
    if isinstance(old_net, ipaddress.IPv4Network) and isinstance(new_net, ipaddress.IPv4Network):
        return not old_net.subnet_of(new_net)
    if isinstance(old_net, ipaddress.IPv6Network) and isinstance(new_net, ipaddress.IPv6Network):
        return not old_net.subnet_of(new_net)
    return True  # IPv4 to IPv6 or back: a different range altogether


def number_decreased(old: Any, new: Any) -> bool:
    """terraform-provider-google ``ForceNewIfChange("settings.0.disk_size", isDiskShrinkage)``:
    a smaller disk needs a new instance. ``diskSize`` is optional and computed, so unsetting it
    (or 0) is no change to the disk (which autoresize may have grown)."""
    if new == UNKNOWN:
        return True
    if not _is_number(old) or not _is_number(new) or new == 0:
        return False
    return new < old


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


CONDITIONAL_FORCE_NEW: dict[str, tuple[ConditionalForceNew, ...]] = {
    "gcp:compute/subnetwork:Subnetwork": (
        ConditionalForceNew(
            "ipCidrRange",
            cidr_not_expanded,
            "the new range does not contain the old one: only an expansion is done in place",
        ),
    ),
    "gcp:sql/databaseInstance:DatabaseInstance": (
        ConditionalForceNew(
            "settings.diskSize",
            number_decreased,
            "a Cloud SQL disk cannot shrink: a smaller size needs a new instance",
        ),
    ),
}


# Losing one of these loses data, credentials or an address other resources are built on.
STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:sql/database:Database",
        "gcp:sql/user:User",  # its grants and password go with it
        "gcp:redis/instance:Instance",
        "gcp:memorystore/instance:Instance",
        "gcp:storage/bucket:Bucket",
        "gcp:logging/projectBucketConfig:ProjectBucketConfig",  # the audit trail
        "gcp:secretmanager/secret:Secret",
        "gcp:secretmanager/secretVersion:SecretVersion",
        "gcp:artifactregistry/repository:Repository",
        "random:index/randomPassword:RandomPassword",  # a replacement is a new password
        # The private services range: Cloud SQL and Redis private IPs are allocated from it.
        "gcp:compute/globalAddress:GlobalAddress",
        "gcp:container/cluster:Cluster",  # workloads and their volumes live in it
        "pagerduty:index/service:Service",  # its incidents and their history go with it
    }
)


@dataclass(frozen=True)
class ProtectionSwitch:
    """An input that, while it holds one of ``protective`` values, guards against deletion."""

    path: str
    protective: frozenset[Any]
    # The provider's value when the input is not set, so "unset" is judged correctly.
    default: Any
    # What the reviewer must understand when the switch stops protecting.
    meaning: str


_DELETION_PROTECTION_OFF = "deletion protection turned off: the provider will now delete it"

PROTECTION_SWITCHES: dict[str, tuple[ProtectionSwitch, ...]] = {
    "gcp:sql/databaseInstance:DatabaseInstance": (
        ProtectionSwitch("deletionProtection", frozenset({True}), True, _DELETION_PROTECTION_OFF),
        ProtectionSwitch(
            "settings.deletionProtectionEnabled",
            frozenset({True}),
            False,
            "Cloud SQL's own deletion protection turned off: any API call can now delete it",
        ),
    ),
    "gcp:cloudrunv2/service:Service": (
        ProtectionSwitch("deletionProtection", frozenset({True}), True, _DELETION_PROTECTION_OFF),
    ),
    "gcp:cloudrunv2/workerPool:WorkerPool": (
        ProtectionSwitch("deletionProtection", frozenset({True}), True, _DELETION_PROTECTION_OFF),
    ),
    "gcp:cloudrunv2/job:Job": (
        ProtectionSwitch("deletionProtection", frozenset({True}), True, _DELETION_PROTECTION_OFF),
    ),
    "gcp:memorystore/instance:Instance": (
        ProtectionSwitch(
            "deletionProtectionEnabled", frozenset({True}), True, _DELETION_PROTECTION_OFF
        ),
    ),
    # Unset counts as protected: the provider refuses the delete until it is false in state.
    "gcp:redis/instance:Instance": (
        ProtectionSwitch("deletionProtection", frozenset({True}), True, _DELETION_PROTECTION_OFF),
    ),
    "gcp:container/cluster:Cluster": (
        ProtectionSwitch("deletionProtection", frozenset({True}), True, _DELETION_PROTECTION_OFF),
    ),
    "gcp:secretmanager/secret:Secret": (
        ProtectionSwitch("deletionProtection", frozenset({True}), False, _DELETION_PROTECTION_OFF),
    ),
    "gcp:storage/bucket:Bucket": (
        ProtectionSwitch(
            "forceDestroy",
            frozenset({False}),
            False,
            "forceDestroy turned on: deleting the bucket will also delete every object in it",
        ),
    ),
}

# pulumi-gcp 10.x gives every resource a `deletionPolicy`: PREVENT fails a delete, ABANDON
# (and DISABLE on secret versions) leaves the cloud object in place; DELETE really deletes.
GCP_DELETION_POLICY = ProtectionSwitch(
    "deletionPolicy",
    frozenset({"PREVENT", "ABANDON", "DISABLE"}),
    "DELETE",
    "deletion policy changed so that a delete now really deletes the cloud resource",
)


def force_new_paths(resource_type: str) -> tuple[str, ...]:
    """The input paths whose change replaces a resource of this type."""
    return FORCE_NEW.get(resource_type, DEFAULT_FORCE_NEW)


def conditional_force_new(resource_type: str) -> tuple[ConditionalForceNew, ...]:
    """The input paths that force a new resource of this type only for some changes."""
    return CONDITIONAL_FORCE_NEW.get(resource_type, ())


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL_TYPES


def protection_switches(resource_type: str) -> tuple[ProtectionSwitch, ...]:
    """Every deletion guard of this type, the provider-wide deletionPolicy included."""
    switches = PROTECTION_SWITCHES.get(resource_type, ())
    if resource_type.startswith("gcp:"):
        return (*switches, GCP_DELETION_POLICY)
    return switches
