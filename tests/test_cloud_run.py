"""The API service and the Celery worker pools on Cloud Run, as the graph records them."""

from __future__ import annotations

from typing import Any

import pytest

from components.cloud_run import (
    ApiServiceArgs,
    ContainerSpec,
    Sidecar,
    WorkerPoolArgs,
    check_env_names,
    check_workload_name,
    ingress,
    instance_limits,
    millicores,
    resource_limits,
)
from offline.engine import run_stack
from offline.graph import SECRET, UNKNOWN
from offline.outputs import project_number
from offline.stackfile import SECRET_PLACEHOLDER
from stackconfig.cloud_run_sizing import MEMORY_RANGE_MIB, fractional_cpu_memory_ceiling_mib, memory_mib
from stackconfig.platform import ApiConfig

from .conftest import STACKS, one, resources

SERVICE = "gcp:cloudrunv2/service:Service"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
JOB = "gcp:cloudrunv2/job:Job"
INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
API_EMAIL = "omni-test-api@probe-project.iam.gserviceaccount.com"
WORKER_EMAIL = "omni-test-worker@probe-project.iam.gserviceaccount.com"
NETWORK_ID = "projects/probe-project/global/networks/vpc"
SUBNET_ID = "projects/probe-project/regions/europe-west1/subnetworks/subnet"
WORKER_COMMAND = ["celery", "-A", "omni.tasks", "worker", "--concurrency", "4", "--loglevel", "INFO"]
BEAT_COMMAND = ["celery", "-A", "omni.tasks", "beat", "--loglevel", "INFO"]

STACK_FILE = """
config:
  gcp:project: probe-project
  gcp:region: europe-west1
  omni-infra:apiKey:
    secure: v1:c2VjcmV0LWNpcGhlcnRleHQ=
"""

# Stand-ins for the network and the secrets components; the real API settings model.
PROGRAM = """
import pulumi
import pulumi_gcp as gcp
from components.cloud_run import ApiService, ApiServiceArgs, ContainerSpec, Sidecar, WorkerPool, WorkerPoolArgs
from stackconfig.platform import ApiConfig

# Two collectors, as the API and the workers run them (Managed Prometheus waits for the app).
collectors = [
    Sidecar(name="collector", image="collector:1.0.0", cpu="250m"),
    Sidecar(name="tracer", image="tracer:1.0.0", cpu="250m", after_app=False),
]

api_key = pulumi.Config("omni-infra").require_secret("apiKey")
vpc = gcp.compute.Network("vpc", name="vpc", auto_create_subnetworks=False)
subnet = gcp.compute.Subnetwork(
    "subnet", name="subnet", network=vpc.id, ip_cidr_range="10.10.0.0/20", region="europe-west1"
)
secret = gcp.secretmanager.Secret("omni-test-api-key", secret_id="omni-test-api-key", replication={{"auto": {{}}}})
version = gcp.secretmanager.SecretVersion("omni-test-api-key-version", secret=secret.id, secret_data=api_key)

def container(email, **overrides):
    fields = dict(
        image="europe-west1-docker.pkg.dev/probe-project/omni/api:2024-06-01.3",
        service_account_email=email,
        network_id=vpc.id,
        subnet_id=subnet.id,
        env={{"SUBNET_LINK": subnet.self_link, "DB_POOL_SIZE": "20", "DB_HOST": "10.64.0.3"}},
        secret_env={{"PARTNER_API_KEY": secret.id}},
    )
    fields.update(overrides)
    return ContainerSpec(**fields)

api = ApiService(
    "omni-test-api",
    ApiServiceArgs(
        region="europe-west1",
        container=container("{api_email}", {api_container}),
        settings=ApiConfig({settings}){api_args},
    ),
    opts=pulumi.ResourceOptions(depends_on=[version]),
)
worker = WorkerPool(
    "omni-test-worker",
    WorkerPoolArgs(
        region="europe-west1",
        container=container("{worker_email}"),
        service="worker",
        command={worker_command},
        instances=3{worker_args},
    ),
    opts=pulumi.ResourceOptions(depends_on=[version]),
)
beat = WorkerPool(
    "omni-test-beat",
    WorkerPoolArgs(
        region="europe-west1",
        container=container("{worker_email}"),
        service="beat",
        command={beat_command},
        instances=1,
        memory="512Mi",
    ),
)
pulumi.export("uri", api.uri)
pulumi.export("name", api.name)
pulumi.export("pool", worker.name)
"""


