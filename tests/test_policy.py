"""The policy pack: each rule passes a compliant resource and catches a violating one, the same
offline (`check_graph` over a recorded graph) and under pulumi-policy (the pack's
`ResourceValidationPolicy` objects fed `ResourceValidationArgs`); the real stacks pass it."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyProviderResource, PolicyResourceOptions, ResourceValidationArgs
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy
from typer.testing import CliRunner

from cli.main import app
from offline.engine import Project
from offline.graph import UNKNOWN, dumps
from offline.snapshots import write_snapshot
from policy.__main__ import LEVELS, POLICIES, plain
from policy.rules import RULES, RULES_BY_NAME, Enforcement, Violation, check_graph, looks_secret

from .conftest import ROOT

STACK = "prod"
PROVIDER_URN = f"urn:pulumi:{STACK}::omni-infra::pulumi:providers:gcp::omni-{STACK}-gcp"
LABELS = '{"app": "omni", "environment": "%s", "team": "platform", "cost-center": "omni"}'


def provider(environment: str = STACK) -> dict[str, Any]:
    return {
        "urn": PROVIDER_URN,
        "type": "pulumi:providers:gcp",
        "name": f"omni-{STACK}-gcp",
        "custom": True,
        "parent": None,
        "protect": False,
        "provider": None,
        "inputs": {"project": "omni-api-prod", "defaultLabels": LABELS % environment},
    }


def node(rtype: str, inputs: dict[str, Any], protect: bool = False, name: str = "probe") -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:{STACK}::omni-infra::{rtype}::{name}",
        "type": rtype,
        "name": name,
        "custom": True,
        "parent": f"urn:pulumi:{STACK}::omni-infra::pulumi:pulumi:Stack::omni-infra-{STACK}",
        "protect": protect,
        "provider": PROVIDER_URN,
        "inputs": inputs,
    }


def graph(*resources: dict[str, Any], environment: str = STACK) -> dict[str, Any]:
    return {
        "version": 1,
        "stack": STACK,
        "project": "omni-infra",
        "resources": [provider(environment), *resources],
        "outputs": {},
    }


SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
RUN = "gcp:cloudrunv2/service:Service"
JOB = "gcp:cloudrunv2/job:Job"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
REGISTRY = "gcp:artifactregistry/repository:Repository"
VPC = "projects/omni-api-prod/global/networks/omni-prod-vpc"


def sql(environment: str = STACK, **ip: Any) -> dict[str, Any]:
    ip_configuration = {"ipv4Enabled": False, "privateNetwork": VPC, "sslMode": "ENCRYPTED_ONLY", **ip}
    # Cloud SQL's userLabels are not reached by the provider's default labels: set here.
    labels = {"app": "omni", "environment": environment, "team": "platform", "cost-center": "omni"}
    return {
        "deletionProtection": True,
        "deletionPolicy": "PREVENT",
        "settings": {
            "ipConfiguration": ip_configuration,
            "userLabels": labels,
            "availabilityType": "REGIONAL",
            "backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True},
        },
    }


def redis(**inputs: Any) -> dict[str, Any]:
    return {
        "authorizedNetwork": VPC,
        "authEnabled": True,
        "transitEncryptionMode": "SERVER_AUTHENTICATION",
        "deletionProtection": True,
        **inputs,
    }


RUN_IAM = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
WIF = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
IDENTITY_CONFIG = "gcp:identityplatform/config:Config"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
PINNED = "assertion.repository_id == '812345678' && assertion.repository_owner_id == '91234567'"


def bucket(**inputs: Any) -> dict[str, Any]:
    return {"uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced", "forceDestroy": False, **inputs}


def provider_inputs(condition: str) -> dict[str, Any]:
    return {"attributeCondition": condition, "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"}}


def service(envs: list[dict[str, Any]], ingress: str = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER") -> dict[str, Any]:
    return {"ingress": ingress, "template": {"containers": [{"envs": envs, "image": "omni-api:1"}]}}


def secret_ref(env_name: str) -> dict[str, Any]:
    return {
        "name": env_name,
        "valueSource": {"secretKeyRef": {"secret": "omni-prod-api-secret-key", "version": "latest"}},
    }


@dataclass(frozen=True)
class Case:
    rule: str
    resource: dict[str, Any]
    violates: bool
    environment: str = STACK

    @property
    def id(self) -> str:
        return f"{self.rule}-{'violates' if self.violates else 'passes'}-{self.resource['name']}"


KEY = "projects/omni-api-prod/locations/europe-west1/keyRings/omni-prod-keys/cryptoKeys/database"
CMEK = "prod-data-encrypted-with-cmek"
TOPIC = "gcp:pubsub/topic:Topic"
TABLE = "gcp:bigquery/table:Table"
CASES: tuple[Case, ...] = (
    Case(CMEK, node(SQL, {**sql(), "encryptionKeyName": KEY}, protect=True, name="cmek-sql"), False),
    # In preview the key's id is not known yet: set, but unknown, is not judged.
    Case(CMEK, node(REDIS, {**redis(), "customerManagedKey": UNKNOWN}, protect=True, name="cmek-redis"), False),
    Case(CMEK, node(SQL, sql(), protect=True, name="google-key-sql"), True),
    Case(CMEK, node(REDIS, redis(), protect=True, name="google-key-redis"), True),
    Case(CMEK, node(TOPIC, {"name": "usage"}, name="google-key-topic"), True),
    Case(CMEK, node(TABLE, {"tableId": "events", "encryptionConfiguration": {}}, name="empty-key-table"), True),
    Case(CMEK, node(TABLE, {"tableId": "daily", "view": {"query": "SELECT 1"}}, name="a-view"), False),
    Case(CMEK, node(REGISTRY, {"mode": "REMOTE_REPOSITORY"}, name="dockerhub-cache"), False),
    Case(CMEK, node(REGISTRY, {"mode": "STANDARD_REPOSITORY"}, protect=True, name="google-key-images"), True),
    Case(CMEK, node("gcp:storage/bucket:Bucket", {"name": "p"}, name="omni-prod-status-site"), False),
    Case(CMEK, node(SQL, sql("dev"), name="dev-sql"), False, environment="dev"),
    Case("cloud-sql-no-public-ip", node(SQL, sql(), protect=True, name="private-sql"), False),
    Case("cloud-sql-no-public-ip", node(SQL, sql(ipv4Enabled=True), protect=True, name="public-sql"), True),
    Case("cloud-sql-no-public-ip", node(SQL, {"settings": {}}, protect=True, name="default-ip-sql"), True),
    Case(
        "cloud-sql-no-public-ip",
        node(SQL, sql(authorizedNetworks=[{"value": "203.0.113.0/24"}]), protect=True, name="authorized-networks-sql"),
        True,
    ),
    Case("redis-not-public", node(REDIS, redis(), protect=True, name="private-redis"), False),
    Case(
        "redis-not-public", node(REDIS, redis(authorizedNetwork=None), protect=True, name="default-network-redis"), True
    ),
    Case("redis-not-public", node(REDIS, redis(authEnabled=False), protect=True, name="no-auth-redis"), True),
    Case("ssl-enforced", node(SQL, sql(), protect=True, name="tls-sql"), False),
    Case(
        "ssl-enforced", node(SQL, sql(sslMode="ALLOW_UNENCRYPTED_AND_ENCRYPTED"), protect=True, name="plain-sql"), True
    ),
    Case("ssl-enforced", node(REDIS, redis(transitEncryptionMode="DISABLED"), protect=True, name="plain-redis"), True),
    Case("prod-stateful-protected", node(SQL, sql(), protect=True, name="guarded-sql"), False),
    Case("prod-stateful-protected", node(SQL, sql(), protect=False, name="unprotected-sql"), True),
    Case(
        "prod-stateful-protected",
        node(
            SQL, {**sql(), "deletionProtection": False, "deletionPolicy": "DELETE"}, protect=True, name="deletable-sql"
        ),
        True,
    ),
    Case(
        "prod-stateful-protected",
        node(REGISTRY, {"mode": "STANDARD_REPOSITORY", "deletionPolicy": "PREVENT"}, name="images"),
        True,
    ),
    # A remote repository only caches Docker Hub: nothing of ours is lost with it.
    Case("prod-stateful-protected", node(REGISTRY, {"mode": "REMOTE_REPOSITORY"}, name="dockerhub-cache"), False),
    # The same unprotected database in dev is disposable by design.
    Case("prod-stateful-protected", node(SQL, sql("dev"), protect=False, name="dev-sql"), False, environment="dev"),
    Case(
        "no-primitive-roles",
        node(PROJECT_IAM, {"role": "roles/run.admin", "member": "serviceAccount:x"}, name="run-admin"),
        False,
    ),
    Case(
        "no-primitive-roles",
        node(PROJECT_IAM, {"role": "roles/editor", "member": "serviceAccount:x"}, name="editor"),
        True,
    ),
    Case(
        "no-primitive-roles",
        node(
            "gcp:projects/iAMPolicy:IAMPolicy",
            {"policyData": '{"bindings": [{"role": "roles/owner", "members": ["user:a@b.c"]}]}'},
            name="owner-policy",
        ),
        True,
    ),
    # A policy document that is not JSON holds no binding a rule could read.
    Case(
        "no-primitive-roles",
        node("gcp:projects/iAMPolicy:IAMPolicy", {"policyData": "{not json"}, name="malformed-policy"),
        False,
    ),
    Case(
        "no-plain-secret-env",
        node(
            RUN,
            service(
                [
                    secret_ref("OMNI_SECRET_KEY"),
                    {"name": "DATABASE_IAM_AUTH", "value": "true"},
                    {"name": "DB_POOL_SIZE", "value": "20"},
                ]
            ),
            name="secret-ref-api",
        ),
        False,
    ),
    Case(
        "no-plain-secret-env",
        node(RUN, service([{"name": "STRIPE_API_KEY", "value": "sk_live_1"}]), name="plain-key-api"),
        True,
    ),
    Case(
        "no-plain-secret-env",
        node(
            JOB,
            {"template": {"template": {"containers": [{"envs": [{"name": "DATABASE_PASSWORD", "value": "hunter2"}]}]}}},
            name="plain-password-job",
        ),
        True,
    ),
    Case(
        "cloud-run-ingress-behind-load-balancer", node(RUN, service([]), name="behind-lb-api"), False, environment="dev"
    ),
    Case(
        "cloud-run-ingress-behind-load-balancer",
        node(RUN, {**service([], ingress="INGRESS_TRAFFIC_ALL"), "iapEnabled": True}, name="behind-iap-grafana"),
        False,
        environment="dev",
    ),
    Case(
        "cloud-run-ingress-behind-load-balancer",
        node(RUN, service([], ingress="INGRESS_TRAFFIC_ALL"), name="open-api"),
        True,
        environment="dev",
    ),
    # In prod the same open service fails the preview: the advisory rule leaves prod to the mandatory one.
    Case(
        "cloud-run-ingress-behind-load-balancer",
        node(RUN, service([], ingress="INGRESS_TRAFFIC_ALL"), name="prod-open-api"),
        False,
    ),
    Case(
        "prod-cloud-run-ingress-behind-load-balancer",
        node(RUN, service([], ingress="INGRESS_TRAFFIC_ALL"), name="open-prod-api"),
        True,
    ),
    Case("prod-cloud-run-ingress-behind-load-balancer", node(RUN, service([]), name="lb-only-prod-api"), False),
    Case(
        "prod-cloud-run-ingress-behind-load-balancer",
        node(RUN, {**service([], ingress="INGRESS_TRAFFIC_ALL"), "iapEnabled": True}, name="iap-prod-grafana"),
        False,
    ),
    Case(
        "prod-cloud-run-ingress-behind-load-balancer",
        node(RUN, service([], ingress="INGRESS_TRAFFIC_ALL"), name="open-dev-api"),
        False,
        environment="dev",
    ),
    # --- identity ---------------------------------------------------------------------------
    Case(
        "escalation-roles-conditioned",
        node(
            PROJECT_IAM,
            {
                "role": "roles/resourcemanager.projectIamAdmin",
                "member": "serviceAccount:d",
                "condition": {
                    "expression": "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', "
                    "[]).hasOnly(['roles/run.viewer'])"
                },
            },
            name="limited-iam-admin",
        ),
        False,
    ),
    Case(
        "escalation-roles-conditioned",
        node(PROJECT_IAM, {"role": "roles/iam.serviceAccountAdmin", "member": "serviceAccount:d"}, name="sa-admin"),
        True,
    ),
    Case(
        "escalation-roles-conditioned",
        node(
            PROJECT_IAM,
            {
                "role": "roles/secretmanager.secretAccessor",
                "member": "serviceAccount:d",
                "condition": {"title": "no expression"},
            },
            name="empty-condition",
        ),
        True,
    ),
    Case(
        "escalation-roles-conditioned",
        node(
            "gcp:projects/iAMBinding:IAMBinding",
            {"role": "roles/logging.configWriter", "members": ["serviceAccount:d"]},
            name="config-writer-binding",
        ),
        True,
    ),
    # The same role on one account is no project-wide escalation.
    Case(
        "escalation-roles-conditioned",
        node(ACCOUNT_IAM, {"role": "roles/iam.serviceAccountUser", "member": "serviceAccount:d"}, name="acts-as-one"),
        False,
    ),
    Case(
        "public-grants-allowlisted",
        node(
            RUN_IAM,
            {"role": "roles/run.invoker", "member": "allUsers", "name": "omni-prod-api"},
            name="omni-prod-api-public-invoker",
        ),
        False,
    ),
    Case(
        "public-grants-allowlisted",
        node(RUN_IAM, {"role": "roles/run.admin", "member": "allUsers"}, name="omni-prod-api-public-invoker"),
        True,
    ),
    Case(
        "public-grants-allowlisted",
        node(
            BUCKET_IAM,
            {"role": "roles/storage.objectViewer", "member": "allAuthenticatedUsers"},
            name="omni-prod-grafana-public",
        ),
        True,
    ),
    Case(
        "public-grants-allowlisted",
        node(
            "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
            {"policyData": '{"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}, "junk"]}'},
            name="public-policy",
        ),
        True,
    ),
    Case(
        "bucket-access-locked-down", node(BUCKET, bucket(), protect=True, name="omni-prod-grafana-provisioning"), False
    ),
    Case(
        "bucket-access-locked-down",
        node(BUCKET, bucket(publicAccessPrevention="inherited"), protect=True, name="omni-prod-status-site"),
        False,
    ),
    Case(
        "bucket-access-locked-down",
        node(BUCKET, bucket(publicAccessPrevention="inherited"), protect=True, name="omni-prod-exports"),
        True,
    ),
    Case(
        "bucket-access-locked-down",
        node(BUCKET, bucket(uniformBucketLevelAccess=False), protect=True, name="acl-bucket"),
        True,
    ),
    Case("workload-identity-pinned", node(WIF, provider_inputs(PINNED), name="pinned-github"), False),
    # Known only after apply: not judged in a preview.
    Case("workload-identity-pinned", node(WIF, provider_inputs(UNKNOWN), name="unknown-condition"), False),
    Case(
        "workload-identity-pinned",
        node(WIF, provider_inputs("assertion.repository == 'omni-platform/omni-infra'"), name="by-name"),
        True,
    ),
    Case(
        "workload-identity-pinned",
        node(WIF, provider_inputs("assertion.repository_id == '1'"), name="owner-missing"),
        True,
    ),
    Case(
        "workload-identity-pinned",
        node(WIF, {**provider_inputs(""), "oidc": {"issuerUri": "https://gitlab.com"}}, name="no-condition"),
        True,
    ),
    Case(
        "workload-identity-pinned",
        node(
            WIF,
            {**provider_inputs("assertion.sub == 'project_path:acme/x'"), "oidc": {"issuerUri": "https://gitlab.com"}},
            name="gitlab",
        ),
        False,
    ),
    # --- prod floors ----------------------------------------------------------------------------
    Case("prod-data-store-floor", node(SQL, sql(), protect=True, name="ha-sql"), False),
    Case(
        "prod-data-store-floor",
        node(
            SQL,
            {**sql(), "settings": {**sql()["settings"], "availabilityType": "ZONAL"}},
            protect=True,
            name="zonal-sql",
        ),
        True,
    ),
    Case(
        "prod-data-store-floor",
        node(
            SQL,
            {**sql(), "settings": {**sql()["settings"], "backupConfiguration": {"enabled": True}}},
            protect=True,
            name="no-pitr-sql",
        ),
        True,
    ),
    # A read replica takes no backups and fails over to nothing: the primary carries the floor.
    Case(
        "prod-data-store-floor",
        node(SQL, {**sql(), "masterInstanceName": "omni-prod-pg", "settings": {}}, protect=True, name="replica"),
        False,
    ),
    Case("prod-data-store-floor", node(REDIS, redis(tier="STANDARD_HA"), protect=True, name="ha-redis"), False),
    Case("prod-data-store-floor", node(REDIS, redis(), protect=True, name="basic-redis"), True),
    Case("prod-data-store-floor", node(REDIS, redis(), protect=False, name="dev-redis"), False, environment="dev"),
    Case(
        "prod-audit-bucket-locked",
        node(
            LOG_BUCKET,
            {"bucketId": "omni-prod-audit", "locked": True, "retentionDays": 400, "deletionPolicy": "PREVENT"},
            protect=True,
            name="locked-audit",
        ),
        False,
    ),
    Case(
        "prod-audit-bucket-locked",
        node(
            LOG_BUCKET,
            {"bucketId": "omni-prod-audit", "locked": False, "retentionDays": 400, "deletionPolicy": "PREVENT"},
            protect=True,
            name="unlocked-audit",
        ),
        True,
    ),
    Case(
        "prod-audit-bucket-locked",
        node(
            LOG_BUCKET,
            {"bucketId": "omni-prod-audit", "locked": True, "retentionDays": 30, "deletionPolicy": "PREVENT"},
            protect=True,
            name="short-audit",
        ),
        True,
    ),
    Case(
        "prod-audit-bucket-locked",
        node(
            LOG_BUCKET,
            {"bucketId": "omni-prod-audit", "locked": True, "deletionPolicy": "PREVENT"},
            protect=True,
            name="default-retention-audit",
        ),
        True,
    ),
    Case(
        "prod-audit-bucket-locked",
        node(LOG_BUCKET, {"bucketId": "omni-dev-audit", "locked": False, "retentionDays": 30}, name="dev-audit"),
        False,
        environment="dev",
    ),
    # --- Identity Platform: MFA on in prod -----------------------------------------------------------
    Case("prod-identity-mfa-on", node(IDENTITY_CONFIG, {"mfa": {"state": "ENABLED"}}, name="mfa-on"), False),
    Case("prod-identity-mfa-on", node(IDENTITY_CONFIG, {"mfa": {"state": "MANDATORY"}}, name="mfa-required"), False),
    Case("prod-identity-mfa-on", node(IDENTITY_CONFIG, {"mfa": {"state": "DISABLED"}}, name="mfa-off"), True),
    Case("prod-identity-mfa-on", node(IDENTITY_CONFIG, {"multiTenant": {"allowTenants": True}}, name="no-mfa"), True),
    Case(
        "prod-identity-mfa-on",
        node(IDENTITY_CONFIG, {"mfa": {"state": "DISABLED"}}, name="dev-mfa-off"),
        False,
        environment="dev",
    ),
    # --- labels ------------------------------------------------------------------------------------
    Case(
        "label-limits",
        node(REDIS, redis(tier="STANDARD_HA", labels={"role": "cache"}), protect=True, name="few-labels"),
        False,
    ),
    Case(
        "label-limits",
        node(
            REDIS, redis(tier="STANDARD_HA", labels={f"l{i}": "x" for i in range(61)}), protect=True, name="65-labels"
        ),
        True,
    ),
    Case(
        "label-limits",
        node(REDIS, redis(tier="STANDARD_HA", labels={"Role": "cache"}), protect=True, name="upper-key"),
        True,
    ),
    Case(
        "label-limits",
        node(REDIS, redis(tier="STANDARD_HA", labels={"owner": "a@b.c"}), protect=True, name="email-value"),
        True,
    ),
    Case(
        "label-limits",
        node(REDIS, redis(tier="STANDARD_HA", labels={"replicas": 2}), protect=True, name="number-value"),
        True,
    ),
    # A notification channel's `labels` are its settings (an email address), not resource labels.
    Case(
        "label-limits",
        node(CHANNEL, {"type": "email", "labels": {"email_address": "a@b.c"}}, name="email-channel"),
        False,
    ),
    Case(
        "labels-present", node(REDIS, redis(labels={"role": "cache"}), protect=True, name="labelled-by-provider"), False
    ),
    Case(
        "labels-present",
        node(SQL, {**sql(), "settings": {**sql()["settings"], "userLabels": {}}}, protect=True, name="unlabelled-sql"),
        True,
    ),
)


def violations_of(case: Case) -> list[Violation]:
    report = check_graph(graph(case.resource, environment=case.environment))
    return [v for v in report.violations if v.policy == case.rule]


def validation_args(resource: dict[str, Any], environment: str = STACK) -> ResourceValidationArgs:
    """What pulumi-policy hands a `ResourceValidationPolicy`: props behind its unknown-checking
    proxy, with its own sentinel where the graph says UNKNOWN."""
    options = PolicyResourceOptions(
        protect=resource["protect"],
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource["parent"],
    )
    gcp = provider(environment)
    return ResourceValidationArgs(
        resource_type=resource["type"],
        props=unknown_checking_proxy(_with_sentinels(copy.deepcopy(resource["inputs"]))),
        urn=resource["urn"],
        name=resource["name"],
        opts=options,
        provider=PolicyProviderResource(gcp["type"], unknown_checking_proxy(gcp["inputs"]), gcp["urn"], gcp["name"]),
    )


def _with_sentinels(value: Any) -> Any:
    if value == UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {key: _with_sentinels(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_sentinels(item) for item in value]
    return value


def pack_messages(rule: str, args: ResourceValidationArgs) -> list[str]:
    [policy] = [p for p in POLICIES if p.name == rule]
    reported: list[str] = []
    policy.validate(args, lambda message, urn=None: reported.append(message))
    return reported


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_policy_passes_compliant_and_catches_violating_resources(case: Case) -> None:
    found = violations_of(case)

    assert bool(found) == case.violates, [v.message for v in found]
    assert all(v.enforcement is RULES_BY_NAME[case.rule].enforcement for v in found)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_pulumi_policy_pack_reports_what_the_offline_check_reports(case: Case) -> None:
    offline = [v.message for v in violations_of(case)]

    assert pack_messages(case.rule, validation_args(case.resource, case.environment)) == offline


def test_every_policy_has_a_passing_and_a_violating_case() -> None:
    rules = {rule.name for rule in RULES}

    assert {case.rule for case in CASES if case.violates} == rules
    assert {case.rule for case in CASES if not case.violates} == rules


def test_security_policies_are_mandatory() -> None:
    mandatory = {rule.name for rule in RULES if rule.enforcement is Enforcement.MANDATORY}

    assert mandatory == {
        "cloud-sql-no-public-ip",
        "redis-not-public",
        "ssl-enforced",
        "prod-stateful-protected",
        "no-primitive-roles",
        "no-plain-secret-env",
        "prod-cloud-run-ingress-behind-load-balancer",
        "escalation-roles-conditioned",
        "public-grants-allowlisted",
        "bucket-access-locked-down",
        "workload-identity-pinned",
        "prod-data-store-floor",
        "prod-audit-bucket-locked",
        "prod-identity-mfa-on",
        "prod-data-encrypted-with-cmek",
        "label-limits",
    }


def test_pack_declares_each_rule_once_at_its_enforcement_level() -> None:
    assert [(p.name, p.enforcement_level) for p in POLICIES] == [(r.name, LEVELS[r.enforcement]) for r in RULES]


def test_a_value_unknown_in_preview_is_not_judged() -> None:
    unknown_ip = node(SQL, sql(ipv4Enabled=UNKNOWN), protect=True, name="unknown-ip-sql")

    assert violations_of(Case("cloud-sql-no-public-ip", unknown_ip, False)) == []
    assert pack_messages("cloud-sql-no-public-ip", validation_args(unknown_ip)) == []
    unknown_mfa = node(IDENTITY_CONFIG, {"mfa": {"state": UNKNOWN}}, name="unknown-mfa")
    assert violations_of(Case("prod-identity-mfa-on", unknown_mfa, False)) == []


def test_the_adapter_turns_pulumi_policy_unknowns_into_the_graph_marker() -> None:
    props = unknown_checking_proxy(
        {"settings": {"ipConfiguration": {"ipv4Enabled": UNKNOWN_BOOLEAN_VALUE}}, "envs": [UNKNOWN_STRING_VALUE]}
    )

    assert plain(props) == {"settings": {"ipConfiguration": {"ipv4Enabled": UNKNOWN}}, "envs": [UNKNOWN]}


def test_a_report_passes_with_advisory_violations_only_and_fails_with_a_mandatory_one() -> None:
    # In dev, where an open ingress is advisory (prod fails it: prod-cloud-run-ingress-behind-load-balancer).
    open_api = node(RUN, service([], ingress="INGRESS_TRAFFIC_ALL"), name="open-api")
    advisory_only = check_graph(graph(open_api, environment="dev"))
    owner = node(PROJECT_IAM, {"role": "roles/owner", "member": "user:a@b.c"}, name="owner")
    with_mandatory = check_graph(graph(open_api, owner, environment="dev"))

    assert advisory_only.passed
    assert [v.policy for v in advisory_only.advisory] == ["cloud-run-ingress-behind-load-balancer"]
    assert not with_mandatory.passed
    assert [v.policy for v in with_mandatory.mandatory] == ["no-primitive-roles"]


def test_a_resource_that_does_not_say_its_environment_is_judged_as_prod() -> None:
    unlabelled = dict(node(SQL, {**sql(), "encryptionKeyName": KEY}, protect=False, name="who-knows"), provider=None)
    report = check_graph({"version": 1, "stack": STACK, "resources": [unlabelled]}, stack_rules=())

    assert [v.policy for v in report.mandatory] == ["prod-stateful-protected"]


@pytest.mark.parametrize(
    ("env_name", "secret"),
    [
        ("REDIS_CACHE_AUTH", True),
        ("OMNI_SECRET_KEY", True),
        ("GITHUB_TOKEN", True),
        ("GF_DATABASE_PASSWORD", True),
        ("GF_AUTH_JWT_HEADER_NAME", False),  # a setting of the auth feature, not a credential
        ("MONKEY", False),
        ("DATABASE_HOST", False),
    ],
)
def test_names_ending_in_a_secret_word_look_secret(env_name: str, secret: bool) -> None:
    assert looks_secret(env_name) is secret


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_real_stacks_pass_the_pack(graphs: dict[str, dict[str, Any]], stack: str) -> None:
    report = check_graph(graphs[stack])

    assert report.passed, [f"{v.policy}: {v.name}: {v.message}" for v in report.mandatory]
    # The known advisories: dev turns the edge off, so its API and its portal answer on their run.app URLs.
    expected = (
        {
            ("cloud-run-ingress-behind-load-balancer", "omni-dev-api-service"),
            ("cloud-run-ingress-behind-load-balancer", "omni-dev-portal-service"),
        }
        if stack == "dev"
        else set()
    )
    assert {(v.policy, v.name) for v in report.advisory} == expected
    assert report.resources_checked > 50


def test_pack_loads_the_way_pulumi_runs_it(tmp_path) -> None:
    """Pulumi runs `runpy.run_path(<pack dir>)` from elsewhere, without the repository on the path."""
    script = (
        f"import runpy; pack = runpy.run_path({str(ROOT / 'policy')!r}, run_name='pack'); print(len(pack['POLICIES']))"
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(RULES))


def test_omni_check_runs_the_policies_over_every_stack(project_copy: Project) -> None:
    from offline.engine import run_stack

    for stack in project_copy.stacks():
        write_snapshot(project_copy, stack, dumps(run_stack(project_copy, stack).to_json()))
    result = CliRunner().invoke(app, ["check", "-C", str(project_copy.root)])

    assert result.exit_code == 0, result.output
    for stack in ("dev", "staging", "prod"):
        assert f"✓ {stack}: policies:" in result.output
    assert "0 mandatory and 2 advisory violations" in result.output  # dev's API and portal, without the edge
    assert "0 mandatory and 0 advisory violations" in result.output  # staging and prod, behind it
    assert "advisory cloud-run-ingress-behind-load-balancer" in result.output


# --- stack rules: the enterprise controls prod must keep (docs/compliance.md) ---------------------

CONTACT = "gcp:essentialcontacts/contact:Contact"
SCC = "gcp:securitycenter/v2ProjectNotificationConfig:V2ProjectNotificationConfig"
DISCOVERY = "gcp:dataloss/preventionDiscoveryConfig:PreventionDiscoveryConfig"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
DATASET = "gcp:bigquery/dataset:Dataset"
FINDINGS_TOPIC = "projects/omni-api-prod/topics/omni-prod-security-findings"
SCC_FILTER = 'state="ACTIVE" AND -mute="MUTED" AND (severity="HIGH" OR severity="CRITICAL")'


def contact(email: str, *categories: str) -> dict[str, Any]:
    inputs = {"email": email, "parent": "projects/omni-api-prod", "notificationCategorySubscriptions": list(categories)}
    return node(CONTACT, inputs, name=f"contact-{email.split('@')[0]}")


def prod_contacts() -> list[dict[str, Any]]:
    return [
        contact("security@omni.example", "SECURITY"),
        contact("billing@omni.example", "BILLING"),
        contact("platform@omni.example", "TECHNICAL"),
        contact("legal@omni.example", "LEGAL"),
    ]


def scc(topic: Any = FINDINGS_TOPIC, expression: Any = SCC_FILTER) -> dict[str, Any]:
    return node(
        SCC, {"configId": "findings", "pubsubTopic": topic, "streamingConfig": {"filter": expression}}, name="scc"
    )


def tickets(topic: Any = FINDINGS_TOPIC) -> dict[str, Any]:
    return node(SUBSCRIPTION, {"name": "omni-prod-security-findings-tickets", "topic": topic}, name="tickets")


def discovery(*targets: dict[str, Any], status: Any = "RUNNING", topic: Any = FINDINGS_TOPIC) -> dict[str, Any]:
    actions = [{"pubSubNotification": {"topic": topic, "event": "NEW_PROFILE"}}, {"publishToScc": {}}]
    inputs = {"status": status, "targets": list(targets), "actions": actions}
    return node(DISCOVERY, inputs, name="discovery")


def bigquery_target(regex: Any = "^omni_prod_usage$") -> dict[str, Any]:
    return {"bigQueryTarget": {"filter": {"tables": {"includeRegexes": {"patterns": [{"datasetIdRegex": regex}]}}}}}


CLOUD_SQL_TARGET = {"cloudSqlTarget": {"filter": {"collection": {"includeRegexes": {"patterns": [{}]}}}}}
# Encrypted like prod's, so the stack rules below are the only ones a case can break.
USAGE_DATASET = node(
    DATASET,
    {"datasetId": "omni_prod_usage", "defaultEncryptionConfiguration": {"kmsKeyName": KEY}},
    name="usage-dataset",
)


def controls(*extra: dict[str, Any], leave_out: tuple[str, ...] = (), environment: str = STACK) -> dict[str, Any]:
    """A prod stack with every control, less the resources named in `leave_out`, plus `extra`."""
    complete = [
        *prod_contacts(),
        scc(),
        tickets(),
        discovery(bigquery_target(), CLOUD_SQL_TARGET),
        USAGE_DATASET,
        node(SQL, {**sql(), "encryptionKeyName": KEY}, protect=True, name="primary-sql"),
    ]
    kept = [resource for resource in complete if resource["name"] not in leave_out]
    return graph(*kept, *extra, environment=environment)


def stack_violations(stack_graph: dict[str, Any]) -> list[tuple[str, str]]:
    rules = {"prod-essential-contacts", "prod-findings-routed", "prod-scc-notification", "prod-data-discovery"}
    return [(v.policy, v.message) for v in check_graph(stack_graph).violations if v.policy in rules]


def test_a_prod_stack_with_every_control_passes_the_stack_rules() -> None:
    assert stack_violations(controls()) == []


def test_prod_without_a_security_contact_fails_naming_the_category() -> None:
    found = stack_violations(controls(leave_out=("contact-security",)))

    assert [policy for policy, _ in found] == ["prod-essential-contacts"]
    assert "SECURITY" in found[0][1]
    assert "BILLING" not in found[0][1]


def test_one_contact_for_all_categories_covers_prod() -> None:
    only_all = graph(
        contact("team@omni.example", "ALL"), scc(), tickets(), discovery(bigquery_target(), CLOUD_SQL_TARGET)
    )

    assert [policy for policy, _ in stack_violations(only_all)] == []


def test_contacts_unknown_in_preview_are_not_judged() -> None:
    unknown = dict(contact("x@omni.example"), inputs={"notificationCategorySubscriptions": UNKNOWN})
    stack = graph(unknown, scc(), tickets(), discovery(bigquery_target()))

    assert "prod-essential-contacts" not in {policy for policy, _ in stack_violations(stack)}


def test_dev_and_staging_need_none_of_the_controls() -> None:
    for environment in ("dev", "staging"):
        assert stack_violations(graph(tickets(), environment=environment)) == []


def test_a_stack_no_provider_labels_is_judged_as_prod() -> None:
    report = check_graph({"version": 1, "stack": STACK, "resources": []})

    assert {v.policy for v in report.violations} >= {"prod-essential-contacts", "prod-data-discovery"}


def test_prod_without_any_findings_publisher_fails() -> None:
    discovery_without_notification = dict(discovery(bigquery_target(), CLOUD_SQL_TARGET))
    discovery_without_notification["inputs"] = {**discovery_without_notification["inputs"], "actions": []}
    found = stack_violations(controls(discovery_without_notification, leave_out=("scc", "discovery")))

    assert (
        "prod-findings-routed",
        "nothing publishes security findings (no SCC notification config, no discovery notification)",
    ) in found


def test_findings_sent_to_a_topic_no_subscription_reads_fail() -> None:
    found = stack_violations(controls(tickets("projects/omni-api-prod/topics/elsewhere"), leave_out=("tickets",)))

    assert [policy for policy, _ in found] == ["prod-findings-routed", "prod-findings-routed"]
    assert all(FINDINGS_TOPIC in message for _, message in found)


def test_topics_unknown_in_preview_are_not_judged() -> None:
    assert stack_violations(controls(tickets(UNKNOWN), leave_out=("tickets",))) == []
    assert stack_violations(controls(scc(topic=UNKNOWN), leave_out=("scc",))) == []


def test_without_scc_the_discovery_findings_route_alone_and_scc_is_advised() -> None:
    found = stack_violations(controls(leave_out=("scc",)))

    assert [(policy, check_graph(controls(leave_out=("scc",))).passed) for policy, _ in found] == [
        ("prod-scc-notification", True)
    ]


def test_an_scc_filter_that_leaves_out_critical_findings_is_advised_against() -> None:
    high_only = scc(expression='state="ACTIVE" AND severity="HIGH"')
    inactive_too = scc(expression='severity="CRITICAL"')

    assert [p for p, _ in stack_violations(controls(high_only, leave_out=("scc",)))] == ["prod-scc-notification"]
    assert [p for p, _ in stack_violations(controls(inactive_too, leave_out=("scc",)))] == ["prod-scc-notification"]
    assert stack_violations(controls(scc(expression=UNKNOWN), leave_out=("scc",))) == []


def test_prod_without_a_running_discovery_config_fails() -> None:
    paused = discovery(bigquery_target(), CLOUD_SQL_TARGET, status="PAUSED")

    for stack in (controls(leave_out=("discovery",)), controls(paused, leave_out=("discovery",))):
        assert (
            "prod-data-discovery",
            "no running Sensitive Data Protection discovery config: nobody knows where personal data is",
        ) in stack_violations(stack)


def test_a_dataset_discovery_does_not_match_fails_naming_it() -> None:
    other = node(DATASET, {"datasetId": "omni_prod_exports"}, name="exports")

    assert stack_violations(controls(other)) == [
        ("prod-data-discovery", "BigQuery dataset omni_prod_exports is not profiled by discovery")
    ]


def test_datasets_and_regexes_unknown_in_preview_are_not_judged() -> None:
    unknown_dataset = node(DATASET, {"datasetId": UNKNOWN}, name="unknown-dataset")
    unknown_regex = discovery(bigquery_target(UNKNOWN), CLOUD_SQL_TARGET, status=UNKNOWN)
    every_dataset = discovery(
        {"bigQueryTarget": {"filter": {"tables": {"includeRegexes": {"patterns": [{}]}}}}}, CLOUD_SQL_TARGET
    )

    assert stack_violations(controls(unknown_dataset)) == []
    assert stack_violations(controls(unknown_regex, leave_out=("discovery",))) == []
    assert stack_violations(controls(every_dataset, USAGE_DATASET, leave_out=("discovery",))) == []


def test_prod_discovery_without_the_database_fails_when_there_is_one() -> None:
    bigquery_only = discovery(bigquery_target())

    assert stack_violations(controls(bigquery_only, leave_out=("discovery",))) == [
        ("prod-data-discovery", "the Cloud SQL database is not profiled by discovery (no cloudSqlTarget)")
    ]
    assert stack_violations(controls(bigquery_only, leave_out=("discovery", "primary-sql"))) == []


def test_the_stack_rules_report_on_the_stack_itself() -> None:
    stack_node = {
        "urn": "urn:pulumi:prod::omni-infra::pulumi:pulumi:Stack::omni-infra-prod",
        "type": "pulumi:pulumi:Stack",
        "name": "omni-infra-prod",
        "custom": False,
        "inputs": {},
    }
    report = check_graph(controls(stack_node, leave_out=("contact-legal",)))

    assert [(v.policy, v.urn) for v in report.mandatory] == [("prod-essential-contacts", stack_node["urn"])]


def stack_args(stack_graph: dict[str, Any]) -> Any:
    """What pulumi-policy hands a `StackValidationPolicy`: every resource, components and providers too."""
    from pulumi_policy import PolicyResource as PackResource
    from pulumi_policy import StackValidationArgs

    gcp = stack_graph["resources"][0]
    pack_provider = PolicyProviderResource(gcp["type"], gcp["inputs"], gcp["urn"], gcp["name"])
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=None,
    )
    resources = [
        PackResource(
            r["type"],
            unknown_checking_proxy(_with_sentinels(copy.deepcopy(r["inputs"]))),
            r["urn"],
            r["name"],
            options,
            pack_provider,
            None,
            [],
            {},
        )
        for r in stack_graph["resources"]
    ]
    component = PackResource(
        "omni:compliance:SecurityFindings", {}, "urn:component", "findings", options, None, None, [], {}
    )
    return StackValidationArgs([*resources, component])


@pytest.mark.parametrize("leave_out", [(), ("contact-security",), ("scc",), ("discovery",)])
def test_pulumi_policy_stack_policies_report_what_the_offline_check_reports(leave_out: tuple[str, ...]) -> None:
    from policy.__main__ import STACK_POLICIES

    stack_graph = controls(leave_out=leave_out)
    reported: list[tuple[str, str]] = []
    for policy in STACK_POLICIES:
        policy.validate(
            stack_args(stack_graph), lambda message, urn=None, name=policy.name: reported.append((name, message))
        )

    assert reported == stack_violations(stack_graph)
