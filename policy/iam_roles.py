"""The predefined roles the program grants, and the escalation-relevant permissions each holds.

One row per role, with the page of Google's IAM roles reference it was read from. Only the
permissions in `ESCALATION_PERMISSIONS` are listed: the ones that let a principal become
another principal, hand itself more roles, change the trust or the guardrails, or blind the
audit trail. A role the program grants but this table lacks fails the escalation check
(tests/test_escalation.py), so a new role is read and added here before it is granted.

Custom roles are not listed: the check reads their permissions from the graph
(`gcp:projects/iAMCustomRole` inputs).
"""

from __future__ import annotations

from dataclasses import dataclass

# What the reach computation follows or reports (IAM v1 names).
PROJECT_SET_IAM = "resourcemanager.projects.setIamPolicy"
ACCOUNT_SET_IAM = "iam.serviceAccounts.setIamPolicy"
ACT_AS = "iam.serviceAccounts.actAs"
# Each of these on an account is a way to act with that account's own permissions.
IMPERSONATION = frozenset(
    {
        "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.getOpenIdToken",
        "iam.serviceAccounts.implicitDelegation",
        "iam.serviceAccounts.signBlob",
        "iam.serviceAccounts.signJwt",
        "iam.serviceAccountKeys.create",
    }
)
ESCALATION_PERMISSIONS = frozenset(
    {
        PROJECT_SET_IAM,
        ACCOUNT_SET_IAM,
        ACT_AS,
        *IMPERSONATION,
        "iam.roles.create",
        "iam.roles.update",
        "iam.denypolicies.create",
        "iam.denypolicies.delete",
        "iam.denypolicies.update",
        "iam.workloadIdentityPools.update",
        "iam.workloadIdentityPools.delete",
        "iam.workloadIdentityPoolProviders.create",
        "iam.workloadIdentityPoolProviders.update",
        "iam.workloadIdentityPoolProviders.delete",
        "logging.sinks.update",
        "logging.sinks.delete",
        "logging.buckets.update",
        "logging.buckets.delete",
        "secretmanager.versions.access",
        "secretmanager.secrets.setIamPolicy",
        "storage.buckets.setIamPolicy",
        "run.services.setIamPolicy",
        "run.jobs.setIamPolicy",
        "artifactregistry.repositories.setIamPolicy",
        "iap.webServices.setIamPolicy",
        # Who may read or write usage events and invoices (components/usage.py).
        "bigquery.datasets.setIamPolicy",
        "bigquery.tables.setIamPolicy",
        "pubsub.topics.setIamPolicy",
        "pubsub.subscriptions.setIamPolicy",
    }
)

REFERENCE = "https://cloud.google.com/iam/docs/roles-permissions/"


@dataclass(frozen=True)
class RoleRow:
    permissions: frozenset[str]
    """The role's permissions that are in ESCALATION_PERMISSIONS (empty: none of them)."""
    source: str
    """The reference page the row was read from."""


def _row(page: str, *permissions: str) -> RoleRow:
    unknown = set(permissions) - ESCALATION_PERMISSIONS
    if unknown:
        raise ValueError(f"not an escalation permission the check knows: {sorted(unknown)}")
    return RoleRow(frozenset(permissions), REFERENCE + page)


