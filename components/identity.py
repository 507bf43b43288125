"""One service account per workload, with only the predefined roles it needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options

REQUIRED_APIS = ("iam.googleapis.com",)
# Granted on the project: `cloudsql.client` lets the connector reach the instance and
# `cloudsql.instanceUser` lets the account log in with IAM database authentication (both
# could be narrowed to the one instance with an IAM condition), plus the telemetry writers.
RUNTIME_ROLES: tuple[str, ...] = (
    "roles/cloudsql.client",
    "roles/cloudsql.instanceUser",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/cloudtrace.agent",
)
WORKLOADS: tuple[str, ...] = ("api", "worker", "beat", "migrate")


@dataclass(frozen=True)
class IdentitiesArgs:
    project: str
    """The project the accounts live in and the roles are granted on."""
    workloads: Sequence[str] = WORKLOADS
    """One account each: a compromised worker cannot act as the API, and audit logs say who did what."""
    runtime_roles: Sequence[str] = RUNTIME_ROLES
    """Predefined roles every workload gets; never a primitive role (owner, editor, viewer).
    Access to a secret is granted on that secret alone, by the secrets component."""


class Identities(pulumi.ComponentResource):
    """Service accounts `<name>-<workload>` and their project roles."""

    accounts: dict[str, gcp.serviceaccount.Account]
    emails: dict[str, pulumi.Output[str]]
    members: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: IdentitiesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:iam:Identities", name, None, opts)
        child = child_options(self, opts)
        self.accounts = {}
        for workload in args.workloads:
            account = gcp.serviceaccount.Account(
                f"{name}-{workload}",
                project=args.project,
                account_id=f"{name}-{workload}",
                display_name=f"Omni {workload} ({name})",
                description=f"Runtime identity of the Omni {workload}; managed by Pulumi",
                opts=child,
            )
            self.accounts[workload] = account
            for role in args.runtime_roles:
                gcp.projects.IAMMember(
                    f"{name}-{workload}-{role.removeprefix('roles/').replace('.', '-')}",
                    project=args.project,
                    role=role,
                    member=account.member,
                    opts=child,
                )
        self.emails = {workload: account.email for workload, account in self.accounts.items()}
        self.members = {workload: account.member for workload, account in self.accounts.items()}
        self.register_outputs({"emails": self.emails})
