"""Memorystore for Redis: the cache and the Celery broker, as the recorded graph shows them."""

from __future__ import annotations

import json
from typing import Any

import pulumi_gcp as gcp
import pytest

from components.redis import check_instance_name, pem_bundle
from offline.engine import run_stack
from offline.graph import SECRET, UNKNOWN, dumps

from .conftest import PROBE_STACK_FILE as STACK_FILE

INSTANCE = "gcp:redis/instance:Instance"
COMPONENT = "omni:redis:Redis"
NETWORK_ID = "projects/probe-project/global/networks/vpc"


# The settings as a stack file writes them (camelCase), through the real config model.
# PROD_LIKE takes the defaults: a 5 GB STANDARD_HA cache with one read replica, a broker without.
PROD_LIKE: dict = {}
# As stacks/Pulumi.dev.yaml writes it.
DEV_LIKE = {"cache": {"tier": "BASIC", "readReplicas": 0}, "broker": {"tier": "BASIC"}}

PROGRAM = """
import pulumi
import pulumi_gcp as gcp

from components.redis import Redis, RedisArgs
from stackconfig.platform import RedisConfig

settings = RedisConfig.model_validate(__SETTINGS__)
api = gcp.projects.Service("redis-api", service="redis.googleapis.com")
network = gcp.compute.Network("vpc", name="vpc", auto_create_subnetworks=False)
peering = gcp.servicenetworking.Connection(
    "psa", network=network.id, service="servicenetworking.googleapis.com", reserved_peering_ranges=["psa-range"]
)
for role in ("cache", "broker"):
    redis = Redis(
        f"omni-test-{role}",
        RedisArgs(
            region="europe-west1",
            network_id=network.id,
            private_services_connection=peering,
            role=role,
            settings=getattr(settings, role),
            protect=__PROTECT__,
        ),
        opts=pulumi.ResourceOptions(depends_on=[api]),
    )
    pulumi.export(f"{role}_host", redis.host)
    pulumi.export(f"{role}_port", redis.port)
    pulumi.export(f"{role}_auth", redis.auth_string)
    pulumi.export(f"{role}_ca", redis.server_ca_certs)
    if redis.read_endpoint is not None:
        pulumi.export(f"{role}_read_endpoint", redis.read_endpoint)
"""


@pytest.fixture
def run(make_project):
    def run_(settings: dict[str, Any], protect: bool = True, preview: bool = True) -> dict[str, Any]:
        program = PROGRAM.replace("__SETTINGS__", json.dumps(settings)).replace("__PROTECT__", str(protect))
        return run_stack(make_project(program, STACK_FILE), "test", preview=preview).to_json()

    return run_


def by_name(graph: dict[str, Any], name: str) -> dict[str, Any]:
    found = [r for r in graph["resources"] if r["name"] == name]
    assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
    return found[0]


def instance(graph: dict[str, Any], role: str) -> dict[str, Any]:
    return by_name(graph, f"omni-test-{role}-redis")


@pytest.mark.parametrize("settings", [PROD_LIKE, DEV_LIKE], ids=["standard-ha", "basic"])
def test_the_cache_evicts_least_recently_used_keys_and_keeps_no_snapshots(run, settings):
    cache = instance(run(settings), "cache")["inputs"]
    assert cache["redisConfigs"] == {"maxmemory-policy": "allkeys-lru"}
    assert cache["persistenceConfig"] == {"persistenceMode": "DISABLED"}


@pytest.mark.parametrize("settings", [PROD_LIKE, DEV_LIKE], ids=["standard-ha", "basic"])
def test_the_broker_never_evicts_and_snapshots_every_hour(run, settings):
    broker = instance(run(settings), "broker")["inputs"]
    assert broker["redisConfigs"] == {"maxmemory-policy": "noeviction"}
    assert broker["persistenceConfig"] == {"persistenceMode": "RDB", "rdbSnapshotPeriod": "ONE_HOUR"}


