"""Grafana on Cloud Run behind IAP, provisioned from this repository, as every stack declares it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import yaml

import dashboards.render
from components.grafana import (
    CONTENT_DIGEST_KEY,
    DASHBOARDS_DIR,
    DATASOURCE_URL,
    FRONTEND_IMAGE,
    FRONTEND_PORT,
    IAP_JWKS_URL,
    MOUNT_DIR,
    PROVISIONING_DIR,
    GrafanaArgs,
    check_dashboards,
    content_digest,
    dashboard_provisioning,
    datasource_provisioning,
)
from dashboards.style import DATASOURCE_UID
from offline.dashboards import render_dashboards
from offline.diff import ChangeKind, compute_diff
from offline.engine import run_stack
from offline.outputs import project_number
from stackconfig.model import StackConfig
from stackconfig.platform import GrafanaConfig

from .conftest import ROOT, STACKS, edit_stack_file, resources

SERVICE = "gcp:cloudrunv2/service:Service"
INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
IAP_ACCESS = "gcp:iap/webCloudRunServiceIamMember:WebCloudRunServiceIamMember"
OBJECT = "gcp:storage/bucketObject:BucketObject"
PROJECT_ROLE = "gcp:projects/iAMMember:IAMMember"
SECRET_READER = "gcp:secretmanager/secretIamMember:SecretIamMember"
BUCKET_READER = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECTS = {"dev": "omni-api-dev", "staging": "omni-api-staging", "prod": "omni-api-prod"}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}


def by_name(graph: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in graph["resources"] if r["name"] == name)


def grafana_service(graph: dict[str, Any], stack: str) -> dict[str, Any]:
    return by_name(graph, f"omni-{stack}-grafana-service")


def containers(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {container["name"]: container for container in service["inputs"]["template"]["containers"]}


def grafana_env(service: dict[str, Any]) -> dict[str, Any]:
    return {env["name"]: env.get("value", env.get("valueSource")) for env in containers(service)["grafana"]["envs"]}


def objects(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Bucket object name -> its inputs."""
    return {r["inputs"]["name"]: r["inputs"] for r in resources(graph, OBJECT)}


def grafana_member(stack: str) -> str:
    return f"serviceAccount:omni-{stack}-grafana@{PROJECTS[stack]}.iam.gserviceaccount.com"


STACK_GRAFANA_SETTINGS = "  omni-infra:grafana:\n    accessGroup: platform-engineers@omni.example"


def with_grafana(project_copy, stack: str, settings: str):
    """Run `stack` with its `grafana` section replaced by `settings` (indented lines)."""
    file = project_copy.root / "stacks" / f"Pulumi.{stack}.yaml"
    text = file.read_text(encoding="utf-8")
    start = text.index(STACK_GRAFANA_SETTINGS)
    end = text.index("\n", start + len(STACK_GRAFANA_SETTINGS))
    file.write_text(text[:start] + "  omni-infra:grafana:\n" + settings + text[end:], encoding="utf-8")
    return run_stack(project_copy, stack, preview=False).to_json()


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_is_behind_iap_and_not_public(applied, stack):
    graph = applied[stack]
    service = grafana_service(graph, stack)
    assert service["inputs"]["iapEnabled"] is True
    assert service["inputs"]["invokerIamDisabled"] is False
    grants = [g for g in resources(graph, INVOKER) if g["inputs"]["name"] == f"omni-{stack}-grafana"]
    # Only IAP's service agent may invoke it; nobody reaches Grafana around IAP.
    agent = f"serviceAccount:service-{project_number(PROJECTS[stack])}@gcp-sa-iap.iam.gserviceaccount.com"
    assert [(g["inputs"]["role"], g["inputs"]["member"]) for g in grants] == [("roles/run.invoker", agent)]
    assert not {g["inputs"]["member"] for g in resources(graph, IAP_ACCESS)} & PUBLIC_MEMBERS


