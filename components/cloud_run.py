"""The Omni workloads on Cloud Run: the API as a service, Celery (workers and beat) as worker pools.

Both are built from the same blocks, one function each, so they cannot drift apart: the
container's environment (plain values, and secrets only as Secret Manager references), Direct
VPC egress into the private network, and CPU/memory limits.

The runtime service accounts, the accessor grants on the secrets and the secrets' versions
must exist before a revision starts: pass them as the component's `depends_on`, which every
child inherits (`components.options.child_options`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NotRequired, Optional, TypedDict, cast

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from components.secrets import ACCESSOR_ROLE
from stackconfig.platform import MEMORY_RANGE_MIB, check_cpu_memory, fractional_cpu_memory_ceiling_mib, memory_mib
from stackconfig.platform import ApiConfig

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
INVOKER_ROLE = "roles/run.invoker"

INGRESS: Mapping[str, str] = {
    "all": "INGRESS_TRAFFIC_ALL",
    "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
    "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
}
LOAD_BALANCER_INGRESS = "internal-and-cloud-load-balancing"

# Cloud Run service names: lowercase letters, digits and dashes, starting with a letter, at most 49.
WORKLOAD_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Set by Cloud Run itself; a revision that sets them is rejected.
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"})
# A secret of the same project by its short id, or any secret by its resource name.
SECRET_REF = re.compile(r"^(projects/[^/]+/secrets/)?[A-Za-z0-9_-]{1,255}$")
MEMORY = re.compile(r"^([0-9]+)(Mi|Gi)$")
APP_CONTAINER = "app"
"""The name of a workload's own container: what its sidecars start after."""
# A sidecar's share of the instance: millicores below one vCPU (`500m`) and a memory limit.
SIDECAR_CPU = re.compile(r"^([1-9][0-9]{1,2})m$")
SIDECAR_MAX_MEMORY_MIB = 1024
SECRET_FILE_MODE = 0o444


class PlainSecretError(ValueError):
    """A Pulumi secret was about to become a plain environment value of a container."""


# The blocks below are typed dicts that fit both the service's and the worker pool's input
# types (the provider generates one identical set of classes per resource). Each lists every
# key of the provider's dict, as a typed dict must to be assignable to another.
class SecretKeyRef(TypedDict):
    secret: pulumi.Input[str]
    version: NotRequired[pulumi.Input[Optional[str]]]


class EnvValueSource(TypedDict):
    secret_key_ref: NotRequired[pulumi.Input[Optional[SecretKeyRef]]]


class EnvVar(TypedDict):
    name: pulumi.Input[str]
    value: NotRequired[pulumi.Input[Optional[str]]]
    value_source: NotRequired[pulumi.Input[Optional[EnvValueSource]]]


class NetworkInterface(TypedDict):
    network: NotRequired[pulumi.Input[Optional[str]]]
    subnetwork: NotRequired[pulumi.Input[Optional[str]]]
    tags: NotRequired[pulumi.Input[Optional[Sequence[pulumi.Input[str]]]]]


class VpcAccess(TypedDict):
    connector: NotRequired[pulumi.Input[Optional[str]]]
    egress: NotRequired[pulumi.Input[Optional[str]]]
    network_interfaces: NotRequired[pulumi.Input[Optional[Sequence[pulumi.Input[NetworkInterface]]]]]


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


def check_env_names(env: Mapping[str, object], secret_env: Mapping[str, object]) -> None:
    """Names Cloud Run accepts, set once: an env name in both maps would let a plain value
    shadow a secret, or the reverse, depending on order."""
    for env_name in [*env, *secret_env]:
        if not ENV_NAME.fullmatch(env_name):
            raise ValueError(f"environment variable name {env_name!r} is not a C identifier")
        if env_name in RESERVED_ENV:
            raise ValueError(f"environment variable {env_name} is set by Cloud Run itself; choose another name")
    both = sorted(set(env) & set(secret_env))
    if both:
        raise ValueError(f"environment variables set both as plain values and as secrets: {', '.join(both)}")
    for env_name, secret in secret_env.items():
        if isinstance(secret, str) and not SECRET_REF.fullmatch(secret):
            # The value is not echoed: it may be the secret itself, given by mistake.
            raise ValueError(
                f"secret_env {env_name} is not a Secret Manager secret id "
                "(`name` or `projects/P/secrets/name`); the secret's value never goes here"
            )


