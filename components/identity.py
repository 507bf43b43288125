"""One service account per workload, with only the predefined roles it needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.options import child_options

REQUIRED_APIS = ("iam.googleapis.com",)
# Every workload writes logs, metrics and traces.
TELEMETRY_ROLES: tuple[str, ...] = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/cloudtrace.agent",
)
# `cloudsql.client` lets the connector reach the instance, `cloudsql.instanceUser` lets the
# account log in with IAM database authentication. Granted on the project (both could be
# narrowed to the one instance with an IAM condition).
DATABASE_CLIENT_ROLES: tuple[str, ...] = ("roles/cloudsql.client", "roles/cloudsql.instanceUser")
# Each workload's project roles: only what it uses. Beat only puts tasks on the broker; the
# migration job logs in with the admin password, through the connector or the private IP.
WORKLOAD_ROLES: dict[str, tuple[str, ...]] = {
    "api": (*DATABASE_CLIENT_ROLES, *TELEMETRY_ROLES),
    "worker": (*DATABASE_CLIENT_ROLES, *TELEMETRY_ROLES),
    "beat": TELEMETRY_ROLES,
    "migrate": ("roles/cloudsql.client", *TELEMETRY_ROLES),
}


def grant_project_roles(
    prefix: str,
    project: pulumi.Input[str],
    member: pulumi.Input[str],
    roles: Sequence[str],
    opts: pulumi.ResourceOptions,
    conditions: Mapping[str, gcp.projects.IAMMemberConditionArgs] | None = None,
) -> list[gcp.projects.IAMMember]:
    """One project IAM grant per role, named `<prefix>-<role>` (`roles/cloudsql.client` ->
    `cloudsql-client`); `conditions` limits the grants of the roles it names."""
    return [
        gcp.projects.IAMMember(
            f"{prefix}-{role.removeprefix('roles/').replace('.', '-')}",
            project=project,
            role=role,
            member=member,
            condition=(conditions or {}).get(role),
            opts=opts,
        )
        for role in roles
    ]


@dataclass(frozen=True)
class IdentitiesArgs:
    project: str
    """The project the accounts live in and the roles are granted on."""
    roles: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(WORKLOAD_ROLES))
    """Workload to its predefined project roles; one account each, so a compromised worker
    cannot act as the API and audit logs say who did what. Never a primitive role (owner,
    editor, viewer); access to a secret is granted on that secret alone, by the secrets
    component."""


class Identities(pulumi.ComponentResource):
    """Service accounts `<name>-<workload>` and their project roles."""

    accounts: dict[str, gcp.serviceaccount.Account]
    emails: dict[str, pulumi.Output[str]]
    members: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: IdentitiesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:iam:Identities", name, None, opts)
        child = child_options(self, opts)
        self.accounts = {}
        for workload, roles in args.roles.items():
            account = gcp.serviceaccount.Account(
                f"{name}-{workload}",
                project=args.project,
                account_id=f"{name}-{workload}",
                display_name=f"Omni {workload} ({name})",
                description=f"Runtime identity of the Omni {workload}; managed by Pulumi",
                opts=child,
            )
            self.accounts[workload] = account
            grant_project_roles(f"{name}-{workload}", args.project, account.member, roles, child)
        self.emails = {workload: account.email for workload, account in self.accounts.items()}
        self.members = {workload: account.member for workload, account in self.accounts.items()}
        self.register_outputs({"emails": self.emails})
