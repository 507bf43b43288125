"""Enterprise customers' single sign-on, written as small YAML files reviewed in pull requests.

One file per customer in `identity/customers/` (the file's name, without `.yaml`, is the
tenant's id in the program and in its resources' names). Each declares its Identity Platform
tenant and exactly one identity provider, SAML or OIDC:

    displayName: Acme-Corp          # the tenant's name in Google: 4-20 letters, digits, '-'
    saml:
      idpEntityId: https://idp.acme.example/saml/metadata
      ssoUrl: https://idp.acme.example/saml/sso     # https only
      signRequest: true
      certificates:                 # the IdP's signing certificates, X.509 PEM
        - |
          -----BEGIN CERTIFICATE-----
          ...

    # or
    oidc:
      issuer: https://login.acme.example            # https only
      clientId: omni-platform
      codeFlow: true                # the client secret comes from Secret Manager, never this file

Every file is read and checked on every run, before any resource is declared: a file that does
not fit stops the run, naming the file, the key and the fix. `example: true` marks a fictional
customer (a test tenant): prod refuses it.
"""

from __future__ import annotations

import datetime
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from cryptography import x509
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from stackconfig import gcp_rules
from stackconfig.errors import Problem, StackConfigError
from stackconfig.identity_platform import TENANT_FILE_ID, IdentityPlatformSettings

CUSTOMERS_DIR = Path(__file__).resolve().parent / "customers"
"""The customers' files, committed in this repository."""
PEM_CERTIFICATE_BEGIN = "-----BEGIN CERTIFICATE-----"
# The longest text a certificate entry may hold: a 4096-bit RSA certificate's PEM is under 2.5 KB.
PEM_MAX_CHARACTERS = 16_384
MAX_CERTIFICATES = 5


class TenantFileError(StackConfigError):
    """A customer file (or the stack's choice of them) that cannot be declared: each problem names
    the key, what was found (never a secret or a certificate) and the fix, and the message says
    nothing was declared. A `StackConfigError`, so `pulumi up` and `omni` print it alone, without a
    traceback, like any refused setting."""


# A value echoed in an error is cut to this many characters, and never a certificate's text.
SHOWN_VALUE_MAX = 80


def _shown_value(where: str, value: object) -> str:
    if "certificates" in where or not isinstance(value, str | int | float | bool):
        return "the value as written"
    shown = repr(value)
    return shown if len(shown) <= SHOWN_VALUE_MAX else shown[: SHOWN_VALUE_MAX - 1] + "…"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


