"""The change trail and who may change things: Data Access audit logs, every audit log kept in
a retention-locked bucket, and deploys only through GitHub's OIDC tokens of one repository,
as the one identity that holds write roles."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.deploy_identity import DEPLOYER_ROLES, PREVIEWER_ROLES, attribute_condition
from offline.engine import Project, run_stack
from stackconfig import StackConfigError

from .conftest import edit_stack_file, one, resources

STACKS = ("dev", "staging", "prod")
AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
SINK = "gcp:logging/projectSink:ProjectSink"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
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


@pytest.mark.parametrize(("stack", "locked"), [("dev", False), ("staging", True), ("prod", True)])
def test_audit_logs_are_kept_in_a_retention_locked_bucket(graphs: dict[str, Any], stack: str, locked: bool) -> None:
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
    edit_stack_file(project_copy, "prod", "omni-infra:environment: prod", "omni-infra:environment: prod\n  omni-infra:audit:\n    locked: false")
    with pytest.raises(StackConfigError, match="prod keeps its audit logs locked"):
        run_stack(project_copy, "prod")


def test_audit_retention_is_a_stack_setting(project_copy: Project) -> None:
    edit_stack_file(project_copy, "staging", "omni-infra:environment: staging", "omni-infra:environment: staging\n  omni-infra:audit:\n    retentionDays: 3650")
    bucket = one(run_stack(project_copy, "staging").to_json(), LOG_BUCKET)

    assert bucket["inputs"]["retentionDays"] == 3650


@pytest.mark.parametrize("stack", STACKS)
def test_github_tokens_are_accepted_from_one_repository_only(graphs: dict[str, Any], stack: str) -> None:
    provider = one(graphs[stack], "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")

    assert provider["inputs"]["oidc"]["issuerUri"] == "https://token.actions.githubusercontent.com"
    assert provider["inputs"]["attributeCondition"] == "assertion.repository == 'omni-platform/omni-infra'"
    assert provider["inputs"]["attributeMapping"]["attribute.repository"] == "assertion.repository"


def test_the_pinned_repository_is_stack_config(project_copy: Project) -> None:
    edit_stack_file(project_copy, "dev", "omni-infra:environment: dev", "omni-infra:environment: dev\n  omni-infra:deploy:\n    githubRepository: acme/omni-fork")
    provider = one(run_stack(project_copy, "dev").to_json(), "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")

    assert provider["inputs"]["attributeCondition"] == "assertion.repository == 'acme/omni-fork'"


@pytest.mark.parametrize("repository", ["omni", "omni/infra/extra", "-omni/infra", "omni/infra' || true || '"])
def test_a_repository_that_is_not_owner_slash_name_is_refused(project_copy: Project, repository: str) -> None:
    edit_stack_file(project_copy, "dev", "omni-infra:environment: dev", f'omni-infra:environment: dev\n  omni-infra:deploy:\n    githubRepository: "{repository}"')
    with pytest.raises(StackConfigError, match="deploy.githubRepository"):
        run_stack(project_copy, "dev")
    with pytest.raises(ValueError):
        attribute_condition(repository)


@pytest.mark.parametrize("stack", STACKS)
def test_only_runs_on_main_may_act_as_the_deployer(applied: dict[str, Any], stack: str) -> None:
    bindings = {r["name"]: r["inputs"] for r in resources(applied[stack], "gcp:serviceaccount/iAMMember:IAMMember")}
    pool = applied[stack]["outputs"]["workload_identity_provider"].rsplit("/providers/", 1)[0]

    deployer, previewer = bindings[f"omni-{stack}-deployer-wif"], bindings[f"omni-{stack}-previewer-wif"]
    assert deployer["role"] == previewer["role"] == "roles/iam.workloadIdentityUser"
    assert deployer["member"] == f"principalSet://iam.googleapis.com/{pool}/attribute.ref/refs/heads/main"
    assert previewer["member"] == f"principalSet://iam.googleapis.com/{pool}/attribute.repository/omni-platform/omni-infra"
    assert deployer["serviceAccountId"].endswith(f"/omni-{stack}-deployer@omni-api-{stack}.iam.gserviceaccount.com")


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployer_is_the_only_identity_with_write_roles(applied: dict[str, Any], stack: str) -> None:
    deployer = f"serviceAccount:{applied[stack]['outputs']['deployer_service_account']}"
    grants = [(r["inputs"]["member"], r["inputs"]["role"]) for r in resources(applied[stack], PROJECT_IAM)]
    writers = {member for member, role in grants if INFRASTRUCTURE_WRITE.search(role)}

    assert writers == {deployer}
    assert sorted(role for member, role in grants if member == deployer) == sorted(DEPLOYER_ROLES)


@pytest.mark.parametrize("stack", STACKS)
def test_the_previewer_only_reads(applied: dict[str, Any], stack: str) -> None:
    previewer = f"serviceAccount:{applied[stack]['outputs']['previewer_service_account']}"
    roles = sorted(r["inputs"]["role"] for r in resources(applied[stack], PROJECT_IAM) if r["inputs"]["member"] == previewer)

    assert roles == sorted(PREVIEWER_ROLES)
    assert all(re.search(r"(viewer|Viewer|reader|Reviewer)$", role) for role in roles)


@pytest.mark.parametrize("stack", STACKS)
def test_no_service_account_key_exists(graphs: dict[str, Any], stack: str) -> None:
    assert resources(graphs[stack], "gcp:serviceaccount/key:Key") == []


def test_the_apis_federation_needs_are_enabled(graphs: dict[str, Any]) -> None:
    services = {r["inputs"]["service"] for r in resources(graphs["prod"], "gcp:projects/service:Service")}

    assert {"iamcredentials.googleapis.com", "sts.googleapis.com", "logging.googleapis.com"} <= services
