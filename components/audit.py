"""The change trail: Data Access audit logs for the services that hold data or grant access,
and a copy of every audit log in a log bucket whose retention cannot be shortened.

Admin Activity logs (every create, update, delete and IAM change, with the caller's identity)
are always written, to the project's `_Required` bucket. Data Access logs are off by default:
this turns them on for Cloud SQL, Secret Manager (who read which secret) and IAM. A sink then
copies all audit logs into `<name>-audit`, a bucket in the stack's region whose retention, once
`locked`, nobody (not even a project owner, not even Pulumi) can shorten. Nor can they delete
it: Cloud Logging deletes a locked bucket only when it is empty, nobody can delete log entries,
and the sink keeps writing new ones, so a locked bucket outlives the stack (`pulumi destroy`
fails on it). Lock prod's; a stack meant to be torn down keeps its bucket unlocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.options import child_options

REQUIRED_APIS = ("logging.googleapis.com",)
AUDITED_SERVICES: tuple[str, ...] = (
    "cloudsql.googleapis.com",
    "iam.googleapis.com",
    "secretmanager.googleapis.com",
)
DATA_ACCESS_LOG_TYPES: tuple[str, ...] = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
# Every audit log stream: activity, data access, system event, policy denied.
AUDIT_LOG_FILTER = 'logName:"/logs/cloudaudit.googleapis.com%2F"'


@dataclass(frozen=True)
class AuditArgs:
    project: str
    """The project whose audit logs are configured and kept."""
    location: str
    """Region of the log bucket (the stack's region keeps the logs in its jurisdiction)."""
    retention_days: int = 400
    """Days the bucket keeps each entry (1 to 3650); 400 matches `_Required`'s Admin Activity
    retention, so Data Access entries live as long."""
    locked: bool = True
    """Lock the retention: it can then never be shortened, and the bucket is deleted only once
    empty (never, while the sink writes to it). Irreversible; off in stacks that may be torn down
    (stack config `audit.locked`: prod only, by default)."""
    protect: bool = True
    """Pulumi `protect` on the audit configs, the sink and the bucket (with `deletion_policy:
    PREVENT` on the bucket): a change to the program cannot switch the trail off. The deploy
    accounts are also denied changing the sink and the bucket (components/deploy_identity.py)."""
    services: Sequence[str] = field(default_factory=lambda: AUDITED_SERVICES)
    """Services whose Data Access logs are turned on (all three types)."""


class Audit(pulumi.ComponentResource):
    """Data Access audit configs, the retention bucket `<name>-audit` and the sink into it."""

    bucket: gcp.logging.ProjectBucketConfig
    sink: gcp.logging.ProjectSink
    configs: dict[str, gcp.projects.IAMAuditConfig]
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: AuditArgs, opts: pulumi.ResourceOptions | None = None):
        if not 1 <= args.retention_days <= 3650:
            raise ValueError(f"audit log retention {args.retention_days} days: Cloud Logging keeps 1 to 3650")
        super().__init__("omni:audit:Audit", name, None, opts)
        guarded = child_options(self, opts, protect=args.protect)
        self.configs = {
            service: gcp.projects.IAMAuditConfig(
                f"{name}-audit-{service.split('.')[0]}",
                project=args.project,
                service=service,
                audit_log_configs=[
                    gcp.projects.IAMAuditConfigAuditLogConfigArgs(log_type=log_type)
                    for log_type in DATA_ACCESS_LOG_TYPES
                ],
                # Removing one from the program must not switch its Data Access logs off.
                opts=guarded,
            )
            for service in sorted(args.services)
        }
        self.bucket = gcp.logging.ProjectBucketConfig(
            f"{name}-audit",
            project=args.project,
            location=args.location,
            bucket_id=f"{name}-audit",
            description="Every audit log of the project, retention-locked; managed by Pulumi",
            retention_days=args.retention_days,
            locked=args.locked,
            deletion_policy="PREVENT" if args.protect else "DELETE",
            opts=guarded,
        )
        self.sink = gcp.logging.ProjectSink(
            f"{name}-audit-sink",
            project=args.project,
            name=f"{name}-audit",
            description="Copies every audit log into the retention-locked bucket",
            destination=self.bucket.name.apply(lambda bucket: f"logging.googleapis.com/{bucket}"),
            filter=AUDIT_LOG_FILTER,
            # A bucket of the same project needs no grant to the sink's writer identity.
            unique_writer_identity=True,
            opts=guarded,
        )
        self.bucket_name = self.bucket.name
        self.register_outputs({"bucket_name": self.bucket_name})
