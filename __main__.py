"""The omni-infra Pulumi program: read the stack's config, build the components, export.

`pulumi up` runs this file, and so does the offline engine (`omni preview`), for every stack.
"""

from typing import Any

import pulumi

from alerts.rules import rule_groups
from components import (
    alert_policies,
    audit,
    budget,
    cloud_run,
    data_discovery,
    database,
    deploy_identity,
    encryption,
    essential_contacts,
    grafana,
    identity,
    managed_prometheus,
    network,
    portal,
    redis,
    registry,
    rule_evaluator,
    secrets,
    security_findings,
    status_page,
    tracing,
)
from components import edge as front_door
from components import identity_platform as user_identity
from components import usage as usage_metering
from components.alert_policies import AlertPolicies, AlertPoliciesArgs
from components.api_reference import ApiReference, ApiReferenceArgs
from components.app_contract import (
    APP_WORKLOADS,
    BEAT_CPU,
    BEAT_MEMORY,
    METRICS_PATH,
    METRICS_PORT,
    METRICS_WORKLOADS,
    PLACEHOLDER_IMAGE,
    TRACED_WORKLOADS,
    app_image,
    celery_command,
    migration_command,
    migration_env,
    migration_job_image,
    workload_env,
)
from components.audit import Audit, AuditArgs
from components.cloud_run import ApiService, ApiServiceArgs, ContainerSpec, Job, JobArgs, WorkerPool, WorkerPoolArgs
from components.data_discovery import DataDiscovery, DataDiscoveryArgs
from components.database import Database, DatabaseArgs
from components.deploy_identity import GRANTED_PROJECT_ROLES, DeployIdentity, DeployIdentityArgs, GitHubTrust
from components.edge import BucketPath, Edge, EdgeArgs
from components.encryption import CustomerKey, DataClass, Encryption, EncryptionArgs
from components.essential_contacts import EssentialContacts, EssentialContactsArgs
from components.grafana import Grafana, GrafanaArgs
from components.identity import Identities, IdentitiesArgs
from components.identity_platform import IdentityPlatform, IdentityPlatformArgs
from components.managed_prometheus import MetricsCollection, MetricsCollectionArgs, RunMonitoring
from components.network import Network, NetworkArgs
from components.pagerduty import PagerDuty, PagerDutyArgs, pagerduty_provider
from components.portal import PORTAL_IMAGE, Portal, PortalArgs, portal_env
from components.project_services import ProjectServices, ProjectServicesArgs
from components.provider import google_provider
from components.redis import Redis, RedisArgs
from components.registry import Registry, RegistryArgs
from components.reviewed_files import load_reviewed_files
from components.rule_evaluator import (
    RuleEvaluator,
    RuleEvaluatorArgs,
    production_alertmanager_yaml,
    production_rule_files,
)
from components.secrets import Secrets, SecretsArgs, SecretSpec
from components.security_findings import SecurityFindings, SecurityFindingsArgs
from components.status_page import StatusPage, StatusPageArgs
from components.tracing import CollectorConfig, Tracing, TracingArgs
from components.usage import Usage, UsageArgs
from dashboards.render import render_for
from identity.tenants import selected_tenants
from stackconfig import load_from_runtime
from stackconfig.armor import portal_rules
from stackconfig.compliance import findings_topic
from stackconfig.identity_platform import authorized_domains
from stackconfig.loader import stack_file_path
from stackconfig.monitoring import monitoring_config

config = load_from_runtime(pulumi.get_stack())
base = config.base_name
# What alerts and dashboards read of this stack: thresholds, selectors, producers of series.
monitoring = monitoring_config(pulumi.get_stack(), config)
# The reviewed files pulumi up publishes (notices, the OpenAPI document) and the enterprise
# customers' SSO tenants: every one is checked before any resource is declared.
reviewed = load_reviewed_files()
customer_tenants = selected_tenants(config.identity_platform, config.environment, stack_file_path(pulumi.get_stack()))

