"""Memorystore for Redis, one instance per role: the cache and the Celery broker.

Two instances on purpose. The cache may evict (`allkeys-lru`) and may lose everything on a
restart: the API rebuilds it from the database. The broker holds queued Celery tasks, so it
never evicts (`noeviction`: a full broker refuses new tasks loudly instead of dropping old
ones, and never drops kombu's queue bindings) and writes RDB snapshots every hour.

Both are reachable only through private services access on the platform VPC, require AUTH
and serve TLS only (port 6378); clients must trust `server_ca_certs`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.encryption import CustomerKey
from components.options import child_options
from stackconfig.platform import RedisCacheConfig, RedisInstanceConfig

REQUIRED_APIS = ("redis.googleapis.com",)

RedisRole = Literal["cache", "broker"]
Weekday = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]

EVICTION_POLICY: dict[RedisRole, str] = {
    # Any key may go, least recently used first: the cache is a copy of the database.
    "cache": "allkeys-lru",
    # Nothing is ever evicted: a write to a full broker fails instead of losing a task
    # (or kombu's `_kombu.binding.*` keys, without which workers stop consuming).
    "broker": "noeviction",
}
# Off-peak for a European API, staggered around Cloud SQL's default window (Sunday 03:00
# UTC) so that the database, the cache and the broker never fail over in the same hour.
# Memorystore windows last one hour.
MAINTENANCE_WINDOW: dict[RedisRole, tuple[Weekday, int]] = {
    "cache": ("SUNDAY", 1),
    "broker": ("SUNDAY", 5),
}
# Memorystore snapshots at most hourly; an hour is the most the broker can lose when both of
# its nodes fail at once (or, on BASIC, on any restart or maintenance).
BROKER_SNAPSHOT_PERIOD = "ONE_HOUR"
INSTANCE_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$")


@dataclass(frozen=True)
class RedisArgs:
    region: str
    """Region of the instance: the same as the VPC's subnet and the workloads that use it."""
    network_id: pulumi.Input[str]
    """The VPC (`Network.network_id`) the instance is reachable from, and nothing else."""
    private_services_connection: pulumi.Resource
    """The private services access peering (`Network.private_services_connection`): with
    `PRIVATE_SERVICE_ACCESS` the instance takes its IP from the peered range, so creating it
    before the peering exists fails."""
    role: RedisRole
    """`cache` (evicts, no persistence) or `broker` (never evicts, RDB snapshots)."""
    settings: RedisInstanceConfig = field(default_factory=RedisInstanceConfig)
    """Tier, size, read replicas and version: see `RedisInstanceConfig` for each default."""
    protect: bool = True
    """Pulumi `protect`, the provider's `deletion_protection` and `deletion_policy: PREVENT`,
    for both roles. The broker holds queued tasks, so losing it loses work. The cache holds
    nothing that cannot be rebuilt, and is protected all the same: replacing either instance
    changes its host, port, AUTH string and CA, which every API and worker revision carries,
    so an unreviewed replacement is an outage; and a cold cache in prod sends every read to
    Cloud SQL at once. Rebuilding the cache on purpose is
    one reviewed step (`pulumi state unprotect`). Off only for disposable environments,
    where it also lets `pulumi destroy` delete the instance."""
    encryption: CustomerKey | None = None
    """The customer-managed key (components/encryption.py) to encrypt with, or None for Google's
    default encryption. Adopting or changing it REPLACES the
    instance: the provider's `customerManagedKey` is ForceNew, and Memorystore takes a key at
    creation only (docs/encryption.md)."""


def check_instance_name(instance_name: str) -> None:
    """Refuse a name Memorystore would refuse (the settings themselves are checked by the
    config model)."""
    if not INSTANCE_NAME.fullmatch(instance_name):
        raise ValueError(
            f"instance name {instance_name!r} is not a Memorystore name (1-40 lowercase letters, digits or "
            "hyphens, starting with a letter, ending with a letter or digit): shorten namePrefix"
        )


def has_read_replicas(settings: RedisInstanceConfig) -> bool:
    """Only the cache has read replicas; the config refuses them on BASIC or under 5 GB."""
    return isinstance(settings, RedisCacheConfig) and settings.read_replicas > 0


def redis_configs(role: RedisRole) -> dict[str, str]:
    return {"maxmemory-policy": EVICTION_POLICY[role]}


