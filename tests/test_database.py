"""The Cloud SQL component: a private, encrypted, backed-up PostgreSQL with IAM logins, guarded
against deletion where it matters and cheap where it does not."""

from __future__ import annotations

from typing import Any

import pytest

from components.database import (
    DatabaseArgs,
    backup_start_time,
    database_flags,
    iam_accounts_by_key,
    iam_user_name,
)
from offline.engine import run_stack
from offline.graph import SECRET, UNKNOWN, dumps
from offline.outputs import ComputedOutputs
from stackconfig.platform import DatabaseConfig

from .conftest import PROBE_STACK_FILE as STACK_FILE
from .conftest import one, resources

INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
DATABASE = "gcp:sql/database:Database"
USER = "gcp:sql/user:User"
PASSWORD = "random:index/randomPassword:RandomPassword"
PSA = "gcp:servicenetworking/connection:Connection"
NETWORK = "gcp:compute/network:Network"


# A network stand-in (the VPC and its private services peering) and one Database built from
# the settings under test.
PROGRAM = """
import pulumi
import pulumi_gcp as gcp
from components.database import Database, DatabaseArgs
from stackconfig.platform import DatabaseConfig

vpc = gcp.compute.Network("vpc", auto_create_subnetworks=False)
psa = gcp.servicenetworking.Connection(
    "psa", network=vpc.id, service="servicenetworking.googleapis.com", reserved_peering_ranges=["psa-range"]
)
api = gcp.serviceaccount.Account("api-sa", account_id="omni-api")
db = Database(
    "db",
    DatabaseArgs(
        region="europe-west1",
        network_id=vpc.id,
        private_services_connection=psa,
        settings=DatabaseConfig({settings}),
        protect={protect},
        iam_service_accounts={accounts},
    ),
)
pulumi.export("connection_name", db.connection_name)
pulumi.export("private_ip", db.private_ip)
pulumi.export("database_name", db.database_name)
pulumi.export("admin_user", db.admin_user)
pulumi.export("admin_password", db.admin_password)
pulumi.export("max_connections", db.max_connections)
pulumi.export("iam_users", sorted(db.iam_users))
pulumi.export("has_replica", db.replica is not None)
"""

PROD = ""  # every DatabaseConfig default is the production choice
DEV = 'tier="db-custom-1-3840", availability="ZONAL", disk_size_gb=10, retained_backups=7, log_retention_days=1'
PLUS = 'edition="ENTERPRISE_PLUS", tier="db-perf-optimized-N-2"'


def run(make_project, settings: str = PROD, *, protect: bool = True, accounts: str = "()", preview: bool = True):
    program = PROGRAM.format(settings=settings, protect=protect, accounts=accounts)
    graph = run_stack(make_project(program, STACK_FILE), "test", preview=preview)
    return graph.to_json()


def by_name(graph: dict[str, Any], name: str) -> dict[str, Any]:
    found = [r for r in graph["resources"] if r["name"] == name]
    assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
    return found[0]


def flags(instance: dict[str, Any]) -> dict[str, str]:
    return {flag["name"]: flag["value"] for flag in instance["inputs"]["settings"]["databaseFlags"]}


@pytest.fixture
def prod(make_project) -> dict[str, Any]:
    return run(make_project, PROD)


@pytest.fixture
def dev(make_project) -> dict[str, Any]:
    return run(make_project, DEV, protect=False)


# --- production shape -------------------------------------------------------------------------


def test_prod_database_is_regional_with_pitr_and_retained_backups(prod):
    settings = by_name(prod, "db-pg")["inputs"]["settings"]
    assert prod["resources"]
    assert len(resources(prod, INSTANCE)) == 1
    assert by_name(prod, "db-pg")["inputs"]["databaseVersion"] == "POSTGRES_16"
    assert settings["edition"] == "ENTERPRISE"
    assert settings["tier"] == "db-custom-4-16384"
    assert settings["availabilityType"] == "REGIONAL"
    assert settings["diskType"] == "PD_SSD"
    assert settings["diskAutoresize"] is True
    backups = settings["backupConfiguration"]
    assert backups["enabled"] is True
    assert backups["pointInTimeRecoveryEnabled"] is True
    assert backups["transactionLogRetentionDays"] == 7
    assert backups["backupRetentionSettings"] == {"retainedBackups": 14, "retentionUnit": "COUNT"}
    assert backups["startTime"] == "22:00", "the 4-hour backup window ends an hour before maintenance"
    assert settings["maintenanceWindow"] == {"day": 7, "hour": 3, "updateTrack": "stable"}
    assert settings["insightsConfig"]["queryInsightsEnabled"] is True


