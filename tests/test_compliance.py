"""Enterprise controls (docs/compliance.md): Essential Contacts, security findings routed to the
ticket path, Sensitive Data Protection discovery over the usage dataset and the database; the
config that drives them, refused before any resource where it is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.rules import rule_groups
from components.data_discovery import dlp_service_agent, exactly
from components.deploy_identity import GRANTED_PROJECT_ROLES
from offline.monitoring import load_monitoring_config
from stackconfig.compliance import ComplianceSettings, finding_filter
from stackconfig.model import StackConfig

from .conftest import ROOT, edit_stack_file, one, resources
from .test_config import failing_run

CONTACT = "gcp:essentialcontacts/contact:Contact"
SCC = "gcp:securitycenter/v2ProjectNotificationConfig:V2ProjectNotificationConfig"
DISCOVERY = "gcp:dataloss/preventionDiscoveryConfig:PreventionDiscoveryConfig"
TOPIC = "gcp:pubsub/topic:Topic"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SERVICE = "gcp:projects/service:Service"


def named(graph: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    [found] = [r for r in resources(graph, type_) if r["name"] == name]
    return found


# --- the config -----------------------------------------------------------------------------------


def test_every_control_is_on_by_default() -> None:
    settings = ComplianceSettings()

    assert settings.findings.enabled
    assert settings.findings.scc_activated
    assert settings.findings.severities == ["HIGH", "CRITICAL"]
    assert settings.discovery.enabled
    assert settings.discovery.cloud_sql
    for model in (ComplianceSettings, type(settings.findings), type(settings.discovery)):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_the_scc_filter_selects_active_unmuted_findings_of_the_chosen_severities() -> None:
    assert finding_filter(["HIGH", "CRITICAL"]) == (
        'state="ACTIVE" AND -mute="MUTED" AND (severity="HIGH" OR severity="CRITICAL")'
    )
    assert finding_filter(["CRITICAL"]) == 'state="ACTIVE" AND -mute="MUTED" AND (severity="CRITICAL")'
    with pytest.raises(ValueError, match="at least one severity"):
        finding_filter([])


def test_all_covers_every_prod_category_and_is_listed_alone() -> None:
    everything = ComplianceSettings.model_validate(
        {"contacts": [{"email": "team@omni.example", "categories": ["ALL"]}]}
    )

    assert everything.missing_prod_categories() == []
    with pytest.raises(ValueError, match="ALL already includes"):
        ComplianceSettings.model_validate({"contacts": [{"email": "a@omni.example", "categories": ["ALL", "LEGAL"]}]})


BAD_COMPLIANCE = [
    # (stack file text, key named, words of the fix)
    (
        "    contacts:\n      - email: not-an-address\n        categories: [ALL]",
        "omni-infra:compliance.contacts[0].email",
        ["should match pattern"],
    ),
    (
        "    contacts:\n      - email: team@omni.example\n        categories: [SECRETS]",
        "omni-infra:compliance.contacts[0].categories[0]",
        ["'SECURITY'", "'BILLING'"],
    ),
    (
        "    contacts:\n      - email: team@omni.example\n        categories: [ALL]\n"
        "      - email: TEAM@omni.example\n        categories: [LEGAL]",
        "omni-infra:compliance.contacts",
        ["appears twice"],
    ),
    ("    findings:\n      severities: [HIGH, SEVERE]", "omni-infra:compliance.findings.severities[1]", ["'CRITICAL'"]),
    ("    findings:\n      retentionDays: 90", "omni-infra:compliance.findings.retentionDays", ["31"]),
    (
        "    contacts: []\n    findings:\n      scc: true",
        "omni-infra:compliance.findings.scc",
        ["unknown key", "sccActivated"],
    ),
]


@pytest.mark.parametrize(("text", "key", "fix_words"), BAD_COMPLIANCE, ids=[case[1] for case in BAD_COMPLIANCE])
def test_bad_compliance_config_names_the_key_and_declares_nothing(project_copy, text, key, fix_words) -> None:
    edit_stack_file(
        project_copy,
        "dev",
        "  omni-infra:compliance:\n    contacts:\n"
        "      - email: platform-engineers@omni.example\n        categories: [ALL]",
        f"  omni-infra:compliance:\n{text}",
    )
    error, declared = failing_run(project_copy)

    assert f"  {key}: found " in str(error), str(error)
    for words in fix_words:
        assert words in str(error), str(error)
    assert declared == []


def test_an_unknown_refresh_frequency_names_the_key(project_copy) -> None:
    edit_stack_file(
        project_copy, "dev", "      enabled: false  #", "      refreshFrequency: HOURLY\n      enabled: false  #"
    )
    error, declared = failing_run(project_copy)

    assert "  omni-infra:compliance.discovery.refreshFrequency: found 'HOURLY'" in str(error)
    assert "UPDATE_FREQUENCY_MONTHLY" in str(error)
    assert declared == []


@pytest.mark.parametrize("control", ["findings", "discovery"])
def test_prod_refuses_to_turn_a_control_off(project_copy, control: str) -> None:
    edit_stack_file(
        project_copy,
        "prod",
        "  omni-infra:compliance:\n",
        f"  omni-infra:compliance:\n    {control}:\n      enabled: false\n",
    )
    error, declared = failing_run(project_copy, "prod")

    assert f"omni-infra:compliance.{control}.enabled" in str(error)
    assert declared == []


def test_prod_without_a_security_and_legal_contact_is_refused_naming_the_categories(project_copy) -> None:
    edit_stack_file(
        project_copy,
        "prod",
        "      - email: security@omni.example\n        categories: [SECURITY, SUSPENSION]\n",
        "",
    )
    edit_stack_file(project_copy, "prod", "      - email: legal@omni.example\n        categories: [LEGAL]\n", "")
    error, declared = failing_run(project_copy, "prod")

    assert "omni-infra:compliance.contacts: found (missing)" in str(error)
    assert "Essential Contact for SECURITY, LEGAL" in str(error)
    assert declared == []


def test_dev_and_the_production_defaults_need_no_contacts() -> None:
    config = StackConfig.model_validate({"project": "omni-api-prod", "environment": "prod"})

    assert config.compliance.contacts == []


# --- what each stack declares -----------------------------------------------------------------------


def test_prod_declares_one_contact_per_address_with_its_categories(graphs) -> None:
    contacts = {r["inputs"]["email"]: r["inputs"] for r in resources(graphs["prod"], CONTACT)}

    assert sorted(contacts) == [
        "billing@omni.example",
        "legal@omni.example",
        "platform-engineers@omni.example",
        "security@omni.example",
    ]
    assert contacts["security@omni.example"]["notificationCategorySubscriptions"] == ["SECURITY", "SUSPENSION"]
    assert {c["parent"] for c in contacts.values()} == {"projects/omni-api-prod"}
    assert {c["languageTag"] for c in contacts.values()} == {"en"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_findings_go_to_a_topic_a_subscription_keeps_for_the_ticket(graphs, stack: str) -> None:
    topic = named(graphs[stack], TOPIC, f"omni-{stack}-findings-topic")
    subscription = named(graphs[stack], SUBSCRIPTION, f"omni-{stack}-findings-tickets")
    notification = one(graphs[stack], SCC)

    assert topic["inputs"]["name"] == f"omni-{stack}-security-findings"
    assert subscription["inputs"]["messageRetentionDuration"] == "604800s"  # 7 days
    assert subscription["inputs"]["expirationPolicy"] == {"ttl": ""}  # never deleted for inactivity
    assert subscription["propertyDependencies"]["topic"] == [topic["urn"]]
    assert notification["inputs"]["streamingConfig"]["filter"] == (
        'state="ACTIVE" AND -mute="MUTED" AND (severity="HIGH" OR severity="CRITICAL")'
    )
    assert notification["inputs"]["location"] == "global"
    assert notification["propertyDependencies"]["pubsubTopic"] == [topic["urn"]]


def test_without_scc_the_topic_stays_and_no_notification_config_is_declared(project_copy) -> None:
    from offline.engine import run_stack

    edit_stack_file(
        project_copy,
        "prod",
        "  omni-infra:compliance:\n",
        "  omni-infra:compliance:\n    findings:\n      sccActivated: false\n",
    )
    graph = run_stack(project_copy, "prod").to_json()

    assert resources(graph, SCC) == []
    assert named(graph, TOPIC, "omni-prod-findings-topic")["inputs"]["name"] == "omni-prod-security-findings"
    assert not any("publishToScc" in action for action in one(graph, DISCOVERY)["inputs"]["actions"])
    assert "omni-prod-apis-securitycenter" not in {r["name"] for r in resources(graph, SERVICE)}


def test_prod_discovery_profiles_the_usage_dataset_and_the_database(graphs) -> None:
    config = one(graphs["prod"], DISCOVERY)["inputs"]
    bigquery, cloud_sql = config["targets"]

    assert config["status"] == "RUNNING"
    assert config["parent"] == "projects/omni-api-prod/locations/europe-west1"
    patterns = bigquery["bigQueryTarget"]["filter"]["tables"]["includeRegexes"]["patterns"]
    assert patterns == [{"datasetIdRegex": "^omni_prod_usage$", "projectIdRegex": "^omni\\-api\\-prod$"}]
    sql_pattern = cloud_sql["cloudSqlTarget"]["filter"]["collection"]["includeRegexes"]["patterns"][0]
    assert sql_pattern["databaseRegex"] == "^omni$"
    assert cloud_sql["cloudSqlTarget"]["conditions"]["databaseEngines"] == ["POSTGRES"]
    events = [a["pubSubNotification"]["event"] for a in config["actions"] if "pubSubNotification" in a]
    assert events == ["NEW_PROFILE", "SCORE_INCREASED"]
    assert {"publishToScc": {}} in config["actions"]


def test_the_dlp_service_agent_may_profile_and_publish(graphs) -> None:
    graph = graphs["prod"]
    driver = named(graph, PROJECT_IAM, "omni-prod-discovery-dlp-agent-dlp-projectdriver")
    publisher = named(graph, TOPIC_IAM, "omni-prod-discovery-dlp-agent-publisher")
    discovery = one(graph, DISCOVERY)

    assert driver["inputs"]["role"] == "roles/dlp.projectdriver"
    assert publisher["inputs"]["role"] == "roles/pubsub.publisher"
    # The agent exists once the API is first used: the grants follow the config.
    assert discovery["urn"] in driver["dependencies"]
    assert discovery["urn"] in publisher["dependencies"]
    assert "roles/dlp.projectdriver" not in GRANTED_PROJECT_ROLES  # granted where discovery runs only


def test_the_agent_is_the_projects_dlp_service_agent() -> None:
    assert dlp_service_agent("123456789") == "serviceAccount:service-123456789@dlp-api.iam.gserviceaccount.com"
    with pytest.raises(ValueError, match="not digits"):
        dlp_service_agent("omni-api-prod")


def test_discovery_regexes_match_the_name_only() -> None:
    import re

    assert re.fullmatch(exactly("omni_prod_usage"), "omni_prod_usage")
    assert not re.fullmatch(exactly("omni_prod_usage"), "omni_prod_usage_old")
    assert re.fullmatch(exactly("omni-api-prod"), "omni-api-prod")
    assert not re.fullmatch(exactly("omni.prod"), "omnixprod")


def test_dev_turns_discovery_off_and_keeps_contacts_and_findings(graphs) -> None:
    dev = graphs["dev"]

    assert resources(dev, DISCOVERY) == []
    assert "omni-dev-apis-dlp" not in {r["name"] for r in resources(dev, SERVICE)}
    assert len(resources(dev, CONTACT)) == 1
    assert len(resources(dev, SCC)) == 1


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_controls_apis_are_enabled_where_used(graphs, stack: str) -> None:
    services = {r["inputs"]["service"] for r in resources(graphs[stack], SERVICE)}

    assert {"essentialcontacts.googleapis.com", "securitycenter.googleapis.com", "dlp.googleapis.com"} <= services


# --- the signal -----------------------------------------------------------------------------------


def test_the_findings_ticket_reads_the_stacks_own_topic() -> None:
    for stack in ("dev", "prod"):
        (group,) = [g for g in rule_groups(load_monitoring_config(stack, ROOT)) if g.name == "security-findings"]
        (alert,) = group.alerts
        assert f'topic_id="omni-{stack}-security-findings"' in alert.expr
        assert alert.severity.value == "warning"


def test_a_stack_without_findings_has_no_findings_alert(project_copy) -> None:
    edit_stack_file(
        project_copy,
        "dev",
        "    discovery:\n",
        "    findings:\n      enabled: false\n    discovery:\n",
    )
    monitoring = load_monitoring_config("dev", project_copy.root)

    assert monitoring.findings_topic is None
    assert "security-findings" not in {g.name for g in rule_groups(monitoring)}


def test_the_findings_query_a_dashboard_panel_shows_reads_only_produced_series() -> None:
    from alerts.compliance import findings_published
    from offline.producers import Query, unproduced_series

    for stack in ("dev", "staging", "prod"):
        monitoring = load_monitoring_config(stack, ROOT)
        assert monitoring.findings_topic is not None
        query = Query("Security board: findings published", findings_published(monitoring.findings_topic))
        assert unproduced_series([query], monitoring.producers, ()) == []


def test_the_stacks_severities_and_retention_reach_scc_and_the_subscription(project_copy) -> None:
    from offline.engine import run_stack

    edit_stack_file(
        project_copy,
        "prod",
        "  omni-infra:compliance:\n",
        "  omni-infra:compliance:\n    findings:\n      severities: [CRITICAL]\n      retentionDays: 14\n",
    )
    graph = run_stack(project_copy, "prod").to_json()

    assert one(graph, SCC)["inputs"]["streamingConfig"]["filter"] == (
        'state="ACTIVE" AND -mute="MUTED" AND (severity="CRITICAL")'
    )
    assert named(graph, SUBSCRIPTION, "omni-prod-findings-tickets")["inputs"]["messageRetentionDuration"] == "1209600s"
