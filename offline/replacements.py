"""What a change to a resource of a given type means: replacement, data loss, protection.

Data, not logic. ``offline.diff`` reads four tables:

- ``FORCE_NEW``: input paths whose change makes the provider plan a NEW resource (Terraform
  ``ForceNew``, which the Pulumi bridge reports as a replace). Paths use the engine's camelCase
  names, dots for nesting and no list indices: a change anywhere under a listed path counts.
  For Google types they come from the provider's own schema (``offline.facts``, extracted by
  ``scripts/extract_provider_facts.py``); for the other providers from the hand-written
  ``OTHER_PROVIDERS_FORCE_NEW``. Types in neither fall back to ``DEFAULT_FORCE_NEW``.
- ``CONDITIONAL_FORCE_NEW``: input paths that force a new resource only for some changes: the
  provider's ``customdiff.ForceNewIfChange``/``ForceNewIf`` rules named in the extracted data
  (implemented in ``RULES``), plus ``GCP_CUSTOM_DIFF_OVERLAY`` for the CustomizeDiff functions
  that call ``d.ForceNew`` themselves, which no schema field records.
- ``STATEFUL_TYPES``: resources whose loss loses data (or something as hard to get back).
- ``PROTECTION_SWITCHES``: inputs that guard a resource against deletion.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from offline import facts
from offline.graph import UNKNOWN

# Unknown types: a new name or project is a new cloud object for nearly every GCP resource.
DEFAULT_FORCE_NEW: tuple[str, ...] = ("name", "project")

# Providers the extraction does not cover, read by hand for the versions the program pins.
OTHER_PROVIDERS_FORCE_NEW: dict[str, tuple[str, ...]] = {
    # terraform-provider-random resource_password.go: every argument is RequiresReplace, so a
    # change means a NEW password.
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
    # terraform-provider-pagerduty: only the integration has ForceNew inputs; schedules
    # (layers are ended, never removed), escalation policies and services are all updated in place.
    "pagerduty:index/serviceIntegration:ServiceIntegration": ("service", "type", "vendor", "emailFilters"),
    "pagerduty:index/schedule:Schedule": (),
    "pagerduty:index/escalationPolicy:EscalationPolicy": (),
    "pagerduty:index/service:Service": (),
    # pulumi-kubernetes (provider/pkg/provider/forcenew.go): a new name or namespace is a new
    # object for every kind; ConfigMap and Secret contents replace (the provider's default
    # until its `enableConfigMapMutable`/`enableSecretMutable`), as do immutable selectors and
    # a Service's cluster IP or type.
    "kubernetes:core/v1:Namespace": ("metadata.name", "metadata.namespace"),
    "kubernetes:core/v1:ConfigMap": ("metadata.name", "metadata.namespace", "binaryData", "data"),
    "kubernetes:core/v1:Secret": ("metadata.name", "metadata.namespace", "type", "stringData", "data"),
    "kubernetes:core/v1:Service": ("metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"),
    "kubernetes:apps/v1:Deployment": ("metadata.name", "metadata.namespace", "spec.selector"),
}


class _ForceNewTable(Mapping[str, tuple[str, ...]]):
    """Type -> force-new paths: the extracted Google facts, then the other providers' table."""

    def __getitem__(self, resource_type: str) -> tuple[str, ...]:
        type_facts = facts.for_type(resource_type)
        if type_facts is not None:
            return type_facts.force_new
        return OTHER_PROVIDERS_FORCE_NEW[resource_type]

    def __contains__(self, resource_type: object) -> bool:
        return isinstance(resource_type, str) and (
            facts.for_type(resource_type) is not None or resource_type in OTHER_PROVIDERS_FORCE_NEW
        )

    def __iter__(self) -> Iterator[str]:
        yield from sorted(facts.all_types() | set(OTHER_PROVIDERS_FORCE_NEW))

    def __len__(self) -> int:
        return len(facts.all_types() | set(OTHER_PROVIDERS_FORCE_NEW))


