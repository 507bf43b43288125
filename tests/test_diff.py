"""Specification of `omni diff`: what changes between two recorded graphs, and what is dangerous.

Graphs are crafted with the factories below; the committed snapshots (`snapshots/*.json`) are
read only where the real stacks are the point: the cascade a VPC replacement really causes,
and the resource types replacements.py must know.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from offline import replacements
from offline.diff import (
    ChangeKind,
    DangerKind,
    DiffReport,
    ResourceDiff,
    Severity,
    compute_diff,
)
from offline.diff_render import render_json, render_markdown, render_text
from offline.graph import SECRET, UNKNOWN, Graph, Resource

STACK = "dev"
PROJECT = "omni-infra"

NETWORK = "gcp:compute/network:Network"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
SQL_INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
SQL_USER = "gcp:sql/user:User"
BUCKET = "gcp:storage/bucket:Bucket"
SECRET_RES = "gcp:secretmanager/secret:Secret"
CLOUD_RUN = "gcp:cloudrunv2/service:Service"
PASSWORD = "random:index/randomPassword:RandomPassword"
GLOBAL_ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
ROUTER = "gcp:compute/router:Router"
ROUTER_NAT = "gcp:compute/routerNat:RouterNat"
PSA_CONNECTION = "gcp:servicenetworking/connection:Connection"
GCP_PROVIDER = "pulumi:providers:gcp"

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


# --- factories ----------------------------------------------------------------------------


def urn(name: str, rtype: str = NETWORK, parent_type: str | None = None) -> str:
    chain = f"{parent_type}${rtype}" if parent_type else rtype
    return f"urn:pulumi:{STACK}::{PROJECT}::{chain}::{name}"


def resource(
    name: str,
    rtype: str = NETWORK,
    inputs: dict[str, Any] | None = None,
    *,
    urn_: str | None = None,
    custom: bool = True,
    dependencies: list[str] | None = None,
    deps: dict[str, list[str]] | None = None,
    **options: Any,
) -> Resource:
    """A recorded resource; keyword options are resource options (protect=True, aliases=[...]).

    ``deps`` are its property dependencies: input name -> URNs the value came from.
    """
    return Resource(
        urn=urn_ or urn(name, rtype),
        type=rtype,
        name=name,
        custom=custom,
        parent=f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}",
        dependencies=dependencies or [],
        property_dependencies=deps or {},
        options=options,
        inputs=inputs if inputs is not None else {"name": name},
    )


def graph(*resources: Resource, outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return Graph(stack=STACK, project=PROJECT, resources=list(resources), outputs=outputs or {}).to_json()


def diff(before: list[Resource], after: list[Resource], **kwargs: Any) -> DiffReport:
    return compute_diff(graph(*before), graph(*after, **kwargs))


def only(report: DiffReport, name: str) -> ResourceDiff:
    matches = [r for r in report.resources if r.name == name]
    assert len(matches) == 1, f"expected exactly one resource named {name}: {matches}"
    return matches[0]


def change_paths(entry: ResourceDiff) -> list[str]:
    return [c.path for c in entry.changes]


def danger_kinds(report: DiffReport) -> set[DangerKind]:
    return {d.kind for d in report.dangers}


def all_renderings(report: DiffReport) -> dict[str, str]:
    return {
        "text": render_text(report),
        "markdown": render_markdown(report),
        "json": render_json(report),
    }


def sql_instance(name: str = "db", **settings: Any) -> dict[str, Any]:
    return {
        "name": name,
        "region": "europe-west1",
        "databaseVersion": "POSTGRES_16",
        "deletionProtection": True,
        "settings": {"tier": "db-custom-1-3840", **settings},
    }


# --- matching: create, delete, update, same -----------------------------------------------


def test_identical_graphs_have_no_changes_and_say_so_in_every_format() -> None:
    vpc = resource("vpc", inputs={"name": "vpc", "autoCreateSubnetworks": False})
    report = diff([vpc], [vpc])

    assert not report.has_changes
    assert not report.has_danger
    assert report.counts == {"create": 0, "update": 0, "replace": 0, "delete": 0, "same": 1}
    assert "No changes" in render_text(report)
    assert "No changes" in render_markdown(report)
    parsed = json.loads(render_json(report))
    assert parsed["summary"] == "No changes"
    assert parsed["has_changes"] is False
    assert parsed["resources"] == []


def test_resource_only_in_after_is_a_create() -> None:
    report = diff([], [resource("vpc")])

    assert only(report, "vpc").kind is ChangeKind.CREATE
    assert report.counts["create"] == 1
    assert report.has_changes
    assert not report.has_danger


def test_resource_only_in_before_is_a_delete_and_always_a_danger() -> None:
    report = diff([resource("vpc")], [])

    assert only(report, "vpc").kind is ChangeKind.DELETE
    assert [d.kind for d in report.dangers] == [DangerKind.DELETE]
    assert report.dangers[0].severity is Severity.MEDIUM


def test_changed_nested_input_is_an_update_with_a_dotted_path() -> None:
    before = resource("db", SQL_INSTANCE, sql_instance(ipConfiguration={"ipv4Enabled": True}))
    after = resource("db", SQL_INSTANCE, sql_instance(ipConfiguration={"ipv4Enabled": False}))

    entry = only(diff([before], [after]), "db")

    assert entry.kind is ChangeKind.UPDATE
    assert change_paths(entry) == ["settings.ipConfiguration.ipv4Enabled"]
    assert (entry.changes[0].before, entry.changes[0].after) == (True, False)


def test_list_items_are_addressed_by_index_and_extra_items_are_added() -> None:
    before = resource("run", CLOUD_RUN, {"name": "run", "template": {"containers": [{"image": "a:1"}]}})
    after = resource(
        "run",
        CLOUD_RUN,
        {"name": "run", "template": {"containers": [{"image": "a:2"}, {"image": "b:1"}]}},
    )

    entry = only(diff([before], [after]), "run")

    assert change_paths(entry) == ["template.containers[0].image", "template.containers[1]"]
    added = entry.changes[1]
    assert not added.before_set
    assert added.after == {"image": "b:1"}


def test_added_and_removed_keys_are_marked_as_not_set_on_the_other_side() -> None:
    before = resource("vpc", inputs={"name": "vpc", "description": "old"})
    after = resource("vpc", inputs={"name": "vpc", "mtu": 1460})

    changes = {c.path: c for c in only(diff([before], [after]), "vpc").changes}

    assert changes["description"].before_set
    assert not changes["description"].after_set
    assert not changes["mtu"].before_set
    assert changes["mtu"].after == 1460


def test_true_and_one_are_different_values() -> None:
    before = resource("vpc", inputs={"name": "vpc", "flag": 1})
    after = resource("vpc", inputs={"name": "vpc", "flag": True})

    assert change_paths(only(diff([before], [after]), "vpc")) == ["flag"]


def test_label_keys_with_dots_are_quoted_in_paths() -> None:
    before = resource("vpc", inputs={"name": "vpc", "labels": {"app.kubernetes.io/name": "a"}})
    after = resource("vpc", inputs={"name": "vpc", "labels": {"app.kubernetes.io/name": "b"}})

    assert change_paths(only(diff([before], [after]), "vpc")) == ['labels["app.kubernetes.io/name"]']


def test_dependencies_alone_are_not_a_change() -> None:
    before = resource("vpc", dependencies=[urn("a")])
    after = resource("vpc", dependencies=[urn("a"), urn("b")])

    report = diff([before], [after])

    assert only(report, "vpc").kind is ChangeKind.SAME
    assert not report.has_changes


def test_resource_options_are_field_changes() -> None:
    before = resource("vpc", deleteBeforeReplace=False, ignoreChanges=[])
    after = resource("vpc", deleteBeforeReplace=True, ignoreChanges=["mtu"])

    entry = only(diff([before], [after]), "vpc")

    assert entry.kind is ChangeKind.UPDATE
    assert {c.path for c in entry.changes if c.option} == {"deleteBeforeReplace", "ignoreChanges"}


def test_changes_under_ignore_changes_are_shown_but_not_applied() -> None:
    before = resource("vpc", inputs={"name": "vpc", "mtu": 1460}, ignoreChanges=["mtu"])
    after = resource("vpc", inputs={"name": "vpc", "mtu": 1500}, ignoreChanges=["mtu"])

    entry = only(diff([before], [after]), "vpc")

    assert entry.kind is ChangeKind.SAME
    assert [(c.path, c.ignored) for c in entry.changes] == [("mtu", True)]


# --- renames ------------------------------------------------------------------------------


def test_alias_to_a_former_urn_is_a_rename_not_a_delete_and_create() -> None:
    old_urn = urn("vpc")
    moved_urn = urn("vpc", parent_type="omni:network:Network")
    before = resource("vpc", urn_=old_urn)
    after = resource("vpc", urn_=moved_urn, aliases=[old_urn])

    report = diff([before], [after])

    assert report.counts["delete"] == 0
    assert report.counts["create"] == 0
    entry = only(report, "vpc")
    assert entry.kind is ChangeKind.UPDATE
    assert entry.previous_urn == old_urn
    assert not report.has_danger
    assert old_urn in render_text(report)


def test_alias_to_a_urn_that_still_exists_is_not_a_rename() -> None:
    kept = resource("vpc")
    twin = resource("vpc2", aliases=[urn("vpc")])

    report = diff([kept], [kept, twin])

    assert only(report, "vpc").kind is ChangeKind.SAME
    assert only(report, "vpc2").kind is ChangeKind.CREATE


# --- replacements -------------------------------------------------------------------------


def test_change_to_a_force_new_input_is_a_likely_replacement() -> None:
    before = resource("db", SQL_INSTANCE, sql_instance())
    after = resource("db", SQL_INSTANCE, {**sql_instance(), "region": "europe-west4"})

    entry = only(diff([before], [after]), "db")

    assert entry.kind is ChangeKind.REPLACE
    assert entry.replace_paths == ("region",)


def test_change_deep_under_a_force_new_path_counts() -> None:
    def secret(location: str) -> Resource:
        replication = {"userManaged": {"replicas": [{"location": location}]}}
        return resource("s", SECRET_RES, {"secretId": "s", "replication": replication})

    entry = only(diff([secret("europe-west1")], [secret("europe-west4")]), "s")

    assert entry.kind is ChangeKind.REPLACE
    assert entry.replace_paths == ("replication",)


def test_updatable_inputs_are_not_replacements() -> None:
    # Subnetwork ranges grow in place; a firewall moves to another network in place.
    subnet_before = resource("sn", SUBNETWORK, {"name": "sn", "ipCidrRange": "10.0.0.0/24"})
    subnet_after = resource("sn", SUBNETWORK, {"name": "sn", "ipCidrRange": "10.0.0.0/20"})
    fw_before = resource("fw", FIREWALL, {"name": "fw", "network": "a"})
    fw_after = resource("fw", FIREWALL, {"name": "fw", "network": "b"})
    db_before = resource("db", SQL_INSTANCE, sql_instance())
    db_after = resource("db", SQL_INSTANCE, {**sql_instance(), "databaseVersion": "POSTGRES_17"})

    report = diff([subnet_before, fw_before, db_before], [subnet_after, fw_after, db_after])

    assert [r.kind for r in report.resources] == [ChangeKind.UPDATE] * 3


def test_unknown_type_falls_back_to_name_and_project() -> None:
    rtype = "gcp:some/thing:Thing"
    report = diff(
        [
            resource("a", rtype, {"name": "a", "size": 1}),
            resource("b", rtype, {"name": "b", "project": "p1"}),
        ],
        [
            resource("a", rtype, {"name": "a", "size": 2}),
            resource("b", rtype, {"name": "b", "project": "p2"}),
        ],
    )

    assert only(report, "a").kind is ChangeKind.UPDATE
    assert only(report, "b").kind is ChangeKind.REPLACE


def test_replace_on_changes_option_forces_replacement() -> None:
    before = resource("vpc", inputs={"name": "vpc", "mtu": 1460}, replaceOnChanges=["mtu"])
    after = resource("vpc", inputs={"name": "vpc", "mtu": 1500}, replaceOnChanges=["mtu"])

    assert only(diff([before], [after]), "vpc").replace_paths == ("mtu",)


def test_replace_on_changes_path_through_a_list_checks_every_item() -> None:
    def run(image: str) -> Resource:
        inputs = {
            "name": "run",
            "template": {"containers": [{"image": "sidecar:1"}, {"image": image}]},
        }
        return resource("run", CLOUD_RUN, inputs, replaceOnChanges=["template.containers[*].image"])

    entry = only(diff([run("api:1")], [run("api:2")]), "run")

    assert entry.replace_paths == ("template.containers[*].image",)


def test_ignored_force_new_change_is_not_a_replacement() -> None:
    before = resource("vpc", inputs={"name": "a"}, ignoreChanges=["name"])
    after = resource("vpc", inputs={"name": "b"}, ignoreChanges=["name"])

    assert only(diff([before], [after]), "vpc").kind is ChangeKind.SAME


def test_replacing_a_stateful_resource_is_flagged_as_data_loss() -> None:
    before = resource("db", SQL_INSTANCE, sql_instance())
    after = resource("db", SQL_INSTANCE, sql_instance(collation="en_US.UTF8"))  # settings.collation: ForceNew

    report = diff([before], [after])

    assert [d.kind for d in report.dangers] == [DangerKind.REPLACE_STATEFUL]
    danger = report.dangers[0]
    assert danger.severity is Severity.HIGH
    assert "settings.collation" in danger.reason
    assert "data" in danger.reason


def test_replacing_a_stateless_resource_is_not_a_danger() -> None:
    report = diff([resource("vpc", inputs={"name": "a"})], [resource("vpc", inputs={"name": "b"})])

    assert only(report, "vpc").kind is ChangeKind.REPLACE
    assert not report.has_danger


def test_new_random_password_is_a_stateful_replacement() -> None:
    before = resource("pw", PASSWORD, {"length": 24, "special": False})
    after = resource("pw", PASSWORD, {"length": 32, "special": False})

    assert danger_kinds(diff([before], [after])) == {DangerKind.REPLACE_STATEFUL}


def test_replacing_a_protected_resource_says_pulumi_refuses() -> None:
    before = resource("vpc", inputs={"name": "a"}, protect=True)
    after = resource("vpc", inputs={"name": "b"}, protect=True)

    report = diff([before], [after])

    assert danger_kinds(report) == {DangerKind.REPLACE_PROTECTED}
    assert "refuse" in report.dangers[0].reason
    assert "This change replaces 1 protected resource." in render_text(report)


# --- cascading replacements ---------------------------------------------------------------


def network_stack(description: str = "old", **vpc_options: Any) -> list[Resource]:
    """The network component's shape: everything takes the VPC id, unknown offline."""
    vpc = resource("vpc", NETWORK, {"name": "vpc", "description": description}, **vpc_options)
    on_vpc = {"network": [vpc.urn]}
    subnet = resource(
        "subnet",
        SUBNETWORK,
        {"name": "subnet", "network": UNKNOWN, "ipCidrRange": "10.0.0.0/20"},
        deps=on_vpc,
    )
    psa_range = resource("psa-range", GLOBAL_ADDRESS, {"name": "psa-range", "network": UNKNOWN}, deps=on_vpc)
    psa = resource(
        "psa",
        PSA_CONNECTION,
        {"network": UNKNOWN, "reservedPeeringRanges": ["psa-range"], "service": "sn"},
        deps={"network": [vpc.urn], "reservedPeeringRanges": [psa_range.urn]},
    )
    router = resource("router", ROUTER, {"name": "router", "network": UNKNOWN}, deps=on_vpc)
    nat = resource(
        "nat",
        ROUTER_NAT,
        {"name": "nat", "router": "router", "subnetworks": [{"name": UNKNOWN}]},
        deps={"router": [router.urn], "subnetworks": [subnet.urn]},
    )
    firewall = resource("fw", FIREWALL, {"name": "fw", "network": UNKNOWN}, deps=on_vpc)
    return [vpc, subnet, psa_range, psa, router, nat, firewall]