def run(
    make_project,
    settings: str = "",
    api_args: str = "",
    api_container: str = "",
    worker_args: str = "",
    preview: bool = True,
) -> dict[str, Any]:
    program = PROGRAM.format(
        api_email=API_EMAIL,
        worker_email=WORKER_EMAIL,
        settings=settings,
        api_args=api_args,
        api_container=api_container,
        worker_args=worker_args,
        worker_command=WORKER_COMMAND,
        beat_command=BEAT_COMMAND,
    )
    return run_stack(make_project(program, STACK_FILE), "test", preview=preview).to_json()


def by_name(graph: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in graph["resources"] if r["name"] == name)


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return resource["inputs"]["template"]["containers"]


def api_container(graph: dict[str, Any]) -> dict[str, Any]:
    (container,) = containers(one(graph, SERVICE))
    return container


def workloads(graph: dict[str, Any]) -> list[dict[str, Any]]:
    return [one(graph, SERVICE), *resources(graph, POOL)]


# --- secrets -----------------------------------------------------------------------------


def test_secrets_reach_every_container_only_as_secret_manager_references(make_project):
    graph = run(make_project, preview=False)
    # The stand-in secret's resource name, as the provider answers it after an apply.
    secret_ref = f"projects/{project_number('probe-project')}/secrets/omni-test-api-key"
    assert len(workloads(graph)) == 3
    for workload in workloads(graph):
        for container in containers(workload):
            envs = {env["name"]: env for env in container["envs"]}
            assert envs["PARTNER_API_KEY"] == {
                "name": "PARTNER_API_KEY",
                "valueSource": {"secretKeyRef": {"secret": secret_ref, "version": "latest"}},
            }, workload["name"]
            for env in container["envs"]:
                value = env.get("value", "")
                assert value != SECRET, env
                assert SECRET_PLACEHOLDER not in value, env
    # The secret itself is in the graph, so the test would see it if it leaked.
    assert by_name(graph, "omni-test-api-key-version")["inputs"]["secretData"] == SECRET
    assert SECRET_PLACEHOLDER not in str([w["inputs"] for w in workloads(graph)])
    assert SECRET not in str([w["inputs"] for w in workloads(graph)])


def test_plain_env_values_are_passed_as_values_sorted_by_name(make_project):
    graph = run(make_project, preview=False)
    envs = api_container(graph)["envs"]
    assert [env["name"] for env in envs] == ["DB_HOST", "DB_POOL_SIZE", "PARTNER_API_KEY", "SUBNET_LINK"]
    assert {"name": "DB_HOST", "value": "10.64.0.3"} in envs
    assert {"name": "SUBNET_LINK", "value": f"https://www.googleapis.com/compute/v1/{SUBNET_ID}"} in envs


def test_an_env_value_from_another_resource_keeps_its_dependency_and_stays_unknown_in_preview(make_project):
    graph = run(make_project)
    service = one(graph, SERVICE)
    envs = {env["name"]: env for env in containers(service)[0]["envs"]}
    assert envs["SUBNET_LINK"]["value"] == UNKNOWN
    assert by_name(graph, "subnet")["urn"] in service["propertyDependencies"]["template"]


@pytest.mark.parametrize(
    ("container", "where"),
    [
        ('env={"LEAKED_KEY": api_key}', "env LEAKED_KEY is a Pulumi secret"),
        ('env={"GREETING": pulumi.Output.concat("key=", api_key)}', "env GREETING is a Pulumi secret"),
        ('secret_env={"PARTNER_API_KEY": api_key}', "secret_env PARTNER_API_KEY is a Pulumi secret"),
    ],
)
def test_a_pulumi_secret_given_as_a_plain_env_value_stops_the_run(make_project, container, where):
    for preview in (True, False):
        with pytest.raises(Exception, match=where):
            run(make_project, api_container=container, preview=preview)