FORCE_NEW: Mapping[str, tuple[str, ...]] = _ForceNewTable()


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
    """``IsDiskShrinkage``/``isInstanceShrinkage``/``diskSizeCutomizeDiff``: a smaller number
    needs a new resource. Unsetting it (or 0, "computed") is no change to what exists."""
    if new == UNKNOWN:
        return True
    if not _is_number(old) or not _is_number(new) or new == 0:
        return False
    return new < old


_REDIS_VERSION = re.compile(r"REDIS_(\d+)_(\d+)")


def redis_version_decreased(old: Any, new: Any) -> bool:
    """``isRedisVersionDecreasing``: REDIS_X_Y read as X.Y; a lower version needs a new instance
    (an upgrade runs in place); values that are not REDIS_X_Y never force one."""
    if new == UNKNOWN:
        return True
    old_match, new_match = _REDIS_VERSION.search(str(old or "")), _REDIS_VERSION.search(str(new or ""))
    if old is None or new is None or old_match is None or new_match is None:
        return False
    return float(f"{new_match[1]}.{new_match[2]}") < float(f"{old_match[1]}.{old_match[2]}")


def turned_off(old: Any, new: Any) -> bool:
    """``isPolicyLocked``/``isBeenEnabled``: true before and false now (a locked retention
    policy unlocked, L4 subsetting disabled) needs a new resource."""
    if new == UNKNOWN:
        return True
    return old is True and new is False


def emptied(old: Any, new: Any) -> bool:
    """``ForceNewResourcePoliciesWorkloadPolicyIfNewIsEmpty``/``privateNetworkCustomizeDiff``:
    a value removed (set before, empty now) needs a new resource. A value known only after
    apply is a value being set, not a removal."""
    return old not in (None, "", UNKNOWN) and new in (None, "")


def _decided_by_provider(old: Any, new: Any) -> bool:
    # A rule the engine cannot judge from the two values (it reads other state): a likely
    # replacement is what a reviewer should see.
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# BigQuery column types the provider treats as the same type.
_BIGQUERY_SAME_TYPES = ({"INTEGER", "INT64"}, {"FLOAT", "FLOAT64"}, {"BOOLEAN", "BOOL"})


def _bigquery_columns(schema: Any) -> dict[str, dict[str, Any]] | None:
    try:
        columns = json.loads(schema) if isinstance(schema, str) else schema
        return {str(column["name"]).lower(): column for column in columns}
    except (TypeError, ValueError, KeyError):
        return None


def _bigquery_type_changed(old: Any, new: Any) -> bool:
    old_type, new_type = str(old).upper(), str(new).upper()
    return old_type != new_type and not any({old_type, new_type} <= same for same in _BIGQUERY_SAME_TYPES)


def bigquery_schema_not_changeable(old: Any, new: Any) -> bool:
    """terraform-provider-google ``resourceBigQueryTableSchemaIsChangeable``: a table keeps its
    data only while columns are added (never REQUIRED ones) or relaxed from REQUIRED to
    NULLABLE; dropping a column, changing its type or tightening its mode needs a new table."""
    if old is None or new is None:
        return False  # a view, or a schema left to BigQuery
    if new == UNKNOWN:
        return True
    old_columns, new_columns = _bigquery_columns(old), _bigquery_columns(new)
    if old_columns is None or new_columns is None:
        return True
    if not old_columns.keys() <= new_columns.keys():
        return True
    if any(
        str(column.get("mode", "NULLABLE")).upper() == "REQUIRED"
        for key, column in new_columns.items()
        if key not in old_columns
    ):
        return True
    for key, column in old_columns.items():
        after = new_columns[key]
        if _bigquery_type_changed(column.get("type"), after.get("type")):
            return True
        old_mode, new_mode = (str(c.get("mode") or "NULLABLE").upper() for c in (column, after))
        if old_mode != new_mode and not (old_mode == "REQUIRED" and new_mode == "NULLABLE"):
            return True
    return False


