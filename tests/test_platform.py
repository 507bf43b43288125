"""The core platform as each stack declares it: the issue's specification, read off the graph."""

from __future__ import annotations

import json

import pytest

from offline.engine import run_stack
from offline.graph import SECRET, UNKNOWN

from .conftest import STACKS, edit_stack_file, one, resources

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
SERVICE = "gcp:cloudrunv2/service:Service"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
JOB = "gcp:cloudrunv2/job:Job"
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}


def primary(graph):
    return next(r for r in resources(graph, SQL) if "masterInstanceName" not in r["inputs"])


def redis(graph, role):
    return next(r for r in resources(graph, REDIS) if r["inputs"]["labels"]["role"] == role)


# Cloud Run workloads specified elsewhere: Grafana (test_grafana.py), the status page's
# publisher job (test_status_page_component.py), the invoicing jobs (test_usage.py), the alerting
# path (test_alerting_path.py), the developer portal (test_portal.py).
TOOLING = {"grafana", "statuspage", "invoicing", "alerting", "portal"}


def workloads(graph):
    """The API service, the worker pools and the migration job."""
    found = resources(graph, SERVICE) + resources(graph, POOL) + resources(graph, JOB)
    return [r for r in found if r["inputs"]["labels"]["service"] not in TOOLING]


def migration_job(graph):
    (job,) = [r for r in resources(graph, JOB) if r["inputs"]["labels"]["service"] == "migrate"]
    return job


def api_service(graph):
    (service,) = [r for r in resources(graph, SERVICE) if r["inputs"]["labels"]["service"] == "api"]
    return service


def task_template(workload):
    """Where a workload keeps its containers, service account and VPC access."""
    template = workload["inputs"]["template"]
    return template["template"] if workload["type"] == JOB else template


def containers(graph, kinds=(SERVICE, POOL)):
    """(resource name, container) for the API service and every worker pool (by default): the
    workload's own container (its sidecars are specified in test_managed_prometheus.py)."""
    for resource in workloads(graph):
        if resource["type"] in kinds:
            for container in task_template(resource)["containers"]:
                if container["name"] == "app":
                    yield resource["name"], container


def test_prod_database_is_regional_with_pitr_private_ssl_and_protected(graphs):
    instance = primary(graphs["prod"])
    settings = instance["inputs"]["settings"]
    assert settings["availabilityType"] == "REGIONAL"
    backups = settings["backupConfiguration"]
    assert backups["enabled"]
    assert backups["pointInTimeRecoveryEnabled"]
    assert backups["transactionLogRetentionDays"] == 7
    assert backups["backupRetentionSettings"]["retainedBackups"] == 14
    ip = settings["ipConfiguration"]
    assert ip["ipv4Enabled"] is False
    assert ip["sslMode"] == "ENCRYPTED_ONLY"
    assert "authorizedNetworks" not in ip
    assert instance["inputs"]["deletionProtection"] is True
    assert settings["deletionProtectionEnabled"] is True
    assert instance["protect"] is True
    assert settings["insightsConfig"]["queryInsightsEnabled"] is True
    assert settings["maintenanceWindow"]["day"] == 7


def test_prod_has_a_read_replica_of_its_primary_and_dev_has_none(graphs):
    replicas = [r for r in resources(graphs["prod"], SQL) if "masterInstanceName" in r["inputs"]]
    assert len(replicas) == 1
    assert primary(graphs["prod"])["urn"] in replicas[0]["propertyDependencies"]["masterInstanceName"]
    assert len(resources(graphs["dev"], SQL)) == 1


def test_dev_database_is_small_zonal_and_disposable(graphs):
    instance = primary(graphs["dev"])
    settings = instance["inputs"]["settings"]
    assert settings["tier"] == "db-custom-1-3840"
    assert settings["availabilityType"] == "ZONAL"
    assert instance["protect"] is False
    assert instance["inputs"]["deletionProtection"] is False


@pytest.mark.parametrize(("stack", "expected"), [("dev", "100"), ("staging", "400"), ("prod", "500")])
def test_max_connections_is_set_explicitly_from_the_tier(graphs, stack, expected):
    flags = {f["name"]: f["value"] for f in primary(graphs[stack])["inputs"]["settings"]["databaseFlags"]}
    assert flags["max_connections"] == expected
    assert flags["cloudsql.iam_authentication"] == "on"


