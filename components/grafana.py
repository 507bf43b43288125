"""Grafana on Cloud Run, behind Identity-Aware Proxy, provisioned entirely from this repository.

- **Access:** IAP in front of the service (Cloud Run's direct IAP integration, no load
  balancer); only the IAP service agent may invoke it, and only the configured Google group may
  pass IAP. Grafana trusts the identity IAP signs into each request (`X-Goog-IAP-JWT-Assertion`,
  verified against Google's IAP keys and this service's audience), so people sign in once,
  with their Google account; there is no Grafana password, no login form and no admin user.
- **Data:** a Prometheus datasource (uid `managed-prometheus`) pointing at the Managed
  Prometheus query frontend, which runs beside Grafana on localhost:9090 and authenticates to
  Cloud Monitoring as Grafana's own service account (`roles/monitoring.viewer`, nothing else).
- **State:** a database and a password user of its own on the stack's Cloud SQL instance
  (Grafana cannot log in with IAM tokens), the password generated and kept in Secret Manager.
- **Dashboards:** the rendered dashboards, the datasource and the dashboard provider are objects
  in a private bucket mounted read-only into the container; Grafana re-reads the files every
  minute and refuses edits in the UI, so a merged dashboard change reaches Grafana through
  `pulumi up` and nothing else.
- **Image:** `grafana/grafana` at a pinned version, pulled through an Artifact Registry remote
  repository of Docker Hub, so instance starts do not depend on Docker Hub's availability or
  its anonymous pull limits.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp
import yaml

from components.cloud_run import (
    INVOKER_ROLE,
    ContainerSpec,
    Sidecar,
    check_workload_name,
    container_env,
    http_probe,
    instance_limits,
    serving_resources,
    sidecar_container,
    vpc_access,
)
from components.database import password_user
from components.encryption import CustomerKey
from components.identity import grant_project_roles
from components.options import child_options
from components.registry import dockerhub_mirror
from components.secrets import Secrets, SecretsArgs, SecretSpec
from dashboards.style import DATASOURCE_UID
from stackconfig.platform import GrafanaConfig

REQUIRED_APIS = (
    "iap.googleapis.com",
    "storage.googleapis.com",
    "artifactregistry.googleapis.com",
    "monitoring.googleapis.com",
)
# The only project role: read Cloud Monitoring (and so Managed Prometheus). Its secrets and its
# bucket are granted on those resources alone; Cloud SQL takes a password over the private IP,
# which needs no IAM role.
PROJECT_ROLES = ("roles/monitoring.viewer",)
IAP_ACCESS_ROLE = "roles/iap.httpsResourceAccessor"
BUCKET_READER_ROLE = "roles/storage.objectViewer"
GRAFANA_IMAGE = "grafana/grafana"
GRAFANA_PORT = 3000
HEALTH_PATH = "/api/health"
# Google's Managed Prometheus query frontend: a Prometheus HTTP API in front of Cloud Monitoring.
FRONTEND_IMAGE = "gke.gcr.io/prometheus-engine/frontend:v0.15.3-gke.0"
FRONTEND_NAME = "prometheus-frontend"
FRONTEND_PORT = 9090
FRONTEND_CPU, FRONTEND_MEMORY = "250m", "256Mi"
# The instance's vCPUs in all: Grafana's container keeps what the frontend does not take (750m).
GRAFANA_CPU = "1"
DATASOURCE_URL = f"http://localhost:{FRONTEND_PORT}"
DATABASE_NAME = "grafana"
DATABASE_USER = "grafana"
POSTGRES_PORT = 5432
# Where the bucket is mounted, and what Grafana reads from it.
MOUNT_DIR = "/etc/grafana/omni"
PROVISIONING_DIR = f"{MOUNT_DIR}/provisioning"
DASHBOARDS_DIR = f"{MOUNT_DIR}/dashboards"
# The database's server CA, which Grafana verifies the server against (`verify-ca`: Cloud SQL's
# certificate names the instance, not the private IP Grafana dials; the CA is the instance's own).
DATABASE_CA_OBJECT = "tls/database-server-ca.pem"
DATABASE_CA_PATH = f"{MOUNT_DIR}/{DATABASE_CA_OBJECT}"
DATABASE_SSL_MODE = "verify-ca"
PROVISIONING_VOLUME = "provisioning"
DASHBOARDS_FOLDER = "Omni"
# How often Grafana re-reads the dashboard files, and how long the bucket mount caches what it
# listed: together, a merged change is on screen about two minutes after `pulumi up`.
UPDATE_INTERVAL_SECONDS = 60
MOUNT_OPTIONS = ("implicit-dirs", "metadata-cache-ttl-secs=60")
# What IAP signs and where its public keys are (https://cloud.google.com/iap/docs/signed-headers-howto).
IAP_JWT_HEADER = "X-Goog-IAP-JWT-Assertion"
IAP_ISSUER = "https://cloud.google.com/iap"
IAP_JWKS_URL = "https://www.gstatic.com/iap/verify/public_key-jwk"
DASHBOARD_FILE = re.compile(r"^[a-z0-9][a-z0-9_-]*\.json$")
CONTENT_DIGEST_KEY = "sha256"


def content_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iap_audience(project_number: str, region: str, service: str) -> str:
    """The `aud` claim IAP signs for a Cloud Run service it protects directly."""
    return f"/projects/{project_number}/locations/{region}/services/{service}"


def service_url(service: str, project_number: str, region: str) -> str:
    """The service's deterministic run.app URL (known before the service exists, so Grafana's
    root URL does not depend on the service's own output)."""
    return f"https://{service}-{project_number}.{region}.run.app"


