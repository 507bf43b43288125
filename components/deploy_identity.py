"""Who may deploy the stack from GitHub Actions: Workload Identity Federation, no JSON keys.

A workload identity pool trusts GitHub's OIDC issuer, through a provider whose attribute
condition accepts only tokens minted for one repository. Two service accounts stand behind it:

- the **deployer**, the only identity with roles that change infrastructure, impersonable only
  by workflow runs on the protected default branch (`refs/heads/main`): the deploy jobs (each
  behind its GitHub environment's approvals) and the scheduled drift check;
- the **previewer**, read-only, impersonable by any run of the repository (pull requests from
  its own branches), for `pulumi preview`. Pull requests from forks get no OIDC token at all.

The deployer's roles are one predefined role per kind of resource the program declares
(`SERVICE_ROLES`). Its Project IAM Admin grant carries a condition: it may add or remove only
the project roles the program grants to others, so it can neither make anyone owner nor widen
its own roles (a change to the deployer's roles is applied by a person, as at bootstrap). It may
act as the runtime accounts it deploys, each named (`runtime_accounts`), not every account.

Every change the deployer makes is in the Admin Activity audit log under its email, with the
federated principal (`repo:OWNER/NAME:ref:refs/heads/main`) in the delegation info.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.grafana import PROJECT_ROLES as GRAFANA_PROJECT_ROLES
from components.identity import WORKLOAD_ROLES, grant_project_roles
from components.options import child_options
from components.rule_evaluator import PROJECT_ROLES as ALERTING_PROJECT_ROLES
from components.status_page import PUBLISHER_PROJECT_ROLES
from stackconfig.model import GITHUB_REPOSITORY

REQUIRED_APIS = ("iam.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com")
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
DEPLOY_REF = "refs/heads/main"
# Claims of GitHub's token kept as attributes: what the condition and the bindings test.
ATTRIBUTE_MAPPING: dict[str, str] = {
    "google.subject": "assertion.sub",
    "attribute.repository": "assertion.repository",
    "attribute.ref": "assertion.ref",
    "attribute.actor": "assertion.actor",
    "attribute.environment": "assertion.environment",
}


@dataclass(frozen=True)
class ServiceRoles:
    """The predefined roles that manage (deployer) and read (previewer) one kind of resource."""

    manage: str
    read: tuple[str, ...]


# Resource type prefix (`gcp:<module>/`, or a narrower `gcp:<module>/<type>`) -> its roles: every
# Google type the program declares must match one (a test checks each stack's graph), so a new
# kind of resource cannot reach `pulumi up` without the deployer being allowed to manage it.
SERVICE_ROLES: dict[str, ServiceRoles] = {
    "gcp:artifactregistry/": ServiceRoles("roles/artifactregistry.admin", ("roles/artifactregistry.reader",)),
    "gcp:cloudrunv2/": ServiceRoles("roles/run.admin", ("roles/run.viewer",)),
    "gcp:cloudscheduler/": ServiceRoles("roles/cloudscheduler.admin", ("roles/cloudscheduler.viewer",)),
    "gcp:compute/": ServiceRoles("roles/compute.networkAdmin", ("roles/compute.networkViewer",)),
    "gcp:iam/": ServiceRoles("roles/iam.workloadIdentityPoolAdmin", ("roles/iam.workloadIdentityPoolViewer",)),
    # IAP access is an IAM policy on the IAP resource; the security reviewer reads every policy.
    "gcp:iap/": ServiceRoles("roles/iap.admin", ("roles/iam.securityReviewer",)),
    "gcp:logging/": ServiceRoles("roles/logging.configWriter", ("roles/logging.viewer",)),
    # Alert policies, notification channels and uptime checks.
    "gcp:monitoring/": ServiceRoles("roles/monitoring.editor", ("roles/monitoring.viewer",)),
    # Project IAM members and audit configs: both live in the project's IAM policy.
    "gcp:projects/iAM": ServiceRoles("roles/resourcemanager.projectIamAdmin", ("roles/iam.securityReviewer",)),
    # Enabled APIs and service agents (`serviceIdentity`).
    "gcp:projects/service": ServiceRoles("roles/serviceusage.serviceUsageAdmin", ("roles/serviceusage.serviceUsageViewer",)),
    "gcp:redis/": ServiceRoles("roles/redis.admin", ("roles/redis.viewer",)),
    "gcp:secretmanager/": ServiceRoles("roles/secretmanager.admin", ("roles/secretmanager.viewer",)),
    "gcp:serviceaccount/": ServiceRoles("roles/iam.serviceAccountAdmin", ("roles/iam.serviceAccountViewer",)),
    # The private services peering is part of the VPC: the network viewer sees it.
    "gcp:servicenetworking/": ServiceRoles("roles/servicenetworking.networksAdmin", ("roles/compute.networkViewer",)),
    "gcp:sql/": ServiceRoles("roles/cloudsql.admin", ("roles/cloudsql.viewer",)),
    # Buckets, their objects and bucket IAM.
    "gcp:storage/": ServiceRoles("roles/storage.admin", ("roles/storage.objectViewer",)),
}
# Types of other providers: nothing in Google Cloud to be allowed (PagerDuty has its own token).
NOT_GOOGLE_CLOUD = ("pagerduty:", "random:", "pulumi:providers:")
SERVICE_ACCOUNT_USER = "roles/iam.serviceAccountUser"
PROJECT_IAM_ADMIN = "roles/resourcemanager.projectIamAdmin"


def service_roles(resource_type: str) -> ServiceRoles | None:
    """The roles of the table's longest prefix of ``resource_type``; None when none matches."""
    matches = [prefix for prefix in SERVICE_ROLES if resource_type.startswith(prefix)]
    return SERVICE_ROLES[max(matches, key=len)] if matches else None


