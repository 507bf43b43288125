"""The omni-infra policies: one implementation of each rule, run in two places.

- In CI, `pulumi preview --policy-pack policy` runs them through pulumi-policy's
  `ResourceValidationPolicy` (`policy/__main__.py` builds a `PolicyResource` from the
  `ResourceValidationArgs`).
- Offline, `omni check` runs them over every stack's recorded graph (`check_graph`), where
  each custom resource becomes a `PolicyResource` with the same shape.

Either way a rule sees the resource's type, its inputs in the provider's camelCase (as the
engine receives them), its `protect` option, its parent and its provider's inputs (for the
stack's default labels). A value only known after apply is the ``UNKNOWN`` marker in both
places; a rule never guesses about it.

This module imports nothing outside the standard library and `offline.replacements`, so the
policy pack's own small virtualenv runs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from offline import replacements
from offline.graph import STACK_TYPE, UNKNOWN

PACK_NAME = "omni-infra"


class Enforcement(StrEnum):
    """pulumi-policy's enforcement levels: mandatory fails the preview, advisory warns."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"


@dataclass(frozen=True)
class PolicyResource:
    """What a rule may read about one resource, the same offline and under pulumi-policy."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    protect: bool = False
    parent: str | None = None
    provider_inputs: Mapping[str, Any] = field(default_factory=dict)
    """The inputs of the resource's provider: its `defaultLabels` reach every labelled resource."""

    @property
    def default_labels(self) -> dict[str, str]:
        """The provider's default labels (the engine passes provider inputs as JSON strings)."""
        return _as_mapping(self.provider_inputs.get("defaultLabels"))

    @property
    def environment(self) -> str:
        """`dev`, `staging` or `prod`, from the `environment` label; a resource that does not
        say is judged as prod, the strict choice."""
        labels = {**self.default_labels, **_own_labels(self)}
        value = labels.get("environment")
        return value if isinstance(value, str) and value in ("dev", "staging") else "prod"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    enforcement: Enforcement
    check: Callable[[PolicyResource], Iterator[str]]
    """Yields one message per problem; yields nothing when the resource complies."""


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: Enforcement
    urn: str
    type: str
    name: str
    message: str


# --- reading inputs ------------------------------------------------------------------------