@pytest.mark.parametrize("role", ["cache", "broker"])
def test_both_are_reachable_only_through_private_services_access_with_auth_and_tls(run, role):
    graph = run(PROD_LIKE)
    redis = instance(graph, role)
    inputs = redis["inputs"]
    assert inputs["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    assert inputs["authorizedNetwork"] == UNKNOWN  # the VPC's id, known after it exists
    assert redis["propertyDependencies"]["authorizedNetwork"] == [by_name(graph, "vpc")["urn"]]
    assert inputs["authEnabled"] is True
    assert inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert not {"reservedIpRange", "customerManagedKey"} & set(inputs)

    applied = run(PROD_LIKE, preview=False)
    assert instance(applied, role)["inputs"]["authorizedNetwork"] == NETWORK_ID
    assert applied["outputs"][f"{role}_port"] == 6378, "clients must use the TLS port"


def test_settings_reach_the_instance(run):
    settings = {
        "cache": {"memorySizeGb": 8, "readReplicas": 2, "version": "REDIS_7_0"},
        "broker": {"memorySizeGb": 3, "version": "REDIS_6_X"},
    }
    graph = run(settings)
    cache, broker = instance(graph, "cache")["inputs"], instance(graph, "broker")["inputs"]
    assert (cache["tier"], cache["memorySizeGb"], cache["redisVersion"]) == ("STANDARD_HA", 8, "REDIS_7_0")
    assert (broker["tier"], broker["memorySizeGb"], broker["redisVersion"]) == ("STANDARD_HA", 3, "REDIS_6_X")
    assert cache["replicaCount"] == 2
    assert cache["region"] == broker["region"] == "europe-west1"
    assert (cache["name"], broker["name"]) == ("omni-test-cache-redis", "omni-test-broker-redis")


def test_standard_ha_with_a_read_replica_gets_read_replicas_and_a_read_endpoint(run):
    graph = run(PROD_LIKE)
    cache = instance(graph, "cache")["inputs"]
    assert cache["tier"] == "STANDARD_HA"
    assert cache["readReplicasMode"] == "READ_REPLICAS_ENABLED"
    assert cache["replicaCount"] == 1
    # The broker's default is STANDARD_HA without read replicas: a queue has no use for them.
    broker = instance(graph, "broker")["inputs"]
    assert broker["tier"] == "STANDARD_HA"
    assert "readReplicasMode" not in broker
    assert "replicaCount" not in broker

    outputs = run(PROD_LIKE, preview=False)["outputs"]
    assert outputs["cache_read_endpoint"].startswith("10.")
    assert "broker_read_endpoint" not in outputs


def test_basic_gets_no_replicas_and_no_read_endpoint(run):
    graph = run(DEV_LIKE)
    for role in ("cache", "broker"):
        inputs = instance(graph, role)["inputs"]
        assert inputs["tier"] == "BASIC"
        assert "readReplicasMode" not in inputs
        assert "replicaCount" not in inputs
    outputs = run(DEV_LIKE, preview=False)["outputs"]
    assert not [key for key in outputs if key.endswith("_read_endpoint")]


@pytest.mark.parametrize("role", ["cache", "broker"])
def test_the_instance_waits_for_the_peering_and_for_the_api(run, role):
    graph = run(PROD_LIKE)
    dependencies = instance(graph, role)["dependencies"]
    # Nothing in the inputs refers to the peering: only an explicit depends_on orders them.
    assert by_name(graph, "psa")["urn"] in dependencies
    # The component was told to wait for the Redis API; its instance must wait too.
    assert by_name(graph, "redis-api")["urn"] in dependencies


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "apply"])
def test_the_auth_string_reaches_outputs_only_as_a_secret(run, preview):
    graph = run(PROD_LIKE, preview=preview)
    assert graph["outputs"]["cache_auth"] == SECRET
    assert graph["outputs"]["broker_auth"] == SECRET
    assert "mock-auth-" not in dumps(graph)


def test_the_server_ca_is_a_visible_pem_bundle_of_every_ca(run):
    # A CA certificate is public: reviews should see it change on a CA rotation.
    outputs = run(PROD_LIKE)["outputs"]
    assert outputs["cache_ca"] == UNKNOWN
    assert outputs["broker_ca"] == UNKNOWN
    certs = [
        gcp.redis.outputs.InstanceServerCaCert(cert="-----BEGIN CERTIFICATE-----\nold\n-----END CERTIFICATE-----\n"),
        gcp.redis.outputs.InstanceServerCaCert(cert="-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----"),
        gcp.redis.outputs.InstanceServerCaCert(cert=None),
    ]
    bundle = pem_bundle(certs)
    assert bundle.count("-----BEGIN CERTIFICATE-----") == 2
    assert bundle.endswith("-----END CERTIFICATE-----\n")
    assert "\n\n" not in bundle
    assert pem_bundle(None) == ""


def test_each_has_a_weekly_off_peak_maintenance_window_apart_from_the_other(run):
    graph = run(PROD_LIKE)
    windows = {}
    for role in ("cache", "broker"):
        (window,) = instance(graph, role)["inputs"]["maintenancePolicy"]["weeklyMaintenanceWindows"]
        assert window["day"] in {"SATURDAY", "SUNDAY"}
        assert 0 <= window["startTime"]["hours"] <= 5, "off-peak: the small hours, UTC"
        windows[role] = (window["day"], window["startTime"]["hours"])
    assert windows["cache"] != windows["broker"], "cache and broker must not fail over in the same hour"


def test_protected_instances_are_guarded_three_times(run):
    graph = run(PROD_LIKE, protect=True)
    for role in ("cache", "broker"):
        redis = instance(graph, role)
        assert redis["protect"] is True
        assert redis["inputs"]["deletionProtection"] is True
        assert redis["inputs"]["deletionPolicy"] == "PREVENT"


def test_disposable_instances_can_be_destroyed(run):
    # deletionProtection unset counts as on for the provider: dev must say false explicitly.
    graph = run(DEV_LIKE, protect=False)
    for role in ("cache", "broker"):
        redis = instance(graph, role)
        assert redis["protect"] is False
        assert redis["inputs"]["deletionProtection"] is False
        assert redis["inputs"]["deletionPolicy"] == "DELETE"


def test_the_instance_is_a_child_of_its_component(run):
    graph = run(PROD_LIKE)
    components = {r["name"]: r for r in graph["resources"] if r["type"] == COMPONENT}
    assert set(components) == {"omni-test-cache", "omni-test-broker"}
    for role in ("cache", "broker"):
        redis = instance(graph, role)
        assert redis["type"] == INSTANCE
        assert redis["parent"] == components[f"omni-test-{role}"]["urn"]
        assert redis["inputs"]["labels"] == {"role": role, "service": role}


# Settings Memorystore refuses, or that would silently not do what they say.


def test_an_instance_name_memorystore_refuses_is_caught():
    with pytest.raises(ValueError, match="shorten namePrefix"):
        check_instance_name("omni-" + "x" * 40 + "-redis")
    check_instance_name("omni-staging-broker-redis")
