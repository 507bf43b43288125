"""The omni-infra Pulumi program: read the stack's config, build the components, export.

`pulumi up` runs this file, and so does the offline engine (`omni preview`), for every stack.
"""

import pulumi

from components import cloud_run, database, identity, network, redis, registry, secrets
from components.app_contract import (
    APP_WORKLOADS,
    BEAT_CPU,
    BEAT_MEMORY,
    app_image,
    celery_command,
    migration_command,
    migration_env,
    migration_job_image,
    workload_env,
)
from components.cloud_run import ApiService, ApiServiceArgs, ContainerSpec, Job, JobArgs, WorkerPool, WorkerPoolArgs
from components.database import Database, DatabaseArgs
from components.identity import Identities, IdentitiesArgs
from components.network import Network, NetworkArgs
from components.project_services import ProjectServices, ProjectServicesArgs
from components.provider import google_provider
from components.redis import Redis, RedisArgs
from components.registry import Registry, RegistryArgs
from components.secrets import Secrets, SecretsArgs, SecretSpec
from stackconfig import load_from_runtime

config = load_from_runtime(pulumi.get_stack())
base = config.base_name

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
        ],
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)
# Every component's resources wait for the APIs on a new project.
after_apis = pulumi.ResourceOptions(providers=[provider], depends_on=[apis])

net = Network(
    base,
    NetworkArgs(region=config.region, settings=config.network, protect=config.protect),
    opts=after_apis,
)
accounts = Identities(base, IdentitiesArgs(project=config.project), opts=after_apis)
images = Registry(base, RegistryArgs(region=config.region, project=config.project, protect=config.protect), opts=after_apis)
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
        ),
        opts=after_apis,
    )
    for role in ("cache", "broker")
)
members = accounts.members
app_members = {workload: members[workload] for workload in APP_WORKLOADS}
vault = Secrets(
    base,
    SecretsArgs(
        secrets={
            # Apps log in with IAM database auth; only the migration job uses the admin password.
            "db-admin-password": SecretSpec(value=db.admin_password, accessors={"migrate": members["migrate"]}),
            "redis-cache-auth": SecretSpec(cache.auth_string, accessors=app_members),
            "redis-broker-auth": SecretSpec(broker.auth_string, accessors={**app_members, "beat": members["beat"]}),
            "api-secret-key": SecretSpec(accessors={"api": members["api"]}),
        },
        protect=config.protect,
    ),
    opts=after_apis,
)


def container(workload: str) -> ContainerSpec:
    env = (
        migration_env(config, db, vault.secret_ids)
        if workload == "migrate"
        else workload_env(workload, config, db, cache, broker, vault.secret_ids)
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
after_secrets = pulumi.ResourceOptions(providers=[provider], depends_on=[apis, vault])
api = ApiService(
    f"{base}-api",
    ApiServiceArgs(region=config.region, container=container("api"), settings=config.api, deletion_protection=config.protect),
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
            deletion_protection=config.protect,
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

pulumi.export("project", config.project)
pulumi.export("region", config.region)
pulumi.export("network_id", net.network_id)
pulumi.export("subnet_id", net.subnet_id)
pulumi.export("private_services_range", net.private_services_range.name)
pulumi.export("api_url", api.uri)
pulumi.export("image_base", images.image_base)
pulumi.export("database_connection_name", db.connection_name)
pulumi.export("database_private_ip", db.private_ip)
pulumi.export("redis_cache_host", cache.host)
pulumi.export("redis_broker_host", broker.host)
pulumi.export("service_accounts", accounts.emails)
pulumi.export("migration_job", migrations.name)