def _at(data: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path, or ``default`` where any part is missing."""
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return default
        data = data[part]
    return data


def _as_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            decoded = json.loads(value)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


def _is_unknown(value: Any) -> bool:
    return value == UNKNOWN


# --- the rules -----------------------------------------------------------------------------

SQL_INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS_INSTANCE = "gcp:redis/instance:Instance"
CLOUD_RUN_SERVICE = "gcp:cloudrunv2/service:Service"
CLOUD_RUN_TYPES = frozenset({CLOUD_RUN_SERVICE, "gcp:cloudrunv2/workerPool:WorkerPool", "gcp:cloudrunv2/job:Job"})


def sql_has_no_public_ip(resource: PolicyResource) -> Iterator[str]:
    if resource.type != SQL_INSTANCE:
        return
    ip = _at(resource.inputs, "settings.ipConfiguration", {})
    # Unset means a public IP: Cloud SQL assigns one unless ipv4Enabled is false.
    if _at(ip, "ipv4Enabled", True) is not False and not _is_unknown(_at(ip, "ipv4Enabled")):
        yield "Cloud SQL instance has a public IP: set settings.ipConfiguration.ipv4Enabled to false (private IP only)"
    if _at(ip, "authorizedNetworks"):
        yield "Cloud SQL instance lists authorizedNetworks: networks allowed to reach a public IP"


SQL_ENCRYPTED_MODES = frozenset({"ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"})
REDIS_ENCRYPTED_MODES = frozenset({"SERVER_AUTHENTICATION"})


def ssl_enforced(resource: PolicyResource) -> Iterator[str]:
    if resource.type == SQL_INSTANCE:
        mode = _at(resource.inputs, "settings.ipConfiguration.sslMode")
        legacy = _at(resource.inputs, "settings.ipConfiguration.requireSsl")
        if mode not in SQL_ENCRYPTED_MODES and legacy is not True and not _is_unknown(mode):
            yield (
                f"Cloud SQL accepts unencrypted connections (sslMode {mode or 'unset'}): "
                "set settings.ipConfiguration.sslMode to ENCRYPTED_ONLY"
            )
    elif resource.type == REDIS_INSTANCE:
        mode = resource.inputs.get("transitEncryptionMode")
        if mode not in REDIS_ENCRYPTED_MODES and not _is_unknown(mode):
            yield (
                f"Redis accepts plain-text connections (transitEncryptionMode {mode or 'unset'}): "
                "set it to SERVER_AUTHENTICATION"
            )


def redis_not_public(resource: PolicyResource) -> Iterator[str]:
    """Memorystore has no internet endpoint; "public" here is reachable by anything on the
    project's `default` network, or reachable without a password."""
    if resource.type != REDIS_INSTANCE:
        return
    network = str(resource.inputs.get("authorizedNetwork") or "")
    if not network or network.rsplit("/", 1)[-1] == "default":
        yield (
            "Redis is on the project's default network (authorizedNetwork unset or default): put it on the private VPC"
        )
    if resource.inputs.get("authEnabled") is not True:
        yield "Redis AUTH is off: anyone on the network can read and write it; set authEnabled to true"


def prod_stateful_protected(resource: PolicyResource) -> Iterator[str]:
    if resource.environment != "prod" or resource.type not in GUARDED_STATEFUL_TYPES:
        return
    if resource.type == REGISTRY and resource.inputs.get("mode") in CACHE_MODES:
        return  # a remote or virtual repository only caches or points at other repositories
    if not resource.protect:
        yield "a prod stateful resource without Pulumi protect: set protect=True (config `protect`)"
    switches = replacements.protection_switches(resource.type)
    if switches and not any(_guards(resource.inputs, switch) for switch in switches):
        paths = ", ".join(switch.path for switch in switches)
        yield f"a prod stateful resource the provider would delete: turn on its deletion guard ({paths})"


REGISTRY = "gcp:artifactregistry/repository:Repository"
CACHE_MODES = frozenset({"REMOTE_REPOSITORY", "VIRTUAL_REPOSITORY"})
# Data stores of the program: losing one loses data. Derived values (passwords, secret
# versions, IAM database users) are stateful for the diff, but they are re-created, not restored.
GUARDED_STATEFUL_TYPES = frozenset(
    {
        SQL_INSTANCE,
        "gcp:sql/database:Database",
        REDIS_INSTANCE,
        "gcp:memorystore/instance:Instance",
        "gcp:storage/bucket:Bucket",
        "gcp:secretmanager/secret:Secret",
        REGISTRY,
        "gcp:logging/projectBucketConfig:ProjectBucketConfig",
        "gcp:identityplatform/tenant:Tenant",  # its users go with it
    }
)


def _guards(inputs: Mapping[str, Any], switch: replacements.ProtectionSwitch) -> bool:
    value = _at(inputs, switch.path, switch.default)
    # ABANDON keeps the cloud object; only a switch that refuses the delete counts here.
    return value in switch.protective and value not in ("ABANDON", "DISABLE")


PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


def no_primitive_roles(resource: PolicyResource) -> Iterator[str]:
    if "iam" not in resource.type.lower():
        return
    roles: list[Any] = [resource.inputs.get("role")]
    # An authoritative policy carries its bindings as JSON in policyData.
    policy = _as_mapping(resource.inputs.get("policyData"))
    roles += [b.get("role") for b in policy.get("bindings") or [] if isinstance(b, Mapping)]
    for role in roles:
        if role in PRIMITIVE_ROLES:
            yield f"grants the primitive role {role}: grant the predefined roles the member needs instead"


# Words that, ending an environment variable's name, say it holds a credential
# (REDIS_CACHE_AUTH, OMNI_SECRET_KEY); the same word earlier names a setting (GF_AUTH_JWT_ENABLED).
SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "TOKEN", "KEY", "SECRET", "AUTH", "CREDENTIALS", "APIKEY"})
BOOLEAN_FLAGS = frozenset({"true", "false"})


def looks_secret(env_name: str) -> bool:
    return env_name.upper().rsplit("_", 1)[-1] in SECRET_WORDS


def no_plain_secret_env(resource: PolicyResource) -> Iterator[str]:
    if resource.type not in CLOUD_RUN_TYPES:
        return
    for env in _envs(resource.inputs):
        env_name = env.get("name")
        if not isinstance(env_name, str) or not looks_secret(env_name):
            continue
        if _at(env, "valueSource.secretKeyRef.secret"):
            continue
        value = env.get("value")
        # A boolean is a switch (DATABASE_IAM_AUTH=true), never a credential.
        if isinstance(value, str) and value.lower() in BOOLEAN_FLAGS:
            continue
        yield (
            f"env {env_name} looks like a secret but is a plain value: reference Secret Manager "
            "(valueSource.secretKeyRef)"
        )