@pytest.mark.parametrize(
    ("env", "secret_env", "problem"),
    [
        ({"API_KEY": "x"}, {"API_KEY": "api-key"}, "both as plain values and as secrets: API_KEY"),
        ({"PORT": "9000"}, {}, "PORT is set by Cloud Run"),
        ({}, {"K_SERVICE": "api-key"}, "K_SERVICE is set by Cloud Run"),
        ({"DB-HOST": "x"}, {}, "not a C identifier"),
        ({}, {"API_KEY": "correct horse battery staple"}, "not a Secret Manager secret id"),
    ],
)
def test_env_names_and_secret_references_are_checked(env, secret_env, problem):
    with pytest.raises(ValueError, match=problem) as refused:
        check_env_names(env, secret_env)
    # What was given as a secret reference may be the secret itself: never echoed.
    assert not any(value in str(refused.value) for value in secret_env.values())
    with pytest.raises(ValueError, match=problem):
        ContainerSpec(
            image="i", service_account_email="e", network_id="n", subnet_id="s", env=env, secret_env=secret_env
        )


def test_secret_references_take_a_short_id_or_a_resource_name():
    check_env_names({}, {"A": "omni-prod-db-password", "B": "projects/other/secrets/shared-key"})


# --- network and identity ----------------------------------------------------------------


def test_every_workload_egresses_through_the_given_subnet(make_project):
    graph = run(make_project, preview=False)
    for workload in workloads(graph):
        vpc_access = workload["inputs"]["template"]["vpcAccess"]
        assert vpc_access == {
            "egress": "ALL_TRAFFIC",
            "networkInterfaces": [{"network": NETWORK_ID, "subnetwork": SUBNET_ID}],
        }, workload["name"]
    preview = run(make_project)
    for workload in workloads(preview):
        assert {by_name(preview, "vpc")["urn"], by_name(preview, "subnet")["urn"]} <= set(
            workload["propertyDependencies"]["template"]
        )


def test_api_and_workers_run_as_their_own_service_accounts(make_project):
    graph = run(make_project)
    assert one(graph, SERVICE)["inputs"]["template"]["serviceAccount"] == API_EMAIL
    assert {pool["inputs"]["template"]["serviceAccount"] for pool in resources(graph, POOL)} == {WORKER_EMAIL}


def test_what_the_component_waits_for_every_child_waits_for(make_project):
    # The secret's version (and, in the program, its accessor grants) before any revision starts.
    graph = run(make_project)
    version = by_name(graph, "omni-test-api-key-version")["urn"]
    assert version in one(graph, SERVICE)["dependencies"]
    assert version in one(graph, INVOKER)["dependencies"]
    assert version in by_name(graph, "omni-test-worker-pool")["dependencies"]
    assert version not in by_name(graph, "omni-test-beat-pool")["dependencies"]


# --- the API service ---------------------------------------------------------------------


def test_api_is_a_gen2_service_on_port_8080_named_after_the_component(make_project):
    graph = run(make_project, preview=False)
    service = one(graph, SERVICE)
    assert service["inputs"]["name"] == "omni-test-api"
    assert service["name"] == "omni-test-api-service"
    assert service["parent"] == one(graph, "omni:run:ApiService")["urn"]
    assert service["inputs"]["location"] == "europe-west1"
    assert service["inputs"]["template"]["executionEnvironment"] == "EXECUTION_ENVIRONMENT_GEN2"
    assert api_container(graph)["ports"] == {"containerPort": 8080}
    assert api_container(graph)["image"] == "europe-west1-docker.pkg.dev/probe-project/omni/api:2024-06-01.3"
    assert graph["outputs"]["name"] == "omni-test-api"
    assert graph["outputs"]["uri"].startswith("https://omni-test-api-")
    assert graph["outputs"]["uri"].endswith(".run.app")


def test_startup_and_liveness_probes_get_the_health_path_on_8080(make_project):
    container = api_container(run(make_project, settings='health_path="/internal/health"'))
    startup, liveness = container["startupProbe"], container["livenessProbe"]
    assert startup["httpGet"] == {"path": "/internal/health", "port": 8080}
    assert liveness["httpGet"] == {"path": "/internal/health", "port": 8080}
    for probe in (startup, liveness):
        assert probe["timeoutSeconds"] < probe["periodSeconds"]
        assert probe["periodSeconds"] <= 240
        assert probe["failureThreshold"] >= 1
    # Direct VPC egress can take a minute or more to connect a new instance.
    assert startup.get("initialDelaySeconds", 0) + startup["periodSeconds"] * startup["failureThreshold"] >= 90
    # A live instance is not restarted on one slow answer.
    assert liveness["failureThreshold"] >= 3


