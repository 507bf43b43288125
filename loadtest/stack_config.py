"""The `loadtest` stack's configuration: where Locust runs, how many workers, what it targets.

A project of its own (`loadtest/infra`, namespace `omni-loadtest`), so that a load-generation
cluster is created and destroyed without touching the platform's stacks. Errors use the main
model's machinery (`Problem`, `StackConfigError`, camelCase `ConfigModel` sections): every bad
key listed at once, before any resource is declared, with the command that fixes it.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator

from loadtest.shape_plans import SHAPES
from stackconfig.errors import Problem, StackConfigError
from stackconfig.loader import config_key
from stackconfig.location import stack_file
from stackconfig.model import DEFAULT_REGION, GCP_REGIONS
from stackconfig.model_base import ConfigModel

NAMESPACE = "omni-loadtest"
PROJECT_DIR = Path("loadtest/infra")  # from the repository root, as the messages name it
PROVIDER_FIELDS = {"gcp:project": "project", "gcp:region": "region"}


def _cidr(value: str) -> str:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"must be an IPv4 network like 10.40.0.0/22 ({error})") from None
    return value


class ClusterConfig(ConfigModel):
    """The GKE Autopilot cluster the stack creates (ignored, and refused, with a kubeconfig)."""

    network: str | None = Field(default=None, description="An existing VPC's id or self link; unset: the cluster gets its own VPC.")
    subnetwork: str | None = Field(default=None, description="The existing subnet, required with `network`.")
    subnet_cidr: str = Field(default="10.40.0.0/22", description="The own VPC's node range.")
    pods_cidr: str = Field(default="10.44.0.0/14", description="The own VPC's pod range.")
    services_cidr: str = Field(default="10.48.0.0/20", description="The own VPC's service range.")
    master_cidr: str = Field(default="172.16.0.32/28", description="The control plane's private /28.")
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field(default="REGULAR", description="GKE's upgrade channel.")
    authorized_networks: list[str] = Field(
        default_factory=list, description="CIDRs allowed to reach the control plane; empty: any (still authenticated)."
    )
    deletion_protection: bool = Field(default=False, description="Keep the cluster on `pulumi destroy` (it is disposable).")

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
            raise ValueError("an existing VPC needs both cluster.network and cluster.subnetwork (or neither: an own VPC)")
        return self


class ResourcesConfig(ConfigModel):
    cpu: str = Field(pattern=r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$", description="CPU request and limit: `500m`, `1`.")
    memory: str = Field(pattern=r"^[0-9]+(Mi|Gi)$", description="Memory request and limit: `1Gi`.")


class LoadtestStackConfig(ConfigModel):
    project: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", description="`gcp:project`: required to create the cluster."
    )
    region: str = Field(default=DEFAULT_REGION, description="`gcp:region`: where the cluster runs.")
    target: str = Field(description="Base URL of the API under test, reachable from the cluster: `https://api.staging.example.com`.")
    workers: int = Field(default=4, ge=1, le=200, description="Locust worker pods (about one CPU each).")
    users: int = Field(default=100, ge=1, description="Default peak users of a run (the web UI's start form).")
    spawn_rate: float = Field(default=10, gt=0, description="Default users started per second.")
    run_time: str = Field(default="10m", pattern=r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", description="Default run time: `10m`.")
    shape: str | None = Field(default=None, description="A load shape (ramp, spike, soak); unset: a steady ramp-up.")
    namespace: str = Field(default="loadtest", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", description="Kubernetes namespace.")
    master: ResourcesConfig = Field(default_factory=lambda: ResourcesConfig(cpu="500m", memory="1Gi"), description="The master pod's resources.")
    worker: ResourcesConfig = Field(default_factory=lambda: ResourcesConfig(cpu="1", memory="1Gi"), description="Each worker pod's resources.")
    kubeconfig: SecretStr | None = Field(
        default=None, description="A kubeconfig of an existing cluster (secret); unset: the stack creates a GKE Autopilot cluster."
    )
    api_key: SecretStr | None = Field(default=None, description="The API key the users send as X-API-Key (secret).")
    cluster: ClusterConfig | None = Field(default=None, description="The GKE Autopilot cluster's settings (see ClusterConfig).")

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
            raise ValueError("either a kubeconfig (an existing cluster) or cluster settings (a new GKE cluster), not both")
        if self.kubeconfig is None and self.project is None:
            raise ValueError("creating the GKE cluster needs gcp:project (or give a kubeconfig of an existing cluster)")
        return self

    @property
    def creates_cluster(self) -> bool:
        return self.kubeconfig is None


def load_loadtest_config(stack: str, values: Mapping[str, str], secret_keys: set[str]) -> LoadtestStackConfig:
    """Validate the stack's config map; raise StackConfigError naming every bad key."""
    source = str(stack_file(PROJECT_DIR, stack))
    problems: list[Problem] = []
    document: dict[str, Any] = {}
    for full_key, raw in sorted(values.items()):
        namespace, _, key = full_key.partition(":")
        if full_key in PROVIDER_FIELDS:
            document[PROVIDER_FIELDS[full_key]] = raw
        elif namespace == NAMESPACE:
            field = LoadtestStackConfig.model_fields.get(_snake(key))
            text = field is not None and field.annotation in (str, SecretStr, str | None, SecretStr | None)
            document[key] = raw if text else _decode(raw)
        elif namespace not in ("pulumi", "kubernetes"):
            problems.append(Problem(full_key, "a key this project does not read", f"settings go under `{NAMESPACE}:`; remove it with `pulumi config rm '{full_key}' --stack {stack}`"))
    for name in ("kubeconfig", "apiKey"):
        full_key = f"{NAMESPACE}:{name}"
        if full_key in values and full_key not in secret_keys:
            problems.append(Problem(full_key, "a plain-text value", f"must be encrypted: `pulumi config set --secret {name} <value> --stack {stack}`"))
    try:
        config = LoadtestStackConfig.model_validate(document)
    except ValidationError as error:
        config = None
        for detail in error.errors():
            loc = detail["loc"]
            key = _key(loc)
            secret = bool(loc) and loc[0] in ("kubeconfig", "apiKey")
            found = "(missing)" if detail["type"] == "missing" else "[secret]" if secret else repr(detail["input"])
            how = f"`pulumi config set{' --path' if len(loc) > 1 else ''} '{key.partition(':')[2] or key}' <value> --stack {stack}`"
            message = detail["msg"].removeprefix("Value error, ")
            problems.append(Problem(key, found, f"{message}; set it with {how}"))
    if problems or config is None:
        raise StackConfigError(source, sorted(problems, key=lambda problem: problem.key))
    return config


def _key(loc: tuple[int | str, ...]) -> str:
    return config_key(loc, NAMESPACE, PROVIDER_FIELDS)


def _snake(key: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in key)


def _decode(raw: str) -> Any:
    """Pulumi hands objects, lists, numbers and booleans over as JSON text."""
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw
