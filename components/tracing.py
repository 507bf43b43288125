"""Distributed tracing with OpenTelemetry and Cloud Trace.

Every Cloud Run workload that runs the app (the API service, the Celery worker and beat pools)
runs an OpenTelemetry Collector sidecar. The app's OpenTelemetry SDK sends every span it
records to the collector on localhost (OTLP); the collector keeps a share of the traces and
exports them to Cloud Trace under the workload's service account (`roles/cloudtrace.agent`,
granted with the workload's telemetry roles in `components.identity`).

**Where the sampling decision is made: in the collector, only there.** The app SDKs record
everything (`parentbased_always_on`: a span follows its parent's decision, a root span is
always recorded), and the collector's probabilistic sampler keeps `tracing.samplingRatio` of
the traces, deciding from the trace id alone. The decision is therefore the same in the API's
collector, the workers' and beat's, so a trace that crosses the Celery boundary is kept or
dropped whole, with no coordination; the ratio is stack config, changed by a `pulumi up`
without an app release; and a later move to keeping every slow or failed trace (tail
sampling) changes this file, not the app. The cost is that the app exports every span to
localhost, which is cheap next to a request.

The collector's configuration is rendered from one `CollectorConfig` object, stored in
Secret Manager and mounted by version number, like the Managed Prometheus collector's
(`components.cloud_run.store_sidecar_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp
import yaml

from components.cloud_run import HttpProbe, SecretFile, Sidecar, sidecar_limits, store_sidecar_config
from stackconfig.cloud_run_sizing import memory_mib
from stackconfig.sidecars import (
    LARGE_TRACING_COLLECTOR_MILLICORES,
    TRACING_COLLECTOR_MILLICORES,
    tracing_collector_millicores,
)

REQUIRED_APIS = ("cloudtrace.googleapis.com",)
# Pinned: the contrib build, which has the `googlecloud` exporter, the `probabilistic_sampler`
# and `resourcedetection` processors and the `health_check` extension; upgraded by a reviewed
# change, with the component names and keys below checked against that release.
COLLECTOR_VERSION = "0.135.0"
COLLECTOR_IMAGE = f"docker.io/otel/opentelemetry-collector-contrib:{COLLECTOR_VERSION}"
COLLECTOR_NAME = "otel-collector"
# Its share of an instance, which the app's container gives up: it batches and forwards spans
# from one instance. Above 512Mi it takes LARGE_COLLECTOR_CPU, the least Cloud Run gives that much memory.
COLLECTOR_CPU, LARGE_COLLECTOR_CPU = f"{TRACING_COLLECTOR_MILLICORES}m", f"{LARGE_TRACING_COLLECTOR_MILLICORES}m"
CONFIG_DIR = "/etc/otelcol-contrib"  # the image's own config directory, replaced by the mount
CONFIG_FILE = "config.yaml"
CONFIG_VOLUME = "otel-config"
# Only the instance's own containers reach the receivers: they listen on loopback.
OTLP_GRPC_PORT, OTLP_HTTP_PORT = 4317, 4318
OTLP_ENDPOINT = f"http://localhost:{OTLP_GRPC_PORT}"
"""What the app's SDK exports to (`OTEL_EXPORTER_OTLP_ENDPOINT`), the SDK's own default too."""
HEALTH_PORT = 13133
SAMPLING_MODE = "proportional"
"""The W3C Trace Context level 2 way: the decision compares 56 bits of the trace id with a
threshold, so every collector decides the same for one trace. Set explicitly: the processor's
default mode has changed between releases."""
# The memory limiter refuses spans above this share of the container's memory, before the Go
# runtime nears the limit and Cloud Run kills the container; the spike allowance below it is
# where it starts forcing garbage collections.
MEMORY_LIMIT_SHARE = 0.8
SPIKE_SHARE_OF_LIMIT = 0.2


@dataclass(frozen=True)
class CollectorConfig:
    """The collector's whole configuration: OTLP in, memory limiter, sampler, resource
    detection and batch, Cloud Trace out, and a health check for the startup probe."""

    project: str
    """The project Cloud Trace writes to: the stack's."""
    sampling_ratio: float
    """Share of traces kept, above 0 up to 1 (`tracing.samplingRatio`)."""
    memory: str = "256Mi"
    """The collector container's memory limit, which the memory limiter's limits derive from."""
    batch_timeout: str = "5s"
    send_batch_size: int = 512

    def __post_init__(self) -> None:
        if not 0 < self.sampling_ratio <= 1:
            raise ValueError(f"sampling ratio {self.sampling_ratio}: give a share above 0 and at most 1")
        sidecar_limits(collector_cpu(self.memory), self.memory)

    @property
    def sampling_percentage(self) -> float:
        """The sampler's percentage: 0.1 -> 10.0, rounded so that 0.1 * 100 is not 10.000000000000002."""
        return round(self.sampling_ratio * 100, 6)

    @property
    def memory_limits_mib(self) -> tuple[int, int]:
        """(limit_mib, spike_limit_mib) of the memory limiter, from the container's memory."""
        limit = int(memory_mib(self.memory) * MEMORY_LIMIT_SHARE)
        return limit, int(limit * SPIKE_SHARE_OF_LIMIT)

    def document(self) -> dict[str, Any]:
        """The collector's configuration, as `otelcol-contrib --config` reads it."""
        limit_mib, spike_limit_mib = self.memory_limits_mib
        return {
            "receivers": {
                "otlp": {
                    "protocols": {
                        "grpc": {"endpoint": f"127.0.0.1:{OTLP_GRPC_PORT}"},
                        "http": {"endpoint": f"127.0.0.1:{OTLP_HTTP_PORT}"},
                    }
                }
            },
            "processors": {
                "memory_limiter": {"check_interval": "1s", "limit_mib": limit_mib, "spike_limit_mib": spike_limit_mib},
                "probabilistic_sampler": {"mode": SAMPLING_MODE, "sampling_percentage": self.sampling_percentage},
                # Cloud Run's region, service or pool, revision and instance on every span,
                # read once at start from the metadata server; the app's own attributes win.
                "resourcedetection": {"detectors": ["env", "gcp"], "timeout": "2s", "override": False},
                "batch": {
                    "timeout": self.batch_timeout,
                    "send_batch_size": self.send_batch_size,
                    "send_batch_max_size": self.send_batch_size * 2,
                },
            },
            "exporters": {"googlecloud": {"project": self.project}},
            # Cloud Run probes the container from outside its loopback interface; nothing else
            # reaches the port (only the ingress container's port takes outside traffic).
            "extensions": {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}", "path": "/"}},
            "service": {
                "extensions": ["health_check"],
                "pipelines": {
                    "traces": {
                        "receivers": ["otlp"],
                        # The limiter first, so that it refuses before anything buffers; the
                        # sampler next, so that dropped spans cost nothing more; batch last.
                        "processors": ["memory_limiter", "probabilistic_sampler", "resourcedetection", "batch"],
                        "exporters": ["googlecloud"],
                    }
                },
                # No self-metrics endpoint: it would bind a port (8888) beside the Managed
                # Prometheus collector, and nothing scrapes it.
                "telemetry": {"metrics": {"level": "none"}},
            },
        }

    def render(self) -> str:
        """The file's text: deterministic, so an unchanged config never makes a new version."""
        return yaml.safe_dump(self.document(), sort_keys=True, default_flow_style=False)


