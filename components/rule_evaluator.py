"""The production alerting path: the rule files of `alerts/` evaluated by Google's Managed
Prometheus rule evaluator, and the Alertmanager configuration of `alerts/alertmanager.py`, both in
one Cloud Run worker pool instance (docs/alerting.md, "The production path").

- **Evaluator:** `gke.gcr.io/prometheus-engine/rule-evaluator` (pinned, the release line of the
  query frontend Grafana runs) evaluates the rendered rule files every `metrics.scrapeInterval`:
  every query goes to Managed Prometheus in the stack's project, every recording-rule result is
  written back to it (so the SLO dashboards read series this path computes), every alert goes to
  Alertmanager on localhost. Its identity holds `monitoring.viewer` and `monitoring.metricWriter`.
- **Alertmanager:** `prom/alertmanager` (pinned, pulled through an Artifact Registry remote
  repository of Docker Hub) beside the evaluator, on localhost: the evaluator sends plain HTTP and
  cannot attach the ID token a Cloud Run URL would need, and nothing else must reach it. It pages
  through PagerDuty (`routing_key_file` from the stack's `pagerduty-routing-key` secret) and
  emails tickets through the SMTP relay; one instance, no gossip, its state in memory (a restart
  may resend an open incident's notification, which PagerDuty deduplicates by its key).
- **Collector:** the Managed Prometheus sidecar scrapes Alertmanager's and the evaluator's own
  metrics, which Cloud Monitoring's dead man's switch reads (`alerts/deadman.py`).
- **Worker pool, not service:** nothing calls in (no ingress, no URL), the evaluator must run
  continuously (a worker pool's CPU is always allocated; a service would need min instances 1
  and instance-based billing to stay awake) and exactly one instance must run (manual scaling:
  two evaluators would send every alert twice).
- **Config:** the rule files and the evaluator's config are versions of one secret mounted as
  files, Alertmanager's config another, each mounted by version number: a changed rule is a new
  version, hence a new revision. Cloud Run mounts secrets, not arbitrary files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_gcp as gcp
import yaml

from alerts.alertmanager import EVALUATOR_PORT, PAGERDUTY_ROUTING_KEY_FILE, EmailTickets, alertmanager_config
from alerts.deadman import production_rule_files as production_rule_files  # re-exported for __main__
from alerts.render import to_yaml
from components.cloud_run import (
    CONFIG_DIGEST_ANNOTATION,
    ContainerSpec,
    check_workload_name,
    sidecar_limits,
    vpc_access,
)
from components.cloud_run.sidecars import SECRET_FILE_MODE
from components.identity import grant_project_roles
from components.managed_prometheus import COLLECTOR_CPU, COLLECTOR_IMAGE, COLLECTOR_MEMORY, RunMonitoring
from components.options import child_options
from components.registry import dockerhub_mirror
from components.secrets import ACCESSOR_ROLE
from stackconfig.model import StackConfig

REQUIRED_APIS = (
    "run.googleapis.com",
    "monitoring.googleapis.com",
    "secretmanager.googleapis.com",
    "artifactregistry.googleapis.com",
)
# Query Managed Prometheus, write recording-rule results back to it.
PROJECT_ROLES = ("roles/monitoring.viewer", "roles/monitoring.metricWriter")
EVALUATOR_IMAGE = "gke.gcr.io/prometheus-engine/rule-evaluator:v0.15.3-gke.0"
ALERTMANAGER_IMAGE = "prom/alertmanager"
ALERTMANAGER_PORT = 9093
EVALUATOR_NAME, ALERTMANAGER_NAME, COLLECTOR_NAME = "rule-evaluator", "alertmanager", "collector"
EVALUATOR_CPU, EVALUATOR_MEMORY = "500m", "512Mi"
ALERTMANAGER_CPU, ALERTMANAGER_MEMORY = "250m", "256Mi"
# Where each container finds its files.
EVALUATOR_DIR = "/etc/rule-evaluator"
EVALUATOR_CONFIG = "evaluator.yaml"
ALERTMANAGER_CONFIG_DIR = "/etc/alertmanager/config"
ALERTMANAGER_CONFIG = "alertmanager.yml"
ROUTING_KEY_DIR, ROUTING_KEY_NAME = PAGERDUTY_ROUTING_KEY_FILE.rsplit("/", 1)
COLLECTOR_DIR, COLLECTOR_FILE = "/etc/rungmp", "config.yaml"
ALERTMANAGER_STORAGE = "/alertmanager"
RULE_FILE = re.compile(r"^[a-z0-9][a-z0-9-]*\.rules\.yml$")


def production_alertmanager_yaml(config: StackConfig) -> str:
    """Alertmanager's configuration for the stack: PagerDuty where it pages (critical alerts open
    tickets elsewhere), tickets by email to `alerting.ticketEmail` through the SMTP relay, the
    Watchdog to the evaluator's heartbeat receiver."""
    ticket_email = config.alerting.ticket_email
    if ticket_email is None:
        raise ValueError("Alertmanager needs the ticket queue's address (alerting.ticketEmail)")
    settings = config.alerting_path
    tickets = EmailTickets(to=ticket_email, smarthost=settings.smtp_smarthost, sender=settings.sender(ticket_email))
    return to_yaml(
        alertmanager_config(
            pagerduty_url=None,
            routing_key_file=PAGERDUTY_ROUTING_KEY_FILE,
            paging=config.alerting.pagerduty.enabled,
            tickets=tickets,
        )
    )


