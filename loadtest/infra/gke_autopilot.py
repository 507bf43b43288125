"""A GKE Autopilot cluster for load generation, with private nodes, and a kubeconfig for it.

Nodes get no public IP: they pull images and reach the API under test through Cloud NAT (the
cluster's own VPC gets a router and NAT; an existing VPC must already have them). The control
plane keeps a public endpoint so `pulumi up` can reach it, restricted to `authorized_networks`
when given. Autopilot manages nodes, so the Locust pods' requests are all there is to size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.options import child_options

REQUIRED_APIS = ("container.googleapis.com", "compute.googleapis.com")
ReleaseChannel = Literal["RAPID", "REGULAR", "STABLE"]
PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class OwnNetwork:
    """A VPC of the cluster's own: nothing else shares it, and it goes with the stack."""

    subnet_cidr: str = "10.40.0.0/22"
    pods_cidr: str = "10.44.0.0/14"
    services_cidr: str = "10.48.0.0/20"


@dataclass(frozen=True)
class ExistingNetwork:
    """An existing VPC and subnet (ids or self links); GKE adds its secondary ranges to the subnet."""

    network: str
    subnetwork: str


@dataclass(frozen=True)
class GkeAutopilotArgs:
    project: str
    region: str
    network: OwnNetwork | ExistingNetwork = field(default_factory=OwnNetwork)
    """Where the nodes live: an own VPC by default."""
    release_channel: ReleaseChannel = "REGULAR"
    """GKE upgrades the cluster along this channel; REGULAR is Google's default for production."""
    master_cidr: str = "172.16.0.32/28"
    """The control plane's private /28: must not overlap any range of the VPC."""
    authorized_networks: Sequence[str] = ()
    """CIDRs allowed to reach the control plane (the deployer's); empty: any address, still
    authenticated with Google credentials."""
    deletion_protection: bool = False
    """A load-test cluster is disposable: `pulumi destroy` removes it unless this is on."""
    labels: dict[str, str] = field(default_factory=dict)


class GkeAutopilot(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """A kubeconfig that authenticates with `gke-gcloud-auth-plugin` (the deployer's gcloud login); secret."""

    def __init__(self, name: str, args: GkeAutopilotArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:loadtest:GkeAutopilot", name, None, opts)
        child = child_options(self, opts)
        if isinstance(args.network, OwnNetwork):
            vpc = gcp.compute.Network(f"{name}-vpc", name=f"{name}-vpc", auto_create_subnetworks=False, opts=child)
            subnet = gcp.compute.Subnetwork(
                f"{name}-subnet",
                name=f"{name}-subnet",
                region=args.region,
                network=vpc.id,
                ip_cidr_range=args.network.subnet_cidr,
                private_ip_google_access=True,
                secondary_ip_ranges=[
                    {"range_name": PODS_RANGE, "ip_cidr_range": args.network.pods_cidr},
                    {"range_name": SERVICES_RANGE, "ip_cidr_range": args.network.services_cidr},
                ],
                opts=child,
            )
            router = gcp.compute.Router(
                f"{name}-router", name=f"{name}-router", region=args.region, network=vpc.id, opts=child
            )
            gcp.compute.RouterNat(
                f"{name}-nat",
                name=f"{name}-nat",
                region=args.region,
                router=router.name,
                nat_ip_allocate_option="AUTO_ONLY",
                source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
                log_config={"enable": True, "filter": "ERRORS_ONLY"},
                opts=child,
            )
            network_id, subnetwork_id = vpc.id, subnet.id
            ip_allocation: gcp.container.ClusterIpAllocationPolicyArgsDict = {
                "cluster_secondary_range_name": PODS_RANGE,
                "services_secondary_range_name": SERVICES_RANGE,
            }
        else:
            network_id, subnetwork_id = (
                pulumi.Output.from_input(args.network.network),
                pulumi.Output.from_input(args.network.subnetwork),
            )
            ip_allocation = {}  # GKE creates the secondary ranges on the existing subnet

        authorized: gcp.container.ClusterMasterAuthorizedNetworksConfigArgsDict | None = (
            {"cidr_blocks": [{"cidr_block": cidr, "display_name": cidr} for cidr in args.authorized_networks]}
            if args.authorized_networks
            else None
        )
        cluster = gcp.container.Cluster(
            f"{name}-cluster",
            name=name,
            project=args.project,
            location=args.region,
            enable_autopilot=True,
            network=network_id,
            subnetwork=subnetwork_id,
            ip_allocation_policy=ip_allocation,
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": False,
                "master_ipv4_cidr_block": args.master_cidr,
            },
            master_authorized_networks_config=authorized,
            release_channel={"channel": args.release_channel},
            deletion_protection=args.deletion_protection,
            resource_labels=args.labels,
            opts=child,
        )
        self.cluster_name = cluster.name
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
                lambda parts: kubeconfig(*(str(part) for part in parts))
            )
        )
        self.register_outputs({"cluster_name": self.cluster_name, "kubeconfig": self.kubeconfig})


def kubeconfig(cluster_name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig for the cluster; credentials come from gcloud at each use, none is stored."""
    return f"""apiVersion: v1
kind: Config
clusters:
- name: {cluster_name}
  cluster:
    server: https://{endpoint}
    certificate-authority-data: {ca_certificate}
contexts:
- name: {cluster_name}
  context:
    cluster: {cluster_name}
    user: {cluster_name}
current-context: {cluster_name}
users:
- name: {cluster_name}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      provideClusterInfo: true
      installHint: Install gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin)
"""
