"""The public status page: uptime checks of each public component, and the job that publishes.

- **Uptime checks**: one Cloud Monitoring HTTPS check per public component
  (`statuspage.model.PUBLIC_COMPONENTS`: its path on the API's host), every minute from every
  checker region. Each carries the `statuspage-component` label the publisher finds it by.
  Alerting is the `UptimeCheckFailing` rule of `alerts/`, evaluated by the rule evaluator
  (`components/rule_evaluator.py`), which counts failing locations by `check_id` for every check:
  no Cloud Monitoring policy here.
- **Site**: a public bucket (objects readable by `allUsers` by name, uniform access, not
  listable: `roles/storage.legacyObjectReader`), served
  over HTTPS at `https://storage.googleapis.com/<bucket>/index.html`, or through the edge's Cloud
  CDN at its own host (`site_url`); the notices of
  `statuspage/incidents/` are uploaded to its `notices/` prefix by `pulumi up`.
- **Publisher**: a Cloud Run job (`python -m statuspage.publish`) run by Cloud Scheduler every
  minute. Its service account may read Cloud Monitoring and write objects of this bucket, nothing
  else; the scheduler's own account may only run this job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.app_contract import PLACEHOLDER_JOB_IMAGE
from components.cloud_run import ContainerSpec, Job, JobArgs
from components.cloud_run.job import schedule_job_runs
from components.identity import grant_project_roles
from components.options import child_options
from components.public_site import PUBLIC_URL, public_site_bucket
from stackconfig import gcp_rules
from statuspage.model import PUBLIC_COMPONENTS, PublicComponent
from statuspage.notices import parse_notice_text
from statuspage.sources.gcp import COMPONENT_LABEL

REQUIRED_APIS = (
    "monitoring.googleapis.com",
    "storage.googleapis.com",
    "cloudscheduler.googleapis.com",
    "run.googleapis.com",
)
PUBLISHER_PROJECT_ROLES = ("roles/monitoring.viewer",)
# Create and overwrite (an overwrite deletes the old generation) objects of this bucket only.
PUBLISHER_BUCKET_ROLE = "roles/storage.objectUser"
CHECK_PERIOD = "60s"
CHECK_TIMEOUT = "10s"
PUBLISH_COMMAND = ("python", "-m", "statuspage.publish")
# A run measures, renders and uploads in seconds; the next minute's run is the retry.
PUBLISH_TIMEOUT = "50s"


def check_schedule(schedule: str) -> str:
    """A unix-cron expression Cloud Scheduler takes (the config model checks it the same way)."""
    if problem := gcp_rules.cron_schedule(schedule):
        raise ValueError(f"schedule {problem}")
    return schedule


def api_host(uri: str) -> str:
    """`https://omni-prod-api-x.a.run.app` -> `omni-prod-api-x.a.run.app`: what the checks request."""
    return re.sub(r"^https?://", "", uri).rstrip("/").split("/", 1)[0]


@dataclass(frozen=True)
class StatusPageArgs:
    project: str
    region: str
    api_uri: pulumi.Input[str]
    """The public API's URL; every check requests a path on its host over HTTPS."""
    image: pulumi.Input[str] | None
    """The publisher's image (`omni-statuspage`, built from `statuspage/Dockerfile`); None runs
    Google's placeholder job image, so the first `pulumi up` works before CI has pushed one."""
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    """The job egresses through the stack's VPC and NAT like every other workload."""
    bucket: str
    """The public bucket's name (globally unique)."""
    title: str = "Omni API status"
    schedule: str = "* * * * *"
    """How often the page is regenerated (unix-cron, UTC)."""
    notices: Mapping[str, str] = field(default_factory=dict)
    """Notice id -> YAML text (`statuspage/incidents/*.yaml`), uploaded to `notices/`."""
    components: tuple[PublicComponent, ...] = PUBLIC_COMPONENTS
    site_url: str | None = None
    """The page's address on the edge (`https://status.omni.example/`, Cloud CDN in front of the
    bucket); None: the bucket's storage.googleapis.com address."""
    protect: bool = True
    """Pulumi `protect` on the bucket, not force-destroyed, and the job's deletion protection."""

    def __post_init__(self) -> None:
        check_schedule(self.schedule)
        for notice_id, text in self.notices.items():
            # A malformed notice stops `pulumi up` here, naming the file and the key.
            parse_notice_text(text, notice_id, f"statuspage/incidents/{notice_id}.yaml")