def test_redis_per_stack(graphs):
    prod_cache, prod_broker = redis(graphs["prod"], "cache")["inputs"], redis(graphs["prod"], "broker")["inputs"]
    assert prod_cache["tier"] == prod_broker["tier"] == "STANDARD_HA"
    assert prod_cache["readReplicasMode"] == "READ_REPLICAS_ENABLED"
    assert prod_cache["replicaCount"] == 1
    assert prod_cache["redisConfigs"] == {"maxmemory-policy": "allkeys-lru"}
    assert prod_broker["redisConfigs"] == {"maxmemory-policy": "noeviction"}
    assert prod_broker["persistenceConfig"]["persistenceMode"] == "RDB"
    for stack in STACKS:
        for role in ("cache", "broker"):
            inputs = redis(graphs[stack], role)["inputs"]
            assert inputs["connectMode"] == "PRIVATE_SERVICE_ACCESS"
            assert inputs["authEnabled"] is True
            assert inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert {redis(graphs["dev"], role)["inputs"]["tier"] for role in ("cache", "broker")} == {"BASIC"}


@pytest.mark.parametrize("stack", STACKS)
def test_no_primitive_role_anywhere(graphs, stack):
    roles = [r["inputs"]["role"] for r in graphs[stack]["resources"] if "role" in r["inputs"]]
    assert roles, "expected IAM grants"
    assert not PRIMITIVE_ROLES & set(roles)
    # Predefined roles, or the deployer's custom roles of this project.
    assert all(role.startswith(("roles/", f"projects/omni-api-{stack}/roles/")) for role in roles)


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_reach_containers_only_through_secret_manager(applied, stack):
    graph = applied[stack]
    secret_ids = {r["inputs"]["secretId"] for r in resources(graph, "gcp:secretmanager/secret:Secret")}
    seen = set()
    for name, container in containers(graph, kinds=(SERVICE, POOL, JOB)):
        for env in container["envs"]:
            if "valueSource" in env:
                ref = env["valueSource"]["secretKeyRef"]
                assert ref["secret"] in secret_ids
                assert ref["version"] == "latest"
                seen.add(env["name"])
            else:
                assert env["value"] not in (SECRET, UNKNOWN), (name, env["name"])
                assert "mock-auth" not in env["value"], (name, env["name"])
                assert "M0ck" not in env["value"], (name, env["name"])
    assert seen == {"OMNI_SECRET_KEY", "REDIS_CACHE_AUTH", "REDIS_BROKER_AUTH", "DATABASE_PASSWORD"}


@pytest.mark.parametrize("stack", STACKS)
def test_each_secret_is_readable_by_exactly_its_workloads(applied, stack):
    graph = applied[stack]
    emails = graph["outputs"]["service_accounts"]
    readers: dict[str, set[str]] = {}
    for grant in resources(graph, "gcp:secretmanager/secretIamMember:SecretIamMember"):
        assert grant["inputs"]["role"] == "roles/secretmanager.secretAccessor"
        secret = grant["inputs"]["secretId"].rsplit("/", 1)[-1]
        readers.setdefault(secret, set()).add(grant["inputs"]["member"].removeprefix("serviceAccount:"))
    base = f"omni-{stack}"
    apps = {emails["api"], emails["worker"]}
    grafana = f"{base}-grafana@omni-api-{stack}.iam.gserviceaccount.com"
    alerting = f"{base}-alerting@omni-api-{stack}.iam.gserviceaccount.com"
    assert readers == {
        f"{base}-api-secret-key": {emails["api"]},
        f"{base}-redis-cache-auth": apps,
        f"{base}-redis-broker-auth": apps | {emails["beat"]},
        f"{base}-db-admin-password": {emails["migrate"]},
        # The collector sidecar's config, mounted by the workloads that run it.
        f"{base}-rungmp-config": apps,
        # The trace collector's config, mounted by every workload that runs the app.
        f"{base}-otel-config": apps | {emails["beat"]},
        f"{base}-grafana-secret-db-password": {grafana},
        f"{base}-grafana-secret-key": {grafana},
        # The alerting path's files, and the routing key its Alertmanager pages with.
        **{f"{base}-alerting-{name}": {alerting} for name in ("rules", "alertmanager", "rungmp")},
        **({f"{base}-pagerduty-routing-key": {alerting}} if stack != "dev" else {}),
        # The Stripe key, read by the invoicing jobs' account alone (test_usage.py).
        f"{base}-stripe-api-key": {f"{base}-invoicing@omni-api-{stack}.iam.gserviceaccount.com"},
    }


