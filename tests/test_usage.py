"""Usage metering in the recorded graph: what staging and prod declare, who may do what, what
the app gets, and the config that is refused before anything is declared."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.usage import INVOICING_PROJECT_ROLES, RECONCILIATION_METRIC
from metering import files
from offline.replacements import FORCE_NEW, bigquery_schema_not_changeable, conditional_force_new, is_stateful

from .conftest import edit_stack_file, one, resources
from .test_config import failing_run

TOPIC = "gcp:pubsub/topic:Topic"
SCHEMA = "gcp:pubsub/schema:Schema"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
DATASET = "gcp:bigquery/dataset:Dataset"
TABLE = "gcp:bigquery/table:Table"
TABLE_IAM = "gcp:bigquery/iamMember:IamMember"
DATASET_IAM = "gcp:bigquery/datasetIamMember:DatasetIamMember"
JOB = "gcp:cloudrunv2/job:Job"
SCHEDULER = "gcp:cloudscheduler/job:Job"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
SECRET = "gcp:secretmanager/secret:Secret"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET_IAM = "gcp:secretmanager/secretIamMember:SecretIamMember"
PUBSUB_AGENT = "service-{number}@gcp-sa-pubsub.iam.gserviceaccount.com"


def by_name(graph: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r["inputs"] for r in resources(graph, rtype)}


def account(graph: dict[str, Any], name: str) -> str:
    [account_id] = [
        r["inputs"]["accountId"] for r in resources(graph, "gcp:serviceaccount/account:Account") if r["name"] == name
    ]
    return f"serviceAccount:{account_id}@omni-api-prod.iam.gserviceaccount.com"


def pubsub_agent(graph: dict[str, Any]) -> str:
    """The Pub/Sub service agent: `service-<project number>@gcp-sa-pubsub...`, as Google names it."""
    members = {
        g["member"] for rtype in (TABLE_IAM, TOPIC_IAM, SUBSCRIPTION_IAM) for g in by_name(graph, rtype).values()
    }
    [agent] = [
        m for m in members if re.fullmatch(r"serviceAccount:service-[0-9]+@gcp-sa-pubsub\.iam\.gserviceaccount\.com", m)
    ]
    return agent


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_declare_the_pipeline(graphs: dict[str, Any], stack: str):
    graph = graphs[stack]
    topic = by_name(graph, TOPIC)[f"omni-{stack}-usage-topic"]
    assert topic["name"] == f"omni-{stack}-usage-events"
    assert topic["schemaSettings"]["encoding"] == "JSON"
    schema = one(graph, SCHEMA)["inputs"]
    assert schema["type"] == "AVRO"
    assert json.loads(schema["definition"]) == json.loads(files.event_schema_text())
    assert sorted(by_name(graph, TABLE)) == [
        f"omni-{stack}-usage-{t}"
        for t in ("deduplicated-events", "events", "invoices", "monthly-usage", "reconciliation")
    ]


def test_events_are_day_partitioned_clustered_by_tenant_expire_after_the_retention_and_need_a_partition_filter(
    graphs: dict[str, Any],
):
    events = by_name(graphs["prod"], TABLE)["omni-prod-usage-events"]
    assert events["timePartitioning"] == {"type": "DAY", "field": "occurred_at", "expirationMs": 400 * 86_400_000}
    assert events["requirePartitionFilter"] is True
    assert events["clusterings"] == ["tenant_id"]
    assert events["deletionProtection"] is True
    assert json.loads(events["schema"]) == json.loads(files.table_schema_text("events"))


def test_the_retention_comes_from_the_stack(project_copy):
    from offline.engine import run_stack

    edit_stack_file(project_copy, "staging", "omni-infra:usage:\n", "omni-infra:usage:\n    rawRetentionDays: 90\n")
    graph = run_stack(project_copy, "staging").to_json()
    assert by_name(graph, TABLE)["omni-staging-usage-events"]["timePartitioning"]["expirationMs"] == 90 * 86_400_000


def test_views_are_the_reviewed_sql_in_standard_sql_created_in_order(graphs: dict[str, Any]):
    graph = graphs["prod"]
    tables = {r["name"]: r for r in resources(graph, TABLE)}
    for view in files.VIEWS:
        inputs = tables[f"omni-prod-usage-{view.replace('_', '-')}"]["inputs"]
        assert inputs["view"] == {"query": files.render_view(view, "omni_prod_usage"), "useLegacySql": False}
        assert inputs["tableId"] == view
    assert (
        tables["omni-prod-usage-deduplicated-events"]["urn"] in tables["omni-prod-usage-monthly-usage"]["dependencies"]
    )
    assert tables["omni-prod-usage-monthly-usage"]["urn"] in tables["omni-prod-usage-reconciliation"]["dependencies"]


def test_the_bigquery_subscription_writes_the_topic_schema_with_metadata_retries_with_backoff_and_dead_letters(
    applied: dict[str, Any],
):
    graph = applied["prod"]
    subscriptions = by_name(graph, SUBSCRIPTION)
    to_bigquery = subscriptions["omni-prod-usage-bigquery"]
    assert to_bigquery["bigqueryConfig"] == {
        "table": "omni-api-prod.omni_prod_usage.events",
        "useTopicSchema": True,
        "writeMetadata": True,
        "dropUnknownFields": False,
    }
    assert to_bigquery["topic"] == "projects/omni-api-prod/topics/omni-prod-usage-events"
    assert to_bigquery["deadLetterPolicy"] == {
        "deadLetterTopic": "projects/omni-api-prod/topics/omni-prod-usage-events-dead-letter",
        "maxDeliveryAttempts": 10,
    }
    assert to_bigquery["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    dead_letters = subscriptions["omni-prod-usage-dead-letter-sub"]
    assert dead_letters["topic"] == "projects/omni-api-prod/topics/omni-prod-usage-events-dead-letter"
    # Neither subscription is deleted after 31 idle days (Pub/Sub's default).
    assert to_bigquery["expirationPolicy"] == dead_letters["expirationPolicy"] == {"ttl": ""}


def test_the_pubsub_service_agent_may_write_the_table_publish_dead_letters_and_acknowledge_them(
    applied: dict[str, Any],
):
    graph = applied["prod"]
    agent = pubsub_agent(graph)
    table_grants = [(g["tableId"], g["role"]) for g in by_name(graph, TABLE_IAM).values() if g["member"] == agent]
    assert table_grants == [("events", "roles/bigquery.dataEditor")]
    topic_grants = [(g["topic"], g["role"]) for g in by_name(graph, TOPIC_IAM).values() if g["member"] == agent]
    assert topic_grants == [("omni-prod-usage-events-dead-letter", "roles/pubsub.publisher")]
    subscription_grants = [(g["subscription"], g["role"]) for g in by_name(graph, SUBSCRIPTION_IAM).values()]
    assert subscription_grants == [("omni-prod-usage-events-bigquery", "roles/pubsub.subscriber")]
    # It holds nothing on the project.
    assert [g for g in by_name(graph, PROJECT_IAM).values() if g["member"] == agent] == []


def test_only_the_api_and_the_workers_may_publish_usage_events(applied: dict[str, Any]):
    graph = applied["prod"]
    publishers = {g["member"] for g in by_name(graph, TOPIC_IAM).values() if g["topic"] == "omni-prod-usage-events"}
    assert publishers == {account(graph, "omni-prod-api"), account(graph, "omni-prod-worker")}


def test_the_app_gets_the_topic_and_beat_does_not(applied: dict[str, Any]):
    graph = applied["prod"]

    def env_of(rtype: str, name: str) -> dict[str, Any]:
        [resource] = [r for r in resources(graph, rtype) if r["name"] == name]
        template = resource["inputs"]["template"]
        container = template["containers"][0]
        return {e["name"]: e.get("value") for e in container["envs"]}

    topic = "projects/omni-api-prod/topics/omni-prod-usage-events"
    assert env_of("gcp:cloudrunv2/service:Service", "omni-prod-api-service")["USAGE_TOPIC"] == topic
    assert env_of("gcp:cloudrunv2/workerPool:WorkerPool", "omni-prod-worker-pool")["USAGE_TOPIC"] == topic
    assert "USAGE_TOPIC" not in env_of("gcp:cloudrunv2/workerPool:WorkerPool", "omni-prod-beat-pool")


def test_invoicing_runs_as_its_own_least_privilege_account(applied: dict[str, Any]):
    graph = applied["prod"]
    invoicer = account(graph, "omni-prod-invoicing")
    project_roles = sorted(g["role"] for g in by_name(graph, PROJECT_IAM).values() if g["member"] == invoicer)
    assert (
        project_roles == ["roles/bigquery.jobUser", "roles/monitoring.metricWriter"] == sorted(INVOICING_PROJECT_ROLES)
    )
    assert [(g["datasetId"], g["role"]) for g in by_name(graph, DATASET_IAM).values() if g["member"] == invoicer] == [
        ("omni_prod_usage", "roles/bigquery.dataViewer")
    ]
    assert [(g["tableId"], g["role"]) for g in by_name(graph, TABLE_IAM).values() if g["member"] == invoicer] == [
        ("invoices", "roles/bigquery.dataEditor")
    ]
    secrets = [g for g in by_name(graph, SECRET_IAM).values() if g["member"] == invoicer]
    assert [g["secretId"] for g in secrets] == ["omni-prod-stripe-api-key"]
    jobs = {n: j for n, j in by_name(graph, JOB).items() if n in ("omni-prod-invoice-job", "omni-prod-reconcile-job")}
    assert {j["template"]["template"]["serviceAccount"] for j in jobs.values()} == {
        invoicer.removeprefix("serviceAccount:")
    }


def test_the_stripe_key_is_a_secret_without_a_version_that_only_the_invoice_job_reads(applied: dict[str, Any]):
    graph = applied["prod"]
    secret = by_name(graph, SECRET)["omni-prod-stripe-api-key"]
    assert secret["deletionProtection"] is True
    assert [v for v in by_name(graph, SECRET_VERSION) if "stripe" in v] == []
    invoice = by_name(graph, JOB)["omni-prod-invoice-job"]["template"]["template"]["containers"][0]
    reconcile = by_name(graph, JOB)["omni-prod-reconcile-job"]["template"]["template"]["containers"][0]
    [stripe] = [e for e in invoice["envs"] if e["name"] == "STRIPE_API_KEY"]
    assert stripe["valueSource"]["secretKeyRef"] == {"secret": "omni-prod-stripe-api-key", "version": "latest"}
    assert "STRIPE_API_KEY" not in {e["name"] for e in reconcile["envs"]}
    env = {e["name"]: e.get("value") for e in reconcile["envs"]}
    assert env["INVOICING_MODE"] == "reconcile"
    assert env["RECONCILIATION_METRIC"] == RECONCILIATION_METRIC


def test_invoicing_runs_monthly_and_reconciliation_daily_from_the_stack(graphs: dict[str, Any]):
    schedules = by_name(graphs["prod"], SCHEDULER)
    assert schedules["omni-prod-invoice-schedule"]["schedule"] == "0 6 2 * *"
    assert schedules["omni-prod-reconcile-schedule"]["schedule"] == "30 7 * * *"
    assert {s["timeZone"] for n, s in schedules.items() if "invoice" in n or "reconcile" in n} == {"Etc/UTC"}


def test_turning_usage_off_removes_the_pipeline_and_the_topic_variable(project_copy):
    from offline.engine import run_stack

    edit_stack_file(
        project_copy,
        "dev",
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:usage:\n    enabled: false",
    )
    graph = run_stack(project_copy, "dev").to_json()
    # The security findings topic stays (docs/compliance.md): it is not the pipeline's.
    assert [r["name"] for r in resources(graph, TOPIC)] == ["omni-dev-findings-topic"]
    assert resources(graph, DATASET) == []
    api = next(r for r in graph["resources"] if r["name"] == "omni-dev-api-service")
    assert "USAGE_TOPIC" not in {e["name"] for e in api["inputs"]["template"]["containers"][0]["envs"]}


BAD_USAGE_VALUES = [
    ("rawRetentionDays: 0", "omni-infra:usage.rawRetentionDays", "greater than or equal to 1"),
    ("rawRetentionDays: 5000", "omni-infra:usage.rawRetentionDays", "less than or equal to 3650"),
    ("invoiceSchedule: '0 6 * * *'", "omni-infra:usage.invoiceSchedule", "does not fire exactly once a month"),
    ("invoiceSchedule: '0 6 31 * *'", "omni-infra:usage.invoiceSchedule", "does not exist in every month"),
    ("invoiceSchedule: 'monthly'", "omni-infra:usage.invoiceSchedule", "unix-cron takes 5"),
    ("reconcileSchedule: '0 24 * * *'", "omni-infra:usage.reconcileSchedule", "hour: 24 is outside 0-23"),
    ("reconcileSchedule: '*/0 * * * *'", "omni-infra:usage.reconcileSchedule", "a step of 0 never advances"),
    ("topic: googly-usage", "omni-infra:usage.topic", "must not start with `goog`"),
    ("topic: 1-usage", "omni-infra:usage.topic", "start with a letter"),
    ("topic: ab", "omni-infra:usage.topic", "3-255 characters"),
    ("topic: usage/events", "omni-infra:usage.topic", "Pub/Sub refuses 'usage/events'"),
    ("dataset: usage-events", "omni-infra:usage.dataset", "letters, digits and underscores"),
    ("invoicingRelease: latest!", "omni-infra:usage.invoicingRelease", "should match pattern"),
]


@pytest.mark.parametrize(("setting", "key", "reason"), BAD_USAGE_VALUES)
def test_a_bad_usage_value_is_refused_before_any_resource_naming_the_key(
    project_copy, setting: str, key: str, reason: str
):
    edit_stack_file(project_copy, "staging", "omni-infra:usage:\n", f"omni-infra:usage:\n    {setting}\n")
    error, declared = failing_run(project_copy, "staging")
    assert declared == []
    assert [p.key for p in error.problems] == [key]
    assert reason in error.problems[0].allowed


def test_a_name_prefix_that_makes_a_topic_google_refuses_is_refused_naming_usage(project_copy):
    edit_stack_file(
        project_copy,
        "staging",
        "omni-infra:environment: staging",
        "omni-infra:environment: staging\n  omni-infra:namePrefix: goog",
    )
    error, declared = failing_run(project_copy, "staging")
    assert declared == []
    assert [p.key for p in error.problems] == ["omni-infra:usage"]
    assert "'goog-staging-usage-events': ids must not start with `goog`" in error.problems[0].allowed
    assert "set usage.topic" in error.problems[0].allowed


def test_every_type_the_pipeline_declares_is_known_to_the_diff_and_its_data_is_stateful(graphs: dict[str, Any]):
    types = {
        r["type"]
        for r in graphs["prod"]["resources"]
        if r.get("custom") and r["type"].startswith(("gcp:pubsub/", "gcp:bigquery/"))
    }
    assert types == {TOPIC, SCHEMA, SUBSCRIPTION, TOPIC_IAM, SUBSCRIPTION_IAM, DATASET, TABLE, TABLE_IAM, DATASET_IAM}
    assert sorted(t for t in types if t not in FORCE_NEW) == []
    assert is_stateful(DATASET)
    assert is_stateful(TABLE)


COLUMNS = [
    {"name": "event_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "units", "type": "INTEGER", "mode": "REQUIRED"},
]


@pytest.mark.parametrize(
    ("new_columns", "replaces"),
    [
        ([*COLUMNS, {"name": "region", "type": "STRING", "mode": "NULLABLE"}], False),
        ([COLUMNS[0], {"name": "units", "type": "INT64", "mode": "NULLABLE"}], False),
        ([COLUMNS[0]], True),
        ([COLUMNS[0], {"name": "units", "type": "STRING", "mode": "REQUIRED"}], True),
        ([*COLUMNS, {"name": "region", "type": "STRING", "mode": "REQUIRED"}], True),
    ],
    ids=["nullable-column-added", "relaxed-and-same-type", "column-dropped", "type-changed", "required-column-added"],
)
def test_an_incompatible_schema_change_replaces_the_table_and_a_compatible_one_does_not(new_columns, replaces):
    [rule] = conditional_force_new(TABLE)
    assert rule.path == "schema"
    assert bigquery_schema_not_changeable(json.dumps(COLUMNS), json.dumps(new_columns)) is replaces


def test_the_schedules_run_the_invoicing_jobs_as_an_account_that_may_only_run_them(applied: dict[str, Any]):
    graph = applied["prod"]
    trigger = account(graph, "omni-prod-inv-trigger")
    schedules = {
        n: s
        for n, s in by_name(graph, SCHEDULER).items()
        if n in ("omni-prod-invoice-schedule", "omni-prod-reconcile-schedule")
    }
    for mode in ("invoice", "reconcile"):
        target = schedules[f"omni-prod-{mode}-schedule"]["httpTarget"]
        assert (
            target["uri"]
            == f"https://run.googleapis.com/v2/projects/omni-api-prod/locations/europe-west1/jobs/omni-prod-{mode}:run"
        )
        assert f"serviceAccount:{target['oauthToken']['serviceAccountEmail']}" == trigger
    invokers = sorted(
        (g["name"], g["role"])
        for g in by_name(graph, "gcp:cloudrunv2/jobIamMember:JobIamMember").values()
        if g["member"] == trigger
    )
    assert invokers == [("omni-prod-invoice", "roles/run.invoker"), ("omni-prod-reconcile", "roles/run.invoker")]
    assert [g for g in by_name(graph, PROJECT_IAM).values() if g["member"] == trigger] == []


def test_until_the_stripe_key_has_a_version_the_invoice_job_is_not_declared_but_the_secret_and_reconciliation_are(
    graphs: dict[str, Any],
):
    dev = graphs["dev"]  # dev keeps usage.stripeKeyAdded at its default, false
    assert "omni-dev-stripe-api-key" in by_name(dev, SECRET)
    jobs = set(by_name(dev, JOB))
    assert "omni-dev-reconcile-job" in jobs
    assert "omni-dev-invoice-job" not in jobs
    assert "omni-dev-invoice-schedule" not in by_name(dev, SCHEDULER)
    assert {"omni-prod-invoice-job", "omni-prod-reconcile-job"} <= set(by_name(graphs["prod"], JOB))


def _args(**changes: Any):
    from components.usage import UsageArgs

    settings: dict[str, Any] = {
        "project": "omni-api-prod",
        "region": "europe-west1",
        "topic": "omni-prod-usage-events",
        "dataset": "omni_prod_usage",
        "publishers": {"api": "serviceAccount:api@omni-api-prod.iam.gserviceaccount.com"},
        "network_id": "n",
        "subnet_id": "s",
    }
    return UsageArgs(**{**settings, **changes})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"max_delivery_attempts": 4}, "Pub/Sub accepts 5 to 100"),
        ({"max_delivery_attempts": 101}, "Pub/Sub accepts 5 to 100"),
        ({"minimum_backoff": "60s", "maximum_backoff": "10s"}, "the minimum first"),
        ({"maximum_backoff": "700s"}, "Pub/Sub takes 0s to 600s"),
        ({"publishers": {}}, "name at least one account"),
        ({"raw_retention_days": 0}, "keep raw events 1 to 3650 days"),
        ({"invoice_schedule": "0 6 * * 1"}, "does not fire exactly once a month"),
        ({"topic": "goog-usage"}, "must not start with `goog`"),
    ],
)
def test_the_component_refuses_what_pubsub_would_refuse_before_declaring_anything(changes: dict[str, Any], reason: str):
    with pytest.raises(ValueError, match=re.escape(reason)):
        _args(**changes)


def test_the_components_defaults_are_the_production_choices():
    args = _args()
    assert (args.raw_retention_days, args.max_delivery_attempts, args.minimum_backoff, args.maximum_backoff) == (
        400,
        10,
        "10s",
        "600s",
    )
    assert args.protect is True
    assert args.stripe_key_added is False