def datasource_provisioning(scrape_interval: str) -> str:
    """Grafana's datasource file: Managed Prometheus through the frontend sidecar, read-only in
    the UI. `timeInterval` is the scrape interval, so `$__rate_interval` always spans enough samples."""
    document = {
        "apiVersion": 1,
        # A datasource removed from this file is removed from Grafana.
        "prune": True,
        "datasources": [
            {
                "name": "Managed Prometheus",
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": DATASOURCE_URL,
                "isDefault": True,
                "editable": False,
                "jsonData": {"httpMethod": "POST", "timeInterval": scrape_interval, "prometheusType": "Prometheus"},
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=True)


def dashboard_provisioning() -> str:
    """Grafana's dashboard provider: the mounted files, re-read every minute, not editable in the UI."""
    document = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "omni",
                "orgId": 1,
                "folder": DASHBOARDS_FOLDER,
                "type": "file",
                # A dashboard deleted from the repository disappears from Grafana too.
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": UPDATE_INTERVAL_SECONDS,
                "options": {"path": DASHBOARDS_DIR, "foldersFromFilesStructure": False},
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=True)


def check_dashboards(dashboards: Mapping[str, str]) -> None:
    """Plain `.json` file names (they become object names and resource names) holding JSON."""
    for file_name, text in dashboards.items():
        if not DASHBOARD_FILE.fullmatch(file_name):
            raise ValueError(
                f"dashboard file {file_name!r}: use lowercase letters, digits, '-' or '_', ending in .json"
            )
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"dashboard {file_name} is not JSON: {error}") from None