def test_replacing_the_vpc_replaces_what_takes_its_id_in_a_force_new_input() -> None:
    report = diff(network_stack("old"), network_stack("new"))

    assert {r.name: r.kind for r in report.resources} == {
        "vpc": ChangeKind.REPLACE,
        "subnet": ChangeKind.REPLACE,
        "psa-range": ChangeKind.REPLACE,
        "psa": ChangeKind.REPLACE,
        "router": ChangeKind.REPLACE,
        "nat": ChangeKind.REPLACE,  # through the router: propagated to a fixpoint
        "fw": ChangeKind.UPDATE,  # a firewall's network is patched in place
    }


def test_a_cascaded_replacement_names_the_input_and_the_replaced_resource() -> None:
    report = diff(network_stack("old"), network_stack("new"))
    text = render_text(report)

    assert only(report, "subnet").replace_paths == ("network",)
    assert only(report, "nat").replace_paths == ("router",)
    assert (
        "  +- gcp:compute/subnetwork:Subnetwork subnet  "
        "(likely replacement: its network comes from vpc, which is replaced)" in text
    )
    assert "(likely replacement: its router comes from router, which is replaced)" in text
    assert "its network comes from vpc, which is replaced" in render_markdown(report)


def test_a_cascaded_replacement_of_a_stateful_resource_is_data_loss() -> None:
    report = diff(network_stack("old"), network_stack("new"))

    assert [(d.name, d.kind) for d in report.dangers] == [("psa-range", DangerKind.REPLACE_STATEFUL)]
    assert "its network comes from vpc, which is replaced" in report.dangers[0].reason
    assert "This change replaces 1 stateful resource." in render_text(report)


def test_a_cascade_onto_a_protected_resource_says_pulumi_refuses() -> None:
    def stack(description: str) -> list[Resource]:
        vpc = resource("vpc", NETWORK, {"name": "vpc", "description": description})
        subnet = resource(
            "subnet",
            SUBNETWORK,
            {"name": "subnet", "network": UNKNOWN},
            deps={"network": [vpc.urn]},
            protect=True,
        )
        return [vpc, subnet]

    report = diff(stack("old"), stack("new"))

    assert [(d.name, d.kind) for d in report.dangers] == [("subnet", DangerKind.REPLACE_PROTECTED)]
    assert "refuse" in report.dangers[0].reason


def test_an_updatable_input_from_a_replaced_resource_is_an_update_known_after_apply() -> None:
    report = diff(network_stack("old"), network_stack("new"))

    firewall = only(report, "fw")
    assert firewall.replace_paths == ()
    [change] = firewall.changes
    assert change.path == "network"
    assert change.known_after_apply
    assert change.source == urn("vpc")
    assert "comes from vpc, which is replaced" in render_text(report)
    # An updatable input on a replaced resource is listed too, never a second cause.
    psa = only(report, "psa")
    assert psa.replace_paths == ("network",)
    assert "reservedPeeringRanges" in change_paths(psa)


