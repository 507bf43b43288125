"""Identity Platform for the product's users, as specified: the project config every stack
declares (multi-tenancy, MFA, sign-in, authorized domains from the edge's hosts), a tenant per
enterprise customer from its reviewed file, and the refusals of bad files and bad settings, each
naming the file or key, before any resource is declared."""

from __future__ import annotations

import datetime
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from identity import tenants as tenant_files
from identity.tenants import TenantFileError, load_tenants, parse_tenant_text, selected_tenants
from offline.dashboards import render_dashboards
from offline.engine import new_monitor, run_stack
from offline.graph import STACK_TYPE
from offline.stackfile import SECRET_PLACEHOLDER, read_stack_file
from stackconfig import StackConfigError, gcp_rules
from stackconfig.identity_platform import IdentityPlatformSettings, authorized_domains
from stackconfig.loader import load_stack_config

from .conftest import ROOT, edit_stack_file, one, resources

CONFIG = "gcp:identityplatform/config:Config"
TENANT = "gcp:identityplatform/tenant:Tenant"
SAML = "gcp:identityplatform/tenantInboundSamlConfig:TenantInboundSamlConfig"
OIDC = "gcp:identityplatform/tenantOauthIdpConfig:TenantOauthIdpConfig"
LOG_METRIC = "gcp:logging/metric:Metric"
SECRET = "gcp:secretmanager/secret:Secret"
EXAMPLE_SAML = Path(tenant_files.CUSTOMERS_DIR / "example-saml.yaml").read_text()


def certificate_pem(*, days: int = 365, expired: bool = False) -> str:
    """A self-signed RSA certificate, valid from now for `days`, or one that expired yesterday."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.test.example")])
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=30) if expired else now
    end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=days)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def saml_file(certificate: str, **overrides: str) -> str:
    fields = {
        "display": "Acme-Corp",
        "entity": "https://idp.acme.example/saml/metadata",
        "sso": "https://idp.acme.example/saml/sso",
        **overrides,
    }
    indented = textwrap.indent(certificate.strip(), " " * 8)
    return (
        f"displayName: {fields['display']}\n"
        "saml:\n"
        f"  idpEntityId: {fields['entity']}\n"
        f"  ssoUrl: {fields['sso']}\n"
        "  certificates:\n"
        "    - |\n"
        f"{indented}\n"
    )


OIDC_FILE = """displayName: Globex
oidc:
  issuer: https://login.globex.example
  clientId: omni-platform
