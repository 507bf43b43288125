"""Who may deploy the stack from GitHub Actions: Workload Identity Federation, no JSON keys.

A workload identity pool trusts GitHub's OIDC issuer, through a provider whose attribute
condition accepts only tokens minted for one repository. Two service accounts stand behind it:

- the **deployer**, the only identity with roles that change infrastructure, impersonable only
  by workflow runs on the protected default branch (`refs/heads/main`): the deploy jobs (each
  behind its GitHub environment's approvals) and the scheduled drift check;
- the **previewer**, read-only, impersonable by any run of the repository (pull requests from
  its own branches), for `pulumi preview`. Pull requests from forks get no OIDC token at all.

Every change the deployer makes is in the Admin Activity audit log under its email, with the
federated principal (`repo:OWNER/NAME:ref:refs/heads/main`) in the delegation info.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
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
# What `pulumi up` of this program manages, as predefined roles (never owner or editor).
DEPLOYER_ROLES: tuple[str, ...] = (
    "roles/artifactregistry.admin",
    "roles/cloudsql.admin",
    "roles/compute.networkAdmin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",  # deploy Cloud Run revisions that run as the workload accounts
    "roles/iam.workloadIdentityPoolAdmin",
    "roles/logging.configWriter",  # the audit log bucket and sink
    "roles/redis.admin",
    "roles/resourcemanager.projectIamAdmin",  # project IAM members and audit configs
    "roles/run.admin",
    "roles/secretmanager.admin",
    "roles/servicenetworking.networksAdmin",
    "roles/serviceusage.serviceUsageAdmin",
)
PREVIEWER_ROLES: tuple[str, ...] = (
    "roles/artifactregistry.reader",
    "roles/cloudsql.viewer",
    "roles/compute.networkViewer",
    "roles/iam.securityReviewer",
    "roles/logging.viewer",
    "roles/redis.viewer",
    "roles/run.viewer",
    "roles/secretmanager.viewer",
    "roles/serviceusage.serviceUsageViewer",
)


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
        self.deployer = self._account(name, "deployer", "Deploys the stack from GitHub Actions", args.deployer_roles, args.project, child)
        self.previewer = self._account(name, "previewer", "Previews the stack from pull requests (read-only)", args.previewer_roles, args.project, child)
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
    ) -> gcp.serviceaccount.Account:
        account = gcp.serviceaccount.Account(
            f"{name}-{role_name}",
            project=project,
            account_id=f"{name}-{role_name}",
            display_name=f"Omni {role_name} ({name})",
            description=f"{description}; managed by Pulumi",
            opts=child,
        )
        for role in roles:
            gcp.projects.IAMMember(
                f"{name}-{role_name}-{role.removeprefix('roles/').replace('.', '-')}",
                project=project,
                role=role,
                member=account.member,
                opts=child,
            )
        return account