def _envs(data: Any) -> Iterator[Mapping[str, Any]]:
    """Every container env entry, wherever the type nests its containers."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key == "envs" and isinstance(value, Sequence) and not isinstance(value, str):
                yield from (env for env in value if isinstance(env, Mapping))
            else:
                yield from _envs(value)
    elif isinstance(data, Sequence) and not isinstance(data, str):
        for item in data:
            yield from _envs(item)


def cloud_run_ingress_restricted(resource: PolicyResource) -> Iterator[str]:
    if resource.type != CLOUD_RUN_SERVICE or resource.environment == "prod":
        return  # prod: the mandatory rule below
    yield from _open_ingress(resource)


def prod_cloud_run_ingress_restricted(resource: PolicyResource) -> Iterator[str]:
    if resource.type != CLOUD_RUN_SERVICE or resource.environment != "prod":
        return
    yield from _open_ingress(resource)


def _open_ingress(resource: PolicyResource) -> Iterator[str]:
    ingress = resource.inputs.get("ingress", "INGRESS_TRAFFIC_ALL")
    # IAP on the service itself authenticates every request before it reaches the container.
    if ingress == "INGRESS_TRAFFIC_ALL" and resource.inputs.get("iapEnabled") is not True:
        yield (
            "ingress is open to the whole internet with no load balancer (no Cloud Armor, no "
            "WAF) and no IAP in front: put it behind an HTTPS load balancer and set its ingress "
            "to internal-and-cloud-load-balancing, or turn on IAP"
        )


REQUIRED_LABELS = ("app", "environment", "team", "cost-center")
# Where each type keeps the labels it takes, and whether the provider's default labels reach
# it (Cloud SQL's `userLabels` is not a provider label field, so they do not).
LABEL_FIELDS: dict[str, tuple[str, bool]] = {
    SQL_INSTANCE: ("settings.userLabels", False),
    REDIS_INSTANCE: ("labels", True),
    "gcp:memorystore/instance:Instance": ("labels", True),
    CLOUD_RUN_SERVICE: ("labels", True),
    "gcp:cloudrunv2/workerPool:WorkerPool": ("labels", True),
    "gcp:cloudrunv2/job:Job": ("labels", True),
    "gcp:secretmanager/secret:Secret": ("labels", True),
    "gcp:artifactregistry/repository:Repository": ("labels", True),
    "gcp:storage/bucket:Bucket": ("labels", True),
    "gcp:compute/globalAddress:GlobalAddress": ("labels", True),
}


def _own_labels(resource: PolicyResource) -> dict[str, Any]:
    path, _ = LABEL_FIELDS.get(resource.type, ("labels", True))
    return _as_mapping(_at(resource.inputs, path))


def labels_present(resource: PolicyResource) -> Iterator[str]:
    if resource.type not in LABEL_FIELDS:
        return
    path, provider_reaches = LABEL_FIELDS[resource.type]
    labels = {**(resource.default_labels if provider_reaches else {}), **_own_labels(resource)}
    missing = [label for label in REQUIRED_LABELS if not labels.get(label)]
    if missing:
        yield f"missing labels {', '.join(missing)} (in {path}, or the provider's defaultLabels)"


# --- identity, public access, prod floors, labels ----------------------------------------------

PROJECT_IAM_TYPES = frozenset(
    {"gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding", "gcp:projects/iAMPolicy:IAMPolicy"}
)
# Roles that, granted on the project, reach further than the project's resources: set IAM, act as
# or become any account, change the trust or the guardrails, read every secret, stop the audit
# trail. Granted on the project only under a condition that narrows them.
ESCALATION_ROLES = frozenset(
    {
        "roles/resourcemanager.projectIamAdmin",
        "roles/iam.securityAdmin",
        "roles/iam.serviceAccountAdmin",
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountKeyAdmin",
        "roles/iam.workloadIdentityUser",
        "roles/iam.workloadIdentityPoolAdmin",
        "roles/iam.roleAdmin",
        "roles/iam.denyAdmin",
        "roles/secretmanager.admin",
        "roles/secretmanager.secretAccessor",
        "roles/logging.admin",
        "roles/logging.configWriter",
    }
)


def _bindings(resource: PolicyResource) -> Iterator[tuple[Any, list[Any], Any]]:
    """(role, members, condition) of an IAM member, binding or authoritative policy."""
    inputs = resource.inputs
    if "role" in inputs:
        members = [inputs.get("member")] if "member" in inputs else list(inputs.get("members") or [])
        yield inputs.get("role"), members, inputs.get("condition")
    for binding in _as_mapping(inputs.get("policyData")).get("bindings") or []:
        if isinstance(binding, Mapping):
            yield binding.get("role"), list(binding.get("members") or []), binding.get("condition")


def escalation_roles_conditioned(resource: PolicyResource) -> Iterator[str]:
    if resource.type not in PROJECT_IAM_TYPES:
        return
    for role, _, condition in _bindings(resource):
        if role in ESCALATION_ROLES and not _at(condition, "expression"):
            yield (
                f"grants {role} on the project without a condition: it reaches beyond the project's resources "
                "(IAM, accounts, trust, secrets or the audit trail); grant it on one resource, or add a condition"
            )


PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
# The only public grants the program means: (type, role, end of the resource's name).
PUBLIC_GRANTS_ALLOWED = frozenset(
    {
        # The public API checks its own API keys.
        ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "roles/run.invoker", "-api-public-invoker"),
        # The status page: its objects readable by name, not listable.
        ("gcp:storage/bucketIAMMember:BucketIAMMember", "roles/storage.legacyObjectReader", "-status-site-public"),
        # The developer portal signs its users in itself, behind the edge's Cloud Armor policy.
        ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "roles/run.invoker", "-portal-public-invoker"),
        # The API reference site: its objects readable by name, not listable.
        ("gcp:storage/bucketIAMMember:BucketIAMMember", "roles/storage.legacyObjectReader", "-reference-site-public"),
    }
)


def public_grants_allowlisted(resource: PolicyResource) -> Iterator[str]:
    if "iam" not in resource.type.lower():
        return
    for role, members, _ in _bindings(resource):
        for member in sorted(PUBLIC_MEMBERS.intersection(m for m in members if isinstance(m, str))):
            allowed = any(
                resource.type == rtype and role == allowed_role and resource.name.endswith(suffix)
                for rtype, allowed_role, suffix in PUBLIC_GRANTS_ALLOWED
            )
            if not allowed:
                yield (
                    f"grants {role} to {member}: a public grant outside the allowlist "
                    "(PUBLIC_GRANTS_ALLOWED in policy/rules.py)"
                )


BUCKET = "gcp:storage/bucket:Bucket"
# Buckets meant to be public: their access prevention is inherited so the allowlisted grant works.
PUBLIC_BUCKETS_ALLOWED = ("-status-site", "-reference-site")


def bucket_access_locked_down(resource: PolicyResource) -> Iterator[str]:
    if resource.type != BUCKET:
        return
    uniform = resource.inputs.get("uniformBucketLevelAccess")
    if uniform is not True and not _is_unknown(uniform):
        yield (
            "bucket without uniform bucket-level access: object ACLs would bypass IAM; "
            "set uniformBucketLevelAccess true"
        )
    prevention = resource.inputs.get("publicAccessPrevention")
    if prevention != "enforced" and not _is_unknown(prevention) and not resource.name.endswith(PUBLIC_BUCKETS_ALLOWED):
        yield (
            f"bucket public access prevention is {prevention or 'unset'}: set publicAccessPrevention to enforced "
            "(a bucket meant to be public is named in PUBLIC_BUCKETS_ALLOWED)"
        )


WORKLOAD_IDENTITY_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def workload_identity_pinned(resource: PolicyResource) -> Iterator[str]:
    if resource.type != WORKLOAD_IDENTITY_PROVIDER:
        return
    condition = resource.inputs.get("attributeCondition")
    if _is_unknown(condition):
        return
    text = condition if isinstance(condition, str) else ""
    if not text:
        yield "identity provider without an attribute condition: every identity of the issuer may exchange tokens"
    elif _at(resource.inputs, "oidc.issuerUri") == GITHUB_ISSUER:
        for claim in ("repository_id", "repository_owner_id"):
            if f"assertion.{claim} ==" not in text:
                yield (
                    f"GitHub provider's condition does not pin assertion.{claim}: "
                    "a repository name can be registered again"
                )


def prod_data_store_floor(resource: PolicyResource) -> Iterator[str]:
    if resource.environment != "prod":
        return
    if resource.type == SQL_INSTANCE and not resource.inputs.get("masterInstanceName"):
        settings = resource.inputs.get("settings") or {}
        checks = (
            ("availabilityType", "REGIONAL", "a standby in another zone (settings.availabilityType REGIONAL)"),
            ("backupConfiguration.enabled", True, "automated backups (settings.backupConfiguration.enabled)"),
            (
                "backupConfiguration.pointInTimeRecoveryEnabled",
                True,
                "point-in-time recovery (settings.backupConfiguration.pointInTimeRecoveryEnabled)",
            ),
        )
        for path, wanted, what in checks:
            value = _at(settings, path)
            if value != wanted and not _is_unknown(value):
                yield f"prod Cloud SQL without {what}"
    elif resource.type == REDIS_INSTANCE:
        tier = resource.inputs.get("tier")
        if tier != "STANDARD_HA" and not _is_unknown(tier):
            yield (
                f"prod Redis on tier {tier or 'BASIC (unset)'}: "
                "STANDARD_HA keeps a replica in another zone and fails over"
            )


BIGQUERY_TABLE = "gcp:bigquery/table:Table"
# Where each data store that takes a customer-managed key names it (components/encryption.py).
# Left out on purpose (docs/encryption.md): Secret Manager secrets, the audit log bucket.
CMEK_FIELDS: dict[str, tuple[str, str]] = {
    SQL_INSTANCE: ("encryptionKeyName", "Cloud SQL instance"),
    REDIS_INSTANCE: ("customerManagedKey", "Memorystore instance"),
    BUCKET: ("encryption.defaultKmsKeyName", "bucket"),
    "gcp:bigquery/dataset:Dataset": ("defaultEncryptionConfiguration.kmsKeyName", "BigQuery dataset"),
    BIGQUERY_TABLE: ("encryptionConfiguration.kmsKeyName", "BigQuery table"),
    "gcp:pubsub/topic:Topic": ("kmsKeyName", "Pub/Sub topic"),
    REGISTRY: ("kmsKeyName", "Artifact Registry repository"),
}


def prod_data_encrypted_with_cmek(resource: PolicyResource) -> Iterator[str]:
    if resource.environment != "prod" or resource.type not in CMEK_FIELDS:
        return
    inputs = resource.inputs
    if resource.type == REGISTRY and inputs.get("mode") in CACHE_MODES:
        return  # a cache of public images holds nothing of ours
    if resource.type == BUCKET and resource.name.endswith(PUBLIC_BUCKETS_ALLOWED):
        return  # published to everyone: a key would guard nothing
    if resource.type == BIGQUERY_TABLE and inputs.get("view"):
        return  # a view stores no data
    path, what = CMEK_FIELDS[resource.type]
    key = _at(inputs, path)
    if not key and not _is_unknown(key):
        yield (
            f"prod {what} without a customer-managed key: set {path} to the stack's key "
            "(components/encryption.py, config encryption.enabled)"
        )


LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
AUDIT_MIN_RETENTION_DAYS = 365


def prod_audit_bucket_locked(resource: PolicyResource) -> Iterator[str]:
    """Every log bucket the program creates in prod keeps audit logs."""
    if resource.environment != "prod" or resource.type != LOG_BUCKET:
        return
    locked = resource.inputs.get("locked")
    if locked is not True and not _is_unknown(locked):
        yield "prod audit log bucket is not locked: its retention could be shortened and the bucket deleted"
    days = resource.inputs.get("retentionDays")
    if not _is_unknown(days) and (not isinstance(days, int) or days < AUDIT_MIN_RETENTION_DAYS):
        kept = days if days is not None else 30  # Cloud Logging's default
        yield f"prod audit log bucket keeps entries {kept} days: keep at least {AUDIT_MIN_RETENTION_DAYS}"


IDENTITY_CONFIG = "gcp:identityplatform/config:Config"
MFA_ON = ("ENABLED", "MANDATORY")


def prod_identity_mfa_on(resource: PolicyResource) -> Iterator[str]:
    """Prod's Identity Platform keeps multi-factor authentication on, project-wide."""
    if resource.environment != "prod" or resource.type != IDENTITY_CONFIG:
        return
    state = _at(resource.inputs, "mfa.state")
    if _is_unknown(state):
        return
    if state not in MFA_ON:
        shown = state if state else "unset (Google's default: DISABLED)"
        yield f"prod's Identity Platform MFA is {shown}: users cannot add a second factor; set identityPlatform.mfa"


