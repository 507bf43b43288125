"""Tracing: the OpenTelemetry Collector beside every workload that runs the app, the
configuration it reads, the sampling ratio each stack sets, and what the app is told."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import yaml

from components.app_contract import METRICS_PORT, TRACED_WORKLOADS
from components.cloud_run import CONFIG_DIGEST_ANNOTATION, PORT
from components.tracing import (
    COLLECTOR_IMAGE,
    CONFIG_DIR,
    CONFIG_FILE,
    HEALTH_PORT,
    OTLP_ENDPOINT,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    CollectorConfig,
    collector_cpu,
)
from offline.engine import Project, run_stack
from offline.graph import UNKNOWN
from offline.stackfile import read_stack_file
from stackconfig import StackConfig, StackConfigError, load_stack_config
from stackconfig.platform import TracingConfig

from .conftest import ROOT, STACKS, edit_stack_file, one, resources

SERVICE = "gcp:cloudrunv2/service:Service"
POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
JOB = "gcp:cloudrunv2/job:Job"
SECRET = "gcp:secretmanager/secret:Secret"
SECRET_READER = "gcp:secretmanager/secretIamMember:SecretIamMember"
PROJECT_ROLE = "gcp:projects/iAMMember:IAMMember"
COMPONENT_KINDS = ("receivers", "processors", "exporters", "extensions")
# Cloud Run workloads that do not run the Omni app, and so have nothing to trace.
# Tools that run no app code: Grafana, the alerting path (rule evaluator and Alertmanager), and the
# developer portal (not our code: docs/portal-contract.md).
NOT_THE_APP = {"grafana", "alerting", "portal"}


def stack_config(project: Project, stack: str) -> StackConfig:
    values, secret_keys = read_stack_file(project.stack_file(stack))
    return load_stack_config(stack, values, secret_keys)


def expected_collector(config: StackConfig) -> CollectorConfig:
    return CollectorConfig(
        project=config.project, sampling_ratio=config.tracing.sampling_ratio, memory=config.tracing.collector_memory
    )


def by_name(graph: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in graph["resources"] if r["name"] == name)


def app_workloads(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Cloud Run service and worker pool that runs the Omni app."""
    return [
        workload
        for workload in resources(graph, SERVICE) + resources(graph, POOL)
        if workload["inputs"]["labels"]["service"] not in NOT_THE_APP
    ]