def test_a_dependency_updated_in_place_does_not_cascade() -> None:
    before = network_stack("old")
    after = network_stack("old")
    after[0] = resource("vpc", NETWORK, {"name": "vpc", "description": "old", "mtu": 1500})

    report = diff(before, after)

    assert only(report, "vpc").kind is ChangeKind.UPDATE
    assert report.counts["same"] == 6


def test_an_ignored_force_new_input_does_not_cascade() -> None:
    def stack(description: str) -> list[Resource]:
        vpc = resource("vpc", NETWORK, {"name": "vpc", "description": description})
        subnet = resource(
            "subnet",
            SUBNETWORK,
            {"name": "subnet", "network": UNKNOWN},
            deps={"network": [vpc.urn]},
            ignoreChanges=["network"],
        )
        return [vpc, subnet]

    report = diff(stack("old"), stack("new"))

    assert only(report, "subnet").kind is ChangeKind.SAME


def test_a_dependency_deleted_and_recreated_under_a_new_urn_cascades() -> None:
    # The VPC moved into a component without an alias: a delete plus a create.
    old_vpc = resource("vpc", NETWORK, {"name": "vpc"})
    new_vpc = resource("vpc", NETWORK, {"name": "vpc"}, urn_=urn("vpc", parent_type="omni:network:Network"))

    def subnet(vpc: Resource) -> Resource:
        inputs = {"name": "subnet", "network": UNKNOWN}
        return resource("subnet", SUBNETWORK, inputs, deps={"network": [vpc.urn]})

    report = diff([old_vpc, subnet(old_vpc)], [new_vpc, subnet(new_vpc)])

    entry = only(report, "subnet")
    assert entry.kind is ChangeKind.REPLACE
    assert "its network comes from vpc, which is deleted and re-created" in render_text(report)


def read_snapshot(stack: str) -> dict[str, Any]:
    return json.loads((SNAPSHOTS / f"{stack}.json").read_text())


def test_a_new_vpc_description_in_the_real_dev_stack_replaces_the_whole_network() -> None:
    before = read_snapshot("dev")
    after = copy.deepcopy(before)
    [vpc] = [r for r in after["resources"] if r["type"] == NETWORK]
    vpc["inputs"]["description"] = "a new description"

    report = compute_diff(before, after)

    replaced = {r.type for r in report.of_kind(ChangeKind.REPLACE)}
    assert {NETWORK, SUBNETWORK, GLOBAL_ADDRESS, PSA_CONNECTION, ROUTER, ROUTER_NAT} <= replaced
    assert "gcp:projects/service:Service" not in replaced
    assert DangerKind.REPLACE_STATEFUL in danger_kinds(report)


# --- conditional replacements -------------------------------------------------------------