def persistence(role: RedisRole) -> gcp.redis.InstancePersistenceConfigArgs:
    if role == "broker":
        return gcp.redis.InstancePersistenceConfigArgs(
            persistence_mode="RDB", rdb_snapshot_period=BROKER_SNAPSHOT_PERIOD
        )
    # Explicitly off, so that the graph says so and a provider default cannot turn it on.
    return gcp.redis.InstancePersistenceConfigArgs(persistence_mode="DISABLED")


def pem_bundle(certs: Sequence[gcp.redis.outputs.InstanceServerCaCert] | None) -> str:
    """Every CA the server may present, as one PEM file: during a CA rotation there are two,
    and a client that trusts only the old one breaks when Memorystore switches."""
    pems = [cert.cert.strip() for cert in certs or () if cert.cert]
    return "".join(f"{pem}\n" for pem in pems)


class Redis(pulumi.ComponentResource):
    """One private, AUTH-protected, TLS-only Memorystore for Redis instance in one role."""

    instance: gcp.redis.Instance
    host: pulumi.Output[str]
    """Private IP of the primary endpoint."""
    port: pulumi.Output[int]
    """TLS port of the primary endpoint (6378)."""
    read_endpoint: pulumi.Output[str] | None
    """Private IP spreading reads over the read replicas; None without read replicas."""
    read_endpoint_port: pulumi.Output[int] | None
    """Port of the read endpoint; None without read replicas."""
    auth_string: pulumi.Output[str]
    """The AUTH password, always a Pulumi secret."""
    server_ca_certs: pulumi.Output[str]
    """PEM bundle of the CAs a client must trust for TLS. Not a secret: a CA certificate holds
    only a public key, and keeping it visible lets reviews see a CA rotation."""

    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None):
        # Refuse before the component is declared: the API would reject it at `pulumi up`.
        check_instance_name(f"{name}-redis")
        super().__init__("omni:redis:Redis", name, None, opts)
        settings = args.settings
        replicas = has_read_replicas(settings)
        day, hour = MAINTENANCE_WINDOW[args.role]

        self.instance = gcp.redis.Instance(
            f"{name}-redis",
            name=f"{name}-redis",
            display_name=f"Omni {args.role} (managed by Pulumi)",
            region=args.region,
            tier=settings.tier,
            memory_size_gb=settings.memory_size_gb,
            redis_version=settings.version,
            # Reachable only from our VPC, through the private services peering; there is no
            # public endpoint in Memorystore for Redis at all.
            connect_mode="PRIVATE_SERVICE_ACCESS",
            authorized_network=args.network_id,
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            read_replicas_mode="READ_REPLICAS_ENABLED" if replicas else None,
            replica_count=settings.read_replicas if isinstance(settings, RedisCacheConfig) and replicas else None,
            redis_configs=redis_configs(args.role),
            persistence_config=persistence(args.role),
            maintenance_policy=gcp.redis.InstanceMaintenancePolicyArgs(
                description=f"Weekly, off-peak ({args.role})",
                weekly_maintenance_windows=[
                    gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowArgs(
                        day=day,
                        start_time=gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowStartTimeArgs(
                            hours=hour, minutes=0, seconds=0, nanos=0
                        ),
                    )
                ],
            ),
            labels={"role": args.role, "service": args.role},
            deletion_protection=args.protect,
            deletion_policy="PREVENT" if args.protect else "DELETE",
            customer_managed_key=args.encryption.key_id if args.encryption else None,
            opts=pulumi.ResourceOptions.merge(
                child_options(self, opts, protect=args.protect),
                pulumi.ResourceOptions(
                    depends_on=[args.private_services_connection, *(args.encryption.grants if args.encryption else ())]
                ),
            ),
        )

        self.host = self.instance.host
        self.port = self.instance.port
        self.read_endpoint = self.instance.read_endpoint if replicas else None
        self.read_endpoint_port = self.instance.read_endpoint_port if replicas else None
        # The provider lists authString as a secret output, but say so here too: the mock
        # runtime (and any future provider change) must not turn it into plain text.
        self.auth_string = pulumi.Output.secret(self.instance.auth_string)
        self.server_ca_certs = self.instance.server_ca_certs.apply(pem_bundle)
        outputs: dict[str, object] = {
            "instance_id": self.instance.id,
            "host": self.host,
            "port": self.port,
            "auth_string": self.auth_string,
            "server_ca_certs": self.server_ca_certs,
        }
        if replicas:
            outputs["read_endpoint"] = self.read_endpoint
            outputs["read_endpoint_port"] = self.read_endpoint_port
        self.register_outputs(outputs)