# What `pulumi up` of this program manages, as predefined roles (never owner or editor).
DEPLOYER_ROLES: tuple[str, ...] = tuple(sorted({roles.manage for roles in SERVICE_ROLES.values()}))
PREVIEWER_ROLES: tuple[str, ...] = tuple(
    sorted({role for roles in SERVICE_ROLES.values() for role in roles.read} | {"roles/iam.securityReviewer"})
)
# Every project role the program grants to someone other than the deployer: the only roles the
# deployer's Project IAM Admin grant may add or remove (a test checks this against the graph).
GRANTED_PROJECT_ROLES: tuple[str, ...] = tuple(
    sorted(
        {
            *(role for roles in WORKLOAD_ROLES.values() for role in roles),
            *GRAFANA_PROJECT_ROLES,
            *PUBLISHER_PROJECT_ROLES,
            *ALERTING_PROJECT_ROLES,
            *PREVIEWER_ROLES,
        }
    )
)


def grant_limit(roles: Sequence[str]) -> str:
    """CEL for a Project IAM Admin grant that may add or remove bindings of ``roles`` only
    (IAM's `modifiedGrantsByRole`). Without it the deployer could grant itself `roles/owner`;
    with it, not even a role of its own, so changing the deployer's roles takes a person."""
    quoted = ", ".join(f"'{role}'" for role in sorted(roles))
    return f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([{quoted}])"


def check_github_repository(repository: str) -> str:
    """`owner/name` as GitHub spells it; refused otherwise (the condition would match nothing)."""
    if not re.fullmatch(GITHUB_REPOSITORY, repository):
        raise ValueError(f"GitHub repository {repository!r} is not `owner/name`")
    return repository


def attribute_condition(repository: str) -> str:
    """CEL that rejects every token not minted for ``repository``: without it any GitHub
    repository could exchange its tokens with this pool."""
    return f"assertion.repository == '{check_github_repository(repository)}'"


@dataclass(frozen=True)
class DeployIdentityArgs:
    project: str
    """The project the pool, the accounts and their roles live in (the stack's project)."""
    github_repository: str
    """`owner/name` of the repository whose workflows deploy this stack (stack config
    `deploy.githubRepository`)."""
    deployer_roles: Sequence[str] = field(default_factory=lambda: DEPLOYER_ROLES)
    """Project roles of the deployer: what the program manages, nothing more."""
    previewer_roles: Sequence[str] = field(default_factory=lambda: PREVIEWER_ROLES)
    """Project roles of the previewer: read-only."""
    granted_roles: Sequence[str] = field(default_factory=lambda: GRANTED_PROJECT_ROLES)
    """The only project roles the deployer may grant or revoke (its Project IAM Admin grant's
    condition): those the program grants to its workloads and the previewer."""
    runtime_accounts: Mapping[str, pulumi.Input[str]] | None = None
    """Email of every service account a deployed resource runs as (Cloud Run services, jobs and
    worker pools, the scheduler's token), by a short name: the deployer is a Service Account
    User of each of these alone. None grants it on the whole project instead, which lets it act
    as any account there (the Compute Engine default account included): name them."""
    deploy_ref: str = DEPLOY_REF
    """The only git ref whose runs may impersonate the deployer."""