def test_database_is_private_only_and_refuses_unencrypted_connections(make_project):
    graph = run(make_project, PROD, preview=False)
    ip = by_name(graph, "db-pg")["inputs"]["settings"]["ipConfiguration"]
    assert ip["ipv4Enabled"] is False, "no public IPv4 address"
    assert ip["privateNetwork"] == "projects/probe-project/global/networks/vpc"
    assert "authorizedNetworks" not in ip
    assert ip["sslMode"] == "ENCRYPTED_ONLY"
    assert graph["outputs"]["private_ip"].startswith("10.")


def test_instance_waits_for_the_private_services_connection(prod):
    instance = by_name(prod, "db-pg")
    assert one(prod, PSA)["urn"] in instance["dependencies"]
    # The network id alone would not order it: the peering is only an explicit dependency.
    assert instance["propertyDependencies"]["settings"] == [one(prod, NETWORK)["urn"]]


def test_protected_database_is_guarded_by_pulumi_the_provider_and_cloud_sql(make_project):
    graph = run(make_project, "read_replica=True")
    for name in ("db-pg", "db-pg-replica"):
        instance = by_name(graph, name)
        assert instance["protect"] is True, name
        assert instance["inputs"]["deletionProtection"] is True, name
        assert instance["inputs"]["settings"]["deletionProtectionEnabled"] is True, name
        assert instance["inputs"]["deletionPolicy"] == "PREVENT", name
    assert by_name(graph, "db-pg")["inputs"]["settings"]["retainBackupsOnDelete"] is True
    for name in ("db-db", "db-admin"):
        assert by_name(graph, name)["protect"] is True, name
        assert by_name(graph, name)["inputs"]["deletionPolicy"] == "PREVENT", name


def test_instance_is_auto_named_so_a_replacement_never_waits_for_a_released_name(prod):
    # Cloud SQL keeps a deleted instance's name for up to a week.
    assert "name" not in by_name(prod, "db-pg")["inputs"]


def test_autoresized_disk_is_never_shrunk_back_to_the_configured_size(prod):
    assert by_name(prod, "db-pg")["ignoreChanges"] == ["settings.diskSize"]


# --- dev --------------------------------------------------------------------------------------


def test_dev_database_is_zonal_small_and_disposable(dev):
    instance = by_name(dev, "db-pg")
    settings = instance["inputs"]["settings"]
    assert settings["tier"] == "db-custom-1-3840"
    assert settings["availabilityType"] == "ZONAL"
    assert settings["diskSize"] == 10
    assert settings["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"] == 7
    assert settings["backupConfiguration"]["transactionLogRetentionDays"] == 1
    assert instance["protect"] is False
    assert instance["inputs"]["deletionProtection"] is False
    assert settings["deletionProtectionEnabled"] is False
    assert settings["retainBackupsOnDelete"] is False
    assert instance["inputs"]["deletionPolicy"] == "DELETE"
    # PostgreSQL will not drop a database or a role that still owns objects: a destroy abandons
    # them to the instance's own deletion instead of failing.
    assert by_name(dev, "db-db")["inputs"]["deletionPolicy"] == "ABANDON"
    assert by_name(dev, "db-admin")["inputs"]["deletionPolicy"] == "ABANDON"
    assert not any(r["protect"] for r in dev["resources"])
    assert resources(dev, INSTANCE) == [instance], "no replica"


# --- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (PROD, 500),  # db-custom-4-16384: 16 GB
        ('tier="db-custom-1-3840", availability="ZONAL"', 100),  # 3.75 GB
        ('tier="db-g1-small", availability="ZONAL"', 50),
        (PLUS, 500),  # db-perf-optimized-N-2: 16 GB
        ("max_connections=300", 300),
    ],
)
def test_max_connections_is_set_explicitly_to_the_tier_default_or_the_override(make_project, settings, expected):
    graph = run(make_project, settings)
    assert flags(by_name(graph, "db-pg"))["max_connections"] == str(expected)
    assert graph["outputs"]["max_connections"] == expected


def test_iam_authentication_and_slow_query_logging_are_on(prod):
    assert flags(by_name(prod, "db-pg")) == {
        "cloudsql.iam_authentication": "on",
        "max_connections": "500",
        "log_min_duration_statement": "1000",
        "log_lock_waits": "on",
        "log_temp_files": "10240",
    }


def test_query_insights_follow_the_settings(make_project):
    insights = by_name(run(make_project, "query_insights=False"), "db-pg")["inputs"]["settings"]["insightsConfig"]
    assert insights["queryInsightsEnabled"] is False


# --- database and users -----------------------------------------------------------------------


def test_application_database_and_admin_user_are_created_on_the_instance(prod):
    instance = by_name(prod, "db-pg")["urn"]
    database = by_name(prod, "db-db")
    assert database["inputs"]["name"] == "omni"
    assert database["inputs"]["charset"] == "UTF8"
    assert database["propertyDependencies"]["instance"] == [instance]
    admin = by_name(prod, "db-admin")
    assert admin["inputs"]["name"] == "omni"
    assert admin["inputs"]["type"] == "BUILT_IN"
    assert admin["propertyDependencies"]["instance"] == [instance]
    assert admin["propertyDependencies"]["password"] == [by_name(prod, "db-admin-password")["urn"]]
    assert prod["outputs"]["admin_user"] == "omni"


def test_admin_password_is_long_url_safe_and_generated(prod):
    password = one(prod, PASSWORD)["inputs"]
    assert password["length"] >= 32
    assert password["special"] is True
    assert set(password["overrideSpecial"]) <= set("-_.~"), "only characters unreserved in URLs"


@pytest.mark.parametrize("preview", [True, False])
def test_admin_password_never_appears_in_the_graph(make_project, preview):
    graph = run(make_project, PROD, preview=preview)
    assert by_name(graph, "db-admin")["inputs"]["password"] == SECRET
    assert graph["outputs"]["admin_password"] == SECRET
    # What the stand-in provider generates in a simulated apply: it must not leak anywhere.
    password = one(graph, PASSWORD)
    _, state = ComputedOutputs("probe-project", "europe-west1", preview=False).for_resource(
        PASSWORD, password["name"], password["urn"], password["inputs"]
    )
    assert len(state["result"]) == password["inputs"]["length"]
    assert state["result"] not in dumps(graph)


def test_each_iam_service_account_becomes_a_cloud_iam_user_named_without_the_domain(make_project):
    accounts = (
        '["omni-workers@probe-project.iam.gserviceaccount.com", "omni-beat@probe-project.iam.gserviceaccount.com"]'
    )
    graph = run(make_project, PROD, accounts=accounts)
    users = {r["name"]: r["inputs"] for r in resources(graph, USER) if r["inputs"]["type"] != "BUILT_IN"}
    assert users == {
        "db-iam-omni-workers": {
            "name": "omni-workers@probe-project.iam",
            "type": "CLOUD_IAM_SERVICE_ACCOUNT",
            "instance": UNKNOWN,
            "deletionPolicy": "DELETE",
        },
        "db-iam-omni-beat": {
            "name": "omni-beat@probe-project.iam",
            "type": "CLOUD_IAM_SERVICE_ACCOUNT",
            "instance": UNKNOWN,
            "deletionPolicy": "DELETE",
        },
    }
    assert graph["outputs"]["iam_users"] == sorted(
        ["omni-workers@probe-project.iam.gserviceaccount.com", "omni-beat@probe-project.iam.gserviceaccount.com"]
    )


