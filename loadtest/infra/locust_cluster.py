"""A distributed Locust on Kubernetes: one master, N workers, the suite mounted from a ConfigMap.

The master serves the web UI (8089) and takes the workers' connections (5557) behind a
ClusterIP Service; nothing is exposed outside the cluster (`kubectl port-forward` reaches the
UI). The suite's files live in a ConfigMap whose name carries a hash of its content, so a
changed suite is a new ConfigMap and rolls both Deployments. Pods run as Locust's non-root
user with a read-only root filesystem, no service account token and every capability
dropped; requests equal limits, as GKE Autopilot bills and schedules them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.options import child_options

# The image's Locust must match the suite's pin (pyproject: locust==2.47.0).
LOCUST_IMAGE = "locustio/locust:2.47.0"
WEB_PORT = 8089
MASTER_PORT = 5557
SUITE_MOUNT = "/opt/omni/loadtest"  # the files become the `loadtest` package under /opt/omni
LOCUST_UID = 1000  # the `locust` user of the official image
MASTER_SERVICE = "locust-master"


@dataclass(frozen=True)
class PodResources:
    cpu: str
    memory: str


@dataclass(frozen=True)
class LocustClusterArgs:
    suite_files: dict[str, str]
    """The suite: file name -> content (`loadtest.SUITE_FILES` read from the repository)."""
    target_host: str
    """Base URL of the API under test; the workers call it, so it must be reachable from the cluster."""
    workers: int
    """Worker pods. One worker uses about one CPU and drives a few hundred to a few thousand users."""
    namespace: str = "loadtest"
    """Namespace created for the master, the workers and the suite."""
    image: str = LOCUST_IMAGE
    """Locust image: keep its version equal to the pip pin, or the master and workers refuse each other."""
    master_resources: PodResources = field(default_factory=lambda: PodResources(cpu="500m", memory="1Gi"))
    """The master aggregates statistics and serves the UI: half a CPU is plenty."""
    worker_resources: PodResources = field(default_factory=lambda: PodResources(cpu="1", memory="1Gi"))
    """A worker is one Python process, bound to one CPU: more than 1 CPU is wasted."""
    suite_env: dict[str, str] = field(default_factory=dict)
    """`OMNI_LOADTEST_*` settings (shape, limits) for the master and the workers."""
    users: int = 100
    spawn_rate: float = 10
    run_time: str = "10m"
    """Defaults of the web UI's start form (and of `--autostart` runs): peak users, users started
    per second, run time."""
    api_key: pulumi.Input[str] | None = None
    """Sent as `X-API-Key`: stored in a Kubernetes Secret, never in the pod spec."""

    def __post_init__(self) -> None:
        problems = locust_cluster_problems(self)
        if problems:
            raise ValueError("; ".join(problems))


def locust_cluster_problems(args: LocustClusterArgs) -> list[str]:
    """What makes the arguments unusable, checked before anything is declared."""
    problems = []
    if args.workers < 1:
        problems.append(f"workers must be at least 1, not {args.workers}")
    if "locustfile.py" not in args.suite_files:
        problems.append("the suite has no locustfile.py")
    if not args.target_host.startswith(("http://", "https://")):
        problems.append(f"target host {args.target_host!r} is not an http(s) URL")
    if ":" not in args.image.rsplit("/", 1)[-1] and "@sha256:" not in args.image:
        problems.append(f"image {args.image!r} is not pinned to a tag or digest")
    return problems


def suite_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()[:10]


class LocustCluster(pulumi.ComponentResource):
    """Namespace, suite ConfigMap, master Deployment and Service, worker Deployment."""

    namespace: pulumi.Output[str]
    master_service: pulumi.Output[str]
    suite_config_map: pulumi.Output[str]

    def __init__(self, name: str, args: LocustClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:loadtest:LocustCluster", name, None, opts)
        child = child_options(self, opts)
        labels = {
            "app.kubernetes.io/name": "locust",
            "app.kubernetes.io/part-of": "omni-loadtest",
            "app.kubernetes.io/managed-by": "pulumi",
        }

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": args.namespace, "labels": labels}, opts=child
        )
        in_namespace = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))
        suite_name = f"locust-suite-{suite_hash(args.suite_files)}"
        suite = k8s.core.v1.ConfigMap(
            f"{name}-suite",
            metadata={"name": suite_name, "namespace": args.namespace, "labels": labels},
            data=args.suite_files,
            opts=in_namespace,
        )
        api_key = (
            k8s.core.v1.Secret(
                f"{name}-api-key",
                metadata={"name": "locust-api-key", "namespace": args.namespace, "labels": labels},
                type="Opaque",
                string_data={"api-key": pulumi.Output.secret(args.api_key)},
                opts=in_namespace,
            )
            if args.api_key is not None
            else None
        )

        env: list[k8s.core.v1.EnvVarArgsDict] = [
            {"name": "PYTHONPATH", "value": SUITE_MOUNT.rsplit("/", 1)[0]},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},  # the root filesystem is read-only
            *({"name": key, "value": value} for key, value in sorted(args.suite_env.items())),
        ]
        if api_key is not None:
            env.append(
                {
                    "name": "OMNI_LOADTEST_API_KEY",
                    "value_from": {"secret_key_ref": {"name": "locust-api-key", "key": "api-key"}},
                }
            )

        def pod(
            role: str,
            command: list[str],
            resources: PodResources,
            ports: list[k8s.core.v1.ContainerPortArgsDict],
            extra_env: list[k8s.core.v1.EnvVarArgsDict],
        ) -> k8s.core.v1.PodTemplateSpecArgsDict:
            quantity = {"cpu": resources.cpu, "memory": resources.memory}
            container: k8s.core.v1.ContainerArgsDict = {
                "name": role,
                "image": args.image,
                "args": ["-f", f"{SUITE_MOUNT}/locustfile.py", *command],
                "env": [*env, *extra_env],
                "ports": ports,
                # Requests equal limits: Autopilot sets them so anyway, and a worker never bursts.
                "resources": {"requests": quantity, "limits": quantity},
                "security_context": {
                    "allow_privilege_escalation": False,
                    "read_only_root_filesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volume_mounts": [
                    {"name": "suite", "mount_path": SUITE_MOUNT, "read_only": True},
                    {"name": "tmp", "mount_path": "/tmp"},
                ],
            }
            if role == "master":
                container["readiness_probe"] = {"http_get": {"path": "/", "port": WEB_PORT}, "period_seconds": 10}
            return {
                "metadata": {"labels": {**labels, "app.kubernetes.io/component": role}},
                "spec": {
                    "automount_service_account_token": False,
                    "security_context": {
                        "run_as_non_root": True,
                        "run_as_user": LOCUST_UID,
                        "run_as_group": LOCUST_UID,
                        "seccomp_profile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "suite", "config_map": {"name": suite_name}},
                        {"name": "tmp", "empty_dir": {"size_limit": "64Mi"}},
                    ],
                },
            }

        # The pods mount the suite and read the key: both must exist first.
        with_suite = pulumi.ResourceOptions.merge(
            in_namespace, pulumi.ResourceOptions(depends_on=[suite, *([api_key] if api_key else [])])
        )
        master_labels = {**labels, "app.kubernetes.io/component": "master"}
        master = k8s.apps.v1.Deployment(
            f"{name}-master",
            metadata={"name": "locust-master", "namespace": args.namespace, "labels": master_labels},
            spec={
                "replicas": 1,
                # Never two masters: workers would split between them.
                "strategy": {"type": "Recreate"},
                "selector": {"match_labels": master_labels},
                "template": pod(
                    "master",
                    ["--master", "--host", args.target_host],
                    args.master_resources,
                    [{"name": "web", "container_port": WEB_PORT}, {"name": "master", "container_port": MASTER_PORT}],
                    [
                        {"name": "LOCUST_USERS", "value": str(args.users)},
                        {"name": "LOCUST_SPAWN_RATE", "value": f"{args.spawn_rate:g}"},
                        {"name": "LOCUST_RUN_TIME", "value": args.run_time},
                    ],
                ),
            },
            opts=with_suite,
        )
        service = k8s.core.v1.Service(
            f"{name}-master",
            metadata={"name": MASTER_SERVICE, "namespace": args.namespace, "labels": master_labels},
            spec={
                "type": "ClusterIP",
                "selector": master_labels,
                "ports": [
                    {"name": "web", "port": WEB_PORT, "target_port": "web"},
                    {"name": "master", "port": MASTER_PORT, "target_port": "master"},
                ],
            },
            opts=in_namespace,
        )
        worker_labels = {**labels, "app.kubernetes.io/component": "worker"}
        k8s.apps.v1.Deployment(
            f"{name}-worker",
            metadata={"name": "locust-worker", "namespace": args.namespace, "labels": worker_labels},
            spec={
                "replicas": args.workers,
                "selector": {"match_labels": worker_labels},
                "template": pod(
                    "worker",
                    ["--worker", "--master-host", MASTER_SERVICE, "--master-port", str(MASTER_PORT)],
                    args.worker_resources,
                    [],
                    [],
                ),
            },
            # Workers retry until the master answers, but start them after it to avoid the noise.
            opts=pulumi.ResourceOptions.merge(with_suite, pulumi.ResourceOptions(depends_on=[master, service])),
        )

        self.namespace = namespace.metadata.apply(lambda metadata: metadata.name or args.namespace)
        self.master_service = service.metadata.apply(lambda metadata: metadata.name or MASTER_SERVICE)
        self.suite_config_map = suite.metadata.apply(lambda metadata: metadata.name or suite_name)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "master_service": self.master_service,
                "suite_config_map": self.suite_config_map,
            }
        )