ROLES: dict[str, RoleRow] = {
    # --- the deployer's ---------------------------------------------------------------------
    "roles/artifactregistry.admin": _row("artifactregistry", "artifactregistry.repositories.setIamPolicy"),
    "roles/bigquery.admin": _row("bigquery", "bigquery.datasets.setIamPolicy", "bigquery.tables.setIamPolicy"),
    "roles/pubsub.admin": _row("pubsub", "pubsub.topics.setIamPolicy", "pubsub.subscriptions.setIamPolicy"),
    "roles/cloudscheduler.admin": _row("cloudscheduler"),
    "roles/cloudsql.admin": _row("cloudsql"),
    "roles/compute.networkAdmin": _row("compute"),
    # Enterprise controls (docs/compliance.md): DLP configs and templates, contacts, SCC notifications.
    "roles/dlp.admin": _row("dlp"),
    "roles/essentialcontacts.admin": _row("essentialcontacts"),
    "roles/securitycenter.notificationConfigEditor": _row("securitycenter"),
    # The edge: Cloud Armor policies, and Certificate Manager (`certificatemanager.*`, no IAM policy).
    "roles/compute.securityAdmin": _row("compute"),
    "roles/certificatemanager.admin": _row("certificatemanager"),
    "roles/iap.admin": _row("iap", "iap.webServices.setIamPolicy"),
    # Identity Platform: `identitytoolkit.*` and `firebaseauth.*` (config, tenants, providers, users).
    "roles/identityplatform.admin": _row("identityplatform"),
    "roles/monitoring.editor": _row("monitoring"),
    "roles/redis.admin": _row("redis"),
    "roles/resourcemanager.projectIamAdmin": _row("resourcemanager", PROJECT_SET_IAM),
    "roles/run.admin": _row("run", "run.services.setIamPolicy", "run.jobs.setIamPolicy"),
    "roles/servicenetworking.networksAdmin": _row("servicenetworking"),
    "roles/serviceusage.serviceUsageAdmin": _row("serviceusage"),
    "roles/storage.admin": _row("storage", "storage.buckets.setIamPolicy"),
    "roles/iam.serviceAccountUser": _row("iam", ACT_AS),
    "roles/secretmanager.secretAccessor": _row("secretmanager", "secretmanager.versions.access"),
    # --- trust: who may become an account ---------------------------------------------------
    "roles/iam.workloadIdentityUser": _row(
        "iam", "iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken"
    ),
    # --- read-only: the previewer's -----------------------------------------------------------
    "roles/artifactregistry.reader": _row("artifactregistry"),
    "roles/bigquery.metadataViewer": _row("bigquery"),
    "roles/pubsub.viewer": _row("pubsub"),
    "roles/cloudscheduler.viewer": _row("cloudscheduler"),
    "roles/cloudsql.viewer": _row("cloudsql"),
    "roles/compute.networkViewer": _row("compute"),
    "roles/dlp.reader": _row("dlp"),
    "roles/essentialcontacts.viewer": _row("essentialcontacts"),
    "roles/securitycenter.notificationConfigViewer": _row("securitycenter"),
    "roles/certificatemanager.viewer": _row("certificatemanager"),
    "roles/iam.denyReviewer": _row("iam"),
    "roles/identityplatform.viewer": _row("identityplatform"),
    "roles/iam.roleViewer": _row("iam"),
    "roles/iam.securityReviewer": _row("iam"),
    "roles/iam.serviceAccountViewer": _row("iam"),
    "roles/iam.workloadIdentityPoolViewer": _row("iam"),
    "roles/logging.viewer": _row("logging"),
    "roles/cloudkms.viewer": _row("cloudkms"),
    "roles/monitoring.viewer": _row("monitoring"),
    "roles/redis.viewer": _row("redis"),
    "roles/run.viewer": _row("run"),
    "roles/secretmanager.viewer": _row("secretmanager"),
    "roles/serviceusage.serviceUsageViewer": _row("serviceusage"),
    "roles/storage.objectViewer": _row("storage"),
    # --- the workloads' ----------------------------------------------------------------------
    "roles/cloudsql.client": _row("cloudsql"),
    # Google's service agents, on one CMEK key each (components/encryption.py).
    "roles/cloudkms.cryptoKeyEncrypterDecrypter": _row("cloudkms"),
    "roles/cloudsql.instanceUser": _row("cloudsql"),
    "roles/cloudtrace.agent": _row("cloudtrace"),
    "roles/logging.logWriter": _row("logging"),
    "roles/monitoring.metricWriter": _row("monitoring"),
    "roles/run.invoker": _row("run"),
    "roles/storage.legacyObjectReader": _row("storage"),
    "roles/storage.objectUser": _row("storage"),
    "roles/iap.httpsResourceAccessor": _row("iap"),
    # The DLP service agent's: it reads the tables it profiles (components/data_discovery.py).
    "roles/dlp.projectdriver": _row("dlp"),
    # The usage pipeline's: the Pub/Sub service agent, the publishers and the invoicing jobs.
    "roles/bigquery.dataEditor": _row("bigquery"),  # rows and tables; setIamPolicy is dataOwner's
    "roles/bigquery.dataViewer": _row("bigquery"),
    "roles/bigquery.jobUser": _row("bigquery"),
    "roles/pubsub.publisher": _row("pubsub"),
    "roles/pubsub.subscriber": _row("pubsub"),
}