def test_the_access_group_and_only_it_may_pass_iap(project_copy):
    graph = with_grafana(project_copy, "prod", "    accessGroup: omni-oncall@example.com")
    (access,) = resources(graph, IAP_ACCESS)
    assert access["inputs"] == {
        "project": "omni-api-prod",
        "location": "europe-west1",
        "cloudRunServiceName": "omni-prod-grafana",
        "role": "roles/iap.httpsResourceAccessor",
        "member": "group:omni-oncall@example.com",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_lets_the_platform_engineers_through_iap(graphs, stack):
    (access,) = resources(graphs[stack], IAP_ACCESS)
    assert access["inputs"]["member"] == "group:platform-engineers@omni.example"


def test_without_an_access_group_nobody_is_granted(project_copy):
    graph = with_grafana(project_copy, "prod", "    minInstances: 0")
    assert resources(graph, IAP_ACCESS) == []


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_signs_people_in_with_the_iap_jwt_of_its_own_audience(applied, stack):
    env = grafana_env(grafana_service(applied[stack], stack))
    number = project_number(PROJECTS[stack])
    assert env["GF_AUTH_JWT_ENABLED"] == "true"
    assert env["GF_AUTH_JWT_HEADER_NAME"] == "X-Goog-IAP-JWT-Assertion"
    assert env["GF_AUTH_JWT_JWK_SET_URL"] == IAP_JWKS_URL
    assert json.loads(env["GF_AUTH_JWT_EXPECT_CLAIMS"]) == {
        "iss": "https://cloud.google.com/iap",
        "aud": f"/projects/{number}/locations/europe-west1/services/omni-{stack}-grafana",
    }
    # Behind the edge (staging, prod), Grafana's root is its own host; IAP's audience stays the service's.
    edge_host = applied[stack]["outputs"].get("edge_urls", {}).get("grafana", "").rstrip("/")
    assert env["GF_SERVER_ROOT_URL"] == (edge_host or f"https://omni-{stack}-grafana-{number}.europe-west1.run.app")
    # No other way in, no password anywhere, and nobody edits what the repository provisions.
    assert env["GF_AUTH_DISABLE_LOGIN_FORM"] == "true"
    assert env["GF_AUTH_BASIC_ENABLED"] == env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION"] == "true"
    assert env["GF_USERS_AUTO_ASSIGN_ORG_ROLE"] == "Viewer"


# --- the datasource ----------------------------------------------------------------------------


def test_the_datasource_is_managed_prometheus_through_the_frontend_sidecar():
    (datasource,) = yaml.safe_load(datasource_provisioning("30s"))["datasources"]
    assert datasource["uid"] == DATASOURCE_UID == "managed-prometheus"
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == DATASOURCE_URL == f"http://localhost:{FRONTEND_PORT}"
    assert datasource["isDefault"] is True
    assert datasource["editable"] is False
    assert datasource["jsonData"]["timeInterval"] == "30s"


@pytest.mark.parametrize("stack", STACKS)
def test_the_frontend_serves_the_datasource_url_for_the_stack_project(graphs, stack):
    service = grafana_service(graphs[stack], stack)
    frontend = containers(service)["prometheus-frontend"]
    assert frontend["image"] == FRONTEND_IMAGE
    assert not FRONTEND_IMAGE.endswith(":latest")
    assert frontend["args"] == [f"--web.listen-address=:{FRONTEND_PORT}", f"--query.project-id={PROJECTS[stack]}"]
    assert frontend["startupProbe"]["httpGet"] == {"path": "/-/ready", "port": FRONTEND_PORT}
    assert "ports" not in frontend, "the frontend is reachable from Grafana only"
    # Grafana starts once the frontend answers.
    assert containers(service)["grafana"]["dependsOns"] == ["prometheus-frontend"]
    assert containers(service)["grafana"]["ports"] == {"containerPort": 3000}


@pytest.mark.parametrize("stack", STACKS)
def test_the_service_waits_for_everything_grafana_reads_at_start(graphs, stack):
    graph = graphs[stack]
    waits_for = {r["name"] for r in graph["resources"] if r["urn"] in grafana_service(graph, stack)["dependencies"]}
    # Its database (migrated at the first start) and user, its secrets, the grant to read the
    # provisioning bucket and every file in it, and the project grant the frontend queries with.
    expected = {
        f"omni-{stack}-grafana-{suffix}"
        for suffix in (
            "db",
            "db-user",
            "secret-db-password-version",
            "secret-db-password-grafana",
            "secret-key-version",
            "secret-key-grafana",
            "provisioning-reader",
            "monitoring-viewer",
        )
    }
    expected |= {r["name"] for r in resources(graph, OBJECT) if r["inputs"]["bucket"] == f"{PROJECTS[stack]}-grafana"}
    assert expected <= waits_for, expected - waits_for


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_and_its_frontend_share_one_vcpu_billed_per_request(graphs, stack):
    blocks = containers(grafana_service(graphs[stack], stack))
    assert {name: block["resources"]["limits"]["cpu"] for name, block in blocks.items()} == {
        "grafana": "750m",
        "prometheus-frontend": "250m",
    }
    # Grafana has no collector: it works inside requests, and scales to zero.
    assert {block["resources"]["cpuIdle"] for block in blocks.values()} == {True}


def test_grafana_memory_beyond_what_its_share_of_a_vcpu_gets_is_refused_in_the_args_too():
    # Past the config's check (a settings object built without validation), the component refuses it.
    with pytest.raises(ValueError, match=r"grafana.memory 2Gi: the app keeps 750m of grafana.cpu 1 after its sidecars"):
        GrafanaArgs(
            project="omni-api-dev",
            region="europe-west1",
            network_id="n",
            subnet_id="s",
            database_instance="i",
            database_host="10.0.0.3",
            database_ca_cert="-----BEGIN CERTIFICATE-----",
            dashboards={},
            settings=GrafanaConfig.model_construct(memory="2Gi"),
        )


@pytest.mark.parametrize("stack", STACKS)
def test_the_provisioned_datasource_follows_the_scrape_interval(graphs, stack):
    provisioned = objects(graphs[stack])["provisioning/datasources/managed-prometheus.yaml"]
    assert provisioned["metadata"][CONTENT_DIGEST_KEY] == content_digest(datasource_provisioning("30s"))


def test_a_longer_scrape_interval_reaches_the_datasource(project_copy):
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:metrics:\n    scrapeInterval: 1m",
    )
    graph = run_stack(project_copy, "prod").to_json()
    provisioned = objects(graph)["provisioning/datasources/managed-prometheus.yaml"]
    assert provisioned["metadata"][CONTENT_DIGEST_KEY] == content_digest(datasource_provisioning("1m"))


