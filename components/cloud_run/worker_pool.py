"""Celery (the workers and beat) as Cloud Run worker pools."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from stackconfig.cloud_run_sizing import instance_limits

from .containers import ContainerSpec, check_workload_name, command_container, vpc_access
from .sidecars import SecretFile, Sidecar, check_sidecars, secret_volumes, sidecar_container


@dataclass(frozen=True)
class WorkerPoolArgs:
    region: str
    """Region of the pool: the network's, the database's and the broker's."""
    container: ContainerSpec
    """Image, identity, network and environment."""
    service: str
    """The `service` label (`worker`, `beat`): what cost and log reports group by."""
    command: Sequence[str]
    """The process to run (empty: the image's entrypoint): its first element replaces the
    image's entrypoint, the rest are its arguments
    (`["celery", "-A", "omni.tasks", "worker", "--concurrency", "4"]`)."""
    instances: int
    """Instances, scaled manually: exactly this many run (1 for Celery beat)."""
    cpu: str = "1"
    """vCPUs per instance in all, the sidecars' shares included; Celery's container gets the
    rest. Always allocated (a worker pool has no request-based billing)."""
    memory: str = "1Gi"
    """Memory of Celery's container; the sidecars' comes on top."""
    config_section: str = "workers"
    """Where `cpu` and `memory` come from, named when they do not fit: the stack config section
    (`workers`), or the workload whose size is fixed in code (`beat`)."""
    deletion_protection: bool = True
    """The provider refuses to delete the pool while on; off only for disposable stacks."""
    sidecars: Sequence[Sidecar] = ()
    """Helper containers beside Celery (the metrics collector); none by default."""
    secret_files: Sequence[SecretFile] = ()
    """Secret versions the sidecars mount as files."""

    def __post_init__(self) -> None:
        check_sidecars(self.sidecars, self.secret_files)
        if not all(self.command):
            raise ValueError("command must have no empty elements, e.g. ['celery', '-A', 'omni.tasks', 'worker']")
        if self.instances < 1:
            raise ValueError(f"instances must be at least 1, got {self.instances}")
        instance_limits(self.config_section, self.cpu, self.memory, self.sidecars)


class WorkerPool(pulumi.ComponentResource):
    """A Cloud Run worker pool with a fixed instance count: no ports, no HTTP probes (a Celery
    process serves nothing); the same egress, identity and secrets blocks as the API."""

    pool: gcp.cloudrunv2.WorkerPool
    name: pulumi.Output[str]

    def __init__(self, name: str, args: WorkerPoolArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:run:WorkerPool", name, None, opts)
        spec = args.container
        limits = instance_limits(args.config_section, args.cpu, args.memory, args.sidecars)
        template: gcp.cloudrunv2.WorkerPoolTemplateArgsDict = {
            "service_account": spec.service_account_email,
            "vpc_access": vpc_access(spec),
            "containers": [
                command_container(spec, args.command, limits),
                # Celery gets no startup probe, so its sidecars start beside it: Celery serves
                # nothing until its metrics server is up, and the placeholder image of a stack
                # without a release serves no metrics port at all, so a probe there would fail
                # the first `pulumi up` of every new stack. The metrics collector retries every
                # scrape interval, which costs at most the first scrape of an instance.
                *(sidecar_container(sidecar, app_probed=False) for sidecar in args.sidecars),
            ],
        }
        if args.secret_files:
            template["volumes"] = secret_volumes(args.secret_files)
        self.pool = gcp.cloudrunv2.WorkerPool(
            f"{name}-pool",
            name=name,
            location=args.region,
            description="Omni Celery (managed by Pulumi)",
            labels={"service": args.service},
            deletion_protection=args.deletion_protection,
            # Manual: exactly `instances` run, no autoscaler adds a second beat.
            scaling={"scaling_mode": "MANUAL", "manual_instance_count": args.instances},
            template=template,
            opts=child_options(self, opts),
        )
        self.name = self.pool.name
        self.register_outputs({"name": self.name})