def _refuse_secret(what: str, value: pulumi.Input[str]) -> pulumi.Input[str]:
    """The value unchanged, unless it is a Pulumi secret: then the run fails, naming `what`.

    A secret as a plain env value would be readable by anyone who may view the revision
    (`run.services.get`) and in every revision's history, whatever the state encryption."""
    if not isinstance(value, pulumi.Output):
        return value
    output: pulumi.Output[str] = value
    # Futures, not bare coroutines: when the check fails the Output stops awaiting, and a
    # coroutine never awaited would be reported at exit.
    is_secret = asyncio.ensure_future(output.is_secret())

    async def checked() -> str:
        if await is_secret:
            raise PlainSecretError(f"{what} is a Pulumi secret: put it in Secret Manager and reference it from secret_env")
        # The value, or in a preview the SDK's unknown marker, which it passes on as unknown.
        return cast(str, await output.future(with_unknowns=True))

    return pulumi.Output(
        output.resources(), asyncio.ensure_future(checked()), asyncio.ensure_future(output.is_known()), is_secret
    )


@dataclass(frozen=True)
class SecretFile:
    """One Secret Manager secret version mounted read-only as a file: configuration a sidecar
    reads from disk (Cloud Run mounts secrets, not arbitrary files)."""

    volume: str
    """The volume's name, which a sidecar's `mounts` refers to."""
    secret: pulumi.Input[str]
    """The secret's short id (same project) or resource name."""
    version: pulumi.Input[str]
    """A version number, not `latest`: a new version then makes a new revision, which is how
    a changed file reaches running instances (a mounted `latest` is read once per instance)."""
    file_name: str
    """The file's name inside the mount directory (`config.yaml`)."""

    def __post_init__(self) -> None:
        check_workload_name(self.volume)
        if "/" in self.file_name or not self.file_name:
            raise ValueError(f"file_name {self.file_name!r} must be a plain file name, without '/'")


@dataclass(frozen=True)
class HttpProbe:
    """A sidecar's startup probe: an HTTP GET on localhost that answers once the sidecar is up.
    A sidecar that never answers fails the instance, so a broken sidecar fails the rollout
    instead of running silently broken."""

    port: int
    path: str = "/"
    period_seconds: int = 2
    failure_threshold: int = 15
    """With the period, how long the sidecar has to start: 30 s by default."""

    def __post_init__(self) -> None:
        if not 1024 <= self.port <= 65535 or self.port == PORT:
            raise ValueError(f"probe port {self.port}: an unprivileged port other than the ingress port {PORT}")
        if not self.path.startswith("/"):
            raise ValueError(f"probe path {self.path!r} must start with '/'")
        # Cloud Run caps a startup probe's window at 240 s.
        if self.period_seconds * self.failure_threshold > 240:
            raise ValueError("a startup probe may run for 240 s at most (period_seconds x failure_threshold)")

    def block(self) -> dict[str, Any]:
        return {
            "http_get": {"path": self.path, "port": self.port},
            "period_seconds": self.period_seconds,
            "timeout_seconds": 1,
            "failure_threshold": self.failure_threshold,
        }


@dataclass(frozen=True)
class Sidecar:
    """A helper container beside the workload's own: no ingress port, small limits, and
    started after the workload's container so it never runs against a process that is not up
    (unless it receives from the app, then it starts beside it: `after_app=False`)."""

    name: str
    image: str
    """An exact, pinned image: a sidecar is infrastructure, upgraded by a reviewed change."""
    cpu: str = "500m"
    memory: str = "256Mi"
    args: Sequence[str] = ()
    mounts: Mapping[str, str] = field(default_factory=dict)
    """Volume name (a `SecretFile.volume`) to the directory it is mounted at."""
    after_app: bool = True
    """Start once the workload's container has started (and passed its startup probe)."""
    startup_probe: HttpProbe | None = None
    """How Cloud Run knows the sidecar is up; none: once its process runs."""

    def __post_init__(self) -> None:
        check_workload_name(self.name)
        if self.name == APP_CONTAINER:
            raise ValueError(f"sidecar name {APP_CONTAINER!r} is the workload's own container")
        sidecar_limits(self.cpu, self.memory)