MAX_LABELS = 64
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")


def label_limits(resource: PolicyResource) -> Iterator[str]:
    """Resource labels only: a field named `labels` elsewhere (a notification channel's) is not."""
    if resource.type not in LABEL_FIELDS:
        return
    path, provider_reaches = LABEL_FIELDS[resource.type]
    own = _at(resource.inputs, path)
    if own is None or _is_unknown(own):
        return
    labels = {**(resource.default_labels if provider_reaches else {}), **_as_mapping(own)}
    if len(labels) > MAX_LABELS:
        yield f"{len(labels)} labels (with the provider's defaults): Google allows {MAX_LABELS}"
    for key, value in sorted(labels.items()):
        if not LABEL_KEY.fullmatch(str(key)):
            yield f"label key {key!r}: lowercase letters, digits, '_' or '-', starting with a letter, 63 at most"
        if not isinstance(value, str) or not LABEL_VALUE.fullmatch(value):
            yield f"label {key}={value!r}: the value takes lowercase letters, digits, '_' or '-', 63 at most"


RULES: tuple[Rule, ...] = (
    Rule(
        "cloud-sql-no-public-ip",
        "Cloud SQL instances have a private IP only: no public IP, no authorized networks.",
        Enforcement.MANDATORY,
        sql_has_no_public_ip,
    ),
    Rule(
        "redis-not-public",
        "Memorystore for Redis is on the private VPC, with AUTH on.",
        Enforcement.MANDATORY,
        redis_not_public,
    ),
    Rule(
        "ssl-enforced",
        "Cloud SQL accepts only encrypted connections; Redis only TLS.",
        Enforcement.MANDATORY,
        ssl_enforced,
    ),
    Rule(
        "prod-stateful-protected",
        "In prod, data stores are Pulumi-protected and their provider deletion guard is on.",
        Enforcement.MANDATORY,
        prod_stateful_protected,
    ),
    Rule(
        "no-primitive-roles",
        "No IAM grant of roles/owner, roles/editor or roles/viewer.",
        Enforcement.MANDATORY,
        no_primitive_roles,
    ),
    Rule(
        "no-plain-secret-env",
        "Cloud Run env entries named like secrets (PASSWORD, TOKEN, KEY, SECRET, AUTH) come from Secret Manager.",
        Enforcement.MANDATORY,
        no_plain_secret_env,
    ),
    Rule(
        # Advisory outside prod: dev may turn the edge off and answer on its run.app URL.
        "cloud-run-ingress-behind-load-balancer",
        "A Cloud Run service does not take traffic from the whole internet without a load balancer or IAP in front.",
        Enforcement.ADVISORY,
        cloud_run_ingress_restricted,
    ),
    Rule(
        # Mandatory in prod: the edge (components/edge) is the only way in, through Cloud Armor.
        "prod-cloud-run-ingress-behind-load-balancer",
        "In prod, a Cloud Run service takes traffic only through the load balancer, or behind IAP.",
        Enforcement.MANDATORY,
        prod_cloud_run_ingress_restricted,
    ),
    Rule(
        "escalation-roles-conditioned",
        "Roles that reach beyond the project's resources are not granted on the project without a condition.",
        Enforcement.MANDATORY,
        escalation_roles_conditioned,
    ),
    Rule(
        "public-grants-allowlisted",
        "allUsers and allAuthenticatedUsers are granted only what the allowlist names.",
        Enforcement.MANDATORY,
        public_grants_allowlisted,
    ),
    Rule(
        "bucket-access-locked-down",
        (
            "Buckets use uniform access and enforce public access prevention (the public status and reference "
            "buckets excepted)."
        ),
        Enforcement.MANDATORY,
        bucket_access_locked_down,
    ),
    Rule(
        "workload-identity-pinned",
        "Workload identity providers have a condition; GitHub's pins the repository and owner ids.",
        Enforcement.MANDATORY,
        workload_identity_pinned,
    ),
    Rule(
        "prod-data-store-floor",
        "In prod, Cloud SQL is REGIONAL with backups and point-in-time recovery, Redis is STANDARD_HA.",
        Enforcement.MANDATORY,
        prod_data_store_floor,
    ),
    Rule(
        "prod-audit-bucket-locked",
        f"In prod, the audit log bucket is locked and keeps entries {AUDIT_MIN_RETENTION_DAYS} days or more.",
        Enforcement.MANDATORY,
        prod_audit_bucket_locked,
    ),
    Rule(
        "prod-identity-mfa-on",
        f"Prod's Identity Platform config has multi-factor authentication on ({' or '.join(MFA_ON)}).",
        Enforcement.MANDATORY,
        prod_identity_mfa_on,
    ),
    Rule(
        "prod-data-encrypted-with-cmek",
        "In prod, every data store that takes a customer-managed encryption key names one.",
        Enforcement.MANDATORY,
        prod_data_encrypted_with_cmek,
    ),
    Rule(
        "label-limits",
        f"At most {MAX_LABELS} labels, keys and values in Google's syntax.",
        Enforcement.MANDATORY,
        label_limits,
    ),
    Rule(
        "labels-present",
        f"Labelled resources carry {', '.join(REQUIRED_LABELS)}.",
        Enforcement.ADVISORY,
        labels_present,
    ),
)
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


