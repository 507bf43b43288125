"""What every Cloud Run workload is built from: its container, identity and network, so that the
API, the workers and the jobs cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

import pulumi

from .env import EnvVar, check_env_names, env_vars

REQUIRED_APIS = ("run.googleapis.com",)

PORT = 8080
"""The port the API listens on; Cloud Run passes it as `PORT` too."""
SECRET_VERSION = "latest"
"""Resolved as each instance starts: after a rotation new instances read the new value while
running ones keep the old, so a rotated credential must stay valid until instances are replaced."""
VPC_EGRESS = "ALL_TRAFFIC"
"""All egress goes through the VPC: private ranges (Cloud SQL, Memorystore) directly, Google
APIs through private Google access, the internet through the network's Cloud NAT, so that
third parties see the NAT's addresses and VPC firewall rules apply to every connection."""
APP_CONTAINER = "app"
"""The name of a workload's own container: what its sidecars start after."""
# A sidecar's share of the instance: millicores below one vCPU (`500m`) and a memory limit.
SIDECAR_CPU = re.compile(r"^([1-9][0-9]{1,2})m$")
SIDECAR_MAX_MEMORY_MIB = 1024
SECRET_FILE_MODE = 0o444


class PlainSecretError(ValueError):
    """A Pulumi secret was about to become a plain environment value of a container."""


# Cloud Run service names: lowercase letters, digits and dashes, starting with a letter, at most 49.
# Cloud Run service names: lowercase letters, digits and dashes, starting with a letter, at most 49.
WORKLOAD_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$")


class NetworkInterface(TypedDict):
    network: NotRequired[pulumi.Input[str | None]]
    subnetwork: NotRequired[pulumi.Input[str | None]]
    tags: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]] | None]]


class VpcAccess(TypedDict):
    connector: NotRequired[pulumi.Input[str | None]]
    egress: NotRequired[pulumi.Input[str | None]]
    network_interfaces: NotRequired[pulumi.Input[Sequence[pulumi.Input[NetworkInterface]] | None]]


@dataclass(frozen=True)
class ContainerSpec:
    """What runs and where it may connect; shared by the API and the workers."""

    image: pulumi.Input[str]
    """The image, by release tag or digest (`Registry.image`)."""
    service_account_email: pulumi.Input[str]
    """The workload's own runtime identity; never the Compute Engine default account."""
    network_id: pulumi.Input[str]
    """The VPC for Direct VPC egress (`Network.network_id`)."""
    subnet_id: pulumi.Input[str]
    """The subnet instances take their private IPs from (`Network.subnet_id`)."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain settings (hosts, pool sizes, flags). A Pulumi secret here stops the run: secrets
    go in `secret_env`."""
    secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """ENV_NAME -> Secret Manager secret (short id in the same project, or
    `projects/P/secrets/S`); the container reads its latest version at start, and the value
    never appears in the revision, the state or the graph."""

    def __post_init__(self) -> None:
        check_env_names(self.env, self.secret_env)


def check_workload_name(name: str) -> None:
    if not WORKLOAD_NAME.fullmatch(name):
        raise ValueError(
            f"Cloud Run name {name!r} must be 1-49 lowercase letters, digits or dashes, "
            "starting with a letter and not ending with a dash"
        )


def http_probe(
    path: str,
    port: int,
    *,
    period_seconds: int,
    timeout_seconds: int,
    failure_threshold: int,
    initial_delay_seconds: int | None = None,
) -> Any:
    """A startup or liveness probe by HTTP GET: the instance fails once `failure_threshold`
    probes in a row, `period_seconds` apart, got no answer within `timeout_seconds`. (The SDK
    types the same block separately for each resource, hence `Any`.)"""
    probe: dict[str, Any] = {"http_get": {"path": path, "port": port}}
    if initial_delay_seconds is not None:
        probe["initial_delay_seconds"] = initial_delay_seconds
    probe.update(period_seconds=period_seconds, timeout_seconds=timeout_seconds, failure_threshold=failure_threshold)
    return probe


def serving_resources(limits: Mapping[str, str], *, cpu_idle: bool) -> Any:
    """A serving container's resources: its limits, whether the CPU idles between requests
    (request-based billing), and a CPU boost while it starts."""
    return {"limits": dict(limits), "cpu_idle": cpu_idle, "startup_cpu_boost": True}


def container_env(spec: ContainerSpec) -> list[EnvVar]:
    """The container's `envs` block (`env.env_vars`)."""
    return env_vars(spec.env, spec.secret_env)


def vpc_access(spec: ContainerSpec) -> VpcAccess:
    """Direct VPC egress (no Serverless VPC Access connector): instances take IPs in the subnet."""
    return {
        "network_interfaces": [{"network": spec.network_id, "subnetwork": spec.subnet_id}],
        "egress": VPC_EGRESS,
    }


def command_container(spec: ContainerSpec, command: Sequence[str], limits: Mapping[str, str]) -> Any:
    """The container of a worker pool or a job: image, env, limits, and the command (none: the
    image's own entrypoint, the placeholder image's). The SDK types the same block separately
    for each resource, hence `Any`."""
    container: dict[str, Any] = {
        "name": APP_CONTAINER,
        "image": spec.image,
        "envs": container_env(spec),
        "resources": {"limits": dict(limits)},
    }
    if command:
        container["commands"] = [command[0]]
        container["args"] = list(command[1:])
    return container
