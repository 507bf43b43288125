"""The network component, as every stack declares it."""

from __future__ import annotations

import ipaddress

import pytest

from .conftest import STACKS, resources
from .conftest import one as one_of_type

NETWORK = "gcp:compute/network:Network"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
PSA_RANGE = "gcp:compute/globalAddress:GlobalAddress"
PSA = "gcp:servicenetworking/connection:Connection"
NETWORK_COMPONENT = "omni:network:Network"


def one(graph, type_):
    """The one resource of that type the Network component declares (the edge has its own
    global address)."""
    (found,) = [r for r in resources(graph, type_) if NETWORK_COMPONENT in r.get("parent", "")]
    return found


NAT = "gcp:compute/routerNat:RouterNat"


@pytest.mark.parametrize("stack", STACKS)
def test_vpc_is_custom_mode_with_one_private_subnet(graphs, stack):
    graph = graphs[stack]
    assert one(graph, NETWORK)["inputs"]["autoCreateSubnetworks"] is False
    subnet = one(graph, SUBNET)["inputs"]
    assert ipaddress.IPv4Network(subnet["ipCidrRange"]).is_private
    assert ipaddress.IPv4Network(subnet["ipCidrRange"]).prefixlen <= 26, "Direct VPC egress needs /26 or larger"
    assert subnet["privateIpGoogleAccess"] is True
    assert subnet["region"] == graph["outputs"]["region"]


@pytest.mark.parametrize("stack", STACKS)
def test_private_services_access_reserves_a_range_and_peers_it(graphs, stack):
    graph = graphs[stack]
    address = one(graph, PSA_RANGE)
    assert address["inputs"]["purpose"] == "VPC_PEERING"
    assert address["inputs"]["addressType"] == "INTERNAL"
    assert address["inputs"]["prefixLength"] == 16
    connection = one(graph, PSA)
    assert connection["inputs"]["service"] == "servicenetworking.googleapis.com"
    assert connection["inputs"]["reservedPeeringRanges"] == [address["inputs"]["name"]]
    assert address["urn"] in connection["propertyDependencies"]["reservedPeeringRanges"]
    assert one(graph, NETWORK)["urn"] in connection["propertyDependencies"]["network"]


@pytest.mark.parametrize("stack", STACKS)
def test_nat_covers_only_our_subnet(graphs, stack):
    nat = one(graphs[stack], NAT)
    assert nat["inputs"]["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    assert len(nat["inputs"]["subnetworks"]) == 1
    assert one(graphs[stack], SUBNET)["urn"] in nat["propertyDependencies"]["subnetworks"]
    assert nat["inputs"]["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}


def test_prod_network_is_protected_twice_and_dev_is_disposable(graphs):
    for type_ in (NETWORK, SUBNET, PSA_RANGE, PSA):
        for stack in ("prod", "staging"):
            resource = one(graphs[stack], type_)
            assert resource["protect"] is True, (stack, type_)
            assert resource["inputs"]["deletionPolicy"] == "PREVENT", (stack, type_)
        assert one(graphs["dev"], type_)["protect"] is False, type_
    assert {one(graphs["dev"], t)["inputs"]["deletionPolicy"] for t in (NETWORK, SUBNET, PSA_RANGE)} == {"DELETE"}
    # A torn-down dev must be able to delete its network although Cloud SQL held the peering.
    assert one(graphs["dev"], PSA)["inputs"]["deletionPolicy"] == "REMOVE_PEERING"


@pytest.mark.parametrize("stack", STACKS)
def test_network_waits_for_the_apis_it_needs(graphs, stack):
    graph = graphs[stack]
    services = {r["inputs"]["service"]: r["urn"] for r in resources(graph, "gcp:projects/service:Service")}
    assert set(services) >= {"compute.googleapis.com", "servicenetworking.googleapis.com"}
    assert all(r["inputs"]["disableOnDestroy"] is False for r in resources(graph, "gcp:projects/service:Service"))
    vpc = one(graph, NETWORK)
    assert set(services.values()) <= set(vpc["dependencies"])


@pytest.mark.parametrize("stack", STACKS)
def test_every_google_resource_uses_the_stack_provider(graphs, stack):
    graph = graphs[stack]
    provider = one_of_type(graph, "pulumi:providers:gcp")
    assert provider["inputs"]["project"] == f"omni-api-{stack}"
    google = [r for r in graph["resources"] if r["type"].startswith("gcp:")]
    assert google
    assert all(r["provider"] == provider["urn"] for r in google)


@pytest.mark.parametrize("stack", STACKS)
def test_children_are_named_from_their_component_and_parented_to_it(graphs, stack):
    graph = graphs[stack]
    components = {r["urn"]: r for r in graph["resources"] if r["type"].startswith("omni:")}
    children = [r for r in graph["resources"] if r["parent"] in components]
    assert children
    for child in children:
        assert child["name"].startswith(components[child["parent"]]["name"] + "-"), child["name"]


def test_flow_logs_sample_less_in_dev(graphs):
    assert one(graphs["dev"], SUBNET)["inputs"]["logConfig"]["flowSampling"] == 0.1
    assert one(graphs["prod"], SUBNET)["inputs"]["logConfig"]["flowSampling"] == 0.5