def sidecar_limits(cpu: str, memory: str) -> dict[str, str]:
    """A sidecar's limits: a fraction of a vCPU and at most 1Gi, so that it stays small beside
    the workload it serves; below 500m, at most 512Mi (Cloud Run's rule below 0.5 vCPU)."""
    if not SIDECAR_CPU.fullmatch(cpu) or int(cpu[:-1]) >= 1000:
        raise ValueError(f"sidecar cpu {cpu!r}: give millicores below one vCPU, like '500m'")
    match = MEMORY.fullmatch(memory)
    if match is None:
        raise ValueError(f"memory {memory!r} is not like '256Mi'")
    mib = int(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)
    if not 64 <= mib <= SIDECAR_MAX_MEMORY_MIB:
        raise ValueError(f"sidecar memory {memory}: give 64Mi to {SIDECAR_MAX_MEMORY_MIB}Mi")
    ceiling = fractional_cpu_memory_ceiling_mib(millicores(cpu))
    if ceiling is not None and mib > ceiling:
        raise ValueError(f"sidecar memory {memory} with cpu {cpu}: Cloud Run gives {cpu} at most {ceiling}Mi; give it more cpu or less memory")
    return {"cpu": cpu, "memory": memory}


def millicores(cpu: str) -> int:
    """`250m` -> 250, `2` -> 2000."""
    return int(cpu[:-1]) if cpu.endswith("m") else int(cpu) * 1000


def cpu_quantity(amount: int) -> str:
    """2000 (millicores) -> `2`, 1500 -> `1500m`: whole vCPUs as Cloud Run writes them, fractions in millicores."""
    return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"


def instance_limits(section: str, cpu: str, memory: str, sidecars: Sequence[Sidecar]) -> dict[str, str]:
    """The limits of a workload's own container when its instance has `cpu` vCPUs in all: the
    total minus its sidecars' shares, and `memory`. Cloud Run takes 1, 2, 4, 6 or 8 vCPUs per
    instance, whatever its containers' fractions add up to. Refused, naming `<section>.cpu` and
    `<section>.memory`, when the total is not one of those, leaves the app under 500m, or the
    memory does not fit (`stackconfig.platform.check_cpu_memory`)."""
    if MEMORY.fullmatch(memory) is None:
        raise ValueError(f"{section}.memory {memory!r} is not like '512Mi' or '2Gi'")
    shares = [(millicores(sidecar.cpu), memory_mib(sidecar.memory)) for sidecar in sidecars]
    return {"cpu": cpu_quantity(check_cpu_memory(section, cpu, memory, shares)), "memory": memory}


def check_sidecars(sidecars: Sequence[Sidecar], files: Sequence[SecretFile]) -> None:
    """Unique names, and every mount naming a declared volume."""
    names = [sidecar.name for sidecar in sidecars]
    if len(set(names)) != len(names):
        raise ValueError(f"two sidecars share a name: {names}")
    volumes = [file.volume for file in files]
    if len(set(volumes)) != len(volumes):
        raise ValueError(f"two secret files share a volume name: {volumes}")
    for sidecar in sidecars:
        for volume in sidecar.mounts:
            if volume not in volumes:
                raise ValueError(f"sidecar {sidecar.name} mounts volume {volume!r}, which no secret file declares")


