"""Paging: staging and prod page the on-call rotation through PagerDuty, dev pages nobody; the
routing key stays a secret from PagerDuty to Secret Manager and Cloud Monitoring; a stack that
cannot page as configured stops before anything is declared."""

from __future__ import annotations

import json

import pytest

from components.pagerduty import pagerduty_provider
from offline.engine import new_monitor, run_stack
from offline.graph import SECRET, STACK_TYPE
from offline.outputs import ComputedOutputs
from offline.stackfile import read_stack_file
from stackconfig import StackConfigError, load_stack_config
from stackconfig.loader import PAGERDUTY_TOKEN, deployment_problems
from stackconfig.runtime import providers_run

from .conftest import edit_stack_file, one, resources

SCHEDULE = "pagerduty:index/schedule:Schedule"
POLICY = "pagerduty:index/escalationPolicy:EscalationPolicy"
SERVICE = "pagerduty:index/service:Service"
INTEGRATION = "pagerduty:index/serviceIntegration:ServiceIntegration"
PROVIDER = "pulumi:providers:pagerduty"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
PAGERDUTY_TYPES = (SCHEDULE, POLICY, SERVICE, INTEGRATION, PROVIDER)
ROTATION = ["PA1B2C3", "PD4E5F6", "PG7H8J9"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_have_one_pagerduty_service_with_its_schedule_policy_and_events_v2_integration(graphs, stack):
    graph = graphs[stack]
    for rtype in PAGERDUTY_TYPES:
        assert len(resources(graph, rtype)) == 1, rtype
    integration = one(graph, INTEGRATION)
    assert integration["inputs"]["type"] == "events_api_v2_inbound_integration"
    assert one(graph, SERVICE)["urn"] in integration["propertyDependencies"]["service"]


def test_dev_pages_nobody_and_needs_no_pagerduty_at_all(graphs):
    graph = graphs["dev"]
    assert [
        r["type"] for r in graph["resources"] if r["type"].startswith(("pagerduty:", "pulumi:providers:pagerduty"))
    ] == []
    assert not [r for r in graph["resources"] if "pagerduty" in r["name"]]
    assert "pagerduty_service_id" not in graph["outputs"]


def test_the_schedule_rotates_the_configured_users_weekly_from_a_fixed_anchor(graphs):
    layer = one(graphs["prod"], SCHEDULE)["inputs"]["layers"][0]
    assert layer["users"] == ROTATION
    assert layer["rotationTurnLengthSeconds"] == 7 * 24 * 3600
    # 09:00 in Brussels on the anchor day, with the zone's winter offset.
    assert layer["rotationVirtualStart"] == layer["start"] == "2026-01-05T09:00:00+01:00"
    assert one(graphs["prod"], SCHEDULE)["inputs"]["timeZone"] == "Europe/Brussels"


def test_escalation_pages_the_on_call_engineer_then_the_whole_rotation(graphs):
    graph = graphs["prod"]
    policy = one(graph, POLICY)
    first, second = policy["inputs"]["rules"]
    assert [t["type"] for t in first["targets"]] == ["schedule_reference"]
    assert one(graph, SCHEDULE)["urn"] in policy["propertyDependencies"]["rules"]
    assert [(t["type"], t["id"]) for t in second["targets"]] == [("user_reference", user) for user in ROTATION]
    assert first["escalationDelayInMinutes"] == second["escalationDelayInMinutes"] == 15
    assert policy["inputs"]["numLoops"] == 2


def test_the_service_pages_at_high_urgency_and_never_resolves_on_a_timer(graphs):
    service = one(graphs["prod"], SERVICE)
    assert service["inputs"]["incidentUrgencyRule"] == {"type": "constant", "urgency": "high"}
    assert service["inputs"]["autoResolveTimeout"] == "null"
    assert service["protect"] is True
    assert one(graphs["prod"], POLICY)["urn"] in service["propertyDependencies"]["escalationPolicy"]


def test_staging_pages_the_rotation_at_low_urgency_so_it_never_wakes_anyone_nor_escalates(graphs):
    assert one(graphs["staging"], SERVICE)["inputs"]["incidentUrgencyRule"] == {"type": "constant", "urgency": "low"}


def test_prod_refuses_low_urgency():
    alerting = json.dumps({"ticketEmail": "t@omni.example", "pagerduty": {"onCall": ROTATION, "urgency": "low"}})
    with pytest.raises(StackConfigError, match="prod pages at high urgency"):
        load_stack_config("prod", {**PROD, "omni-infra:alerting": alerting}, set())


def test_a_provider_without_the_stacks_token_is_refused_where_providers_run():
    # The provider plugin would otherwise read PAGERDUTY_TOKEN from the operator's environment.
    assert providers_run() is True
    with pytest.raises(ValueError, match="never reads PAGERDUTY_TOKEN from the environment"):
        pagerduty_provider("omni-prod-pagerduty", None)


def test_every_pagerduty_resource_uses_the_stacks_explicit_provider(graphs):
    provider = one(graphs["prod"], PROVIDER)
    for rtype in (SCHEDULE, POLICY, SERVICE, INTEGRATION):
        assert one(graphs["prod"], rtype)["provider"] == provider["urn"]


def test_the_routing_key_is_a_secret_output_and_lands_in_secret_manager_encrypted(applied):
    graph = applied["prod"]
    integration = one(graph, INTEGRATION)
    assert "integrationKey" in integration["additionalSecretOutputs"]
    version = next(
        r for r in resources(graph, SECRET_VERSION) if r["name"] == "omni-prod-pagerduty-routing-key-version"
    )
    assert version["inputs"]["secretData"] == SECRET
    channel = next(r for r in graph["resources"] if r["name"].endswith("-pagerduty") and r["type"].startswith("gcp:"))
    assert channel["inputs"]["sensitiveLabels"]["serviceKey"] == SECRET


def test_the_routing_key_never_appears_in_plain_text_anywhere_in_the_applied_graph(applied):
    graph = applied["prod"]
    integration = one(graph, INTEGRATION)
    # The key the stand-in PagerDuty handed out for this integration.
    _, state = ComputedOutputs("omni-api-prod", "europe-west1", preview=False).for_resource(
        INTEGRATION, integration["name"], integration["urn"], integration["inputs"]
    )
    key = state["integrationKey"]
    assert len(key) == 32
    assert key not in json.dumps(graph)


def test_the_offline_engine_runs_paging_stacks_without_a_pagerduty_token(project):
    values, _ = read_stack_file(project.stack_file("prod"))
    assert PAGERDUTY_TOKEN not in values
    graph = run_stack(project, "prod").to_json()
    assert "token" not in one(graph, PROVIDER)["inputs"]


def test_a_token_set_as_a_secret_reaches_the_provider_masked(project_copy):
    edit_stack_file(project_copy, "prod", "config:\n", "config:\n  pagerduty:token:\n    secure: v1:abc\n")
    graph = run_stack(project_copy, "prod").to_json()
    assert one(graph, PROVIDER)["inputs"]["token"] == SECRET


# --- configuration that cannot page ---------------------------------------------------------

# The identity pool's repository ids are required in every stack (docs/deploy-security.md).
DEPLOY = {"omni-infra:deploy": json.dumps({"githubRepositoryId": "812345678", "githubOwnerId": "91234567"})}
# Prod's Essential Contacts are a deployment problem too (docs/compliance.md): present, so only paging is judged.
CONTACTS = {"omni-infra:compliance": json.dumps({"contacts": [{"email": "team@omni.example", "categories": ["ALL"]}]})}
PROD = {"gcp:project": "omni-api-prod", "omni-infra:environment": "prod", **DEPLOY, **CONTACTS}
READY = json.dumps({"ticketEmail": "tickets@omni.example", "pagerduty": {"onCall": ROTATION}})


def problems_of(values: dict[str, str], *, credentials: bool, stack: str = "prod") -> str:
    config = load_stack_config(stack, values, {PAGERDUTY_TOKEN} & set(values))
    return "\n".join(p.render() for p in deployment_problems(config, values, stack, credentials=credentials))


def test_a_real_deployment_without_the_token_names_the_key_and_the_command():
    message = problems_of({**PROD, "omni-infra:alerting": READY}, credentials=True)
    assert "pagerduty:token: found (missing)" in message
    assert "pulumi config set --secret 'pagerduty:token' <key> --stack prod" in message


def test_a_real_deployment_with_the_token_is_ready():
    assert problems_of({**PROD, "omni-infra:alerting": READY, PAGERDUTY_TOKEN: "k"}, credentials=True) == ""


def test_under_the_mock_runtime_the_token_is_not_needed():
    assert problems_of({**PROD, "omni-infra:alerting": READY}, credentials=False) == ""


def test_a_stack_that_does_not_page_never_needs_the_token():
    alerting = json.dumps({"ticketEmail": "tickets@omni.example", "pagerduty": {"enabled": False}})
    dev = {"gcp:project": "omni-api-dev", "omni-infra:environment": "dev", "omni-infra:alerting": alerting, **DEPLOY}
    assert problems_of(dev, credentials=True, stack="dev") == ""


def test_paging_without_a_rotation_says_how_to_add_one_or_turn_paging_off():
    message = problems_of(
        {**PROD, "omni-infra:alerting": json.dumps({"ticketEmail": "t@omni.example"})}, credentials=False
    )
    assert "omni-infra:alerting.pagerduty.onCall: found (missing)" in message
    assert "pulumi config set --path 'alerting.pagerduty.onCall[0]' PXPGF42 --stack prod" in message
    assert "pulumi config set --path 'alerting.pagerduty.enabled' false --stack prod" in message


def test_a_stack_without_a_ticket_queue_is_refused():
    message = problems_of(
        {**PROD, "omni-infra:alerting": json.dumps({"pagerduty": {"onCall": ROTATION}})}, credentials=False
    )
    assert "omni-infra:alerting.ticketEmail: found (missing)" in message
    assert "pulumi config set --path 'alerting.ticketEmail' <address> --stack prod" in message


def test_a_token_in_plain_text_is_refused_without_echoing_it():
    values = {**PROD, "omni-infra:alerting": READY, PAGERDUTY_TOKEN: "u+plaintext-token"}
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("prod", values, set())
    message = str(caught.value)
    assert "pagerduty:token: found a plain-text value" in message
    assert "pulumi config set --secret 'pagerduty:token' <value> --stack prod" in message
    assert "u+plaintext-token" not in message


def test_prod_cannot_turn_paging_off():
    values = {
        **PROD,
        "omni-infra:alerting": json.dumps({"ticketEmail": "t@omni.example", "pagerduty": {"enabled": False}}),
    }
    with pytest.raises(StackConfigError, match="prod must page"):
        load_stack_config("prod", values, set())


@pytest.mark.parametrize(
    ("pagerduty", "words"),
    [
        ({"onCall": ["alice@omni.example"]}, "is not a PagerDuty user ID"),
        ({"onCall": ["PA1B2C3", "PA1B2C3"]}, "appears twice"),
        ({"timeZone": "Europe/Atlantis"}, "unknown time zone 'Europe/Atlantis'"),
        ({"handoffTime": "9am"}, "should match pattern"),
        ({"rotationDays": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_paging_settings_name_the_key_and_the_rule(pagerduty, words):
    values = {**PROD, "omni-infra:alerting": json.dumps({"ticketEmail": "t@omni.example", "pagerduty": pagerduty})}
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("prod", values, set())
    assert "omni-infra:alerting.pagerduty." in str(caught.value)
    assert words in str(caught.value)


def test_a_staging_stack_file_without_its_rotation_stops_before_anything_is_declared(project_copy):
    edit_stack_file(project_copy, "staging", "      onCall: [PA1B2C3, PD4E5F6, PG7H8J9]\n", "")
    monitor = new_monitor(read_stack_file(project_copy.stack_file("staging"))[0])
    with pytest.raises(StackConfigError) as caught:
        run_stack(project_copy, "staging", monitor=monitor)
    assert "Pulumi.staging.yaml" in str(caught.value)
    assert "omni-infra:alerting.pagerduty.onCall: found (missing)" in str(caught.value)
    assert [r for r in monitor.recorded if r.type != STACK_TYPE] == []


def test_providers_run_for_real_outside_the_mock_runtime_and_not_under_the_offline_engine(make_project):
    assert providers_run() is True
    program = """
        import pulumi
        from stackconfig.runtime import providers_run
        pulumi.export("providers_run", providers_run())
    """
    graph = run_stack(make_project(program, "config: {}\n"), "test").to_json()
    assert graph["outputs"]["providers_run"] is False