class StatusPage(pulumi.ComponentResource):
    checks: dict[str, gcp.monitoring.UptimeCheckConfig]
    bucket: gcp.storage.Bucket
    url: pulumi.Output[str]
    publisher_email: pulumi.Output[str]
    runtime_emails: dict[str, pulumi.Output[str]]
    """The accounts the job and the schedule run as, for whoever deploys them (`actAs`)."""

    def __init__(self, name: str, args: StatusPageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:statuspage:StatusPage", name, None, opts)
        child = child_options(self, opts)
        host = pulumi.Output.from_input(args.api_uri).apply(api_host)

        # --- uptime checks --------------------------------------------------------------
        self.checks = {}
        for component in args.components:
            self.checks[component.id] = gcp.monitoring.UptimeCheckConfig(
                f"{name}-check-{component.id}",
                project=args.project,
                display_name=f"{name}-{component.id}",
                period=CHECK_PERIOD,
                timeout=CHECK_TIMEOUT,
                checker_type="STATIC_IP_CHECKERS",
                http_check={
                    "path": component.check_path,
                    "port": 443,
                    "use_ssl": True,
                    "validate_ssl": True,
                    "request_method": "GET",
                    "accepted_response_status_codes": [{"status_class": "STATUS_CLASS_2XX"}],
                },
                monitored_resource={"type": "uptime_url", "labels": {"project_id": args.project, "host": host}},
                user_labels={COMPONENT_LABEL: component.id},
                log_check_failures=True,
                opts=child,
            )

        # --- the public bucket ------------------------------------------------------------
        self.bucket = public_site_bucket(
            name,
            self,
            opts,
            bucket=args.bucket,
            project=args.project,
            region=args.region,
            website={"main_page_suffix": "index.html", "not_found_page": "index.html"},
            labels={"service": "statuspage"},
            protect=args.protect,
        )
        notices = [
            gcp.storage.BucketObject(
                f"{name}-notice-{notice_id}",
                bucket=self.bucket.name,
                name=f"notices/{notice_id}.yaml",
                content=text,
                content_type="application/yaml",
                cache_control="no-cache",
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
            )
            for notice_id, text in sorted(args.notices.items())
        ]

        # --- the publisher: its identity, the job, the schedule ------------------------------
        publisher = gcp.serviceaccount.Account(
            f"{name}-publisher",
            project=args.project,
            account_id=f"{name}-pub",
            display_name=f"Status page publisher ({name})",
            description="Reads Cloud Monitoring and writes the status page's bucket; managed by Pulumi",
            opts=child,
        )
        grant_project_roles(f"{name}-publisher", args.project, publisher.member, PUBLISHER_PROJECT_ROLES, child)
        writer = gcp.storage.BucketIAMMember(
            f"{name}-publisher-writer",
            bucket=self.bucket.name,
            role=PUBLISHER_BUCKET_ROLE,
            member=publisher.member,
            opts=child,
        )
        site_url = (
            pulumi.Output.from_input(args.site_url)
            if args.site_url
            else self.bucket.name.apply(lambda bucket: PUBLIC_URL.format(bucket=bucket))
        )
        self.url = site_url.apply(lambda url: url + "index.html")
        job = Job(
            f"{name}-publish",
            JobArgs(
                region=args.region,
                container=ContainerSpec(
                    image=args.image if args.image is not None else PLACEHOLDER_JOB_IMAGE,
                    service_account_email=publisher.email,
                    network_id=args.network_id,
                    subnet_id=args.subnet_id,
                    env={
                        "STATUSPAGE_BUCKET": self.bucket.name,
                        "STATUSPAGE_PROJECT": args.project,
                        "STATUSPAGE_TITLE": args.title,
                        "STATUSPAGE_SITE_URL": site_url,
                    },
                ),
                service="statuspage",
                command=PUBLISH_COMMAND if args.image is not None else (),
                timeout=PUBLISH_TIMEOUT,
                deletion_protection=args.protect,
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[writer, *notices])),
        )
        trigger = gcp.serviceaccount.Account(
            f"{name}-trigger",
            project=args.project,
            account_id=f"{name}-run",
            display_name=f"Status page scheduler ({name})",
            description="Cloud Scheduler runs the status page job as this account, which may do nothing else; "
            "managed by Pulumi",
            opts=child,
        )
        schedule_job_runs(
            f"{name}-schedule",
            scheduler_name=f"{name}-publish",
            invoker_name=f"{name}-trigger-invoker",
            job_name=job.name,
            project=args.project,
            region=args.region,
            schedule=args.schedule,
            description="Regenerates the public status page (managed by Pulumi)",
            trigger=trigger,
            # A missed minute is made up by the next one: no retries piling up behind an outage.
            retry_config={"retry_count": 0},
            opts=child,
        )
        self.publisher_email = publisher.email
        self.runtime_emails = {"status-publisher": publisher.email, "status-trigger": trigger.email}
        self.register_outputs({"url": self.url, "checks": sorted(self.checks), "publisher": self.publisher_email})