def sidecar_container(sidecar: Sidecar, *, app_probed: bool, cpu_idle: bool | None = None) -> Any:
    """The sidecar's container block (services and worker pools take the same keys; `cpu_idle`
    only applies to services, and must match the workload container's). Cloud Run refuses a
    dependency on a container without a startup probe: a sidecar waits for the app
    (`after_app`) only where the app has one (`app_probed`), and starts beside it elsewhere."""
    resources: dict[str, Any] = {"limits": sidecar_limits(sidecar.cpu, sidecar.memory)}
    if cpu_idle is not None:
        resources["cpu_idle"] = cpu_idle
    container: dict[str, Any] = {"name": sidecar.name, "image": sidecar.image, "resources": resources}
    if sidecar.args:
        container["args"] = list(sidecar.args)
    if sidecar.mounts:
        container["volume_mounts"] = [{"name": volume, "mount_path": path} for volume, path in sorted(sidecar.mounts.items())]
    if sidecar.after_app and app_probed:
        container["depends_ons"] = [APP_CONTAINER]
    if sidecar.startup_probe is not None:
        container["startup_probe"] = sidecar.startup_probe.block()
    return container


def secret_volumes(files: Sequence[SecretFile]) -> Any:
    """The template's volumes: each secret version as one read-only file."""
    return [
        {
            "name": file.volume,
            "secret": {
                "secret": file.secret,
                "default_mode": SECRET_FILE_MODE,
                "items": [{"path": file.file_name, "version": file.version}],
            },
        }
        for file in files
    ]


CONFIG_DIGEST_ANNOTATION = "config-sha256"


@dataclass(frozen=True)
class SidecarConfig:
    """A sidecar's configuration file in Secret Manager: the secret, the version holding the
    text, and the file the workloads mount (`SecretFile`)."""

    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    file: SecretFile


def store_sidecar_config(
    owner: pulumi.Resource,
    opts: pulumi.ResourceOptions | None,
    *,
    secret_id: str,
    text: str,
    volume: str,
    file_name: str,
    readers: Mapping[str, pulumi.Input[str]],
    service_label: str,
    protect: bool,
) -> SidecarConfig:
    """Store `text` as a new version of the secret `secret_id`, children of `owner`, readable by
    each of `readers` (a short label to an IAM member), and return the file to mount.

    Cloud Run mounts secrets, not arbitrary files, hence Secret Manager for text that holds
    nothing secret. The workloads mount the version by number: a changed text is a new version,
    hence a new revision that rolls out; the old version is left in place (deletion policy
    ABANDON) for the old revision's instances that still start during the rollout."""
    secret = gcp.secretmanager.Secret(
        secret_id,
        secret_id=secret_id,
        labels={"service": service_label},
        # The version's data is a provider secret, invisible in a review; its digest is not.
        annotations={CONFIG_DIGEST_ANNOTATION: hashlib.sha256(text.encode("utf-8")).hexdigest()},
        replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
        # A workload whose mounted secret is gone cannot start new instances.
        deletion_protection=protect,
        opts=child_options(owner, opts, protect=protect),
    )
    child = child_options(owner, opts)
    version = gcp.secretmanager.SecretVersion(
        f"{secret_id}-version", secret=secret.id, secret_data=text, deletion_policy="ABANDON", opts=child
    )
    for label, member in sorted(readers.items()):
        gcp.secretmanager.SecretIamMember(
            f"{secret_id}-{label}", secret_id=secret.id, role=ACCESSOR_ROLE, member=member, opts=child
        )
    file = SecretFile(volume=volume, secret=secret.secret_id, version=version.version, file_name=file_name)
    return SidecarConfig(secret, version, file)


def container_env(spec: ContainerSpec) -> list[EnvVar]:
    """Plain values as `value`, secrets only as `value_source.secret_key_ref`; sorted by name
    so that the revision does not change when a mapping's order does."""
    plain: list[EnvVar] = [
        {"name": env_name, "value": _refuse_secret(f"env {env_name}", value)} for env_name, value in sorted(spec.env.items())
    ]
    secret: list[EnvVar] = [
        {
            "name": env_name,
            "value_source": {
                "secret_key_ref": {
                    # A secret id is never itself secret; a Pulumi secret here is the value by mistake.
                    "secret": _refuse_secret(f"secret_env {env_name}", secret_id),
                    "version": SECRET_VERSION,
                }
            },
        }
        for env_name, secret_id in sorted(spec.secret_env.items())
    ]
    return sorted([*plain, *secret], key=lambda variable: str(variable["name"]))


