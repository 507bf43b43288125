"""Google Cloud's naming and size rules (stackconfig/gcp_rules.py), case by case from Google's
documentation, and the same rules applied to the recorded graph (offline/name_checks.py)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from offline.name_checks import check_names
from stackconfig import gcp_rules
from stackconfig.sidecars import sidecar_shares

runner = CliRunner()


@pytest.mark.parametrize(
    "name", ["omni-api-prod-status", "abc", "a_b-c", "a" * 63, "my.bucket.example", "x" * 63 + ".example"]
)
def test_bucket_names_google_accepts(name):
    assert gcp_rules.bucket_name(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ab", "3 to 63 characters"),
        ("a" * 64, "3 to 63 characters"),
        ("goog-status", "cannot start with `goog`"),
        ("my-google-status", "cannot contain `google`"),
        ("status-go0gle", "close misspelling"),
        ("10.0.0.1", "IP address"),
        ("-status", "starts and ends with a letter or digit"),
        ("Status", "lowercase letters"),
        ("a..b", "each dot-separated part"),
    ],
)
def test_bucket_names_google_refuses(name, reason):
    assert reason in (gcp_rules.bucket_name(name) or "")


@pytest.mark.parametrize(
    ("tier", "reason"),
    [
        ("db-custom-1-3840", None),
        ("db-custom-2-7680", None),
        ("db-custom-4-16384", None),
        ("db-custom-96-638976", None),  # 6.5 GB per vCPU exactly
        ("db-custom-2-13312", None),
        ("db-g1-small", None),
        ("db-perf-optimized-N-8", None),
        ("db-custom-3-16384", "1 vCPU or an even number"),
        ("db-custom-1-3000", "multiple of 256 MB"),
        ("db-custom-2-999936", "0.9 to 6.5 GB per vCPU"),
        ("db-custom-2-13568", "0.9 to 6.5 GB per vCPU"),  # 6.625 GB per vCPU
        ("db-custom-16-14336", "0.9 to 6.5 GB per vCPU"),  # 0.875 GB per vCPU
        ("db-custom-2-3584", "3840 MB"),
        ("db-perf-optimized-N-6", "Enterprise Plus N2 machines"),
        ("db-n1-standard-2", "not a Cloud SQL for PostgreSQL machine type"),
    ],
)
def test_cloud_sql_custom_machine_types(tier, reason):
    problem = gcp_rules.cloud_sql_tier(tier)
    assert (problem is None) if reason is None else (reason in (problem or ""))


@pytest.mark.parametrize(
    ("schedule", "accepted"),
    [
        ("* * * * *", True),
        ("*/5 * * * *", True),
        ("0 9 * * MON-FRI", True),
        ("30 2 1,15 JAN,JUL *", True),
        ("0 0 * * 7", True),
        ("0 0-23/2 * * *", True),
        ("99 25 * * *", False),
        ("*/0 * * * *", False),
        ("0 0 L * *", False),
        ("0 0 * * 1#2", False),
        ("0 0 ? * *", False),
        ("0 0 15W * *", False),
        ("0 0 1 jan *", False),
        ("0 0 * * FUN", False),
        ("0 * * * * *", False),
        ("@hourly", False),
    ],
)
def test_cron_schedules_as_cloud_scheduler_reads_them(schedule, accepted):
    assert (gcp_rules.cron_schedule(schedule) is None) is accepted


def test_labels_count_and_syntax():
    assert gcp_rules.labels({f"k{i}": "v" for i in range(64)}) is None
    assert "65 labels" in (gcp_rules.labels({f"k{i}": "v" for i in range(65)}) or "")
    assert gcp_rules.labels({"équipe": "données", "team": "", "a-b_c": "0-9"}) is None  # international lowercase
    for bad in (
        {"Team": "x"},
        {"1team": "x"},
        {"-team": "x"},
        {"team": "Core"},
        {"team": "a b"},
        {"k" * 64: "v"},
        {"k": "v" * 64},
    ):
        assert gcp_rules.labels(bad) is not None, bad


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (
            gcp_rules.service_account_id,
            "omni-prod-status-pub",
            ["omni-staging-status-publisher12", "short", "9omni-api", "omni-api-"],
        ),
        (gcp_rules.project_id, "omni-api-prod", ["omni", "omni-google-api", "Omni-api", "omni-api-"]),
        (gcp_rules.cloud_run_service_name, "omni-prod-api", ["a" * 50, "omni_api", "1api"]),
        (gcp_rules.redis_instance_id, "omni-prod-cache-redis", ["a" * 41, "Omni", "omni-"]),
        (gcp_rules.secret_id, "omni-prod-api-secret-key", ["a" * 256, "omni.secret"]),
        (gcp_rules.workload_identity_id, "omni-prod-github", ["gcp-github", "abc", "a" * 33]),
        (gcp_rules.repository_id, "omni-prod-grafana-dockerhub", ["Omni", "a" * 64, "omni-"]),
        (gcp_rules.pubsub_name, "omni-prod-usage.events", ["ab", "goog-usage", "1usage", "usage events", "u" * 256]),
        (gcp_rules.bigquery_dataset_id, "omni_prod_metering", ["omni-prod", "omni.prod", ""]),
        (gcp_rules.kms_id, "omni-prod-keys", ["k" * 64, "omni.keys", ""]),
        (gcp_rules.custom_role_id, "omniDeployer.limited", ["ab", "omni-deployer", "r" * 65]),
    ],
)
def test_identifier_rules(rule, good, bad):
    assert rule(good) is None
    for value in bad:
        assert rule(value) is not None, value


# --- the same rules on the graph: component code cannot produce what Google refuses -----------------


def test_the_committed_stacks_break_no_naming_rule(graphs):
    for stack, graph in graphs.items():
        assert check_names(graph) == [], stack


def test_the_longest_name_prefix_builds_names_google_accepts(project_copy):
    """The config bounds (namePrefix 12 characters, the longest environment) leave every name the
    components derive within Google's limits."""
    from offline.engine import run_stack

    from .conftest import edit_stack_file

    edit_stack_file(
        project_copy,
        "staging",
        "omni-infra:environment: staging",
        "omni-infra:environment: staging\n  omni-infra:namePrefix: omniplatfor",
    )
    graph = run_stack(project_copy, "staging").to_json()
    assert check_names(graph) == []
    assert any(r["name"].startswith("omniplatfor-staging") for r in graph["resources"])