@pytest.mark.parametrize(
    ("old_range", "new_range", "kind"),
    [
        ("10.0.0.0/24", "10.0.0.0/20", ChangeKind.UPDATE),  # expansion: patched in place
        ("10.0.0.0/20", "10.0.0.0/24", ChangeKind.REPLACE),  # shrink
        ("10.0.0.0/24", "10.1.0.0/24", ChangeKind.REPLACE),  # move
        ("10.0.0.0/24", "10.1.0.0/16", ChangeKind.REPLACE),  # larger but elsewhere
        ("10.0.0.0/24", UNKNOWN, ChangeKind.REPLACE),  # cannot tell: assume the worst
    ],
)
def test_a_subnet_range_is_updated_in_place_only_when_it_grows(
    old_range: str, new_range: str, kind: ChangeKind
) -> None:
    before = resource("sn", SUBNETWORK, {"name": "sn", "ipCidrRange": old_range})
    after = resource("sn", SUBNETWORK, {"name": "sn", "ipCidrRange": new_range})

    entry = only(diff([before], [after]), "sn")

    assert entry.kind is kind
    assert entry.replace_paths == (("ipCidrRange",) if kind is ChangeKind.REPLACE else ())


def test_a_shrunk_subnet_says_why_it_is_replaced() -> None:
    before = resource("sn", SUBNETWORK, {"name": "sn", "ipCidrRange": "10.0.0.0/20"})
    after = resource("sn", SUBNETWORK, {"name": "sn", "ipCidrRange": "10.0.0.0/24"})

    text = render_text(diff([before], [after]))

    assert "likely replacement: ipCidrRange forces a new resource (" in text
    assert "does not contain the old one" in text


@pytest.mark.parametrize(
    ("old_size", "new_size", "kind"),
    [
        (100, 50, ChangeKind.REPLACE),
        (50, 100, ChangeKind.UPDATE),
        (100, None, ChangeKind.UPDATE),  # unset: the provider keeps (or autoresizes) the disk
    ],
)
def test_shrinking_a_cloud_sql_disk_replaces_the_instance(
    old_size: int, new_size: int | None, kind: ChangeKind
) -> None:
    def instance(size: int | None) -> Resource:
        settings: dict[str, Any] = {} if size is None else {"diskSize": size}
        return resource("db", SQL_INSTANCE, sql_instance(**settings))

    report = diff([instance(old_size)], [instance(new_size)])

    assert only(report, "db").kind is kind
    if kind is ChangeKind.REPLACE:
        assert only(report, "db").replace_paths == ("settings.diskSize",)
        assert danger_kinds(report) == {DangerKind.REPLACE_STATEFUL}


def test_conditional_rules_come_from_the_providers_custom_diff() -> None:
    [cidr] = replacements.conditional_force_new(SUBNETWORK)  # ForceNewIfChange("ip_cidr_range", IsShrinkageIpCidr)
    sql_rules = {rule.path: rule for rule in replacements.conditional_force_new(SQL_INSTANCE)}

    assert cidr.path == "ipCidrRange"
    assert not cidr.forces("10.0.0.0/24", "10.0.0.0/16")
    assert cidr.forces("10.0.0.0/16", "10.0.0.0/24")
    disk = sql_rules["settings.diskSize"]  # diskSizeCutomizeDiff, from the hand-read overlay
    assert disk.forces(100, 50)
    assert not disk.forces(50, 100)
    # A conditional path is never also listed as unconditional.
    for rtype, rules in replacements.CONDITIONAL_FORCE_NEW.items():
        for rule in rules:
            assert rule.path not in replacements.force_new_paths(rtype), (rtype, rule.path)


REDIS = "gcp:redis/instance:Instance"
BUCKET_OBJECT = "gcp:storage/bucketObject:BucketObject"


@pytest.mark.parametrize(
    ("old_version", "new_version", "kind"),
    [
        ("REDIS_7_2", "REDIS_7_0", ChangeKind.REPLACE),  # a downgrade: a new instance
        ("REDIS_7_0", "REDIS_5_0", ChangeKind.REPLACE),
        ("REDIS_7_0", "REDIS_7_2", ChangeKind.UPDATE),  # an upgrade runs in place
        # The provider compares REDIS_<major>_<minor> only: REDIS_6_X is not judged (the API decides).
        ("REDIS_7_2", "REDIS_6_X", ChangeKind.UPDATE),
    ],
)
def test_a_redis_version_downgrade_replaces_the_instance(old_version: str, new_version: str, kind: ChangeKind) -> None:
    def instance(version: str) -> Resource:
        return resource("cache", REDIS, {"name": "cache", "memorySizeGb": 1, "redisVersion": version})

    report = diff([instance(old_version)], [instance(new_version)])

    assert only(report, "cache").kind is kind
    if kind is ChangeKind.REPLACE:
        assert only(report, "cache").replace_paths == ("redisVersion",)
        assert danger_kinds(report) == {DangerKind.REPLACE_STATEFUL}


def test_a_bucket_objects_metadata_forces_a_new_object() -> None:
    before = resource("o", BUCKET_OBJECT, {"bucket": "b", "name": "o", "metadata": {"owner": "a"}})
    after = resource("o", BUCKET_OBJECT, {"bucket": "b", "name": "o", "metadata": {"owner": "b"}})

    entry = only(diff([before], [after]), "o")

    assert entry.kind is ChangeKind.REPLACE
    assert entry.replace_paths == ("metadata",)


def test_a_bucket_objects_content_is_updated_in_place() -> None:
    before = resource("o", BUCKET_OBJECT, {"bucket": "b", "name": "o", "content": "v1"})
    after = resource("o", BUCKET_OBJECT, {"bucket": "b", "name": "o", "content": "v2"})

    assert only(diff([before], [after]), "o").kind is ChangeKind.UPDATE


def test_force_new_facts_are_generated_from_the_provider_source_with_provenance() -> None:
    from offline import facts

    provenance = facts.provenance()
    assert provenance["provider"]["repository"] == "https://github.com/hashicorp/terraform-provider-google-beta"
    assert len(provenance["provider"]["commit"]) == 40
    assert provenance["sdk"] == {"package": "pulumi-gcp", "version": "10.2.0"}
    assert provenance["script"] == "scripts/extract_provider_facts.py"
    # The tables read the extracted data: no hand-written Google entry shadows it.
    assert not any(t.startswith("gcp:") for t in replacements.OTHER_PROVIDERS_FORCE_NEW)


