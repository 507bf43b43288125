"""Program bugs the real Pulumi engine (or the cloud behind it) refuses, refused offline too:
duplicate URNs, Outputs formatted into strings, invented invoke answers, and inputs the
provider's schema validation rejects."""

from __future__ import annotations

import pytest

from offline.declarations import DuplicateUrnError, OutputFormattedError
from offline.engine import run_stack
from offline.graph import UNKNOWN
from offline.outputs import OfflineInvokeError
from offline.validation import InputRejected

STACK_FILE = """
config:
  gcp:project: probe-project
  gcp:region: europe-west1
"""

TWO_GRANTS_ONE_NAME = """
import pulumi
import pulumi_gcp as gcp

def grant(name, role):
    return gcp.projects.IAMMember(name, project="probe-project", role=role,
                                  member="serviceAccount:api@probe-project.iam.gserviceaccount.com")

grant("omni-dev-api-cloudsql", "roles/cloudsql.client")
grant("omni-dev-api-cloudsql", "roles/cloudsql.instanceUser")
"""


def test_two_resources_with_one_urn_fail_naming_the_urn_and_both_declarations(make_project):
    with pytest.raises(DuplicateUrnError) as refused:
        run_stack(make_project(TWO_GRANTS_ONE_NAME, STACK_FILE), "test")
    message = str(refused.value)
    assert "urn:pulumi:test::probe::gcp:projects/iAMMember:IAMMember::omni-dev-api-cloudsql" in message
    assert "Duplicate resource URN" in message
    # Both declarations: type, name, parent and the program line that declared them (the helper
    # is called from lines 9 and 10; the resource is declared inside it, on line 6).
    assert (
        message.count("gcp:projects/iAMMember:IAMMember 'omni-dev-api-cloudsql' under the stack at __main__.py:6") == 2
    )


def test_same_name_under_different_parents_is_two_urns_and_allowed(make_project):
    program = """
import pulumi
import pulumi_gcp as gcp

class Box(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("probe:index:Box", name, None)
        gcp.compute.Network("net", auto_create_subnetworks=False, opts=pulumi.ResourceOptions(parent=self))

Box("a")
Box("b")
"""
    with pytest.raises(DuplicateUrnError, match=r"probe:index:Box 'a'.*\n.*probe:index:Box 'b'"):
        # Same type, same name AND same parent type: the URNs collide (a URN holds the parent's
        # type, not its name), as Pulumi's would.
        run_stack(make_project(program, STACK_FILE), "test")


def test_children_named_from_their_component_do_not_collide(make_project):
    program = """
import pulumi
import pulumi_gcp as gcp

class Box(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("probe:index:Box", name, None)
        gcp.compute.Network(f"{name}-net", auto_create_subnetworks=False, opts=pulumi.ResourceOptions(parent=self))

Box("a")
Box("b")
"""
    graph = run_stack(make_project(program, STACK_FILE), "test")
    assert sorted(r.name for r in graph.resources if r.custom) == ["a-net", "b-net"]


def test_an_output_formatted_into_a_string_fails_naming_the_resource_and_line(make_project):
    program = """
import pulumi_gcp as gcp

account = gcp.serviceaccount.Account("api", account_id="api")
gcp.projects.IAMMember("api-logs", project="probe-project", role="roles/logging.logWriter",
                       member=f"serviceAccount:{account.email}")
"""
    with pytest.raises(OutputFormattedError) as refused:
        run_stack(make_project(program, STACK_FILE), "test")
    message = str(refused.value)
    assert "gcp:serviceaccount/account:Account 'api' (its `email`)" in message
    assert "__main__.py:6" in message  # the line holding the f-string
    assert "pulumi.Output.format" in message


def test_an_output_built_with_output_format_is_accepted(make_project):
    program = """
import pulumi
import pulumi_gcp as gcp

account = gcp.serviceaccount.Account("api", account_id="api")
gcp.projects.IAMMember("api-logs", project="probe-project", role="roles/logging.logWriter",
                       member=pulumi.Output.format("serviceAccount:{0}", account.email))
"""
    graph = run_stack(make_project(program, STACK_FILE), "test")
    [grant] = [r for r in graph.resources if r.name == "api-logs"]
    assert grant.inputs["member"] == UNKNOWN


PROJECT_NUMBER_PROGRAM = """
import pulumi
import pulumi_gcp as gcp

number = gcp.organizations.get_project_output(project_id="probe-project").number
pulumi.export("audience", number.apply(lambda n: f"/projects/{n}/global/backendServices/api"))
"""


def test_an_invoke_answer_known_only_in_the_cloud_stays_unknown_in_preview(make_project):
    graph = run_stack(make_project(PROJECT_NUMBER_PROGRAM, STACK_FILE), "test")
    assert graph.outputs["audience"] == UNKNOWN
    assert "simulated" not in graph.to_json()