BAD_NAMES_PROGRAM = """
import pulumi, pulumi_gcp as gcp
provider = gcp.Provider("p", project="probe-project", region="europe-west1",
                        default_labels={"app": "probe", **{f"extra{i}": "x" for i in range(63)}})
opts = pulumi.ResourceOptions(provider=provider)
gcp.storage.Bucket("site", name="goog-site", location="EU", labels={"service": "site"}, opts=opts)
gcp.serviceaccount.Account("sa", account_id="sa", opts=opts)
gcp.cloudscheduler.Job("tick", name="tick", schedule="*/0 * * * *", region="europe-west1", opts=opts)
gcp.sql.DatabaseInstance("db", database_version="POSTGRES_16", region="europe-west1",
                         settings={"tier": "db-custom-3-16384"}, opts=opts)
gcp.compute.Network("net", name="Net_1", opts=opts)
"""


def test_preview_refuses_names_a_component_builds_naming_resource_field_value_and_rule(make_project):
    project = make_project(BAD_NAMES_PROGRAM, "config:\n  gcp:project: probe-project\n")
    result = runner.invoke(app, ["preview", "--stack", "test", "-C", str(project.root)])
    assert result.exit_code == 2, result.output
    output = result.output
    assert "Traceback" not in output
    assert "6 names or values Google would refuse" in output
    for line in (
        "gcp:storage/bucket:Bucket site: name = 'goog-site'",
        "a bucket name cannot start with `goog` (reserved by Google) (rule: gcp_rules.bucket_name)",
        'gcp:storage/bucket:Bucket site: labels = \'{"service": "site"}\'',
        "65 labels: a resource takes 64 at most (with the provider's default labels)",
        "gcp:serviceaccount/account:Account sa: accountId = 'sa'",
        "gcp:cloudscheduler/job:Job tick: schedule = '*/0 * * * *'",
        "gcp:sql/databaseInstance:DatabaseInstance db: settings.tier = 'db-custom-3-16384'",
        "gcp:compute/network:Network net: name = 'Net_1'",
    ):
        assert line in output, f"{line!r} missing from:\n{output}"


def test_an_auto_named_resource_is_checked_as_pulumi_would_name_it():
    graph = {
        "stack": "t",
        "resources": [
            {
                "urn": "u",
                "type": "gcp:redis/instance:Instance",
                "name": "r" * 35,
                "custom": True,
                "inputs": {},
                "provider": None,
            },
        ],
    }
    (violation,) = check_names(graph)
    assert violation.field == "name (auto-named by Pulumi)"
    assert violation.value == "r" * 35 + "-abcdefg"