# --- protection ---------------------------------------------------------------------------


def test_protect_removed_is_flagged() -> None:
    report = diff([resource("vpc", protect=True)], [resource("vpc", protect=False)])

    assert danger_kinds(report) == {DangerKind.PROTECT_REMOVED}
    assert "protection removed" in report.dangers[0].reason


def test_protect_added_is_not_a_danger() -> None:
    report = diff([resource("vpc")], [resource("vpc", protect=True)])

    assert report.has_changes
    assert not report.has_danger


@pytest.mark.parametrize(
    ("before_inputs", "after_inputs", "switch"),
    [
        ({"deletionProtection": True}, {"deletionProtection": False}, "deletionProtection"),
        # The provider default is true, so an instance that never set it was protected.
        ({}, {"deletionProtection": False}, "deletionProtection"),
        (
            {"settings": {"tier": "t", "deletionProtectionEnabled": True}},
            {"settings": {"tier": "t", "deletionProtectionEnabled": False}},
            "settings.deletionProtectionEnabled",
        ),
        ({"deletionPolicy": "PREVENT"}, {"deletionPolicy": "DELETE"}, "deletionPolicy"),
    ],
)
def test_deletion_protection_turned_off_is_flagged(
    before_inputs: dict[str, Any], after_inputs: dict[str, Any], switch: str
) -> None:
    before = resource("db", SQL_INSTANCE, {"name": "db", **before_inputs})
    after = resource("db", SQL_INSTANCE, {"name": "db", **after_inputs})

    report = diff([before], [after])

    assert [d.kind for d in report.dangers] == [DangerKind.DELETION_PROTECTION_OFF]
    assert switch in report.dangers[0].reason
    assert report.dangers[0].severity is Severity.HIGH  # a database: stateful


def test_deletion_protection_left_on_is_not_flagged() -> None:
    before = resource("db", SQL_INSTANCE, {"name": "db"})
    after = resource("db", SQL_INSTANCE, {"name": "db", "deletionProtection": True})

    assert not diff([before], [after]).has_danger


def test_cloud_run_deletion_protection_off_is_flagged() -> None:
    before = resource("api", CLOUD_RUN, {"name": "api", "deletionProtection": True})
    after = resource("api", CLOUD_RUN, {"name": "api", "deletionProtection": False})

    report = diff([before], [after])

    assert danger_kinds(report) == {DangerKind.DELETION_PROTECTION_OFF}
    assert report.dangers[0].severity is Severity.MEDIUM  # no data in a service


def test_force_destroy_turned_on_is_flagged() -> None:
    before = resource("assets", BUCKET, {"name": "assets", "location": "EU"})
    after = resource("assets", BUCKET, {"name": "assets", "location": "EU", "forceDestroy": True})

    report = diff([before], [after])

    assert danger_kinds(report) == {DangerKind.DELETION_PROTECTION_OFF}
    assert "forceDestroy" in report.dangers[0].reason
    assert "every object" in report.dangers[0].reason


def test_retain_on_delete_removed_is_flagged() -> None:
    report = diff([resource("vpc", retainOnDelete=True)], [resource("vpc")])

    assert danger_kinds(report) == {DangerKind.RETAIN_ON_DELETE_REMOVED}


def test_deleting_a_protected_resource_says_pulumi_refuses() -> None:
    report = diff([resource("vpc", protect=True)], [])

    danger = report.dangers[0]
    assert danger.kind is DangerKind.DELETE_PROTECTED
    assert danger.severity is Severity.HIGH
    assert "Pulumi will refuse to delete it" in danger.reason
    assert "Pulumi will refuse to delete it" in render_markdown(report)


def test_deleting_a_stateful_resource_is_high_severity_data_loss() -> None:
    report = diff([resource("app", SQL_USER, {"name": "app", "instance": "db"})], [])

    danger = report.dangers[0]
    assert (danger.kind, danger.severity) == (DangerKind.DELETE_STATEFUL, Severity.HIGH)
    assert "data in it is lost" in danger.reason


def test_deleting_a_database_with_its_deletion_guard_on_says_the_apply_fails() -> None:
    report = diff([resource("db", SQL_INSTANCE, sql_instance())], [])

    assert "deletionProtection" in report.dangers[0].reason
    assert "fails at apply" in report.dangers[0].reason


def test_deleting_a_retained_stateful_resource_is_only_medium() -> None:
    report = diff([resource("app", SQL_USER, {"name": "app"}, retainOnDelete=True)], [])

    assert report.dangers[0].severity is Severity.MEDIUM
    assert "kept" in report.dangers[0].reason


def test_deleting_a_component_is_not_itself_a_danger() -> None:
    component = resource("net", "omni:network:Network", {}, custom=False)

    report = diff([component], [])

    assert only(report, "net").kind is ChangeKind.DELETE
    assert not report.has_danger


def test_headline_counts_deletes_and_unprotected_resources() -> None:
    before = [
        resource("db", SQL_INSTANCE, sql_instance()),
        resource("vpc", protect=True),
        resource("api", CLOUD_RUN, {"name": "api", "deletionProtection": True}),
    ]
    after = [
        resource("vpc"),
        resource("api", CLOUD_RUN, {"name": "api", "deletionProtection": False}),
    ]

    markdown = render_markdown(diff(before, after))

    assert "This change deletes 1 stateful resource and removes protection from 2 resources." in markdown


