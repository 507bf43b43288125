"""Who may deploy the stack from GitHub Actions: Workload Identity Federation, no JSON keys, and
no path from the automation's accounts to more power than the program needs.

A workload identity pool trusts GitHub's OIDC issuer through a provider whose attribute
condition accepts only tokens minted for one repository, named by its numeric id and its
owner's (a name can be registered again after a rename or a deletion; an id cannot). The
provider maps each token to a `role` attribute, and two service accounts stand behind it:

- the **deployer**, impersonable only by a job of the deploy workflow
  (`.github/workflows/deploy-stack.yml`) running on `refs/heads/main` inside the stack's GitHub
  environment, so the environment's protection rules (prod: required reviewers) gate every use;
- the **previewer**, read-only, impersonable by the drift check on main and, where the stack
  allows it (`deploy.previewPullRequests`), by pull requests of the repository (forks get no
  OIDC token).

The deployer holds one role per kind of resource it manages (`SERVICE_ROLES`), where a
predefined role would carry an escalation it does not need a custom role instead
(`CUSTOM_ROLES`: service accounts without `setIamPolicy`, keys or tokens; secrets without
reading other secrets), and conditions where a grant must stay inside the stack (Project IAM
Admin may only add or remove the roles the program grants; Secret Manager only on the stack's
own secrets). It may act as the runtime accounts it deploys, each named.

What would let automation take more power or blind the audit trail is **person-managed**: the
pool and its provider, the deny policy, the custom roles, every IAM binding on a service
account (trust and `actAs`), the audit bucket and sink. The deployer holds no role that changes
them, and an IAM deny policy (`guardrails`) refuses the deployer and the previewer those
permissions, and token creation on any account, whatever roles they are ever given. Changing
them is a person's `pulumi up` (docs/deploy-security.md).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.grafana import PROJECT_ROLES as GRAFANA_PROJECT_ROLES
from components.identity import WORKLOAD_ROLES, grant_project_roles
from components.options import child_options
from components.rule_evaluator import PROJECT_ROLES as ALERTING_PROJECT_ROLES
from components.status_page import PUBLISHER_PROJECT_ROLES
from components.usage import INVOICING_PROJECT_ROLES
from stackconfig.deploy import GITHUB_ID, GITHUB_REPOSITORY

REQUIRED_APIS = ("iam.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com")
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
DEPLOY_REF = "refs/heads/main"
DEPLOY_WORKFLOW = ".github/workflows/deploy-stack.yml"
DRIFT_WORKFLOW = ".github/workflows/drift.yml"
PULL_REQUEST_WORKFLOW = ".github/workflows/pull-request.yml"
DEPLOYER, PREVIEWER, NOBODY = "deployer", "previewer", "none"


@dataclass(frozen=True)
class CustomRole:
    """A project custom role: the permissions one kind of resource needs, and no escalation."""

    key: str
    """Short name: the role id is `<stack base, underscores>_<key>` (`omni_prod_deployer_secrets`)."""
    title: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class ServiceRoles:
    """The roles that manage (deployer) and read (previewer) one kind of resource. `manage` is a
    predefined role, a `CustomRole`, or None: the resource is person-managed (docs/deploy-security.md)."""

    manage: str | CustomRole | None
    read: tuple[str, ...]


# Service accounts: create, update and delete them, read their policies. Not `setIamPolicy`
# (who may use an account is a trust change), no keys, no tokens, no signing.
SERVICE_ACCOUNTS_ROLE = CustomRole(
    "deployer_service_accounts",
    "Omni deployer: service accounts",
    tuple(
        sorted(
            {
                *(
                    f"iam.serviceAccounts.{verb}"
                    for verb in ("create", "delete", "disable", "enable", "get", "list", "undelete", "update")
                ),
                "iam.serviceAccounts.getIamPolicy",
                "resourcemanager.projects.get",
            }
        )
    ),
)
# Secrets: Secret Manager Admin without `versions.access` (reading a version is granted apart,
# on the stack's own secrets only), granted on the stack's secrets only (`secret_scope`).
SECRETS_ROLE = CustomRole(
    "deployer_secrets",
    "Omni deployer: secrets",
    tuple(
        sorted(
            {
                *(
                    f"secretmanager.secrets.{verb}"
                    for verb in ("create", "delete", "get", "getIamPolicy", "list", "setIamPolicy", "update")
                ),
                *(f"secretmanager.versions.{verb}" for verb in ("add", "destroy", "disable", "enable", "get", "list")),
                "secretmanager.locations.get",
                "secretmanager.locations.list",
                "resourcemanager.projects.get",
            }
        )
    ),
)
# Log-based metrics (the edge's Cloud Armor counts): `logging.configWriter` would also delete sinks
# and buckets, which the audit trail forbids; this role holds the metrics' permissions alone.
LOG_METRICS_ROLE = CustomRole(
    "deployer_log_metrics",
    "Omni deployer: log-based metrics",
    tuple(
        sorted(
            {
                *(f"logging.logMetrics.{verb}" for verb in ("create", "delete", "get", "list", "update")),
                "resourcemanager.projects.get",
            }
        )
    ),
)
# CMEK keys (components/encryption.py): create key rings and keys, change rotation and labels, grant
# service agents on a key. Not Cloud KMS Admin: no disabling or destroying a key version (that
# makes data unreadable: a person's change, alerted on), no encrypting or decrypting.
KMS_ROLE = CustomRole(
    "deployer_kms",
    "Omni deployer: encryption keys",
    tuple(
        sorted(
            {
                *(f"cloudkms.keyRings.{verb}" for verb in ("create", "get", "getIamPolicy", "list")),
                *(
                    f"cloudkms.cryptoKeys.{verb}"
                    for verb in ("create", "get", "getIamPolicy", "list", "setIamPolicy", "update")
                ),
                "cloudkms.cryptoKeyVersions.get",
                "cloudkms.cryptoKeyVersions.list",
                "cloudkms.locations.get",
                "cloudkms.locations.list",
                "resourcemanager.projects.get",
            }
        )
    ),
)
CUSTOM_ROLES: tuple[CustomRole, ...] = (SERVICE_ACCOUNTS_ROLE, SECRETS_ROLE, LOG_METRICS_ROLE, KMS_ROLE)

# Resource type prefix (`gcp:<module>/`, or a narrower `gcp:<module>/<type>`) -> its roles: every
# Google type the program declares must match one (a test checks each stack's graph), so a new
# kind of resource cannot reach `pulumi up` without someone deciding who manages it.
SERVICE_ROLES: dict[str, ServiceRoles] = {
    "gcp:artifactregistry/": ServiceRoles("roles/artifactregistry.admin", ("roles/artifactregistry.reader",)),
    # Certificates, DNS authorizations, certificate maps and entries (the editor role cannot delete).
    "gcp:certificatemanager/": ServiceRoles("roles/certificatemanager.admin", ("roles/certificatemanager.viewer",)),
    # Datasets, tables, views and their IAM; the previewer sees metadata and policies, never rows.
    "gcp:bigquery/": ServiceRoles("roles/bigquery.admin", ("roles/bigquery.metadataViewer",)),
    # Key rings, keys and their IAM (CMEK); the previewer sees keys and policies, never key material.
    "gcp:kms/": ServiceRoles(KMS_ROLE, ("roles/cloudkms.viewer",)),
    # Budgets live on the billing account, outside the project: a person grants the deployer
    # Billing Account Costs Manager and the previewer Billing Account Viewer there (docs/cost.md).
    "gcp:billing/": ServiceRoles(None, ()),
    "gcp:cloudrunv2/": ServiceRoles("roles/run.admin", ("roles/run.viewer",)),
    "gcp:cloudscheduler/": ServiceRoles("roles/cloudscheduler.admin", ("roles/cloudscheduler.viewer",)),
    "gcp:compute/": ServiceRoles("roles/compute.networkAdmin", ("roles/compute.networkViewer",)),
    # Sensitive Data Protection: the discovery config and its inspect template (docs/compliance.md).
    "gcp:dataloss/": ServiceRoles("roles/dlp.admin", ("roles/dlp.reader",)),
    "gcp:essentialcontacts/": ServiceRoles("roles/essentialcontacts.admin", ("roles/essentialcontacts.viewer",)),
    # Cloud Armor policies are the security admin's, not the network admin's.
    "gcp:compute/securityPolicy": ServiceRoles("roles/compute.securityAdmin", ("roles/compute.networkViewer",)),
    # The trust of the pool, and the deny policy that guards it: a person's.
    "gcp:iam/": ServiceRoles(None, ("roles/iam.workloadIdentityPoolViewer", "roles/iam.denyReviewer")),
    # Identity Platform's config, tenants and their SAML/OIDC providers (components/identity_platform.py).
    "gcp:identityplatform/": ServiceRoles("roles/identityplatform.admin", ("roles/identityplatform.viewer",)),
    # IAP access is an IAM policy on the IAP resource; the security reviewer reads every policy.
    "gcp:iap/": ServiceRoles("roles/iap.admin", ("roles/iam.securityReviewer",)),
    # The audit bucket and its sink: automation must not be able to stop the trail.
    "gcp:logging/": ServiceRoles(None, ("roles/logging.viewer",)),
    # The edge's log-based metrics: their own custom role, nothing that touches the trail.
    "gcp:logging/metric": ServiceRoles(LOG_METRICS_ROLE, ("roles/logging.viewer",)),
    # Alert policies, notification channels and uptime checks.
    "gcp:monitoring/": ServiceRoles("roles/monitoring.editor", ("roles/monitoring.viewer",)),
    # Project IAM members and audit configs: both live in the project's IAM policy.
    "gcp:projects/iAM": ServiceRoles("roles/resourcemanager.projectIamAdmin", ("roles/iam.securityReviewer",)),
    # A custom role's permissions are the deployer's own: a person's.
    "gcp:projects/iAMCustomRole": ServiceRoles(None, ("roles/iam.roleViewer",)),
    # Enabled APIs and service agents (`serviceIdentity`).
    "gcp:projects/service": ServiceRoles(
        "roles/serviceusage.serviceUsageAdmin", ("roles/serviceusage.serviceUsageViewer",)
    ),
    # Topics, subscriptions, schemas and their IAM.
    "gcp:pubsub/": ServiceRoles("roles/pubsub.admin", ("roles/pubsub.viewer",)),
    "gcp:redis/": ServiceRoles("roles/redis.admin", ("roles/redis.viewer",)),
    "gcp:secretmanager/": ServiceRoles(SECRETS_ROLE, ("roles/secretmanager.viewer",)),
    "gcp:serviceaccount/": ServiceRoles(SERVICE_ACCOUNTS_ROLE, ("roles/iam.serviceAccountViewer",)),
    # Who may use an account (trust, `actAs`) is a person's change.
    "gcp:serviceaccount/iAM": ServiceRoles(None, ("roles/iam.securityReviewer",)),
    # The private services peering is part of the VPC: the network viewer sees it.
    # SCC's notification config to the findings topic (creating it also grants SCC publish there).
    "gcp:securitycenter/": ServiceRoles(
        "roles/securitycenter.notificationConfigEditor", ("roles/securitycenter.notificationConfigViewer",)
    ),
    "gcp:servicenetworking/": ServiceRoles("roles/servicenetworking.networksAdmin", ("roles/compute.networkViewer",)),
    "gcp:sql/": ServiceRoles("roles/cloudsql.admin", ("roles/cloudsql.viewer",)),
    # Buckets, their objects and bucket IAM.
    "gcp:storage/": ServiceRoles("roles/storage.admin", ("roles/storage.objectViewer",)),
}
# Types of other providers: nothing in Google Cloud to be allowed (PagerDuty has its own token).
NOT_GOOGLE_CLOUD = ("pagerduty:", "random:", "pulumi:providers:")
SERVICE_ACCOUNT_USER = "roles/iam.serviceAccountUser"
PROJECT_IAM_ADMIN = "roles/resourcemanager.projectIamAdmin"
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"


def service_roles(resource_type: str) -> ServiceRoles | None:
    """The roles of the table's longest prefix of ``resource_type``; None when none matches."""
    matches = [prefix for prefix in SERVICE_ROLES if resource_type.startswith(prefix)]
    return SERVICE_ROLES[max(matches, key=len)] if matches else None