class DeployIdentity(pulumi.ComponentResource):
    """Pool `<name>-github`, its GitHub provider, and the accounts `<name>-deployer` and
    `<name>-previewer`."""

    pool: gcp.iam.WorkloadIdentityPool
    provider: gcp.iam.WorkloadIdentityPoolProvider
    deployer: gcp.serviceaccount.Account
    previewer: gcp.serviceaccount.Account
    provider_name: pulumi.Output[str]
    """`projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/github`: the
    workflows' `workload_identity_provider`."""
    deployer_email: pulumi.Output[str]
    previewer_email: pulumi.Output[str]

    def __init__(self, name: str, args: DeployIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        condition = attribute_condition(args.github_repository)
        super().__init__("omni:iam:DeployIdentity", name, None, opts)
        child = child_options(self, opts)
        self.pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-github",
            project=args.project,
            workload_identity_pool_id=f"{name}-github",
            display_name="GitHub Actions",
            description=f"Workflows of {args.github_repository}; managed by Pulumi",
            opts=child,
        )
        self.provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-github-oidc",
            project=args.project,
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="github",
            display_name="GitHub OIDC",
            attribute_mapping=ATTRIBUTE_MAPPING,
            attribute_condition=condition,
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=GITHUB_ISSUER),
            opts=child,
        )
        pool_principals = self.pool.name.apply(lambda pool: f"principalSet://iam.googleapis.com/{pool}")
        deployer_roles = [*args.deployer_roles, *([SERVICE_ACCOUNT_USER] if args.runtime_accounts is None else [])]
        self.deployer = self._account(
            name, "deployer", "Deploys the stack from GitHub Actions", deployer_roles, args.project, child, args.granted_roles
        )
        self.previewer = self._account(
            name, "previewer", "Previews the stack from pull requests (read-only)", args.previewer_roles, args.project, child
        )
        # Deploying a revision, job or schedule that runs as an account needs `actAs` on it.
        for account_name, email in sorted((args.runtime_accounts or {}).items()):
            gcp.serviceaccount.IAMMember(
                f"{name}-deployer-acts-as-{account_name}",
                service_account_id=pulumi.Output.from_input(email).apply(
                    lambda address: f"projects/{args.project}/serviceAccounts/{address}"
                ),
                role=SERVICE_ACCOUNT_USER,
                member=self.deployer.member,
                opts=child,
            )
        # The pool's condition already pins the repository; each binding narrows who may act
        # as the account: the deployer only from the deploy ref, the previewer from any ref.
        for role_name, account, attribute, value in (
            ("deployer", self.deployer, "ref", args.deploy_ref),
            ("previewer", self.previewer, "repository", args.github_repository),
        ):
            gcp.serviceaccount.IAMMember(
                f"{name}-{role_name}-wif",
                service_account_id=account.name,
                role="roles/iam.workloadIdentityUser",
                member=pool_principals.apply(lambda principals, a=attribute, v=value: f"{principals}/attribute.{a}/{v}"),
                opts=child,
            )
        self.provider_name = self.provider.name
        self.deployer_email = self.deployer.email
        self.previewer_email = self.previewer.email
        self.register_outputs(
            {
                "provider_name": self.provider_name,
                "deployer_email": self.deployer_email,
                "previewer_email": self.previewer_email,
            }
        )

    def _account(
        self,
        name: str,
        role_name: str,
        description: str,
        roles: Sequence[str],
        project: str,
        child: pulumi.ResourceOptions,
        granted_roles: Sequence[str] = (),
    ) -> gcp.serviceaccount.Account:
        account = gcp.serviceaccount.Account(
            f"{name}-{role_name}",
            project=project,
            account_id=f"{name}-{role_name}",
            display_name=f"Omni {role_name} ({name})",
            description=f"{description}; managed by Pulumi",
            opts=child,
        )
        limit = gcp.projects.IAMMemberConditionArgs(
            title="Grants only the program's roles",
            description="May add or remove bindings of the roles the program grants, no other; managed by Pulumi",
            expression=grant_limit(granted_roles),
        )
        grant_project_roles(f"{name}-{role_name}", project, account.member, roles, child, {PROJECT_IAM_ADMIN: limit})
        return account