# --- the dashboards ----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_bucket_object_per_rendered_dashboard_with_its_content(graphs, stack):
    rendered = render_dashboards(stack, ROOT)
    assert rendered, "no dashboard rendered"
    dashboards = {name: inputs for name, inputs in objects(graphs[stack]).items() if name.startswith("dashboards/")}
    assert set(dashboards) == {f"dashboards/{file_name}" for file_name in rendered}
    for file_name, text in rendered.items():
        stored = dashboards[f"dashboards/{file_name}"]
        # The content itself is a provider secret in the graph; its digest is plain.
        assert stored["metadata"][CONTENT_DIGEST_KEY] == content_digest(text), file_name
        assert stored["contentType"] == "application/json"
        assert stored["bucket"] == f"{PROJECTS[stack]}-grafana"


def test_a_changed_dashboard_is_a_new_object_under_the_same_name(graphs):
    # Content forces a new object; it is replaced delete-first, or the delete that follows the
    # create would remove the new file (same bucket, same name).
    for resource in resources(graphs["prod"], OBJECT):
        assert resource["deleteBeforeReplace"] is True, resource["name"]


def test_the_dashboard_provider_reads_the_mounted_files_and_refuses_ui_edits():
    (provider,) = yaml.safe_load(dashboard_provisioning())["providers"]
    assert provider["type"] == "file"
    assert provider["allowUiUpdates"] is False
    assert 0 < provider["updateIntervalSeconds"] <= 300
    assert provider["options"]["path"] == DASHBOARDS_DIR


@pytest.mark.parametrize("stack", STACKS)
def test_the_bucket_is_mounted_where_grafana_reads_its_provisioning(graphs, stack):
    service = grafana_service(graphs[stack], stack)
    (volume,) = service["inputs"]["template"]["volumes"]
    assert volume["gcs"]["bucket"] == f"{PROJECTS[stack]}-grafana"
    assert volume["gcs"]["readOnly"] is True
    assert containers(service)["grafana"]["volumeMounts"] == [{"name": volume["name"], "mountPath": MOUNT_DIR}]
    assert grafana_env(service)["GF_PATHS_PROVISIONING"] == PROVISIONING_DIR
    assert DASHBOARDS_DIR.startswith(MOUNT_DIR + "/")
    assert PROVISIONING_DIR.startswith(MOUNT_DIR + "/")
    assert set(objects(graphs[stack])) >= {
        "provisioning/datasources/managed-prometheus.yaml",
        "provisioning/dashboards/omni.yaml",
    }
    assert service["inputs"]["template"]["executionEnvironment"] == "EXECUTION_ENVIRONMENT_GEN2"