def test_an_iam_user_from_a_service_account_resource_waits_for_it(make_project):
    graph = run(make_project, PROD, accounts='{"api": api.email}', preview=False)
    user = by_name(graph, "db-iam-api")
    assert user["inputs"]["name"] == "omni-api@probe-project.iam"
    assert user["inputs"]["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    assert by_name(graph, "api-sa")["urn"] in user["propertyDependencies"]["name"]
    assert graph["outputs"]["iam_users"] == ["api"]


def test_no_iam_users_unless_asked(prod):
    assert [r["inputs"]["type"] for r in resources(prod, USER)] == ["BUILT_IN"]


# --- replica ----------------------------------------------------------------------------------


def test_read_replica_exists_only_when_asked(prod, make_project):
    assert len(resources(prod, INSTANCE)) == 1
    assert prod["outputs"]["has_replica"] is False
    graph = run(make_project, "read_replica=True")
    assert len(resources(graph, INSTANCE)) == 2
    assert graph["outputs"]["has_replica"] is True


def test_read_replica_follows_the_primary_in_the_same_region_privately(make_project):
    graph = run(make_project, "read_replica=True")
    primary, replica = by_name(graph, "db-pg"), by_name(graph, "db-pg-replica")
    assert replica["propertyDependencies"]["masterInstanceName"] == [primary["urn"]]
    assert replica["inputs"]["masterInstanceName"] == UNKNOWN  # the primary's generated name
    assert replica["inputs"]["instanceType"] == "READ_REPLICA_INSTANCE"
    assert replica["inputs"]["region"] == primary["inputs"]["region"] == "europe-west1"
    settings = replica["inputs"]["settings"]
    assert settings["tier"] == primary["inputs"]["settings"]["tier"]
    assert settings["ipConfiguration"]["ipv4Enabled"] is False
    assert settings["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"
    # A hot standby refuses to start with fewer max_connections than its primary.
    assert flags(replica) == flags(primary)
    assert settings["backupConfiguration"]["enabled"] is False
    assert "replicaNames" not in primary["inputs"]


# --- managed connection pooling ---------------------------------------------------------------


def test_managed_pooling_is_configured_only_when_enabled(make_project):
    for settings in (PROD, PLUS):
        assert "connectionPoolConfigs" not in by_name(run(make_project, settings), "db-pg")["inputs"]["settings"]
    pooled = by_name(run(make_project, PLUS + ", managed_pooling=True"), "db-pg")["inputs"]["settings"]
    assert pooled["edition"] == "ENTERPRISE_PLUS"
    assert pooled["connectionPoolConfigs"] == [{"connectionPoolingEnabled": True}]


# --- outputs ----------------------------------------------------------------------------------


def test_outputs_give_the_connection_name_and_database(make_project):
    graph = run(make_project, PROD, preview=False)
    project, region, name = graph["outputs"]["connection_name"].split(":")
    assert (project, region) == ("probe-project", "europe-west1")
    assert name.startswith("db-pg")
    assert graph["outputs"]["database_name"] == "omni"


# --- the rules, directly ----------------------------------------------------------------------


def test_iam_user_name_drops_the_domain_and_refuses_anything_but_a_service_account():
    assert iam_user_name("omni-api@omni-api-prod.iam.gserviceaccount.com") == "omni-api@omni-api-prod.iam"
    with pytest.raises(ValueError, match="not a service account email"):
        iam_user_name("alice@example.com")


def test_iam_accounts_refuse_duplicates_bad_keys_and_a_bare_string():
    email = "omni-api@p.iam.gserviceaccount.com"
    with pytest.raises(ValueError, match="listed twice"):
        iam_accounts_by_key([email, email])
    with pytest.raises(ValueError, match="IAM user key"):
        iam_accounts_by_key({"API": email})
    with pytest.raises(TypeError, match="not one string"):
        iam_accounts_by_key(email)
    with pytest.raises(ValueError, match="not a service account email"):
        iam_accounts_by_key(["bob@example.com"])


@pytest.mark.parametrize(("hour", "start"), [(3, "22:00"), (0, "19:00"), (5, "00:00"), (23, "18:00")])
def test_backup_window_ends_an_hour_before_maintenance(hour, start):
    assert backup_start_time(hour) == start


def test_flags_follow_the_settings_model():
    assert database_flags(DatabaseConfig(max_connections=250))["max_connections"] == "250"
    assert database_flags(DatabaseConfig())["cloudsql.iam_authentication"] == "on"


def test_args_default_to_production():
    args = DatabaseArgs(region="europe-west1", network_id="n", private_services_connection=None)  # type: ignore[arg-type]
    assert args.protect is True
    assert args.settings == DatabaseConfig()
    assert args.settings.availability == "REGIONAL"
    assert args.database_name == "omni"
    assert tuple(args.iam_service_accounts) == ()
