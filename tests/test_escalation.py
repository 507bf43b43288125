"""What every automation identity can reach through the IAM bindings it holds, from each stack's
graph (policy/escalation.py over the role table policy/iam_roles.py), against what it is meant
to have; and which GitHub runs the identity pool lets become which account (its CEL, evaluated
by a real CEL implementation over GitHub-shaped tokens)."""

from __future__ import annotations

import copy
from typing import Any

import celpy
import pytest

from components.deploy_identity import (
    DENIED_TO_AUTOMATION,
    DEPLOYER,
    NOBODY,
    PREVIEWER,
    GitHubTrust,
    deny_policy_parent,
)
from policy.escalation import Grant, Reached, model_from_graph, reach, v1_permission
from policy.iam_roles import ESCALATION_PERMISSIONS, IMPERSONATION, REFERENCE, ROLES

from .conftest import one, resources

STACKS = ("dev", "staging", "prod")
PROJECT = "project"
# What each automation identity may reach, and how: `project` unconditionally on the project,
# `conditional` on the project under an IAM condition, `secret` / `runtime-account` on one
# resource of that kind. Anything reached and not listed here fails.
INTENT: dict[str, dict[str, set[str]]] = {
    "deployer": {
        "resourcemanager.projects.setIamPolicy": {"conditional"},
        "iam.serviceAccounts.actAs": {"runtime-account"},
        "secretmanager.secrets.setIamPolicy": {"conditional"},
        "secretmanager.versions.access": {"conditional", "secret"},
        # IAM of the resources it manages (public grants are the policy pack's business).
        "storage.buckets.setIamPolicy": {"project"},
        "run.services.setIamPolicy": {"project"},
        "run.jobs.setIamPolicy": {"project"},
        "artifactregistry.repositories.setIamPolicy": {"project"},
        "iap.webServices.setIamPolicy": {"project"},
        "bigquery.datasets.setIamPolicy": {"project"},
        "bigquery.tables.setIamPolicy": {"project"},
        "pubsub.topics.setIamPolicy": {"project"},
        "pubsub.subscriptions.setIamPolicy": {"project"},
    },
    "previewer": {"secretmanager.versions.access": {"conditional"}},
    "workload": {"secretmanager.versions.access": {"secret"}},
}
NEVER_FOR_AUTOMATION = {
    *IMPERSONATION,
    "iam.serviceAccounts.setIamPolicy",
    "iam.roles.create",
    "iam.roles.update",
    "iam.denypolicies.create",
    "iam.denypolicies.update",
    "iam.denypolicies.delete",
    "iam.workloadIdentityPools.update",
    "iam.workloadIdentityPools.delete",
    "iam.workloadIdentityPoolProviders.create",
    "iam.workloadIdentityPoolProviders.update",
    "iam.workloadIdentityPoolProviders.delete",
    "logging.sinks.update",
    "logging.sinks.delete",
    "logging.buckets.update",
    "logging.buckets.delete",
}


def kind(item: Reached, runtime_accounts: set[str]) -> str:
    if item.condition:
        return "conditional"
    if item.scope == PROJECT:
        return PROJECT
    scope_kind, _, name = item.scope.partition(":")
    if scope_kind == "serviceAccount":
        return "runtime-account" if f"serviceAccount:{name}" in runtime_accounts else "automation-account"
    return scope_kind


def identity_kind(member: str) -> str:
    for name in ("deployer", "previewer"):
        if f"-{name}@" in member:
            return name
    return "workload"


@pytest.fixture(scope="module")
def models(applied: dict[str, Any]) -> dict[str, Any]:
    return {stack: model_from_graph(applied[stack]) for stack in STACKS}