"""


def refusal(text: str, tenant_id: str = "acme") -> str:
    with pytest.raises(TenantFileError) as caught:
        parse_tenant_text(text, tenant_id, f"identity/customers/{tenant_id}.yaml")
    return str(caught.value)


# --- the customers' files ----------------------------------------------------------------------


def test_the_committed_example_files_are_read_and_marked_as_examples():
    loaded = load_tenants()

    assert {"example-saml", "example-oidc"} <= set(loaded)
    assert all(tenant.example for name, tenant in loaded.items() if name.startswith("example-"))
    saml, oidc = loaded["example-saml"], loaded["example-oidc"]
    assert (saml.provider_id, saml.display_name, len(saml.saml.certificates)) == (
        "saml.example-saml",
        "Example-SAML",
        1,
    )
    assert (oidc.provider_id, oidc.oidc.issuer, oidc.needs_client_secret) == (
        "oidc.example-oidc",
        "https://login.example-oidc.example",
        True,
    )


def test_a_saml_file_with_a_current_certificate_is_accepted():
    tenant = parse_tenant_text(saml_file(certificate_pem()), "acme", "acme.yaml")

    assert tenant.saml is not None
    assert tenant.saml.sign_request is True
    assert tenant.saml.certificates[0].startswith("-----BEGIN CERTIFICATE-----")
    assert not tenant.example


def test_an_oidc_file_defaults_to_the_code_flow_with_a_secret():
    tenant = parse_tenant_text(OIDC_FILE, "globex", "globex.yaml")

    assert tenant.oidc is not None
    assert tenant.oidc.code_flow
    assert tenant.needs_client_secret


BAD_FILES = [
    # (what is wrong, the file's text, words the message must hold besides the file's name)
    ("display name too short", lambda: saml_file(certificate_pem(), display="Acm"), ["displayName", "4 to 20"]),
    ("display name starts with a digit", lambda: saml_file(certificate_pem(), display="1acme"), ["displayName"]),
    ("display name with a space", lambda: saml_file(certificate_pem(), display="'Acme Corp'"), ["displayName"]),
    (
        "SSO over http",
        lambda: saml_file(certificate_pem(), sso="http://idp.acme.example/sso"),
        ["saml.ssoUrl", "https"],
    ),
    ("entity id with a space", lambda: saml_file(certificate_pem(), entity="'acme idp'"), ["saml.idpEntityId"]),
    (
        "not a certificate",
        lambda: saml_file("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"),
        [
            "saml.certificates[0]",
            "not an X.509 certificate",
        ],
    ),
    (
        "a pasted private key",
        lambda: saml_file("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"),
        [
            "saml.certificates[0]",
            "private key",
        ],
    ),
    ("an expired certificate", lambda: saml_file(certificate_pem(expired=True)), ["saml.certificates[0]", "expired"]),
    (
        "two certificates in one entry",
        lambda: saml_file(certificate_pem() + certificate_pem()),
        [
            "saml.certificates[0]",
            "exactly one certificate",
        ],
    ),
    ("OIDC issuer over http", lambda: OIDC_FILE.replace("https://", "http://"), ["oidc.issuer", "https"]),
    ("no provider", lambda: "displayName: Acme-Corp\n", ["saml, oidc", "exactly one"]),
    ("both providers", lambda: saml_file(certificate_pem()) + OIDC_FILE.split("\n", 1)[1], ["exactly one"]),
    ("an unknown key", lambda: saml_file(certificate_pem()) + "owner: someone\n", ["owner", "unknown key"]),
    ("a client secret in the file", lambda: OIDC_FILE + "  clientSecret: hunter2\n", ["oidc.clientSecret", "unknown"]),
    ("an id key", lambda: "id: acme\n" + OIDC_FILE, ["id:", "file name"]),
    ("not YAML", lambda: "displayName: [unclosed\n", ["not valid YAML"]),
    ("a list, not a mapping", lambda: "- displayName: Acme\n", ["expected a mapping"]),
]


@pytest.mark.parametrize(("case", "make", "words"), BAD_FILES, ids=[case for case, _, _ in BAD_FILES])
def test_a_bad_customer_file_is_refused_naming_the_file_and_the_key(case: str, make, words: list[str]):
    message = refusal(make())

    assert message.startswith("identity/customers/acme.yaml: "), message
    for word in words:
        assert word in message, f"{case}: {word!r} not in {message!r}"
    assert "Traceback" not in message
    assert "hunter2" not in message, "a secret pasted by mistake is never echoed"


def test_a_file_name_that_is_not_a_tenant_id_is_refused():
    message = refusal(OIDC_FILE, tenant_id="Acme_Corp")

    assert "id: found 'Acme_Corp'" in message
    assert "the file name is not a tenant id" in message
    assert "rename the file" in message


# --- which tenants a stack declares ------------------------------------------------------------


def settings(**values: Any) -> IdentityPlatformSettings:
    return IdentityPlatformSettings.model_validate(values)


def write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.yaml").write_text(text)


def test_a_listed_tenant_without_a_file_is_refused_naming_the_key(tmp_path):
    write(tmp_path, "globex", OIDC_FILE)

    with pytest.raises(TenantFileError) as caught:
        selected_tenants(settings(tenants=["initech"]), "prod", "stacks/Pulumi.prod.yaml", tmp_path)
    message = str(caught.value)

    assert message.startswith("stacks/Pulumi.prod.yaml: ")
    assert "omni-infra:identityPlatform.tenants: found 'initech'" in message
    assert f"no file {tmp_path / 'initech.yaml'}" in message
    assert "no resource was declared" in message


def test_prod_refuses_an_example_customer(tmp_path):
    write(tmp_path, "example-acme", "example: true\n" + OIDC_FILE)

    assert selected_tenants(settings(tenants=["example-acme"]), "staging", "s", tmp_path)[0].tenant.example
    with pytest.raises(TenantFileError, match=r"(?s)tenants: found 'example-acme'.*an example customer"):
        selected_tenants(settings(tenants=["example-acme"]), "prod", "p", tmp_path)


def test_a_secret_flag_on_a_tenant_without_a_client_secret_is_refused(tmp_path):
    write(tmp_path, "acme", saml_file(certificate_pem()))

    with pytest.raises(TenantFileError, match=r"(?s)oidcSecretsAdded: found 'acme'.*has no client secret"):
        selected_tenants(settings(tenants=["acme"], oidc_secrets_added=["acme"]), "prod", "p", tmp_path)


def test_a_bad_file_stops_every_stack_even_one_that_does_not_list_it(tmp_path):
    write(tmp_path, "globex", OIDC_FILE.replace("https://", "http://"))

    with pytest.raises(
        TenantFileError, match=r"(?s)globex.yaml: 1 invalid.*oidc.issuer: found 'http://login.globex.example'"
    ):
        selected_tenants(settings(tenants=[]), "dev", "d", tmp_path)


def test_a_bad_file_stops_the_program_before_any_resource(project_copy, tmp_path, monkeypatch):
    customers = tmp_path / "customers"
    shutil.copytree(tenant_files.CUSTOMERS_DIR, customers)
    (customers / "example-saml.yaml").write_text(EXAMPLE_SAML.replace("ssoUrl: https://", "ssoUrl: http://"))
    monkeypatch.setattr(tenant_files, "CUSTOMERS_DIR", customers)
    values, _ = read_stack_file(project_copy.stack_file("dev"))
    monitor = new_monitor(values)

    with pytest.raises(TenantFileError) as caught:
        run_stack(project_copy, "dev", monitor=monitor)

    assert "example-saml.yaml: 1 invalid configuration value; no resource was declared" in str(caught.value)
    assert "saml.ssoUrl: found 'http://idp.example-saml.example/saml/sso'" in str(caught.value)
    assert [r for r in monitor.recorded if r.type != STACK_TYPE] == []


# --- the stack config --------------------------------------------------------------------------


def prod_values(project, **identity: Any) -> dict[str, str]:
    values, _ = read_stack_file(project.stack_file("prod"))
    return {**values, "omni-infra:identityPlatform": json.dumps(identity)}


BAD_SETTINGS = [
    ({"mfa": "DISABLED"}, "omni-infra:identityPlatform.mfa", "prod keeps multi-factor authentication on"),
    ({"mfa": "OPTIONAL"}, "omni-infra:identityPlatform.mfa", "'DISABLED', 'ENABLED' or 'MANDATORY'"),
    ({"allowLocalhost": True}, "omni-infra:identityPlatform.allowLocalhost", "never authorizes localhost"),
    ({"signInBackends": ["admin"]}, "omni-infra:identityPlatform.signInBackends", "unknown edge backend 'admin'"),
    ({"tenants": ["Acme"]}, "omni-infra:identityPlatform.tenants", "not a customer file's name"),
    ({"tenants": ["acme", "acme"]}, "omni-infra:identityPlatform.tenants", "listed twice"),
    ({"totpAdjacentIntervals": 11}, "omni-infra:identityPlatform.totpAdjacentIntervals", "10"),
    (
        {"tenants": [], "oidcSecretsAdded": ["acme"]},
        "omni-infra:identityPlatform.oidcSecretsAdded",
        "not in tenants",
    ),
]


@pytest.mark.parametrize(("identity", "key", "words"), BAD_SETTINGS, ids=[key + str(v) for v, key, _ in BAD_SETTINGS])
def test_a_bad_setting_is_refused_naming_the_key(project, identity: dict[str, Any], key: str, words: str):
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("prod", prod_values(project, **identity), set())
    problems = caught.value.problems

    assert any(key in problem.key and words in problem.allowed for problem in problems), caught.value


def test_a_sign_in_backend_without_an_edge_host_is_refused(project):
    values = prod_values(project, signInBackends=["api", "grafana"])
    values["omni-infra:edge"] = values["omni-infra:edge"].replace('"grafana": "grafana.omni.example", ', "")

    with pytest.raises(StackConfigError) as caught:
        load_stack_config("prod", values, set())

    assert "edge.hosts.grafana" in str(caught.value)
    assert "identityPlatform.signInBackends" in str(caught.value)


# --- what each stack declares -------------------------------------------------------------------


def test_prod_declares_a_multi_tenant_config_with_mfa_and_safe_sign_in(graphs):
    config = one(graphs["prod"], CONFIG)
    inputs = config["inputs"]

    assert config["protect"] is True
    assert inputs["multiTenant"] == {"allowTenants": True}
    assert inputs["mfa"]["state"] == "ENABLED"
    assert inputs["mfa"]["providerConfigs"] == [{"state": "ENABLED", "totpProviderConfig": {"adjacentIntervals": 1}}]
    assert inputs["mfa"].get("enabledProviders", []) == []  # no SMS second factor by default
    assert inputs["signIn"] == {
        "allowDuplicateEmails": False,
        "anonymous": {"enabled": False},
        "email": {"enabled": True, "passwordRequired": True},
        "phoneNumber": {"enabled": False},
    }
    assert inputs["monitoring"] == {"requestLogging": {"enabled": True}}


def test_authorized_domains_follow_the_edge_hosts_and_google_handler(graphs):
    # The API's and the portal's hosts (stacks/Pulumi.prod.yaml, Pulumi.staging.yaml edge.hosts); never Grafana's.
    assert one(graphs["prod"], CONFIG)["inputs"]["authorizedDomains"] == [
        "omni-api-prod.firebaseapp.com",
        "api.omni.example",
        "portal.omni.example",
    ]
    assert one(graphs["staging"], CONFIG)["inputs"]["authorizedDomains"] == [
        "omni-api-staging.firebaseapp.com",
        "api.staging.omni.example",
        "portal.staging.omni.example",
    ]
    # Dev has no edge: Google's handler domain and the developers' machines.
    assert one(graphs["dev"], CONFIG)["inputs"]["authorizedDomains"] == ["omni-api-dev.firebaseapp.com", "localhost"]


def test_authorized_domains_move_with_the_edge_host(project_copy):
    edit_stack_file(project_copy, "prod", "api: api.omni.example", "api: api.omni-platform.example")
    graph = run_stack(project_copy, "prod").to_json()

    assert "api.omni-platform.example" in one(graph, CONFIG)["inputs"]["authorizedDomains"]
    assert "api.omni.example" not in one(graph, CONFIG)["inputs"]["authorizedDomains"]


def test_prod_declares_no_example_tenant(graphs):
    assert resources(graphs["prod"], TENANT) == []


def test_dev_declares_the_example_saml_tenant_with_its_provider(graphs):
    tenant = one(graphs["dev"], TENANT)
    saml = one(graphs["dev"], SAML)

    assert tenant["name"] == "omni-dev-idp-example-saml"
    assert tenant["inputs"]["displayName"] == "Example-SAML"
    assert tenant["inputs"]["allowPasswordSignup"] is False
    assert tenant["inputs"]["enableEmailLinkSignin"] is False
    assert tenant["inputs"]["deletionPolicy"] == "DELETE"  # dev is disposable (protect false)
    assert saml["inputs"]["name"] == "saml.example-saml"
    assert saml["inputs"]["idpConfig"]["ssoUrl"] == "https://idp.example-saml.example/saml/sso"
    assert saml["inputs"]["idpConfig"]["idpCertificates"][0]["x509Certificate"].startswith("-----BEGIN CERTIFICATE")
    assert saml["inputs"]["spConfig"] == {
        "callbackUri": "https://omni-api-dev.firebaseapp.com/__/auth/handler",
        "spEntityId": "omni-api-dev",
    }
    assert tenant["urn"] in saml["dependencies"]


def test_staging_oidc_tenant_reads_its_client_secret_from_secret_manager(graphs, applied):
    secret = next(
        r for r in resources(graphs["staging"], SECRET) if r["name"] == "omni-staging-idp-example-oidc-oidc-secret"
    )
    oidc = one(applied["staging"], OIDC)
    tenants = {r["name"]: r for r in resources(graphs["staging"], TENANT)}

    assert secret["protect"] is True
    assert secret["inputs"]["deletionProtection"] is True
    assert tenants["omni-staging-idp-example-oidc"]["inputs"]["deletionPolicy"] == "PREVENT"
    assert oidc["inputs"]["name"] == "oidc.example-oidc"
    assert oidc["inputs"]["issuer"] == "https://login.example-oidc.example"
    # The secret is read from Secret Manager at deploy time and recorded masked, never its value.
    assert oidc["inputs"]["clientSecret"] == "[secret]"
    assert SECRET_PLACEHOLDER not in str(applied["staging"])


def test_an_oidc_tenant_waits_for_its_secret_version(project_copy):
    edit_stack_file(project_copy, "staging", "    oidcSecretsAdded: [example-oidc]", "    oidcSecretsAdded: []")
    graph = run_stack(project_copy, "staging").to_json()

    assert resources(graph, OIDC) == []
    assert any(r["name"] == "omni-staging-idp-example-oidc-oidc-secret" for r in resources(graph, SECRET))


def test_every_stack_counts_sign_ins_failures_and_mfa_enrolments_from_the_activity_logs(graphs):
    for stack in ("dev", "staging", "prod"):
        metrics = {r["inputs"]["name"]: r["inputs"] for r in resources(graphs[stack], LOG_METRIC)}
        project = f"omni-api-{stack}"
        log = f'logName="projects/{project}/logs/identitytoolkit.googleapis.com%2Frequests"'
        assert metrics["identity_sign_ins"]["filter"].startswith(log)
        assert metrics["identity_sign_in_failures"]["filter"].endswith("protoPayload.status.code>0")
        assert "MfaEnrollmentService" in metrics["identity_mfa_enrolments"]["filter"]
        assert metrics["identity_mfa_enrolments"]["filter"].endswith("NOT protoPayload.status.code>0")


def test_identity_platform_off_declares_nothing_of_it(project_copy):
    edit_stack_file(
        project_copy,
        "dev",
        "  omni-infra:identityPlatform:\n",
        "  omni-infra:identityPlatform:\n    enabled: false\n",
    )
    graph = run_stack(project_copy, "dev").to_json()

    assert not [r for r in graph["resources"] if r["type"].startswith("gcp:identityplatform/")]
    assert not [r for r in resources(graph, LOG_METRIC) if r["inputs"]["name"].startswith("identity_")]
    apis = {r["inputs"]["service"] for r in resources(graph, "gcp:projects/service:Service")}
    assert "identitytoolkit.googleapis.com" not in apis


# --- Google's naming rules (stackconfig/gcp_rules.py) --------------------------------------------


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("Acme", True),
        ("A-1234567890-abcdefg", True),
        ("Acm", False),
        ("A-1234567890-abcdefgh", False),
        ("1acme", False),
        ("-acme", False),
        ("Acme_Corp", False),
        ("Acme Corp", False),
    ],
)
def test_tenant_display_names_are_4_to_20_letters_digits_hyphens_from_a_letter(name: str, accepted: bool):
    assert (gcp_rules.identity_tenant_display_name(name) is None) is accepted


@pytest.mark.parametrize(
    ("provider_id", "accepted"),
    [
        ("saml.acme", True),
        ("oidc.globex-2", True),
        ("saml.a", False),
        ("oidc.Acme", False),
        ("okta.acme", False),
        ("saml.acme-", False),
        ("saml.", False),
    ],
)
def test_provider_ids_start_with_saml_or_oidc_then_a_lowercase_letter(provider_id: str, accepted: bool):
    assert (gcp_rules.identity_provider_id(provider_id) is None) is accepted


def test_removing_a_tenant_is_reviewed_as_losing_its_users(project_copy):
    from offline.diff import compute_diff

    before = run_stack(project_copy, "staging").to_json()
    edit_stack_file(project_copy, "staging", "tenants: [example-saml, example-oidc]", "tenants: [example-oidc]")
    after = run_stack(project_copy, "staging").to_json()
    dangers = [d for d in compute_diff(before, after).dangers if d.name == "omni-staging-idp-example-saml"]

    assert dangers, "deleting a tenant is a danger"
    assert "stateful" in dangers[0].reason
    assert "protected" in dangers[0].reason


def test_two_customers_with_the_same_display_name_are_refused(tmp_path):
    write(tmp_path, "globex", OIDC_FILE)
    write(tmp_path, "globex-eu", OIDC_FILE.replace("Globex", "GLOBEX"))

    with pytest.raises(TenantFileError) as caught:
        load_tenants(tmp_path)
    message = str(caught.value)

    # Files are read in name order: globex-eu.yaml first, so globex.yaml is the one refused.
    assert message.startswith(f"{tmp_path / 'globex.yaml'}: 1 invalid configuration value")
    assert "displayName: found 'Globex'" in message
    assert "globex-eu.yaml has the same display name" in message


def test_by_default_users_sign_in_on_the_api_and_the_portal_hosts_only():
    hosts = {"api": "api.omni.example", "grafana": "grafana.omni.example", "portal": "portal.omni.example"}

    assert authorized_domains(settings(), True, hosts, "omni-api-prod") == [
        "omni-api-prod.firebaseapp.com",
        "api.omni.example",
        "portal.omni.example",
    ]
    assert authorized_domains(settings(signInBackends=["portal"]), True, hosts, "omni-api-prod") == [
        "omni-api-prod.firebaseapp.com",
        "portal.omni.example",
    ]
    # Without the edge there is no host of ours to authorize.
    assert authorized_domains(settings(), False, hosts, "omni-api-dev") == ["omni-api-dev.firebaseapp.com"]


# --- the Security board --------------------------------------------------------------------------


def security_board(stack: str) -> dict[str, Any]:
    return json.loads(render_dashboards(stack, ROOT)["omni-security.json"])


def test_the_security_board_shows_sign_ins_and_findings_everywhere_and_key_events_where_there_are_keys():
    prod = [panel["title"] for panel in security_board("prod")["panels"]]
    dev = [panel["title"] for panel in security_board("dev")["panels"]]

    identity = [
        "Sign-ins per second",
        "Failed sign-in share",
        "MFA enrolments per hour",
        "Sign-ins by step",
        "Failed sign-ins by step and error",
        "Failed sign-in share",
        "MFA enrolments",
    ]
    assert prod == [*identity, "Key versions disabled or destroyed", "Security findings published"]
    # encryption.enabled false in dev: no keys, no key events; its findings still route to tickets.
    assert dev == [*identity, "Security findings published"]
    findings = next(p for p in security_board("prod")["panels"] if p["title"] == "Security findings published")
    assert 'topic_id="omni-prod-security-findings"' in findings["targets"][0]["expr"]
    failures = next(p for p in security_board("prod")["panels"] if p["title"] == "Failed sign-ins by step and error")
    assert "logging_googleapis_com:user_identity_sign_in_failures" in failures["targets"][0]["expr"]
    assert "by (method, reason)" in failures["targets"][0]["expr"]