# The provider's named ForceNewIfChange/ForceNewIf rules, as read in its source.
RULES: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "IsShrinkageIpCidr": (
        cidr_not_expanded,
        "the new range does not contain the old one: only an expansion is done in place",
    ),
    "IsDiskShrinkage": (number_decreased, "a disk cannot shrink: a smaller size needs a new one"),
    "isInstanceShrinkage": (number_decreased, "instance counts only grow in place: fewer needs a new connector"),
    "isRedisVersionDecreasing": (
        redis_version_decreased,
        "a Redis version downgrade needs a new instance (upgrades run in place)",
    ),
    "isPolicyLocked": (turned_off, "a locked retention policy cannot be unlocked: a new bucket"),
    "isBeenEnabled": (turned_off, "turning the feature off again needs a new cluster"),
    "ForceNewResourcePoliciesWorkloadPolicyIfNewIsEmpty": (emptied, "removing the workload policy needs a new group"),
}

# CustomizeDiff functions of terraform-provider-google-beta that force a new resource by calling
# `d.ForceNew` themselves: no schema field records them, so they are read by hand (source named).
GCP_CUSTOM_DIFF_OVERLAY: dict[str, tuple[ConditionalForceNew, ...]] = {
    "gcp:bigquery/table:Table": (
        # services/bigquery/resource_bigquery_table.go resourceBigQueryTableSchemaCustomizeDiff
        ConditionalForceNew(
            "schema",
            bigquery_schema_not_changeable,
            "a column dropped, retyped, tightened or added as REQUIRED: BigQuery needs a new table (its rows are lost)",
        ),
    ),
    "gcp:sql/databaseInstance:DatabaseInstance": (
        # services/sql/resource_sql_database_instance.go diskSizeCutomizeDiff
        ConditionalForceNew(
            "settings.diskSize",
            number_decreased,
            "a Cloud SQL disk cannot shrink: a smaller size needs a new instance",
        ),
        # services/sql/resource_sql_database_instance.go privateNetworkCustomizeDiff
        ConditionalForceNew(
            "settings.ipConfiguration.privateNetwork",
            emptied,
            "removing the private network from an instance needs a new instance",
        ),
    ),
}


@cache
def _conditional(resource_type: str) -> tuple[ConditionalForceNew, ...]:
    rules: list[ConditionalForceNew] = list(GCP_CUSTOM_DIFF_OVERLAY.get(resource_type, ()))
    type_facts = facts.for_type(resource_type)
    for path, rule_name in sorted((type_facts.force_new_if if type_facts else {}).items()):
        forces, meaning = RULES.get(
            rule_name,
            (_decided_by_provider, f"the provider decides at plan time ({rule_name}); shown as a likely replacement"),
        )
        rules.append(ConditionalForceNew(path, forces, meaning))
    return tuple(rules)


class _ConditionalTable(Mapping[str, tuple[ConditionalForceNew, ...]]):
    """Type -> conditional rules, for every type that has one."""

    def _types(self) -> list[str]:
        with_rules = {t for t in facts.all_types() if (found := facts.for_type(t)) is not None and found.force_new_if}
        return sorted(with_rules | set(GCP_CUSTOM_DIFF_OVERLAY))

    def __getitem__(self, resource_type: str) -> tuple[ConditionalForceNew, ...]:
        rules = _conditional(resource_type)
        if not rules:
            raise KeyError(resource_type)
        return rules

    def __iter__(self) -> Iterator[str]:
        return iter(self._types())

    def __len__(self) -> int:
        return len(self._types())


