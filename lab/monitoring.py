"""Real Prometheus and Alertmanager servers on 127.0.0.1 (`localrun.processes.ManagedServer`)."""

from __future__ import annotations

from pathlib import Path

from localrun.ports import LOOPBACK
from localrun.processes import ManagedServer, ServerSpec

PROMETHEUS_BINARY = "/usr/bin/prometheus"
ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager"


def prometheus(
    config_yaml: str, rule_files: dict[str, str], *, port: int = 0, history_blocks: Path | None = None
) -> ManagedServer:
    """A Prometheus with this configuration; `rule_files` are written next to it (name -> YAML).

    `history_blocks`: a directory of TSDB blocks (lab.history) the server starts with.
    """
    trees = {"data": history_blocks} if history_blocks else {}
    spec = ServerSpec(
        "prometheus", PROMETHEUS_BINARY, "prometheus", {"prometheus.yml": config_yaml, **rule_files}, port, trees
    )
    return ManagedServer(
        spec,
        [
            "--config.file={dir}/prometheus.yml",
            "--storage.tsdb.path={dir}/data",
            f"--web.listen-address={LOOPBACK}:{{port}}",
            "--log.level=warn",
        ],
    )


def alertmanager(config_yaml: str, *, port: int = 0) -> ManagedServer:
    """An Alertmanager with this configuration."""
    spec = ServerSpec(
        "alertmanager", ALERTMANAGER_BINARY, "prometheus-alertmanager", {"alertmanager.yml": config_yaml}, port
    )
    return ManagedServer(
        spec,
        [
            "--config.file={dir}/alertmanager.yml",
            "--storage.path={dir}/data",
            f"--web.listen-address={LOOPBACK}:{{port}}",
            # No gossip: a single lab instance needs no cluster, and the default cluster port (9094)
            # would collide between the lab's concurrent Alertmanagers.
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
    )