@pytest.mark.parametrize("stack", STACKS)
def test_no_automation_identity_reaches_a_permission_it_is_not_meant_to_have(
    models: dict[str, Any], stack: str
) -> None:
    model = models[stack]
    runtime = {a for a in model.accounts if identity_kind(a) == "workload"}
    unexpected = []
    for account in sorted(model.accounts):
        allowed = INTENT[identity_kind(account)]
        for item in reach(model, account):
            how = kind(item, runtime)
            if how not in allowed.get(item.permission, set()):
                unexpected.append(f"{account}: {item.permission} ({how}) via {' -> '.join(item.path)}")

    assert unexpected == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployer_reaches_the_workloads_through_act_as_and_nothing_that_escalates(
    models: dict[str, Any], stack: str
) -> None:
    model = models[stack]
    deployer = next(a for a in model.accounts if identity_kind(a) == "deployer")
    reached = reach(model, deployer)

    workloads = {a for a in model.accounts if identity_kind(a) == "workload"}

    assert {item.identity for item in reached} - {deployer} <= workloads
    assert {item.scope.split(":", 1)[1] for item in reached if item.permission == "iam.serviceAccounts.actAs"} == {
        a.split(":", 1)[1] for a in workloads
    }
    assert not {item.permission for item in reached} & NEVER_FOR_AUTOMATION


@pytest.mark.parametrize("stack", STACKS)
def test_every_role_the_program_grants_is_in_the_table_with_its_source(models: dict[str, Any], stack: str) -> None:
    model = models[stack]
    granted = {grant.role for grant in model.grants}

    assert granted - set(model.custom_roles) <= set(ROLES), sorted(granted - set(model.custom_roles) - set(ROLES))
    for role in granted - set(model.custom_roles):
        assert ROLES[role].source.startswith(REFERENCE)
        assert ROLES[role].permissions <= ESCALATION_PERMISSIONS


def test_a_token_creator_grant_to_the_deployer_would_be_reached_and_the_deny_policy_refuses_it(
    models: dict[str, Any],
) -> None:
    model = copy.deepcopy(models["prod"])
    deployer = next(a for a in model.accounts if identity_kind(a) == "deployer")
    api = next(a for a in model.accounts if "-api@" in a)
    ROLES_WITH_TOKENS = "roles/iam.workloadIdentityUser"  # holds getAccessToken
    model.grants.append(Grant(deployer, ROLES_WITH_TOKENS, f"serviceAccount:{api.split(':', 1)[1]}"))

    assert not {r.permission for r in reach(model, deployer)} & IMPERSONATION
    model.denied.clear()
    assert {r.permission for r in reach(model, deployer)} & IMPERSONATION


def test_an_unconditional_project_iam_admin_reaches_everything() -> None:
    from policy.escalation import IamModel

    model = IamModel(
        [Grant("serviceAccount:a@p.iam.gserviceaccount.com", "roles/resourcemanager.projectIamAdmin", PROJECT)],
        {"serviceAccount:a@p.iam.gserviceaccount.com"},
    )

    assert {r.permission for r in reach(model, "serviceAccount:a@p.iam.gserviceaccount.com")} == set(
        ESCALATION_PERMISSIONS
    )


def test_setting_iam_on_an_account_is_impersonating_it_and_then_acting_with_its_roles() -> None:
    from policy.escalation import IamModel

    a, b = "serviceAccount:a@p.iam.gserviceaccount.com", "serviceAccount:b@p.iam.gserviceaccount.com"
    model = IamModel(
        [
            Grant(a, "projects/p/roles/setter", "serviceAccount:b@p.iam.gserviceaccount.com"),
            Grant(b, "roles/storage.admin", PROJECT),
        ],
        {a, b},
        custom_roles={"projects/p/roles/setter": frozenset({"iam.serviceAccounts.setIamPolicy"})},
    )
    reached = {(r.permission, r.identity) for r in reach(model, a)}

    assert ("iam.serviceAccounts.getAccessToken", a) in reached
    assert ("storage.buckets.setIamPolicy", b) in reached


def test_an_unknown_role_stops_the_check_naming_it() -> None:
    from policy.escalation import IamModel

    model = IamModel([Grant("user:x", "roles/made.up", PROJECT)], set())
    with pytest.raises(KeyError, match=r"roles/made\.up"):
        reach(model, "user:x")


