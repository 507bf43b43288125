"""Customer-managed encryption (CMEK): prod's data stores are encrypted with the stack's own Cloud
KMS keys, one per class of data, each usable only by its product's service agent; adopting keys
on existing data stores shows as danger in `omni diff`; dev turns it off; bad settings are refused
naming the key; the deployer cannot disable or destroy a key version, and doing so pages."""

from __future__ import annotations

from typing import Any

import pytest

from components.deploy_identity import KMS_ROLE
from dashboards.queries import kms_key_events
from observability.promql import expand_grafana_variables
from offline import facts
from offline.diff import ChangeKind, DangerKind, compute_diff
from offline.engine import run_stack
from offline.monitoring import load_monitoring_config
from offline.producers import Query, unproduced_series

from .conftest import ROOT, edit_stack_file, one, resources
from .test_config import failing_run

KEY_RING = "gcp:kms/keyRing:KeyRing"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_GRANT = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
BUCKET = "gcp:storage/bucket:Bucket"
DATASET = "gcp:bigquery/dataset:Dataset"
TABLE = "gcp:bigquery/table:Table"
TOPIC = "gcp:pubsub/topic:Topic"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
LOG_METRIC = "gcp:logging/metric:Metric"
PROD_KEYS = "projects/omni-api-prod/locations/europe-west1/keyRings/omni-prod-keys/cryptoKeys"
PROD_NUMBER = "609525529359"  # the offline engine's stand-in project number of omni-api-prod