# What `pulumi up` of this program manages, as predefined roles (never owner or editor) ...
DEPLOYER_ROLES: tuple[str, ...] = tuple(sorted({r.manage for r in SERVICE_ROLES.values() if isinstance(r.manage, str)}))
# ... and the custom roles, each granted on the stack's resources only.
DEPLOYER_CUSTOM_ROLES: tuple[CustomRole, ...] = tuple(
    sorted({r.manage for r in SERVICE_ROLES.values() if isinstance(r.manage, CustomRole)}, key=lambda role: role.key)
)
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
            *INVOICING_PROJECT_ROLES,
            *PREVIEWER_ROLES,
        }
    )
)

# v2 names (`service.googleapis.com/resource.verb`), as deny policies take them: whatever role the
# deployer or the previewer is ever given, these stay refused (Google's list of permissions
# supported in deny policies: https://cloud.google.com/iam/docs/deny-permissions-support).
DENIED_TO_AUTOMATION: tuple[str, ...] = (
    # Becoming another account: tokens, signatures, keys, and granting oneself any of them.
    "iam.googleapis.com/serviceAccounts.getAccessToken",
    "iam.googleapis.com/serviceAccounts.getOpenIdToken",
    "iam.googleapis.com/serviceAccounts.implicitDelegation",
    "iam.googleapis.com/serviceAccounts.signBlob",
    "iam.googleapis.com/serviceAccounts.signJwt",
    "iam.googleapis.com/serviceAccounts.setIamPolicy",
    "iam.googleapis.com/serviceAccountKeys.create",
    "iam.googleapis.com/serviceAccountKeys.upload",
    # Widening a custom role (the deployer's own are custom roles).
    "iam.googleapis.com/roles.create",
    "iam.googleapis.com/roles.delete",
    "iam.googleapis.com/roles.undelete",
    "iam.googleapis.com/roles.update",
    # The trust rule: which tokens may become the deployer.
    "iam.googleapis.com/workloadIdentityPools.create",
    "iam.googleapis.com/workloadIdentityPools.delete",
    "iam.googleapis.com/workloadIdentityPools.undelete",
    "iam.googleapis.com/workloadIdentityPools.update",
    "iam.googleapis.com/workloadIdentityPoolProviders.create",
    "iam.googleapis.com/workloadIdentityPoolProviders.delete",
    "iam.googleapis.com/workloadIdentityPoolProviders.undelete",
    "iam.googleapis.com/workloadIdentityPoolProviders.update",
    # The audit trail's copy: the sink that feeds it and the bucket that keeps it.
    "logging.googleapis.com/sinks.create",
    "logging.googleapis.com/sinks.delete",
    "logging.googleapis.com/sinks.update",
    "logging.googleapis.com/buckets.delete",
    "logging.googleapis.com/buckets.update",
)


