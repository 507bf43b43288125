"""What the collector sidecars take of each Cloud Run instance, as data the config model and the
components share: the model refuses a `cpu`/`memory` that leaves the app too little once the
sidecars the stack runs are counted, before any component is built (the components size their
sidecars from these same numbers)."""

from __future__ import annotations

# The Managed Prometheus collector (run-gmp-sidecar) beside the workloads that serve metrics.
METRICS_COLLECTOR_MILLICORES, METRICS_COLLECTOR_MIB = 250, 256
METRICS_WORKLOADS = ("api", "worker")
# The OpenTelemetry collector beside every workload that runs the app: 250m, or 500m above 512Mi
# (Cloud Run gives a container below 0.5 vCPU at most 512Mi).
TRACING_COLLECTOR_MILLICORES, LARGE_TRACING_COLLECTOR_MILLICORES = 250, 500
TRACING_COLLECTOR_SMALL_MAX_MIB = 512
TRACED_WORKLOADS = ("api", "worker", "beat")
# Celery beat's instance is fixed in code: 1 vCPU in all, 512Mi for beat's own container.
BEAT_CPU, BEAT_MEMORY = "1", "512Mi"


def tracing_collector_millicores(memory_mib: int) -> int:
    """The tracing collector's CPU share for its memory limit."""
    return (
        TRACING_COLLECTOR_MILLICORES
        if memory_mib <= TRACING_COLLECTOR_SMALL_MAX_MIB
        else LARGE_TRACING_COLLECTOR_MILLICORES
    )


def sidecar_shares(workload: str, *, metrics: bool, tracing: bool, tracing_memory_mib: int) -> list[tuple[int, int]]:
    """(millicores, MiB) of each sidecar `workload` runs with these settings."""
    shares = []
    if metrics and workload in METRICS_WORKLOADS:
        shares.append((METRICS_COLLECTOR_MILLICORES, METRICS_COLLECTOR_MIB))
    if tracing and workload in TRACED_WORKLOADS:
        shares.append((tracing_collector_millicores(tracing_memory_mib), tracing_memory_mib))
    return shares