def named(graph: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    [found] = [r for r in resources(graph, type_) if r["name"] == name]
    return found


def test_prod_has_one_key_ring_in_its_region_and_a_key_per_class_of_data(graphs):
    prod = graphs["prod"]
    ring = one(prod, KEY_RING)
    keys = {r["inputs"]["name"]: r for r in resources(prod, CRYPTO_KEY)}

    assert ring["inputs"]["name"] == "omni-prod-keys"
    assert ring["inputs"]["location"] == "europe-west1"  # stacks/Pulumi.prod.yaml's region
    assert sorted(keys) == ["analytics", "cache", "database", "images", "messaging", "objects"]
    for key in keys.values():
        assert key["inputs"]["purpose"] == "ENCRYPT_DECRYPT"
        assert key["inputs"]["rotationPeriod"] == "7776000s"  # 90 days
        assert key["inputs"]["destroyScheduledDuration"] == "2592000s"  # 30 days
        assert key["inputs"]["versionTemplate"] == {
            "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
            "protectionLevel": "SOFTWARE",
        }
        # Deleting a key destroys its versions, and with them every byte they encrypted.
        assert key["protect"] is True
    assert ring["protect"] is True


def test_every_prod_data_store_names_its_class_key(applied):
    prod = applied["prod"]

    for name in ("omni-prod-pg", "omni-prod-pg-replica"):
        assert named(prod, SQL, name)["inputs"]["encryptionKeyName"] == f"{PROD_KEYS}/database"
    for name in ("omni-prod-cache-redis", "omni-prod-broker-redis"):
        assert named(prod, REDIS, name)["inputs"]["customerManagedKey"] == f"{PROD_KEYS}/cache"
    repository = named(prod, REPOSITORY, "omni-prod-repository")
    assert repository["inputs"]["kmsKeyName"] == f"{PROD_KEYS}/images"
    grafana = named(prod, BUCKET, "omni-prod-grafana-provisioning")
    assert grafana["inputs"]["encryption"] == {"defaultKmsKeyName": f"{PROD_KEYS}/objects"}
    dataset = one(prod, DATASET)
    assert dataset["inputs"]["defaultEncryptionConfiguration"] == {"kmsKeyName": f"{PROD_KEYS}/analytics"}
    for name in ("omni-prod-usage-events", "omni-prod-usage-invoices"):
        assert named(prod, TABLE, name)["inputs"]["encryptionConfiguration"] == {"kmsKeyName": f"{PROD_KEYS}/analytics"}
    for topic in resources(prod, TOPIC):
        assert topic["inputs"]["kmsKeyName"] == f"{PROD_KEYS}/messaging"
        # A regional key protects messages stored where it is.
        assert topic["inputs"]["messageStoragePolicy"] == {"allowedPersistenceRegions": ["europe-west1"]}


def test_published_and_cached_data_keep_googles_encryption(applied):
    prod = applied["prod"]

    # The status page is public: a key would guard nothing and cost an operation per read.
    assert "encryption" not in named(prod, BUCKET, "omni-prod-status-site")["inputs"]
    # The Docker Hub mirror caches public images.
    assert "kmsKeyName" not in named(prod, REPOSITORY, "omni-prod-grafana-dockerhub")["inputs"]


def test_each_key_is_usable_by_its_products_service_agent_only(applied):
    grants = {r["name"]: r["inputs"] for r in resources(applied["prod"], KEY_GRANT)}
    # The documented agent of each product (docs/encryption.md, "Service agents").
    expected = {
        "database": f"service-{PROD_NUMBER}@gcp-sa-cloud-sql.iam.gserviceaccount.com",
        "cache": f"service-{PROD_NUMBER}@cloud-redis.iam.gserviceaccount.com",
        "objects": f"service-{PROD_NUMBER}@gs-project-accounts.iam.gserviceaccount.com",
        "analytics": f"bq-{PROD_NUMBER}@bigquery-encryption.iam.gserviceaccount.com",
        "messaging": f"service-{PROD_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com",
        "images": f"service-{PROD_NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com",
    }

    assert sorted(grants) == sorted(f"omni-prod-{data_class}-key-user" for data_class in expected)
    for data_class, email in expected.items():
        grant = grants[f"omni-prod-{data_class}-key-user"]
        assert grant["cryptoKeyId"] == f"{PROD_KEYS}/{data_class}"
        assert grant["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        assert grant["member"] == f"serviceAccount:{email}"


def test_a_data_store_is_created_after_its_agent_may_use_the_key(graphs):
    """The API refuses a key its service agent cannot use: without the dependency `pulumi up` races."""
    prod = graphs["prod"]
    grant_urns = {
        r["name"].removesuffix("-key-user").removeprefix("omni-prod-"): r["urn"] for r in resources(prod, KEY_GRANT)
    }
    waits = {
        (SQL, "omni-prod-pg"): "database",
        (SQL, "omni-prod-pg-replica"): "database",
        (REDIS, "omni-prod-cache-redis"): "cache",
        (REDIS, "omni-prod-broker-redis"): "cache",
        (REPOSITORY, "omni-prod-repository"): "images",
        (BUCKET, "omni-prod-grafana-provisioning"): "objects",
        (DATASET, "omni-prod-usage-dataset"): "analytics",
        (TOPIC, "omni-prod-usage-topic"): "messaging",
        (TOPIC, "omni-prod-usage-dead-letter"): "messaging",
    }
    for (type_, name), data_class in waits.items():
        assert grant_urns[data_class] in named(prod, type_, name)["dependencies"], name


def test_the_services_agents_that_may_not_exist_yet_are_created_first(graphs):
    identities = {
        r["inputs"]["service"] for r in resources(graphs["prod"], "gcp:projects/serviceIdentity:ServiceIdentity")
    }

    assert {
        "sqladmin.googleapis.com",
        "redis.googleapis.com",
        "pubsub.googleapis.com",
        "artifactregistry.googleapis.com",
    } <= identities


def test_dev_uses_googles_default_encryption_and_declares_no_key(graphs):
    dev = graphs["dev"]

    assert resources(dev, KEY_RING) == []
    assert resources(dev, CRYPTO_KEY) == []
    assert "encryptionKeyName" not in one(dev, SQL)["inputs"]
    assert all("customerManagedKey" not in r["inputs"] for r in resources(dev, REDIS))
    assert not [r for r in resources(dev, LOG_METRIC) if r["inputs"]["name"] == "kms_key_version_disabled_or_destroyed"]


def test_the_fields_that_adopt_a_key_are_force_new_in_the_provider_where_the_diff_says_replace():
    """The provider facts (scripts/extract_provider_facts.py) the replacements below rest on."""

    def force_new(type_: str) -> set[str]:
        found = facts.for_type(type_)
        assert found is not None, type_
        return set(found.force_new)

    force_new_of = {type_: force_new(type_) for type_ in (SQL, REDIS, REPOSITORY, TABLE)}

    assert "encryptionKeyName" in force_new_of[SQL]
    assert "customerManagedKey" in force_new_of[REDIS]
    assert "kmsKeyName" in force_new_of[REPOSITORY]
    assert "encryptionConfiguration" in force_new_of[TABLE]
    for type_, field in ((TOPIC, "kmsKeyName"), (BUCKET, "encryption"), (DATASET, "defaultEncryptionConfiguration")):
        assert field not in force_new(type_), type_


def test_adopting_keys_on_an_existing_stack_replaces_its_data_stores_and_the_diff_says_so(project_copy):
    """Staging, which may turn keys off (prod may not), stands for any stack created before its keys."""
    edit_stack_file(project_copy, "staging", "config:\n", "config:\n  omni-infra:encryption:\n    enabled: false\n")
    without_keys = run_stack(project_copy, "staging").to_json()
    edit_stack_file(project_copy, "staging", "  omni-infra:encryption:\n    enabled: false\n", "")
    with_keys = run_stack(project_copy, "staging").to_json()

    report = compute_diff(without_keys, with_keys)
    data_loss = {(d.type, d.name) for d in report.dangers if d.kind is DangerKind.REPLACE_STATEFUL}
    refused = {(d.type, d.name) for d in report.dangers if d.kind is DangerKind.REPLACE_PROTECTED}
    updated = {(r.type, r.name) for r in report.of_kind(ChangeKind.UPDATE)}

    replaced_stores = {
        (SQL, "omni-staging-pg"),
        (SQL, "omni-staging-pg-replica"),
        (REDIS, "omni-staging-cache-redis"),
        (REDIS, "omni-staging-broker-redis"),
        (REPOSITORY, "omni-staging-repository"),
        (TABLE, "omni-staging-usage-events"),
        (TABLE, "omni-staging-usage-invoices"),
    }
    assert replaced_stores <= data_loss
    # Protected (staging and prod): Pulumi refuses, so nothing is lost by accident; docs/encryption.md migrates.
    assert replaced_stores <= refused
    # Updated in place: new data uses the key, nothing is lost.
    assert {
        (TOPIC, "omni-staging-usage-topic"),
        (TOPIC, "omni-staging-usage-dead-letter"),
        (BUCKET, "omni-staging-grafana-provisioning"),
        (DATASET, "omni-staging-usage-dataset"),
    } <= updated
    assert not [d for d in report.dangers if d.type in (TOPIC, BUCKET, DATASET)]


def test_prod_without_keys_is_refused_naming_the_key_before_any_resource(project_copy):
    edit_stack_file(project_copy, "prod", "config:\n", "config:\n  omni-infra:encryption:\n    enabled: false\n")
    error, declared = failing_run(project_copy, "prod")

    assert "  omni-infra:encryption.enabled: found " in str(error)
    assert "prod encrypts its data with its own Cloud KMS keys" in str(error)
    assert declared == []


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        (
            "enabled: false",
            "enabled: false\n    rotationPeriodDays: 0",
            "omni-infra:encryption.rotationPeriodDays",
            "1",
        ),
        (
            "enabled: false",
            "enabled: false\n    protectionLevel: EXTERNAL",
            "omni-infra:encryption.protectionLevel",
            "HSM",
        ),
        (
            "enabled: false",
            "enabled: false\n    destroyScheduledDays: 365",
            "omni-infra:encryption.destroyScheduledDays",
            "120",
        ),
    ],
)
def test_a_bad_encryption_setting_is_refused_naming_the_key_before_any_resource(project_copy, old, new, key, words):
    edit_stack_file(project_copy, "dev", old, new)
    error, declared = failing_run(project_copy)

    assert f"  {key}: found " in str(error)
    assert words in str(error)
    assert declared == []