def test_default_health_path_is_healthz(make_project):
    assert api_container(run(make_project))["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_scaling_concurrency_and_size_come_from_the_settings(make_project):
    graph = run(make_project, settings='min_instances=2, max_instances=7, concurrency=40, cpu="2", memory="2Gi"')
    service = one(graph, SERVICE)["inputs"]
    # The maximum caps all revisions together (the connection budget holds during a rollout).
    assert service["scaling"] == {"maxInstanceCount": 7}
    assert service["template"]["scaling"] == {"minInstanceCount": 2}
    assert service["template"]["maxInstanceRequestConcurrency"] == 40
    resources_ = service["template"]["containers"][0]["resources"]
    assert resources_["limits"] == {"cpu": "2", "memory": "2Gi"}
    assert resources_["startupCpuBoost"] is True
    # Request-based CPU: without sidecars, the API does its work inside requests.
    assert resources_["cpuIdle"] is True


def test_default_settings_keep_one_instance_warm(make_project):
    service = one(run(make_project), SERVICE)["inputs"]
    assert service["template"]["scaling"] == {"minInstanceCount": 1}
    assert service["scaling"] == {"maxInstanceCount": 10}
    assert service["template"]["maxInstanceRequestConcurrency"] == 80


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("all", "INGRESS_TRAFFIC_ALL"),
        ("internal", "INGRESS_TRAFFIC_INTERNAL_ONLY"),
        ("internal-and-cloud-load-balancing", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"),
    ],
)
def test_ingress_is_mapped_from_the_settings(make_project, setting, expected):
    assert ingress(setting) == expected
    assert one(run(make_project, settings=f'ingress="{setting}"'), SERVICE)["inputs"]["ingress"] == expected


def test_an_unknown_ingress_is_refused():
    with pytest.raises(ValueError, match="ingress 'everyone'"):
        ingress("everyone")


def test_a_public_api_grants_run_invoker_to_all_users_through_iam(make_project):
    graph = run(make_project, settings="public=True", preview=False)
    invoker = one(graph, INVOKER)
    assert invoker["inputs"] == {
        "name": "omni-test-api",
        "location": "europe-west1",
        "role": "roles/run.invoker",
        "member": "allUsers",
    }
    assert invoker["parent"] == one(graph, "omni:run:ApiService")["urn"]
    assert "invokerIamDisabled" not in one(graph, SERVICE)["inputs"]
    # Granted on this service, after it exists.
    assert one(graph, SERVICE)["urn"] in invoker["propertyDependencies"]["name"]


def test_a_private_api_has_no_invoker_grant(make_project):
    graph = run(make_project, settings="public=False")
    assert resources(graph, INVOKER) == []
    assert "invokerIamDisabled" not in one(graph, SERVICE)["inputs"]


def test_the_api_is_deletion_protected_unless_told_otherwise(make_project):
    assert one(run(make_project), SERVICE)["inputs"]["deletionProtection"] is True
    assert (
        one(run(make_project, api_args=", deletion_protection=False"), SERVICE)["inputs"]["deletionProtection"] is False
    )


# --- the worker pools --------------------------------------------------------------------


def test_worker_pool_runs_exactly_its_instance_count_with_the_celery_command(make_project):
    graph = run(make_project)
    pool = by_name(graph, "omni-test-worker-pool")
    assert pool["parent"] == by_name(graph, "omni-test-worker")["urn"]
    assert pool["inputs"]["name"] == "omni-test-worker"
    assert pool["inputs"]["location"] == "europe-west1"
    assert pool["inputs"]["scaling"] == {"scalingMode": "MANUAL", "manualInstanceCount": 3}
    (container,) = containers(pool)
    assert [*container["commands"], *container["args"]] == WORKER_COMMAND
    assert container["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"}}


def test_celery_beat_is_one_manually_scaled_instance(make_project):
    pool = by_name(run(make_project), "omni-test-beat-pool")
    # Manual scaling: no autoscaler, no minimum or maximum that could start a second beat.
    assert pool["inputs"]["scaling"] == {"scalingMode": "MANUAL", "manualInstanceCount": 1}
    (container,) = containers(pool)
    assert [*container["commands"], *container["args"]] == BEAT_COMMAND
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}


