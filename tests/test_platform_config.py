"""The core platform's settings: each bad combination stops before any resource is declared,
with the numbers and the keys to change."""

from __future__ import annotations

import json
import re

import pytest

from stackconfig import StackConfig, StackConfigError, load_stack_config
from stackconfig.cloud_run_sizing import check_cpu_memory
from stackconfig.connections import connection_budget, default_max_connections
from stackconfig.platform import ApiConfig, WorkersConfig

BASE = {"gcp:project": "omni-api-prod", "omni-infra:environment": "prod"}


def load(**sections: object) -> StackConfig:
    # As Pulumi passes them: text as written, everything else as JSON.
    values = {
        **BASE,
        **{f"omni-infra:{key}": v if isinstance(v, str) else json.dumps(v) for key, v in sections.items()},
    }
    return load_stack_config("prod", values, set())


def problem(**sections: object) -> str:
    with pytest.raises(StackConfigError) as caught:
        load(**sections)
    return str(caught.value)


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("db-f1-micro", 25),
        ("db-g1-small", 50),
        ("db-custom-1-3840", 100),
        ("db-custom-2-7680", 400),
        ("db-custom-4-16384", 500),
        ("db-custom-16-65536", 800),
        ("db-perf-optimized-N-8", 800),
    ],
)
def test_max_connections_follow_the_tier_memory(tier, expected):
    assert default_max_connections(tier) == expected


def test_the_default_stack_fits_its_budget():
    config = load()
    budget = connection_budget(config.api, config.workers, config.database)
    assert budget.fits
    assert budget.needed == 10 * 30 + 2 * 4 * 2 + 10
    assert budget.max_connections == 500


def test_a_tier_that_cannot_hold_the_budget_names_the_numbers_and_keys():
    message = problem(database={"tier": "db-custom-2-7680"}, api={"maxInstances": 20})
    assert "the connection budget does not fit" in message
    assert "API 20 instances x (pool 20 + overflow 10) = 600" in message
    assert "total 626 against max_connections 400" in message
    for key in ("api.maxInstances", "api.dbPoolSize", "workers.instances", "database.tier", "database.maxConnections"):
        assert key in message


def test_an_explicit_max_connections_counts_in_the_budget():
    assert "against max_connections 300" in problem(database={"maxConnections": 300})
    assert load(database={"maxConnections": 1000}).database.max_connections == 1000


@pytest.mark.parametrize(
    ("sections", "key", "words"),
    [
        ({"release": "latest"}, "omni-infra:release", "`latest` moves between images"),
        ({"release": "v1 final"}, "omni-infra:release", "should match pattern"),
        ({"api": {"dbPoolSize": 0}}, "omni-infra:api.dbPoolSize", "greater than or equal to 1"),
        (
            {"api": {"minInstances": 5, "maxInstances": 3}},
            "omni-infra:api.minInstances, omni-infra:api.maxInstances",
            "minInstances 5 is above maxInstances 3",
        ),
        ({"api": {"cpu": "3"}}, "omni-infra:api.cpu", "'1', '2', '4', '6' or '8'"),
        ({"api": {"memory": "1GB"}}, "omni-infra:api.memory", "should match pattern"),
        (
            {"api": {"cpu": "4", "memory": "1Gi"}},
            "omni-infra:api.cpu, omni-infra:api.memory, omni-infra:metrics.collector, "
            "omni-infra:tracing.enabled, omni-infra:tracing.collectorMemory",
            "api.memory 1Gi plus its sidecars' 512Mi with api.cpu 4: Cloud Run takes 2048Mi to 16Gi",
        ),
        (
            {"workers": {"memory": "16Gi"}},
            "omni-infra:workers.cpu, omni-infra:workers.memory, omni-infra:metrics.collector, "
            "omni-infra:tracing.enabled, omni-infra:tracing.collectorMemory",
            "workers.memory 16Gi plus its sidecars' 512Mi with workers.cpu 2",
        ),
        ({"workers": {"instances": 0}}, "omni-infra:workers.instances", "greater than or equal to 1"),
        (
            {"database": {"tier": "db-g1-small"}},
            "omni-infra:database.tier, omni-infra:database.availability",
            "high availability (availability REGIONAL) is not offered on shared-core tier",
        ),
        (
            {"database": {"tier": "db-perf-optimized-N-4"}},
            "omni-infra:database.tier, omni-infra:database.edition",
            "is not a ENTERPRISE tier",
        ),
        (
            {"database": {"managedPooling": True}},
            "omni-infra:database.managedPooling, omni-infra:database.edition",
            "managed connection pooling needs database.edition ENTERPRISE_PLUS",
        ),
        (
            {"database": {"logRetentionDays": 14}},
            "omni-infra:database.logRetentionDays, omni-infra:database.edition",
            "ENTERPRISE keeps at most 7 days",
        ),
        (
            {"database": {"retainedBackups": 7}},
            "omni-infra:database.retainedBackups, omni-infra:database.logRetentionDays",
            "database.retainedBackups 7 must be greater than database.logRetentionDays 7",
        ),
        ({"database": {"version": "POSTGRES_9_6"}}, "omni-infra:database.version", "POSTGRES_16"),
        (
            {"redis": {"cache": {"tier": "BASIC"}}},
            "omni-infra:redis.cache.readReplicas, omni-infra:redis.cache.tier",
            "read replicas need tier STANDARD_HA",
        ),
        (
            {"redis": {"cache": {"memorySizeGb": 1}}},
            "omni-infra:redis.cache.readReplicas, omni-infra:redis.cache.memorySizeGb",
            "read replicas only on instances of 5 GB or more",
        ),
        ({"redis": {"broker": {"readReplicas": 1}}}, "omni-infra:redis.broker.readReplicas", "unknown key"),
        (
            {"redis": {"broker": {"memorySizeGb": 0}}},
            "omni-infra:redis.broker.memorySizeGb",
            "greater than or equal to 1",
        ),
    ],
)
def test_bad_platform_values_name_the_key_and_the_fix(sections, key, words):
    message = problem(**sections)
    assert f"  {key}: found " in message, message
    assert words in message, message