def vpc_access(spec: ContainerSpec) -> VpcAccess:
    """Direct VPC egress (no Serverless VPC Access connector): instances take IPs in the subnet."""
    return {
        "network_interfaces": [{"network": spec.network_id, "subnetwork": spec.subnet_id}],
        "egress": VPC_EGRESS,
    }


def resource_limits(cpu: str, memory: str) -> dict[str, str]:
    """CPU and memory limits, refused when Cloud Run would refuse them (gen2: 512Mi at least;
    4 vCPUs need 2Gi, 6 or more need 4Gi; above 4Gi needs 2 vCPUs, 8Gi 4, 16Gi 6, 24Gi 8)."""
    if cpu not in MEMORY_RANGE_MIB:
        raise ValueError(f"cpu {cpu!r}: Cloud Run takes {', '.join(MEMORY_RANGE_MIB)} vCPUs")
    match = MEMORY.fullmatch(memory)
    if match is None:
        raise ValueError(f"memory {memory!r} is not like '512Mi' or '2Gi'")
    mib = int(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)
    low, high = MEMORY_RANGE_MIB[cpu]
    if not low <= mib <= high:
        least = f"{low // 1024}Gi" if low % 1024 == 0 else f"{low}Mi"
        raise ValueError(f"memory {memory} with {cpu} vCPU: Cloud Run takes {least} to {high // 1024}Gi for {cpu} vCPU")
    return {"cpu": cpu, "memory": memory}


def ingress(setting: str) -> str:
    """The Cloud Run ingress value for the config's `api.ingress`."""
    try:
        return INGRESS[setting]
    except KeyError:
        raise ValueError(f"ingress {setting!r}: expected one of {', '.join(INGRESS)}") from None


def check_workload_name(name: str) -> None:
    if not WORKLOAD_NAME.fullmatch(name):
        raise ValueError(
            f"Cloud Run name {name!r} must be 1-49 lowercase letters, digits or dashes, "
            "starting with a letter and not ending with a dash"
        )


@dataclass(frozen=True)
class ApiServiceArgs:
    region: str
    """Region of the service: the network's and the database's."""
    container: ContainerSpec
    """Image, identity, network and environment."""
    settings: ApiConfig = field(default_factory=ApiConfig)
    """Scaling, size, concurrency, ingress, public access and the health path; see `ApiConfig`."""
    deletion_protection: bool = True
    """The provider refuses to delete the service while on; off only for disposable stacks."""
    sidecars: Sequence[Sidecar] = ()
    """Helper containers beside the API (the metrics collector); none by default."""
    secret_files: Sequence[SecretFile] = ()
    """Secret versions the sidecars mount as files."""
    behind_load_balancer: bool = False
    """The edge is in front (components/edge): traffic only through the load balancer
    (`internal-and-cloud-load-balancing`, whatever `settings.ingress` says) and no run.app URL,
    so nothing reaches the API around Cloud Armor."""

    def __post_init__(self) -> None:
        # Refused here, before the component declares anything.
        instance_limits("api", self.settings.cpu, self.settings.memory, self.sidecars)
        ingress(self.settings.ingress)
        check_sidecars(self.sidecars, self.secret_files)


