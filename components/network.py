"""The private network: one VPC with a regional subnet for Cloud Run Direct VPC egress,
private services access for Cloud SQL and Memorystore, and Cloud NAT for egress.

No workload gets an external IP: Cloud Run reaches the database and Redis through the
subnet, and the internet through NAT.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from stackconfig.model import NetworkConfig

REQUIRED_APIS = ("compute.googleapis.com", "servicenetworking.googleapis.com")
PRIVATE_SERVICES_PEERING = "servicenetworking.googleapis.com"


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    """Region of the subnet, the router and NAT; every regional workload must use the same one."""
    settings: NetworkConfig = field(default_factory=NetworkConfig)
    """Ranges, NAT and flow logs; see `NetworkConfig` for each default and when to change it."""
    protect: bool = True
    """Pulumi `protect` and the provider's `deletion_policy: PREVENT` on the VPC, subnet and
    private services range and peering: Cloud SQL and Memorystore hang on them, so deleting
    them strands the data services. Off only for disposable environments."""


class Network(pulumi.ComponentResource):
    """A custom-mode VPC ready for Direct VPC egress and private services access."""

    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    private_services_range: gcp.compute.GlobalAddress
    private_services_connection: gcp.servicenetworking.Connection
    network_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:network:Network", name, None, opts)
        settings = args.settings
        stateful = child_options(self, opts, protect=args.protect)
        # The provider's own guard as well as Pulumi's: it also stops a destroy run outside
        # this program. A disposable network is deleted normally.
        deletion_policy = "PREVENT" if args.protect else "DELETE"

        self.network = gcp.compute.Network(
            f"{name}-vpc",
            name=f"{name}-vpc",
            description="Omni platform network (managed by Pulumi)",
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            deletion_policy=deletion_policy,
            opts=stateful,
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=f"{name}-subnet",
            network=self.network.id,
            region=args.region,
            ip_cidr_range=settings.subnet_cidr,
            stack_type="IPV4_ONLY",
            deletion_policy=deletion_policy,
            # Workloads without external IPs still reach Google APIs (Secret Manager, Cloud Trace).
            private_ip_google_access=True,
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_SEC",
                flow_sampling=settings.flow_logs_sampling,
                metadata="INCLUDE_ALL_METADATA",
            )
            if settings.flow_logs_sampling > 0
            else None,
            opts=stateful,
        )
        self.private_services_range = gcp.compute.GlobalAddress(
            f"{name}-psa-range",
            name=f"{name}-psa-range",
            description="Reserved for private services access (Cloud SQL, Memorystore)",
            network=self.network.id,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            prefix_length=settings.private_services_prefix_length,
            deletion_policy=deletion_policy,
            opts=stateful,
        )
        self.private_services_connection = gcp.servicenetworking.Connection(
            f"{name}-psa",
            network=self.network.id,
            service=PRIVATE_SERVICES_PEERING,
            reserved_peering_ranges=[self.private_services_range.name],
            # Protected: refuse to delete. Disposable: Google refuses to delete a connection
            # that a just-deleted Cloud SQL instance still holds, so remove the peering from
            # the network instead, which lets the network itself be deleted.
            deletion_policy="PREVENT" if args.protect else "REMOVE_PEERING",
            opts=stateful,
        )
        child = child_options(self, opts)
        self.router = gcp.compute.Router(
            f"{name}-router",
            name=f"{name}-router",
            network=self.network.id,
            region=args.region,
            opts=child,
        )
        self.nat: gcp.compute.RouterNat | None = None
        if settings.nat_enabled:
            self.nat = gcp.compute.RouterNat(
                f"{name}-nat",
                name=f"{name}-nat",
                router=self.router.name,
                region=args.region,
                nat_ip_allocate_option="AUTO_ONLY",
                # Only our subnet is NATed, so a subnet added later is private until reviewed.
                source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
                subnetworks=[
                    gcp.compute.RouterNatSubnetworkArgs(
                        name=self.subnet.id,
                        source_ip_ranges_to_nats=["ALL_IP_RANGES"],
                    )
                ],
                # Cloud Run opens many short connections: dynamic ports avoid exhaustion under load.
                enable_dynamic_port_allocation=True,
                enable_endpoint_independent_mapping=False,
                min_ports_per_vm=64,
                max_ports_per_vm=4096,
                log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter=settings.nat_log_filter),
                opts=child,
            )

        self.network_id = self.network.id
        self.subnet_id = self.subnet.id
        self.register_outputs(
            {
                "network_id": self.network_id,
                "network_name": self.network.name,
                "subnet_id": self.subnet_id,
                "subnet_name": self.subnet.name,
                "private_services_range": self.private_services_range.name,
            }
        )