def test_workers_serve_nothing_so_they_have_no_port_and_no_probe(make_project):
    for pool in resources(run(make_project), POOL):
        (container,) = containers(pool)
        assert not {"ports", "startupProbe", "livenessProbe"} & set(container), pool["name"]


def test_worker_pools_are_deletion_protected_unless_told_otherwise(make_project):
    graph = run(make_project, worker_args=", deletion_protection=False")
    assert by_name(graph, "omni-test-worker-pool")["inputs"]["deletionProtection"] is False
    assert by_name(graph, "omni-test-beat-pool")["inputs"]["deletionProtection"] is True


def test_worker_pool_size_is_an_argument(make_project):
    graph = run(make_project, worker_args=', cpu="2", memory="4Gi"')
    (container,) = containers(by_name(graph, "omni-test-worker-pool"))
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}


@pytest.mark.parametrize(
    ("command", "instances", "problem"),
    [(["celery", ""], 1, "no empty elements"), (["celery"], 0, "at least 1")],
)
def test_a_worker_pool_needs_a_sound_command_and_an_instance(command, instances, problem):
    spec = ContainerSpec(image="i", service_account_email="e", network_id="n", subnet_id="s")
    with pytest.raises(ValueError, match=problem):
        WorkerPoolArgs(region="europe-west1", container=spec, service="worker", command=command, instances=instances)


# --- shared checks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "memory", "problem"),
    [
        ("1", "256Mi", "512Mi to 4Gi"),
        ("1", "8Gi", "512Mi to 4Gi"),
        ("4", "1Gi", "2Gi to 16Gi"),
        ("8", "2Gi", "4Gi to 32Gi"),
        ("3", "2Gi", "Cloud Run takes"),
        ("1", "1GB", "not like"),
    ],
)
def test_cpu_and_memory_are_refused_when_cloud_run_would_refuse_them(cpu, memory, problem):
    with pytest.raises(ValueError, match=problem):
        resource_limits(cpu, memory)


def test_a_size_cloud_run_would_refuse_is_refused_in_the_args():
    spec = ContainerSpec(image="i", service_account_email="e", network_id="n", subnet_id="s")
    with pytest.raises(ValueError, match=r"workers.memory 1Gi with workers.cpu 4: Cloud Run takes 2048Mi to 16Gi"):
        WorkerPoolArgs(
            region="europe-west1",
            container=spec,
            service="worker",
            command=["celery"],
            instances=1,
            cpu="4",
            memory="1Gi",
        )
    with pytest.raises(ValueError, match="512Mi to 4Gi"):
        ApiServiceArgs(region="europe-west1", container=spec, settings=ApiConfig(cpu="1", memory="8Gi"))


def test_cpu_and_memory_within_cloud_run_limits_pass():
    assert resource_limits("1", "512Mi") == {"cpu": "1", "memory": "512Mi"}
    assert resource_limits("4", "16Gi") == {"cpu": "4", "memory": "16Gi"}


@pytest.mark.parametrize("name", ["Omni-api", "omni_api", "omni-api-", "9omni", "a" * 50])
def test_cloud_run_names_are_checked(name):
    with pytest.raises(ValueError, match="Cloud Run name"):
        check_workload_name(name)


# --- instances with sidecars: the CPU total, billing and start order ----------------------------


def test_the_app_container_gets_the_instance_total_minus_the_sidecars_shares(make_project):
    graph = run(make_project, api_args=", sidecars=collectors", worker_args=', cpu="2", sidecars=collectors')
    for workload in (one(graph, SERVICE), by_name(graph, "omni-test-worker-pool")):
        limits = {c["name"]: c["resources"]["limits"]["cpu"] for c in containers(workload)}
        assert limits == {"app": "1500m", "collector": "250m", "tracer": "250m"}, workload["name"]
    assert instance_limits("workers", "1", "512Mi", [Sidecar(name="tracer", image="tracer:1.0.0", cpu="250m")]) == {
        "cpu": "750m",
        "memory": "512Mi",
    }
    assert instance_limits("workers", "4", "2Gi", []) == {"cpu": "4", "memory": "2Gi"}


def test_an_api_running_collectors_keeps_its_cpu_between_requests(make_project):
    # With request-based billing the CPU is throttled between requests, when the collectors
    # scrape and export; the whole instance is billed alike, so every container says so.
    service = one(run(make_project, api_args=", sidecars=collectors"), SERVICE)
    assert {c["name"]: c["resources"]["cpuIdle"] for c in containers(service)} == {
        "app": False,
        "collector": False,
        "tracer": False,
    }
    assert containers(one(run(make_project), SERVICE))[0]["resources"]["cpuIdle"] is True


def test_sidecars_wait_for_the_probed_api_and_start_beside_celery(make_project):
    graph = run(make_project, api_args=", sidecars=collectors", worker_args=', cpu="2", sidecars=collectors')
    api = {c["name"]: c for c in containers(one(graph, SERVICE))}
    assert api["collector"]["dependsOns"] == ["app"]
    assert "startupProbe" in api["app"]
    # Cloud Run refuses a dependency on a container without a startup probe, and Celery has none.
    pool = {c["name"]: c for c in containers(by_name(graph, "omni-test-worker-pool"))}
    assert "startupProbe" not in pool["app"]
    assert not any("dependsOns" in container for container in pool.values())


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {
                "cpu": "1",
                "memory": "1Gi",
                "sidecars": [Sidecar(name="a", image="a:1", cpu="250m"), Sidecar(name="b", image="b:1", cpu="500m")],
            },
            "workers.cpu 1 is the instance's total: its sidecars take 750m, leaving the app 250m, below 500m; "
            "set workers.cpu to 2",
        ),
        (
            {"cpu": "1", "memory": "2Gi", "sidecars": [Sidecar(name="a", image="a:1", cpu="250m")]},
            "workers.memory 2Gi: the app keeps 750m of workers.cpu 1 after its sidecars",
        ),
        (
            {
                "cpu": "1",
                "memory": "1Gi",
                "sidecars": [Sidecar(name="a", image="a:1", cpu="250m"), Sidecar(name="b", image="b:1", cpu="500m")],
                "config_section": "beat",
            },
            "beat.cpu 1 is the instance's total",
        ),
    ],
)
def test_an_instance_cloud_run_would_refuse_is_refused_in_the_args_naming_the_keys(args, problem):
    spec = ContainerSpec(image="i", service_account_email="e", network_id="n", subnet_id="s")
    with pytest.raises(ValueError, match=problem):
        WorkerPoolArgs(region="europe-west1", container=spec, service="worker", command=["celery"], instances=1, **args)
    if "config_section" not in args:
        with pytest.raises(ValueError, match=problem.replace("workers", "api")):
            ApiServiceArgs(
                region="europe-west1",
                container=spec,
                settings=ApiConfig(cpu=args["cpu"], memory=args["memory"]),
                sidecars=args["sidecars"],
            )


# --- every workload of every stack -----------------------------------------------------------


def cloud_run_workloads(graph: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(name, containers) of every service, worker pool and job."""
    found = [(w["name"], containers(w)) for w in resources(graph, SERVICE) + resources(graph, POOL)]
    return found + [(job["name"], job["inputs"]["template"]["template"]["containers"]) for job in resources(graph, JOB)]


@pytest.mark.parametrize("stack", STACKS)
def test_every_instance_totals_a_vcpu_count_and_memory_cloud_run_takes(graphs, stack):
    for name, blocks in cloud_run_workloads(graphs[stack]):
        limits = [block["resources"]["limits"] for block in blocks]
        total = sum(millicores(limit["cpu"]) for limit in limits)
        assert total in {int(cpu) * 1000 for cpu in MEMORY_RANGE_MIB}, (name, limits)
        low, high = MEMORY_RANGE_MIB[str(total // 1000)]
        assert low <= sum(memory_mib(limit["memory"]) for limit in limits) <= high, (name, limits)
        for limit in limits:
            ceiling = fractional_cpu_memory_ceiling_mib(millicores(limit["cpu"]))
            assert ceiling is None or memory_mib(limit["memory"]) <= ceiling, (name, limit)
        # The workload's own container keeps at least half a vCPU.
        assert millicores(limits[0]["cpu"]) >= 500, (name, limits)


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_another_waits_for_has_a_startup_probe(graphs, stack):
    for name, blocks in cloud_run_workloads(graphs[stack]):
        probed = {block["name"] for block in blocks if "startupProbe" in block}
        for block in blocks:
            assert set(block.get("dependsOns", [])) <= probed, (name, block["name"])
