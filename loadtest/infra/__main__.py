"""The omni-loadtest Pulumi program: Locust master and workers on Kubernetes.

On a GKE Autopilot cluster it creates (private nodes, its own VPC or an existing one), or on the
cluster of `kubeconfig` when the stack sets one. `omni preview -C loadtest/infra --stack loadtest`
runs it offline, like the platform's stacks.
"""

import sys
from pathlib import Path

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))  # the suite and the components live in the repository's packages

import loadtest
from components.project_services import ProjectServices, ProjectServicesArgs
from loadtest import SUITE_FILES
from loadtest.config import SuiteSettings
from loadtest.infra import gke_autopilot
from loadtest.infra.gke_autopilot import ExistingNetwork, GkeAutopilot, GkeAutopilotArgs, OwnNetwork
from loadtest.infra.locust_cluster import LocustCluster, LocustClusterArgs, PodResources
from loadtest.stack_config import ClusterConfig, load_loadtest_config
from stackconfig.runtime import runtime_config

stack = pulumi.get_stack()
config = load_loadtest_config(stack, *runtime_config())
base = f"omni-{stack}"

if config.kubeconfig is not None:
    kubeconfig = pulumi.Output.secret(config.kubeconfig.get_secret_value())
else:
    assert config.project is not None  # the config model requires it when the stack creates the cluster
    settings = config.cluster or ClusterConfig()
    google = gcp.Provider(
        f"{base}-gcp", project=config.project, region=config.region, add_pulumi_attribution_label=False
    )
    apis = ProjectServices(
        f"{base}-apis",
        ProjectServicesArgs(project=config.project, services=gke_autopilot.REQUIRED_APIS),
        opts=pulumi.ResourceOptions(providers=[google]),
    )
    cluster = GkeAutopilot(
        base,
        GkeAutopilotArgs(
            project=config.project,
            region=config.region,
            network=(
                ExistingNetwork(settings.network, settings.subnetwork)
                if settings.network and settings.subnetwork
                else OwnNetwork(settings.subnet_cidr, settings.pods_cidr, settings.services_cidr)
            ),
            release_channel=settings.release_channel,
            master_cidr=settings.master_cidr,
            authorized_networks=settings.authorized_networks,
            deletion_protection=settings.deletion_protection,
            labels={"app": "omni", "environment": "loadtest", "managed-by": "pulumi"},
        ),
        opts=pulumi.ResourceOptions(providers=[google], depends_on=[apis]),
    )
    kubeconfig = cluster.kubeconfig
    pulumi.export("cluster_name", cluster.cluster_name)

kubernetes = k8s.Provider(f"{base}-kubernetes", kubeconfig=kubeconfig)
suite_dir = Path(loadtest.__file__).resolve().parent
locust = LocustCluster(
    base,
    LocustClusterArgs(
        suite_files={name: (suite_dir / name).read_text(encoding="utf-8") for name in SUITE_FILES},
        target_host=config.target,
        workers=config.workers,
        namespace=config.namespace,
        master_resources=PodResources(config.master.cpu, config.master.memory),
        worker_resources=PodResources(config.worker.cpu, config.worker.memory),
        suite_env=SuiteSettings(shape=config.shape).environment(),
        users=config.users,
        spawn_rate=config.spawn_rate,
        run_time=config.run_time,
        api_key=config.api_key.get_secret_value() if config.api_key else None,
    ),
    opts=pulumi.ResourceOptions(providers=[kubernetes]),
)

pulumi.export("namespace", locust.namespace)
pulumi.export("master_service", locust.master_service)
pulumi.export(
    "web_ui",
    pulumi.Output.all(locust.namespace, locust.master_service).apply(
        lambda parts: f"kubectl -n {parts[0]} port-forward svc/{parts[1]} 8089"
    ),
)