@pytest.mark.parametrize("stack", STACKS)
def test_the_provisioning_bucket_is_private(graphs, stack):
    bucket = by_name(graphs[stack], f"omni-{stack}-grafana-provisioning")["inputs"]
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["forceDestroy"] is (stack == "dev")


@pytest.mark.parametrize(
    ("dashboards", "problem"), [({"API.json": "{}"}, "lowercase"), ({"api.json": "{"}, "not JSON")]
)
def test_dashboard_files_must_be_plain_json_files(dashboards, problem):
    with pytest.raises(ValueError, match=problem):
        check_dashboards(dashboards)


# --- identity and state ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_holds_only_monitoring_viewer_and_reads_only_its_own_secrets_and_bucket(applied, stack):
    graph = applied[stack]
    member = grafana_member(stack)
    assert grafana_service(graph, stack)["inputs"]["template"]["serviceAccount"] == member.removeprefix(
        "serviceAccount:"
    )
    assert {g["inputs"]["role"] for g in resources(graph, PROJECT_ROLE) if g["inputs"]["member"] == member} == {
        "roles/monitoring.viewer"
    }
    secrets = {
        g["inputs"]["secretId"].rsplit("/", 1)[-1]
        for g in resources(graph, SECRET_READER)
        if g["inputs"]["member"] == member
    }
    assert secrets == {f"omni-{stack}-grafana-secret-db-password", f"omni-{stack}-grafana-secret-key"}
    assert [
        (g["inputs"]["bucket"], g["inputs"]["role"])
        for g in resources(graph, BUCKET_READER)
        if g["inputs"]["member"] == member
    ] == [(f"{PROJECTS[stack]}-grafana", "roles/storage.objectViewer")]


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_keeps_its_state_in_its_own_database_on_the_stack_instance(applied, stack):
    graph = applied[stack]
    instance = graph["outputs"]["database_connection_name"].rsplit(":", 1)[-1]
    database = by_name(graph, f"omni-{stack}-grafana-db")["inputs"]
    user = by_name(graph, f"omni-{stack}-grafana-db-user")["inputs"]
    assert (database["name"], database["instance"]) == ("grafana", instance)
    assert (user["name"], user["type"], user["instance"]) == ("grafana", "BUILT_IN", instance)
    env = grafana_env(grafana_service(graph, stack))
    assert env["GF_DATABASE_HOST"] == f"{graph['outputs']['database_private_ip']}:5432"
    # TLS verified against the instance's own CA, which the program puts in Grafana's bucket.
    assert env["GF_DATABASE_SSL_MODE"] == "verify-ca"
    ca = by_name(graph, f"omni-{stack}-grafana-database-server-ca")["inputs"]
    assert env["GF_DATABASE_CA_CERT_PATH"] == f"/etc/grafana/omni/{ca['name']}"
    # The provider keeps an object's content secret; its digest is the primary's CA, as the app gets it.
    app_env = {
        e["name"]: e.get("value")
        for e in by_name(graph, f"omni-{stack}-api-service")["inputs"]["template"]["containers"][0]["envs"]
    }
    primary_ca = app_env["DATABASE_CA_CERTS"].split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    assert ca["metadata"]["sha256"] == hashlib.sha256(primary_ca.encode()).hexdigest()
    instance = next(
        r
        for r in graph["resources"]
        if r["type"] == "gcp:sql/databaseInstance:DatabaseInstance" and not r["inputs"].get("masterInstanceName")
    )
    assert instance["inputs"]["settings"]["ipConfiguration"]["serverCaMode"] == "GOOGLE_MANAGED_INTERNAL_CA"
    assert env["GF_DATABASE_PASSWORD"] == {
        "secretKeyRef": {"secret": f"omni-{stack}-grafana-secret-db-password", "version": "latest"}
    }
    assert env["GF_DATABASE_MAX_OPEN_CONN"] == str(GrafanaConfig().db_pool_size)


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_runs_a_pinned_release_through_the_docker_hub_mirror(applied, stack):
    graph = applied[stack]
    mirror = by_name(graph, f"omni-{stack}-grafana-dockerhub")["inputs"]
    assert mirror["mode"] == "REMOTE_REPOSITORY"
    assert mirror["remoteRepositoryConfig"]["dockerRepository"]["publicRepository"] == "DOCKER_HUB"
    image = containers(grafana_service(graph, stack))["grafana"]["image"]
    assert (
        image == f"europe-west1-docker.pkg.dev/{PROJECTS[stack]}/omni-{stack}-grafana-dockerhub"
        f"/grafana/grafana:{GrafanaConfig().version}"
    )


