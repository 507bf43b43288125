"""The developer portal: its Cloud Run service behind the edge on its own host with its own Cloud
Armor policy and an account that holds nothing, the API reference under `/reference/` from a
CDN-backed bucket, an OpenAPI document a real validator accepts that covers the documented routes,
a reference page axe finds no violation in, and bad `portal.*` values refused naming the key."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from apireference import SPEC_PATH, ApiReferenceError, load_spec, reference_files
from components.portal import IDENTITY_KEY_ENV
from loadtest.config import ROUTES
from offline.engine import new_monitor, run_stack
from offline.graph import STACK_TYPE
from offline.stackfile import read_stack_file
from policy.rules import RULES_BY_NAME, check_graph, evaluate, graph_resources
from stackconfig import StackConfigError
from stackconfig.armor import PORTAL_THROTTLE_PRIORITY, portal_rules
from stackconfig.edge import ArmorSettings
from statuspage.model import PUBLIC_COMPONENTS

from .browser_page import check_page, needs_browser, served
from .conftest import edit_stack_file

CLOUD_RUN = "gcp:cloudrunv2/service:Service"
INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_GRANT = "gcp:projects/iAMMember:IAMMember"
SECRET_GRANT = "gcp:secretmanager/secretIamMember:SecretIamMember"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_GRANT = "gcp:storage/bucketIAMMember:BucketIAMMember"
OBJECT = "gcp:storage/bucketObject:BucketObject"
BACKEND_BUCKET = "gcp:compute/backendBucket:BackendBucket"
BACKEND_SERVICE = "gcp:compute/backendService:BackendService"
SECURITY_POLICY = "gcp:compute/securityPolicy:SecurityPolicy"
URL_MAP = "gcp:compute/uRLMap:URLMap"
MAP_ENTRY = "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry"
PORTAL_HOST = {"prod": "portal.omni.example", "staging": "portal.staging.omni.example"}
API_HOST = {"prod": "api.omni.example", "staging": "api.staging.omni.example"}


def of_type(graph: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [r for r in graph["resources"] if r["type"] == rtype]


def named(graph: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [r for r in graph["resources"] if r["name"] == name]
    return found


def envs(service: dict[str, Any]) -> dict[str, Any]:
    return {
        e["name"]: e.get("value", e.get("valueSource")) for e in service["inputs"]["template"]["containers"][0]["envs"]
    }


# --- the service ------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_behind_the_edge_the_portal_takes_traffic_only_through_the_load_balancer(
    graphs: dict[str, dict[str, Any]], stack: str
) -> None:
    service = named(graphs[stack], f"omni-{stack}-portal-service")

    assert service["inputs"]["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert service["inputs"]["defaultUriDisabled"] is True
    assert graphs[stack]["outputs"]["portal_url"] == f"https://{PORTAL_HOST[stack]}/"


def test_prod_portal_is_sized_for_production(graphs: dict[str, dict[str, Any]]) -> None:
    service = named(graphs["prod"], "omni-prod-portal-service")
    template = service["inputs"]["template"]
    [container] = template["containers"]

    assert template["scaling"]["minInstanceCount"] == 1
    assert service["inputs"]["scaling"]["maxInstanceCount"] == 10
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    assert container["ports"] == {"containerPort": 8080}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert service["inputs"]["deletionProtection"] is True
    # Its calls leave through the stack's VPC and NAT, like every workload's.
    assert template["vpcAccess"]["egress"] == "ALL_TRAFFIC"
    # No release yet: Google's placeholder container, as the API before its first push.
    assert container["image"] == "us-docker.pkg.dev/cloudrun/container/hello"


def test_dev_scales_the_portal_to_zero_on_its_run_app_url(graphs: dict[str, dict[str, Any]]) -> None:
    dev = graphs["dev"]
    service = named(dev, "omni-dev-portal-service")

    assert service["inputs"]["template"]["scaling"]["minInstanceCount"] == 0
    assert service["inputs"]["ingress"] == "INGRESS_TRAFFIC_ALL"
    assert "defaultUriDisabled" not in service["inputs"]
    assert "PORTAL_PUBLIC_URL" not in envs(service)
    assert not [r for r in dev["resources"] if "omni:edge:Edge$" in r["urn"]]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_portal_is_given_the_api_and_reference_addresses_and_no_secret(
    graphs: dict[str, dict[str, Any]], stack: str
) -> None:
    env = envs(named(graphs[stack], f"omni-{stack}-portal-service"))

    assert env == {
        "OMNI_ENV": stack,
        "PORTAL_RELEASE": "placeholder",
        "OMNI_API_URL": f"https://{API_HOST[stack]}",
        "API_REFERENCE_URL": f"https://{PORTAL_HOST[stack]}/reference/",
        "PORTAL_PUBLIC_URL": f"https://{PORTAL_HOST[stack]}/",
        "IDENTITY_PLATFORM_PROJECT": f"omni-api-{stack}",
    }


def test_the_portal_runs_as_its_own_account_with_no_project_role_and_no_secret(
    applied: dict[str, dict[str, Any]],
) -> None:
    prod = applied["prod"]
    account = named(prod, "omni-prod-portal-account")
    service = named(prod, "omni-prod-portal-service")
    email = "omni-prod-portal@omni-api-prod.iam.gserviceaccount.com"

    assert account["inputs"]["accountId"] == "omni-prod-portal"
    assert service["inputs"]["template"]["serviceAccount"] == email
    assert account["urn"] in service["propertyDependencies"]["template"]
    # No grant to the portal anywhere: no project role, no secret, no bucket, no dataset.
    assert [r["name"] for r in prod["resources"] if email in json.dumps(r["inputs"].get("member", ""))] == []
    # The deployer may deploy it (actAs on this account alone).
    assert named(prod, "omni-prod-deployer-acts-as-portal")["inputs"]["role"] == "roles/iam.serviceAccountUser"


def test_a_release_digest_pins_the_image_from_the_stacks_registry(project_copy) -> None:
    digest = "sha256:" + "ab" * 32
    edit_stack_file(
        project_copy,
        "prod",
        "  omni-infra:edge:\n",
        f"  omni-infra:portal:\n    release: {digest}\n  omni-infra:edge:\n",
    )
    graph = run_stack(project_copy, "prod", preview=False).to_json()
    [container] = named(graph, "omni-prod-portal-service")["inputs"]["template"]["containers"]

    assert container["image"] == f"europe-west1-docker.pkg.dev/omni-api-prod/omni-prod/omni-portal@{digest}"
    assert envs(named(graph, "omni-prod-portal-service"))["PORTAL_RELEASE"] == digest


def test_identity_platforms_key_comes_from_its_secret_which_the_portal_alone_may_read(project_copy) -> None:
    edit_stack_file(
        project_copy,
        "prod",
        "  omni-infra:edge:\n",
        "  omni-infra:portal:\n    identity:\n      apiKeySecret: identity-web-api-key\n      tenantId: omni-team-x1\n"
        "  omni-infra:edge:\n",
    )
    graph = run_stack(project_copy, "prod", preview=False).to_json()
    service = named(graph, "omni-prod-portal-service")
    [grant] = [g for g in of_type(graph, SECRET_GRANT) if g["inputs"]["secretId"] == "identity-web-api-key"]
    account = named(graph, "omni-prod-portal-account")

    assert envs(service)[IDENTITY_KEY_ENV] == {"secretKeyRef": {"secret": "identity-web-api-key", "version": "latest"}}
    assert envs(service)["IDENTITY_PLATFORM_TENANT_ID"] == "omni-team-x1"
    assert grant["inputs"]["role"] == "roles/secretmanager.secretAccessor"
    assert grant["propertyDependencies"]["member"] == [account["urn"]]
    assert grant["urn"] in service["dependencies"]


# --- behind the edge --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_portals_host_has_its_certificate_backend_and_cloud_armor(
    applied: dict[str, dict[str, Any]], stack: str
) -> None:
    graph = applied[stack]
    base = f"omni-{stack}"
    backend = named(graph, f"{base}-edge-portal-backend")
    policy = named(graph, f"{base}-edge-portal-armor")
    neg = named(graph, f"{base}-edge-portal-neg")
    urls = named(graph, f"{base}-edge-urls")

    assert neg["inputs"]["cloudRun"]["service"] == f"{base}-portal"
    assert backend["propertyDependencies"]["securityPolicy"] == [policy["urn"]]
    assert policy["inputs"]["type"] == "CLOUD_ARMOR"
    assert {"hosts": [PORTAL_HOST[stack]], "pathMatcher": "portal"} in urls["inputs"]["hostRules"]
    assert PORTAL_HOST[stack] in {e["inputs"]["hostname"] for e in of_type(graph, MAP_ENTRY)}


def test_the_portals_policy_is_the_waf_the_denylist_and_a_per_ip_throttle() -> None:
    settings = ArmorSettings.model_validate(
        {"blockedIpRanges": ["203.0.113.0/24"], "perIpPortal": {"count": 120, "intervalSec": 60}}
    )
    rules = portal_rules(settings)
    throttle = next(r for r in rules if r.priority == PORTAL_THROTTLE_PRIORITY)

    assert [r.priority for r in rules] == sorted(r.priority for r in rules)
    assert rules[0].src_ip_ranges == ("203.0.113.0/24",)
    assert rules[0].action == "deny(403)"
    assert {r.expression for r in rules if r.expression} == {
        f"evaluatePreconfiguredWaf('{s}-v33-stable', {{'sensitivity': 1}})"
        for s in ("sqli", "xss", "lfi", "rce", "scannerdetection", "protocolattack")
    }
    block = throttle.to_args()
    assert block["rate_limit_options"]["enforce_on_key"] == "IP"
    assert block["rate_limit_options"]["rate_limit_threshold"] == {"count": 120, "interval_sec": 60}
    assert block["match"] == {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}}


def test_staging_previews_the_portals_rules_and_prod_enforces_them(graphs: dict[str, dict[str, Any]]) -> None:
    staging = named(graphs["staging"], "omni-staging-edge-portal-armor")["inputs"]["rules"]
    prod = named(graphs["prod"], "omni-prod-edge-portal-armor")["inputs"]["rules"]

    assert all(rule["preview"] for rule in staging if rule["priority"] != 2147483647)
    assert not any(rule["preview"] for rule in prod)


def test_the_reference_is_served_under_reference_on_the_portals_host_through_the_cdn(
    applied: dict[str, dict[str, Any]],
) -> None:
    prod = applied["prod"]
    urls = named(prod, "omni-prod-edge-urls")
    bucket_backend = named(prod, "omni-prod-edge-reference-backend")
    [matcher] = [m for m in urls["inputs"]["pathMatchers"] if m["name"] == "portal"]

    # The mock runtime resolves a resource's id to its name.
    assert matcher["defaultService"] == "omni-prod-edge-portal-backend"
    assert matcher["pathRules"][0] == {"paths": ["/reference/*"], "service": bucket_backend["name"]}
    assert matcher["pathRules"][1]["urlRedirect"]["pathRedirect"] == "/reference/"
    assert bucket_backend["inputs"]["bucketName"] == "omni-api-prod-reference"
    assert bucket_backend["inputs"]["enableCdn"] is True
    assert bucket_backend["propertyDependencies"]["edgeSecurityPolicy"] == [
        named(prod, "omni-prod-edge-cdn-armor")["urn"]
    ]
    assert prod["outputs"]["api_reference_url"] == "https://portal.omni.example/reference/"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_reference_bucket_is_public_by_name_and_holds_the_page_and_the_document(
    graphs: dict[str, dict[str, Any]], stack: str
) -> None:
    graph = graphs[stack]
    bucket = named(graph, f"omni-{stack}-reference-site")
    public = named(graph, f"omni-{stack}-reference-site-public")
    found = [o for o in of_type(graph, OBJECT) if "-reference-" in o["name"]]
    objects = {o["inputs"]["name"]: o["inputs"] for o in found}

    assert bucket["inputs"]["uniformBucketLevelAccess"] is True
    assert bucket["inputs"]["website"] == {"mainPageSuffix": "index.html"}
    assert public["inputs"]["role"] == "roles/storage.legacyObjectReader"  # get by name, never list
    assert {name: (o["contentType"], o["cacheControl"]) for name, o in objects.items()} == {
        "reference/index.html": ("text/html; charset=utf-8", "public, max-age=300"),
        "reference/openapi.json": ("application/json", "public, max-age=300"),
    }
    # A replaced object keeps its name: the old one goes first, or its delete would remove the new file.
    assert all(o["deleteBeforeReplace"] is True for o in found)
    if stack == "dev":
        assert graph["outputs"]["api_reference_url"] == (
            "https://storage.googleapis.com/omni-api-dev-reference/reference/index.html"
        )


# --- policy -----------------------------------------------------------------------------------


def test_the_policy_pack_refuses_a_prod_portal_open_to_the_internet(graphs: dict[str, dict[str, Any]]) -> None:
    graph = copy.deepcopy(graphs["prod"])
    named(graph, "omni-prod-portal-service")["inputs"]["ingress"] = "INGRESS_TRAFFIC_ALL"

    report = check_graph(graph)

    assert [(v.policy, v.name) for v in report.mandatory] == [
        ("prod-cloud-run-ingress-behind-load-balancer", "omni-prod-portal-service")
    ]


def test_only_the_named_portal_grants_may_be_public(graphs: dict[str, dict[str, Any]]) -> None:
    resources = {r.name: r for r in graph_resources(graphs["prod"])}
    rule = RULES_BY_NAME["public-grants-allowlisted"]

    assert evaluate(resources["omni-prod-portal-public-invoker"], [rule]) == []
    assert evaluate(resources["omni-prod-reference-site-public"], [rule]) == []
    renamed = dataclasses.replace(resources["omni-prod-reference-site-public"], name="omni-prod-reference-other")
    assert evaluate(renamed, [rule])


# --- bad config -------------------------------------------------------------------------------


def failing_run(project, stack: str = "prod") -> tuple[str, list]:
    values, _ = read_stack_file(project.stack_file(stack))
    monitor = new_monitor(values)
    with pytest.raises(StackConfigError) as caught:
        run_stack(project, stack, monitor=monitor)
    return str(caught.value), [r for r in monitor.recorded if r.type != STACK_TYPE]


EDGE_LINE = "  omni-infra:edge:\n"
BAD_PORTAL_VALUES = [
    # (stack, old text, new text, key named, words that must appear)
    (
        "prod",
        EDGE_LINE,
        "  omni-infra:portal:\n    minInstances: 5\n    maxInstances: 2\n" + EDGE_LINE,
        "omni-infra:portal.minInstances, omni-infra:portal.maxInstances",
        ["minInstances 5 is above maxInstances 2"],
    ),
    (
        "prod",
        EDGE_LINE,
        "  omni-infra:portal:\n    release: latest\n" + EDGE_LINE,
        "omni-infra:portal.release",
        ["moves between images"],
    ),
    (
        "prod",
        EDGE_LINE,
        "  omni-infra:portal:\n    cpu: '1'\n    memory: 8Gi\n" + EDGE_LINE,
        "omni-infra:portal.cpu, omni-infra:portal.memory",
        ["Cloud Run takes 512Mi to 4Gi for 1 vCPU"],
    ),
    (
        "prod",
        EDGE_LINE,
        "  omni-infra:portal:\n    identity:\n      apiKeySecret: projects/p/secrets/x\n" + EDGE_LINE,
        "omni-infra:portal.identity.apiKeySecret",
        ["not a Secret Manager secret id"],
    ),
    (
        "prod",
        EDGE_LINE,
        "  omni-infra:portal:\n    referenceBucket: docs.omni.example\n" + EDGE_LINE,
        "omni-infra:portal.referenceBucket",
        ["verified domain"],
    ),
    (
        "prod",
        EDGE_LINE,
        "  omni-infra:portal:\n    enabled: false\n" + EDGE_LINE,
        "omni-infra:edge.hosts.portal, omni-infra:portal.enabled",
        ["remove the host or turn the portal on"],
    ),
    (
        "prod",
        "      portal: portal.omni.example\n",
        "",
        "omni-infra:edge.hosts.portal, omni-infra:portal.enabled",
        ["has no host", "portal.enabled false"],
    ),
    (
        "prod",
        "      portal: portal.omni.example\n",
        "      portal: https://portal.omni.example\n",
        "omni-infra:edge.hosts.portal",
        ["not a fully qualified domain name"],
    ),
    (
        "prod",
        "      portal: portal.omni.example\n",
        "      portal: status.omni.example\n",
        "omni-infra:edge.hosts",
        ["host of both"],
    ),
    (
        "prod",
        EDGE_LINE,
        "  omni-infra:portal:\n    concurrency: 0\n" + EDGE_LINE,
        "omni-infra:portal.concurrency",
        ["greater than or equal to 1"],
    ),
]


@pytest.mark.parametrize(
    ("stack", "old", "new", "key", "words"),
    BAD_PORTAL_VALUES,
    ids=[f"{case[3]}-{i}" for i, case in enumerate(BAD_PORTAL_VALUES)],
)
def test_a_bad_portal_value_is_refused_before_any_resource_naming_the_key(
    project_copy, stack, old, new, key, words
) -> None:
    edit_stack_file(project_copy, stack, old, new)
    message, declared = failing_run(project_copy, stack)

    assert f"  {key}: found " in message, message
    for word in words:
        assert word in message, f"{word!r} missing from:\n{message}"
    assert "no resource was declared" in message
    assert declared == []


def test_dev_may_turn_the_portal_off(project_copy) -> None:
    edit_stack_file(project_copy, "dev", "    minInstances: 0  #", "    enabled: false\n    minInstances: 0  #")
    graph = run_stack(project_copy, "dev").to_json()

    assert not [r for r in graph["resources"] if "portal" in r["name"] or "-reference" in r["name"]]
    assert "portal_url" not in graph["outputs"]


# --- the OpenAPI document ---------------------------------------------------------------------


def test_the_openapi_document_is_valid_openapi() -> None:
    validate(yaml.safe_load(SPEC_PATH.read_text()))


def test_the_published_document_is_valid_and_names_the_stacks_api() -> None:
    files = reference_files(load_spec(), "https://api.omni.example/")
    published = json.loads(files["openapi.json"][0])

    validate(published)
    assert published["servers"] == [{"url": "https://api.omni.example", "description": "This environment's API"}]
    assert 'data-server="https://api.omni.example"' in files["index.html"][0]


def test_the_validator_is_real_it_refuses_a_broken_document() -> None:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    del spec["paths"]["/v1/items"]["post"]["responses"]
    spec["paths"]["/v1/items/{id}"]["get"]["parameters"][0] = {"name": "id", "in": "path"}

    with pytest.raises(OpenAPIValidationError):
        validate(spec)


def test_every_route_of_the_documented_contract_is_in_the_document() -> None:
    """docs/loadtest.md's routes (loadtest/config.py) and the status page's component checks."""
    paths = load_spec()["paths"]

    for route in ROUTES:
        path = route.path.split("?", 1)[0]
        assert path in paths, f"{route.method} {path} is missing"
        operation = paths[path][route.method.lower()]
        assert str(route.expect) in operation["responses"], f"{route.method} {path} lacks its {route.expect}"
    for component in PUBLIC_COMPONENTS:
        assert "get" in paths[component.check_path], component.check_path
    assert load_spec()["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The tenant's API key. An unknown key is refused with 401.",
    }


def test_a_malformed_document_stops_the_run_naming_the_file_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "openapi.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /v1/items: {}\n")

    with pytest.raises(ApiReferenceError, match=r"openapi\.yaml: paths\./v1/items: no operation"):
        load_spec(broken)
    broken.write_text("openapi: 2.0\ninfo: {}\npaths: {}\n")
    with pytest.raises(ApiReferenceError, match="openapi: expected an OpenAPI 3 version"):
        load_spec(broken)


# --- the reference page in a real browser -----------------------------------------------------

browser = needs_browser


@pytest.fixture(scope="module")
def reference_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("reference")
    (site / "reference").mkdir()
    for name, (content, _) in reference_files(load_spec(), "https://api.omni.example").items():
        (site / "reference" / name).write_text(content, encoding="utf-8")
    with served(site) as root:
        yield f"{root}reference/index.html"


@pytest.fixture(scope="module")
def browser_run(reference_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return check_page(reference_url, tmp_path_factory.mktemp("screenshots"))


@browser
def test_axe_finds_no_violation_on_the_reference_page_in_light_or_dark_mode(browser_run) -> None:
    assert browser_run["violations"] == {"light": [], "dark": []}


@browser
def test_the_reference_page_loads_nothing_from_elsewhere(browser_run) -> None:
    assert browser_run["requests"]
    assert all(url.startswith("http://127.0.0.1:") for url in browser_run["requests"]), browser_run["requests"]


@browser
def test_the_reference_page_does_not_scroll_sideways_on_a_phone(browser_run) -> None:
    phone = Path(browser_run["screenshots"][0])
    assert int.from_bytes(phone.read_bytes()[16:20], "big") == 390
