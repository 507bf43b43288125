"""Everything a stack may set, with production-safe defaults.

Stack files (``stacks/Pulumi.<stack>.yaml``) hold only what differs per environment; every
field left out takes the default documented here. Keys in the stack file are camelCase
(``omni-infra:network`` → ``subnetCidr``), as ``pulumi config set --path`` writes them.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import zoneinfo
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from . import gcp_rules
from .alerting_path import AlertingPathConfig
from .combinations import check_combinations
from .compliance import ComplianceSettings, check_prod_controls
from .connections import check_connection_budget, connection_budget
from .cost import CostSettings
from .deploy import DeployConfig
from .edge import EdgeSettings, check_edge_fits
from .encryption import EncryptionSettings
from .errors import ConfigConflict
from .identity_platform import IdentityPlatformField, IdentityPlatformSettings
from .model_base import ConfigModel
from .platform import ApiConfig, DatabaseConfig, GrafanaConfig, MetricsConfig, RedisConfig, TracingConfig, WorkersConfig
from .portal import PortalSettings
from .usage import UsageConfig

PROJECT_NAMESPACE = "omni-infra"

Environment = Literal["dev", "staging", "prod"]

# The smallest subnet Cloud Run Direct VPC egress accepts.
DIRECT_VPC_EGRESS_MIN_PREFIX = 26
DEFAULT_REGION = "europe-west1"
# Regions offering Cloud Run, Cloud SQL and Memorystore for Redis.
GCP_REGIONS = (
    "africa-south1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "europe-central2",
    "europe-north1",
    "europe-north2",
    "europe-southwest1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "me-central1",
    "me-central2",
    "me-west1",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "northamerica-south1",
    "southamerica-east1",
    "southamerica-west1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
)
# Internal ranges a VPC subnet may use that no one else routes: RFC 1918 and RFC 6598.
SUBNET_RANGES = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
# Service account ids are `<namePrefix>-<environment><suffix>`, 6 to 30 characters; the longest
# suffix a component appends (the status page's publisher, `-status-pub`) sets the room left.
SERVICE_ACCOUNT_ID_MAX = 30
LONGEST_ACCOUNT_SUFFIX = "-status-pub"
# What changes the connection budget (stackconfig/connections.py), named when it does not fit.
BUDGET_KEYS = (
    "api.maxInstances",
    "api.dbPoolSize",
    "api.dbMaxOverflow",
    "workers.instances",
    "workers.concurrency",
    "workers.dbPoolSize",
    "database.reservedConnections",
    "database.tier",
    "database.maxConnections",
)
# Labels the program sets itself; a stack may add others but not change these.
BUILT_IN_LABELS = ("app", "environment", "managed-by", "team", "cost-center")


class NetworkConfig(ConfigModel):
    """The private network every workload and managed service lives on."""

    subnet_cidr: str = Field(
        default="10.10.0.0/20",
        description=(
            "Primary range of the regional subnet. Cloud Run Direct VPC egress takes addresses "
            "from it (about twice the instance count, reserved in /28 blocks while scaling), so "
            "keep it /26 or larger and widen it before raising max instances past a few hundred."
        ),
    )
    private_services_prefix_length: int = Field(
        default=16,
        ge=16,
        le=24,
        description=(
            "Size of the range reserved for private services access (Cloud SQL, Memorystore). "
            "Google recommends /16 so later services and replicas never run out; it cannot "
            "shrink without recreating the peering."
        ),
    )
    nat_enabled: bool = Field(
        default=True,
        description=(
            "Cloud NAT on the region's router, so workloads without external IPs still reach "
            "third-party APIs. Turn off only where all egress goes through a proxy."
        ),
    )
    nat_log_filter: Literal["ERRORS_ONLY", "TRANSLATIONS_ONLY", "ALL"] = Field(
        default="ERRORS_ONLY",
        description="Cloud NAT logging: errors only keeps log volume low and still shows port exhaustion.",
    )
    flow_logs_sampling: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="VPC flow log sampling on the subnet (0 turns flow logs off); lower it where logs cost more "
        "than they tell.",
    )

    @field_validator("subnet_cidr")
    @classmethod
    def _private_ipv4_network(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            raise ValueError(f"must be an IPv4 network like 10.10.0.0/20 ({error})") from None
        if not any(network.subnet_of(block) for block in SUBNET_RANGES):
            raise ValueError(f"must lie inside {', '.join(map(str, SUBNET_RANGES))}")
        if network.prefixlen > DIRECT_VPC_EGRESS_MIN_PREFIX:
            raise ValueError(
                f"/{network.prefixlen} is too small: Cloud Run Direct VPC egress needs "
                f"/{DIRECT_VPC_EGRESS_MIN_PREFIX} or larger"
            )
        return value


# PagerDuty user IDs: `P` and upper-case letters or digits (`PXPGF42`).
PAGERDUTY_USER_ID = r"^P[A-Z0-9]{5,13}$"
EMAIL_ADDRESS = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class PagerDutyConfig(ConfigModel):
    """Paging: one PagerDuty service per stack, its on-call schedule and escalation policy."""

    enabled: bool = Field(
        default=True,
        description=(
            "Critical alerts page the on-call engineer through PagerDuty. Off (dev), nothing pages: "
            "critical alerts open tickets like warnings, and no PagerDuty resource or token is needed."
        ),
    )
    on_call: list[str] = Field(
        default_factory=list,
        description=(
            "PagerDuty user IDs (`PXPGF42`, from the user's URL in PagerDuty) of the rotation, in "
            "order; required while paging is on. IDs, not emails: a lookup by email needs the "
            "PagerDuty API at preview time."
        ),
    )
    rotation_days: int = Field(
        default=7, ge=1, le=28, description="Length of one on-call shift, in days: a week is the usual choice."
    )
    rotation_start: datetime.date = Field(
        default=datetime.date(2026, 1, 5),
        description="Day the rotation was anchored on (a Monday by default): the first user's first shift began then.",
    )
    handoff_time: str = Field(
        default="09:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time of day (HH:MM, in `timeZone`) at which one shift hands over to the next.",
    )
    time_zone: str = Field(
        default="UTC", description="IANA time zone of the schedule (`Europe/Brussels`): shifts hand over at local time."
    )
    escalation_delay_minutes: int = Field(
        default=15,
        ge=1,
        le=60,
        description="Minutes an unacknowledged page waits before it escalates from the on-call engineer to the "
        "whole rotation.",
    )
    urgency: Literal["high", "low"] = Field(
        default="high",
        description=(
            "Urgency of the service's incidents: `high` notifies by the responders' high-urgency rules (a call "
            "at night) and escalates; `low` notifies quietly and never escalates, for a stack whose criticals "
            "must not wake anyone (staging). Prod refuses `low`."
        ),
    )

    @field_validator("on_call")
    @classmethod
    def _pagerduty_user_ids(cls, users: list[str]) -> list[str]:
        for user in users:
            if not re.fullmatch(PAGERDUTY_USER_ID, user):
                raise ValueError(
                    f"{user!r} is not a PagerDuty user ID: `P` and 6 or more upper-case letters or digits, like PXPGF42"
                )
        if len(set(users)) != len(users):
            raise ValueError("a user appears twice in the rotation")
        return users

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, time_zone: str) -> str:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {time_zone!r}: use an IANA name like UTC or Europe/Brussels") from None
        return time_zone

    @property
    def rotation_anchor(self) -> str:
        """The first shift's start as an ISO 8601 timestamp with the zone's offset on that day."""
        hour, minute = (int(part) for part in self.handoff_time.split(":"))
        start = datetime.datetime.combine(
            self.rotation_start, datetime.time(hour, minute), zoneinfo.ZoneInfo(self.time_zone)
        )
        return start.isoformat()


class AlertingConfig(ConfigModel):
    """Where alerts go: critical pages (PagerDuty), warning opens a ticket, info notifies nobody."""

    ticket_email: str | None = Field(
        default=None,
        pattern=EMAIL_ADDRESS,
        description=(
            "Address of the team's ticket queue (an email-to-ticket inbox): Cloud Monitoring emails every "
            "warning there, and every critical alert too while paging is off. Required."
        ),
    )
    pagerduty: PagerDutyConfig = Field(
        default_factory=PagerDutyConfig, description="Paging through PagerDuty (see PagerDutyConfig)."
    )


class AuditConfig(ConfigModel):
    """The change trail: Data Access audit logs and the retention-locked audit log bucket."""

    retention_days: int = Field(
        default=400,
        ge=1,
        le=3650,
        description="Days the audit log bucket keeps every entry (400: as long as Admin Activity logs in `_Required`).",
    )
    locked: bool | None = Field(
        default=None,
        description=(
            "Lock the bucket's retention: no one can shorten it, and Cloud Logging deletes a locked bucket only "
            "once it is empty, which a bucket the sink writes to never is. Irreversible. Unset: locked in prod only, "
            "so dev and staging stay disposable; prod refuses false."
        ),
    )


class StatusPageConfig(ConfigModel):
    """The public status page: uptime checks, and a job that republishes the page every minute."""

    enabled: bool = Field(
        default=True,
        description="Uptime checks of the public components and the public status page (bucket, job, schedule).",
    )
    title: str = Field(
        default="Omni API status", min_length=1, max_length=80, description="The page's title and the feed's."
    )
    bucket: str | None = Field(
        default=None,
        description=(
            "The public bucket's name (globally unique; Cloud Storage's naming rules, without dots, which need a "
            "verified domain); unset: `<project>-status`."
        ),
    )
    schedule: str = Field(
        default="* * * * *",
        description="How often Cloud Scheduler regenerates the page (unix-cron, UTC); every minute keeps it real time.",
    )
    release: str | None = Field(
        default=None,
        pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$",
        description=(
            "Tag or digest of the `omni-statuspage` image (built from statuspage/Dockerfile) the job runs; "
            "unset: Google's placeholder job image, so the first `pulumi up` works before CI pushed one."
        ),
    )

    @field_validator("schedule")
    @classmethod
    def _cloud_scheduler_takes_it(cls, schedule: str) -> str:
        if problem := gcp_rules.cron_schedule(schedule):
            raise ValueError(problem)
        return schedule

    @field_validator("bucket")
    @classmethod
    def _cloud_storage_takes_it(cls, bucket: str | None) -> str | None:
        if bucket is not None and (problem := gcp_rules.undotted_bucket_name(bucket)):
            raise ValueError(problem)
        return bucket

    @field_validator("release")
    @classmethod
    def _release_names_one_image(cls, release: str | None) -> str | None:
        if release == "latest":
            raise ValueError("`latest` moves between images: use a release tag or a digest")
        return release


class StackConfig(ConfigModel):
    """One stack's whole configuration, read before any resource is declared."""

    project: str = Field(
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        description="The Google Cloud project ID (`gcp:project`), shared with the gcp provider.",
    )
    region: str = Field(
        default=DEFAULT_REGION,
        pattern=r"^[a-z]+-[a-z]+[0-9]+$",
        description="The region of every regional resource (`gcp:region`), shared with the gcp provider.",
    )
    environment: Environment = Field(
        description="Which environment this stack is: sets naming and the `environment` label.",
    )
    name_prefix: str = Field(
        default="omni",
        pattern=r"^[a-z][a-z0-9-]{1,11}$",
        description=(
            "Start of every resource name, before the environment: `omni-prod-vpc`. Short enough that the "
            "longest service account id, `<prefix>-<environment>-status-pub`, fits Google's 30 characters."
        ),
    )
    protect: bool = Field(
        default=True,
        description=(
            "Pulumi `protect` on stateful resources and the network they hang on: a `pulumi up` "
            "cannot delete them until someone turns this off in review. Off only in dev."
        ),
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Extra labels on every resource that takes labels (cost centre, team).",
    )
    network: NetworkConfig = Field(
        default_factory=NetworkConfig,
        description="The VPC, its subnet, private services access and NAT (see NetworkConfig).",
    )
    release: str | None = Field(
        default=None,
        pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$",
        description=(
            "Tag or `sha256:` digest of the omni-api image (in this stack's Artifact Registry) that the API, "
            "workers and beat run; CI sets it per deploy (`pulumi config set release <git sha>`). Unset, "
            "they run Google's placeholder image, so the first `pulumi up` works before any image is pushed."
        ),
    )

    @field_validator("release")
    @classmethod
    def _release_names_one_image(cls, release: str | None) -> str | None:
        if release == "latest":
            raise ValueError(
                "`latest` moves between images (and the registry's tags are immutable): use a release tag or a digest"
            )
        return release

    team: str = Field(
        default="platform", pattern=r"^[a-z][a-z0-9_-]{0,62}$", description="The `team` label on every resource."
    )
    cost_center: str = Field(
        default="omni", pattern=r"^[a-z0-9_-]{1,63}$", description="The `cost-center` label on every resource."
    )
    api: ApiConfig = Field(default_factory=ApiConfig, description="The API service on Cloud Run (see ApiConfig).")
    workers: WorkersConfig = Field(
        default_factory=WorkersConfig,
        description="Celery workers and beat on Cloud Run worker pools (see WorkersConfig).",
    )
    database: DatabaseConfig = Field(
        default_factory=DatabaseConfig, description="Cloud SQL for PostgreSQL (see DatabaseConfig)."
    )
    redis: RedisConfig = Field(
        default_factory=RedisConfig,
        description="Memorystore for Redis: the cache and the Celery broker (see RedisConfig).",
    )
    metrics: MetricsConfig = Field(
        default_factory=MetricsConfig,
        description="Managed Service for Prometheus: the collector sidecar and its scrape interval (see "
        "MetricsConfig).",
    )
    tracing: TracingConfig = Field(
        default_factory=TracingConfig,
        description="OpenTelemetry tracing to Cloud Trace: the collector sidecar and its sampling ratio (see "
        "TracingConfig).",
    )
    grafana: GrafanaConfig = Field(
        default_factory=GrafanaConfig,
        description="Grafana on Cloud Run behind IAP, with provisioned dashboards (see GrafanaConfig).",
    )
    alerting: AlertingConfig = Field(
        default_factory=AlertingConfig,
        description="Alert routing: PagerDuty for critical alerts, the ticket queue for warnings (see AlertingConfig).",
    )
    alerting_path: AlertingPathConfig = Field(
        default_factory=AlertingPathConfig,
        description=(
            "The rule evaluator and Alertmanager on Cloud Run, and the SMTP relay of tickets (see AlertingPathConfig)."
        ),
    )

    deploy: DeployConfig = Field(
        default_factory=DeployConfig,
        description="GitHub Actions deploys through Workload Identity Federation (see DeployConfig).",
    )
    audit: AuditConfig = Field(
        default_factory=AuditConfig,
        description="Data Access audit logs and the locked audit log bucket (see AuditConfig).",
    )
    cost: CostSettings = Field(default_factory=CostSettings, description="The Cloud Billing budget (see CostSettings).")
    status_page: StatusPageConfig = Field(
        default_factory=StatusPageConfig,
        description="The public status page and its uptime checks (see StatusPageConfig).",
    )
    portal: PortalSettings = Field(
        default_factory=PortalSettings, description="The developer portal (see PortalSettings)."
    )
    edge: EdgeSettings = Field(
        default_factory=EdgeSettings, description="The HTTPS load balancer, Cloud Armor, CDN (see EdgeSettings)."
    )
    encryption: EncryptionSettings = Field(
        default_factory=EncryptionSettings, description="CMEK keys (see EncryptionSettings)."
    )

    @field_validator("edge")
    @classmethod
    def _edge_fits_the_stack(cls, edge: EdgeSettings, info: ValidationInfo) -> EdgeSettings:
        return check_edge_fits(edge, info.data)

    identity_platform: IdentityPlatformField = Field(
        default_factory=IdentityPlatformSettings,
        validate_default=True,
        description="Identity Platform for the product's users: MFA, customers' SSO (see IdentityPlatformSettings).",
    )

    usage: UsageConfig = Field(
        default_factory=UsageConfig,
        validate_default=True,
        description="Usage metering and invoicing (see UsageConfig).",
    )

    compliance: ComplianceSettings = Field(
        default_factory=ComplianceSettings,
        description=(
            "Essential Contacts, security findings to tickets, personal data discovery (see ComplianceSettings)."
        ),
    )

    @field_validator("compliance")
    @classmethod
    def _prod_keeps_its_controls(cls, compliance: ComplianceSettings, info: ValidationInfo) -> ComplianceSettings:
        return check_prod_controls(compliance, info.data.get("environment"))

    @field_validator("usage")
    @classmethod
    def _usage_names_google_accepts(cls, usage: UsageConfig, info: ValidationInfo) -> UsageConfig:
        if usage.enabled and "name_prefix" in info.data and "environment" in info.data:
            usage.names(f"{info.data['name_prefix']}-{info.data['environment']}")
        return usage

    @field_validator("deploy")
    @classmethod
    def _prod_previews_from_main_only(cls, deploy: DeployConfig, info: ValidationInfo) -> DeployConfig:
        if info.data.get("environment") == "prod" and deploy.preview_pull_requests:
            raise ValueError(
                "prod's previewer refuses pull requests: whoever can push a branch could decrypt prod's secrets "
                "through it (docs/deploy-security.md); prod is previewed by the drift check on main"
            )
        return deploy

    @field_validator("audit")
    @classmethod
    def _prod_audit_locked(cls, audit: AuditConfig, info: ValidationInfo) -> AuditConfig:
        if info.data.get("environment") == "prod" and audit.locked is False:
            raise ConfigConflict(
                "prod keeps its audit logs locked: an unlocked bucket can be deleted or its retention shortened",
                "audit.locked",
            )
        return audit

    @field_validator("project")
    @classmethod
    def _google_takes_the_project_id(cls, project: str) -> str:
        if problem := gcp_rules.project_id(project):
            raise ValueError(problem)
        return project

    @field_validator("name_prefix")
    @classmethod
    def _account_ids_fit(cls, name_prefix: str, info: ValidationInfo) -> str:
        environment = info.data.get("environment")
        if environment is None:
            return name_prefix
        longest = f"{name_prefix}-{environment}{LONGEST_ACCOUNT_SUFFIX}"
        if len(longest) > SERVICE_ACCOUNT_ID_MAX:
            room = SERVICE_ACCOUNT_ID_MAX - len(f"-{environment}{LONGEST_ACCOUNT_SUFFIX}")
            raise ValueError(
                f"{name_prefix!r} is too long for {environment}: the service account id {longest!r} has "
                f"{len(longest)} characters, Google allows {SERVICE_ACCOUNT_ID_MAX}; use {room} characters or fewer"
            )
        return name_prefix

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if region not in GCP_REGIONS:
            raise ValueError(
                f"unknown region {region!r}; regions with Cloud Run, Cloud SQL and "
                f"Memorystore: {', '.join(GCP_REGIONS)}"
            )
        return region

    @field_validator("labels")
    @classmethod
    def _gcp_label_syntax(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            if key in BUILT_IN_LABELS:
                raise ValueError(f"label {key!r} is set by the program; built-in labels: {', '.join(BUILT_IN_LABELS)}")
            if problem := gcp_rules.label_key(key) or gcp_rules.label_value(key, value):
                raise ValueError(problem)
        room = gcp_rules.MAX_LABELS - len(BUILT_IN_LABELS)
        if len(labels) > room:
            raise ValueError(
                f"{len(labels)} labels: Google takes {gcp_rules.MAX_LABELS} per resource, "
                f"{len(BUILT_IN_LABELS)} of them built in, so {room} at most"
            )
        return labels

    @field_validator("protect")
    @classmethod
    def _prod_is_protected(cls, protect: bool, info: ValidationInfo) -> bool:
        if info.data.get("environment") == "prod" and not protect:
            raise ValueError(
                "prod must keep protect true; unprotecting prod is a reviewed, temporary change "
                "made with `pulumi state unprotect`, not a config value"
            )
        return protect

    @field_validator("alerting")
    @classmethod
    def _prod_pages(cls, alerting: AlertingConfig, info: ValidationInfo) -> AlertingConfig:
        if info.data.get("environment") == "prod" and not alerting.pagerduty.enabled:
            raise ConfigConflict(
                "prod must page: critical alerts in prod need the on-call engineer, not a ticket",
                "alerting.pagerduty.enabled",
            )
        if info.data.get("environment") == "prod" and alerting.pagerduty.urgency != "high":
            raise ConfigConflict(
                "prod pages at high urgency: a low-urgency page never wakes the on-call engineer nor escalates",
                "alerting.pagerduty.urgency",
            )
        return alerting

    @model_validator(mode="after")
    def _connections_fit(self) -> StackConfig:
        try:
            check_connection_budget(self.api, self.workers, self.database)
        except ValueError as error:
            raise ConfigConflict(str(error), *BUDGET_KEYS) from None
        if self.grafana.enabled:
            # Grafana keeps its state in the same instance: its pools come out of the same budget.
            budget = connection_budget(self.api, self.workers, self.database)
            grafana = self.grafana.max_instances * self.grafana.db_pool_size
            if budget.needed + grafana > budget.max_connections:
                raise ConfigConflict(
                    f"the connection budget does not fit Grafana: {budget.explain()}, plus Grafana "
                    f"{self.grafana.max_instances} instances x pool {self.grafana.db_pool_size} = {grafana} "
                    "(grafana.maxInstances, grafana.dbPoolSize). Lower one of the keys named, or raise "
                    "database.tier / database.maxConnections",
                    *BUDGET_KEYS,
                    "grafana.maxInstances",
                    "grafana.dbPoolSize",
                )
        return self

    @model_validator(mode="after")
    def _combinations_fit(self) -> StackConfig:
        check_combinations(self)
        return self

    @property
    def audit_locked(self) -> bool:
        """Whether the audit log bucket is retention-locked: the setting, else prod only."""
        return self.audit.locked if self.audit.locked is not None else self.environment == "prod"

    @property
    def base_name(self) -> str:
        """`omni-prod`: the stem every resource name starts with."""
        return f"{self.name_prefix}-{self.environment}"

    @property
    def common_labels(self) -> dict[str, str]:
        return {
            **self.labels,
            "app": "omni",
            "environment": self.environment,
            "managed-by": "pulumi",
            "team": self.team,
            "cost-center": self.cost_center,
        }
