"""The contract between the platform and the Omni application: which environment variables
each workload gets, and which of them come from Secret Manager.

docs/app-contract.md's "What the application reads" section is this module in prose; keep them in step.
Behind the edge, what Cloud Armor cannot do (per-plan limits, unknown keys, the client's IP) is the
application's part: docs/edge.md, "What the application must do".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.database import Database
from components.redis import Redis
from components.registry import Registry
from components.tracing import OTLP_ENDPOINT
from stackconfig import sidecars
from stackconfig.model import StackConfig

# Until CI has pushed an image, the workloads run Google's public sample container, so that the
# first `pulumi up` of a new stack succeeds.
PLACEHOLDER_IMAGE = "us-docker.pkg.dev/cloudrun/container/hello"
PLACEHOLDER_JOB_IMAGE = "us-docker.pkg.dev/cloudrun/container/job"
MIGRATE_COMMAND = ["python", "-m", "omni.migrate"]
APP_WORKLOADS = ("api", "worker")  # the ones that use the database and the cache
APP_IMAGE = "omni-api"
CELERY_APP = "omni.worker"
POSTGRES_PORT = "5432"
METRICS_PORT = 9464
"""Where the API and the workers serve Prometheus `/metrics`: a port of its own, never the API's
ingress port (8080), so that the internet never reads the metrics; only the collector sidecar,
on localhost, does."""
METRICS_PATH = "/metrics"
METRICS_WORKLOADS = sidecars.METRICS_WORKLOADS  # the ones with a collector sidecar
TRACED_WORKLOADS = sidecars.TRACED_WORKLOADS
"""The ones with an OpenTelemetry Collector sidecar: every Cloud Run workload that runs the app.
Beat too: it sends the scheduled tasks, so it starts their traces. Not the migration job, a
one-off run whose outcome is in its logs: it gets `OTEL_SDK_DISABLED=true`."""
# What the app's OpenTelemetry SDK does with its spans: every one to the collector, which alone
# samples (see components/tracing.py). Metrics and logs have their own paths (Prometheus, stdout).
SDK_DISABLED = {"OTEL_SDK_DISABLED": "true"}


@dataclass(frozen=True)
class WorkloadEnv:
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    secret_env: dict[str, pulumi.Input[str]] = field(default_factory=dict)  # name -> Secret Manager secret id


def _release_env(config: StackConfig) -> dict[str, pulumi.Input[str]]:
    return {"OMNI_ENV": config.environment, "OMNI_RELEASE": config.release or "placeholder"}


def tracing_env(workload: str, config: StackConfig) -> dict[str, pulumi.Input[str]]:
    """The OpenTelemetry SDK's standard variables: export every span to the collector on
    localhost, follow the parent's decision (root spans are always recorded: the collector
    samples), propagate W3C trace context, and name the service, environment and release."""
    if workload not in TRACED_WORKLOADS or not config.tracing.enabled:
        return dict(SDK_DISABLED)
    attributes = {
        "service.namespace": "omni",
        "deployment.environment": config.environment,
        "service.version": config.release or "placeholder",
    }
    return {
        "OTEL_SERVICE_NAME": workload,
        "OTEL_RESOURCE_ATTRIBUTES": ",".join(f"{key}={value}" for key, value in attributes.items()),
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_PROPAGATORS": "tracecontext,baggage",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }


# libpq's mode that checks the server's certificate chain against DATABASE_CA_CERTS. Not
# `verify-full`: Cloud SQL's certificate names the instance (`project:instance`), not the private
# IP clients dial, so a host name check fails; the CA is the instance's own (server_ca_mode
# GOOGLE_MANAGED_INTERNAL_CA), so a chain that verifies proves the server is this instance.
DATABASE_SSLMODE = "verify-ca"


def _database_env(database: Database) -> dict[str, pulumi.Input[str]]:
    """Where the database is, and how to know it is the database: TLS verified against the
    instance's own CA. A client that goes through the Cloud SQL connector (CLOUD_SQL_INSTANCE)
    gets a verified channel from the connector instead; without it, write DATABASE_CA_CERTS to a
    file and pass it as libpq's `sslrootcert` with `sslmode=verify-ca`."""
    return {
        "DATABASE_HOST": database.private_ip,
        "DATABASE_PORT": POSTGRES_PORT,
        "DATABASE_NAME": database.database_name,
        "DATABASE_SSLMODE": DATABASE_SSLMODE,
        # The primary's and the replica's CAs: DATABASE_READ_HOST is verified the same way.
        "DATABASE_CA_CERTS": database.server_ca_certs,
    }