provider = google_provider(config)
apis = ProjectServices(
    f"{base}-apis",
    ProjectServicesArgs(
        project=config.project,
        services=[
            *network.REQUIRED_APIS,
            *identity.REQUIRED_APIS,
            *secrets.REQUIRED_APIS,
            *database.REQUIRED_APIS,
            *redis.REQUIRED_APIS,
            *registry.REQUIRED_APIS,
            *cloud_run.REQUIRED_APIS,
            *alert_policies.REQUIRED_APIS,
            *rule_evaluator.REQUIRED_APIS,
            *managed_prometheus.REQUIRED_APIS,
            *(tracing.REQUIRED_APIS if config.tracing.enabled else ()),
            *(grafana.REQUIRED_APIS if config.grafana.enabled else ()),
            *deploy_identity.REQUIRED_APIS,
            *audit.REQUIRED_APIS,
            *(status_page.REQUIRED_APIS if config.status_page.enabled else ()),
            *(budget.REQUIRED_APIS if config.cost.enabled else ()),
            *(front_door.REQUIRED_APIS if config.edge.enabled else ()),
            *(usage_metering.REQUIRED_APIS if config.usage.enabled else ()),
            *(user_identity.REQUIRED_APIS if config.identity_platform.enabled else ()),
            *(portal.REQUIRED_APIS if config.portal.enabled else ()),
            *(encryption.REQUIRED_APIS if config.encryption.enabled else ()),
            *essential_contacts.REQUIRED_APIS,
            *(security_findings.REQUIRED_APIS if config.compliance.findings.enabled else ()),
            *(
                security_findings.SCC_APIS
                if config.compliance.findings.enabled and config.compliance.findings.scc_activated
                else ()
            ),
            *(data_discovery.REQUIRED_APIS if config.compliance.discovery.enabled else ()),
        ],
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)
# Every component's resources wait for the APIs on a new project.
after_apis = pulumi.ResourceOptions(providers=[provider], depends_on=[apis])

# Customer-managed encryption: a key per class of data the stack stores (docs/encryption.md).
keys = (
    Encryption(
        base,
        EncryptionArgs(
            project=config.project,
            location=config.region,
            data_classes=[
                DataClass.DATABASE,
                DataClass.CACHE,
                DataClass.IMAGES,
                *([DataClass.OBJECTS] if config.grafana.enabled else []),
                *([DataClass.ANALYTICS] if config.usage.enabled else []),
                *([DataClass.MESSAGING] if config.usage.enabled or config.compliance.findings.enabled else []),
            ],
            settings=config.encryption,
            labels=config.common_labels,
            protect=config.protect,
        ),
        opts=after_apis,
    )
    if config.encryption.enabled
    else None
)


def key_for(data_class: DataClass) -> CustomerKey | None:
    return keys.key(data_class) if keys else None


net = Network(
    base,
    NetworkArgs(region=config.region, settings=config.network, protect=config.protect),
    opts=after_apis,
)
accounts = Identities(base, IdentitiesArgs(project=config.project), opts=after_apis)
images = Registry(
    base,
    RegistryArgs(
        region=config.region, project=config.project, protect=config.protect, encryption=key_for(DataClass.IMAGES)
    ),
    opts=after_apis,
)
db = Database(
    base,
    DatabaseArgs(
        region=config.region,
        network_id=net.network_id,
        private_services_connection=net.private_services_connection,
        settings=config.database,
        protect=config.protect,
        iam_service_accounts={workload: accounts.emails[workload] for workload in APP_WORKLOADS},
        labels=config.common_labels,
        encryption=key_for(DataClass.DATABASE),
    ),
    opts=after_apis,
)
cache, broker = (
    Redis(
        f"{base}-{role}",
        RedisArgs(
            region=config.region,
            network_id=net.network_id,
            private_services_connection=net.private_services_connection,
            role=role,
            settings=config.redis.cache if role == "cache" else config.redis.broker,
            protect=config.protect,
            encryption=key_for(DataClass.CACHE),
        ),
        opts=after_apis,
    )
    for role in ("cache", "broker")
)
members = accounts.members
app_members = {workload: members[workload] for workload in APP_WORKLOADS}
# Paging: the PagerDuty service critical alerts go to (staging and prod; dev pages nobody).
pager = (
    PagerDuty(
        base,
        PagerDutyArgs(
            settings=config.alerting.pagerduty,
            description=f"the Omni API ({config.environment})",
            protect=config.protect,
        ),
        opts=pulumi.ResourceOptions(
            providers=[pagerduty_provider(f"{base}-pagerduty", pulumi.Config("pagerduty").get_secret("token"))]
        ),
    )
    if config.alerting.pagerduty.enabled
    else None
)
# Alertmanager reads the routing key from a file (`routing_key_file`) mounted from here.
paging_secrets = {"pagerduty-routing-key": SecretSpec(pager.routing_key)} if pager else {}
vault = Secrets(
    base,
    SecretsArgs(
        secrets={
            # Apps log in with IAM database auth; only the migration job uses the admin password.
            "db-admin-password": SecretSpec(value=db.admin_password, accessors={"migrate": members["migrate"]}),
            "redis-cache-auth": SecretSpec(cache.auth_string, accessors=app_members),
            "redis-broker-auth": SecretSpec(broker.auth_string, accessors={**app_members, "beat": members["beat"]}),
            "api-secret-key": SecretSpec(accessors={"api": members["api"]}),
            **paging_secrets,
        },
        protect=config.protect,
    ),
    opts=after_apis,
)

# The alerting path: the rule files of alerts/ evaluated on Managed Prometheus, Alertmanager beside
# the evaluator paging through PagerDuty and emailing tickets (docs/alerting.md).
alerting = RuleEvaluator(
    f"{base}-alerting",
    RuleEvaluatorArgs(
        project=config.project,
        region=config.region,
        network_id=net.network_id,
        subnet_id=net.subnet_id,
        rule_files=production_rule_files(rule_groups(monitoring)),
        alertmanager_config=production_alertmanager_yaml(config),
        alertmanager_version=config.alerting_path.alertmanager_version,
        evaluation_interval=config.metrics.scrape_interval,
        routing_key_secret=vault.secret_ids["pagerduty-routing-key"] if pager else None,
        protect=config.protect,
    ),
    opts=after_apis,
)
# Cloud Monitoring keeps only the dead man's switch of that path, paging through its own channel.
policies = AlertPolicies(
    f"{base}-alerts",
    AlertPoliciesArgs(
        ticket_email=config.alerting.ticket_email,
        pagerduty_routing_key=pager.routing_key if pager else None,
        watches=alerting,
    ),
    opts=after_apis,
)
# The month's spend against the stack's budget; thresholds open tickets like warnings do.
if config.cost.billing_account and config.cost.monthly_budget:
    budget.Budget(
        f"{base}-cost",
        budget.BudgetArgs(
            billing_account=config.cost.billing_account,
            project=config.project,
            monthly_amount=config.cost.monthly_budget,
            ticket_channels=[policies.channels[alert_policies.Channel.TICKET].id],
            actual_thresholds=tuple(config.cost.actual_thresholds),
            forecast_thresholds=tuple(config.cost.forecast_thresholds),
            notify_billing_admins=config.cost.notify_billing_admins,
        ),
        opts=after_apis,
    )


# Managed Prometheus: the collector sidecar of the API and the workers, and the file it reads.
metrics = (
    MetricsCollection(
        base,
        MetricsCollectionArgs(
            scrape=RunMonitoring(port=METRICS_PORT, path=METRICS_PATH, interval=config.metrics.scrape_interval),
            readers={workload: members[workload] for workload in METRICS_WORKLOADS},
            protect=config.protect,
        ),
        opts=after_apis,
    )
    if config.metrics.collector
    else None
)


# OpenTelemetry: the trace collector sidecar of every workload that runs the app, and its config.
traces = (
    Tracing(
        base,
        TracingArgs(
            collector=CollectorConfig(
                project=config.project,
                sampling_ratio=config.tracing.sampling_ratio,
                memory=config.tracing.collector_memory,
            ),
            readers={workload: members[workload] for workload in TRACED_WORKLOADS},
            protect=config.protect,
        ),
        opts=after_apis,
    )
    if config.tracing.enabled
    else None
)


def collection(workload: str) -> dict[str, Any]:
    """The collector sidecars and their mounted configs: Managed Prometheus beside the workloads
    that serve metrics, OpenTelemetry beside every workload that runs the app."""
    collectors = [
        *([metrics] if metrics is not None and workload in METRICS_WORKLOADS else []),
        *([traces] if traces is not None and workload in TRACED_WORKLOADS else []),
    ]
    if not collectors:
        return {}
    return {"sidecars": [c.sidecar for c in collectors], "secret_files": [c.config_file for c in collectors]}


# Usage metering: the topic the API and workers publish billable usage to, BigQuery, invoicing.
usage_names = config.usage.names(base)
usage_pipeline = (
    Usage(
        base,
        UsageArgs(
            project=config.project,
            region=config.region,
            topic=usage_names.topic,
            dataset=usage_names.dataset,
            publishers=app_members,
            network_id=net.network_id,
            subnet_id=net.subnet_id,
            image=(
                images.image("omni-invoicing", config.usage.invoicing_release)
                if config.usage.invoicing_release
                else None
            ),
            raw_retention_days=config.usage.raw_retention_days,
            invoice_schedule=config.usage.invoice_schedule,
            reconcile_schedule=config.usage.reconcile_schedule,
            stripe_key_added=config.usage.stripe_key_added,
            environment=config.environment,
            protect=config.protect,
            analytics_key=key_for(DataClass.ANALYTICS),
            messaging_key=key_for(DataClass.MESSAGING),
        ),
        opts=after_apis,
    )
    if config.usage.enabled
    else None
)


# Enterprise controls (docs/compliance.md): who Google notifies, findings to the ticket path,
# discovery of personal data in the usage dataset and the database.
controls = config.compliance
EssentialContacts(
    f"{base}-contacts", EssentialContactsArgs(project=config.project, contacts=controls.contacts), opts=after_apis
)
findings = (
    SecurityFindings(
        f"{base}-findings",
        SecurityFindingsArgs(
            project=config.project,
            region=config.region,
            topic=findings_topic(base),
            scc_filter=controls.findings.filter if controls.findings.scc_activated else None,
            retention_days=controls.findings.retention_days,
            labels=config.common_labels,
            messaging_key=key_for(DataClass.MESSAGING),
        ),
        opts=after_apis,
    )
    if controls.findings.enabled
    else None
)
discovery = (
    DataDiscovery(
        f"{base}-discovery",
        DataDiscoveryArgs(
            project=config.project,
            region=config.region,
            dataset=usage_names.dataset,
            findings_topic=findings.topic_id,
            findings_topic_name=findings.topic_name,
            sql_instance=db.instance.name if controls.discovery.cloud_sql else None,
            sql_database=db.database_name if controls.discovery.cloud_sql else None,
            refresh_frequency=controls.discovery.refresh_frequency,
            publish_to_scc=controls.findings.scc_activated,
        ),
        opts=pulumi.ResourceOptions(providers=[provider], depends_on=[apis, usage_pipeline, db]),
    )
    if controls.discovery.enabled and findings is not None and usage_pipeline is not None
    else None
)


def container(workload: str) -> ContainerSpec:
    env = (
        migration_env(config, db, vault.secret_ids)
        if workload == "migrate"
        else workload_env(
            workload,
            config,
            db,
            cache,
            broker,
            vault.secret_ids,
            usage_pipeline.topic_path if usage_pipeline and workload in APP_WORKLOADS else None,
        )
    )
    return ContainerSpec(
        image=migration_job_image(images, config) if workload == "migrate" else app_image(images, config),
        service_account_email=accounts.emails[workload],
        network_id=net.network_id,
        subnet_id=net.subnet_id,
        env=env.env,
        secret_env=env.secret_env,
    )


# Workloads start only once they may read their secrets.
after_secrets = pulumi.ResourceOptions(
    providers=[provider], depends_on=[apis, vault, *([metrics] if metrics else []), *([traces] if traces else [])]
)
api = ApiService(
    f"{base}-api",
    ApiServiceArgs(
        region=config.region,
        container=container("api"),
        settings=config.api,
        deletion_protection=config.protect,
        behind_load_balancer=config.edge.enabled,
        **collection("api"),
    ),
    opts=after_secrets,
)
worker_pools = {
    workload: WorkerPool(
        f"{base}-{workload}",
        WorkerPoolArgs(
            region=config.region,
            container=container(workload),
            service=workload,
            command=celery_command(workload, config),
            instances=config.workers.instances if workload == "worker" else 1,
            cpu=config.workers.cpu if workload == "worker" else BEAT_CPU,
            memory=config.workers.memory if workload == "worker" else BEAT_MEMORY,
            config_section="workers" if workload == "worker" else "beat",
            deletion_protection=config.protect,
            **collection(workload),
        ),
        opts=after_secrets,
    )
    for workload in (("worker", "beat") if config.workers.beat else ("worker",))
}

# Run by CI after each deploy (`gcloud run jobs execute <name> --wait`): schema and grants.
migrations = Job(
    f"{base}-migrate",
    JobArgs(
        region=config.region,
        container=container("migrate"),
        service="migrate",
        command=migration_command(config),
        deletion_protection=config.protect,
    ),
    opts=after_secrets,
)

# Review and guardrails: who may deploy (GitHub OIDC, no keys) and the audit trail of changes.
audit_trail = Audit(
    base,
    AuditArgs(
        project=config.project,
        location=config.region,
        retention_days=config.audit.retention_days,
        locked=config.audit_locked,
        protect=config.protect,
    ),
    opts=after_apis,
)

# Grafana behind IAP; the dashboards are rendered from this repository at every `pulumi up`.
grafana_ui = (
    Grafana(
        f"{base}-grafana",
        GrafanaArgs(
            project=config.project,
            region=config.region,
            network_id=net.network_id,
            subnet_id=net.subnet_id,
            database_instance=db.instance.name,
            database_host=db.private_ip,
            database_ca_cert=db.server_ca_cert,
            dashboards=render_for(monitoring),
            settings=config.grafana,
            scrape_interval=config.metrics.scrape_interval,
            host=config.edge.hosts.grafana if config.edge.enabled else None,
            protect=config.protect,
            encryption=key_for(DataClass.OBJECTS),
        ),
        opts=after_apis,
    )
    if config.grafana.enabled
    else None
)

# The public status page: uptime checks of the public components, republished every minute.
status = (
    StatusPage(
        f"{base}-status",
        StatusPageArgs(
            project=config.project,
            region=config.region,
            # With the edge on, the checks go through the custom domain, as users do.
            api_uri=f"https://{config.edge.hosts.api}" if config.edge.enabled else api.uri,
            image=images.image("omni-statuspage", config.status_page.release) if config.status_page.release else None,
            network_id=net.network_id,
            subnet_id=net.subnet_id,
            bucket=config.status_page.bucket or f"{config.project}-status",
            title=config.status_page.title,
            schedule=config.status_page.schedule,
            notices=reviewed.notices,
            site_url=(
                f"https://{config.edge.hosts.status}/" if config.edge.enabled and config.edge.hosts.status else None
            ),
            protect=config.protect,
        ),
        opts=after_apis,
    )
    if config.status_page.enabled
    else None
)

# The developer portal behind the edge on its own host, and the API reference on the CDN beside it.
public_api_url = f"https://{config.edge.hosts.api}" if config.edge.enabled else api.uri
portal_host = config.edge.hosts.portal if config.edge.enabled else None
reference = (
    ApiReference(
        f"{base}-reference",
        ApiReferenceArgs(
            project=config.project,
            region=config.region,
            bucket=config.portal.bucket_name(config.project),
            api_url=public_api_url,
            site_url=f"https://{portal_host}/reference/" if portal_host else None,
            spec=reviewed.api_spec,
            protect=config.protect,
        ),
        opts=after_apis,
    )
    if config.portal.enabled
    else None
)
developer_portal = (
    Portal(
        f"{base}-portal",
        PortalArgs(
            project=config.project,
            region=config.region,
            image=images.image(PORTAL_IMAGE, config.portal.release) if config.portal.release else PLACEHOLDER_IMAGE,
            network_id=net.network_id,
            subnet_id=net.subnet_id,
            settings=config.portal,
            env=portal_env(
                environment=config.environment,
                release=config.portal.release,
                project=config.project,
                api_url=public_api_url,
                reference_url=reference.url,
                public_url=f"https://{portal_host}/" if portal_host else None,
                tenant_id=config.portal.identity.tenant_id,
            ),
            behind_load_balancer=config.edge.enabled,
            deletion_protection=config.protect,
        ),
        opts=after_apis,
    )
    if config.portal.enabled and reference is not None
    else None
)

# The front door: the HTTPS load balancer, certificates, Cloud Armor and CDN for every public host.
edge = (
    Edge(
        f"{base}-edge",
        EdgeArgs(
            project=config.project,
            region=config.region,
            settings=config.edge,
            services={
                "api": api.name,
                **({"grafana": grafana_ui.name} if grafana_ui else {}),
                **({"portal": developer_portal.name} if developer_portal else {}),
            },
            buckets={"status": status.bucket.name} if status else {},
            bucket_paths={"reference": BucketPath("portal", "/reference", reference.bucket.name)} if reference else {},
            service_policies={"portal": portal_rules(config.edge.armor)} if developer_portal else {},
        ),
        opts=after_apis,
    )
    if config.edge.enabled
    else None
)

# Identity Platform for the product's users: MFA, a tenant per enterprise customer (docs/identity.md).
sign_in = (
    IdentityPlatform(
        f"{base}-idp",
        IdentityPlatformArgs(
            project=config.project,
            authorized_domains=authorized_domains(
                config.identity_platform, config.edge.enabled, config.edge.hosts.routed(), config.project
            ),
            tenants=customer_tenants,
            mfa=config.identity_platform.mfa,
            sms_second_factor=config.identity_platform.sms_second_factor,
            totp_adjacent_intervals=config.identity_platform.totp_adjacent_intervals,
            email_sign_in=config.identity_platform.email_sign_in,
            activity_logging=config.identity_platform.activity_logging,
            protect=config.protect,
        ),
        opts=after_apis,
    )
    if config.identity_platform.enabled
    else None
)

# Who may deploy: declared last, so it can name every account something here runs as.
deployers = DeployIdentity(
    base,
    DeployIdentityArgs(
        project=config.project,
        trust=GitHubTrust(
            repository=config.deploy.github_repository,
            repository_id=config.deploy.github_repository_id or "",
            owner_id=config.deploy.github_owner_id or "",
            environment=config.environment,
            preview_pull_requests=config.deploy.preview_pull_requests,
        ),
        protect=config.protect,
        # Discovery's service agent holds the DLP driver role only where discovery runs.
        granted_roles=(
            (*GRANTED_PROJECT_ROLES, *data_discovery.DISCOVERY_PROJECT_ROLES) if discovery else GRANTED_PROJECT_ROLES
        ),
        runtime_accounts={
            **accounts.emails,
            **({"grafana": grafana_ui.account.email} if grafana_ui else {}),
            "alerting": alerting.account.email,
            **(status.runtime_emails if status else {}),
            **(usage_pipeline.runtime_emails if usage_pipeline else {}),
            **({"portal": developer_portal.email} if developer_portal else {}),
        },
    ),
    opts=after_apis,
)

pulumi.export("project", config.project)
pulumi.export("region", config.region)
pulumi.export("network_id", net.network_id)
pulumi.export("subnet_id", net.subnet_id)
pulumi.export("private_services_range", net.private_services_range.name)
# Behind the edge the run.app URL is disabled: the API's address is its custom domain.
pulumi.export("api_url", f"https://{config.edge.hosts.api}" if config.edge.enabled else api.uri)
pulumi.export("image_base", images.image_base)
pulumi.export("database_connection_name", db.connection_name)
pulumi.export("database_private_ip", db.private_ip)
pulumi.export("redis_cache_host", cache.host)
pulumi.export("redis_broker_host", broker.host)
pulumi.export("service_accounts", accounts.emails)
pulumi.export("migration_job", migrations.name)
pulumi.export("workload_identity_provider", deployers.provider_name)
pulumi.export("deployer_service_account", deployers.deployer_email)
pulumi.export("previewer_service_account", deployers.previewer_email)
pulumi.export("audit_log_bucket", audit_trail.bucket_name)
if pager:
    pulumi.export("pagerduty_service_id", pager.service_id)
if grafana_ui:
    pulumi.export("grafana_url", grafana_ui.url)
if status:
    pulumi.export("status_page_url", status.url)
if edge:
    pulumi.export("edge_ip_address", edge.ip_address)
    pulumi.export("edge_urls", edge.urls)
    # The records to publish at the domain's DNS host (docs/edge.md).
    pulumi.export("edge_dns_records", edge.dns_records)
if sign_in:
    pulumi.export("identity_tenant_ids", sign_in.tenant_ids)
if developer_portal and reference:
    pulumi.export("portal_url", f"https://{portal_host}/" if portal_host else developer_portal.uri)
    pulumi.export("api_reference_url", reference.url)
if usage_pipeline:
    pulumi.export("usage_topic", usage_pipeline.topic_name)
    pulumi.export("usage_jobs", usage_pipeline.jobs)
if findings:
    pulumi.export("security_findings_subscription", findings.subscription.name)
