"""The change trail and who may change things: Data Access audit logs, every audit log kept in
a retention-locked bucket, and deploys only through GitHub's OIDC tokens of one repository,
as the one identity that holds write roles."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.deploy_identity import (
    DEPLOYER_CUSTOM_ROLES,
    DEPLOYER_ROLES,
    GRANTED_PROJECT_ROLES,
    KMS_ROLE,
    LOG_METRICS_ROLE,
    NOT_GOOGLE_CLOUD,
    PREVIEWER_ROLES,
    PROJECT_IAM_ADMIN,
    SECRET_ACCESSOR,
    SECRETS_ROLE,
    SERVICE_ACCOUNT_USER,
    SERVICE_ACCOUNTS_ROLE,
    CustomRole,
    check_github_repository,
    custom_role_id,
    grant_limit,
    secret_scope,
    service_roles,
)
from offline.engine import Project, run_stack
from offline.outputs import project_number
from stackconfig import StackConfigError, load_stack_config
from stackconfig.model import LONGEST_ACCOUNT_SUFFIX, SERVICE_ACCOUNT_ID_MAX

from .conftest import edit_stack_file, one, resources

STACKS = ("dev", "staging", "prod")
AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
SINK = "gcp:logging/projectSink:ProjectSink"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
# Where a deployed resource names the account it runs as.
RUNS_AS: dict[str, tuple[str, ...]] = {
    "gcp:cloudrunv2/service:Service": ("template", "serviceAccount"),
    "gcp:cloudrunv2/workerPool:WorkerPool": ("template", "serviceAccount"),
    "gcp:cloudrunv2/job:Job": ("template", "template", "serviceAccount"),
    "gcp:cloudscheduler/job:Job": ("httpTarget", "oauthToken", "serviceAccountEmail"),
}
GRANT_LIMIT = re.compile(
    r"^api\.getAttribute\('iam\.googleapis\.com/modifiedGrantsByRole', \[\]\)\.hasOnly\(\[(.*)\]\)$"
)
# Roles that change infrastructure or access to it (writing logs or metrics does not).
INFRASTRUCTURE_WRITE = re.compile(r"(admin|Admin|configWriter|serviceAccountUser|editor|owner)$")


def by_name(graph: dict[str, Any], rtype: str, name: str) -> dict[str, Any]:
    [found] = [r for r in resources(graph, rtype) if r["name"] == name]
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_data_access_logs_are_on_for_cloud_sql_secret_manager_and_iam(graphs: dict[str, Any], stack: str) -> None:
    configs = {r["inputs"]["service"]: r["inputs"]["auditLogConfigs"] for r in resources(graphs[stack], AUDIT_CONFIG)}

    assert set(configs) == {"cloudsql.googleapis.com", "secretmanager.googleapis.com", "iam.googleapis.com"}
    for log_configs in configs.values():
        assert sorted(c["logType"] for c in log_configs) == ["ADMIN_READ", "DATA_READ", "DATA_WRITE"]
        assert all("exemptedMembers" not in c for c in log_configs)  # nobody is exempt


@pytest.mark.parametrize(("stack", "locked"), [("dev", False), ("staging", False), ("prod", True)])
def test_audit_logs_are_kept_in_a_bucket_retention_locked_in_prod_only(
    graphs: dict[str, Any], stack: str, locked: bool
) -> None:
    # A locked bucket is deleted only once empty, which a bucket fed by the sink never is: a
    # stack that may be torn down (dev, staging) keeps it unlocked unless it says otherwise.
    bucket = one(graphs[stack], LOG_BUCKET)

    assert bucket["inputs"]["retentionDays"] == 400
    assert bucket["inputs"]["locked"] is locked
    assert bucket["inputs"]["location"] == "europe-west1"
    assert bucket["protect"] is (stack != "dev")
    assert bucket["inputs"]["deletionPolicy"] == ("DELETE" if stack == "dev" else "PREVENT")


@pytest.mark.parametrize("stack", STACKS)
def test_a_sink_copies_every_audit_log_into_that_bucket(applied: dict[str, Any], stack: str) -> None:
    sink = one(applied[stack], SINK)
    bucket_name = applied[stack]["outputs"]["audit_log_bucket"]

    assert sink["inputs"]["destination"] == f"logging.googleapis.com/{bucket_name}"
    assert bucket_name == f"projects/omni-api-{stack}/locations/europe-west1/buckets/omni-{stack}-audit"
    assert "cloudaudit.googleapis.com" in sink["inputs"]["filter"]
    assert sink["inputs"].get("disabled") is not True


def test_prod_refuses_an_unlocked_audit_bucket(project_copy: Project) -> None:
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:audit:\n    locked: false",
    )
    with pytest.raises(StackConfigError, match="prod keeps its audit logs locked"):
        run_stack(project_copy, "prod")


def test_staging_may_lock_its_audit_bucket(project_copy: Project) -> None:
    edit_stack_file(
        project_copy,
        "staging",
        "omni-infra:environment: staging",
        "omni-infra:environment: staging\n  omni-infra:audit:\n    locked: true",
    )
    bucket = one(run_stack(project_copy, "staging").to_json(), LOG_BUCKET)

    assert bucket["inputs"]["locked"] is True


def test_audit_retention_is_a_stack_setting(project_copy: Project) -> None:
    edit_stack_file(
        project_copy,
        "staging",
        "omni-infra:environment: staging",
        "omni-infra:environment: staging\n  omni-infra:audit:\n    retentionDays: 3650",
    )
    bucket = one(run_stack(project_copy, "staging").to_json(), LOG_BUCKET)

    assert bucket["inputs"]["retentionDays"] == 3650


@pytest.mark.parametrize("stack", STACKS)
def test_github_tokens_are_accepted_from_one_repository_by_its_ids(graphs: dict[str, Any], stack: str) -> None:
    provider = one(graphs[stack], "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    condition = provider["inputs"]["attributeCondition"]

    assert provider["inputs"]["oidc"]["issuerUri"] == "https://token.actions.githubusercontent.com"
    assert condition.startswith(
        "assertion.repository_id == '812345678' && assertion.repository_owner_id == '91234567' && "
    )
    assert "assertion.repository ==" not in condition  # a name can be registered again
    assert f"assertion.environment == '{stack}'" in condition
    assert "omni-platform/omni-infra/.github/workflows/deploy-stack.yml@refs/heads/main" in condition


DEPLOY_BLOCK = "  omni-infra:deploy:\n"


def test_the_deploy_workflow_s_repository_is_stack_config(project_copy: Project) -> None:
    edit_stack_file(project_copy, "dev", DEPLOY_BLOCK, f"{DEPLOY_BLOCK}    githubRepository: acme/omni-fork\n")
    provider = one(
        run_stack(project_copy, "dev").to_json(), "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
    )

    assert (
        "assertion.job_workflow_ref == 'acme/omni-fork/.github/workflows/deploy-stack.yml@refs/heads/main'"
        in provider["inputs"]["attributeCondition"]
    )


@pytest.mark.parametrize("repository", ["omni", "omni/infra/extra", "-omni/infra", "omni/infra' || true || '"])
def test_a_repository_that_is_not_owner_slash_name_is_refused(project_copy: Project, repository: str) -> None:
    edit_stack_file(project_copy, "dev", DEPLOY_BLOCK, f'{DEPLOY_BLOCK}    githubRepository: "{repository}"\n')
    with pytest.raises(StackConfigError, match=r"deploy\.githubRepository"):
        run_stack(project_copy, "dev")
    with pytest.raises(ValueError, match="is not `owner/name`"):
        check_github_repository(repository)


@pytest.mark.parametrize("key", ["githubRepositoryId", "githubOwnerId"])
def test_a_stack_without_the_repository_ids_is_refused_naming_the_key_and_the_command(
    project_copy: Project, key: str
) -> None:
    path = project_copy.stack_file("prod")
    lines = [line for line in path.read_text().splitlines() if not line.strip().startswith(f"{key}:")]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(StackConfigError) as caught:
        run_stack(project_copy, "prod")

    assert f"omni-infra:deploy.{key}" in str(caught.value)
    assert "gh api repos/omni-platform/omni-infra --jq" in str(caught.value)


@pytest.mark.parametrize("value", ["omni", "0123", "12a", "' || true"])
def test_a_repository_id_that_is_not_digits_is_refused(project_copy: Project, value: str) -> None:
    edit_stack_file(project_copy, "prod", 'githubRepositoryId: "812345678"', f'githubRepositoryId: "{value}"')
    with pytest.raises(StackConfigError, match=r"deploy\.githubRepositoryId"):
        run_stack(project_copy, "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployer_is_the_only_identity_with_write_roles(applied: dict[str, Any], stack: str) -> None:
    deployer = f"serviceAccount:{applied[stack]['outputs']['deployer_service_account']}"
    grants = [(r["inputs"]["member"], r["inputs"]["role"]) for r in resources(applied[stack], PROJECT_IAM)]
    writers = {member for member, role in grants if INFRASTRUCTURE_WRITE.search(role) or "/roles/" in role}
    custom = {
        f"projects/omni-api-{stack}/roles/{custom_role_id(f'omni-{stack}', role)}" for role in DEPLOYER_CUSTOM_ROLES
    }

    assert writers == {deployer}
    # Service Account User is granted on each runtime account, never on the project.
    assert sorted(role for member, role in grants if member == deployer) == sorted(
        [*DEPLOYER_ROLES, SECRET_ACCESSOR, *custom]
    )
    assert {role.key for role in DEPLOYER_CUSTOM_ROLES} == {
        SERVICE_ACCOUNTS_ROLE.key,
        SECRETS_ROLE.key,
        LOG_METRICS_ROLE.key,
        KMS_ROLE.key,
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_google_resource_the_program_declares_is_managed_by_a_deployer_role_and_read_by_the_previewer(
    graphs: dict[str, Any], stack: str
) -> None:
    types = {r["type"] for r in graphs[stack]["resources"] if r["custom"]}
    google = {t for t in types if not t.startswith(NOT_GOOGLE_CLOUD)}

    assert all(t.startswith("gcp:") for t in google), sorted(t for t in google if not t.startswith("gcp:"))
    for rtype in sorted(google):
        roles = service_roles(rtype)
        assert roles is not None, f"{rtype}: no role in SERVICE_ROLES manages it (components/deploy_identity.py)"
        assert roles.manage is None or roles.manage in (*DEPLOYER_ROLES, *DEPLOYER_CUSTOM_ROLES), rtype
        assert set(roles.read) <= set(PREVIEWER_ROLES), rtype


# Managed by the deployer with a role no project grant can give: a person grants it on the billing
# account (docs/cost.md), so no project role is listed for it.
GRANTED_OUTSIDE_THE_PROJECT = {"gcp:billing/budget:Budget"}
# What only a person changes (docs/deploy-security.md): the trust, the guardrails, the audit trail.
PERSON_MANAGED = {
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
    "gcp:iam/denyPolicy:DenyPolicy",
    "gcp:projects/iAMCustomRole:IAMCustomRole",
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:logging/projectBucketConfig:ProjectBucketConfig",
    "gcp:logging/projectSink:ProjectSink",
}


@pytest.mark.parametrize("stack", STACKS)
def test_the_trust_the_guardrails_and_the_audit_trail_are_managed_by_a_person_only(
    graphs: dict[str, Any], stack: str
) -> None:
    types = {
        r["type"] for r in graphs[stack]["resources"] if r["custom"] and not r["type"].startswith(NOT_GOOGLE_CLOUD)
    }

    assert {t for t in types if (roles := service_roles(t)) is not None and roles.manage is None} == PERSON_MANAGED | (
        types & GRANTED_OUTSIDE_THE_PROJECT
    )


def test_the_deployer_holds_no_role_that_no_declared_resource_needs(graphs: dict[str, Any]) -> None:
    types = {r["type"] for graph in graphs.values() for r in graph["resources"] if r["custom"]}
    needed = {
        roles.manage for rtype in types if (roles := service_roles(rtype)) is not None and roles.manage is not None
    }

    assert {role for role in needed if isinstance(role, str)} == set(DEPLOYER_ROLES)
    assert {role for role in needed if isinstance(role, CustomRole)} == set(DEPLOYER_CUSTOM_ROLES)


def test_the_custom_roles_carry_no_permission_that_escalates() -> None:
    from policy.iam_roles import ESCALATION_PERMISSIONS

    assert not set(SERVICE_ACCOUNTS_ROLE.permissions) & ESCALATION_PERMISSIONS
    # Setting IAM on secrets stays inside the stack through the grant's condition.
    assert set(SECRETS_ROLE.permissions) & ESCALATION_PERMISSIONS == {"secretmanager.secrets.setIamPolicy"}
    assert "secretmanager.versions.access" not in SECRETS_ROLE.permissions


@pytest.mark.parametrize(
    ("rtype", "role"),
    [
        ("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig", "roles/monitoring.editor"),
        ("gcp:storage/bucketObject:BucketObject", "roles/storage.admin"),
        ("gcp:cloudscheduler/job:Job", "roles/cloudscheduler.admin"),
        ("gcp:iap/webCloudRunServiceIamMember:WebCloudRunServiceIamMember", "roles/iap.admin"),
        ("gcp:projects/iAMAuditConfig:IAMAuditConfig", PROJECT_IAM_ADMIN),
        ("gcp:projects/serviceIdentity:ServiceIdentity", "roles/serviceusage.serviceUsageAdmin"),
        ("gcp:projects/iAMCustomRole:IAMCustomRole", None),
        ("gcp:serviceaccount/iAMMember:IAMMember", None),
        ("gcp:serviceaccount/account:Account", SERVICE_ACCOUNTS_ROLE),
        ("gcp:secretmanager/secretVersion:SecretVersion", SECRETS_ROLE),
    ],
)
def test_the_narrowest_prefix_of_a_type_names_its_role(rtype: str, role: str | CustomRole | None) -> None:
    roles = service_roles(rtype)
    assert roles is not None
    assert roles.manage == role
    assert service_roles("gcp:dataflow/job:Job") is None


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployer_may_grant_and_revoke_only_the_roles_the_program_grants_to_others(
    applied: dict[str, Any], stack: str
) -> None:
    deployer = f"serviceAccount:{applied[stack]['outputs']['deployer_service_account']}"
    grants = resources(applied[stack], PROJECT_IAM)
    [iam_admin] = [
        r["inputs"] for r in grants if r["inputs"]["member"] == deployer and r["inputs"]["role"] == PROJECT_IAM_ADMIN
    ]
    limit = GRANT_LIMIT.match(iam_admin["condition"]["expression"])
    assert limit, iam_admin["condition"]["expression"]
    grantable = set(re.findall(r"'([^']+)'", limit.group(1)))

    granted_to_others = {r["inputs"]["role"] for r in grants if r["inputs"]["member"] != deployer}
    # The previewer's conditional secret accessor is a person's grant: were the role grantable, the
    # deployer could grant itself every secret of the project, unconditionally.
    assert granted_to_others - {SECRET_ACCESSOR} == grantable == set(GRANTED_PROJECT_ROLES)
    assert not grantable & {
        "roles/owner",
        "roles/editor",
        PROJECT_IAM_ADMIN,
        SERVICE_ACCOUNT_USER,
        SECRET_ACCESSOR,
        *DEPLOYER_ROLES,
    }
    # Only the deploy accounts' grants are conditional: a condition elsewhere would silently narrow a workload.
    assert sorted(r["name"] for r in grants if r["inputs"].get("condition")) == [
        f"omni-{stack}-deployer-deployer-secrets",
        f"omni-{stack}-deployer-reads-own-secrets",
        f"omni-{stack}-deployer-resourcemanager-projectIamAdmin",
        f"omni-{stack}-previewer-reads-own-secrets",
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_the_deploy_accounts_reach_the_stack_s_own_secrets_only(applied: dict[str, Any], stack: str) -> None:
    grants = {r["name"]: r["inputs"] for r in resources(applied[stack], PROJECT_IAM)}
    scoped = secret_scope(str(project_number(f"omni-api-{stack}")), f"omni-{stack}-")
    secret_ids = {r["inputs"]["secretId"] for r in resources(applied[stack], "gcp:secretmanager/secret:Secret")}

    for name in ("deployer-deployer-secrets", "deployer-reads-own-secrets", "previewer-reads-own-secrets"):
        assert grants[f"omni-{stack}-{name}"]["condition"]["expression"] == scoped
    assert all(secret_id.startswith(f"omni-{stack}-") for secret_id in secret_ids)


def test_the_secret_scope_refuses_what_would_widen_it() -> None:
    with pytest.raises(ValueError, match="is not digits"):
        secret_scope("12a", "omni-prod-")
    with pytest.raises(ValueError, match="ending in '-'"):
        secret_scope("123", "omni-prod")  # no trailing '-': omni-production- would match


def test_the_grant_limit_is_the_documented_modified_grants_by_role_expression() -> None:
    assert grant_limit(["roles/run.viewer", "roles/cloudsql.client"]) == (
        "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', [])"
        ".hasOnly(['roles/cloudsql.client', 'roles/run.viewer'])"
    )


def runtime_accounts(graph: dict[str, Any]) -> set[str]:
    """Every account a Cloud Run service, job, worker pool or Cloud Scheduler job runs as."""
    found = set()
    for rtype, path in RUNS_AS.items():
        for resource in resources(graph, rtype):
            value: Any = resource["inputs"]
            for key in path:
                value = value[key]
            found.add(value)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployer_may_act_as_every_account_it_deploys_something_as_one_way_only(
    applied: dict[str, Any], stack: str
) -> None:
    graph = applied[stack]
    deployer = f"serviceAccount:{graph['outputs']['deployer_service_account']}"
    project_wide = any(r["inputs"]["role"] == SERVICE_ACCOUNT_USER for r in resources(graph, PROJECT_IAM))
    per_account = {
        r["inputs"]["serviceAccountId"].rsplit("/", 1)[1]
        for r in resources(graph, ACCOUNT_IAM)
        if r["inputs"]["member"] == deployer and r["inputs"]["role"] == SERVICE_ACCOUNT_USER
    }
    used = runtime_accounts(graph)

    assert len(used) >= 6  # api, worker, beat, migrate, the status page's two (and Grafana)
    assert not project_wide, "Service Account User on the project lets the deployer act as every account"
    assert used == per_account, sorted(used ^ per_account)


def test_the_deployer_acts_as_the_named_runtime_accounts_only(make_project) -> None:
    program = """
        from components.deploy_identity import DeployIdentity, DeployIdentityArgs, GitHubTrust
        DeployIdentity(
            "omni-probe",
            DeployIdentityArgs(
                project="probe-project",
                trust=GitHubTrust("omni-platform/omni-infra", "812345678", "91234567", "dev"),
                runtime_accounts={"api": "omni-probe-api@probe-project.iam.gserviceaccount.com"},
            ),
        )
    """
    graph = run_stack(make_project(program, "config: {}\n"), "test").to_json()
    deployer_roles = [
        r["inputs"]["role"] for r in resources(graph, PROJECT_IAM) if r["name"].startswith("omni-probe-deployer-")
    ]
    acts_as = [r["inputs"] for r in resources(graph, ACCOUNT_IAM) if r["inputs"]["role"] == SERVICE_ACCOUNT_USER]

    assert SERVICE_ACCOUNT_USER not in deployer_roles
    assert [a["serviceAccountId"] for a in acts_as] == [
        "projects/probe-project/serviceAccounts/omni-probe-api@probe-project.iam.gserviceaccount.com"
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_no_service_account_id_is_longer_than_the_name_prefix_check_allows_for(
    graphs: dict[str, Any], stack: str
) -> None:
    ids = [r["inputs"]["accountId"] for r in resources(graphs[stack], ACCOUNT)]

    assert ids
    assert all(i.startswith(f"omni-{stack}-") for i in ids)
    assert max(len(i.removeprefix(f"omni-{stack}")) for i in ids) <= len(LONGEST_ACCOUNT_SUFFIX)


def test_a_name_prefix_too_long_for_a_service_account_id_is_refused_naming_the_key() -> None:
    values = {
        "gcp:project": "omni-api-staging",
        "omni-infra:environment": "staging",
        "omni-infra:namePrefix": "omniplatform",
    }
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("staging", values, set())

    message = str(caught.value)
    assert "omni-infra:namePrefix" in message
    assert (
        f"'omniplatform-staging{LONGEST_ACCOUNT_SUFFIX}' has 31 characters, Google allows {SERVICE_ACCOUNT_ID_MAX}"
        in message
    )
    # The same prefix fits prod's shorter environment name.
    load_stack_config("prod", {**values, "gcp:project": "omni-api-prod", "omni-infra:environment": "prod"}, set())


@pytest.mark.parametrize("stack", STACKS)
def test_the_previewer_only_reads(applied: dict[str, Any], stack: str) -> None:
    previewer = f"serviceAccount:{applied[stack]['outputs']['previewer_service_account']}"
    roles = sorted(
        r["inputs"]["role"] for r in resources(applied[stack], PROJECT_IAM) if r["inputs"]["member"] == previewer
    )

    assert roles == sorted([*PREVIEWER_ROLES, SECRET_ACCESSOR])  # the accessor under the stack's-secrets condition
    assert all(re.search(r"(viewer|Viewer|reader|Reviewer)$", role) for role in PREVIEWER_ROLES)


@pytest.mark.parametrize("stack", STACKS)
def test_no_service_account_key_exists(graphs: dict[str, Any], stack: str) -> None:
    assert resources(graphs[stack], "gcp:serviceaccount/key:Key") == []


def test_the_apis_federation_needs_are_enabled(graphs: dict[str, Any]) -> None:
    services = {r["inputs"]["service"] for r in resources(graphs["prod"], "gcp:projects/service:Service")}

    assert {"iamcredentials.googleapis.com", "sts.googleapis.com", "logging.googleapis.com"} <= services


def test_prod_refuses_pull_request_previews(project_copy: Project) -> None:
    edit_stack_file(project_copy, "prod", DEPLOY_BLOCK, f"{DEPLOY_BLOCK}    previewPullRequests: true\n")
    with pytest.raises(StackConfigError, match="prod's previewer refuses pull requests"):
        run_stack(project_copy, "prod")


# What a change to the program must not remove in a protected stack: the trail, the trust, the
# guardrails and the generated credentials (dev, disposable, protects none of them).
PROTECTED_WITH_THE_STACK = (
    AUDIT_CONFIG,
    SINK,
    LOG_BUCKET,
    "gcp:secretmanager/secretVersion:SecretVersion",
    "random:index/randomPassword:RandomPassword",
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
    "gcp:iam/denyPolicy:DenyPolicy",
    "gcp:projects/iAMCustomRole:IAMCustomRole",
)


@pytest.mark.parametrize("stack", STACKS)
def test_the_audit_trail_the_trust_and_the_credentials_are_protected_with_the_stack(
    graphs: dict[str, Any], stack: str
) -> None:
    # Sidecar configuration versions are not credentials: they change with every collector setting.
    found = [
        r
        for rtype in PROTECTED_WITH_THE_STACK
        for r in resources(graphs[stack], rtype)
        if not r["name"].endswith(("-rungmp-config-version", "-otel-config-version"))
        # Nor are the alerting path's rule and config files: every rule change is a new version.
        and not (
            r["type"] == "gcp:secretmanager/secretVersion:SecretVersion"
            and r["name"].startswith(f"omni-{stack}-alerting-")
        )
    ]

    assert {r["type"] for r in found} == set(PROTECTED_WITH_THE_STACK)
    assert {r["name"]: r["protect"] for r in found} == {r["name"]: stack != "dev" for r in found}
    admin_password = [r for r in found if r["name"] == f"omni-{stack}-admin-password"]
    assert len(admin_password) == 1