def grant_limit(roles: Sequence[str]) -> str:
    """CEL for a Project IAM Admin grant that may add or remove bindings of ``roles`` only
    (IAM's `modifiedGrantsByRole`). Without it the deployer could grant itself `roles/owner`;
    with it, not even a role of its own, so changing the deployer's roles takes a person."""
    quoted = ", ".join(f"'{role}'" for role in sorted(roles))
    return f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([{quoted}])"


def secret_scope(project_number: str, secret_prefix: str) -> str:
    """CEL that holds on the project itself (creating and listing secrets are checked there) and
    on the secrets (and their versions) whose id starts with ``secret_prefix``, nowhere else:
    Secret Manager names resources by project number."""
    if not re.fullmatch(r"[0-9]+", project_number):
        raise ValueError(f"project number {project_number!r} is not digits")
    if not re.fullmatch(r"[a-z][a-z0-9-]*-", secret_prefix):
        raise ValueError(f"secret prefix {secret_prefix!r}: lowercase letters, digits and '-', ending in '-'")
    return (
        "resource.type == 'cloudresourcemanager.googleapis.com/Project' || "
        f"resource.name.startsWith('projects/{project_number}/secrets/{secret_prefix}')"
    )


def check_github_repository(repository: str) -> str:
    """`owner/name` as GitHub spells it; refused otherwise (the condition would match nothing)."""
    if not re.fullmatch(GITHUB_REPOSITORY, repository):
        raise ValueError(f"GitHub repository {repository!r} is not `owner/name`")
    return repository