# --- stack rules: a control that must exist somewhere in the stack --------------------------


@dataclass(frozen=True)
class StackRule:
    """A rule over the whole stack (pulumi-policy's `StackValidationPolicy`): what must exist."""

    name: str
    description: str
    enforcement: Enforcement
    check: Callable[[Sequence[PolicyResource]], Iterator[str]]


CONTACT = "gcp:essentialcontacts/contact:Contact"
SCC_NOTIFICATION = "gcp:securitycenter/v2ProjectNotificationConfig:V2ProjectNotificationConfig"
DISCOVERY = "gcp:dataloss/preventionDiscoveryConfig:PreventionDiscoveryConfig"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
BIGQUERY_DATASET = "gcp:bigquery/dataset:Dataset"
# Who must hear from Google about prod (stackconfig/compliance.py PROD_CONTACT_CATEGORIES).
PROD_CONTACT_CATEGORIES = ("SECURITY", "BILLING", "TECHNICAL", "LEGAL")


def stack_environment(resources: Sequence[PolicyResource]) -> str:
    """The stack's environment, from the provider's default labels; prod where none says
    (the strict choice), or where any labelled resource says prod."""
    labelled = {r.environment for r in resources if "environment" in r.default_labels}
    return "prod" if not labelled or "prod" in labelled else min(labelled)