def test_simulated_apply_answers_invokes_with_stand_ins_and_says_so(make_project):
    graph = run_stack(make_project(PROJECT_NUMBER_PROGRAM, STACK_FILE), "test", preview=False).to_json()
    assert graph["outputs"]["audience"].startswith("/projects/")
    assert UNKNOWN not in graph["outputs"]["audience"]
    assert graph["simulated"] == {"standInInvokes": ["gcp:organizations/getProject:getProject"]}


def test_an_invoke_without_a_stand_in_fails_the_simulated_apply(make_project):
    program = """
import pulumi_gcp as gcp
gcp.compute.get_network_output(name="default")
"""
    project = make_project(program, STACK_FILE)
    run_stack(project, "test")  # preview: unknown, as any invoke
    with pytest.raises(OfflineInvokeError, match="gcp:compute/getNetwork:getNetwork"):
        run_stack(project, "test", preview=False)


def test_dev_snapshot_holds_no_invented_project_number(graphs):
    grafana = [
        r
        for r in graphs["dev"]["resources"]
        if r["type"] == "gcp:cloudrunv2/service:Service" and "grafana" in r["name"]
    ]
    assert grafana, "the dev stack declares Grafana's service"
    assert graphs["dev"]["outputs"]["grafana_url"] == UNKNOWN


# --- the provider's input validation --------------------------------------------------------

REDIS_PROGRAM = """
import pulumi_gcp as gcp
gcp.redis.Instance("cache", name="cache", memory_size_gb=1, region="europe-west1", connect_mode="{connect_mode}")
"""


def test_a_value_outside_the_providers_allowed_set_fails_naming_resource_field_value_and_allowed(make_project):
    project = make_project(REDIS_PROGRAM.format(connect_mode="PRIVATE_SERVICES_ACCESS"), STACK_FILE)
    with pytest.raises(InputRejected) as refused:
        run_stack(project, "test")
    message = str(refused.value)
    assert "gcp:redis/instance:Instance 'cache': connectMode = 'PRIVATE_SERVICES_ACCESS' is not accepted" in message
    assert "allowed: DIRECT_PEERING, PRIVATE_SERVICE_ACCESS" in message


def test_the_allowed_value_passes(make_project):
    run_stack(make_project(REDIS_PROGRAM.format(connect_mode="PRIVATE_SERVICE_ACCESS"), STACK_FILE), "test")


def test_a_missing_required_field_inside_a_block_fails(make_project):
    program = """
import pulumi_gcp as gcp
gcp.projects.IAMMember("grant", project="probe-project", role="roles/viewer", member="user:a@example.com",
                       condition={"expression": "request.time < timestamp('2030-01-01T00:00:00Z')"})
"""
    with pytest.raises(InputRejected, match=r"IAMMember 'grant': condition.title is required by the provider"):
        run_stack(make_project(program, STACK_FILE), "test")


def test_a_list_longer_than_the_provider_accepts_fails(make_project):
    # google_compute_firewall: source_service_accounts has MaxItems 10.
    accounts = [f"sa{i}@probe-project.iam.gserviceaccount.com" for i in range(11)]
    program = f"""
import pulumi_gcp as gcp
gcp.compute.Firewall("fw", network="default", allows=[{{"protocol": "tcp"}}], source_service_accounts={accounts!r})
"""
    with pytest.raises(
        InputRejected, match=r"Firewall 'fw': sourceServiceAccounts has 11 items; the provider accepts at most 10"
    ):
        run_stack(make_project(program, STACK_FILE), "test")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_provider_facts_cover_every_type_each_stack_declares(graphs, stack):
    from offline.validation import coverage

    covered = coverage(graphs[stack])
    assert covered.missing == ()
    assert covered.covered == len(covered.declared) >= 30
    assert all(t.startswith("gcp:") for t in covered.from_schema)


def test_the_preview_prints_the_coverage(graphs):
    from offline.preview import render_preview_text

    last = render_preview_text(graphs["prod"]).rstrip("\n").splitlines()[-1]
    assert last.startswith("Provider facts: ")
    assert "resource types covered (100%)" in last


def test_the_cli_reports_a_refusal_with_exit_2_and_no_traceback(make_project):
    from typer.testing import CliRunner

    from cli.main import app

    project = make_project(TWO_GRANTS_ONE_NAME, STACK_FILE)
    result = CliRunner().invoke(
        app, ["preview", "--stack", "test", "-C", str(project.root)], env={"OMNI_GRAPH_CACHE": "off"}
    )
    assert result.exit_code == 2
    assert "duplicate resource URN" in result.output
    assert "Traceback" not in result.output