def collector_cpu(memory: str) -> str:
    """The collector's CPU share for its memory limit: 250m, or 500m above 512Mi."""
    return f"{tracing_collector_millicores(memory_mib(memory))}m"


def collector_sidecar(memory: str) -> Sidecar:
    """The collector container. It starts beside the app, not after it: it receives from the
    app, and the app's exporter retries while it starts. Its startup probe is the health check,
    so a collector that cannot start (a bad config) fails the rollout."""
    return Sidecar(
        name=COLLECTOR_NAME,
        image=COLLECTOR_IMAGE,
        cpu=collector_cpu(memory),
        memory=memory,
        args=(f"--config={CONFIG_DIR}/{CONFIG_FILE}",),
        mounts={CONFIG_VOLUME: CONFIG_DIR},
        after_app=False,
        startup_probe=HttpProbe(port=HEALTH_PORT, path="/"),
    )


@dataclass(frozen=True)
class TracingArgs:
    collector: CollectorConfig
    """What every collector does (the workloads share one configuration)."""
    readers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Who mounts the configuration: a short label (`api`) to the workload's IAM member; each
    gets `secretAccessor` on this one secret."""
    protect: bool = True
    """Pulumi `protect` and Secret Manager's deletion protection on the secret."""


class Tracing(pulumi.ComponentResource):
    """The collector's configuration in Secret Manager, readable by the workloads that run it,
    and the sidecar and file mount those workloads add (`sidecar`, `config_file`)."""

    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    config_file: SecretFile
    sidecar: Sidecar

    def __init__(self, name: str, args: TracingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:tracing:OpenTelemetry", name, None, opts)
        stored = store_sidecar_config(
            self,
            opts,
            secret_id=f"{name}-otel-config",
            text=args.collector.render(),
            volume=CONFIG_VOLUME,
            file_name=CONFIG_FILE,
            readers=args.readers,
            service_label="tracing",
            protect=args.protect,
        )
        self.secret, self.version, self.config_file = stored.secret, stored.version, stored.file
        self.sidecar = collector_sidecar(args.collector.memory)
        self.register_outputs({"secret_id": self.secret.secret_id, "version": self.version.version})