def evaluator_config(evaluation_interval: str, rule_files: Sequence[str]) -> str:
    """The evaluator's Prometheus config: its `global` interval, the rule files, Alertmanager on
    localhost. The evaluator reads only `global`, `rule_files` and `alerting` of it."""
    document = {
        "global": {"evaluation_interval": evaluation_interval},
        "rule_files": [f"{EVALUATOR_DIR}/{name}" for name in sorted(rule_files)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"localhost:{ALERTMANAGER_PORT}"]}]}]},
    }
    return yaml.safe_dump(document, sort_keys=False)


def evaluator_args(project: str, region: str) -> list[str]:
    return [
        f"--config.file={EVALUATOR_DIR}/{EVALUATOR_CONFIG}",
        f"--web.listen-address=:{EVALUATOR_PORT}",
        # The scoping project queried and the project and location written to: the stack's own.
        f"--query.project-id={project}",
        f"--export.label.project-id={project}",
        f"--export.label.location={region}",
    ]


def alertmanager_args() -> list[str]:
    return [
        f"--config.file={ALERTMANAGER_CONFIG_DIR}/{ALERTMANAGER_CONFIG}",
        f"--storage.path={ALERTMANAGER_STORAGE}",
        f"--web.listen-address=:{ALERTMANAGER_PORT}",
        "--cluster.listen-address=",  # one instance: no gossip
    ]


def collector_scrape(interval: str) -> RunMonitoring:
    """The collector's targets: Alertmanager's metrics (the dead man's switch reads them) and the
    evaluator's (rule evaluation failures and durations)."""
    return RunMonitoring(port=ALERTMANAGER_PORT, interval=interval, more_ports=(EVALUATOR_PORT,), name="alerting")


def check_rule_files(rule_files: Mapping[str, str]) -> None:
    if not rule_files:
        raise ValueError("the rule evaluator needs at least one rule file")
    for file_name, text in rule_files.items():
        if not RULE_FILE.fullmatch(file_name):
            raise ValueError(f"rule file {file_name!r}: use lowercase letters, digits or '-', ending in .rules.yml")
        if not isinstance(yaml.safe_load(text), dict):
            raise ValueError(f"rule file {file_name} is not a YAML mapping with `groups`")


def digest(files: Mapping[str, str]) -> str:
    """One sha256 over every file name and text: the annotation a review sees change."""
    hasher = hashlib.sha256()
    for file_name, text in sorted(files.items()):
        hasher.update(f"{file_name}\0{text}\0".encode())
    return hasher.hexdigest()


@dataclass(frozen=True)
class RuleEvaluatorArgs:
    project: str
    """The project the evaluator queries (its Managed Prometheus) and writes to."""
    region: str
    """Region of the worker pool and of the image mirror."""
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    """Direct VPC egress: PagerDuty and the SMTP relay are reached through the stack's Cloud NAT."""
    rule_files: Mapping[str, str]
    """File name -> rule file: exactly what `alerts.render.render_rule_files` renders and the
    promtool tests check, plus the heartbeat group (`alerts.deadman`)."""
    alertmanager_config: str
    """Alertmanager's YAML (`alerts.alertmanager.alertmanager_config`, production receivers)."""
    alertmanager_version: str = "v0.28.1"
    evaluation_interval: str = "30s"
    """The stack's scrape interval: evaluating more often reads the same samples again."""
    routing_key_secret: pulumi.Input[str] | None = None
    """The `pagerduty-routing-key` secret's id; None where nothing pages (dev)."""
    protect: bool = True
    """Pulumi `protect` and Secret Manager's deletion protection on the config secrets, and the
    worker pool's deletion protection: without them nothing pages."""

    def __post_init__(self) -> None:
        check_rule_files(self.rule_files)
        for cpu, memory in ((EVALUATOR_CPU, EVALUATOR_MEMORY), (ALERTMANAGER_CPU, ALERTMANAGER_MEMORY)):
            sidecar_limits(cpu, memory)