@pytest.mark.parametrize("stack", STACKS)
def test_api_and_workers_run_as_their_own_service_accounts(applied, stack):
    graph = applied[stack]
    emails = graph["outputs"]["service_accounts"]
    by_name = {r["name"]: task_template(r)["serviceAccount"] for r in workloads(graph)}
    assert by_name == {
        f"omni-{stack}-api-service": emails["api"],
        f"omni-{stack}-worker-pool": emails["worker"],
        f"omni-{stack}-beat-pool": emails["beat"],
        f"omni-{stack}-migrate-job": emails["migrate"],
    }
    assert len(set(emails.values())) == 4


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_reach_the_database_and_redis_over_the_private_network(applied, stack):
    graph = applied[stack]
    subnet = one(graph, "gcp:compute/subnetwork:Subnetwork")
    database_ip = graph["outputs"]["database_private_ip"]
    for name, container in containers(graph):
        env = {e["name"]: e.get("value") for e in container["envs"]}
        assert env["REDIS_BROKER_HOST"] == graph["outputs"]["redis_broker_host"]
        if name.endswith("-beat-pool"):
            # Beat only schedules: it gets the broker and nothing else.
            assert not {key for key in env if key.startswith(("DATABASE_", "REDIS_CACHE_"))}, name
            continue
        assert env["DATABASE_HOST"] == database_ip
        assert env["REDIS_CACHE_HOST"] == graph["outputs"]["redis_cache_host"]
        assert env["DATABASE_IAM_AUTH"] == "true"
        assert env["DATABASE_USER"].endswith(".iam")
    for workload in resources(graph, SERVICE) + resources(graph, POOL):
        interfaces = workload["inputs"]["template"]["vpcAccess"]["networkInterfaces"]
        assert interfaces[0]["subnetwork"] == subnet["inputs"]["name"] or interfaces[0]["subnetwork"].endswith(
            subnet["inputs"]["name"]
        )


def test_beat_is_a_single_small_instance_and_workers_scale_per_stack(graphs):
    for stack, workers in (("dev", 1), ("staging", 2), ("prod", 4)):
        pools = {r["name"]: r["inputs"] for r in resources(graphs[stack], POOL)}
        beat = pools[f"omni-{stack}-beat-pool"]
        assert beat["scaling"] == {"manualInstanceCount": 1, "scalingMode": "MANUAL"}
        # One vCPU per instance: 750m for beat, 250m for its trace collector.
        assert beat["template"]["containers"][0]["resources"]["limits"] == {"cpu": "750m", "memory": "512Mi"}
        assert pools[f"omni-{stack}-worker-pool"]["scaling"]["manualInstanceCount"] == workers


def test_without_a_release_every_workload_runs_the_placeholder_with_its_own_entrypoint(graphs):
    for name, container in containers(graphs["dev"]):
        assert container["image"] == "us-docker.pkg.dev/cloudrun/container/hello", name
        assert "commands" not in container, name


def test_a_release_runs_celery_from_the_stack_registry(project_copy):
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:release: 2026.11.25-1",
    )
    graph = run_stack(project_copy, "prod").to_json()
    pools = {r["name"]: r["inputs"]["template"]["containers"][0] for r in resources(graph, POOL)}
    image = "europe-west1-docker.pkg.dev/omni-api-prod/omni-prod/omni-api:2026.11.25-1"
    assert pools["omni-prod-worker-pool"]["image"] == pools["omni-prod-beat-pool"]["image"] == image
    assert api_service(graph)["inputs"]["template"]["containers"][0]["image"] == image
    worker = pools["omni-prod-worker-pool"]
    assert worker["commands"] + worker["args"] == [
        "celery",
        "--app",
        "omni.worker",
        "worker",
        "--concurrency",
        "4",
        "--loglevel",
        "INFO",
    ]
    beat = pools["omni-prod-beat-pool"]
    assert beat["commands"] + beat["args"] == ["celery", "--app", "omni.worker", "beat", "--loglevel", "INFO"]
    env = {e["name"]: e.get("value") for e in worker["envs"]}
    assert env["OMNI_RELEASE"] == "2026.11.25-1"