def _of_type(resources: Sequence[PolicyResource], rtype: str) -> list[PolicyResource]:
    return [r for r in resources if r.type == rtype]


def prod_essential_contacts(resources: Sequence[PolicyResource]) -> Iterator[str]:
    if stack_environment(resources) != "prod":
        return
    covered: set[str] = set()
    for contact in _of_type(resources, CONTACT):
        categories = contact.inputs.get("notificationCategorySubscriptions")
        if _is_unknown(categories):
            return
        covered.update(str(category) for category in categories or [])
    if "ALL" in covered:
        return
    missing = [category for category in PROD_CONTACT_CATEGORIES if category not in covered]
    if missing:
        yield f"no Essential Contact for {', '.join(missing)}: Google would send those notices to nobody who reads them"


def _discovery_topics(resource: PolicyResource) -> list[Any]:
    return [_at(action, "pubSubNotification.topic") for action in resource.inputs.get("actions") or []]


def prod_findings_routed(resources: Sequence[PolicyResource]) -> Iterator[str]:
    """Findings reach a topic that a subscription reads (the ticket path pulls from it)."""
    if stack_environment(resources) != "prod":
        return
    topics = [r.inputs.get("pubsubTopic") for r in _of_type(resources, SCC_NOTIFICATION)]
    topics += [topic for r in _of_type(resources, DISCOVERY) for topic in _discovery_topics(r) if topic is not None]
    if not topics:
        yield "nothing publishes security findings (no SCC notification config, no discovery notification)"
        return
    read = {r.inputs.get("topic") for r in _of_type(resources, SUBSCRIPTION)}
    if UNKNOWN in read:
        return
    for topic in topics:
        if not _is_unknown(topic) and topic not in read:
            yield f"findings go to {topic}, which no subscription reads: nobody would see them"