def _https_url(value: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ValueError(f"{value!r} is not an https URL: Identity Platform talks to the IdP over TLS only")
    if parsed.username or parsed.password:
        raise ValueError("no credentials in the URL")
    return value


def check_certificate(pem: str, now: datetime.datetime) -> str:
    """One X.509 certificate in PEM, still valid at `now`; never a private key."""
    text = pem.strip()
    if "PRIVATE KEY" in text:
        raise ValueError(
            "this is a private key: never commit one; ask the customer for their IdP's signing certificate (public)"
        )
    if len(text) > PEM_MAX_CHARACTERS:
        raise ValueError(f"{len(text)} characters: a certificate's PEM is a few KB; paste one certificate per entry")
    if not text.startswith(PEM_CERTIFICATE_BEGIN) or text.count(PEM_CERTIFICATE_BEGIN) != 1:
        raise ValueError(f"paste exactly one certificate per entry, from {PEM_CERTIFICATE_BEGIN} to its END line")
    try:
        certificate = x509.load_pem_x509_certificate(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as error:
        raise ValueError(f"not an X.509 certificate in PEM ({error}); paste the IdP's signing certificate") from None
    if certificate.not_valid_after_utc <= now:
        raise ValueError(
            f"the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}: ask the customer for their IdP's "
            "current signing certificate"
        )
    return text + "\n"


def _current_certificate(pem: str) -> str:
    return check_certificate(pem, datetime.datetime.now(datetime.UTC))


PemCertificate = Annotated[str, AfterValidator(_current_certificate)]


class SamlProvider(_Strict):
    """The customer's SAML identity provider, from its metadata."""

    idp_entity_id: str = Field(min_length=1, max_length=1024, description="The IdP's entity id (its metadata).")
    sso_url: str = Field(description="The IdP's single sign-on URL (HTTP-Redirect or POST binding), https.")
    sign_request: bool = Field(default=True, description="Sign authentication requests (the IdP may require it).")
    certificates: tuple[PemCertificate, ...] = Field(
        min_length=1, max_length=MAX_CERTIFICATES, description="The IdP's signing certificates, X.509 PEM."
    )

    @field_validator("sso_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return _https_url(value)

    @field_validator("idp_entity_id")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if value != value.strip() or any(character.isspace() for character in value):
            raise ValueError("an entity id has no spaces: copy it from the IdP's metadata (entityID)")
        return value


class OidcProvider(_Strict):
    """The customer's OpenID Connect provider."""

    issuer: str = Field(description="The issuer (`iss`), https; its discovery document is read from it.")
    client_id: str = Field(min_length=1, max_length=256, description="The client id the customer registered for us.")
    code_flow: bool = Field(
        default=True,
        description=(
            "Authorization code flow, with a client secret kept in Secret Manager (the safer flow); false: the "
            "implicit ID-token flow, without a secret."
        ),
    )

    @field_validator("issuer")
    @classmethod
    def _https(cls, value: str) -> str:
        return _https_url(value)

    @field_validator("client_id")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if any(character.isspace() for character in value):
            raise ValueError("a client id has no spaces")
        return value


class CustomerTenant(_Strict):
    """One enterprise customer's tenant, as its file says."""

    id: str = Field(pattern=TENANT_FILE_ID.pattern)
    display_name: str = Field(description="The tenant's display name in Google (4-20 letters, digits, '-').")
    example: bool = Field(default=False, description="A fictional customer (a test tenant): refused in prod.")
    saml: SamlProvider | None = None
    oidc: OidcProvider | None = None

    @field_validator("display_name")
    @classmethod
    def _google_takes_it(cls, name: str) -> str:
        if problem := gcp_rules.identity_tenant_display_name(name):
            raise ValueError(f"Google refuses the {problem}")
        return name

    @model_validator(mode="after")
    def _one_provider(self) -> CustomerTenant:
        if (self.saml is None) == (self.oidc is None):
            raise ValueError("saml, oidc: give exactly one identity provider, saml or oidc")
        return self

    @property
    def provider_id(self) -> str:
        """The provider's id in Google: `saml.<id>` or `oidc.<id>`."""
        return f"{'saml' if self.saml else 'oidc'}.{self.id}"

    @property
    def needs_client_secret(self) -> bool:
        return self.oidc is not None and self.oidc.code_flow


def _location(error: dict[str, object]) -> str:
    parts = []
    for part in error.get("loc", ()):  # type: ignore[union-attr]
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part != "":
            parts.append(("." if parts else "") + to_camel(str(part)))
    return "".join(parts) or "(the file)"


def parse_tenant_text(text: str, tenant_id: str, origin: str) -> CustomerTenant:
    """A customer file's YAML, its id (the file name) and where it came from (named in every error)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TenantFileError(origin, [Problem("(the file)", "not valid YAML", str(error))]) from None
    if not isinstance(document, dict):
        found = f"a {type(document).__name__}"
        allowed = "expected a mapping with displayName and saml or oidc (docs/identity.md)"
        raise TenantFileError(origin, [Problem("(the file)", found, allowed)])
    if "id" in document:
        raise TenantFileError(origin, [Problem("id", "a key", "the file name is the tenant's id; remove the key")])
    try:
        return CustomerTenant.model_validate({**document, "id": tenant_id})
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            where = _location(dict(detail))
            message = str(detail["msg"]).removeprefix("Value error, ")
            found = _shown_value(where, detail["input"])
            if where == "id":
                message = f"the file name is not a tenant id: {TENANT_FILE_ID.pattern}; rename the file"
            elif detail["type"] == "extra_forbidden":
                found, message = "an unknown key", "remove it (the format: docs/identity.md)"
            elif where == "(the file)" and ": " in message:
                # A check across keys names them first: `saml, oidc: give exactly one ...`.
                where, message = message.split(": ", 1)
                found = "the file as written"
            problems.append(Problem(where, found, message))
        raise TenantFileError(origin, problems) from None


def load_tenants(directory: Path | None = None) -> dict[str, CustomerTenant]:
    """Every `*.yaml` customer file in `directory` (the committed ones by default) by id; a missing
    directory has none. One bad file stops the run: a typo must not wait for the stack that selects it."""
    directory = directory or CUSTOMERS_DIR
    if not directory.is_dir():
        return {}
    tenants = {
        path.stem: parse_tenant_text(path.read_text(encoding="utf-8"), path.stem, _shown(path))
        for path in sorted(directory.glob("*.yaml"))
    }
    first_of: dict[str, str] = {}
    for tenant_id, tenant in tenants.items():
        name = tenant.display_name.lower()
        if name in first_of:
            origin = _shown(directory / f"{tenant_id}.yaml")
            fix = (
                f"{first_of[name]}.yaml has the same display name: two customers would look alike in the sign-in UI "
                "and the console; give each its own"
            )
            raise TenantFileError(origin, [Problem("displayName", repr(tenant.display_name), fix)])
        first_of[name] = tenant_id
    return tenants


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class SelectedTenant:
    tenant: CustomerTenant
    client_secret_added: bool
    """For a code-flow OIDC tenant: its secret has a version (identityPlatform.oidcSecretsAdded)."""


def selected_tenants(
    settings: IdentityPlatformSettings, environment: str, source: str, directory: Path | None = None
) -> list[SelectedTenant]:
    """The tenants the stack lists, from their files, in the stack's order; refused (naming the stack
    file's key and the fix) when a file is missing, an example goes to prod, or a secret flag is stray."""
    directory = directory or CUSTOMERS_DIR
    tenants = load_tenants(directory)
    if not settings.enabled:
        return []
    problems = []
    tenants_key, secrets_key = "omni-infra:identityPlatform.tenants", "omni-infra:identityPlatform.oidcSecretsAdded"
    for name in settings.tenants:
        tenant = tenants.get(name)
        path = _shown(directory / f"{name}.yaml")
        if tenant is None:
            fix = f"no file {path}: add the customer's file (docs/identity.md) or remove the name"
            problems.append(Problem(tenants_key, repr(name), fix))
        elif tenant.example and environment == "prod":
            fix = f"an example customer ({path} has example: true): prod declares real customers only; remove it"
            problems.append(Problem(tenants_key, repr(name), fix))
    for name in settings.oidc_secrets_added:
        tenant = tenants.get(name)
        if tenant is not None and not tenant.needs_client_secret:
            fix = "has no client secret (not an OIDC code-flow tenant); remove it"
            problems.append(Problem(secrets_key, repr(name), fix))
    if problems:
        raise TenantFileError(source, problems)
    return [
        SelectedTenant(tenants[name], client_secret_added=name in settings.oidc_secrets_added)
        for name in settings.tenants
    ]