def test_api_scales_and_probes_per_stack(graphs):
    for stack, (low, high) in (("dev", (0, 2)), ("staging", (1, 4)), ("prod", (2, 10))):
        service = api_service(graphs[stack])["inputs"]
        assert service["template"]["scaling"].get("minInstanceCount", 0) == low
        assert (
            service["scaling"]["maxInstanceCount"] == high
            or service["template"]["scaling"].get("maxInstanceCount") == high
        )
        container = service["template"]["containers"][0]
        assert (
            container["startupProbe"]["httpGet"]["path"] == container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_gets_the_stack_labels_from_one_place(graphs, stack):
    provider = one(graphs[stack], "pulumi:providers:gcp")
    labels = json.loads(provider["inputs"]["defaultLabels"])
    assert labels == {
        "app": "omni",
        "environment": stack,
        "managed-by": "pulumi",
        "team": "platform",
        "cost-center": "omni",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_everything_waits_for_the_apis_it_needs(graphs, stack):
    graph = graphs[stack]
    apis = {r["urn"] for r in resources(graph, "gcp:projects/service:Service")}
    enabled = {r["inputs"]["service"] for r in resources(graph, "gcp:projects/service:Service")}
    assert {
        "sqladmin.googleapis.com",
        "redis.googleapis.com",
        "run.googleapis.com",
        "secretmanager.googleapis.com",
        "artifactregistry.googleapis.com",
        "iam.googleapis.com",
        "compute.googleapis.com",
    } <= enabled
    roots = [
        r
        for r in graph["resources"]
        if r["custom"]
        and r["type"].startswith("gcp:")
        and r["type"] != "gcp:projects/service:Service"
        and not any(dep in {x["urn"] for x in graph["resources"] if x["custom"]} - apis for dep in r["dependencies"])
    ]
    for resource in roots:
        assert apis & set(resource["dependencies"]), f"{resource['name']} does not wait for the APIs"


@pytest.mark.parametrize("stack", STACKS)
def test_operator_outputs_are_exported(applied, stack):
    outputs = applied[stack]["outputs"]
    assert outputs["api_url"].startswith("https://")
    assert outputs["database_connection_name"].startswith(f"omni-api-{stack}:europe-west1:")
    assert set(outputs["service_accounts"]) == {"api", "worker", "beat", "migrate"}
    assert outputs["migration_job"] == f"omni-{stack}-migrate"


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_and_data_services_carry_a_service_label(graphs, stack):
    graph = graphs[stack]
    services = {r["name"]: r["inputs"]["labels"]["service"] for r in resources(graph, SERVICE) + resources(graph, POOL)}
    assert services == {
        f"omni-{stack}-api-service": "api",
        f"omni-{stack}-worker-pool": "worker",
        f"omni-{stack}-beat-pool": "beat",
        f"omni-{stack}-grafana-service": "grafana",
        f"omni-{stack}-alerting-pool": "alerting",
        f"omni-{stack}-portal-service": "portal",
    }
    # Cloud SQL is out of reach of the provider's default labels: it carries the stack's own.
    assert primary(graph)["inputs"]["settings"]["userLabels"] == {
        "app": "omni",
        "environment": stack,
        "managed-by": "pulumi",
        "team": "platform",
        "cost-center": "omni",
        "service": "database",
    }
    assert {redis(graph, role)["inputs"]["labels"]["service"] for role in ("cache", "broker")} == {"cache", "broker"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_secret_a_container_references_is_granted_to_its_service_account(applied, stack):
    # Cloud Run refuses to start a revision whose service account cannot read a referenced secret.
    graph = applied[stack]
    grants = {
        (grant["inputs"]["secretId"].rsplit("/", 1)[-1], grant["inputs"]["member"])
        for grant in resources(graph, "gcp:secretmanager/secretIamMember:SecretIamMember")
    }
    for resource in workloads(graph):
        account = task_template(resource)["serviceAccount"]
        for container in task_template(resource)["containers"]:
            for env in container.get("envs", []):
                if "valueSource" in env:
                    secret = env["valueSource"]["secretKeyRef"]["secret"]
                    assert (secret, f"serviceAccount:{account}") in grants, (resource["name"], env["name"])


def test_secrets_are_protected_where_data_is(graphs):
    for stack, protected in (("prod", True), ("staging", True), ("dev", False)):
        for secret in resources(graphs[stack], "gcp:secretmanager/secret:Secret"):
            assert secret["protect"] is protected
            assert secret["inputs"]["deletionProtection"] is protected


def test_the_read_replica_is_rehearsed_in_staging_and_used_by_the_app(applied):
    for stack in ("staging", "prod"):
        graph = applied[stack]
        replica = next(r for r in resources(graph, SQL) if "masterInstanceName" in r["inputs"])
        assert "maintenanceWindow" not in replica["inputs"]["settings"]
        for name, container in containers(graph):
            if name.endswith("-beat-pool"):
                continue
            env = {e["name"]: e.get("value") for e in container["envs"]}
            assert env["DATABASE_READ_HOST"].startswith("10."), name
            assert env["DATABASE_READ_HOST"] != env["DATABASE_HOST"]
            # TLS verified against the instances' own CAs: the primary's and the replica's.
            assert env["DATABASE_IP_TYPE"] == "PRIVATE"
            assert env["DATABASE_SSLMODE"] == "verify-ca"
            assert env["DATABASE_CA_CERTS"].count("-----BEGIN CERTIFICATE-----") == 2


def test_the_migration_job_owns_the_schema_and_grants_the_app_users(applied, project_copy):
    graph = applied["prod"]
    job = migration_job(graph)
    template = task_template(job)
    container = template["containers"][0]
    env = {e["name"]: e.get("value") for e in container["envs"]}
    users = {
        e["name"]: e["value"]
        for c in (api_service(graph),)
        for e in task_template(c)["containers"][0]["envs"]
        if "value" in e
    }
    assert env["DATABASE_USER"] == "omni"
    assert env["DATABASE_IAM_AUTH"] == "false"
    app_users = env["DATABASE_APP_USERS"].split(",")
    assert len(app_users) == 2
    assert users["DATABASE_USER"] in app_users
    assert all(user.endswith(".iam") for user in app_users)
    assert {e["name"]: e["valueSource"]["secretKeyRef"]["secret"] for e in container["envs"] if "valueSource" in e} == {
        "DATABASE_PASSWORD": "omni-prod-db-admin-password"
    }
    assert template["maxRetries"] == 0
    assert template["vpcAccess"]["egress"] == "ALL_TRAFFIC"
    assert container["image"] == "us-docker.pkg.dev/cloudrun/container/job"
    assert "commands" not in container

    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:release: 2026.11.25-1",
    )
    released = task_template(migration_job(run_stack(project_copy, "prod").to_json()))["containers"][0]
    assert released["commands"] + released["args"] == ["python", "-m", "omni.migrate"]
    assert released["image"].endswith("/omni-api:2026.11.25-1")


@pytest.mark.parametrize("stack", STACKS)
def test_each_workload_holds_only_the_project_roles_it_uses(applied, stack):
    graph = applied[stack]
    emails = graph["outputs"]["service_accounts"]
    held: dict[str, set[str]] = {}
    for grant in resources(graph, "gcp:projects/iAMMember:IAMMember"):
        held.setdefault(grant["inputs"]["member"].removeprefix("serviceAccount:"), set()).add(grant["inputs"]["role"])
    telemetry = {"roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"}
    database = {"roles/cloudsql.client", "roles/cloudsql.instanceUser"}
    # The deployer's and previewer's roles are test_audit.py's; Grafana's are test_grafana.py's.
    assert {email: held[email] for email in emails.values()} == {
        emails["api"]: telemetry | database,
        emails["worker"]: telemetry | database,
        emails["beat"]: telemetry,
        emails["migrate"]: telemetry | {"roles/cloudsql.client"},
    }
    users = {r["name"] for r in resources(graph, "gcp:sql/user:User")}
    assert users == {
        f"omni-{stack}-admin",
        f"omni-{stack}-iam-api",
        f"omni-{stack}-iam-worker",
        f"omni-{stack}-grafana-db-user",
    }