def test_the_deployer_manages_keys_but_cannot_disable_destroy_or_use_them():
    permissions = set(KMS_ROLE.permissions)

    assert {"cloudkms.keyRings.create", "cloudkms.cryptoKeys.create", "cloudkms.cryptoKeys.setIamPolicy"} <= permissions
    for forbidden in (
        "cloudkms.cryptoKeyVersions.destroy",
        "cloudkms.cryptoKeyVersions.update",
        "cloudkms.cryptoKeyVersions.useToEncrypt",
        "cloudkms.cryptoKeyVersions.useToDecrypt",
    ):
        assert forbidden not in permissions


def test_key_events_are_counted_from_the_kms_admin_audit_logs(graphs):
    [metric] = [
        r
        for r in resources(graphs["prod"], LOG_METRIC)
        if r["inputs"]["name"] == "kms_key_version_disabled_or_destroyed"
    ]
    log_filter = metric["inputs"]["filter"]

    # Method names from Cloud KMS's audit logging page (docs/encryption.md).
    assert 'protoPayload.serviceName="cloudkms.googleapis.com"' in log_filter
    assert 'protoPayload.methodName:"DestroyCryptoKeyVersion"' in log_filter
    assert 'protoPayload.methodName:"UpdateCryptoKeyVersion"' in log_filter
    assert 'protoPayload.request.cryptoKeyVersion.state="DISABLED"' in log_filter
    assert set(metric["inputs"]["labelExtractors"]) == {"key_ring", "crypto_key", "method"}


def test_the_key_events_panel_query_reads_a_series_prod_produces_and_dev_does_not():
    query = [Query("panel kms key events", expand_grafana_variables(kms_key_events()))]

    assert unproduced_series(query, load_monitoring_config("prod", ROOT).producers, ()) == []
    assert unproduced_series(query, load_monitoring_config("dev", ROOT).producers, ()) != []