# --- the deny policy ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_deny_policy_refuses_the_deploy_accounts_escalation_whatever_they_hold(
    applied: dict[str, Any], stack: str
) -> None:
    policy = one(applied[stack], "gcp:iam/denyPolicy:DenyPolicy")
    [rule] = policy["inputs"]["rules"]
    denied = {v1_permission(p) for p in rule["denyRule"]["deniedPermissions"]}

    assert policy["inputs"]["parent"] == f"cloudresourcemanager.googleapis.com%2Fprojects%2Fomni-api-{stack}"
    assert sorted(rule["denyRule"]["deniedPrincipals"]) == [
        f"principal://iam.googleapis.com/projects/-/serviceAccounts/omni-{stack}-{name}@omni-api-{stack}.iam.gserviceaccount.com"
        for name in ("deployer", "previewer")
    ]
    assert IMPERSONATION | {"iam.serviceAccounts.setIamPolicy"} <= denied
    assert {
        "logging.sinks.delete",
        "logging.sinks.update",
        "logging.buckets.delete",
        "logging.buckets.update",
    } <= denied
    assert {
        "iam.workloadIdentityPools.update",
        "iam.workloadIdentityPoolProviders.update",
        "iam.roles.update",
    } <= denied
    assert policy["protect"] is (stack != "dev")
    assert policy["inputs"]["deletionPolicy"] == ("DELETE" if stack == "dev" else "PREVENT")


def test_deny_permissions_are_in_the_v2_form_deny_policies_take() -> None:
    assert all(
        p.split("/", 1)[0].endswith(".googleapis.com") and "." in p.split("/", 1)[1] for p in DENIED_TO_AUTOMATION
    )
    assert deny_policy_parent("omni-api-prod") == "cloudresourcemanager.googleapis.com%2Fprojects%2Fomni-api-prod"


@pytest.mark.parametrize("stack", STACKS)
def test_the_deploy_accounts_hold_no_role_that_edits_deny_policies_or_custom_roles(
    models: dict[str, Any], stack: str
) -> None:
    model = models[stack]
    for account in (a for a in model.accounts if identity_kind(a) != "workload"):
        reached = {r.permission for r in reach(model, account)}
        assert not reached & {
            "iam.denypolicies.update",
            "iam.denypolicies.delete",
            "iam.roles.update",
            "iam.roles.create",
        }


# --- who may become which account ----------------------------------------------------------------

REPOSITORY = "omni-platform/omni-infra"
TRUST = GitHubTrust(repository=REPOSITORY, repository_id="812345678", owner_id="91234567", environment="prod")
PREVIEWING = GitHubTrust(
    repository=REPOSITORY,
    repository_id="812345678",
    owner_id="91234567",
    environment="staging",
    preview_pull_requests=True,
)


def token(**claims: str) -> dict[str, str]:
    """A GitHub Actions OIDC token's claims (https://docs.github.com/actions/reference/openid-connect-reference)."""
    base = {
        "sub": f"repo:{REPOSITORY}:ref:refs/heads/main",
        "repository": REPOSITORY,
        "repository_id": "812345678",
        "repository_owner": "omni-platform",
        "repository_owner_id": "91234567",
        "ref": "refs/heads/main",
        "event_name": "push",
        "actor": "octocat",
        "workflow_ref": f"{REPOSITORY}/.github/workflows/deploy.yml@refs/heads/main",
        "job_workflow_ref": f"{REPOSITORY}/.github/workflows/deploy-stack.yml@refs/heads/main",
    }
    return {**base, **claims}


def evaluate(expression: str, claims: dict[str, str]) -> Any:
    environment = celpy.Environment()
    program = environment.program(environment.compile(expression))
    return program.evaluate({"assertion": celpy.json_to_cel(claims)})


def account_of(trust: GitHubTrust, claims: dict[str, str]) -> str | None:
    """Which account the token may become: none when the provider's condition refuses it."""
    if not evaluate(trust.attribute_condition, claims):
        return None
    return str(evaluate(trust.role_mapping, claims))


