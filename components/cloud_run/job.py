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


JOB_INVOKER_ROLE = "roles/run.invoker"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def schedule_job_runs(
    resource_name: str,
    *,
    scheduler_name: str,
    invoker_name: str,
    job_name: pulumi.Output[str],
    project: str,
    region: str,
    schedule: str,
    description: str,
    trigger: gcp.serviceaccount.Account,
    retry_config: gcp.cloudscheduler.JobRetryConfigArgsDict,
    opts: pulumi.ResourceOptions,
) -> gcp.cloudscheduler.Job:
    """Cloud Scheduler (`scheduler_name`) starting a job's runs on a UTC schedule as the
    `trigger` account, which may invoke that job and nothing else (`invoker_name`). The
    scheduler calls the Run Admin API's `jobs.run`, so a start is retried by `retry_config`
    while the run itself is retried by the job's own `max_retries`."""
    invoker = gcp.cloudrunv2.JobIamMember(
        invoker_name,
        project=project,
        location=region,
        name=job_name,
        role=JOB_INVOKER_ROLE,
        member=trigger.member,
        opts=opts,
    )
    return gcp.cloudscheduler.Job(
        resource_name,
        name=scheduler_name,
        project=project,
        region=region,
        description=description,
        schedule=schedule,
        time_zone="Etc/UTC",
        attempt_deadline="60s",
        retry_config=retry_config,
        http_target={
            "http_method": "POST",
            "uri": job_name.apply(
                lambda job: f"https://run.googleapis.com/v2/projects/{project}/locations/{region}/jobs/{job}:run"
            ),
            "oauth_token": {"service_account_email": trigger.email, "scope": CLOUD_PLATFORM_SCOPE},
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[invoker])),
    )