def prod_scc_notification(resources: Sequence[PolicyResource]) -> Iterator[str]:
    """Advisory: an organization without Security Command Center routes discovery findings alone."""
    if stack_environment(resources) != "prod":
        return
    filters = [_at(r.inputs, "streamingConfig.filter") for r in _of_type(resources, SCC_NOTIFICATION)]
    if not filters:
        yield "no Security Command Center notification config: SCC's findings reach nobody (docs/compliance.md)"
    for expression in filters:
        if not _is_unknown(expression) and (
            'state="ACTIVE"' not in str(expression) or "CRITICAL" not in str(expression)
        ):
            yield f"SCC filter {expression!r} leaves out active CRITICAL findings"


def _dataset_regexes(resource: PolicyResource) -> list[Any]:
    return [
        _at(pattern, "datasetIdRegex")
        for target in resource.inputs.get("targets") or []
        for pattern in _at(target, "bigQueryTarget.filter.tables.includeRegexes.patterns") or []
    ]


def _covers(regex: Any, dataset: str) -> bool:
    return regex is None or _is_unknown(regex) or re.fullmatch(str(regex), dataset) is not None


def prod_data_discovery(resources: Sequence[PolicyResource]) -> Iterator[str]:
    """Every BigQuery dataset and the Cloud SQL database are profiled for personal data."""
    if stack_environment(resources) != "prod":
        return
    running = [r for r in _of_type(resources, DISCOVERY) if r.inputs.get("status") in ("RUNNING", UNKNOWN)]
    if not running:
        yield "no running Sensitive Data Protection discovery config: nobody knows where personal data is"
        return
    regexes = [regex for r in running for regex in _dataset_regexes(r)]
    for dataset in _of_type(resources, BIGQUERY_DATASET):
        dataset_id = dataset.inputs.get("datasetId")
        if not _is_unknown(dataset_id) and not any(_covers(regex, str(dataset_id)) for regex in regexes):
            yield f"BigQuery dataset {dataset_id} is not profiled by discovery"
    primaries = [r for r in _of_type(resources, SQL_INSTANCE) if not r.inputs.get("masterInstanceName")]
    cloud_sql = [target for r in running for target in r.inputs.get("targets") or [] if _at(target, "cloudSqlTarget")]
    if primaries and not cloud_sql:
        yield "the Cloud SQL database is not profiled by discovery (no cloudSqlTarget)"


STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "prod-essential-contacts",
        "In prod, Essential Contacts cover SECURITY, BILLING, TECHNICAL and LEGAL notices (or ALL).",
        Enforcement.MANDATORY,
        prod_essential_contacts,
    ),
    StackRule(
        "prod-findings-routed",
        "In prod, security findings are published to a topic a subscription reads (the ticket path).",
        Enforcement.MANDATORY,
        prod_findings_routed,
    ),
    StackRule(
        # Advisory: where SCC is not activated, discovery's findings are the fallback (docs/compliance.md).
        "prod-scc-notification",
        "In prod, Security Command Center notifies active findings, CRITICAL included.",
        Enforcement.ADVISORY,
        prod_scc_notification,
    ),
    StackRule(
        "prod-data-discovery",
        "In prod, Sensitive Data Protection discovery profiles every BigQuery dataset and the Cloud SQL database.",
        Enforcement.MANDATORY,
        prod_data_discovery,
    ),
)
STACK_RULES_BY_NAME: dict[str, StackRule] = {rule.name: rule for rule in STACK_RULES}


def evaluate_stack(
    resources: Sequence[PolicyResource], stack_urn: str, stack: str, rules: Sequence[StackRule] = STACK_RULES
) -> list[Violation]:
    """Every violation of the stack ``rules``, reported on the stack itself."""
    return [
        Violation(rule.name, rule.enforcement, stack_urn, STACK_TYPE, stack, message)
        for rule in rules
        for message in rule.check(resources)
    ]


def evaluate(resource: PolicyResource, rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every violation of ``rules`` by one resource."""
    return [
        Violation(rule.name, rule.enforcement, resource.urn, resource.type, resource.name, message)
        for rule in rules
        for message in rule.check(resource)
    ]


# --- offline: a recorded graph --------------------------------------------------------------


def graph_resources(graph: Mapping[str, Any]) -> list[PolicyResource]:
    """The graph's custom resources as pulumi-policy would see them (providers and components
    are not validated by a `ResourceValidationPolicy`'s resources either)."""
    nodes = graph.get("resources") or []
    by_urn = {str(node["urn"]): node for node in nodes}
    found: list[PolicyResource] = []
    for node in nodes:
        rtype = str(node["type"])
        if not node.get("custom") or rtype == STACK_TYPE or rtype.startswith("pulumi:providers:"):
            continue
        provider = by_urn.get(str(node.get("provider") or ""), {})
        found.append(
            PolicyResource(
                type=rtype,
                name=str(node["name"]),
                urn=str(node["urn"]),
                inputs=node.get("inputs") or {},
                protect=bool(node.get("protect")),
                parent=node.get("parent"),
                provider_inputs=provider.get("inputs") or {},
            )
        )
    return found


@dataclass(frozen=True)
class PolicyReport:
    stack: str
    resources_checked: int
    violations: tuple[Violation, ...]

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.enforcement is Enforcement.MANDATORY)

    @property
    def advisory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.enforcement is Enforcement.ADVISORY)

    @property
    def passed(self) -> bool:
        return not self.mandatory


def check_graph(
    graph: Mapping[str, Any], rules: Sequence[Rule] = RULES, stack_rules: Sequence[StackRule] = STACK_RULES
) -> PolicyReport:
    """Run every rule over every resource of one stack's graph, then the stack rules over all of them."""
    resources = graph_resources(graph)
    violations = [v for resource in resources for v in evaluate(resource, rules)]
    stack = str(graph.get("stack") or "")
    stack_urn = next((str(n["urn"]) for n in graph.get("resources") or [] if n.get("type") == STACK_TYPE), stack)
    violations += evaluate_stack(resources, stack_urn, stack, stack_rules)
    order = {rule.name: i for i, rule in enumerate([*rules, *stack_rules])}
    violations.sort(key=lambda v: (v.enforcement is not Enforcement.MANDATORY, order[v.policy], v.urn))
    return PolicyReport(str(graph.get("stack") or ""), len(resources), tuple(violations))
