"""The `loadtest` stack (loadtest/infra): a Locust master and workers on Kubernetes, on a GKE
Autopilot cluster it creates or on a cluster given by kubeconfig. Run offline under the mock
engine; the Kubernetes objects it declares are validated against the Kubernetes schemas."""

from __future__ import annotations

import copy
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from loadtest import SUITE_FILES
from loadtest.infra.locust_cluster import LOCUST_IMAGE, MASTER_PORT, SUITE_MOUNT, WEB_PORT, LocustClusterArgs
from loadtest.manifests import KUBERNETES_VERSION, manifests_from_graph, render_yaml, validation_errors
from loadtest.results import read_stats
from loadtest.runner import stop_locust
from loadtest.stack_config import load_loadtest_config
from localrun.ports import free_port
from offline import replacements
from offline.engine import Project, run_stack
from stackconfig import StackConfigError
from tests.conftest import ROOT, one, resources
from tests.test_loadtest import FakeApi

INFRA = ROOT / "loadtest" / "infra"
STACK = "loadtest"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
KUBERNETES_TYPES = (
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:Service",
    DEPLOYMENT,
)


@pytest.fixture(scope="module")
def graph() -> dict[str, Any]:
    return run_stack(Project.load(INFRA), STACK).to_json()


def infra_copy(tmp_path: Path, stack_file: str) -> Project:
    """The loadtest project with another stack file."""
    shutil.copy(INFRA / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(INFRA / "__main__.py", tmp_path / "__main__.py")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / f"Pulumi.{STACK}.yaml").write_text(stack_file)
    return Project.load(tmp_path)


def deployment(graph: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [r for r in resources(graph, DEPLOYMENT) if r["inputs"]["metadata"]["name"] == name]
    return found


def container(resource: dict[str, Any]) -> dict[str, Any]:
    (only,) = resource["inputs"]["spec"]["template"]["spec"]["containers"]
    return only


def test_the_stack_runs_one_master_and_the_configured_workers(graph):
    assert deployment(graph, "locust-master")["inputs"]["spec"]["replicas"] == 1
    assert deployment(graph, "locust-worker")["inputs"]["spec"]["replicas"] == 4  # stacks/Pulumi.loadtest.yaml
    worker_args = container(deployment(graph, "locust-worker"))["args"]
    assert worker_args[-5:] == ["--worker", "--master-host", "locust-master", "--master-port", str(MASTER_PORT)]


def test_the_worker_count_is_stack_config(tmp_path):
    text = (INFRA / "stacks" / f"Pulumi.{STACK}.yaml").read_text().replace("workers: 4", "workers: 12")
    changed = run_stack(infra_copy(tmp_path, text), STACK).to_json()
    assert deployment(changed, "locust-worker")["inputs"]["spec"]["replicas"] == 12


def test_every_kubernetes_object_goes_through_the_stacks_explicit_provider(graph):
    kubernetes = [r for r in graph["resources"] if r["type"].startswith("kubernetes:")]
    assert len(kubernetes) == 5
    provider = one(graph, "pulumi:providers:kubernetes")
    assert all(str(r["provider"]).startswith(provider["urn"]) for r in kubernetes)


def test_the_suite_configmap_carries_the_repositorys_suite_files(graph):
    data = one(graph, "kubernetes:core/v1:ConfigMap")["inputs"]["data"]
    assert data == {name: (ROOT / "loadtest" / name).read_text() for name in SUITE_FILES}


def test_a_changed_suite_is_a_new_configmap_that_rolls_the_pods(graph):
    name = one(graph, "kubernetes:core/v1:ConfigMap")["inputs"]["metadata"]["name"]
    assert name.startswith("locust-suite-")
    for pods in ("locust-master", "locust-worker"):
        volumes = deployment(graph, pods)["inputs"]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "suite", "configMap": {"name": name}} in volumes