class ApiService(pulumi.ComponentResource):
    """The Omni API: a gen2 Cloud Run service on port 8080 with startup and liveness probes,
    Direct VPC egress, secrets from Secret Manager, and public invocation when configured."""

    service: gcp.cloudrunv2.Service
    invoker: gcp.cloudrunv2.ServiceIamMember | None
    uri: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: ApiServiceArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:run:ApiService", name, None, opts)
        settings = args.settings
        self.service = gcp.cloudrunv2.Service(
            f"{name}-service",
            name=name,
            location=args.region,
            description="Omni API (managed by Pulumi)",
            labels={"service": "api"},
            ingress=ingress(LOAD_BALANCER_INGRESS if args.behind_load_balancer else settings.ingress),
            default_uri_disabled=args.behind_load_balancer or None,
            deletion_protection=args.deletion_protection,
            # Service-level maximum: it caps the instances of every revision together, so the
            # database connection budget (max instances x pool) holds during a rollout too.
            scaling={"max_instance_count": settings.max_instances},
            template=self._template(args),
            opts=child_options(self, opts),
        )
        self.invoker = None
        if settings.public:
            # Unauthenticated callers through IAM (not `invoker_iam_disabled`), so that the grant
            # is a reviewable resource and turning `public` off removes it.
            self.invoker = gcp.cloudrunv2.ServiceIamMember(
                f"{name}-public-invoker",
                name=self.service.name,
                location=args.region,
                role=INVOKER_ROLE,
                member="allUsers",
                opts=child_options(self, opts),
            )
        self.uri = self.service.uri
        self.name = self.service.name
        self.register_outputs({"uri": self.uri, "name": self.name})

    @staticmethod
    def _template(args: ApiServiceArgs) -> gcp.cloudrunv2.ServiceTemplateArgsDict:
        settings = args.settings
        spec = args.container
        # Request-based billing throttles the CPU between requests, when the collectors scrape
        # and export: with them, the whole instance keeps its CPU (instance-based billing, as
        # Google recommends for the Managed Prometheus sidecar). Without, the API works only
        # inside requests and pays per request; warm instances (min_instances) still avoid cold starts.
        cpu_idle = not args.sidecars
        template: gcp.cloudrunv2.ServiceTemplateArgsDict = {
            "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
            "service_account": spec.service_account_email,
            "max_instance_request_concurrency": settings.concurrency,
            "scaling": {"min_instance_count": settings.min_instances},
            "vpc_access": vpc_access(spec),
            "containers": [
                {
                    "name": APP_CONTAINER,
                    "image": spec.image,
                    "ports": {"container_port": PORT},
                    "envs": container_env(spec),
                    "resources": {
                        "limits": instance_limits("api", settings.cpu, settings.memory, args.sidecars),
                        "cpu_idle": cpu_idle,
                        "startup_cpu_boost": True,
                    },
                    # Direct VPC egress may take a minute or more to connect a new instance:
                    # up to 2 minutes (24 x 5 s) to pass before the instance is failed.
                    "startup_probe": {
                        "http_get": {"path": settings.health_path, "port": PORT},
                        "initial_delay_seconds": 0,
                        "period_seconds": 5,
                        "timeout_seconds": 3,
                        "failure_threshold": 24,
                    },
                    # Restart an instance that stops answering for about 45 s.
                    "liveness_probe": {
                        "http_get": {"path": settings.health_path, "port": PORT},
                        "period_seconds": 15,
                        "timeout_seconds": 5,
                        "failure_threshold": 3,
                    },
                },
                # The same CPU allocation as the API's container: Cloud Run bills the instance.
                *(sidecar_container(sidecar, app_probed=True, cpu_idle=cpu_idle) for sidecar in args.sidecars),
            ],
        }
        if args.secret_files:
            template["volumes"] = secret_volumes(args.secret_files)
        return template


@dataclass(frozen=True)
class WorkerPoolArgs:
    region: str
    """Region of the pool: the network's, the database's and the broker's."""
    container: ContainerSpec
    """Image, identity, network and environment."""
    service: str
    """The `service` label (`worker`, `beat`): what cost and log reports group by."""
    command: Sequence[str]
    """The process to run (empty: the image's entrypoint): its first element replaces the
    image's entrypoint, the rest are its arguments (`["celery", "-A", "omni.tasks", "worker", "--concurrency", "4"]`)."""
    instances: int
    """Instances, scaled manually: exactly this many run (1 for Celery beat)."""
    cpu: str = "1"
    """vCPUs per instance in all, the sidecars' shares included; Celery's container gets the
    rest. Always allocated (a worker pool has no request-based billing)."""
    memory: str = "1Gi"
    """Memory of Celery's container; the sidecars' comes on top."""
    config_section: str = "workers"
    """Where `cpu` and `memory` come from, named when they do not fit: the stack config section
    (`workers`), or the workload whose size is fixed in code (`beat`)."""
    deletion_protection: bool = True
    """The provider refuses to delete the pool while on; off only for disposable stacks."""
    sidecars: Sequence[Sidecar] = ()
    """Helper containers beside Celery (the metrics collector); none by default."""
    secret_files: Sequence[SecretFile] = ()
    """Secret versions the sidecars mount as files."""

    def __post_init__(self) -> None:
        check_sidecars(self.sidecars, self.secret_files)
        if not all(self.command):
            raise ValueError("command must have no empty elements, e.g. ['celery', '-A', 'omni.tasks', 'worker']")
        if self.instances < 1:
            raise ValueError(f"instances must be at least 1, got {self.instances}")
        instance_limits(self.config_section, self.cpu, self.memory, self.sidecars)


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