DEPLOY = token(environment="prod")
DRIFT = token(
    event_name="schedule",
    workflow_ref=f"{REPOSITORY}/.github/workflows/drift.yml@refs/heads/main",
    job_workflow_ref=f"{REPOSITORY}/.github/workflows/drift.yml@refs/heads/main",
)
PULL_REQUEST = token(
    event_name="pull_request",
    ref="refs/pull/7/merge",
    workflow_ref=f"{REPOSITORY}/.github/workflows/pull-request.yml@refs/pull/7/merge",
    job_workflow_ref=f"{REPOSITORY}/.github/workflows/pull-request.yml@refs/pull/7/merge",
)


@pytest.mark.parametrize(
    ("case", "claims", "account"),
    [
        ("the deploy job on main in prod's environment", DEPLOY, DEPLOYER),
        ("the drift check on main", DRIFT, PREVIEWER),
        ("the deploy workflow without the environment", token(), None),
        ("the deploy job in another environment", token(environment="staging"), None),
        ("the deploy job from a branch", token(environment="prod", ref="refs/heads/feature"), None),
        (
            "another workflow in prod's environment",
            token(environment="prod", job_workflow_ref=f"{REPOSITORY}/.github/workflows/evil.yml@refs/heads/main"),
            None,
        ),
        ("a repository that took the name", token(environment="prod", repository_id="999"), None),
        ("an owner that took the name", token(environment="prod", repository_owner_id="999"), None),
        ("a pull request where the stack does not preview them", PULL_REQUEST, None),
        ("the drift workflow from a branch", {**DRIFT, "ref": "refs/heads/feature"}, None),
    ],
)
def test_which_github_run_may_become_which_account(case: str, claims: dict[str, str], account: str | None) -> None:
    assert account_of(TRUST, claims) == account, case


@pytest.mark.parametrize(
    ("case", "claims", "account"),
    [
        ("a pull request of the repository", PULL_REQUEST, PREVIEWER),
        ("pull_request_target", {**PULL_REQUEST, "event_name": "pull_request_target"}, None),
        ("a pull request from another repository", {**PULL_REQUEST, "repository_id": "999"}, None),
        ("the staging deploy job", token(environment="staging"), DEPLOYER),
    ],
)
def test_a_stack_that_previews_pull_requests_lets_them_use_the_previewer_only(
    case: str, claims: dict[str, str], account: str | None
) -> None:
    assert account_of(PREVIEWING, claims) == account, case


def test_a_token_the_condition_admits_always_maps_to_an_account() -> None:
    assert evaluate(TRUST.role_mapping, token()) == NOBODY
    assert all(account_of(TRUST, claims) in (DEPLOYER, PREVIEWER) for claims in (DEPLOY, DRIFT))


@pytest.mark.parametrize("stack", STACKS)
def test_the_provider_pins_the_repository_ids_and_the_accounts_bind_one_role_each(
    applied: dict[str, Any], stack: str
) -> None:
    provider = one(applied[stack], "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    bindings = {r["name"]: r["inputs"] for r in resources(applied[stack], "gcp:serviceaccount/iAMMember:IAMMember")}
    pool = applied[stack]["outputs"]["workload_identity_provider"].rsplit("/providers/", 1)[0]

    assert provider["inputs"]["attributeCondition"].startswith(
        "assertion.repository_id == '812345678' && assertion.repository_owner_id == '91234567' && "
    )
    assert len(provider["inputs"]["attributeMapping"]["attribute.role"]) <= 2048  # Google's limit per mapping
    for name in ("deployer", "previewer"):
        assert (
            bindings[f"omni-{stack}-{name}-wif"]["member"]
            == f"principalSet://iam.googleapis.com/{pool}/attribute.role/{name}"
        )
    mapped = GitHubTrust(REPOSITORY, "812345678", "91234567", stack, preview_pull_requests=stack != "prod")
    assert provider["inputs"]["attributeMapping"]["attribute.role"] == mapped.role_mapping