def workload_env(
    workload: str,
    config: StackConfig,
    database: Database,
    cache: Redis,
    broker: Redis,
    secret_ids: Mapping[str, pulumi.Input[str]],
    usage_topic: pulumi.Input[str] | None = None,
) -> WorkloadEnv:
    """The environment of `api`, `worker` or `beat`, each given only what it uses.

    Every workload reaches the Celery broker (TLS, AUTH from Secret Manager). The API and the
    workers also reach the database, with IAM database authentication as their own service
    account (no password anywhere), and the cache. Beat only schedules: broker alone.
    """
    env: dict[str, pulumi.Input[str]] = {
        **_release_env(config),
        **tracing_env(workload, config),
        "REDIS_TLS": "true",
        "REDIS_BROKER_HOST": broker.host,
        "REDIS_BROKER_PORT": broker.port.apply(str),
        "REDIS_BROKER_CA_CERTS": broker.server_ca_certs,
        "CELERY_APP": CELERY_APP,
    }
    secret_env: dict[str, pulumi.Input[str]] = {"REDIS_BROKER_AUTH": secret_ids["redis-broker-auth"]}
    if workload in METRICS_WORKLOADS and config.metrics.collector:
        env["METRICS_PORT"] = str(METRICS_PORT)
        # The `service` label on every metric the app exposes: the workload, the same in every
        # stack, which is what the alert rules and dashboards select on.
        env["METRICS_SERVICE_LABEL"] = workload
    if workload in APP_WORKLOADS:
        is_api = workload == "api"
        env.update(
            {
                **_database_env(database),
                "DATABASE_USER": database.iam_users[workload].name,
                "DATABASE_IAM_AUTH": "true",
                "CLOUD_SQL_INSTANCE": database.connection_name,
                # The instance has no public IP.
                "DATABASE_IP_TYPE": "PRIVATE",
                "DB_POOL_SIZE": str(config.api.db_pool_size if is_api else config.workers.db_pool_size),
                "DB_MAX_OVERFLOW": str(config.api.db_max_overflow if is_api else 0),
                "REDIS_CACHE_HOST": cache.host,
                "REDIS_CACHE_PORT": cache.port.apply(str),
                "REDIS_CACHE_CA_CERTS": cache.server_ca_certs,
            }
        )
        if cache.read_endpoint is not None:
            env["REDIS_CACHE_READ_HOST"] = cache.read_endpoint
        if database.replica_private_ip is not None:
            env["DATABASE_READ_HOST"] = database.replica_private_ip
        secret_env["REDIS_CACHE_AUTH"] = secret_ids["redis-cache-auth"]
        if is_api:
            secret_env["OMNI_SECRET_KEY"] = secret_ids["api-secret-key"]
        if usage_topic is not None:
            # Where usage events go (`projects/P/topics/T`); unset where metering is off.
            env["USAGE_TOPIC"] = usage_topic
    return WorkloadEnv(env, secret_env)


# One scheduler process: the smallest Cloud Run instance, 1 vCPU in all, of which beat keeps 750m
# beside its tracing collector; 512Mi for beat's own container.
BEAT_CPU, BEAT_MEMORY = sidecars.BEAT_CPU, sidecars.BEAT_MEMORY


def celery_command(workload: str, config: StackConfig) -> list[str]:
    """The worker pool's command: a Celery worker, or the single beat scheduler. Without a
    release the pools run the placeholder image, which has no Celery: its own entrypoint."""
    if config.release is None:
        return []
    if workload == "beat":
        return ["celery", "--app", CELERY_APP, "beat", "--loglevel", "INFO"]
    return [
        "celery",
        "--app",
        CELERY_APP,
        "worker",
        "--concurrency",
        str(config.workers.concurrency),
        "--loglevel",
        "INFO",
    ]


def app_image(registry: Registry, config: StackConfig) -> pulumi.Input[str]:
    """The image every workload runs: the configured release from the stack's registry."""
    return registry.image(APP_IMAGE, config.release) if config.release else PLACEHOLDER_IMAGE


def migration_env(config: StackConfig, database: Database, secret_ids: Mapping[str, pulumi.Input[str]]) -> WorkloadEnv:
    """The migration job's environment: it logs in as the admin user that owns the schema,
    applies migrations, then grants the application's IAM users what they need (tables,
    sequences, and default privileges for what later migrations create)."""
    app_users = pulumi.Output.all(*(database.iam_users[w].name for w in APP_WORKLOADS)).apply(",".join)
    env: dict[str, pulumi.Input[str]] = {
        **_release_env(config),
        **tracing_env("migrate", config),
        **_database_env(database),
        "DATABASE_USER": database.admin_user,
        "DATABASE_IAM_AUTH": "false",
        "DATABASE_APP_USERS": app_users,
    }
    return WorkloadEnv(env, {"DATABASE_PASSWORD": secret_ids["db-admin-password"]})


def migration_job_image(registry: Registry, config: StackConfig) -> pulumi.Input[str]:
    return registry.image(APP_IMAGE, config.release) if config.release else PLACEHOLDER_JOB_IMAGE


def migration_command(config: StackConfig) -> list[str]:
    return list(MIGRATE_COMMAND) if config.release else []