# --- secrets and unknowns -----------------------------------------------------------------


def test_secret_compared_to_secret_is_unchanged_as_far_as_we_can_see() -> None:
    before = resource("app", SQL_USER, {"name": "app", "password": SECRET})
    after = resource("app", SQL_USER, {"name": "app", "password": SECRET})

    report = diff([before], [after])

    assert only(report, "app").kind is ChangeKind.SAME
    assert only(report, "app").unreadable_secrets == ("password",)
    assert not report.has_changes


def test_secret_markers_are_rendered_as_markers_in_every_format() -> None:
    before = resource("app", SQL_USER, {"name": "app", "password": SECRET, "host": "%"})
    after = resource("app", SQL_USER, {"name": "app", "password": SECRET, "host": "%", "label": SECRET})

    report = diff([before], [after])

    for fmt, text in all_renderings(report).items():
        assert SECRET in text, fmt
    assert "+ label: [secret]" in render_text(report)
    assert "unchanged as far as we can see" in render_text(report)


def test_value_that_becomes_secret_says_so() -> None:
    before = resource("vpc", inputs={"name": "vpc", "token": "plain"})
    after = resource("vpc", inputs={"name": "vpc", "token": SECRET})

    text = render_text(diff([before], [after]))

    assert '~ token: "plain" => [secret]  [now secret]' in text


def test_unknown_after_is_rendered_as_known_after_apply() -> None:
    before = resource("db", SQL_INSTANCE, sql_instance(ipConfiguration={"privateNetwork": "vpc-1"}))
    after = resource("db", SQL_INSTANCE, sql_instance(ipConfiguration={"privateNetwork": UNKNOWN}))

    report = diff([before], [after])
    entry = only(report, "db")

    assert entry.kind is ChangeKind.UPDATE
    assert entry.changes[0].known_after_apply
    assert '"vpc-1" => (known after apply)' in render_text(report)
    assert "(known after apply)" in render_markdown(report)
    assert UNKNOWN not in render_text(report)


def test_unknown_on_both_sides_is_not_a_change() -> None:
    before = resource("vpc", inputs={"name": "vpc", "network": UNKNOWN})
    after = resource("vpc", inputs={"name": "vpc", "network": UNKNOWN})

    assert not diff([before], [after]).has_changes


def test_unknown_force_new_input_is_a_likely_replacement() -> None:
    before = resource("vpc", inputs={"name": "vpc"})
    after = resource("vpc", inputs={"name": UNKNOWN})

    assert only(diff([before], [after]), "vpc").kind is ChangeKind.REPLACE


# --- rendering ----------------------------------------------------------------------------


def dangerous_report() -> DiffReport:
    before = [
        resource("db", SQL_INSTANCE, sql_instance()),
        resource("vpc", inputs={"name": "vpc", "mtu": 1460}),
        resource("old", FIREWALL, {"name": "old"}),
    ]
    after = [
        resource("vpc", inputs={"name": "vpc", "mtu": 1500}),
        resource("new", FIREWALL, {"name": "new"}),
    ]
    return diff(before, after)


def test_markdown_puts_the_danger_section_before_anything_else() -> None:
    markdown = render_markdown(dangerous_report())
    lines = markdown.splitlines()

    assert lines[0].startswith("## ")
    assert STACK in lines[0]
    danger_at = markdown.index("> [!CAUTION]")
    assert markdown.index("| Change |") > danger_at
    assert markdown.index("### ") > danger_at
    assert markdown[:danger_at].strip() == lines[0]


def test_markdown_has_counts_table_and_details_per_updated_resource() -> None:
    markdown = render_markdown(dangerous_report())

    assert "| - delete | 2 |" in markdown
    assert "| + create | 1 |" in markdown
    assert "<details>" in markdown
    assert "| `mtu` | `1460` | `1500` |" in markdown


def test_markdown_truncates_long_values_and_escapes_pipes() -> None:
    long_value = "x" * 500
    before = resource("vpc", inputs={"name": "vpc", "description": "a|b"})
    after = resource("vpc", inputs={"name": "vpc", "description": long_value})

    markdown = render_markdown(diff([before], [after]))

    assert long_value not in markdown
    assert "…" in markdown
    assert '`"a\\|b"`' in markdown


def provider(**labels: str) -> Resource:
    inputs = {"project": "p", "defaultLabels": json.dumps(labels)}
    return resource("gcp", GCP_PROVIDER, inputs)


def test_json_string_inputs_are_compared_key_by_key() -> None:
    labels = {"app": "omni", "environment": "dev", "managed-by": "pulumi"}
    before = provider(**labels, **{"cost-centre": "cc-1"})
    after = provider(**labels, **{"cost-centre": "cc-2"})

    report = diff([before], [after])

    assert change_paths(only(report, "gcp")) == ["defaultLabels.cost-centre"]
    assert '~ defaultLabels.cost-centre: "cc-1" => "cc-2"' in render_text(report)
    assert '| `defaultLabels.cost-centre` | `"cc-1"` | `"cc-2"` |' in render_markdown(report)


def test_json_strings_that_differ_only_in_formatting_are_the_same() -> None:
    before = resource("gcp", GCP_PROVIDER, {"defaultLabels": '{"a": "1", "b": "2"}'})
    after = resource("gcp", GCP_PROVIDER, {"defaultLabels": '{"b":"2","a":"1"}'})

    assert not diff([before], [after]).has_changes


