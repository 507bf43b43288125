"""The offline engine: what it records for any program, and what it must never invent or show."""

from __future__ import annotations

import json

import pytest

from offline.engine import run_stack
from offline.graph import SECRET, UNKNOWN, dumps
from offline.monitor import OfflineReadError, SecretLeakError
from offline.outputs import OfflineInvokeError

from .conftest import STACKS, one

STACK_FILE = """
config:
  gcp:project: probe-project
  gcp:region: europe-west1
  omni-infra:apiToken:
    secure: v1:c2VjcmV0LWNpcGhlcnRleHQ=
"""

OPTIONS_PROGRAM = """
import pulumi
import pulumi_gcp as gcp

class Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("probe:index:Box", name, None, opts)
        self.net = gcp.compute.Network(
            f"{name}-net",
            auto_create_subnetworks=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                retain_on_delete=True,
                delete_before_replace=True,
                ignore_changes=["description"],
                aliases=[pulumi.Alias(name="old-net")],
            ),
        )
        self.register_outputs({})

box = Box("box")
subnet = gcp.compute.Subnetwork(
    "subnet",
    network=box.net.id,
    ip_cidr_range="10.0.0.0/24",
    region="europe-west1",
    opts=pulumi.ResourceOptions(depends_on=[box]),
)
pulumi.export("network_id", box.net.id)
pulumi.export("network_link", box.net.self_link.apply(lambda link: link.upper()))
pulumi.export("name", box.net.name)
"""

SECRET_PROGRAM = """
import pulumi
import pulumi_gcp as gcp

token = pulumi.Config("omni-infra").require_secret("apiToken")
secret = gcp.secretmanager.Secret("token", secret_id="token", replication={"auto": {}})
gcp.secretmanager.SecretVersion("token-v1", secret=secret.id, secret_data=token)
pulumi.export("token", token)
"""


def by_name(graph, name):
    return next(r for r in graph.resources if r.name == name).to_json()


def test_records_parent_protect_and_every_resource_option(make_project):
    graph = run_stack(make_project(OPTIONS_PROGRAM, STACK_FILE), "test")
    box, net = by_name(graph, "box"), by_name(graph, "box-net")
    assert box["custom"] is False
    assert net["custom"] is True
    assert net["parent"] == box["urn"]
    assert net["urn"] == "urn:pulumi:test::probe::probe:index:Box$gcp:compute/network:Network::box-net"
    assert net["protect"] is True
    assert net["retainOnDelete"] is True
    assert net["deleteBeforeReplace"] is True
    assert net["ignoreChanges"] == ["description"]
    assert net["aliases"] == ["urn:pulumi:test::probe::probe:index:Box$gcp:compute/network:Network::old-net"]
    assert by_name(graph, "box")["parent"].endswith("pulumi:pulumi:Stack::probe-test")


def test_records_explicit_and_output_dependencies(make_project):
    graph = run_stack(make_project(OPTIONS_PROGRAM, STACK_FILE), "test")
    subnet, net = by_name(graph, "subnet"), by_name(graph, "box-net")
    # depends_on a component waits for its children; the network id is an Output dependency.
    assert net["urn"] in subnet["dependencies"]
    assert subnet["propertyDependencies"]["network"] == [net["urn"]]
    assert "ipCidrRange" not in subnet["propertyDependencies"]


def test_inputs_use_the_engine_property_names(make_project):
    graph = run_stack(make_project(OPTIONS_PROGRAM, STACK_FILE), "test")
    assert by_name(graph, "subnet")["inputs"]["ipCidrRange"] == "10.0.0.0/24"
    assert by_name(graph, "box-net")["inputs"] == {"autoCreateSubnetworks": False}


def test_values_known_only_after_apply_stay_unknown_in_preview(make_project):
    graph = run_stack(make_project(OPTIONS_PROGRAM, STACK_FILE), "test")
    assert by_name(graph, "subnet")["inputs"]["network"] == UNKNOWN
    # An apply over an unknown value does not run in preview, its result stays unknown.
    assert graph.outputs["network_id"] == UNKNOWN
    assert graph.outputs["network_link"] == UNKNOWN


def test_simulated_apply_resolves_realistic_outputs_and_runs_applies(make_project):
    graph = run_stack(make_project(OPTIONS_PROGRAM, STACK_FILE), "test", preview=False)
    network_id = "projects/probe-project/global/networks/box-net"
    assert by_name(graph, "subnet")["inputs"]["network"] == network_id
    assert graph.outputs["network_id"] == network_id
    assert graph.outputs["network_link"] == f"HTTPS://WWW.GOOGLEAPIS.COM/COMPUTE/V1/{network_id}".upper()


