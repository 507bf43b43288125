"""Google's naming and size rules, checked on the recorded graph: whatever the components build
from the config, a name or value the API would refuse fails the preview, naming the resource,
the field, the value and the rule.

The rules themselves are `stackconfig/gcp_rules.py`, which the config model also applies, so a
bad setting is refused earlier, under its key; this pass catches what component code derives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeGuard

from stackconfig import gcp_rules

from .graph import SECRET, UNKNOWN

Rule = Callable[[str], "str | None"]
GCP_PROVIDER_TYPE = "pulumi:providers:gcp"
# Pulumi names a resource whose `name` is left out `<logical name>-<7 random characters>`; the
# rule is checked on a stand-in of that shape.
AUTONAME_SUFFIX = "-abcdefg"

compute_name = partial(gcp_rules.rfc1035_name, what="Compute Engine name")
cloud_run_job_name = partial(gcp_rules.rfc1035_name, what="Cloud Run job name")

# (type, input path) -> the rule that field must pass. Types other helpers plan to add are
# listed too, so their names are checked from the first run.
FIELD_RULES: dict[str, tuple[tuple[str, Rule], ...]] = {
    "gcp:storage/bucket:Bucket": (("name", gcp_rules.bucket_name),),
    "gcp:serviceaccount/account:Account": (("accountId", gcp_rules.service_account_id),),
    "gcp:cloudrunv2/service:Service": (("name", gcp_rules.cloud_run_service_name),),
    "gcp:cloudrunv2/workerPool:WorkerPool": (("name", gcp_rules.cloud_run_service_name),),
    "gcp:cloudrunv2/job:Job": (("name", cloud_run_job_name),),
    "gcp:cloudscheduler/job:Job": (("name", gcp_rules.scheduler_job_name), ("schedule", gcp_rules.cron_schedule)),
    "gcp:sql/databaseInstance:DatabaseInstance": (
        ("name", gcp_rules.sql_instance_id),
        ("settings.tier", gcp_rules.cloud_sql_tier),
    ),
    "gcp:secretmanager/secret:Secret": (("secretId", gcp_rules.secret_id),),
    "gcp:redis/instance:Instance": (("name", gcp_rules.redis_instance_id),),
    "gcp:artifactregistry/repository:Repository": (("repositoryId", gcp_rules.repository_id),),
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": (("workloadIdentityPoolId", gcp_rules.workload_identity_id),),
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": (
        ("workloadIdentityPoolProviderId", gcp_rules.workload_identity_id),
    ),
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": (("bucketId", gcp_rules.log_bucket_id),),
    "gcp:logging/projectSink:ProjectSink": (("name", gcp_rules.log_sink_name),),
    "gcp:pubsub/topic:Topic": (("name", gcp_rules.pubsub_name),),
    "gcp:pubsub/subscription:Subscription": (("name", gcp_rules.pubsub_name),),
    "gcp:pubsub/schema:Schema": (("name", gcp_rules.pubsub_name),),
    "gcp:bigquery/dataset:Dataset": (("datasetId", gcp_rules.bigquery_dataset_id),),
    "gcp:kms/keyRing:KeyRing": (("name", gcp_rules.kms_id),),
    "gcp:kms/cryptoKey:CryptoKey": (("name", gcp_rules.kms_id),),
    "gcp:projects/iAMCustomRole:IAMCustomRole": (("roleId", gcp_rules.custom_role_id),),
    "gcp:identityplatform/tenant:Tenant": (("displayName", gcp_rules.identity_tenant_display_name),),
    "gcp:identityplatform/tenantInboundSamlConfig:TenantInboundSamlConfig": (("name", gcp_rules.identity_provider_id),),
    "gcp:identityplatform/tenantOauthIdpConfig:TenantOauthIdpConfig": (("name", gcp_rules.identity_provider_id),),
}
# Every Compute Engine resource is named after RFC 1035, 63 characters at most.
COMPUTE_PREFIX = "gcp:compute/"
# Inputs holding labels: `labels` merge with the provider's default labels (what the API
# receives is the union); monitoring's `userLabels` follow the same syntax on their own.
LABEL_FIELDS = ("labels", "userLabels")
# Where `labels` is not the resource's labels: a notification channel's are its settings
# (`email_address`), its own labels are `userLabels`.
NOT_RESOURCE_LABELS = frozenset({"gcp:monitoring/notificationChannel:NotificationChannel"})
# A value is shown cut to this length: the reason says what is wrong with it.
SHOWN_VALUE_MAX = 120


@dataclass(frozen=True)
class NameViolation:
    """One value Google would refuse: where it is and why."""

    type: str
    name: str
    field: str
    value: str
    reason: str
    rule: str
    """The rule's function in stackconfig/gcp_rules.py, whose comment cites Google's page."""

    def render(self) -> str:
        shown = repr(self.value)
        if len(shown) > SHOWN_VALUE_MAX:
            shown = shown[: SHOWN_VALUE_MAX - 1] + "…"
        return f"  {self.type} {self.name}: {self.field} = {shown}\n      {self.reason} (rule: gcp_rules.{self.rule})"


class NameCheckError(Exception):
    """The graph holds names or values Google would refuse; raised before anything is shown."""

    def __init__(self, stack: str, violations: list[NameViolation]):
        self.violations = violations
        count = len(violations)
        header = (
            f"stack {stack}: {count} name{'s' if count != 1 else ''} or value{'s' if count != 1 else ''} "
            "Google would refuse (stackconfig/gcp_rules.py); fix the component or the config key that builds it:"
        )
        super().__init__("\n".join([header, *(violation.render() for violation in violations)]))


def check_names(graph: Mapping[str, Any]) -> list[NameViolation]:
    """Every violation in one graph, in URN order."""
    resources = graph["resources"]
    default_labels = {r["urn"]: _provider_labels(r) for r in resources if r["type"] == GCP_PROVIDER_TYPE}
    violations: list[NameViolation] = []
    for resource in resources:
        violations.extend(_field_violations(resource))
        violations.extend(_label_violations(resource, default_labels))
    return violations


def raise_for_names(graph: Mapping[str, Any]) -> None:
    if violations := check_names(graph):
        raise NameCheckError(str(graph.get("stack", "?")), violations)


def _rules_for(type_: str) -> tuple[tuple[str, Rule], ...]:
    rules = FIELD_RULES.get(type_, ())
    if not rules and type_.startswith(COMPUTE_PREFIX):
        rules = (("name", compute_name),)
    return rules


def _field_violations(resource: Mapping[str, Any]) -> Iterator[NameViolation]:
    for path, rule in _rules_for(resource["type"]):
        value = _at(resource["inputs"], path)
        field = path
        if value is None and path == "name" and resource.get("custom"):
            value, field = resource["name"] + AUTONAME_SUFFIX, "name (auto-named by Pulumi)"
        if not _checkable(value):
            continue
        if reason := rule(value):
            yield NameViolation(resource["type"], resource["name"], field, value, reason, _rule_name(rule))


def _label_violations(
    resource: Mapping[str, Any], default_labels: Mapping[str, dict[str, str]]
) -> Iterator[NameViolation]:
    if resource["type"] == GCP_PROVIDER_TYPE:
        labels = default_labels.get(resource["urn"], {})
        if reason := gcp_rules.labels(labels):
            yield NameViolation(
                resource["type"],
                resource["name"],
                "defaultLabels",
                json.dumps(labels, sort_keys=True),
                reason,
                "labels",
            )
        return
    for field in LABEL_FIELDS:
        if field == "labels" and resource["type"] in NOT_RESOURCE_LABELS:
            continue
        own = resource["inputs"].get(field)
        if not isinstance(own, dict) or any(not _checkable(v) for v in own.values()):
            continue
        provider = str(resource.get("provider") or "").split("::", 3)
        provider_urn = "::".join(provider[:4]) if len(provider) >= 4 else ""
        merged = {**(default_labels.get(provider_urn, {}) if field == "labels" else {}), **own}
        if reason := gcp_rules.labels(merged):
            shown = reason if len(merged) == len(own) else f"{reason} (with the provider's default labels)"
            yield NameViolation(
                resource["type"], resource["name"], field, json.dumps(own, sort_keys=True), shown, "labels"
            )


def _rule_name(rule: Rule) -> str:
    function = rule.func if isinstance(rule, partial) else rule
    return getattr(function, "__name__", "?")


def _provider_labels(provider: Mapping[str, Any]) -> dict[str, str]:
    raw = provider["inputs"].get("defaultLabels")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _at(inputs: Mapping[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _checkable(value: Any) -> TypeGuard[str]:
    """Only known, plain text: an unknown or secret value is checked where it is known."""
    return isinstance(value, str) and UNKNOWN not in value and SECRET not in value