CONDITIONAL_FORCE_NEW: Mapping[str, tuple[ConditionalForceNew, ...]] = _ConditionalTable()


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
        # Usage events and invoices (a view is recreated from its query, but shares the type).
        "gcp:bigquery/dataset:Dataset",
        "gcp:bigquery/table:Table",
        "random:index/randomPassword:RandomPassword",  # a replacement is a new password
        # The private services range: Cloud SQL and Redis private IPs are allocated from it.
        "gcp:compute/globalAddress:GlobalAddress",
        "gcp:container/cluster:Cluster",  # workloads and their volumes live in it
        "pagerduty:index/service:Service",  # its incidents and their history go with it
        "gcp:identityplatform/tenant:Tenant",  # an enterprise customer's users are deleted with it
    }
)


# Replacing one of these interrupts public traffic, however the replacement is ordered: what a
# reviewer must know before approving it. (Pulumi creates a replacement first when the program
# leaves the name to it, as the edge does; the interruption below remains.)
@dataclass(frozen=True)
class Outage:
    """What replacing a resource does to public traffic, for the resources `applies` to (by their inputs)."""

    meaning: str
    applies: Callable[[Any], bool] = lambda inputs: True


def _external_address(inputs: Any) -> bool:
    # The private services range is a GlobalAddress too (INTERNAL, VPC_PEERING, on a network):
    # not public. EXTERNAL is the provider's default type; only internal addresses take a network.
    if not isinstance(inputs, dict):
        return False
    internal_only = ("network", "purpose", "prefixLength")
    return inputs.get("addressType", "EXTERNAL") == "EXTERNAL" and not any(key in inputs for key in internal_only)


OUTAGE_ON_REPLACE: dict[str, Outage] = {
    "gcp:compute/globalAddress:GlobalAddress": Outage(
        "a new public IP address: every host's A record must change, and clients keep resolving the old "
        "address until their DNS caches expire",
        _external_address,
    ),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": Outage(
        "the public listener is deleted and re-created on the address: connections are refused in between"
    ),
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": Outage(
        "the backend's serverless NEG is swapped: requests in flight to the old one fail, and the old one "
        "cannot be deleted while a backend service still uses it"
    ),
    "gcp:certificatemanager/certificate:Certificate": Outage(
        "a new Google-managed certificate is issued from scratch (minutes to hours): the host serves no valid "
        "certificate until it is active"
    ),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": Outage(
        "a new managed certificate is provisioned from scratch: HTTPS fails for its domains until it is active"
    ),
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": Outage(
        "a new DNS authorization comes with a new CNAME record to publish: its certificate cannot be issued "
        "or renewed until the record is changed"
    ),
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": Outage(
        "deleted before its replacement exists (one entry per host): the host serves no certificate in between"
    ),
}


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
        ProtectionSwitch("deletionProtectionEnabled", frozenset({True}), True, _DELETION_PROTECTION_OFF),
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
    # The provider's default is true: unset counts as protected.
    "gcp:bigquery/table:Table": (
        ProtectionSwitch("deletionProtection", frozenset({True}), True, _DELETION_PROTECTION_OFF),
    ),
    "gcp:bigquery/dataset:Dataset": (
        ProtectionSwitch(
            "deleteContentsOnDestroy",
            frozenset({False}),
            False,
            "deleteContentsOnDestroy turned on: deleting the dataset will also delete its tables",
        ),
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
    return _conditional(resource_type)


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL_TYPES


def outage_on_replace(resource_type: str, inputs: Any) -> str | None:
    """What replacing this resource (its type, its inputs) does to public traffic; None when nothing."""
    outage = OUTAGE_ON_REPLACE.get(resource_type)
    return outage.meaning if outage is not None and outage.applies(inputs) else None


def protection_switches(resource_type: str) -> tuple[ProtectionSwitch, ...]:
    """Every deletion guard of this type, the provider-wide deletionPolicy included."""
    switches = PROTECTION_SWITCHES.get(resource_type, ())
    if resource_type.startswith("gcp:"):
        return (*switches, GCP_DELETION_POLICY)
    return switches