def test_unknown_and_secret_values_are_checked_where_they_are_known():
    graph = {
        "stack": "t",
        "resources": [
            {
                "urn": "u1",
                "type": "gcp:storage/bucket:Bucket",
                "name": "b",
                "custom": True,
                "inputs": {"name": "[unknown]"},
            },
            {
                "urn": "u2",
                "type": "gcp:secretmanager/secret:Secret",
                "name": "s",
                "custom": True,
                "inputs": {"secretId": "[secret]"},
            },
        ],
    }
    assert check_names(graph) == []


def test_a_notification_channels_labels_are_its_settings_not_resource_labels(graphs):
    channel = next(
        r for r in graphs["dev"]["resources"] if r["type"] == "gcp:monitoring/notificationChannel:NotificationChannel"
    )
    assert "@" in json.dumps(channel["inputs"]["labels"])  # an email address: no label syntax applies
    assert check_names({"stack": "dev", "resources": [channel]}) == []


# --- the config model refuses what the components would refuse: no traceback, ever ---------------


def _components_accept(
    section: str, cpu: str, memory: str, metrics: bool, tracing: bool, collector_memory: str
) -> bool:
    """Whether the components build this workload: its Args run `instance_limits` with the
    real sidecar objects (components/managed_prometheus.py, components/tracing.py)."""
    from components import managed_prometheus
    from components import tracing as tracing_component
    from components.cloud_run import instance_limits

    workload = {"api": "api", "workers": "worker"}[section]
    sidecars = [
        *([managed_prometheus.collector_sidecar()] if metrics and workload in ("api", "worker") else []),
        *([tracing_component.collector_sidecar(collector_memory)] if tracing else []),
    ]
    try:
        instance_limits(section, cpu, memory, sidecars)
    except ValueError:
        return False
    return True


def _config_accepts(section: str, cpu: str, memory: str, metrics: bool, tracing: bool, collector_memory: str) -> bool:
    from stackconfig import StackConfigError, load_stack_config

    values = {
        "gcp:project": "omni-api-dev",
        "omni-infra:environment": "dev",
        "omni-infra:protect": "false",
        f"omni-infra:{section}": json.dumps({"cpu": cpu, "memory": memory}),
        "omni-infra:metrics": json.dumps({"collector": metrics}),
        "omni-infra:tracing": json.dumps({"enabled": tracing, "collectorMemory": collector_memory}),
        "omni-infra:grafana": json.dumps({"enabled": False}),
        "omni-infra:database": json.dumps({"tier": "db-custom-96-638976"}),  # room for any budget
    }
    try:
        load_stack_config("dev", values, set())
    except StackConfigError:
        return False
    return True


@pytest.mark.parametrize("section", ["api", "workers"])
def test_every_size_the_config_accepts_the_components_build_and_the_other_way_round(section):
    disagreements = []
    for cpu in ("1", "2", "4"):
        for memory in ("256Mi", "512Mi", "1Gi", "2Gi", "3Gi", "4Gi", "8Gi"):
            for collector_memory in ("128Mi", "512Mi", "768Mi", "1Gi"):
                for metrics in (True, False):
                    for tracing in (True, False):
                        args = (section, cpu, memory, metrics, tracing, collector_memory)
                        if _config_accepts(*args) != _components_accept(*args):
                            disagreements.append(args)
    assert disagreements == []


def test_the_sidecar_shares_are_the_components_own():
    from components import managed_prometheus, tracing
    from components.cloud_run import millicores
    from stackconfig.cloud_run_sizing import memory_mib

    for memory in ("128Mi", "512Mi", "513Mi", "1Gi"):
        expected = [
            (millicores(sidecar.cpu), memory_mib(sidecar.memory))
            for sidecar in (managed_prometheus.collector_sidecar(), tracing.collector_sidecar(memory))
        ]
        assert sidecar_shares("api", metrics=True, tracing=True, tracing_memory_mib=memory_mib(memory)) == expected


def test_every_type_the_name_check_knows_is_a_real_pulumi_gcp_type():
    """A misspelt type token would silently check nothing."""
    from pathlib import Path

    import pulumi_gcp

    from offline.name_checks import FIELD_RULES

    registry = (Path(pulumi_gcp.__file__).parent / "__init__.py").read_text(encoding="utf-8")
    assert [token for token in FIELD_RULES if f'"{token}"' not in registry] == []


def test_a_violation_cites_the_rule_by_its_name_in_gcp_rules():
    from functools import partial

    from offline.name_checks import FIELD_RULES, _rule_name

    for rules in FIELD_RULES.values():
        for _, rule in rules:
            name = _rule_name(rule)
            function = rule.func if isinstance(rule, partial) else rule
            assert getattr(gcp_rules, name) is function, name
