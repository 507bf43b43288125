"""Metrics collection: the Managed Prometheus collector beside the API and the workers, as the
graph of every stack records it, and the RunMonitoring file it reads."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.app_contract import METRICS_PATH, METRICS_PORT
from components.cloud_run import PORT, SecretFile, Sidecar, check_sidecars, sidecar_limits
from components.managed_prometheus import (
    API_VERSION,
    COLLECTOR_IMAGE,
    CONFIG_DIGEST_ANNOTATION,
    CONFIG_DIR,
    CONFIG_FILE,
    KIND,
    RunMonitoring,
)
from offline.engine import run_stack
from offline.graph import UNKNOWN
from stackconfig.platform import MetricsConfig

from .conftest import STACKS, edit_stack_file, one, resources

SERVICE = "gcp:cloudrunv2/service:Service"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
SECRET = "gcp:secretmanager/secret:Secret"
VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET_READER = "gcp:secretmanager/secretIamMember:SecretIamMember"
PROJECT_ROLE = "gcp:projects/iAMMember:IAMMember"
# The fields the sidecar's strict YAML reader accepts (run-gmp-sidecar confgenerator/config.go).
RUN_MONITORING_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
SPEC_FIELDS = {"endpoints", "targetLabels", "limits"}
ENDPOINT_FIELDS = {"port", "scheme", "path", "params", "proxyUrl", "interval", "timeout", "metricRelabeling"}


def by_name(graph: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in graph["resources"] if r["name"] == name)


def collected_workloads(graph: dict[str, Any], stack: str) -> list[dict[str, Any]]:
    """The API service and the Celery worker pool: the workloads that serve metrics."""
    return [by_name(graph, f"omni-{stack}-api-service"), by_name(graph, f"omni-{stack}-worker-pool")]


def containers_by_name(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {container["name"]: container for container in workload["inputs"]["template"]["containers"]}


def config_volume(workload: dict[str, Any]) -> dict[str, Any]:
    """The volume holding the collector's RunMonitoring file (beside other sidecars' volumes)."""
    (volume,) = [v for v in workload["inputs"]["template"].get("volumes", []) if v["name"] == "rungmp-config"]
    return volume


def app_env(workload: dict[str, Any]) -> dict[str, str]:
    return {env["name"]: env.get("value", "") for env in containers_by_name(workload)["app"]["envs"]}


# --- the RunMonitoring file ------------------------------------------------------------------


def test_the_runmonitoring_file_parses_and_scrapes_the_metrics_port():
    document = yaml.safe_load(RunMonitoring(port=METRICS_PORT, path=METRICS_PATH, interval="30s").render())
    assert document["apiVersion"] == API_VERSION == "monitoring.googleapis.com/v1beta"
    assert document["kind"] == KIND == "RunMonitoring"
    (endpoint,) = document["spec"]["endpoints"]
    assert endpoint == {"port": str(METRICS_PORT), "path": "/metrics", "interval": "30s", "timeout": "10s"}
    # Not `service`: the app sets that label to its workload, which rules and dashboards select on.
    assert document["spec"]["targetLabels"] == {"metadata": ["configuration", "revision"]}


def test_the_runmonitoring_file_uses_only_fields_the_sidecar_accepts():
    # The sidecar reads the file strictly: an unknown key stops the collector at start.
    document = yaml.safe_load(RunMonitoring(port=METRICS_PORT, timeout="5s").render())
    assert set(document) <= RUN_MONITORING_FIELDS
    assert set(document["spec"]) <= SPEC_FIELDS
    for endpoint in document["spec"]["endpoints"]:
        assert set(endpoint) <= ENDPOINT_FIELDS


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (prometheus 2.x) is not installed")
def test_the_scrape_it_describes_is_a_valid_prometheus_scrape_config(tmp_path: Path):
    # The sidecar turns each endpoint into a Prometheus scrape config and validates it the way
    # Prometheus does; promtool applies the same rules (durations, timeout within interval).
    for interval in ("10s", "30s", "1m", "5m"):
        (endpoint,) = yaml.safe_load(RunMonitoring(port=METRICS_PORT, interval=interval).render())["spec"]["endpoints"]
        scrape = {
            "job_name": "omni",
            "metrics_path": endpoint["path"],
            "scrape_interval": endpoint["interval"],
            "scrape_timeout": endpoint["timeout"],
            "static_configs": [{"targets": [f"0.0.0.0:{endpoint['port']}"]}],
        }
        config = tmp_path / f"prometheus-{interval}.yml"
        config.write_text(yaml.safe_dump({"scrape_configs": [scrape]}))
        checked = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rendered_file_is_deterministic():
    assert RunMonitoring(port=METRICS_PORT).render() == RunMonitoring(port=METRICS_PORT).render()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"port": 80}, "unprivileged port"),
        ({"port": METRICS_PORT, "path": "metrics"}, "must start with '/'"),
        ({"port": METRICS_PORT, "interval": "30 seconds"}, "not like '30s'"),
        ({"port": METRICS_PORT, "interval": "10s", "timeout": "15s"}, "longer than the interval"),
        ({"port": METRICS_PORT, "target_metadata": ("service", "zone")}, "adds only"),
    ],
)
def test_a_runmonitoring_the_sidecar_would_refuse_is_refused_here(kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        RunMonitoring(**kwargs)


def test_a_short_interval_gets_a_timeout_within_it():
    document = yaml.safe_load(RunMonitoring(port=METRICS_PORT, interval="10s").render())
    assert document["spec"]["endpoints"][0]["timeout"] == "10s"


# --- the metrics port --------------------------------------------------------------------------


def test_the_metrics_port_is_not_the_ingress_port():
    assert METRICS_PORT != PORT


@pytest.mark.parametrize("stack", STACKS)
def test_the_api_serves_requests_on_8080_and_metrics_on_its_own_port(graphs, stack):
    api, worker = collected_workloads(graphs[stack], stack)
    containers = containers_by_name(api)
    # Only the app's container has a port: Cloud Run routes outside traffic to that one alone.
    assert containers["app"]["ports"] == {"containerPort": PORT}
    assert [name for name, container in containers.items() if "ports" in container] == ["app"]
    for workload in (api, worker):
        assert app_env(workload)["METRICS_PORT"] == str(METRICS_PORT), workload["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_each_workload_labels_its_metrics_with_the_service_the_alert_rules_select(graphs, stack):
    from alerts.slo import SLOS

    api, worker = collected_workloads(graphs[stack], stack)
    labels = {app_env(api)["METRICS_SERVICE_LABEL"], app_env(worker)["METRICS_SERVICE_LABEL"]}
    assert labels == {"api", "worker"}
    assert {slo.service for slo in SLOS} <= labels


# --- the collector in every stack ----------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_collector_runs_beside_the_api_and_the_worker_with_its_config_mounted(graphs, stack):
    graph = graphs[stack]
    config_secret = f"omni-{stack}-rungmp-config"
    assert one(graph, "omni:metrics:ManagedPrometheus")["name"] == f"omni-{stack}"
    for workload in collected_workloads(graph, stack):
        collector = containers_by_name(workload)["collector"]
        assert collector["image"] == COLLECTOR_IMAGE
        assert collector["volumeMounts"] == [{"name": "rungmp-config", "mountPath": CONFIG_DIR}]
        assert "ports" not in collector
        volume = config_volume(workload)
        assert volume["name"] == "rungmp-config"
        assert volume["secret"]["secret"] == config_secret
        (item,) = volume["secret"]["items"]
        # A version number (unknown until the version exists), never `latest`.
        assert item == {"path": CONFIG_FILE, "version": UNKNOWN}
    assert by_name(graph, config_secret)["inputs"]["secretId"] == config_secret


@pytest.mark.parametrize("stack", STACKS)
def test_the_collector_starts_after_the_api_and_beside_celery(graphs, stack):
    api, worker = (containers_by_name(w) for w in collected_workloads(graphs[stack], stack))
    # After the API's startup probe passes, so that its first scrape finds the app up.
    assert api["collector"]["dependsOns"] == ["app"]
    assert "startupProbe" in api["app"]
    # Celery has no startup probe, and Cloud Run refuses a dependency on a container without one.
    assert "dependsOns" not in worker["collector"]
    assert "startupProbe" not in worker["app"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_collector_mounts_the_version_the_program_wrote(applied, stack):
    graph = applied[stack]
    version = by_name(graph, f"omni-{stack}-rungmp-config-version")
    for workload in collected_workloads(graph, stack):
        volume = config_volume(workload)
        # The first version of the secret, by number: a new config, a new number, a new revision.
        assert volume["secret"]["items"][0]["version"] == "1"
        assert version["urn"] in workload["propertyDependencies"]["template"]
    # Old versions stay for the old revision's instances while a new one rolls out.
    assert version["inputs"]["deletionPolicy"] == "ABANDON"


def test_the_collector_is_pinned_to_an_exact_release():
    image, tag = COLLECTOR_IMAGE.rsplit(":", 1)
    assert image == "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar"
    assert tag.count(".") == 2
    assert all(part.isdigit() for part in tag.split("."))


@pytest.mark.parametrize("stack", STACKS)
def test_beat_runs_no_collector(graphs, stack):
    beat = by_name(graphs[stack], f"omni-{stack}-beat-pool")
    assert "collector" not in containers_by_name(beat)
    assert "METRICS_PORT" not in app_env(beat)


@pytest.mark.parametrize("stack", STACKS)
def test_the_collector_is_small(graphs, stack):
    for workload in collected_workloads(graphs[stack], stack):
        limits = containers_by_name(workload)["collector"]["resources"]["limits"]
        assert limits == {"cpu": "250m", "memory": "256Mi"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_api_keeps_its_cpu_between_requests_so_that_scrapes_succeed(graphs, stack):
    # Instance-based billing, as Google recommends with the collector; the CPU allocation applies
    # to the whole instance, so every container says the same.
    api = containers_by_name(collected_workloads(graphs[stack], stack)[0])
    assert {name: container["resources"]["cpuIdle"] for name, container in api.items()} == {
        "app": False,
        "collector": False,
        "otel-collector": False,
    }


# --- least privilege ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_collector_config_is_readable_by_exactly_the_workloads_that_mount_it(applied, stack):
    graph = applied[stack]
    emails = graph["outputs"]["service_accounts"]
    readers = {
        grant["inputs"]["member"]
        for grant in resources(graph, SECRET_READER)
        if grant["inputs"]["secretId"].endswith(f"/secrets/omni-{stack}-rungmp-config")
    }
    assert readers == {f"serviceAccount:{emails['api']}", f"serviceAccount:{emails['worker']}"}


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_running_a_collector_may_write_metrics(applied, stack):
    graph = applied[stack]
    emails = graph["outputs"]["service_accounts"]
    for workload in ("api", "worker"):
        roles = {
            g["inputs"]["role"]
            for g in resources(graph, PROJECT_ROLE)
            if g["inputs"]["member"] == f"serviceAccount:{emails[workload]}"
        }
        assert "roles/monitoring.metricWriter" in roles, workload


@pytest.mark.parametrize("stack", STACKS)
def test_the_monitoring_api_is_enabled(graphs, stack):
    enabled = {r["inputs"]["service"] for r in resources(graphs[stack], "gcp:projects/service:Service")}
    assert "monitoring.googleapis.com" in enabled


# --- configuration -----------------------------------------------------------------------------


def test_turning_the_collector_off_removes_the_sidecars_and_their_config(project_copy):
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:metrics:\n    collector: false",
    )
    graph = run_stack(project_copy, "prod").to_json()
    for workload in resources(graph, SERVICE) + resources(graph, POOL):
        # Grafana runs no collector; the alerting instance's scrapes Alertmanager for the dead
        # man's switch, whatever the app's collectors do.
        if workload["name"].startswith(("omni-prod-grafana", "omni-prod-alerting")):
            continue
        assert "collector" not in containers_by_name(workload), workload["name"]
        assert not [v for v in workload["inputs"]["template"].get("volumes", []) if v["name"] == "rungmp-config"]
        assert "METRICS_PORT" not in app_env(workload)
    # The app takes back the collector's share of the instance (2 vCPU, beside the trace collector's 250m).
    for name in ("omni-prod-api-service", "omni-prod-worker-pool"):
        assert containers_by_name(by_name(graph, name))["app"]["resources"]["limits"]["cpu"] == "1750m"
    assert resources(graph, "omni:metrics:ManagedPrometheus") == []
    assert not [s for s in resources(graph, SECRET) if "rungmp" in s["name"] and "alerting" not in s["name"]]


def test_the_scrape_interval_defaults_to_30_seconds():
    assert MetricsConfig().scrape_interval == "30s"
    assert MetricsConfig().collector is True


@pytest.mark.parametrize(
    ("interval", "problem"),
    [
        ("5s", "outside 10s to 5m"),
        ("10m", "outside 10s to 5m"),
        ("30", "should match pattern"),
        ("1h", "should match pattern"),
    ],
)
def test_a_scrape_interval_out_of_range_is_refused(interval, problem):
    with pytest.raises(ValueError, match=problem):
        MetricsConfig(scrape_interval=interval)


# --- the sidecar blocks of components/cloud_run/ -----------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "memory", "problem"),
    [
        ("1", "256Mi", "millicores below one vCPU"),
        ("1000m", "256Mi", "millicores below one vCPU"),
        ("500m", "2Gi", "64Mi to 1024Mi"),
        # Cloud Run gives a container below half a vCPU at most 512Mi.
        ("250m", "1Gi", "sidecar memory 1Gi with cpu 250m: Cloud Run gives 250m at most 512Mi"),
    ],
)
def test_a_sidecar_stays_small(cpu, memory, problem):
    with pytest.raises(ValueError, match=problem):
        sidecar_limits(cpu, memory)


def test_a_sidecar_mounts_only_declared_volumes_and_is_never_named_app():
    file = SecretFile(volume="config", secret="s", version="1", file_name="config.yaml")
    with pytest.raises(ValueError, match="which no secret file declares"):
        check_sidecars([Sidecar(name="collector", image="i:1", mounts={"other": "/etc/x"})], [file])
    with pytest.raises(ValueError, match="share a name"):
        check_sidecars([Sidecar(name="collector", image="i:1"), Sidecar(name="collector", image="i:1")], [])
    with pytest.raises(ValueError, match="workload's own container"):
        Sidecar(name="app", image="i:1")
    check_sidecars([Sidecar(name="collector", image="i:1", mounts={"config": "/etc/x"})], [file])


def test_a_changed_scrape_config_shows_in_review_as_a_new_digest(graphs, project_copy):
    def digest(graph):
        return by_name(graph, "omni-prod-rungmp-config")["inputs"]["annotations"][CONFIG_DIGEST_ANNOTATION]

    expected = hashlib.sha256(RunMonitoring(port=METRICS_PORT, interval="30s").render().encode()).hexdigest()
    assert digest(graphs["prod"]) == expected
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:metrics:\n    scrapeInterval: 1m",
    )
    changed = hashlib.sha256(RunMonitoring(port=METRICS_PORT, interval="1m").render().encode()).hexdigest()
    assert digest(run_stack(project_copy, "prod").to_json()) == changed != expected