def containers_by_name(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {container["name"]: container for container in workload["inputs"]["template"]["containers"]}


def app_env(container: dict[str, Any]) -> dict[str, str]:
    return {env["name"]: env.get("value", "") for env in container["envs"]}


def config_digest(graph: dict[str, Any], stack: str) -> str:
    return by_name(graph, f"omni-{stack}-otel-config")["inputs"]["annotations"][CONFIG_DIGEST_ANNOTATION]


def digest_of(collector: CollectorConfig) -> str:
    return hashlib.sha256(collector.render().encode("utf-8")).hexdigest()


# --- the collector's configuration ---------------------------------------------------------------

CONFIGS = [
    CollectorConfig(project="omni-api-dev", sampling_ratio=0.1),
    CollectorConfig(project="omni-api-prod", sampling_ratio=1.0, memory="1Gi"),
    CollectorConfig(project="omni-api-prod", sampling_ratio=0.001, memory="128Mi"),
]


def referenced(service: dict[str, Any]) -> dict[str, set[str]]:
    """What the service section uses, by kind."""
    used: dict[str, set[str]] = {kind: set() for kind in COMPONENT_KINDS}
    used["extensions"] = set(service.get("extensions", []))
    for pipeline in service["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            used[kind] |= set(pipeline.get(kind, []))
    return used


@pytest.mark.parametrize("collector", CONFIGS, ids=lambda c: f"{c.sampling_ratio}-{c.memory}")
def test_every_component_defined_is_used_by_the_service_and_every_one_used_is_defined(collector: CollectorConfig):
    document = yaml.safe_load(collector.render())
    used = referenced(document["service"])
    for kind in COMPONENT_KINDS:
        defined = set(document.get(kind, {}))
        assert defined == used[kind], f"{kind}: defined {sorted(defined)}, used {sorted(used[kind])}"
    # Every pipeline has somewhere to read from and somewhere to write to.
    for name, pipeline in document["service"]["pipelines"].items():
        assert pipeline["receivers"], name
        assert pipeline["exporters"], name


def test_the_only_pipeline_takes_otlp_traces_to_cloud_trace():
    document = yaml.safe_load(CONFIGS[0].render())
    assert list(document["service"]["pipelines"]) == ["traces"]
    traces = document["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert traces["exporters"] == ["googlecloud"]
    assert document["exporters"]["googlecloud"] == {"project": "omni-api-dev"}


@pytest.mark.parametrize("collector", CONFIGS, ids=lambda c: f"{c.sampling_ratio}-{c.memory}")
def test_the_memory_limiter_comes_first_and_batch_last(collector: CollectorConfig):
    processors = yaml.safe_load(collector.render())["service"]["pipelines"]["traces"]["processors"]
    assert processors[0] == "memory_limiter"
    assert processors[-1] == "batch"
    # Sampling before anything else works on the spans it drops.
    assert processors.index("probabilistic_sampler") == 1


@pytest.mark.parametrize(("memory", "mib"), [("128Mi", 128), ("256Mi", 256), ("512Mi", 512), ("1Gi", 1024)])
def test_the_memory_limiter_refuses_spans_before_the_container_runs_out(memory: str, mib: int):
    limiter = yaml.safe_load(CollectorConfig(project="p-123456", sampling_ratio=0.1, memory=memory).render())[
        "processors"
    ]["memory_limiter"]
    assert 0 < limiter["spike_limit_mib"] < limiter["limit_mib"] < mib
    assert limiter["limit_mib"] == int(mib * 0.8)
    assert limiter["check_interval"] == "1s"


@pytest.mark.parametrize(("ratio", "percentage"), [(0.1, 10.0), (0.07, 7.0), (0.001, 0.1), (1, 100.0), (0.333, 33.3)])
def test_the_sampling_percentage_is_the_ratio_exactly(ratio: float, percentage: float):
    sampler = yaml.safe_load(CollectorConfig(project="p-123456", sampling_ratio=ratio).render())["processors"][
        "probabilistic_sampler"
    ]
    # 0.1 * 100 is 10.000000000000002 in floating point; the file says 10.0.
    assert sampler["sampling_percentage"] == percentage
    # Consistent by trace id in every collector, whatever the processor's default mode.
    assert sampler["mode"] == "proportional"


def test_the_receivers_listen_on_loopback_only_and_the_app_exports_to_them():
    protocols = yaml.safe_load(CONFIGS[0].render())["receivers"]["otlp"]["protocols"]
    assert protocols == {
        "grpc": {"endpoint": f"127.0.0.1:{OTLP_GRPC_PORT}"},
        "http": {"endpoint": f"127.0.0.1:{OTLP_HTTP_PORT}"},
    }
    assert OTLP_ENDPOINT.endswith(f":{OTLP_GRPC_PORT}")


def test_the_collector_ports_collide_with_none_of_the_app():
    collector_ports = {OTLP_GRPC_PORT, OTLP_HTTP_PORT, HEALTH_PORT}
    assert len(collector_ports) == 3
    assert not collector_ports & {PORT, METRICS_PORT}


def test_the_health_check_answers_where_the_startup_probe_asks():
    extension = yaml.safe_load(CONFIGS[0].render())["extensions"]["health_check"]
    assert extension["endpoint"] == f"0.0.0.0:{HEALTH_PORT}"
    assert extension["path"] == "/"


def test_the_rendered_config_is_deterministic():
    assert (
        CollectorConfig(project="p-123456", sampling_ratio=0.1).render()
        == CollectorConfig(project="p-123456", sampling_ratio=0.1).render()
    )


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"sampling_ratio": 0}, "above 0"),
        ({"sampling_ratio": 1.5}, "at most 1"),
        ({"sampling_ratio": 0.1, "memory": "2Gi"}, "64Mi to 1024Mi"),
    ],
)
def test_a_collector_config_out_of_range_is_refused(kwargs: dict[str, Any], problem: str):
    with pytest.raises(ValueError, match=problem):
        CollectorConfig(project="p-123456", **kwargs)


def test_the_collector_is_the_contrib_build_pinned_to_an_exact_release():
    image, tag = COLLECTOR_IMAGE.rsplit(":", 1)
    assert image == "docker.io/otel/opentelemetry-collector-contrib"
    assert tag.count(".") == 2
    assert all(part.isdigit() for part in tag.split("."))


# --- sampling follows each stack's config ----------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_samples_at_its_configured_ratio(graphs, project, stack):
    config = stack_config(project, stack)
    assert config.tracing.sampling_ratio == 0.1, "the default: one trace in ten"
    # The version's text is a provider secret in the graph; its digest, in review, is not.
    assert config_digest(graphs[stack], stack) == digest_of(expected_collector(config))
    assert yaml.safe_load(expected_collector(config).render())["exporters"]["googlecloud"]["project"] == config.project


