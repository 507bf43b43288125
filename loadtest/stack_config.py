"""The `loadtest` stack's configuration: where Locust runs, how many workers, what it targets.

A project of its own (`loadtest/infra`, namespace `omni-loadtest`), so that a load-generation
cluster is created and destroyed without touching the platform's stacks. It is read by the main
loader (`load_stack_config(model=LoadtestStackConfig, project=LOADTEST_PROJECT)`): every bad key
listed at once, before any resource is declared, with the command that fixes it.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from loadtest.shape_plans import SHAPES
from stackconfig.loader import ConfigProject, load_stack_config
from stackconfig.model import DEFAULT_REGION, GCP_REGIONS
from stackconfig.model_base import ConfigModel

NAMESPACE = "omni-loadtest"
LOADTEST_PROJECT = ConfigProject(
    namespace=NAMESPACE,
    known_namespaces=frozenset({NAMESPACE, "gcp", "pulumi", "kubernetes"}),
    provider_settings_home="loadtest/stack_config.py",
    project_dir=Path("loadtest/infra"),  # from the repository root, as the messages name it
)


def _cidr(value: str) -> str:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"must be an IPv4 network like 10.40.0.0/22 ({error})") from None
    return value


class ClusterConfig(ConfigModel):
    """The GKE Autopilot cluster the stack creates (ignored, and refused, with a kubeconfig)."""

    network: str | None = Field(
        default=None, description="An existing VPC's id or self link; unset: the cluster gets its own VPC."
    )
    subnetwork: str | None = Field(default=None, description="The existing subnet, required with `network`.")
    subnet_cidr: str = Field(default="10.40.0.0/22", description="The own VPC's node range.")
    pods_cidr: str = Field(default="10.44.0.0/14", description="The own VPC's pod range.")
    services_cidr: str = Field(default="10.48.0.0/20", description="The own VPC's service range.")
    master_cidr: str = Field(default="172.16.0.32/28", description="The control plane's private /28.")
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field(
        default="REGULAR", description="GKE's upgrade channel."
    )
    authorized_networks: list[str] = Field(
        default_factory=list, description="CIDRs allowed to reach the control plane; empty: any (still authenticated)."
    )
    deletion_protection: bool = Field(
        default=False, description="Keep the cluster on `pulumi destroy` (it is disposable)."
    )

    @field_validator("subnet_cidr", "pods_cidr", "services_cidr")
    @classmethod
    def _ipv4_networks(cls, value: str) -> str:
        return _cidr(value)

    @field_validator("master_cidr")
    @classmethod
    def _master_is_a_slash_28(cls, value: str) -> str:
        if not _cidr(value).endswith("/28"):
            raise ValueError("the control plane range must be a /28")
        return value

    @field_validator("authorized_networks")
    @classmethod
    def _authorized_cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            _cidr(value)
        return values

    @model_validator(mode="after")
    def _network_with_subnetwork(self) -> ClusterConfig:
        if (self.network is None) != (self.subnetwork is None):
            raise ValueError(
                "an existing VPC needs both cluster.network and cluster.subnetwork (or neither: an own VPC)"
            )
        return self


class ResourcesConfig(ConfigModel):
    cpu: str = Field(pattern=r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$", description="CPU request and limit: `500m`, `1`.")
    memory: str = Field(pattern=r"^[0-9]+(Mi|Gi)$", description="Memory request and limit: `1Gi`.")


class LoadtestStackConfig(ConfigModel):
    project: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        description="`gcp:project`: required to create the cluster.",
    )
    region: str = Field(default=DEFAULT_REGION, description="`gcp:region`: where the cluster runs.")
    target: str = Field(
        description="Base URL of the API under test, reachable from the cluster: `https://api.staging.example.com`."
    )
    workers: int = Field(default=4, ge=1, le=200, description="Locust worker pods (about one CPU each).")
    users: int = Field(default=100, ge=1, description="Default peak users of a run (the web UI's start form).")
    spawn_rate: float = Field(default=10, gt=0, description="Default users started per second.")
    run_time: str = Field(
        default="10m", pattern=r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", description="Default run time: `10m`."
    )
    shape: str | None = Field(default=None, description="A load shape (ramp, spike, soak); unset: a steady ramp-up.")
    namespace: str = Field(
        default="loadtest", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", description="Kubernetes namespace."
    )
    master: ResourcesConfig = Field(
        default_factory=lambda: ResourcesConfig(cpu="500m", memory="1Gi"), description="The master pod's resources."
    )
    worker: ResourcesConfig = Field(
        default_factory=lambda: ResourcesConfig(cpu="1", memory="1Gi"), description="Each worker pod's resources."
    )
    kubeconfig: SecretStr | None = Field(
        default=None,
        description="A kubeconfig of an existing cluster (secret); unset: the stack creates a GKE Autopilot cluster.",
    )
    api_key: SecretStr | None = Field(default=None, description="The API key the users send as X-API-Key (secret).")
    cluster: ClusterConfig | None = Field(
        default=None, description="The GKE Autopilot cluster's settings (see ClusterConfig)."
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if region not in GCP_REGIONS:
            raise ValueError(f"unknown region {region!r}")
        return region

    @field_validator("target")
    @classmethod
    def _http_url(cls, target: str) -> str:
        url = urllib.parse.urlsplit(target)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("must be an http(s) URL like https://api.staging.example.com")
        return target

    @field_validator("shape")
    @classmethod
    def _known_shape(cls, shape: str | None) -> str | None:
        if shape is not None and shape not in SHAPES:
            raise ValueError(f"no load shape named {shape!r}; choose one of {', '.join(SHAPES)}, or remove the key")
        return shape

    @model_validator(mode="after")
    def _one_cluster_source(self) -> LoadtestStackConfig:
        if self.kubeconfig is not None and self.cluster is not None:
            raise ValueError(
                "either a kubeconfig (an existing cluster) or cluster settings (a new GKE cluster), not both"
            )
        if self.kubeconfig is None and self.project is None:
            raise ValueError("creating the GKE cluster needs gcp:project (or give a kubeconfig of an existing cluster)")
        return self

    @property
    def creates_cluster(self) -> bool:
        return self.kubeconfig is None


def load_loadtest_config(stack: str, values: Mapping[str, str], secret_keys: set[str]) -> LoadtestStackConfig:
    """Validate the stack's config map with the main loader; raise StackConfigError naming every bad key."""
    return load_stack_config(stack, values, secret_keys, model=LoadtestStackConfig, project=LOADTEST_PROJECT)