class WorkerPool(pulumi.ComponentResource):
    """A Cloud Run worker pool with a fixed instance count: no ports, no HTTP probes (a Celery
    process serves nothing); the same egress, identity and secrets blocks as the API."""

    pool: gcp.cloudrunv2.WorkerPool
    name: pulumi.Output[str]

    def __init__(self, name: str, args: WorkerPoolArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:run:WorkerPool", name, None, opts)
        spec = args.container
        limits = instance_limits(args.config_section, args.cpu, args.memory, args.sidecars)
        template: gcp.cloudrunv2.WorkerPoolTemplateArgsDict = {
            "service_account": spec.service_account_email,
            "vpc_access": vpc_access(spec),
            "containers": [
                command_container(spec, args.command, limits),
                # Celery gets no startup probe, so its sidecars start beside it: Celery serves
                # nothing until its metrics server is up, and the placeholder image of a stack
                # without a release serves no metrics port at all, so a probe there would fail
                # the first `pulumi up` of every new stack. The metrics collector retries every
                # scrape interval, which costs at most the first scrape of an instance.
                *(sidecar_container(sidecar, app_probed=False) for sidecar in args.sidecars),
            ],
        }
        if args.secret_files:
            template["volumes"] = secret_volumes(args.secret_files)
        self.pool = gcp.cloudrunv2.WorkerPool(
            f"{name}-pool",
            name=name,
            location=args.region,
            description="Omni Celery (managed by Pulumi)",
            labels={"service": args.service},
            deletion_protection=args.deletion_protection,
            # Manual: exactly `instances` run, no autoscaler adds a second beat.
            scaling={"scaling_mode": "MANUAL", "manual_instance_count": args.instances},
            template=template,
            opts=child_options(self, opts),
        )
        self.name = self.pool.name
        self.register_outputs({"name": self.name})


@dataclass(frozen=True)
class JobArgs:
    region: str
    """Region of the job: the network's and the database's."""
    container: ContainerSpec
    """Image, identity, network and environment."""
    service: str
    """The `service` label (`migrate`)."""
    command: Sequence[str]
    """The process to run (empty: the image's entrypoint)."""
    cpu: str = "1"
    memory: str = "512Mi"
    timeout: str = "1800s"
    """How long one run may take before Cloud Run stops it."""
    max_retries: int = 0
    """A failed migration is looked at, not blindly run again."""
    deletion_protection: bool = True


class Job(pulumi.ComponentResource):
    """A Cloud Run job run on demand (`gcloud run jobs execute`), e.g. database migrations."""

    job: gcp.cloudrunv2.Job
    name: pulumi.Output[str]

    def __init__(self, name: str, args: JobArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:run:Job", name, None, opts)
        spec = args.container
        self.job = gcp.cloudrunv2.Job(
            f"{name}-job",
            name=name,
            location=args.region,
            labels={"service": args.service},
            deletion_protection=args.deletion_protection,
            template={
                "task_count": 1,
                "parallelism": 1,
                "template": {
                    "service_account": spec.service_account_email,
                    "vpc_access": vpc_access(spec),
                    "timeout": args.timeout,
                    "max_retries": args.max_retries,
                    "containers": [command_container(spec, args.command, resource_limits(args.cpu, args.memory))],
                },
            },
            opts=child_options(self, opts),
        )
        self.name = self.job.name
        self.register_outputs({"name": self.name})