def test_a_changed_ratio_changes_the_sampling_and_shows_in_review(graphs, project_copy):
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:tracing:\n    samplingRatio: 0.25",
    )
    config = stack_config(project_copy, "prod")
    assert config.tracing.sampling_ratio == 0.25
    changed = config_digest(run_stack(project_copy, "prod").to_json(), "prod")
    sampler = yaml.safe_load(expected_collector(config).render())["processors"]["probabilistic_sampler"]
    assert sampler["sampling_percentage"] == 25.0
    assert changed == digest_of(expected_collector(config)) != config_digest(graphs["prod"], "prod")


BAD_TRACING = [
    ("samplingRatio: 0", "omni-infra:tracing.samplingRatio", "set tracing.enabled to false instead"),
    ("samplingRatio: 1.5", "omni-infra:tracing.samplingRatio", "at most 1"),
    ("samplingRatio: -0.1", "omni-infra:tracing.samplingRatio", "above 0"),
    ("samplingRatio: often", "omni-infra:tracing.samplingRatio", "valid number"),
    ("collectorMemory: 2Gi", "omni-infra:tracing.collectorMemory", "128Mi to 1Gi"),
]


@pytest.mark.parametrize(("setting", "key", "fix"), BAD_TRACING, ids=[case[0] for case in BAD_TRACING])
def test_a_bad_tracing_setting_stops_the_run_naming_the_key(project_copy, setting, key, fix):
    edit_stack_file(
        project_copy,
        "dev",
        "omni-infra:environment: dev",
        f"omni-infra:environment: dev\n  omni-infra:tracing:\n    {setting}",
    )
    with pytest.raises(StackConfigError) as caught:
        run_stack(project_copy, "dev")
    message = str(caught.value)
    assert f"  {key}: found " in message, message
    assert fix in message, message


def test_tracing_defaults_to_on_at_one_trace_in_ten():
    assert TracingConfig() == TracingConfig(enabled=True, sampling_ratio=0.1, collector_memory="256Mi")


# --- the sidecar in every workload of every stack --------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_cloud_run_workload_that_runs_the_app_runs_the_collector_with_its_config_mounted(graphs, stack):
    graph = graphs[stack]
    workloads = app_workloads(graph)
    assert sorted(w["name"] for w in workloads) == sorted(
        [f"omni-{stack}-api-service", f"omni-{stack}-worker-pool", f"omni-{stack}-beat-pool"]
    )
    assert {w["inputs"]["labels"]["service"] for w in workloads} == set(TRACED_WORKLOADS)
    for workload in workloads:
        collector = containers_by_name(workload)["otel-collector"]
        assert collector["image"] == COLLECTOR_IMAGE
        assert collector["args"] == [f"--config={CONFIG_DIR}/{CONFIG_FILE}"]
        assert collector["volumeMounts"] == [{"name": "otel-config", "mountPath": CONFIG_DIR}]
        assert "ports" not in collector, "only the app's container takes outside traffic"
        # It receives from the app, so it does not wait for it; Cloud Run waits for its health check.
        assert "dependsOns" not in collector
        assert collector["startupProbe"]["httpGet"] == {"path": "/", "port": HEALTH_PORT}
        (volume,) = [v for v in workload["inputs"]["template"]["volumes"] if v["name"] == "otel-config"]
        assert volume["secret"]["secret"] == f"omni-{stack}-otel-config"
        # A version number (unknown until the version exists), never `latest`.
        assert volume["secret"]["items"] == [{"path": CONFIG_FILE, "version": UNKNOWN}]


@pytest.mark.parametrize("stack", STACKS)
def test_each_workload_mounts_the_version_the_program_wrote(applied, stack):
    graph = applied[stack]
    version = by_name(graph, f"omni-{stack}-otel-config-version")
    for workload in app_workloads(graph):
        (volume,) = [v for v in workload["inputs"]["template"]["volumes"] if v["name"] == "otel-config"]
        assert volume["secret"]["items"][0]["version"] == "1"
        assert version["urn"] in workload["propertyDependencies"]["template"]
    assert version["inputs"]["deletionPolicy"] == "ABANDON"


