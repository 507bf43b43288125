"""The edge: prod and staging serve every public host through one HTTPS load balancer with
Cloud Armor and CDN, dev turns it off, bad `edge.*` values stop the run, Cloud Armor's rules are
CEL a real parser accepts, and a replacement that interrupts traffic is flagged."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import celpy
import pytest
from lark import Token, Tree

from components.deploy_identity import (
    DEPLOYER_CUSTOM_ROLES,
    DEPLOYER_ROLES,
    LOG_METRICS_ROLE,
    CustomRole,
    service_roles,
)
from components.edge import API_BACKEND, EdgeArgs, check_routes
from offline import replacements
from offline.diff import ChangeKind, DangerKind, Severity, compute_diff, danger_headline
from offline.engine import new_monitor, run_stack
from offline.graph import STACK_TYPE
from offline.stackfile import read_stack_file
from stackconfig import StackConfigError
from stackconfig.armor import (
    API_KEY_THROTTLE_PRIORITY,
    DEFAULT_RULE_PRIORITY,
    KEYLESS_THROTTLE_PRIORITY,
    api_rules,
    denylist_rules,
)
from stackconfig.edge import (
    ARMOR_RULE_NAMES,
    PORTAL_THROTTLE_RULE,
    WAF_RULE_SETS,
    ArmorSettings,
    EdgeSettings,
    check_fqdn,
)

from .conftest import edit_stack_file

NEG = "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup"
BACKEND_SERVICE = "gcp:compute/backendService:BackendService"
BACKEND_BUCKET = "gcp:compute/backendBucket:BackendBucket"
URL_MAP = "gcp:compute/uRLMap:URLMap"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
FORWARDING_RULE = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
SECURITY_POLICY = "gcp:compute/securityPolicy:SecurityPolicy"
GLOBAL_ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
CERTIFICATE = "gcp:certificatemanager/certificate:Certificate"
DNS_AUTHORIZATION = "gcp:certificatemanager/dnsAuthorization:DnsAuthorization"
CERTIFICATE_MAP = "gcp:certificatemanager/certificateMap:CertificateMap"
MAP_ENTRY = "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry"
LOG_METRIC = "gcp:logging/metric:Metric"
CLOUD_RUN = "gcp:cloudrunv2/service:Service"
UPTIME_CHECK = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig"
EDGE_TYPES = {
    NEG,
    BACKEND_SERVICE,
    BACKEND_BUCKET,
    URL_MAP,
    HTTPS_PROXY,
    HTTP_PROXY,
    FORWARDING_RULE,
    SSL_POLICY,
    SECURITY_POLICY,
    CERTIFICATE,
    DNS_AUTHORIZATION,
    CERTIFICATE_MAP,
    MAP_ENTRY,
    LOG_METRIC,
}
HOSTS = {
    "prod": {
        "api": "api.omni.example",
        "grafana": "grafana.omni.example",
        "status": "status.omni.example",
        "portal": "portal.omni.example",
    },
    "staging": {
        "api": "api.staging.omni.example",
        "grafana": "grafana.staging.omni.example",
        "status": "status.staging.omni.example",
        "portal": "portal.staging.omni.example",
    },
}
SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"
CEL = celpy.Environment()


def of_type(graph: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [r for r in graph["resources"] if r["type"] == rtype]


def edge_resources(graph: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in graph["resources"] if "omni:edge:Edge$" in r["urn"]]


def one(graph: dict[str, Any], rtype: str, name_end: str = "") -> dict[str, Any]:
    [found] = [r for r in of_type(graph, rtype) if r["name"].endswith(name_end)]
    return found


def api_policy(graph: dict[str, Any]) -> dict[str, Any]:
    [policy] = [r for r in of_type(graph, SECURITY_POLICY) if r["name"].endswith("-edge-armor")]
    return policy


def rules_by_priority(policy: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {rule["priority"]: rule for rule in policy["inputs"]["rules"]}


# --- what each stack declares ---------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_prod_and_staging_declare_the_whole_edge(graphs: dict[str, dict[str, Any]], stack: str) -> None:
    graph = graphs[stack]
    declared = {r["type"] for r in edge_resources(graph)}

    assert EDGE_TYPES | {GLOBAL_ADDRESS} <= declared
    # One certificate, DNS authorization and map entry per host; a NEG and backend per service.
    assert sorted(r["inputs"]["domain"] for r in of_type(graph, DNS_AUTHORIZATION)) == sorted(HOSTS[stack].values())
    assert sorted(r["inputs"]["managed"]["domains"][0] for r in of_type(graph, CERTIFICATE)) == sorted(
        HOSTS[stack].values()
    )
    assert sorted(r["inputs"]["hostname"] for r in of_type(graph, MAP_ENTRY)) == sorted(HOSTS[stack].values())
    assert len(of_type(graph, NEG)) == 3
    assert len(of_type(graph, BACKEND_SERVICE)) == 3
    # The status page on its host, the API reference under the portal's.
    assert len(of_type(graph, BACKEND_BUCKET)) == 2


def test_dev_turns_the_edge_off_and_keeps_its_run_app_url(graphs: dict[str, dict[str, Any]]) -> None:
    dev = graphs["dev"]
    api = one(dev, CLOUD_RUN, "-api-service")

    assert edge_resources(dev) == []
    # Other components declare log-based metrics too (Identity Platform's): none of the edge's here.
    assert not ({r["type"] for r in dev["resources"]} & (EDGE_TYPES - {LOG_METRIC}))
    assert not [r for r in of_type(dev, LOG_METRIC) if r["inputs"]["name"].startswith("edge_")]
    assert api["inputs"]["ingress"] == "INGRESS_TRAFFIC_ALL"
    assert "defaultUriDisabled" not in api["inputs"]
    assert "edge_ip_address" not in dev["outputs"]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_bypass_the_api_takes_traffic_only_through_the_load_balancer(
    graphs: dict[str, dict[str, Any]], stack: str
) -> None:
    api = one(graphs[stack], CLOUD_RUN, "-api-service")
    grafana = one(graphs[stack], CLOUD_RUN, "-grafana-service")

    assert api["inputs"]["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert api["inputs"]["defaultUriDisabled"] is True
    # Grafana: the load balancer only, and IAP still on the service itself.
    assert grafana["inputs"]["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert grafana["inputs"]["iapEnabled"] is True
    grafana_env = {e["name"]: e.get("value") for e in grafana["inputs"]["template"]["containers"][0]["envs"]}
    assert grafana_env["GF_SERVER_ROOT_URL"] == f"https://{HOSTS[stack]['grafana']}"


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_uptime_checks_and_the_status_page_go_through_the_custom_domains(
    graphs: dict[str, dict[str, Any]], stack: str
) -> None:
    graph = graphs[stack]
    checks = of_type(graph, UPTIME_CHECK)

    assert checks
    assert {c["inputs"]["monitoredResource"]["labels"]["host"] for c in checks} == {HOSTS[stack]["api"]}
    assert all(c["inputs"]["httpCheck"]["validateSsl"] is True for c in checks)
    assert graph["outputs"]["status_page_url"] == f"https://{HOSTS[stack]['status']}/index.html"
    assert graph["outputs"]["edge_urls"] == {backend: f"https://{host}/" for backend, host in HOSTS[stack].items()}


def test_negs_are_named_by_pulumi_and_serverless_backends_have_no_health_check(
    graphs: dict[str, dict[str, Any]],
) -> None:
    prod = graphs["prod"]

    for neg in of_type(prod, NEG):
        assert "name" not in neg["inputs"], "a named NEG cannot be replaced while its backend service uses it"
        assert neg["inputs"]["networkEndpointType"] == "SERVERLESS"
        assert neg["inputs"]["region"] == "europe-west1"
    assert {neg["inputs"]["cloudRun"]["service"] for neg in of_type(prod, NEG)} == {
        "omni-prod-api",
        "omni-prod-grafana",
        "omni-prod-portal",
    }
    for backend in of_type(prod, BACKEND_SERVICE):
        assert "healthChecks" not in backend["inputs"]
        assert backend["inputs"]["loadBalancingScheme"] == "EXTERNAL_MANAGED"
    # Nothing in the edge sets its own name: every replacement can be created before the old one goes.
    assert [r["name"] for r in edge_resources(prod) if "name" in r["inputs"] and r["type"] != LOG_METRIC] == []


def test_the_api_and_the_portal_carry_their_own_cloud_armor_and_grafana_keeps_iap(
    graphs: dict[str, dict[str, Any]],
) -> None:
    prod = graphs["prod"]
    policy_urn = api_policy(prod)["urn"]
    portal_policy_urn = one(prod, SECURITY_POLICY, "-edge-portal-armor")["urn"]
    backends = {r["name"]: r for r in of_type(prod, BACKEND_SERVICE)}

    assert policy_urn in backends["omni-prod-edge-api-backend"]["propertyDependencies"]["securityPolicy"]
    assert backends["omni-prod-edge-portal-backend"]["propertyDependencies"]["securityPolicy"] == [portal_policy_urn]
    assert "securityPolicy" not in backends["omni-prod-edge-grafana-backend"]["inputs"]
    assert backends["omni-prod-edge-api-backend"]["inputs"]["logConfig"] == {"enable": True, "sampleRate": 1}


def test_the_url_map_routes_each_host_to_its_backend_and_port_80_only_redirects(
    graphs: dict[str, dict[str, Any]],
) -> None:
    prod = graphs["prod"]
    urls = one(prod, URL_MAP, "-edge-urls")
    redirect = one(prod, URL_MAP, "-https-redirect")

    host_rules = {rule["hosts"][0]: rule["pathMatcher"] for rule in urls["inputs"]["hostRules"]}
    assert host_rules == {host: backend for backend, host in HOSTS["prod"].items()}
    assert {m["name"] for m in urls["inputs"]["pathMatchers"]} == set(HOSTS["prod"])
    assert redirect["inputs"]["defaultUrlRedirect"] == {
        "httpsRedirect": True,
        "redirectResponseCode": "MOVED_PERMANENTLY_DEFAULT",
        "stripQuery": False,
    }
    assert "defaultService" not in redirect["inputs"]
    http_proxy = one(prod, HTTP_PROXY)
    assert redirect["urn"] in http_proxy["propertyDependencies"]["urlMap"]


def test_https_on_443_and_http_on_80_share_one_static_address_with_modern_tls(
    graphs: dict[str, dict[str, Any]],
) -> None:
    prod = graphs["prod"]
    address = one(prod, GLOBAL_ADDRESS, "-edge-ip")
    rules = {r["inputs"]["portRange"]: r for r in of_type(prod, FORWARDING_RULE)}
    https_proxy = one(prod, HTTPS_PROXY)

    assert address["inputs"]["addressType"] == "EXTERNAL"
    assert address["inputs"]["ipVersion"] == "IPV4"
    assert set(rules) == {"443", "80"}
    for rule in rules.values():
        assert rule["inputs"]["loadBalancingScheme"] == "EXTERNAL_MANAGED"
        assert address["urn"] in rule["propertyDependencies"]["ipAddress"]
    assert https_proxy["urn"] in rules["443"]["propertyDependencies"]["target"]
    assert one(prod, SSL_POLICY)["inputs"] == {
        "description": one(prod, SSL_POLICY)["inputs"]["description"],
        "minTlsVersion": "TLS_1_2",
        "profile": "MODERN",
        "project": "omni-api-prod",
    }
    assert one(prod, CERTIFICATE_MAP)["urn"] in https_proxy["propertyDependencies"]["certificateMap"]


def test_certificates_are_google_managed_with_dns_authorization(applied: dict[str, dict[str, Any]]) -> None:
    prod = applied["prod"]
    authorizations = {r["urn"] for r in of_type(prod, DNS_AUTHORIZATION)}
    proxy = one(prod, HTTPS_PROXY)

    for certificate in of_type(prod, CERTIFICATE):
        managed = certificate["inputs"]["managed"]
        assert len(managed["domains"]) == 1
        assert len(managed["dnsAuthorizations"]) == 1
        assert len(set(certificate["propertyDependencies"]["managed"]) & authorizations) == 1
    # The map's id (`projects/<p>/locations/global/certificateMaps/<name>`) as a full resource URI.
    assert proxy["inputs"]["certificateMap"].startswith("//certificatemanager.googleapis.com/")
    assert one(prod, CERTIFICATE_MAP)["urn"] in proxy["propertyDependencies"]["certificateMap"]


def test_the_status_bucket_is_cached_briefly_behind_an_edge_policy(graphs: dict[str, dict[str, Any]]) -> None:
    prod = graphs["prod"]
    bucket = one(prod, BACKEND_BUCKET, "-edge-status-backend")
    edge_policy = one(prod, SECURITY_POLICY, "-cdn-armor")

    assert bucket["inputs"]["enableCdn"] is True
    assert bucket["inputs"]["cdnPolicy"]["cacheMode"] == "CACHE_ALL_STATIC"
    assert bucket["inputs"]["cdnPolicy"]["defaultTtl"] == 30
    assert bucket["inputs"]["cdnPolicy"]["maxTtl"] == 300
    assert edge_policy["inputs"]["type"] == "CLOUD_ARMOR_EDGE"
    assert edge_policy["urn"] in bucket["propertyDependencies"]["edgeSecurityPolicy"]


# --- Cloud Armor's rules ----------------------------------------------------------------------


def calls(tree: Tree) -> list[tuple[str, list[Any]]]:
    """Every function call of a parsed CEL expression: its name and its literal arguments."""
    found = []
    for node in tree.iter_subtrees_topdown():
        if node.data in ("ident_arg", "member_dot_arg"):
            name = next(str(c) for c in node.children if isinstance(c, Token))
            literals = [str(t) for t in node.scan_values(lambda v: isinstance(v, Token) and v.type != "IDENT")]
            found.append((name, literals))
    return found


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_rule_expression_is_cel_a_real_parser_accepts(graphs: dict[str, dict[str, Any]], stack: str) -> None:
    expressions = [
        rule["match"]["expr"]["expression"]
        for policy in of_type(graphs[stack], SECURITY_POLICY)
        for rule in policy["inputs"]["rules"]
        if "expr" in rule["match"]
    ]

    # The WAF sets in the API's policy and the portal's, and the API's two throttles.
    assert len(expressions) == 2 * len(WAF_RULE_SETS) + 2
    for expression in expressions:
        CEL.compile(expression)  # raises CELParseError on anything Cloud Armor's parser would refuse


def test_the_parser_is_real_it_refuses_broken_expressions() -> None:
    with pytest.raises(celpy.CELParseError):
        CEL.compile("evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1}")
    with pytest.raises(celpy.CELParseError):
        CEL.compile("has(request.headers['x-api-key']) &&")


def test_waf_rules_call_the_stable_v33_rule_sets_at_their_sensitivity(graphs: dict[str, dict[str, Any]]) -> None:
    rules = rules_by_priority(api_policy(graphs["prod"]))
    waf_calls = [
        call
        for rule in rules.values()
        if "expr" in rule["match"]
        for call in calls(CEL.compile(rule["match"]["expr"]["expression"]))
        if call[0] == "evaluatePreconfiguredWaf"
    ]

    assert [(name, args[0]) for name, args in waf_calls] == [
        ("evaluatePreconfiguredWaf", f"'{rule_set}-v33-stable'") for rule_set in WAF_RULE_SETS
    ]
    assert all(args[1:] == ["'sensitivity'", "1"] for _, args in waf_calls)
    assert {rule["action"] for rule in rules.values() if "evaluatePreconfiguredWaf" in str(rule["match"])} == {
        "deny(403)"
    }


def test_sensitivity_from_config_reaches_the_expression() -> None:
    settings = ArmorSettings.model_validate({"waf": {"sqli": 3, "xss": 2}})
    by_name = {rule.name: rule for rule in api_rules(settings)}

    assert calls(CEL.compile(by_name["sqli"].expression or ""))[0][1] == ["'sqli-v33-stable'", "'sensitivity'", "3"]
    assert calls(CEL.compile(by_name["xss"].expression or ""))[0][1] == ["'xss-v33-stable'", "'sensitivity'", "2"]


def test_the_api_key_throttle_counts_per_key_and_keyless_traffic_per_ip(graphs: dict[str, dict[str, Any]]) -> None:
    rules = rules_by_priority(api_policy(graphs["prod"]))
    per_key, keyless = rules[API_KEY_THROTTLE_PRIORITY], rules[KEYLESS_THROTTLE_PRIORITY]

    assert per_key["action"] == keyless["action"] == "throttle"
    assert per_key["rateLimitOptions"]["enforceOnKey"] == "HTTP_HEADER"
    assert per_key["rateLimitOptions"]["enforceOnKeyName"] == "x-api-key"
    assert per_key["rateLimitOptions"]["rateLimitThreshold"] == {"count": 600, "intervalSec": 60}
    assert keyless["rateLimitOptions"]["enforceOnKey"] == "IP"
    assert keyless["rateLimitOptions"]["rateLimitThreshold"] == {"count": 60, "intervalSec": 60}
    assert per_key["rateLimitOptions"]["exceedAction"] == keyless["rateLimitOptions"]["exceedAction"] == "deny(429)"
    assert rules[DEFAULT_RULE_PRIORITY]["action"] == "allow"


@pytest.mark.parametrize(
    ("headers", "throttled_by"),
    [
        ({"x-api-key": "tenant-1"}, API_KEY_THROTTLE_PRIORITY),
        ({"user-agent": "curl"}, KEYLESS_THROTTLE_PRIORITY),
        ({}, KEYLESS_THROTTLE_PRIORITY),
    ],
)
def test_every_request_meets_exactly_one_throttle(
    graphs: dict[str, dict[str, Any]], headers: dict[str, str], throttled_by: int
) -> None:
    """Evaluated by the CEL interpreter: no request escapes both throttles, none is counted twice."""
    rules = rules_by_priority(api_policy(graphs["prod"]))
    request = {"request": celpy.json_to_cel({"headers": headers})}
    matching = [
        priority
        for priority in (API_KEY_THROTTLE_PRIORITY, KEYLESS_THROTTLE_PRIORITY)
        if CEL.program(CEL.compile(rules[priority]["match"]["expr"]["expression"])).evaluate(request)
    ]

    assert matching == [throttled_by]


def test_staging_previews_every_rule_and_prod_enforces_them(graphs: dict[str, dict[str, Any]]) -> None:
    staging = rules_by_priority(api_policy(graphs["staging"]))
    prod = rules_by_priority(api_policy(graphs["prod"]))

    assert {p for p, r in staging.items() if r["preview"]} == set(staging) - {DEFAULT_RULE_PRIORITY}
    assert not any(r["preview"] for r in prod.values())
    assert api_policy(graphs["prod"])["inputs"]["adaptiveProtectionConfig"]["layer7DdosDefenseConfig"]["enable"] is True


def test_rule_priorities_are_unique_and_ordered_denylist_waf_throttles_default() -> None:
    settings = ArmorSettings.model_validate({"blockedIpRanges": [f"203.0.113.{i}/32" for i in range(12)]})
    rules = api_rules(settings)

    assert len({r.priority for r in rules}) == len(rules)
    assert [r.priority for r in rules] == sorted(r.priority for r in rules)
    assert [r.name for r in rules] == [
        "denylist-0",
        "denylist-1",
        *WAF_RULE_SETS,
        "api-key-throttle",
        "keyless-ip-throttle",
        "default",
    ]
    # A basic match takes ten ranges at most.
    assert [len(r.src_ip_ranges) for r in denylist_rules(tuple(settings.blocked_ip_ranges))] == [10, 2]
    # Every name `previewRules` takes is a rule of the API's policy, but the portal's own throttle.
    assert {r.name for r in rules} >= set(ARMOR_RULE_NAMES) - {PORTAL_THROTTLE_RULE}


# --- configuration --------------------------------------------------------------------------


def failing_prod_run(project) -> tuple[StackConfigError, list]:
    values, _ = read_stack_file(project.stack_file("prod"))
    monitor = new_monitor(values)
    with pytest.raises(StackConfigError) as caught:
        run_stack(project, "prod", monitor=monitor)
    return caught.value, [r for r in monitor.recorded if r.type != STACK_TYPE]


BAD_EDGE_VALUES = [
    # (old text, new text, key named, words that must appear)
    (
        "api: api.omni.example",
        "api: https://api.omni.example",
        "omni-infra:edge.hosts.api",
        ["not a fully qualified domain name"],
    ),
    ("api: api.omni.example", "api: localhost", "omni-infra:edge.hosts.api", ["not a fully qualified domain name"]),
    (
        "api: api.omni.example",
        "api: '*.omni.example'",
        "omni-infra:edge.hosts.api",
        ["no scheme, port, path, wildcard"],
    ),
    (
        "status: status.omni.example",
        "status: api.omni.example",
        "omni-infra:edge.hosts",
        ["host of both api and status"],
    ),
    ("      api: api.omni.example\n", "", "omni-infra:edge.hosts", ["needs the API's host", "edge.enabled false"]),
    (
        "status: status.omni.example",
        "status: status.omni.example\n      docs: docs.omni.example",
        "omni-infra:edge.hosts.docs",
        ["unknown key"],
    ),
    (
        "status: status.omni.example",
        "status: status.omni.example\n    armor:\n      perApiKey:\n        count: -5",
        "omni-infra:edge.armor.perApiKey.count",
        ["greater than or equal to 1"],
    ),
    (
        "status: status.omni.example",
        "status: status.omni.example\n    armor:\n      perIpWithoutKey:\n        count: 10\n        intervalSec: 45",
        "omni-infra:edge.armor.perIpWithoutKey.intervalSec",
        ["10, 30, 60"],
    ),
    (
        "status: status.omni.example",
        "status: status.omni.example\n    armor:\n      previewRules: [sqli, php]",
        "omni-infra:edge.armor.previewRules",
        ["unknown rule 'php'"],
    ),
    (
        "status: status.omni.example",
        "status: status.omni.example\n    armor:\n      waf:\n        sqli: 5",
        "omni-infra:edge.armor.waf.sqli",
        ["less than or equal to 4"],
    ),
    (
        "status: status.omni.example",
        "status: status.omni.example\n    armor:\n      blockedIpRanges: [203.0.113.7/24]",
        "omni-infra:edge.armor.blockedIpRanges",
        ["host bits zero"],
    ),
    (
        "status: status.omni.example",
        "status: status.omni.example\n    cdn:\n      defaultTtlSec: 600\n      maxTtlSec: 60",
        "omni-infra:edge.cdn",
        ["above maxTtlSec"],
    ),
    (
        "  omni-infra:api:\n    minInstances: 2",
        "  omni-infra:api:\n    minInstances: 2\n    ingress: all",
        "omni-infra:api.ingress, omni-infra:edge.enabled",
        ["api.ingress 'all' with the edge on", "pulumi config set --path 'api.ingress'"],
    ),
    (
        "  omni-infra:api:\n    minInstances: 2",
        "  omni-infra:api:\n    minInstances: 2\n    public: false",
        "omni-infra:api.public, omni-infra:edge.enabled",
        ["calls the API without credentials"],
    ),
    (
        "  omni-infra:grafana:\n",
        "  omni-infra:grafana:\n    enabled: false\n",
        "omni-infra:edge.hosts.grafana, omni-infra:grafana.enabled",
        ["remove the host or turn Grafana on"],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "words"), BAD_EDGE_VALUES, ids=[f"{case[2]}-{i}" for i, case in enumerate(BAD_EDGE_VALUES)]
)
def test_a_bad_edge_value_is_refused_before_any_resource_naming_the_key(project_copy, old, new, key, words) -> None:
    edit_stack_file(project_copy, "prod", old, new)
    error, declared = failing_prod_run(project_copy)
    message = str(error)

    assert f"  {key}: found " in message, message
    for word in words:
        assert word in message, f"{word!r} missing from:\n{message}"
    assert "no resource was declared" in message
    assert declared == []


@pytest.mark.parametrize("host", ["api.omni.example", "a.b", "x-1.eu.omni.example", "a" * 63 + ".example"])
def test_fully_qualified_names_pass(host: str) -> None:
    assert check_fqdn(host) == host


@pytest.mark.parametrize(
    "host", ["omni", "api.omni.example.", "API.omni.example", "-api.omni.example", "api.123", "a" * 64 + ".example"]
)
def test_names_that_are_not_fully_qualified_fail(host: str) -> None:
    with pytest.raises(ValueError, match="not a fully qualified domain name"):
        check_fqdn(host)


def test_the_component_refuses_a_host_without_a_backend() -> None:
    settings = EdgeSettings.model_validate({"hosts": {"api": "api.omni.example", "status": "status.omni.example"}})

    with pytest.raises(ValueError, match="host for backend status, which the edge was not given"):
        EdgeArgs(
            project="omni-api-prod", region="europe-west1", settings=settings, services={API_BACKEND: "omni-prod-api"}
        )
    with pytest.raises(ValueError, match="both a service and a bucket"):
        check_routes({"api": "a.example"}, {"api": "x", "status": "y"}, {"status": "z"})


# --- honest diffs -----------------------------------------------------------------------------


def snapshot(stack: str) -> dict[str, Any]:
    return json.loads((SNAPSHOTS / f"{stack}.json").read_text())


def test_a_new_api_host_replaces_its_certificate_and_says_it_is_an_outage(project_copy) -> None:
    before = run_stack(project_copy, "prod").to_json()
    edit_stack_file(project_copy, "prod", "api: api.omni.example", "api: api.omni-platform.example")
    after = run_stack(project_copy, "prod").to_json()

    report = compute_diff(before, after)
    outages = {d.type for d in report.dangers if d.kind is DangerKind.REPLACE_OUTAGE}

    assert outages == {CERTIFICATE, DNS_AUTHORIZATION, MAP_ENTRY}
    assert all(d.severity is Severity.HIGH for d in report.dangers if d.kind is DangerKind.REPLACE_OUTAGE)
    assert "interrupts public traffic (replaces 3 edge resources)" in danger_headline(report)
    # The URL map's host rule and the uptime checks change too, in place or by replacement.
    assert {r.type for r in report.of_kind(ChangeKind.UPDATE)} >= {URL_MAP}


def test_a_replaced_neg_forwarding_rule_or_address_is_an_outage() -> None:
    before = snapshot("prod")
    after = copy.deepcopy(before)
    for resource in after["resources"]:
        if resource["type"] == NEG and resource["name"].endswith("-api-neg"):
            resource["inputs"]["cloudRun"]["service"] = "omni-prod-api-v2"
        if resource["type"] == FORWARDING_RULE and resource["name"].endswith("-http-rule"):
            resource["inputs"]["portRange"] = "8080"
        if resource["type"] == GLOBAL_ADDRESS and resource["name"].endswith("-edge-ip"):
            resource["inputs"]["description"] = "moved"

    report = compute_diff(before, after)
    outages = {d.name: d for d in report.dangers if d.kind is DangerKind.REPLACE_OUTAGE}

    # The HTTPS listener is not edited, but it takes the new address: replaced with it.
    assert set(outages) == {
        "omni-prod-edge-api-neg",
        "omni-prod-edge-http-rule",
        "omni-prod-edge-https-rule",
        "omni-prod-edge-ip",
    }
    assert "cloudRun changed" in outages["omni-prod-edge-api-neg"].reason
    assert "omni-prod-edge-ip" in outages["omni-prod-edge-https-rule"].reason
    assert "every host's A record must change" in outages["omni-prod-edge-ip"].reason


def test_the_private_services_range_is_not_a_public_outage() -> None:
    before = snapshot("prod")
    after = copy.deepcopy(before)
    [psa] = [
        r for r in after["resources"] if r["type"] == GLOBAL_ADDRESS and r["inputs"].get("purpose") == "VPC_PEERING"
    ]
    psa["inputs"]["prefixLength"] = 20

    report = compute_diff(before, after)

    assert DangerKind.REPLACE_OUTAGE not in {d.kind for d in report.dangers if d.name == psa["name"]}
    assert DangerKind.REPLACE_STATEFUL in {d.kind for d in report.dangers if d.name == psa["name"]}


def test_a_new_rate_limit_updates_the_policy_in_place() -> None:
    before = snapshot("prod")
    after = copy.deepcopy(before)
    policy = api_policy(after)
    rules_by_priority(policy)[API_KEY_THROTTLE_PRIORITY]["rateLimitOptions"]["rateLimitThreshold"]["count"] = 1200

    report = compute_diff(before, after)

    assert [r.name for r in report.of_kind(ChangeKind.UPDATE)] == [policy["name"]]
    assert not report.of_kind(ChangeKind.REPLACE)


@pytest.mark.parametrize("rtype", sorted(EDGE_TYPES | {GLOBAL_ADDRESS}))
def test_every_edge_type_has_its_own_force_new_facts(rtype: str) -> None:
    """Not the name-and-project fallback: each type's ForceNew fields, read from the provider's schema."""
    assert rtype in replacements.FORCE_NEW


def test_what_replaces_and_what_updates_in_place_at_the_edge() -> None:
    assert "managed" in replacements.force_new_paths(CERTIFICATE)
    assert "domain" in replacements.force_new_paths(DNS_AUTHORIZATION)
    assert "cloudRun" in replacements.force_new_paths(NEG)
    assert {"ipAddress", "portRange"} <= set(replacements.force_new_paths(FORWARDING_RULE))
    # Patched in place: a policy's rules, a proxy's URL map and certificates, a rule's target, a backend's policy.
    assert "rules" not in replacements.force_new_paths(SECURITY_POLICY)
    assert not {"urlMap", "certificateMap", "sslPolicy"} & set(replacements.force_new_paths(HTTPS_PROXY))
    assert "target" not in replacements.force_new_paths(FORWARDING_RULE)
    assert not {"securityPolicy", "backends"} & set(replacements.force_new_paths(BACKEND_SERVICE))


@pytest.mark.parametrize(
    ("rtype", "role"),
    [
        (SECURITY_POLICY, "roles/compute.securityAdmin"),
        (CERTIFICATE, "roles/certificatemanager.admin"),
        (MAP_ENTRY, "roles/certificatemanager.admin"),
        (URL_MAP, "roles/compute.networkAdmin"),
        (LOG_METRIC, LOG_METRICS_ROLE),
    ],
)
def test_the_deployer_may_manage_every_edge_type(rtype: str, role: str | CustomRole) -> None:
    roles = service_roles(rtype)
    assert roles is not None
    assert roles.manage == role
    assert role in (DEPLOYER_CUSTOM_ROLES if isinstance(role, CustomRole) else DEPLOYER_ROLES)


def test_the_log_metrics_role_holds_the_metrics_permissions_alone() -> None:
    """Not logging.configWriter: the deployer must not be able to delete the audit trail's sink or bucket."""
    assert {p for p in LOG_METRICS_ROLE.permissions if p.startswith("logging.")} == {
        f"logging.logMetrics.{verb}" for verb in ("create", "delete", "get", "list", "update")
    }
