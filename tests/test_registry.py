"""The container registry: one Docker repository with immutable tags and cleanup policies, and
the image references the workloads deploy."""

from __future__ import annotations

import pytest

from components.registry import Registry, RegistryArgs, image_reference
from offline.engine import run_stack

from .conftest import one

REPOSITORY = "gcp:artifactregistry/repository:Repository"
DIGEST = "sha256:" + "ab" * 32

STACK_FILE = """
config:
  gcp:project: probe-project
  gcp:region: europe-west1
"""

PROGRAM = """
import pulumi
from components.registry import Registry, RegistryArgs

registry = Registry("omni-test-images", RegistryArgs(region="europe-west1", project="probe-project"{extra}))
pulumi.export("image_base", registry.image_base)
pulumi.export("tagged", registry.image("api", "2024-06-01.3"))
pulumi.export("pinned", registry.image("api", "{digest}"))
"""


def run(make_project, extra: str = "", preview: bool = True):
    program = PROGRAM.format(extra=extra, digest=DIGEST)
    return run_stack(make_project(program, STACK_FILE), "test", preview=preview).to_json()


def policies(graph) -> dict[str, dict]:
    return {policy["id"]: policy for policy in one(graph, REPOSITORY)["inputs"]["cleanupPolicies"]}


def test_one_docker_repository_in_the_region_named_after_the_component(make_project):
    graph = run(make_project)
    repository = one(graph, REPOSITORY)
    assert repository["inputs"]["format"] == "DOCKER"
    assert repository["inputs"]["repositoryId"] == "omni-test-images"
    assert repository["inputs"]["location"] == "europe-west1"
    assert repository["inputs"]["project"] == "probe-project"
    component = one(graph, "omni:registry:Registry")
    assert repository["parent"] == component["urn"]
    assert repository["name"] == "omni-test-images-repository"


def test_tags_are_immutable_so_a_release_tag_names_one_image_forever(make_project):
    assert one(run(make_project), REPOSITORY)["inputs"]["dockerConfig"] == {"immutableTags": True}


def test_cleanup_keeps_the_most_recent_versions_and_deletes_untagged_ones(make_project):
    graph = run(make_project)
    assert one(graph, REPOSITORY)["inputs"]["cleanupPolicyDryRun"] is False
    by_id = policies(graph)
    keep = by_id["keep-recent-versions"]
    assert keep["action"] == "KEEP"
    assert keep["mostRecentVersions"] == {"keepCount": 20}
    untagged = by_id["delete-untagged"]
    assert untagged["action"] == "DELETE"
    assert untagged["condition"]["tagState"] == "UNTAGGED"
    assert untagged["condition"]["olderThan"].endswith("d")
    # Tagged versions go only when old, and never the most recent ones (KEEP wins over DELETE).
    tagged = by_id["delete-old-tagged"]
    assert tagged["action"] == "DELETE"
    assert tagged["condition"]["tagState"] == "TAGGED"
    assert int(tagged["condition"]["olderThan"].removesuffix("d")) >= 30
    # Nothing else deletes: every DELETE policy is bounded by age.
    assert all("olderThan" in p["condition"] for p in by_id.values() if p["action"] == "DELETE")


def test_how_many_recent_versions_to_keep_is_an_argument(make_project):
    assert policies(run(make_project, ", keep_recent=5"))["keep-recent-versions"]["mostRecentVersions"] == {
        "keepCount": 5
    }
    with pytest.raises(ValueError, match="keep_recent"):
        RegistryArgs(region="europe-west1", project="p", keep_recent=0)


def test_vulnerability_scanning_is_left_to_the_defaults(make_project):
    assert "vulnerabilityScanningConfig" not in one(run(make_project), REPOSITORY)["inputs"]


def test_repository_is_protected_twice_by_default_and_disposable_on_request(make_project):
    protected = one(run(make_project), REPOSITORY)
    assert protected["protect"] is True
    assert protected["inputs"]["deletionPolicy"] == "PREVENT"
    disposable = one(run(make_project, ", protect=False"), REPOSITORY)
    assert disposable["protect"] is False
    assert disposable["inputs"]["deletionPolicy"] == "DELETE"


def test_image_gives_a_tag_or_a_digest_reference_under_the_repository(make_project):
    outputs = run(make_project, preview=False)["outputs"]
    base = "europe-west1-docker.pkg.dev/probe-project/omni-test-images"
    assert outputs["image_base"] == base
    assert outputs["tagged"] == f"{base}/api:2024-06-01.3"
    assert outputs["pinned"] == f"{base}/api@{DIGEST}"


def test_image_references_are_known_in_a_preview(make_project):
    # Built from inputs only, so `omni diff` shows which image a change deploys.
    outputs = run(make_project)["outputs"]
    assert outputs["tagged"] == "europe-west1-docker.pkg.dev/probe-project/omni-test-images/api:2024-06-01.3"


@pytest.mark.parametrize(
    ("name", "release", "problem"),
    [
        ("api", "latest", "moves between images"),
        ("api", "sha256:abc", "64 lowercase hex"),
        ("api", "-leading-dash", "not a valid Docker tag"),
        ("api", "x" * 129, "not a valid Docker tag"),
        ("API", "v1", "not a valid Docker image path"),
        ("api/", "v1", "not a valid Docker image path"),
    ],
)
def test_image_refuses_moving_tags_and_malformed_references(name, release, problem):
    with pytest.raises(ValueError, match=problem):
        image_reference("europe-west1-docker.pkg.dev/p/r", name, release)


def test_image_accepts_nested_names_and_git_shas():
    base = "europe-west1-docker.pkg.dev/p/r"
    assert image_reference(base, "omni/api", "3f9c2e1") == f"{base}/omni/api:3f9c2e1"


def test_repository_id_must_be_valid_before_anything_is_declared():
    with pytest.raises(ValueError, match="repository id 'Omni_Images'"):
        Registry("Omni_Images", RegistryArgs(region="europe-west1", project="p"))