def grafana_env(
    settings: GrafanaConfig, root_url: pulumi.Input[str], audience: pulumi.Input[str], database_host: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """Grafana's configuration, as `GF_<SECTION>_<KEY>` variables (no grafana.ini to ship)."""
    expect_claims = pulumi.Output.from_input(audience).apply(
        lambda aud: json.dumps({"iss": IAP_ISSUER, "aud": aud}, sort_keys=True)
    )
    return {
        "GF_SERVER_ROOT_URL": root_url,
        "GF_SERVER_HTTP_PORT": str(GRAFANA_PORT),
        "GF_PATHS_PROVISIONING": PROVISIONING_DIR,
        # State in Cloud SQL: a private IP, TLS verified against the instance's CA, with a pool the
        # connection budget counts.
        "GF_DATABASE_TYPE": "postgres",
        "GF_DATABASE_HOST": pulumi.Output.from_input(database_host).apply(lambda host: f"{host}:{POSTGRES_PORT}"),
        "GF_DATABASE_NAME": DATABASE_NAME,
        "GF_DATABASE_USER": DATABASE_USER,
        "GF_DATABASE_SSL_MODE": DATABASE_SSL_MODE,
        "GF_DATABASE_CA_CERT_PATH": DATABASE_CA_PATH,
        "GF_DATABASE_MAX_OPEN_CONN": str(settings.db_pool_size),
        "GF_DATABASE_MAX_IDLE_CONN": str(min(2, settings.db_pool_size)),
        # Sign-in is IAP's signed header and nothing else.
        "GF_AUTH_JWT_ENABLED": "true",
        "GF_AUTH_JWT_HEADER_NAME": IAP_JWT_HEADER,
        "GF_AUTH_JWT_JWK_SET_URL": IAP_JWKS_URL,
        "GF_AUTH_JWT_CACHE_TTL": "60m",
        "GF_AUTH_JWT_EXPECT_CLAIMS": expect_claims,
        "GF_AUTH_JWT_EMAIL_CLAIM": "email",
        "GF_AUTH_JWT_USERNAME_CLAIM": "email",
        "GF_AUTH_JWT_AUTO_SIGN_UP": "true",
        "GF_AUTH_DISABLE_LOGIN_FORM": "true",
        "GF_AUTH_DISABLE_SIGNOUT_MENU": "true",
        "GF_AUTH_BASIC_ENABLED": "false",
        "GF_AUTH_ANONYMOUS_ENABLED": "false",
        "GF_USERS_ALLOW_SIGN_UP": "false",
        # Everyone IAP lets through is a Viewer: dashboards and the datasource are code.
        "GF_USERS_AUTO_ASSIGN_ORG_ROLE": "Viewer",
        # No built-in admin whose password would have to live somewhere.
        "GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION": "true",
        "GF_SECURITY_COOKIE_SECURE": "true",
        "GF_ANALYTICS_REPORTING_ENABLED": "false",
        "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
        # One JSON object per line: Cloud Logging parses the severity and fields.
        "GF_LOG_MODE": "console",
        "GF_LOG_CONSOLE_FORMAT": "json",
    }


def frontend_sidecar(project: str) -> Sidecar:
    """The query frontend: starts first (Grafana waits for its readiness). It serves the
    Prometheus API unauthenticated, which only Grafana reaches: Cloud Run routes outside
    traffic to the ingress port alone."""
    return Sidecar(
        name=FRONTEND_NAME,
        image=FRONTEND_IMAGE,
        cpu=FRONTEND_CPU,
        memory=FRONTEND_MEMORY,
        args=(f"--web.listen-address=:{FRONTEND_PORT}", f"--query.project-id={project}"),
        after_app=False,
    )


def frontend_container(project: str) -> Any:
    """The frontend's container block, with the readiness probe Grafana waits for. Request-based
    billing like Grafana's: it works only while Grafana queries it, inside a request."""
    container = sidecar_container(frontend_sidecar(project), app_probed=True, cpu_idle=True)
    container["startup_probe"] = {
        "http_get": {"path": "/-/ready", "port": FRONTEND_PORT},
        "period_seconds": 2,
        "timeout_seconds": 1,
        "failure_threshold": 30,
    }
    return container


@dataclass(frozen=True)
class GrafanaArgs:
    project: str
    """The project: Cloud Monitoring's scoping project the frontend queries, and the service's."""
    region: str
    """Region of the service and the bucket: the database's."""
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    """Direct VPC egress into the subnet: the database has a private IP only."""
    database_instance: pulumi.Input[str]
    """The Cloud SQL instance's name; Grafana gets a database and a user of its own on it."""
    database_host: pulumi.Input[str]
    """The instance's private IP."""
    database_ca_cert: pulumi.Input[str]
    """PEM of the instance's server CA (`Database.server_ca_cert`): Grafana verifies the server
    against it, from the provisioning bucket."""
    dashboards: Mapping[str, str]
    """File name (`api.json`) to dashboard JSON: `offline.dashboards.render_dashboards`."""
    settings: GrafanaConfig = field(default_factory=GrafanaConfig)
    scrape_interval: str = "30s"
    """The collectors' scrape interval: the datasource's minimum step."""
    host: str | None = None
    """Its host on the edge (`edge.hosts.grafana`): Grafana's root URL, and its only way in
    (ingress from the load balancer only). IAP stays on the service: it guards that path too.
    None: Grafana answers on its run.app URL, behind IAP."""
    protect: bool = True
    """Pulumi `protect` and deletion protection on Grafana's database, user and secrets (its
    users' preferences and stars live there), the service's deletion protection, and a bucket
    that is not force-destroyed. Off only for disposable stacks."""
    encryption: CustomerKey | None = None
    """The customer-managed key of the provisioning bucket (components/encryption.py), or None for
    Google's default. Set in place: objects written from then on use it (docs/encryption.md)."""

    def __post_init__(self) -> None:
        check_dashboards(self.dashboards)
        instance_limits("grafana", GRAFANA_CPU, self.settings.memory, [frontend_sidecar(self.project)])


class Grafana(pulumi.ComponentResource):
    """Grafana `<name>` on Cloud Run behind IAP, with its identity, database, secrets, image
    mirror, provisioning bucket and the IAM that ties them together."""

    account: gcp.serviceaccount.Account
    service: gcp.cloudrunv2.Service
    bucket: gcp.storage.Bucket
    dashboard_objects: dict[str, gcp.storage.BucketObject]
    url: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: GrafanaArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:grafana:Grafana", name, None, opts)
        settings = args.settings
        child = child_options(self, opts)
        stateful = child_options(self, opts, protect=args.protect)

        # --- identity: read Cloud Monitoring, nothing else on the project ------------------
        self.account = gcp.serviceaccount.Account(
            f"{name}-account",
            project=args.project,
            account_id=name,
            display_name=f"Grafana ({name})",
            description="Runtime identity of Grafana and its Managed Prometheus query frontend; managed by Pulumi",
            opts=child,
        )
        member = self.account.member
        project_grants = grant_project_roles(name, args.project, member, PROJECT_ROLES, child)

        # --- the image, through a Docker Hub mirror in the region ---------------------------
        image = dockerhub_mirror(
            name,
            project=args.project,
            region=args.region,
            purpose="Grafana's image",
            image=GRAFANA_IMAGE,
            version=settings.version,
            opts=child,
        )

        # --- state: its own database and user on the stack's instance ------------------------
        deletion_policy = "PREVENT" if args.protect else "ABANDON"
        database = gcp.sql.Database(
            f"{name}-db",
            name=DATABASE_NAME,
            instance=args.database_instance,
            charset="UTF8",
            collation="en_US.UTF8",
            deletion_policy=deletion_policy,
            opts=stateful,
        )
        login = password_user(
            f"{name}-db-user",
            user_name=DATABASE_USER,
            instance=args.database_instance,
            protect=args.protect,
            password_name=f"{name}-db-password",
            password_opts=stateful,
            opts=stateful,
        )
        db_password, user = login.password, login.user
        vault = Secrets(
            f"{name}-secret",
            SecretsArgs(
                secrets={
                    "db-password": SecretSpec(value=db_password, accessors={"grafana": member}),
                    # Encrypts datasource secrets in the database; the same on every instance.
                    "key": SecretSpec(accessors={"grafana": member}),
                },
                protect=args.protect,
            ),
            opts=child,
        )

        # --- provisioning: a private bucket, read-only for Grafana --------------------------
        self.bucket = gcp.storage.Bucket(
            f"{name}-provisioning",
            name=f"{args.project}-grafana",
            project=args.project,
            location=args.region.upper(),
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            # Everything in it is rendered from this repository; still, only disposable stacks
            # let a delete empty it.
            force_destroy=not args.protect,
            labels={"service": "grafana"},
            encryption={"default_kms_key_name": args.encryption.key_id} if args.encryption else None,
            # Protected like every bucket of a protected stack (the policy pack's rule): a deleted
            # bucket takes the running Grafana's dashboards with it until the next `pulumi up`.
            opts=pulumi.ResourceOptions.merge(stateful, args.encryption.after() if args.encryption else None),
        )
        bucket_reader = gcp.storage.BucketIAMMember(
            f"{name}-provisioning-reader",
            bucket=self.bucket.name,
            role=BUCKET_READER_ROLE,
            member=member,
            opts=child,
        )
        files = {
            "provisioning/datasources/managed-prometheus.yaml": (
                datasource_provisioning(args.scrape_interval),
                "application/yaml",
            ),
            "provisioning/dashboards/omni.yaml": (dashboard_provisioning(), "application/yaml"),
        }
        objects = {
            path: self._bucket_object(name, path, text, content_type, child)
            for path, (text, content_type) in files.items()
        }
        database_ca = pulumi.Output.from_input(args.database_ca_cert)
        objects[DATABASE_CA_OBJECT] = gcp.storage.BucketObject(
            f"{name}-database-server-ca",
            bucket=self.bucket.name,
            name=DATABASE_CA_OBJECT,
            content=database_ca,
            content_type="application/x-pem-file",
            metadata={CONTENT_DIGEST_KEY: database_ca.apply(content_digest)},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
        )
        self.dashboard_objects = {
            file_name: self._bucket_object(name, f"dashboards/{file_name}", text, "application/json", child)
            for file_name, text in sorted(args.dashboards.items())
        }

        # --- the service ---------------------------------------------------------------------
        project_number = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        root_url = (
            pulumi.Output.from_input(f"https://{args.host}")
            if args.host
            else project_number.apply(lambda number: service_url(name, number, args.region))
        )
        audience = project_number.apply(lambda number: iap_audience(number, args.region, name))
        spec = ContainerSpec(
            image=image,
            service_account_email=self.account.email,
            network_id=args.network_id,
            subnet_id=args.subnet_id,
            env=grafana_env(settings, root_url, audience, args.database_host),
            secret_env={
                "GF_DATABASE_PASSWORD": vault.secret_ids["db-password"],
                "GF_SECURITY_SECRET_KEY": vault.secret_ids["key"],
            },
        )
        self.service = gcp.cloudrunv2.Service(
            f"{name}-service",
            name=name,
            location=args.region,
            description="Grafana behind IAP (managed by Pulumi)",
            labels={"service": "grafana"},
            # IAP guards every path in, the run.app URL included; behind the edge, the load balancer is the only one.
            ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" if args.host else "INGRESS_TRAFFIC_ALL",
            iap_enabled=True,
            # IAM stays on: only the IAP service agent may invoke the service.
            invoker_iam_disabled=False,
            launch_stage="BETA",  # the direct IAP integration
            deletion_protection=args.protect,
            scaling={"max_instance_count": settings.max_instances},
            template={
                "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",  # GCS volumes need gen2
                "service_account": spec.service_account_email,
                "scaling": {"min_instance_count": settings.min_instances},
                "vpc_access": vpc_access(spec),
                "volumes": [
                    {
                        "name": PROVISIONING_VOLUME,
                        "gcs": {"bucket": self.bucket.name, "read_only": True, "mount_options": list(MOUNT_OPTIONS)},
                    }
                ],
                "containers": [
                    {
                        "name": "grafana",
                        "image": spec.image,
                        "ports": {"container_port": GRAFANA_PORT},
                        "envs": container_env(spec),
                        "depends_ons": [FRONTEND_NAME],
                        "volume_mounts": [{"name": PROVISIONING_VOLUME, "mount_path": MOUNT_DIR}],
                        "resources": serving_resources(
                            instance_limits("grafana", GRAFANA_CPU, settings.memory, [frontend_sidecar(args.project)]),
                            cpu_idle=True,
                        ),
                        # The first start runs Grafana's database migrations: up to 5 minutes.
                        "startup_probe": http_probe(
                            HEALTH_PATH, GRAFANA_PORT, period_seconds=5, timeout_seconds=3, failure_threshold=60
                        ),
                        "liveness_probe": http_probe(
                            HEALTH_PATH, GRAFANA_PORT, period_seconds=30, timeout_seconds=5, failure_threshold=3
                        ),
                    },
                    frontend_container(args.project),
                ],
            },
            opts=pulumi.ResourceOptions.merge(
                child,
                # At start Grafana migrates its database as its user, with its secrets; reads its
                # provisioning from the bucket, which it may read once the grant exists; and the
                # frontend queries Cloud Monitoring with the project grant.
                pulumi.ResourceOptions(
                    depends_on=[
                        database,
                        user,
                        vault,
                        bucket_reader,
                        *project_grants,
                        *objects.values(),
                        *self.dashboard_objects.values(),
                    ]
                ),
            ),
        )

        # --- IAP: its agent invokes the service, the access group passes IAP -----------------
        iap_agent = gcp.projects.ServiceIdentity(
            f"{name}-iap-agent", project=args.project, service="iap.googleapis.com", opts=child
        )
        gcp.cloudrunv2.ServiceIamMember(
            f"{name}-iap-invoker",
            name=self.service.name,
            location=args.region,
            role=INVOKER_ROLE,
            member=iap_agent.member,
            opts=child,
        )
        if settings.access_group is None:
            pulumi.log.warn(
                f"{name}: grafana.accessGroup is not set, so nobody can pass IAP to Grafana; "
                "set it with `pulumi config set --path 'grafana.accessGroup' <group email>`",
                resource=self,
            )
        else:
            gcp.iap.WebCloudRunServiceIamMember(
                f"{name}-iap-access",
                project=args.project,
                location=args.region,
                cloud_run_service_name=self.service.name,
                role=IAP_ACCESS_ROLE,
                member=f"group:{settings.access_group}",
                opts=child,
            )

        self.url = root_url
        self.name = self.service.name
        self.register_outputs({"url": self.url, "name": self.name, "service_account": self.account.email})

    def _bucket_object(
        self, name: str, path: str, text: str, content_type: str, opts: pulumi.ResourceOptions
    ) -> gcp.storage.BucketObject:
        resource_key = re.sub(r"[^a-z0-9]+", "-", path.rsplit(".", 1)[0].lower()).strip("-")
        return gcp.storage.BucketObject(
            f"{name}-{resource_key}",
            bucket=self.bucket.name,
            name=path,
            content=text,
            content_type=content_type,
            # The provider keeps `content` secret, so a review would see no change in it; the
            # digest is plain, and names every file a change touches.
            metadata={CONTENT_DIGEST_KEY: content_digest(text)},
            # A new content is a new object under the same name: delete the old one first, or
            # the delete that follows the create would remove the new file.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
        )