def check_github_id(what: str, value: str) -> str:
    if not re.fullmatch(GITHUB_ID, value):
        raise ValueError(f"GitHub {what} id {value!r} is not a positive number")
    return value


@dataclass(frozen=True)
class GitHubTrust:
    """Which GitHub workflow runs may become which account, as CEL over the token's claims."""

    repository: str
    """`owner/name`: where the deploy, drift and pull request workflows live."""
    repository_id: str
    owner_id: str
    environment: str
    """The stack's GitHub environment (its name): the deployer only from a job inside it."""
    preview_pull_requests: bool = False
    """Pull requests may use the previewer (dev, staging); otherwise only the drift check on main."""
    deploy_ref: str = DEPLOY_REF

    def __post_init__(self) -> None:
        check_github_repository(self.repository)
        check_github_id("repository", self.repository_id)
        check_github_id("owner", self.owner_id)
        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.environment):
            raise ValueError(f"GitHub environment {self.environment!r}: lowercase letters, digits and '-'")

    def workflow(self, path: str) -> str:
        """A workflow file of the repository at the deploy ref, as `job_workflow_ref` names it."""
        return f"{self.repository}/{path}@{self.deploy_ref}"

    @property
    def deployer_claims(self) -> str:
        # `environment` is only in the tokens of jobs that declare one: test for it first.
        return (
            f"assertion.ref == '{self.deploy_ref}' && has(assertion.environment) && "
            f"assertion.environment == '{self.environment}' && "
            f"assertion.job_workflow_ref == '{self.workflow(DEPLOY_WORKFLOW)}'"
        )

    @property
    def previewer_claims(self) -> str:
        drift = f"(assertion.ref == '{self.deploy_ref}' && assertion.workflow_ref == '{self.workflow(DRIFT_WORKFLOW)}')"
        if not self.preview_pull_requests:
            return drift
        # `pull_request` only: `pull_request_target` runs the base branch's workflow with write
        # tokens for the head's code, and forks get no OIDC token on `pull_request`.
        pull_request = (
            f"(assertion.event_name == 'pull_request' && "
            f"assertion.workflow_ref.startsWith('{self.repository}/{PULL_REQUEST_WORKFLOW}@refs/pull/'))"
        )
        return f"{drift} || {pull_request}"

    @property
    def role_mapping(self) -> str:
        """The `attribute.role` mapping: `deployer`, `previewer` or `none` for each token."""
        return f"({self.deployer_claims}) ? '{DEPLOYER}' : (({self.previewer_claims}) ? '{PREVIEWER}' : '{NOBODY}')"

    @property
    def attribute_mapping(self) -> dict[str, str]:
        """Claims kept as attributes: `role` is what the accounts' bindings test; the rest names
        the run in the audit logs (the principal's attributes are in each entry)."""
        return {
            "google.subject": "assertion.sub",
            "attribute.role": self.role_mapping,
            "attribute.repository_id": "assertion.repository_id",
            "attribute.repository_owner_id": "assertion.repository_owner_id",
            "attribute.ref": "assertion.ref",
            "attribute.actor": "assertion.actor",
            "attribute.event_name": "assertion.event_name",
        }

    @property
    def attribute_condition(self) -> str:
        """CEL the provider applies to every token: this repository's ids, and a run that is one
        of the two accounts' (any other run of the repository gets no token at all)."""
        return (
            f"assertion.repository_id == '{self.repository_id}' && "
            f"assertion.repository_owner_id == '{self.owner_id}' && "
            f"(({self.deployer_claims}) || ({self.previewer_claims}))"
        )