def test_pods_run_as_non_root_without_a_token_and_with_requests_equal_to_limits(graph):
    for name in ("locust-master", "locust-worker"):
        pod = deployment(graph, name)["inputs"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        main = container(deployment(graph, name))
        assert main["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert main["resources"]["requests"] == main["resources"]["limits"]
        assert main["resources"]["requests"]["cpu"]


def test_the_image_runs_the_locust_version_the_suite_is_tested_with(graph):
    assert f"locustio/locust:{importlib.metadata.version('locust')}" == LOCUST_IMAGE
    assert {container(d)["image"] for d in resources(graph, DEPLOYMENT)} == {LOCUST_IMAGE}


def test_the_master_service_is_internal_with_the_web_and_worker_ports(graph):
    spec = one(graph, "kubernetes:core/v1:Service")["inputs"]["spec"]
    assert spec["type"] == "ClusterIP"
    assert {port["name"]: port["port"] for port in spec["ports"]} == {"web": WEB_PORT, "master": MASTER_PORT}
    assert spec["selector"] == deployment(graph, "locust-master")["inputs"]["spec"]["selector"]["matchLabels"]


def test_the_cluster_is_autopilot_with_private_nodes_and_a_release_channel(graph):
    cluster = one(graph, "gcp:container/cluster:Cluster")["inputs"]
    assert cluster["enableAutopilot"] is True
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["releaseChannel"] == {"channel": "REGULAR"}
    assert cluster["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }
    assert one(graph, "gcp:compute/routerNat:RouterNat")  # private nodes pull the image through NAT


def test_the_rendered_manifests_are_valid_kubernetes_objects(graph):
    manifests = manifests_from_graph(graph)
    assert sorted(m["kind"] for m in manifests) == ["ConfigMap", "Deployment", "Deployment", "Namespace", "Service"]
    assert validation_errors(manifests, KUBERNETES_VERSION) == []
    assert render_yaml(manifests).count("\n---\n") == len(manifests) - 1


def test_the_validator_rejects_what_kubernetes_would(graph):
    manifests = manifests_from_graph(graph)
    broken = copy.deepcopy(next(m for m in manifests if m["kind"] == "Deployment"))
    broken["spec"]["replicas"] = "four"
    broken["spec"]["template"]["spec"]["containers"][0]["cpuLimit"] = 1
    errors = validation_errors([broken])
    assert len(errors) == 1
    assert errors[0].startswith("Deployment locust-")


KUBECONFIG_STACK = """
config:
  omni-loadtest:target: http://api.internal:8080
  omni-loadtest:workers: 2
  omni-loadtest:shape: soak
  omni-loadtest:kubeconfig:
    secure: AAABAKubeconfig
  omni-loadtest:apiKey:
    secure: AAABAApiKey
"""


def test_with_a_kubeconfig_the_stack_creates_no_cluster_and_keeps_the_key_in_a_secret(tmp_path):
    graph = run_stack(infra_copy(tmp_path, KUBECONFIG_STACK), STACK).to_json()
    assert not [r for r in graph["resources"] if r["type"].startswith("gcp:")]
    assert one(graph, "pulumi:providers:kubernetes")["inputs"]["kubeconfig"] == "[secret]"
    secret = one(graph, "kubernetes:core/v1:Secret")["inputs"]
    assert secret["stringData"] == "[secret]"
    env = {e["name"]: e for e in container(deployment(graph, "locust-master"))["env"]}
    assert env["OMNI_LOADTEST_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "locust-api-key", "key": "api-key"}
    assert env["OMNI_LOADTEST_SHAPE"]["value"] == "soak"
    assert validation_errors(manifests_from_graph(graph)) == []


def problems_of(values: dict[str, str], secret_keys: frozenset[str] = frozenset()) -> str:
    with pytest.raises(StackConfigError) as caught:
        load_loadtest_config(STACK, values, set(secret_keys))
    return str(caught.value)


VALID = {"gcp:project": "omni-loadtest-lab", "omni-loadtest:target": "https://api.example.com"}


def test_the_stack_config_names_every_bad_key_before_anything_is_declared():
    message = problems_of(
        {**VALID, "omni-loadtest:workers": "0", "omni-loadtest:shape": "zigzag", "omni-loadtest:target": "api"}
    )
    assert message.startswith(
        "loadtest/infra/stacks/Pulumi.loadtest.yaml: 3 invalid configuration values; no resource was declared."
    )
    assert "omni-loadtest:workers: found 0" in message
    assert "no load shape named 'zigzag'" in message
    assert "must be an http(s) URL" in message


def test_a_kubeconfig_must_be_a_secret_and_is_never_echoed():
    message = problems_of({**VALID, "omni-loadtest:kubeconfig": "apiVersion: v1 token=hunter2"})
    assert "must be encrypted: `pulumi config set --secret 'kubeconfig' <value> --stack loadtest`" in message
    assert "hunter2" not in message


def test_an_existing_vpc_needs_its_subnet_and_excludes_a_kubeconfig():
    assert "needs both cluster.network and cluster.subnetwork" in problems_of(
        {**VALID, "omni-loadtest:cluster": '{"network": "projects/p/global/networks/vpc"}'}
    )
    assert "not both" in problems_of(
        {**VALID, "omni-loadtest:cluster": "{}", "omni-loadtest:kubeconfig": "x"},
        frozenset({"omni-loadtest:kubeconfig"}),
    )


def test_a_missing_target_and_an_unknown_key_are_named():
    message = problems_of({"gcp:project": "omni-loadtest-lab", "omni-loadtest:wrokers": "3"})
    assert "omni-loadtest:target: found (missing)" in message
    assert "omni-loadtest:wrokers" in message


def test_the_component_refuses_an_unpinned_image_and_zero_workers():
    with pytest.raises(ValueError, match=r"workers must be at least 1.*not pinned"):
        LocustClusterArgs(
            suite_files={"locustfile.py": ""}, target_host="http://api", workers=0, image="locustio/locust"
        )


@pytest.mark.parametrize("rtype", KUBERNETES_TYPES)
def test_every_kubernetes_type_has_its_replacement_rules(rtype):
    assert "metadata.name" in replacements.FORCE_NEW[rtype]


def test_omni_preview_runs_the_loadtest_project():
    result = CliRunner().invoke(app, ["preview", "-C", str(INFRA), "--stack", STACK])
    assert result.exit_code == 0, result.output
    assert "omni:loadtest:LocustCluster" in result.output
    assert "gcp:container/cluster:Cluster" in result.output


def test_the_master_and_worker_commands_run_the_suite_distributed(graph, tmp_path):
    """The Deployments' own arguments, with local paths and addresses, as two real processes."""

    api = FakeApi()
    api.thread.start()
    port = free_port()

    def local(arguments: list[str]) -> list[str]:
        replaced = {
            f"{SUITE_MOUNT}/locustfile.py": str(ROOT / "loadtest" / "locustfile.py"),
            "locust-master": "127.0.0.1",
        }
        return [sys.executable, "-m", "locust", *(replaced.get(argument, argument) for argument in arguments)]

    master_args = container(deployment(graph, "locust-master"))["args"]
    worker_args = [
        argument if argument != str(MASTER_PORT) else str(port)
        for argument in container(deployment(graph, "locust-worker"))["args"]
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("LOCUST_SKIP_MONKEY_PATCH", None)
    master = subprocess.Popen(
        [
            *local(master_args),
            "--host",
            api.url,
            "--headless",
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "3s",
            "--expect-workers",
            "1",
            "--master-bind-port",
            str(port),
            "--csv",
            str(tmp_path / "stats"),
        ],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        local(worker_args),
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        output, _ = master.communicate(timeout=60)
    finally:
        stop_locust(master)
        stop_locust(worker)
        api.server.shutdown()
        api.server.server_close()
    assert master.returncode == 0, output.decode(errors="replace")[-2000:]
    # A master runs no users itself: every request was made by the worker.
    total, _ = read_stats(tmp_path / "stats")
    assert total.requests > 0
    assert total.failures == 0
    assert worker.poll() is not None  # the master told it to quit