def app_cpus(graph: dict[str, Any], stack: str) -> dict[str, str]:
    """Workload -> the CPU limit of its app container."""
    return {
        workload: containers_by_name(by_name(graph, f"omni-{stack}-{workload}-{kind}"))["app"]["resources"]["limits"][
            "cpu"
        ]
        for workload, kind in (("api", "service"), ("worker", "pool"), ("beat", "pool"))
    }


def test_the_collector_takes_a_quarter_vcpu_or_half_above_512mi():
    # Cloud Run gives a container below half a vCPU at most 512Mi.
    assert [collector_cpu(memory) for memory in ("128Mi", "512Mi", "768Mi", "1Gi")] == ["250m", "250m", "500m", "500m"]


def test_a_larger_collector_takes_its_share_from_the_apps(project_copy):
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:tracing:\n    collectorMemory: 1Gi",
    )
    graph = run_stack(project_copy, "prod").to_json()
    assert app_cpus(graph, "prod") == {"api": "1250m", "worker": "1250m", "beat": "500m"}
    for workload in app_workloads(graph):
        assert containers_by_name(workload)["otel-collector"]["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}


def test_a_collector_that_leaves_the_app_too_little_cpu_stops_the_run_naming_the_key(project_copy):
    edit_stack_file(
        project_copy,
        "dev",
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:tracing:\n    collectorMemory: 1Gi",
    )
    edit_stack_file(project_copy, "dev", "omni-infra:workers:\n", "omni-infra:workers:\n    cpu: '1'\n")
    with pytest.raises(
        Exception,
        match=r"workers.cpu 1 is the instance's total: its sidecars take 750m, leaving the app 250m, below 500m; "
        r"set workers.cpu to 2",
    ):
        run_stack(project_copy, "dev")


@pytest.mark.parametrize("stack", STACKS)
def test_the_collector_shares_the_apis_cpu_allocation_and_stays_small(graphs, stack):
    api = containers_by_name(by_name(graphs[stack], f"omni-{stack}-api-service"))
    assert api["otel-collector"]["resources"]["cpuIdle"] == api["app"]["resources"]["cpuIdle"]
    for workload in app_workloads(graphs[stack]):
        limits = containers_by_name(workload)["otel-collector"]["resources"]["limits"]
        assert limits == {"cpu": "250m", "memory": "256Mi"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_migration_job_runs_no_collector_and_its_sdk_is_off(graphs, stack):
    migrate = by_name(graphs[stack], f"omni-{stack}-migrate-job")
    assert migrate["type"] == JOB
    (container,) = migrate["inputs"]["template"]["template"]["containers"]
    env = app_env(container)
    assert env["OTEL_SDK_DISABLED"] == "true"
    assert not any(name.startswith("OTEL_EXPORTER") for name in env)


@pytest.mark.parametrize("stack", STACKS)
def test_the_collector_config_is_readable_by_exactly_the_workloads_that_mount_it(applied, stack):
    graph = applied[stack]
    emails = graph["outputs"]["service_accounts"]
    readers = {
        grant["inputs"]["member"]
        for grant in resources(graph, SECRET_READER)
        if grant["inputs"]["secretId"].endswith(f"/secrets/omni-{stack}-otel-config")
    }
    assert readers == {f"serviceAccount:{emails[workload]}" for workload in TRACED_WORKLOADS}


@pytest.mark.parametrize("stack", STACKS)
def test_every_traced_workload_may_write_traces_and_the_api_is_on(applied, stack):
    graph = applied[stack]
    emails = graph["outputs"]["service_accounts"]
    for workload in TRACED_WORKLOADS:
        roles = {
            g["inputs"]["role"]
            for g in resources(graph, PROJECT_ROLE)
            if g["inputs"]["member"] == f"serviceAccount:{emails[workload]}"
        }
        assert "roles/cloudtrace.agent" in roles, workload
    enabled = {r["inputs"]["service"] for r in resources(graph, "gcp:projects/service:Service")}
    assert "cloudtrace.googleapis.com" in enabled


def test_the_collector_config_secret_is_protected_in_prod(graphs):
    secret = by_name(graphs["prod"], "omni-prod-otel-config")
    assert secret["protect"] is True
    assert secret["inputs"]["deletionProtection"] is True
    assert one(graphs["prod"], "omni:tracing:OpenTelemetry")["name"] == "omni-prod"


# --- what the app is told --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_app_exports_every_span_to_the_collector_which_alone_samples(graphs, project, stack):
    config = stack_config(project, stack)
    for workload in app_workloads(graphs[stack]):
        service = workload["inputs"]["labels"]["service"]
        env = app_env(containers_by_name(workload)["app"])
        assert env["OTEL_SERVICE_NAME"] == service
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == OTLP_ENDPOINT == "http://localhost:4317"
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
        # The SDK records every root span and follows its parent's decision: one place decides.
        assert env["OTEL_TRACES_SAMPLER"] == "parentbased_always_on"
        assert "OTEL_TRACES_SAMPLER_ARG" not in env
        assert env["OTEL_PROPAGATORS"] == "tracecontext,baggage"
        attributes = dict(pair.split("=", 1) for pair in env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
        assert attributes["deployment.environment"] == stack
        assert attributes["service.version"] == (config.release or "placeholder") == env["OMNI_RELEASE"]
        # The collector has a traces pipeline only.
        assert env["OTEL_METRICS_EXPORTER"] == env["OTEL_LOGS_EXPORTER"] == "none"
        assert "OTEL_SDK_DISABLED" not in env


def test_the_docs_document_every_otel_variable_and_the_celery_setup():
    # The app contract lists the variables; the platform's tracing section says how Celery sets up.
    readme = (ROOT / "docs" / "app-contract.md").read_text() + (ROOT / "docs" / "platform.md").read_text()
    from components.app_contract import tracing_env

    config = StackConfig.model_validate(
        {
            "project": "omni-api-prod",
            "environment": "prod",
            "alerting": {"ticketEmail": "t@omni.example", "pagerduty": {"onCall": ["PA1B2C3"]}},
        }
    )
    for name in [*tracing_env("api", config), "OTEL_SDK_DISABLED"]:
        assert f"`{name}" in readme, f"docs/app-contract.md lacks {name}"
    for must in ("opentelemetry-instrumentation-celery", "worker_process_init", "CeleryInstrumentor"):
        assert must in readme, must


# --- turning it off --------------------------------------------------------------------------------


def test_turning_tracing_off_removes_the_collectors_and_turns_the_sdk_off(project_copy):
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:tracing:\n    enabled: false",
    )
    graph = run_stack(project_copy, "prod").to_json()
    for workload in app_workloads(graph):
        containers = containers_by_name(workload)
        assert "otel-collector" not in containers, workload["name"]
        assert not [v for v in workload["inputs"]["template"].get("volumes", []) if v["name"] == "otel-config"]
        env = app_env(containers["app"])
        assert env["OTEL_SDK_DISABLED"] == "true"
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env
    # Metrics do not depend on tracing.
    assert "collector" in containers_by_name(by_name(graph, "omni-prod-api-service"))
    # The apps take back the collector's share of their instances.
    assert app_cpus(graph, "prod") == {"api": "1750m", "worker": "1750m", "beat": "1"}
    assert resources(graph, "omni:tracing:OpenTelemetry") == []
    assert not [s for s in resources(graph, SECRET) if "otel" in s["name"]]


# --- dashboards link latency to traces -------------------------------------------------------------


def test_every_latency_graph_of_requests_and_tasks_links_to_cloud_trace():
    import json

    from dashboards import style
    from observability import catalogue as m
    from offline.dashboards import render_dashboards

    durations = (m.HTTP_REQUEST_DURATION.bucket, m.CELERY_TASK_DURATION.bucket, m.CELERY_TASK_QUEUE_WAIT.bucket)
    linked: set[str] = set()
    for file_name, text in render_dashboards("prod", ROOT).items():
        for item in json.loads(text)["panels"]:
            queries = [target["expr"] for target in item.get("targets", [])]
            is_latency = item["type"] == "timeseries" and item["fieldConfig"]["defaults"]["unit"] in ("s", "ms")
            if not is_latency or not any(name in query for name in durations for query in queries):
                continue
            urls = [link["url"] for link in item["fieldConfig"]["defaults"].get("links", [])]
            assert style.TRACE_LIST_URL in urls, (file_name, item["title"])
            linked.add(file_name)
    assert {"omni-api-latency.json", "omni-tracing.json", "omni-celery.json"} <= linked


# --- the sidecar's startup probe -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"port": PORT}, "other than the ingress port"),
        ({"port": 80}, "unprivileged"),
        ({"port": HEALTH_PORT, "path": "health"}, "start with '/'"),
        ({"port": HEALTH_PORT, "period_seconds": 10, "failure_threshold": 30}, "240 s at most"),
    ],
)
def test_a_sidecar_startup_probe_cloud_run_would_refuse_is_refused_here(kwargs: dict[str, Any], problem: str):
    from components.cloud_run import HttpProbe

    with pytest.raises(ValueError, match=problem):
        HttpProbe(**kwargs)