def test_an_unknown_region_is_refused():
    with pytest.raises(StackConfigError, match="gcp:region: found 'mars-central1x'"):
        load_stack_config("prod", {**BASE, "gcp:region": "mars-central1x"}, set())
    with pytest.raises(StackConfigError, match="unknown region 'europe-west99'; regions with Cloud Run"):
        load_stack_config("prod", {**BASE, "gcp:region": "europe-west99"}, set())


def test_enterprise_plus_with_managed_pooling_is_accepted():
    config = load(
        database={
            "edition": "ENTERPRISE_PLUS",
            "tier": "db-perf-optimized-N-4",
            "managedPooling": True,
            "logRetentionDays": 14,
            "retainedBackups": 30,
        }
    )
    assert config.database.managed_pooling


def test_labels_come_from_one_place():
    config = load(team="payments", costCenter="cc-42")
    assert config.common_labels == {
        "app": "omni",
        "environment": "prod",
        "managed-by": "pulumi",
        "team": "payments",
        "cost-center": "cc-42",
    }


@pytest.mark.parametrize(("stack", "needed", "limit"), [("dev", 74, 100), ("staging", 146, 400), ("prod", 342, 500)])
def test_each_stack_fits_its_connection_budget_as_the_readme_says(stack, needed, limit):
    from pathlib import Path

    from offline.stackfile import read_stack_file

    values, secret_keys = read_stack_file(Path(__file__).resolve().parent.parent / "stacks" / f"Pulumi.{stack}.yaml")
    config = load_stack_config(stack, values, secret_keys)
    budget = connection_budget(config.api, config.workers, config.database)
    assert (budget.needed, budget.max_connections) == (needed, limit)


# --- an instance's vCPUs: the total of its containers, sidecars included -----------------------

TWO_COLLECTORS = [(250, 256), (250, 256)]  # Managed Prometheus and OpenTelemetry, as the API runs them


@pytest.mark.parametrize(
    ("cpu", "memory", "sidecars", "app_millicores"),
    [
        ("2", "1Gi", TWO_COLLECTORS, 1500),
        ("1", "1Gi", TWO_COLLECTORS, 500),
        ("1", "512Mi", [(250, 256)], 750),
        ("1", "4Gi", [], 1000),
        ("4", "8Gi", [(250, 256), (500, 1024)], 3250),
    ],
)
def test_the_app_gets_the_instance_total_minus_its_sidecars_shares(cpu, memory, sidecars, app_millicores):
    assert check_cpu_memory("api", cpu, memory, sidecars) == app_millicores


@pytest.mark.parametrize(
    ("cpu", "memory", "sidecars", "words"),
    [
        # Cloud Run takes whole vCPUs per instance, whatever its containers' fractions add up to.
        ("3", "1Gi", TWO_COLLECTORS, "api.cpu '3': an instance takes 1, 2, 4, 6, 8 vCPUs in all, sidecars included"),
        ("1.75", "1Gi", [], "set api.cpu to one of them"),
        # The app keeps at least half a vCPU; the fix names the next total that leaves it that.
        (
            "1",
            "1Gi",
            [(250, 256), (500, 1024)],
            "api.cpu 1 is the instance's total: its sidecars take 750m, leaving the app 250m, below 500m; set "
            "api.cpu to 2",
        ),
        # The instance's memory is the app's plus the sidecars'.
        (
            "1",
            "4Gi",
            TWO_COLLECTORS,
            "api.memory 4Gi plus its sidecars' 512Mi with api.cpu 1: Cloud Run takes 512Mi to 4Gi",
        ),
        (
            "4",
            "1Gi",
            TWO_COLLECTORS,
            "api.memory 1Gi plus its sidecars' 512Mi with api.cpu 4: Cloud Run takes 2048Mi to 16Gi",
        ),
        # A container below one vCPU gets at most 1Gi, below half a vCPU at most 512Mi.
        (
            "1",
            "2Gi",
            TWO_COLLECTORS,
            "the app keeps 500m of api.cpu 1 after its sidecars, and Cloud Run gives a container below 1 vCPU at "
            "most 1024Mi; lower api.memory or raise api.cpu",
        ),
    ],
)
def test_an_instance_cloud_run_would_refuse_names_the_keys_and_the_fix(cpu, memory, sidecars, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        check_cpu_memory("api", cpu, memory, sidecars)


def test_the_default_totals_leave_the_app_more_than_the_one_vcpu_it_was_sized_with():
    for section, settings in (("api", ApiConfig()), ("workers", WorkersConfig())):
        assert settings.cpu == "2"
        assert check_cpu_memory(section, settings.cpu, settings.memory, TWO_COLLECTORS) == 1500