def deny_policy_parent(project: str) -> str:
    """The project as a deny policy's attachment point: its full resource name, URL-encoded
    (every `/` as `%2F`), as Google requires."""
    return urllib.parse.quote(f"cloudresourcemanager.googleapis.com/projects/{project}", safe="")


def deny_principal(email: str) -> str:
    """A service account in a deny rule's principal form (v2 IAM)."""
    return f"principal://iam.googleapis.com/projects/-/serviceAccounts/{email}"


def custom_role_id(name: str, role: CustomRole) -> str:
    """Custom role ids take letters, digits, `_` and `.`: `omni-prod` becomes `omni_prod`."""
    return f"{name.replace('-', '_')}_{role.key}"


@dataclass(frozen=True)
class DeployIdentityArgs:
    project: str
    """The project the pool, the accounts and their roles live in (the stack's project)."""
    trust: GitHubTrust
    """The repository (by ids), the stack's GitHub environment and whether pull requests preview
    (stack config `deploy.*`)."""
    deployer_roles: Sequence[str] = field(default_factory=lambda: DEPLOYER_ROLES)
    """Predefined project roles of the deployer: what the program manages, nothing more."""
    custom_roles: Sequence[CustomRole] = field(default_factory=lambda: DEPLOYER_CUSTOM_ROLES)
    """Custom roles of the deployer, for the services whose predefined admin role escalates."""
    previewer_roles: Sequence[str] = field(default_factory=lambda: PREVIEWER_ROLES)
    """Project roles of the previewer: read-only."""
    granted_roles: Sequence[str] = field(default_factory=lambda: GRANTED_PROJECT_ROLES)
    """The only project roles the deployer may grant or revoke (its Project IAM Admin grant's
    condition): those the program grants to its workloads and the previewer."""
    runtime_accounts: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Email of every service account a deployed resource runs as (Cloud Run services, jobs and
    worker pools, the scheduler's token), by a short name: the deployer is a Service Account
    User of each of these alone, never project-wide."""
    secret_prefix: str | None = None
    """Secret ids the deployer (and the previewer, for a refresh) may manage and read: the
    stack's (`<name>-`, the default). Secrets of anyone else in the project stay out of reach."""
    protect: bool = True
    """Pulumi `protect` on the pool, its provider, the deny policy and the custom roles: removing
    one from the program must not delete the trust rule or the guardrails."""


class DeployIdentity(pulumi.ComponentResource):
    """Pool `<name>-github`, its GitHub provider, the accounts `<name>-deployer` and
    `<name>-previewer`, their roles, and the deny policy `<name>-guardrails`."""

    pool: gcp.iam.WorkloadIdentityPool
    provider: gcp.iam.WorkloadIdentityPoolProvider
    deployer: gcp.serviceaccount.Account
    previewer: gcp.serviceaccount.Account
    deny_policy: gcp.iam.DenyPolicy
    provider_name: pulumi.Output[str]
    """`projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/github`: the
    workflows' `workload_identity_provider`."""
    deployer_email: pulumi.Output[str]
    previewer_email: pulumi.Output[str]

    def __init__(self, name: str, args: DeployIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        trust = args.trust
        super().__init__("omni:iam:DeployIdentity", name, None, opts)
        child = child_options(self, opts)
        guarded = child_options(self, opts, protect=args.protect)
        self.pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-github",
            project=args.project,
            workload_identity_pool_id=f"{name}-github",
            display_name="GitHub Actions",
            description=f"Workflows of {trust.repository} (id {trust.repository_id}); managed by Pulumi",
            opts=guarded,
        )
        self.provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-github-oidc",
            project=args.project,
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="github",
            display_name="GitHub OIDC",
            attribute_mapping=trust.attribute_mapping,
            attribute_condition=trust.attribute_condition,
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=GITHUB_ISSUER),
            opts=guarded,
        )
        project_number = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        scope = project_number.apply(lambda number: secret_scope(number, args.secret_prefix or f"{name}-"))
        custom_roles = {
            role.key: gcp.projects.IAMCustomRole(
                f"{name}-{role.key.replace('_', '-')}",
                project=args.project,
                role_id=custom_role_id(name, role),
                title=role.title,
                description=f"Only what the program's {role.title.rsplit(': ', 1)[-1]} need; managed by Pulumi",
                permissions=list(role.permissions),
                stage="GA",
                opts=guarded,
            )
            for role in args.custom_roles
        }
        self.deployer = self._account(name, "deployer", "Deploys the stack from GitHub Actions", args.project, child)
        self.previewer = self._account(
            name, "previewer", "Previews the stack (read-only) and checks drift", args.project, child
        )
        limit = gcp.projects.IAMMemberConditionArgs(
            title="Grants only the program's roles",
            description="May add or remove bindings of the roles the program grants, no other; managed by Pulumi",
            expression=grant_limit(args.granted_roles),
        )
        grant_project_roles(
            f"{name}-deployer",
            args.project,
            self.deployer.member,
            args.deployer_roles,
            child,
            {PROJECT_IAM_ADMIN: limit},
        )
        grant_project_roles(f"{name}-previewer", args.project, self.previewer.member, args.previewer_roles, child)
        own_secrets = gcp.projects.IAMMemberConditionArgs(
            title="The stack's secrets only",
            description="The project, and the secrets whose id starts with the stack's name; managed by Pulumi",
            expression=scope,
        )
        for spec in sorted(args.custom_roles, key=lambda role: role.key):
            key, role = spec.key, custom_roles[spec.key]
            gcp.projects.IAMMember(
                f"{name}-deployer-{key.replace('_', '-')}",
                project=args.project,
                # Spelled out (not the role's output) so a preview shows which role is granted.
                role=f"projects/{args.project}/roles/{custom_role_id(name, spec)}",
                member=self.deployer.member,
                # Secrets stay inside the stack; service accounts are the project's (the role holds
                # nothing that escalates, and an account's name has no stack prefix to test).
                condition=own_secrets if key == SECRETS_ROLE.key else None,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[role])),
            )
        # A refresh reads each secret version the program wrote back (the provider keeps its
        # data); both accounts can decrypt the stack's state, which holds them anyway.
        for role_name, account in ((DEPLOYER, self.deployer), (PREVIEWER, self.previewer)):
            gcp.projects.IAMMember(
                f"{name}-{role_name}-reads-own-secrets",
                project=args.project,
                role=SECRET_ACCESSOR,
                member=account.member,
                condition=own_secrets,
                opts=child,
            )
        # Deploying a revision, job or schedule that runs as an account needs `actAs` on it.
        for account_name, email in sorted(args.runtime_accounts.items()):
            gcp.serviceaccount.IAMMember(
                f"{name}-deployer-acts-as-{account_name}",
                service_account_id=pulumi.Output.from_input(email).apply(
                    lambda address: f"projects/{args.project}/serviceAccounts/{address}"
                ),
                role=SERVICE_ACCOUNT_USER,
                member=self.deployer.member,
                opts=child,
            )
        # The provider admits only the two accounts' runs; each binding lets one role through.
        pool_principals = self.pool.name.apply(lambda pool: f"principalSet://iam.googleapis.com/{pool}")
        for role_name, account in ((DEPLOYER, self.deployer), (PREVIEWER, self.previewer)):
            gcp.serviceaccount.IAMMember(
                f"{name}-{role_name}-wif",
                service_account_id=account.name,
                role=WORKLOAD_IDENTITY_USER,
                member=pool_principals.apply(lambda principals, r=role_name: f"{principals}/attribute.role/{r}"),
                opts=child,
            )
        self.deny_policy = gcp.iam.DenyPolicy(
            f"{name}-guardrails",
            parent=deny_policy_parent(args.project),
            name=f"{name}-guardrails",
            display_name="Automation cannot escalate or stop the audit trail",
            # Protected stacks: a `pulumi destroy` or a dropped resource fails instead of deleting it.
            deletion_policy="PREVENT" if args.protect else "DELETE",
            rules=[
                gcp.iam.DenyPolicyRuleArgs(
                    description=(
                        "The deploy accounts never create tokens or keys for an account, change who may use one, "
                        "widen a custom role, change the GitHub trust, or touch the audit sink and bucket"
                    ),
                    deny_rule=gcp.iam.DenyPolicyRuleDenyRuleArgs(
                        denied_principals=[
                            self.deployer.email.apply(deny_principal),
                            self.previewer.email.apply(deny_principal),
                        ],
                        denied_permissions=list(DENIED_TO_AUTOMATION),
                    ),
                )
            ],
            opts=guarded,
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

    @staticmethod
    def _account(
        name: str, role_name: str, description: str, project: str, child: pulumi.ResourceOptions
    ) -> gcp.serviceaccount.Account:
        return gcp.serviceaccount.Account(
            f"{name}-{role_name}",
            project=project,
            account_id=f"{name}-{role_name}",
            display_name=f"Omni {role_name} ({name})",
            description=f"{description}; managed by Pulumi",
            opts=child,
        )