def test_grafana_is_protected_where_data_is(graphs):
    for stack, protected in (("prod", True), ("staging", True), ("dev", False)):
        graph = graphs[stack]
        assert by_name(graph, f"omni-{stack}-grafana-db")["protect"] is protected
        assert grafana_service(graph, stack)["inputs"]["deletionProtection"] is protected


def test_grafana_off_declares_none_of_it(project_copy):
    edit_stack_file(project_copy, "prod", "      grafana: grafana.omni.example\n", "")  # no host without Grafana
    graph = with_grafana(project_copy, "prod", "    enabled: false")
    assert resources(graph, "omni:grafana:Grafana") == []
    assert not [r for r in graph["resources"] if "grafana" in r["name"]]
    assert "grafana_url" not in graph["outputs"]


# --- configuration -----------------------------------------------------------------------------


def test_grafana_defaults():
    settings = GrafanaConfig()
    assert settings.enabled is True
    assert settings.access_group is None
    assert settings.min_instances == 0
    assert settings.max_instances == 2


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"version": "latest"}, "should match pattern"),
        ({"access_group": "not-an-email"}, "should match pattern"),
        ({"min_instances": 3, "max_instances": 2}, "above grafana.maxInstances"),
        ({"memory": "8Gi"}, "grafana.memory 8Gi"),
        # Grafana keeps 750m of its instance's vCPU: below one vCPU, Cloud Run gives at most 1Gi.
        ({"memory": "2Gi"}, "grafana.memory 2Gi: Grafana shares its instance's one vCPU with the query frontend"),
    ],
)
def test_bad_grafana_settings_are_refused(settings, problem):
    with pytest.raises(ValueError, match=problem):
        GrafanaConfig(**settings)


def test_grafana_connections_count_in_the_budget():
    # dev's tier allows 100 connections; the API and workers take 74 of them with the reserve.
    base = {
        "project": "omni-api-dev",
        "environment": "dev",
        "protect": False,
        "api": {"maxInstances": 2},
        "workers": {"instances": 1, "concurrency": 2},
        "database": {"tier": "db-custom-1-3840", "availability": "ZONAL", "retainedBackups": 7, "logRetentionDays": 1},
    }
    StackConfig.model_validate({**base, "grafana": {"maxInstances": 2, "dbPoolSize": 4}})
    with pytest.raises(ValueError, match="does not fit Grafana"):
        StackConfig.model_validate({**base, "grafana": {"maxInstances": 10, "dbPoolSize": 4}})
    StackConfig.model_validate({**base, "grafana": {"enabled": False, "maxInstances": 10, "dbPoolSize": 4}})


def test_a_changed_dashboard_shows_in_the_diff_as_that_one_file(graphs, project, monkeypatch):
    rendered = render_dashboards("prod", ROOT)
    changed = sorted(rendered)[0]

    render_for = dashboards.render.render_for

    def with_one_dashboard_edited(facts):
        edited = render_for(facts)
        board = json.loads(edited[changed])
        board["title"] = f"{board['title']} (edited)"
        edited[changed] = json.dumps(board, sort_keys=True, indent=2) + "\n"
        return edited

    # The program renders from the config it already holds (render_for), not the stack file.
    monkeypatch.setattr(dashboards.render, "render_for", with_one_dashboard_edited)
    report = compute_diff(graphs["prod"], run_stack(project, "prod").to_json())
    touched = [d for d in report.resources if d.kind is not ChangeKind.SAME]
    # The object's metadata (the digest) is ForceNew in the provider's schema: a new object,
    # created after the old one is deleted (delete_before_replace).
    assert [(d.name, d.kind) for d in touched] == [
        (f"omni-prod-grafana-dashboards-{changed.removesuffix('.json')}", ChangeKind.REPLACE)
    ]
    assert [c.path for c in touched[0].changes] == [f"metadata.{CONTENT_DIGEST_KEY}"]