def test_secrets_are_recorded_as_secret_and_never_shown(make_project):
    project = make_project(SECRET_PROGRAM, STACK_FILE)
    for preview in (True, False):
        graph = run_stack(project, "test", preview=preview)
        assert by_name(graph, "token-v1")["inputs"]["secretData"] == SECRET
        assert graph.outputs["token"] == SECRET
        text = dumps(graph.to_json())
        assert "c2VjcmV0LWNpcGhlcnRleHQ" not in text
        assert "v1:" not in text


def test_a_secret_passed_on_in_plain_text_is_refused(make_project):
    # `require` instead of `require_secret`: under `pulumi up` the value would sit unencrypted
    # in the state, so offline the run fails and names where it leaked.
    program = """
import pulumi
token = pulumi.Config("omni-infra").require("apiToken")
pulumi.export("leak", "Bearer " + token)
"""
    with pytest.raises(SecretLeakError, match="reaches the stack output leak in plain text"):
        run_stack(make_project(program, STACK_FILE), "test")


def test_reading_an_existing_resource_fails_loudly(make_project):
    program = """
import pulumi_gcp as gcp
gcp.compute.Network.get("existing", "projects/p/global/networks/default")
"""
    with pytest.raises(OfflineReadError, match=r"gcp:compute/network:Network.get"):
        run_stack(make_project(program, STACK_FILE), "test")


@pytest.mark.parametrize("stack", STACKS)
def test_two_runs_of_a_stack_are_byte_identical(project, stack):
    first = dumps(run_stack(project, stack).to_json())
    second = dumps(run_stack(project, stack).to_json())
    assert first == second


def test_graph_json_has_the_documented_shape(graphs):
    graph = graphs["dev"]
    assert set(graph) == {"version", "stack", "project", "resources", "outputs"}
    stack = one(graph, "pulumi:pulumi:Stack")
    assert stack["parent"] is None
    assert stack["name"] == "omni-infra-dev"
    for resource in graph["resources"]:
        assert {"urn", "type", "name", "parent", "dependencies", "protect", "inputs", "provider"} <= set(resource)
        assert resource["dependencies"] == sorted(resource["dependencies"])
    assert [r["urn"] for r in graph["resources"]] == sorted(r["urn"] for r in graph["resources"])
    json.loads(dumps(graph))


def test_unanswerable_provider_function_fails_loudly(make_project):
    program = """
import pulumi_gcp as gcp
gcp.compute.get_network(name="default")
"""
    with pytest.raises(OfflineInvokeError, match="gcp:compute/getNetwork:getNetwork"):
        run_stack(make_project(program, STACK_FILE), "test")


def test_program_errors_propagate(make_project):
    with pytest.raises(ZeroDivisionError):
        run_stack(make_project("1 / 0\n", STACK_FILE), "test")


def test_an_apply_that_raises_fails_the_simulated_apply_but_is_skipped_in_preview(make_project):
    program = """
import pulumi_gcp as gcp
network = gcp.compute.Network("n", auto_create_subnetworks=False)
network.id.apply(lambda network_id: 1 / 0)
"""
    project = make_project(program, STACK_FILE)
    run_stack(project, "test")  # preview: the id is unknown, the apply never runs
    with pytest.raises(ZeroDivisionError):
        run_stack(project, "test", preview=False)


def test_a_failed_run_leaves_nothing_behind_for_the_next(make_project, project):
    with pytest.raises(ZeroDivisionError):
        run_stack(
            make_project("import pulumi_gcp as gcp\ngcp.compute.Network('n').id.apply(lambda _: 1 / 0)\n", STACK_FILE),
            "test",
            preview=False,
        )
    assert dumps(run_stack(project, "dev").to_json()) == (project.root / "snapshots" / "dev.json").read_text()


def test_outputs_a_resource_declares_secret_stay_secret_after_apply(make_project):
    # The engine, not the SDK, marks `additional_secret_outputs`: the offline engine must too.
    program = """
import pulumi
import pulumi_random as random
pulumi.export("password", random.RandomPassword("p", length=16).result)
"""
    graph = run_stack(make_project(program, STACK_FILE), "test", preview=False)
    assert graph.outputs["password"] == SECRET


def test_auto_named_resources_get_a_name_after_apply(make_project):
    program = """
import pulumi
import pulumi_gcp as gcp
instance = gcp.sql.DatabaseInstance("db", database_version="POSTGRES_16", settings={"tier": "db-custom-1-3840"})
pulumi.export("name", instance.name)
pulumi.export("connection", instance.connection_name)
"""
    preview = run_stack(make_project(program, STACK_FILE), "test")
    assert preview.outputs["name"] == UNKNOWN
    applied = run_stack(make_project(program, STACK_FILE), "test", preview=False)
    assert applied.outputs["name"].startswith("db-")
    assert len(applied.outputs["name"]) == len("db-") + 7
    assert applied.outputs["connection"] == f"probe-project:europe-west1:{applied.outputs['name']}"