class RuleEvaluator(pulumi.ComponentResource):
    """The worker pool `<name>` running the rule evaluator, Alertmanager and the collector, with
    its identity, config secrets and image mirror."""

    account: gcp.serviceaccount.Account
    pool: gcp.cloudrunv2.WorkerPool
    config_secret: gcp.secretmanager.Secret
    config_versions: dict[str, gcp.secretmanager.SecretVersion]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: RuleEvaluatorArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:alerting:RuleEvaluator", name, None, opts)
        child = child_options(self, opts)

        self.account = gcp.serviceaccount.Account(
            f"{name}-account",
            project=args.project,
            account_id=name,
            display_name=f"Rule evaluator and Alertmanager ({name})",
            description="Evaluates the alert rules on Managed Prometheus and sends the pages; managed by Pulumi",
            opts=child,
        )
        member = self.account.member
        grants = grant_project_roles(name, args.project, member, PROJECT_ROLES, child)

        alertmanager_image = dockerhub_mirror(
            name,
            project=args.project,
            region=args.region,
            purpose="Alertmanager's image",
            image=ALERTMANAGER_IMAGE,
            version=args.alertmanager_version,
            opts=child,
        )

        # --- files: rules + evaluator config (one secret), Alertmanager's config, the collector's
        evaluator_files = {
            **args.rule_files,
            EVALUATOR_CONFIG: evaluator_config(args.evaluation_interval, list(args.rule_files)),
        }
        self.config_secret, self.config_versions = self._file_secret(
            f"{name}-rules", evaluator_files, member, "rules", args.protect, opts
        )
        am_secret, am_versions = self._file_secret(
            f"{name}-alertmanager",
            {ALERTMANAGER_CONFIG: args.alertmanager_config},
            member,
            "alertmanager",
            args.protect,
            opts,
        )
        collector_secret, collector_versions = self._file_secret(
            f"{name}-rungmp",
            {COLLECTOR_FILE: collector_scrape(args.evaluation_interval).render()},
            member,
            "collector",
            args.protect,
            opts,
        )
        volumes: list[Any] = [
            _volume("rules", self.config_secret, self.config_versions),
            _volume("alertmanager-config", am_secret, am_versions),
            _volume("rungmp-config", collector_secret, collector_versions),
        ]
        alertmanager_mounts: list[Any] = [{"name": "alertmanager-config", "mount_path": ALERTMANAGER_CONFIG_DIR}]
        readable: list[pulumi.Resource] = []
        if args.routing_key_secret is not None:
            readable.append(
                gcp.secretmanager.SecretIamMember(
                    f"{name}-routing-key-reader",
                    secret_id=args.routing_key_secret,
                    role=ACCESSOR_ROLE,
                    member=member,
                    opts=child,
                )
            )
            volumes.append(_latest_volume("pagerduty-routing-key", args.routing_key_secret, ROUTING_KEY_NAME))
            alertmanager_mounts.append({"name": "pagerduty-routing-key", "mount_path": ROUTING_KEY_DIR})
        spec = ContainerSpec(
            image=EVALUATOR_IMAGE,
            service_account_email=self.account.email,
            network_id=args.network_id,
            subnet_id=args.subnet_id,
        )
        template: gcp.cloudrunv2.WorkerPoolTemplateArgsDict = {
            "service_account": spec.service_account_email,
            "vpc_access": vpc_access(spec),
            "volumes": volumes,
            # One block type per resource in the SDK; these are the worker pool container's keys.
            "containers": cast(
                Any,
                [
                    {
                        "name": EVALUATOR_NAME,
                        "image": EVALUATOR_IMAGE,
                        "args": evaluator_args(args.project, args.region),
                        "resources": {"limits": sidecar_limits(EVALUATOR_CPU, EVALUATOR_MEMORY)},
                        "volume_mounts": [{"name": "rules", "mount_path": EVALUATOR_DIR}],
                        # Alertmanager first: the evaluator's first alerts must find it.
                        "depends_ons": [ALERTMANAGER_NAME],
                        "startup_probe": _probe(EVALUATOR_PORT, "/-/ready"),
                        "liveness_probe": {
                            "http_get": {"path": "/-/healthy", "port": EVALUATOR_PORT},
                            "period_seconds": 30,
                            "timeout_seconds": 5,
                            "failure_threshold": 3,
                        },
                    },
                    {
                        "name": ALERTMANAGER_NAME,
                        "image": alertmanager_image,
                        "args": alertmanager_args(),
                        "resources": {"limits": sidecar_limits(ALERTMANAGER_CPU, ALERTMANAGER_MEMORY)},
                        "volume_mounts": alertmanager_mounts,
                        "startup_probe": _probe(ALERTMANAGER_PORT, "/-/ready"),
                        "liveness_probe": {
                            "http_get": {"path": "/-/healthy", "port": ALERTMANAGER_PORT},
                            "period_seconds": 30,
                            "timeout_seconds": 5,
                            "failure_threshold": 3,
                        },
                    },
                    {
                        "name": COLLECTOR_NAME,
                        "image": COLLECTOR_IMAGE,
                        "resources": {"limits": sidecar_limits(COLLECTOR_CPU, COLLECTOR_MEMORY)},
                        "volume_mounts": [{"name": "rungmp-config", "mount_path": COLLECTOR_DIR}],
                        "depends_ons": [ALERTMANAGER_NAME],
                    },
                ],
            ),
        }
        self.pool = gcp.cloudrunv2.WorkerPool(
            f"{name}-pool",
            name=name,
            location=args.region,
            description="Alert rules on Managed Prometheus, and Alertmanager (managed by Pulumi)",
            labels={"service": "alerting"},
            deletion_protection=args.protect,
            # Exactly one: two evaluators would send every alert twice, two Alertmanagers without
            # gossip would notify twice (PagerDuty would merge the pages, email would not).
            scaling={"scaling_mode": "MANUAL", "manual_instance_count": 1},
            template=template,
            opts=pulumi.ResourceOptions.merge(
                child,
                # It starts reading its secrets and querying with its grants at once.
                pulumi.ResourceOptions(depends_on=[*grants, *readable]),
            ),
        )
        self.name = self.pool.name
        self.register_outputs({"name": self.name, "service_account": self.account.email})

    def _file_secret(
        self,
        secret_id: str,
        files: Mapping[str, str],
        reader: pulumi.Input[str],
        label: str,
        protect: bool,
        opts: pulumi.ResourceOptions | None,
    ) -> tuple[gcp.secretmanager.Secret, dict[str, gcp.secretmanager.SecretVersion]]:
        """One secret whose versions are the files, one version per file: a volume mounts each
        version as a file of the same directory. A changed file is a new version (the old one is
        left for the old revision's instances), hence a new revision."""
        secret = gcp.secretmanager.Secret(
            secret_id,
            secret_id=secret_id,
            labels={"service": "alerting"},
            annotations={CONFIG_DIGEST_ANNOTATION: digest(files)},
            replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
            deletion_protection=protect,
            opts=child_options(self, opts, protect=protect),
        )
        child = child_options(self, opts)
        versions = {
            file_name: gcp.secretmanager.SecretVersion(
                f"{secret_id}-{re.sub(r'[^a-z0-9]+', '-', file_name.lower()).strip('-')}",
                secret=secret.id,
                secret_data=text,
                deletion_policy="ABANDON",
                opts=child,
            )
            for file_name, text in sorted(files.items())
        }
        gcp.secretmanager.SecretIamMember(
            f"{secret_id}-{label}", secret_id=secret.id, role=ACCESSOR_ROLE, member=reader, opts=child
        )
        return secret, versions


def _volume(
    volume: str, secret: gcp.secretmanager.Secret, versions: Mapping[str, gcp.secretmanager.SecretVersion]
) -> dict[str, Any]:
    return {
        "name": volume,
        "secret": {
            "secret": secret.secret_id,
            "default_mode": SECRET_FILE_MODE,
            "items": [
                {"path": file_name, "version": version.version} for file_name, version in sorted(versions.items())
            ],
        },
    }


def _latest_volume(volume: str, secret_id: pulumi.Input[str], file_name: str) -> dict[str, Any]:
    """A credential's latest version as one file: read at each instance start, so a rotated key
    reaches Alertmanager at the next restart or revision."""
    return {
        "name": volume,
        "secret": {
            "secret": secret_id,
            "default_mode": SECRET_FILE_MODE,
            "items": [{"path": file_name, "version": "latest"}],
        },
    }


def _probe(port: int, path: str) -> dict[str, Any]:
    # Up to 2 minutes: Direct VPC egress may take a minute to connect a new instance.
    return {
        "http_get": {"path": path, "port": port},
        "period_seconds": 5,
        "timeout_seconds": 3,
        "failure_threshold": 24,
    }
