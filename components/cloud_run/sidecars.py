"""Helper containers beside a workload's own (metrics and trace collectors), and the secret
files they mount."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from stackconfig.cloud_run_sizing import sidecar_limits

from .containers import APP_CONTAINER, PORT, check_workload_name

SECRET_FILE_MODE = 0o444


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
        container["volume_mounts"] = [
            {"name": volume, "mount_path": path} for volume, path in sorted(sidecar.mounts.items())
        ]
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
