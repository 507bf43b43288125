"""Metrics collection with Google Cloud Managed Service for Prometheus on Cloud Run.

Each workload that serves Prometheus metrics (the API, the Celery workers) runs Google's
collector sidecar (run-gmp-sidecar, an OpenTelemetry Collector build) beside its own container.
The sidecar scrapes the app on localhost, on the app's metrics port, and writes the samples to
Managed Prometheus under the workload's service account (`roles/monitoring.metricWriter`), where
they are queryable with PromQL next to Google Cloud's own system metrics.

The sidecar reads what to scrape from a `RunMonitoring` file at `/etc/rungmp/config.yaml`;
this module renders that file from one `RunMonitoring` object, stores it in Secret Manager (Cloud
Run mounts secrets as files) and hands the workloads the sidecar and the file to mount.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp
import yaml

from components.cloud_run import (
    CONFIG_DIGEST_ANNOTATION as CONFIG_DIGEST_ANNOTATION,
)  # re-exported: where reviewers look for it
from components.cloud_run import SecretFile, Sidecar, store_sidecar_config
from stackconfig.platform import duration_seconds
from stackconfig.sidecars import METRICS_COLLECTOR_MIB, METRICS_COLLECTOR_MILLICORES

REQUIRED_APIS = ("monitoring.googleapis.com",)
# Pinned: the sidecar is infrastructure, upgraded by a reviewed change. 1.9.x is the line that
# supports worker pools as well as services (it labels samples with `worker_pool`).
COLLECTOR_IMAGE = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.9.2"
COLLECTOR_NAME = "collector"
# The collector's share of an instance, which the app's container gives up (the instance's
# total is `api.cpu` / `workers.cpu`): it scrapes one local target every interval.
COLLECTOR_CPU, COLLECTOR_MEMORY = f"{METRICS_COLLECTOR_MILLICORES}m", f"{METRICS_COLLECTOR_MIB}Mi"
CONFIG_DIR = "/etc/rungmp"  # where the sidecar looks for its configuration
CONFIG_FILE = "config.yaml"
CONFIG_VOLUME = "rungmp-config"
API_VERSION = "monitoring.googleapis.com/v1beta"
KIND = "RunMonitoring"
# The Cloud Run metadata the sidecar may add to every sample, and nothing else.
TARGET_METADATA = ("configuration", "revision", "service")
# What it adds by default: not `service`, which the app sets itself to its workload (`api`,
# `worker`; METRICS_SERVICE_LABEL in the app contract) so that alert rules and dashboards
# select the same value in every stack. `configuration` still names the Cloud Run service.
DEFAULT_TARGET_METADATA = ("configuration", "revision")
DEFAULT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class RunMonitoring:
    """What the collector scrapes: one endpoint of the app, on localhost.

    No sample limit: Prometheus fails the whole scrape above it, which would take the SLO
    metrics down with whatever series exploded; cardinality is kept in check in the app."""

    port: int
    """The app's metrics port; never the ingress port, which the internet reaches."""
    interval: str = "30s"
    path: str = "/metrics"
    timeout: str | None = None
    """At most the interval; unset, 10 s (or the interval, if shorter)."""
    target_metadata: tuple[str, ...] = DEFAULT_TARGET_METADATA
    name: str = "omni"
    more_ports: tuple[int, ...] = ()
    """Further localhost ports scraped on the same path and interval (the alerting instance's
    Alertmanager and rule evaluator)."""

    def __post_init__(self) -> None:
        for port in (self.port, *self.more_ports):
            if not 1024 <= port <= 65535:
                raise ValueError(f"metrics port {port}: use an unprivileged port, 1024 to 65535")
        if len({self.port, *self.more_ports}) != 1 + len(self.more_ports):
            raise ValueError(f"metrics ports {[self.port, *self.more_ports]}: each port once")
        if not self.path.startswith("/"):
            raise ValueError(f"metrics path {self.path!r} must start with '/'")
        interval = duration_seconds(self.interval)
        if self.timeout is not None and duration_seconds(self.timeout) > interval:
            raise ValueError(f"scrape timeout {self.timeout} is longer than the interval {self.interval}")
        unknown = sorted(set(self.target_metadata) - set(TARGET_METADATA))
        if unknown:
            raise ValueError(f"target metadata {unknown}: the collector adds only {', '.join(TARGET_METADATA)}")

    @property
    def effective_timeout(self) -> str:
        if self.timeout is not None:
            return self.timeout
        return f"{min(DEFAULT_TIMEOUT_SECONDS, duration_seconds(self.interval))}s"

    def document(self) -> dict[str, Any]:
        """The RunMonitoring resource, as the sidecar reads it."""
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name},
            "spec": {
                "endpoints": [
                    {
                        # The sidecar takes the port as a string (a name or a number).
                        "port": str(port),
                        "path": self.path,
                        "interval": self.interval,
                        "timeout": self.effective_timeout,
                    }
                    for port in (self.port, *self.more_ports)
                ],
                "targetLabels": {"metadata": sorted(self.target_metadata)},
            },
        }

    def render(self) -> str:
        """The file's text: deterministic, so an unchanged config never makes a new version."""
        return yaml.safe_dump(self.document(), sort_keys=True, default_flow_style=False)


def collector_sidecar() -> Sidecar:
    """The collector container: starts after the app, reads its config from the mounted secret."""
    return Sidecar(
        name=COLLECTOR_NAME,
        image=COLLECTOR_IMAGE,
        cpu=COLLECTOR_CPU,
        memory=COLLECTOR_MEMORY,
        mounts={CONFIG_VOLUME: CONFIG_DIR},
    )


@dataclass(frozen=True)
class MetricsCollectionArgs:
    scrape: RunMonitoring
    """What every collector scrapes (the workloads share one metrics port and path)."""
    readers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Who mounts the configuration: a short label (`api`) to the workload's IAM member. Each
    gets `secretAccessor` on this one secret; the metric writer role comes with the workload's
    telemetry roles (`components.identity`)."""
    protect: bool = True
    """Pulumi `protect` and Secret Manager's deletion protection on the secret: a workload whose
    mounted secret is gone cannot start new instances."""


class MetricsCollection(pulumi.ComponentResource):
    """The collector's configuration in Secret Manager, readable by the workloads that run it,
    and the sidecar and file mount those workloads add (`sidecar`, `config_file`)."""

    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    config_file: SecretFile
    sidecar: Sidecar

    def __init__(self, name: str, args: MetricsCollectionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:metrics:ManagedPrometheus", name, None, opts)
        stored = store_sidecar_config(
            self,
            opts,
            secret_id=f"{name}-rungmp-config",
            text=args.scrape.render(),
            volume=CONFIG_VOLUME,
            file_name=CONFIG_FILE,
            readers=args.readers,
            service_label="metrics",
            protect=args.protect,
        )
        self.secret, self.version, self.config_file = stored.secret, stored.version, stored.file
        self.sidecar = collector_sidecar()
        self.register_outputs({"secret_id": self.secret.secret_id, "version": self.version.version})
