"""`omni cost`: the price table, the coverage of every resource type, the estimators against worked
examples computed by hand, the traffic profile, the cost of one request, cost in review and the
budget per stack.

Every expected amount below is a literal computed by hand from the price table's rows; the comment
above it shows the arithmetic. None is computed with the code under test.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cost.coverage import Billing, coverage, graph_types, type_billing
from cost.estimators import cron_runs_per_month
from cost.model import estimate_graph, per_request
from cost.prices import PRICES_FILE, PriceTableError, default_price_table, parse_price_table
from cost.profile import ProfileError, TrafficProfile, build_profile, load_profile
from cost.render import cost_delta, delta_line, delta_markdown, render_json, render_text
from offline.diff import compute_diff
from offline.diff_render import render_markdown_comment
from stackconfig import StackConfigError, load_stack_config
from tests.conftest import ROOT, STACKS, resources

# The planned types of the brief: other helpers add them; each must already be placed.
PLANNED_TYPES = (
    "gcp:compute/globalAddress:GlobalAddress",
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
    "gcp:compute/backendService:BackendService",
    "gcp:compute/backendBucket:BackendBucket",
    "gcp:compute/uRLMap:URLMap",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
    "gcp:compute/targetHttpProxy:TargetHttpProxy",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule",
    "gcp:compute/sSLPolicy:SSLPolicy",
    "gcp:compute/securityPolicy:SecurityPolicy",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate",
    "gcp:certificatemanager/certificate:Certificate",
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization",
    "gcp:certificatemanager/certificateMap:CertificateMap",
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry",
    "gcp:pubsub/schema:Schema",
    "gcp:pubsub/topic:Topic",
    "gcp:pubsub/subscription:Subscription",
    "gcp:pubsub/topicIAMMember:TopicIAMMember",
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
    "gcp:bigquery/dataset:Dataset",
    "gcp:bigquery/table:Table",
    "gcp:bigquery/datasetIamMember:DatasetIamMember",
    "gcp:bigquery/iamMember:IamMember",
    "gcp:cloudrunv2/job:Job",
    "gcp:cloudscheduler/job:Job",
    "gcp:billing/budget:Budget",
    "gcp:iam/denyPolicy:DenyPolicy",
    "gcp:projects/iAMCustomRole:IAMCustomRole",
    "gcp:kms/keyRing:KeyRing",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
    "gcp:identityplatform/config:Config",
    "gcp:identityplatform/tenant:Tenant",
    "gcp:identityplatform/tenantInboundSamlConfig:TenantInboundSamlConfig",
    "gcp:identityplatform/tenantOauthIdpConfig:TenantOauthIdpConfig",
    "gcp:essentialcontacts/contact:Contact",
    "gcp:securitycenter/v2ProjectNotificationConfig:V2ProjectNotificationConfig",
    "gcp:dataloss/preventionDiscoveryConfig:PreventionDiscoveryConfig",
    "gcp:cloudrunv2/service:Service",
    "gcp:secretmanager/secret:Secret",
    "gcp:secretmanager/secretVersion:SecretVersion",
)
STACK_URN = "urn:pulumi:t::omni-infra::pulumi:pulumi:Stack::omni-infra-t"


def fragment(*resources_: dict[str, Any], stack: str = "t") -> dict[str, Any]:
    """A hand-written graph: the stack and the given resources, each parented to the stack."""
    stack_resource = {
        "urn": STACK_URN,
        "type": "pulumi:pulumi:Stack",
        "name": "omni-infra-t",
        "custom": False,
        "parent": None,
        "inputs": {},
    }
    return {"version": 1, "stack": stack, "resources": [stack_resource, *resources_]}


def resource(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:t::omni-infra::{type_}::{name}",
        "type": type_,
        "name": name,
        "custom": True,
        "parent": STACK_URN,
        "inputs": inputs,
    }


def ha_database(region: str) -> dict[str, Any]:
    return resource(
        "gcp:sql/databaseInstance:DatabaseInstance",
        "db",
        {
            "region": region,
            "settings": {
                "tier": "db-custom-4-16384",
                "edition": "ENTERPRISE",
                "availabilityType": "REGIONAL",
                "diskSize": 50,
                "diskType": "PD_SSD",
                "backupConfiguration": {"enabled": True, "backupRetentionSettings": {"retainedBackups": 14}},
            },
        },
    )


def min_instances_service(region: str) -> dict[str, Any]:
    return resource(
        "gcp:cloudrunv2/service:Service",
        "svc",
        {
            "location": region,
            "labels": {"service": "internal"},
            "template": {
                "scaling": {"minInstanceCount": 2},
                "containers": [
                    {"name": "app", "resources": {"cpuIdle": False, "limits": {"cpu": "1", "memory": "512Mi"}}},
                    {"name": "sidecar", "resources": {"cpuIdle": False, "limits": {"cpu": "250m", "memory": "256Mi"}}},
                ],
            },
        },
    )


def monthly(graph: dict[str, Any], profile: TrafficProfile | None = None) -> float:
    return round(estimate_graph(graph, profile).total, 6)


# --- the price table ----------------------------------------------------------------------


def test_the_committed_price_table_loads_and_every_row_says_where_it_was_read() -> None:
    table = default_price_table()

    assert len(table.rows) > 40
    for row in table.rows:
        assert row.source.startswith("https://"), row.id
        assert row.verified or row.note, f"{row.id}: an unverified row says why"
        assert row.verified == (row.basis in ("pricing-page", "catalog-export", "catalog-api")), row.id
        assert (row.amount is None) == (row.basis == "not-found"), row.id
    for region in ("europe-west1", "us-central1"):
        for price_id in (
            "run.instance.cpu",
            "run.request.cpu",
            "sql.enterprise.vcpu",
            "sql.enterprise.ha.vcpu",
            "sql.storage.ssd",
            "sql.backup",
            "redis.standard.m1",
            "nat.gateway",
            "lb.data_processed",
        ):
            table.find(price_id, region)


def test_the_table_prices_a_region_apart_where_google_does() -> None:
    table = default_price_table()

    # Cloud SQL is priced per region: Belgium and Iowa are different rows with different amounts.
    for price_id in ("sql.enterprise.ha.vcpu", "sql.enterprise.ha.memory", "sql.storage.ssd.ha", "sql.backup"):
        belgium, iowa = table.find(price_id, "europe-west1"), table.find(price_id, "us-central1")
        assert belgium is not iowa, price_id
        assert belgium.amount != iowa.amount, price_id
    # Load-balancer data processing is charged in the region that processes it: a row per region.
    assert table.find("lb.data_processed", "europe-west1") is not table.find("lb.data_processed", "us-central1")
    # Both regions are Cloud Run Tier 1 (cloud.google.com/run/docs/locations): one row serves both.
    for price_id in ("run.instance.cpu", "run.instance.memory", "run.request.cpu"):
        assert table.find(price_id, "europe-west1") is table.find(price_id, "us-central1"), price_id


def _rows() -> list[dict[str, Any]]:
    return yaml.safe_load(PRICES_FILE.read_text(encoding="utf-8"))["rows"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", -1, "row 0 (run.instance.cpu): amount: Input should be greater than or equal to 0"),
        ("unit", "parsec", "row 0 (run.instance.cpu): unit: Input should be"),
        ("read", "yesterday", "row 0 (run.instance.cpu): read: Value error, must be a date like 2026-12-04"),
        ("source", "cloud.google.com/run/pricing", "row 0 (run.instance.cpu): source: String should match pattern"),
        ("colour", "blue", "row 0 (run.instance.cpu): colour: Extra inputs are not permitted"),
        ("basis", "hearsay", "row 0 (run.instance.cpu): basis: Input should be 'pricing-page', 'catalog-export'"),
        ("sku_id", "4856B847F1EB", "row 0 (run.instance.cpu): sku_id: String should match pattern"),
    ],
)
def test_a_malformed_price_row_is_refused_naming_the_row_and_the_field(field: str, value: Any, message: str) -> None:
    rows = _rows()
    rows[0][field] = value

    with pytest.raises(PriceTableError) as caught:
        parse_price_table({"rows": rows})

    assert message in str(caught.value)


def test_an_unverified_row_without_a_note_and_a_price_given_twice_are_refused() -> None:
    rows = _rows()
    rows[1]["verified"], rows[1]["note"] = False, ""
    with pytest.raises(PriceTableError, match=r"row 1 \(run.instance.memory\): row: Value error, an unverified row"):
        parse_price_table({"rows": rows})

    twice = _rows()
    twice.append(dict(twice[0]))
    with pytest.raises(PriceTableError, match=r"run\.instance\.cpu is priced twice for europe-west1"):
        parse_price_table({"rows": twice})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"basis": "recalled"}, "basis 'recalled' cannot say verified: true"),
        ({"basis": "third-party"}, "basis 'third-party' cannot say verified: true"),
        ({"verified": False, "note": "a note"}, "basis 'pricing-page' cannot say verified: false"),
        ({"basis": "catalog-export"}, "a row read from a Cloud Billing catalog export names its sku_id"),
        ({"amount": None, "basis": "recalled", "verified": False, "note": "n"}, "`amount: null` goes with"),
        ({"basis": "not-found", "verified": False, "note": "n"}, "`amount: null` goes with"),
    ],
)
def test_a_row_whose_basis_contradicts_its_verified_flag_or_amount_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    rows = _rows()
    assert rows[0]["id"] == "run.instance.cpu"
    assert rows[0]["verified"] is True
    rows[0].update(changes)

    with pytest.raises(PriceTableError) as caught:
        parse_price_table({"rows": rows})

    assert "row 0 (run.instance.cpu): row: Value error, " + message in str(caught.value)


def test_a_catalog_export_row_with_its_sku_id_is_verified() -> None:
    rows = _rows()
    rows[0].update({"basis": "catalog-export", "sku_id": "4856-B847-F1EB"})

    row = parse_price_table({"rows": rows}).rows[0]

    assert (row.verified, row.sku_id) == (True, "4856-B847-F1EB")


# --- coverage: every declared type placed ---------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_type_a_stack_declares_is_priced_free_or_usage_only(graphs: dict[str, Any], stack: str) -> None:
    placed = coverage(graph_types(graphs[stack]))

    assert placed.unplaced == [], f"place these in cost/coverage.py: {placed.unplaced}"
    assert placed.percent == 100.0


def test_every_planned_type_of_the_other_helpers_is_already_placed_with_a_reason() -> None:
    for resource_type in PLANNED_TYPES:
        billing = type_billing(resource_type)
        assert billing is not None, resource_type
        assert billing.reason, resource_type


def test_a_new_type_no_one_placed_fails_coverage_and_is_printed() -> None:
    graph = fragment(resource("gcp:alloydb/cluster:Cluster", "newdb", {"location": "europe-west1"}))

    estimate = estimate_graph(graph)

    assert estimate.coverage.unplaced == ["gcp:alloydb/cluster:Cluster"]
    assert estimate.coverage.percent == 0.0
    assert "NOT PLACED: gcp:alloydb/cluster:Cluster" in render_text(estimate)


def test_every_priced_type_has_an_estimator() -> None:
    from cost.coverage import TYPE_BILLING
    from cost.estimators import ESTIMATORS

    priced = {t for t, b in TYPE_BILLING.items() if b.billing is Billing.PRICED}
    assert priced == set(ESTIMATORS)


# --- worked examples, computed by hand --------------------------------------------------------


# Where each literal figure below comes from (cost/prices.yaml says the same, row by row):
#   [page]     read on Google's pricing page (a stored copy): the row is verified
#   [third]    read on a third party's derivation of Google's catalog (infracost's golden test
#              output, us-central1): not verified, but corroborated
#   [recalled] not found in any stored copy of Google's page or catalog export: the row is not
#              verified, and the example checks the arithmetic on the figure the table holds.
# No stored copy of cloud.google.com/sql/pricing reaches the regional table and no catalog export
# holds these SKUs: Cloud SQL in Belgium is [recalled], in Iowa [third].


def test_one_ha_cloud_sql_instance_in_belgium() -> None:
    # prod's database: db-custom-4-16384, ENTERPRISE, REGIONAL (HA), 50 GB SSD, 14 backups kept.
    # vCPU   4 x 730 h x $0.0908 (Regional - vCPU in Belgium) [recalled]            = 265.136
    # memory 16 GB x 730 h x $0.0154 (Regional - RAM in Belgium) [recalled]         = 179.872
    # SSD    50 GB x $0.374 (Regional - Standard storage in Belgium) [recalled]      =  18.70
    # backup 50 GB x (1 + 13 x 0.05) = 82.5 GB x $0.088 (Backups in Belgium) [recalled] = 7.26
    # total                                                                         = 470.968
    assert monthly(fragment(ha_database("europe-west1"))) == 470.968


def test_one_ha_cloud_sql_instance_in_iowa() -> None:
    # The same instance in us-central1, priced on the Americas rows, all [third] (infracost's golden:
    # regional vCPU $60.30 / 730 h, regional memory $38.33 / (3.75 GB x 730 h), regional SSD $3.40 / 10 GB,
    # backups $0.08 per GB):
    # vCPU   4 x 730 x $0.0826 = 241.192; memory 16 x 730 x $0.014 = 163.52
    # SSD    50 x $0.34 = 17.0;           backup 82.5 x $0.08 = 6.6
    # total  241.192 + 163.52 + 17.0 + 6.6 = 428.312  (Belgium costs 42.656 more a month)
    assert monthly(fragment(ha_database("us-central1"))) == 428.312


@pytest.mark.parametrize("region", ["europe-west1", "us-central1"])
def test_one_cloud_run_service_with_two_min_instances_billed_by_instance(region: str) -> None:
    # Both regions are Cloud Run Tier 1 (cloud.google.com/run/docs/locations), so the figures agree.
    # One instance: 1 + 0.25 vCPU, 0.5 + 0.25 GiB (sidecar included).
    # 2 instances x 730 h x 3600 s = 5,256,000 s
    # vCPU   1.25 x 5,256,000 x $0.000018 (Tier 1 'CPU always allocated') [page] = 118.26
    # memory 0.75 x 5,256,000 x $0.000002 (Tier 1 memory column) [recalled]      =   7.884
    # total                                                                       = 126.144
    assert monthly(fragment(min_instances_service(region))) == 126.144


@pytest.mark.parametrize("region", ["europe-west1", "us-central1"])
def test_one_cloud_run_service_with_two_idle_min_instances_billed_by_request(region: str) -> None:
    # Request-based billing (Cloud Run's default, cpuIdle unset), 1 vCPU and 512 MiB (the defaults),
    # two minimum instances and no traffic reaching it: both instances are idle all month.
    service = resource(
        "gcp:cloudrunv2/service:Service",
        "svc",
        {
            "location": region,
            "labels": {"service": "internal"},
            "template": {"scaling": {"minInstanceCount": 2}, "containers": [{"name": "app"}]},
        },
    )
    # 2 instances x 730 h x 3600 s = 5,256,000 idle instance-seconds
    # vCPU   1 x 5,256,000 x $0.0000025 (Tier 1 idle min-instance CPU) [page]    = 13.14
    # memory 0.5 x 5,256,000 x $0.0000025 (Tier 1 idle min-instance memory) [page] =  6.57
    # total                                                                          = 19.71
    estimate = estimate_graph(fragment(service))

    assert round(estimate.total, 6) == 19.71
    assert estimate.unverified_rows == []


def test_a_fragment_priced_on_verified_rows_only_in_two_regions() -> None:
    # Every figure here is [page]: Cloud NAT, load balancing, Secret Manager, Cloud KMS, Artifact
    # Registry and Cloud Scheduler pricing pages (stored copies read 2026-12-05).
    def pieces(region: str) -> list[dict[str, Any]]:
        return [
            resource("gcp:compute/routerNat:RouterNat", f"nat-{region}", {"region": region}),
            resource("gcp:secretmanager/secret:Secret", f"key-{region}", {}),
            resource("gcp:kms/cryptoKey:CryptoKey", f"cmek-{region}", {}),
            resource("gcp:artifactregistry/repository:Repository", f"images-{region}", {"location": region}),
            resource("gcp:cloudscheduler/job:Job", f"tick-{region}", {"region": region}),
            resource("gcp:compute/globalForwardingRule:GlobalForwardingRule", f"http-{region}", {"portRange": "80"}),
        ]

    profile = TrafficProfile(
        nat_gib_per_month=20, secret_accesses_per_month_per_secret=50_000, registry_gb_per_repository=3
    )
    # NAT gateway   730 h x $0.0014 (one VM)          = 1.022
    # NAT data      20 GiB x $0.045                   = 0.90
    # secret        1 version x 1 location x $0.06    = 0.06;  50,000 accesses x $0.03 / 10,000 = 0.15
    # key version   $0.06
    # registry      3 GB x $0.10                      = 0.30
    # scheduler job $0.10
    # forwarding rule 730 h x $0.025                  = 18.25
    # total 1.022 + 0.90 + 0.06 + 0.15 + 0.06 + 0.30 + 0.10 + 18.25 = 20.842, the same in both regions
    for region in ("europe-west1", "us-central1"):
        estimate = estimate_graph(fragment(*pieces(region)), profile)
        assert round(estimate.total, 6) == 20.842, region
        assert estimate.unverified_rows == [], region


def test_a_request_billed_api_service_pays_for_busy_time_and_requests() -> None:
    api = resource(
        "gcp:cloudrunv2/service:Service",
        "api",
        {
            "location": "us-central1",
            "labels": {"service": "api"},
            "template": {"containers": [{"name": "app"}]},  # Cloud Run's defaults: 1 vCPU, 512 MiB, concurrency 80
        },
    )
    profile = TrafficProfile(
        requests_per_month=1_000_000, mean_duration_ms=100, cache_hit_rate=0, concurrency_utilization=0.5
    )
    # busy = 1,000,000 x 0.1 s / (80 x 0.5) = 2,500 s; every figure [page] (Tier 1, request-based)
    # vCPU 2,500 x 1 x $0.000024 = 0.06; memory 2,500 x 0.5 x $0.0000025 = 0.003125
    # requests 1,000,000 x $0.40 / 1,000,000 = 0.40
    # total 0.463125
    assert monthly(fragment(api), profile) == 0.463125


def test_memorystore_prices_by_tier_and_size_band() -> None:
    standard = resource(
        "gcp:redis/instance:Instance", "cache", {"region": "us-central1", "tier": "STANDARD_HA", "memorySizeGb": 5}
    )
    basic = resource(
        "gcp:redis/instance:Instance", "broker", {"region": "us-central1", "tier": "BASIC", "memorySizeGb": 1}
    )
    # Standard M2: 5 GB x 730 h x $0.054 = 197.1;  Basic M1: 1 GB x 730 h x $0.049 = 35.77  [third]:
    # infracost's golden (us-central1) prints the same two monthly figures, $197.10 and $35.77.
    assert monthly(fragment(standard)) == 197.1
    assert monthly(fragment(basic)) == 35.77


def test_a_price_that_could_not_be_found_is_left_out_and_named_never_guessed() -> None:
    belgium = resource(
        "gcp:redis/instance:Instance", "cache", {"region": "europe-west1", "tier": "STANDARD_HA", "memorySizeGb": 5}
    )
    estimate = estimate_graph(fragment(belgium))

    assert estimate.total == 0.0
    assert [item.price_id for item in estimate.unpriced] == ["redis.standard.m2"]
    assert "cache: standard tier, 5 GB (M2) (redis.standard.m2)" in render_text(estimate)


def test_a_worker_pool_pays_every_container_of_every_instance() -> None:
    pool = resource(
        "gcp:cloudrunv2/workerPool:WorkerPool",
        "pool",
        {
            "location": "europe-west1",
            "scaling": {"manualInstanceCount": 4, "scalingMode": "MANUAL"},
            "template": {
                "containers": [
                    {"name": "app", "resources": {"limits": {"cpu": "1500m", "memory": "1Gi"}}},
                    {"name": "otel", "resources": {"limits": {"cpu": "250m", "memory": "256Mi"}}},
                ]
            },
        },
    )
    # 4 x 2,628,000 s = 10,512,000 s; vCPU 1.75 x 10,512,000 x $0.000018 = 331.128
    # memory 1.25 x 10,512,000 x $0.000002 = 26.28; total 357.408
    assert monthly(fragment(pool)) == 357.408


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("* * * * *", 43_800.0),  # 60 x 24 x 730/24 days
        ("*/5 * * * *", 8_760.0),  # 12 x 24 x 30.41666...
        ("0 */6 * * *", 121.66666666666667),  # 4 x 30.41666...
    ],
)
def test_cron_runs_a_month(schedule: str, runs: float) -> None:
    assert cron_runs_per_month(schedule) == pytest.approx(runs, rel=1e-12)


def test_a_scheduled_job_runs_as_often_as_its_scheduler_job_says() -> None:
    job = resource(
        "gcp:cloudrunv2/job:Job",
        "job",
        {
            "location": "europe-west1",
            "name": "publish",
            "template": {
                "taskCount": 1,
                "template": {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "512Mi"}}}]},
            },
        },
    )
    scheduler = resource(
        "gcp:cloudscheduler/job:Job",
        "tick",
        {
            "region": "europe-west1",
            "schedule": "*/5 * * * *",
            "httpTarget": {"uri": "https://run.googleapis.com/v2/projects/p/locations/europe-west1/jobs/publish:run"},
        },
    )
    profile = TrafficProfile(job_run_seconds=20)
    # 8,760 runs x 20 s = 175,200 s; vCPU 175,200 x $0.000018 = 3.1536; memory 175,200 x 0.5 x $0.000002 = 0.1752
    # scheduler job $0.10; total 3.4288
    assert monthly(fragment(job, scheduler), profile) == 3.4288


def test_the_edge_load_balancer_and_cloud_armor_on_a_hand_written_fragment() -> None:
    https_rule = resource("gcp:compute/globalForwardingRule:GlobalForwardingRule", "https", {"portRange": "443"})
    http_rule = resource("gcp:compute/globalForwardingRule:GlobalForwardingRule", "http", {"portRange": "80"})
    armor = resource("gcp:compute/securityPolicy:SecurityPolicy", "armor", {"rules": [{}, {}, {}]})
    url_map = resource("gcp:compute/uRLMap:URLMap", "map", {})
    edge_armor = resource(
        "gcp:compute/securityPolicy:SecurityPolicy", "cdn", {"type": "CLOUD_ARMOR_EDGE", "rules": [{}]}
    )
    profile = TrafficProfile(requests_per_month=10_000_000, request_kb=2, response_kb=8)
    # https: 730 h x $0.025 = 18.25 [page]; data 10,000,000 x 10 kB = 10^11 bytes = 10^11 / 2^30
    #        = 93.13225746 GiB x $0.008 (processed in the stack's region, europe-west1) [recalled]
    #        = 0.74505806 -> 18.99505806
    # http:  730 h x $0.025 = 18.25 [page]
    # armor: policy $5 + 3 rules x $1 + 10,000,000 requests x $0.75 / 1,000,000 = 7.5 -> 15.5 [recalled]
    # edge policy (cached traffic, not in the profile): policy $5 + 1 rule x $1 = 6 [recalled]
    # url map: free.   total 18.99505806 + 18.25 + 15.5 + 6 = 58.74505806
    assert monthly(fragment(https_rule, http_rule, armor, edge_armor, url_map), profile) == 58.745058


def test_the_usage_pipeline_pubsub_and_bigquery_on_a_hand_written_fragment() -> None:
    topic = resource("gcp:pubsub/topic:Topic", "events", {})
    to_bigquery = resource("gcp:pubsub/subscription:Subscription", "sink", {"bigqueryConfig": {"table": "t"}})
    table = resource("gcp:bigquery/table:Table", "usage", {"location": "us-central1"})
    dataset = resource("gcp:bigquery/dataset:Dataset", "metering", {})
    view = resource("gcp:bigquery/table:Table", "monthly", {"view": {"query": "SELECT 1"}})
    profile = TrafficProfile(
        pubsub_gib_per_month_per_topic=10, bigquery_gib_per_table=50, bigquery_scanned_tib_per_month_per_table=0.1
    )
    # topic: 10 GiB = 10/1024 TiB x $40 = 0.390625
    # BigQuery subscription: 10/1024 TiB x $50 = 0.48828125
    # table: 50 GiB x $0.02 = 1.0; 0.1 TiB x $6.25 = 0.625
    # the view and the dataset: nothing of their own.  total 0.390625 + 0.48828125 + 1.0 + 0.625 = 2.50390625
    assert monthly(fragment(topic, to_bigquery, table, dataset, view), profile) == 2.503906


def test_a_log_bucket_pays_only_for_retention_beyond_30_days() -> None:
    audit = resource(
        "gcp:logging/projectBucketConfig:ProjectBucketConfig",
        "audit",
        {"location": "europe-west1", "retentionDays": 400},
    )
    short = resource(
        "gcp:logging/projectBucketConfig:ProjectBucketConfig",
        "short",
        {"location": "europe-west1", "retentionDays": 30},
    )
    # 2 GiB a month kept (400 - 30) / 30 months beyond the free 30 days = 24.6667 GiB-months x $0.01 = 0.246667
    assert monthly(fragment(audit)) == 0.246667
    assert monthly(fragment(short)) == 0.0


def test_the_estimate_of_a_stack_is_deterministic(graphs: dict[str, Any]) -> None:
    first = render_json(estimate_graph(graphs["prod"]))
    second = render_json(estimate_graph(copy.deepcopy(graphs["prod"])))

    assert first == second


def test_prod_costs_more_than_staging_and_staging_more_than_dev(graphs: dict[str, Any]) -> None:
    totals = {stack: estimate_graph(graphs[stack]).total for stack in STACKS}

    assert totals["prod"] > totals["staging"] > totals["dev"] > 0


def test_prod_api_service_is_instance_billed_with_sidecars_and_its_two_min_instances(graphs: dict[str, Any]) -> None:
    estimate = estimate_graph(graphs["prod"])
    api = [item for item in estimate.items if item.resource == "omni-prod-api-service" and item.fixed]

    # 1.5 + 0.25 + 0.25 vCPU, 1 + 0.25 + 0.25 GiB; 2 x 2,628,000 s = 5,256,000 s
    # vCPU 2.0 x 5,256,000 x $0.000018 = 189.216; memory 1.5 x 5,256,000 x $0.000002 = 15.768
    assert sorted(round(item.monthly, 6) for item in api) == [15.768, 189.216]
    assert {item.price_id for item in api} == {"run.instance.cpu", "run.instance.memory"}


# --- the traffic profile ----------------------------------------------------------------------


def test_a_profile_key_no_one_knows_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "traffic.yaml"
    path.write_text("requests_per_month: 5000000\nrequest_size_kb: 3\n", encoding="utf-8")

    with pytest.raises(ProfileError) as caught:
        load_profile(path)

    assert "unknown key 'request_size_kb'" in str(caught.value)
    assert "request_kb" in str(caught.value)


def test_a_wrong_profile_value_is_refused_naming_the_key() -> None:
    with pytest.raises(ProfileError, match="cache_hit_rate: Input should be less than or equal to 1"):
        build_profile({"cache_hit_rate": 93.5})
    with pytest.raises(ProfileError, match="requests_per_month: Input should be a valid integer"):
        build_profile({"requests_per_month": "lots"})


def test_options_override_the_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "traffic.yaml"
    path.write_text("requests_per_month: 5000000\nmean_duration_ms: 200\n", encoding="utf-8")

    profile = load_profile(path, {"mean_duration_ms": 50})

    assert (profile.requests_per_month, profile.mean_duration_ms) == (5_000_000, 50)


def test_every_assumption_is_printed_with_the_estimate(graphs: dict[str, Any]) -> None:
    text = render_text(estimate_graph(graphs["dev"]))

    for name in TrafficProfile.model_fields:
        assert f"  {name} = " in text
    assert "Left out: taxes" in text
    assert "Unverified price rows used" in text
    assert "  sql.enterprise.vcpu [europe-west1] (recalled): 0.0454 USD per 1 vCPU-hour: Recalled;" in text


# --- the cost of one request -------------------------------------------------------------------


def test_the_cost_of_one_request_splits_fixed_and_variable_and_shows_the_cache() -> None:
    database = resource(
        "gcp:sql/databaseInstance:DatabaseInstance",
        "db",
        {
            "region": "us-central1",
            "settings": {"tier": "db-custom-1-3840", "availabilityType": "ZONAL", "diskSize": 10, "diskType": "PD_SSD"},
        },
    )
    api = resource(
        "gcp:cloudrunv2/service:Service",
        "api",
        {
            "location": "us-central1",
            "labels": {"service": "api"},
            "template": {"containers": [{"name": "app"}]},
        },
    )
    profile = TrafficProfile(
        requests_per_month=1_000_000,
        mean_duration_ms=100,
        cache_hit_rate=0.5,
        cache_hit_duration_ms=10,
        concurrency_utilization=0.5,
        queries_per_request=3,
    )

    result = per_request(fragment(database, api), profile)

    # fixed: vCPU 1 x 730 x $0.0413 = 30.149; memory 3.75 GB x 730 x $0.007 = 19.1625; SSD 10 x $0.17 = 1.7
    #        = 51.0115
    # with the cache: mean 0.5 x 10 + 0.5 x 100 = 55 ms; busy 1,000,000 x 0.055 / 40 = 1,375 s
    #   vCPU 1,375 x $0.000024 = 0.033; memory 1,375 x 0.5 x $0.0000025 = 0.00171875; requests 0.40
    #   variable = 0.43471875; per request (51.0115 + 0.43471875) / 1,000,000 = 0.00005144621875
    # without: busy 2,500 s -> 0.06 + 0.003125 + 0.40 = 0.463125; (51.0115 + 0.463125) / 1e6 = 0.000051474625
    assert round(result.fixed, 6) == 51.0115
    assert round(result.variable, 8) == 0.43471875
    assert result.per_request == pytest.approx(0.00005144621875, rel=1e-12)
    assert result.per_request_without_cache == pytest.approx(0.000051474625, rel=1e-12)
    assert result.database_queries_avoided == 1_500_000  # 1,000,000 x 0.5 x 3
    assert result.target == 0.0006


def test_the_default_cache_hit_rate_is_the_pooling_labs_measured_figure() -> None:
    lab = (Path(__file__).resolve().parent.parent / "docs" / "pooling-lab.md").read_text(encoding="utf-8")

    assert "93.5%" in lab
    assert TrafficProfile().cache_hit_rate == 0.935


# --- cost in review ----------------------------------------------------------------------------


def test_a_diff_names_the_monthly_delta_and_the_biggest_movers() -> None:
    before = fragment(min_instances_service("europe-west1"), stack="prod")
    bigger = copy.deepcopy(before)
    bigger["resources"][1]["inputs"]["template"]["scaling"]["minInstanceCount"] = 4
    bigger["resources"].append(ha_database("europe-west1"))

    delta = cost_delta(estimate_graph(before), estimate_graph(bigger))

    # svc: 126.144 -> 252.288 (+126.144); db: +470.968 (worked examples above)
    # after: 252.288 + 470.968 = 723.256; change 597.112; 597.112 / 126.144 = +473.4 %
    assert delta_line(delta) == (
        "cost: $126.14 -> $723.26 a month (+$597.11, +473.4%); biggest movers: db +$470.97, svc +$126.14"
    )
    assert delta_markdown(delta).startswith("- **`prod`** monthly cost: $126.14 → $723.26 (**+$597.11**, +473.4%)")


def test_the_pull_request_comment_carries_the_cost_line_above_the_details(graphs: dict[str, Any]) -> None:
    graph = graphs["dev"]
    report = compute_diff(graph, graph)
    line = delta_markdown(cost_delta(estimate_graph(graph), estimate_graph(graph)))

    comment = render_markdown_comment([report], cost_lines=[line])

    assert line in comment
    assert comment.index(line) < comment.index("## omni diff: stack `dev`")


# --- the budget per stack -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_have_a_budget_that_opens_tickets_through_the_ticket_channel(
    graphs: dict[str, Any], applied: dict[str, Any], stack: str
) -> None:
    (budget,) = resources(graphs[stack], "gcp:billing/budget:Budget")
    inputs = budget["inputs"]
    ticket = f"omni-{stack}-alerts-ticket"

    assert inputs["billingAccount"] == "012345-6789AB-CDEF01"
    assert [(r["spendBasis"], r["thresholdPercent"]) for r in inputs["thresholdRules"]] == [
        ("CURRENT_SPEND", 0.5),
        ("CURRENT_SPEND", 0.9),
        ("CURRENT_SPEND", 1),
        ("FORECASTED_SPEND", 1),
    ]
    assert inputs["allUpdatesRule"]["disableDefaultIamRecipients"] is True
    assert [d.rsplit("::", 1)[-1] for d in budget["propertyDependencies"]["allUpdatesRule"]] == [ticket]
    # The project's number is read at deploy time (known after apply); the filter names it.
    (deployed,) = resources(applied[stack], "gcp:billing/budget:Budget")
    assert re.fullmatch(r"projects/[0-9]+", deployed["inputs"]["budgetFilter"]["projects"][0])
    assert "billingbudgets" in {
        r["name"].rsplit("-", 1)[-1] for r in resources(graphs[stack], "gcp:projects/service:Service")
    }


def test_dev_has_no_budget_while_its_billing_account_is_unset(graphs: dict[str, Any]) -> None:
    assert resources(graphs["dev"], "gcp:billing/budget:Budget") == []


BASE = {"gcp:project": "omni-api-dev", "omni-infra:environment": "dev", "omni-infra:protect": "false"}


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        ({"billingAccount": "0123456789ABCDEF01", "monthlyBudget": 10}, "String should match pattern"),
        ({"billingAccount": "012345-6789AB-CDEF01"}, "cost.monthlyBudget is required with cost.billingAccount"),
        ({"billingAccount": "012345-6789AB-CDEF01", "monthlyBudget": -5}, "greater than 0"),
        ({"actualThresholds": [0]}, "0.0 is not a share of the budget"),
    ],
)
def test_a_wrong_budget_setting_is_refused_naming_the_key(cost: dict[str, Any], message: str) -> None:
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("dev", {**BASE, "omni-infra:cost": json.dumps(cost)}, set())

    assert "omni-infra:cost" in str(caught.value)
    assert message in str(caught.value)


def test_a_budget_the_estimate_already_exceeds_is_warned_about(graphs: dict[str, Any]) -> None:
    from cli.cost import budget_amount, budget_warning

    graph = copy.deepcopy(graphs["prod"])
    assert budget_amount(graph) == 2500.0
    assert budget_warning(graph, estimate_graph(graph)) is None

    (budget,) = resources(graph, "gcp:billing/budget:Budget")
    budget["inputs"]["amount"]["specifiedAmount"]["units"] = "100"
    warning = budget_warning(graph, estimate_graph(graph))

    assert warning is not None
    assert "already exceeds the budget $100.00" in warning


# --- the command ----------------------------------------------------------------------------------


def test_omni_cost_prints_the_per_request_cost_next_to_the_target_and_a_bad_option_exits_2() -> None:
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["cost", "--stack", "dev", "--per-request", "--brief", "--requests-per-month", "1000000", "-C", str(ROOT)]
    )

    assert result.exit_code == 0, result.output
    assert "one API request on stack dev at 1,000,000 requests a month" in result.output
    assert "the roadmap's target $0.000600" in result.output
    assert "Coverage: 100%" in result.output

    bad = runner.invoke(app, ["cost", "--stack", "dev", "--cache-hit-rate", "93.5", "-C", str(ROOT)])
    assert bad.exit_code == 2
    assert "cache_hit_rate: Input should be less than or equal to 1" in bad.output