def test_long_values_are_cut_around_the_first_difference_so_both_sides_differ() -> None:
    preamble = "Omni platform network, managed by Pulumi; do not edit by hand. " * 3
    before = resource("vpc", inputs={"name": "vpc", "description": preamble + "Owner: team-a."})
    after = resource("vpc", inputs={"name": "vpc", "description": preamble + "Owner: team-b."})
    report = diff([before], [after])

    [line] = [ln for ln in render_text(report).splitlines() if "~ description:" in ln]
    old_text, new_text = line.split(" => ")
    assert "team-a" in old_text
    assert "team-b" in new_text
    assert old_text.count("…") == 1
    assert new_text.count("…") == 1  # cut at the front only
    [row] = [ln for ln in render_markdown(report).splitlines() if ln.startswith("| `description`")]
    cells = row.split(" | ")
    assert "team-a" in cells[1]
    assert "team-b" in cells[2]


def test_text_lists_dangers_first_then_groups_with_pulumi_symbols() -> None:
    text = render_text(dangerous_report())

    assert text.index("DANGER:") < text.index("Deleted (2):") < text.index("Updated in place (1):")
    assert text.index("Updated in place (1):") < text.index("Created (1):")
    assert "  -  gcp:sql/databaseInstance:DatabaseInstance db" in text
    assert "  ~  gcp:compute/network:Network vpc" in text
    assert "      ~ mtu: 1460 => 1500" in text
    assert "  +  gcp:compute/firewall:Firewall new" in text


def test_text_marks_replacements_with_the_forcing_path() -> None:
    report = diff([resource("vpc", inputs={"name": "a"})], [resource("vpc", inputs={"name": "b"})])

    assert "  +- gcp:compute/network:Network vpc  (likely replacement: name forces a new resource)" in render_text(
        report
    )


def test_json_is_deterministic_and_parses() -> None:
    first = render_json(dangerous_report())
    second = render_json(dangerous_report())

    assert first == second
    parsed = json.loads(first)
    assert parsed["has_danger"] is True
    assert parsed["counts"] == {"create": 1, "update": 1, "replace": 0, "delete": 2, "same": 0}
    # Sorted keys: re-serialising the parsed document gives the same bytes.
    assert first == json.dumps(parsed, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_json_lists_changed_resources_sorted_by_urn() -> None:
    parsed = json.loads(render_json(dangerous_report()))

    urns = [r["urn"] for r in parsed["resources"]]
    assert urns == sorted(urns)
    assert len(urns) == 4


def test_stack_output_changes_are_reported() -> None:
    vpc = resource("vpc")
    report = compute_diff(graph(vpc, outputs={"url": "a"}), graph(vpc, outputs={"url": "b"}))

    assert report.has_changes
    assert '~ url: "a" => "b"' in render_text(report)


# --- the replacement data -----------------------------------------------------------------


def snapshot_custom_types() -> list[str]:
    """Every cloud resource type the real stacks create (providers have no FORCE_NEW entry)."""
    types: set[str] = set()
    for path in sorted(SNAPSHOTS.glob("*.json")):
        for res in json.loads(path.read_text())["resources"]:
            if res.get("custom") and not str(res["type"]).startswith("pulumi:providers:"):
                types.add(str(res["type"]))
    return sorted(types)


SNAPSHOT_TYPES = snapshot_custom_types()


def test_the_snapshots_hold_the_stacks_cloud_resources() -> None:
    assert NETWORK in SNAPSHOT_TYPES, SNAPSHOTS


@pytest.mark.parametrize("rtype", SNAPSHOT_TYPES)
def test_every_type_in_the_stack_snapshots_has_its_own_force_new_entry(rtype: str) -> None:
    # An empty entry is a reviewed fact (the provider replaces on none of its inputs), not an omission.
    assert rtype in replacements.FORCE_NEW, (
        f"{rtype} is in snapshots/ but not in offline/replacements.py FORCE_NEW: "
        "add its provider's ForceNew fields (an empty tuple if it has none)"
    )


# Types the coming components (database, cache, services, secrets, buckets) will create:
# listed by hand because no snapshot holds them yet.
REQUIRED_TYPES = [
    "gcp:compute/network:Network",
    "gcp:compute/subnetwork:Subnetwork",
    "gcp:compute/globalAddress:GlobalAddress",
    "gcp:compute/router:Router",
    "gcp:compute/routerNat:RouterNat",
    "gcp:compute/firewall:Firewall",
    "gcp:servicenetworking/connection:Connection",
    "gcp:projects/service:Service",
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:sql/database:Database",
    "gcp:sql/user:User",
    "gcp:redis/instance:Instance",
    "gcp:cloudrunv2/service:Service",
    "gcp:cloudrunv2/workerPool:WorkerPool",
    "gcp:cloudrunv2/job:Job",
    "gcp:secretmanager/secret:Secret",
    "gcp:secretmanager/secretVersion:SecretVersion",
    "gcp:serviceaccount/account:Account",
    "gcp:artifactregistry/repository:Repository",
    "gcp:storage/bucket:Bucket",
    "gcp:projects/iAMMember:IAMMember",
    "random:index/randomPassword:RandomPassword",
    "gcp:container/cluster:Cluster",
]


@pytest.mark.parametrize("rtype", REQUIRED_TYPES)
def test_every_type_the_coming_components_use_has_its_own_force_new_entry(rtype: str) -> None:
    assert rtype in replacements.FORCE_NEW
    assert replacements.FORCE_NEW[rtype], rtype


def test_stateful_types_include_the_data_holders() -> None:
    for rtype in (
        SQL_INSTANCE,
        SQL_USER,
        BUCKET,
        SECRET_RES,
        PASSWORD,
        "gcp:compute/globalAddress:GlobalAddress",
    ):
        assert replacements.is_stateful(rtype), rtype
    assert not replacements.is_stateful(NETWORK)
