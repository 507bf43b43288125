"""Cloud Run jobs run on demand (`gcloud run jobs execute`): database migrations, the status publisher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from stackconfig.cloud_run_sizing import resource_limits

from .containers import ContainerSpec, check_workload_name, command_container, vpc_access

@dataclass(frozen=True)
class JobArgs:
    region: str
    """Region of the job: the network's and the database's."""
    container: ContainerSpec
    """Image, identity, network and environment."""
    service: str
    """The `service` label (`migrate`)."""
    command: Sequence[str]
    """The process to run (empty: the image's entrypoint)."""
    cpu: str = "1"
    memory: str = "512Mi"
    timeout: str = "1800s"
    """How long one run may take before Cloud Run stops it."""
    max_retries: int = 0
    """A failed migration is looked at, not blindly run again."""
    deletion_protection: bool = True


class Job(pulumi.ComponentResource):
    """A Cloud Run job run on demand (`gcloud run jobs execute`), e.g. database migrations."""

    job: gcp.cloudrunv2.Job
    name: pulumi.Output[str]

    def __init__(self, name: str, args: JobArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:run:Job", name, None, opts)
        spec = args.container
        self.job = gcp.cloudrunv2.Job(
            f"{name}-job",
            name=name,
            location=args.region,
            labels={"service": args.service},
            deletion_protection=args.deletion_protection,
            template={
                "task_count": 1,
                "parallelism": 1,
                "template": {
                    "service_account": spec.service_account_email,
                    "vpc_access": vpc_access(spec),
                    "timeout": args.timeout,
                    "max_retries": args.max_retries,
                    "containers": [command_container(spec, args.command, resource_limits(args.cpu, args.memory))],
                },
            },
            opts=child_options(self, opts),
        )
        self.name = self.job.name
        self.register_outputs({"name": self.name})
