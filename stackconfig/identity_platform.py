"""Settings of Identity Platform for the product's users (`identityPlatform.*`): the project's
sign-in config, MFA, and which enterprise customers' tenants this stack declares.

Every default is the production choice. The tenants themselves are reviewed files, one per
customer, in `identity/customers/` (identity/tenants.py reads and checks them); a stack lists
the ones it declares by file name. Authorized domains follow the edge's hosts: the stack names
which of the edge's backends users sign in on, never a domain.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from .errors import ConfigConflict
from .model_base import ConfigModel

# A customer file's name without `.yaml`: the tenant's id in the program and in resource names.
TENANT_FILE_ID = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
MfaState = Literal["DISABLED", "ENABLED", "MANDATORY"]
# Where users sign in when the stack does not say: the API's host and the developer portal's
# (the portal is where teams manage their members and API keys), wherever the edge routes them.
DEFAULT_SIGN_IN_BACKENDS = ("api", "portal")
# TOTP codes are checked against this many 30-second intervals either side of now (0-10).
TOTP_MAX_ADJACENT_INTERVALS = 10


class IdentityPlatformSettings(ConfigModel):
    """Identity Platform: multi-tenant sign-in for the product's users, MFA, one tenant per
    enterprise customer with its SAML or OIDC identity provider (docs/identity.md)."""

    enabled: bool = Field(
        default=True,
        description=(
            "Identity Platform's project config and the customers' tenants. Billed per monthly active user only: "
            "a stack without users costs nothing. Google cannot delete the config once created (turning this off "
            "stops managing it, it stays in the project)."
        ),
    )
    mfa: MfaState = Field(
        default="ENABLED",
        description=(
            "Multi-factor authentication, project-wide: ENABLED lets every user enrol a second factor (TOTP), "
            "MANDATORY requires one at sign-in, DISABLED turns it off. Prod refuses DISABLED."
        ),
    )
    sms_second_factor: bool = Field(
        default=False,
        description=(
            "Offer SMS codes as a second factor besides TOTP apps. Off by default: SMS is billed per message and "
            "open to SIM swapping and toll fraud; turn on only where customers need it."
        ),
    )
    totp_adjacent_intervals: int = Field(
        default=1,
        ge=0,
        le=TOTP_MAX_ADJACENT_INTERVALS,
        description="30-second TOTP windows accepted either side of now (0-10): 1 tolerates a slow typist.",
    )
    email_sign_in: bool = Field(
        default=True,
        description=(
            "Email and password sign-in for users outside any enterprise tenant (self-serve sign-ups); a password "
            "is always required (no passwordless email links)."
        ),
    )
    sign_in_backends: list[str] | None = Field(
        default=None,
        description=(
            "The edge backends (keys of edge.hosts) whose hosts are authorized domains for sign-in redirects; "
            "their hosts come from edge.hosts, never written here. Unset: the API's and the developer portal's, "
            "where the edge routes them. Google's own auth handler domain (`<project>.firebaseapp.com`) is always "
            "authorized: the SAML and OIDC callbacks land there."
        ),
    )
    allow_localhost: bool = Field(
        default=False,
        description="Authorize `localhost` for sign-in redirects (a developer's machine): dev only; prod refuses it.",
    )
    activity_logging: bool = Field(
        default=True,
        description=(
            "Identity Platform's activity logs (one entry per end-user request): the sign-in failure and MFA "
            "enrolment metrics and alerts count them. Billed as Cloud Logging ingestion."
        ),
    )
    tenants: list[str] = Field(
        default_factory=list,
        description=(
            "The enterprise customers this stack declares a tenant for, by file name in identity/customers/ "
            "(`acme` for acme.yaml). Example files (`example: true`) are refused in prod."
        ),
    )
    oidc_secrets_added: list[str] = Field(
        default_factory=list,
        description=(
            "OIDC tenants whose client secret has a version in Secret Manager (`<stack>-idp-<tenant>-oidc-secret`, "
            "added by an operator: docs/identity.md). A code-flow OIDC tenant's provider is declared only once listed."
        ),
    )

    @field_validator("tenants", "oidc_secrets_added")
    @classmethod
    def _file_ids(cls, names: list[str]) -> list[str]:
        for name in names:
            if not TENANT_FILE_ID.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a customer file's name: 3 to 32 lowercase letters, digits and '-', starting "
                    "with a letter (identity/customers/<name>.yaml)"
                )
        if len(set(names)) != len(names):
            raise ValueError("a tenant is listed twice")
        return names

    @field_validator("sign_in_backends")
    @classmethod
    def _backends_listed_once(cls, backends: list[str] | None) -> list[str] | None:
        if backends is not None and len(set(backends)) != len(backends):
            raise ValueError("a backend is listed twice")
        return backends


def check_identity_fits(settings: IdentityPlatformSettings, info: ValidationInfo) -> IdentityPlatformSettings:
    """Identity Platform against the rest of the stack: prod's floor, and the edge's hosts it
    authorizes. Each refusal names every key involved."""
    if not settings.enabled:
        return settings
    stack = info.data
    if stack.get("environment") == "prod":
        if settings.mfa == "DISABLED":
            raise ConfigConflict(
                "prod keeps multi-factor authentication on: use ENABLED (users may enrol) or MANDATORY",
                "identityPlatform.mfa",
            )
        if settings.allow_localhost:
            raise ConfigConflict(
                "prod never authorizes localhost for sign-in redirects: anyone's machine could receive a user's tokens",
                "identityPlatform.allowLocalhost",
            )
    stray = [name for name in settings.oidc_secrets_added if name not in settings.tenants]
    if stray:
        raise ConfigConflict(
            f"{', '.join(stray)} in oidcSecretsAdded but not in tenants: list only tenants this stack declares",
            "identityPlatform.oidcSecretsAdded",
            "identityPlatform.tenants",
        )
    edge = stack.get("edge")
    if edge is None or settings.sign_in_backends is None:
        return settings
    known = list(type(edge.hosts).model_fields)
    unknown = [backend for backend in settings.sign_in_backends if backend not in known]
    if unknown:
        raise ConfigConflict(
            f"unknown edge backend {', '.join(map(repr, unknown))}; the edge's backends: {', '.join(known)}",
            "identityPlatform.signInBackends",
        )
    routed = edge.hosts.routed()
    # No host at all is the edge's own refusal (edge.hosts.api), not repeated here.
    if edge.enabled and routed:
        unrouted = [backend for backend in settings.sign_in_backends if backend not in routed]
        if unrouted:
            raise ConfigConflict(
                f"sign-in on {', '.join(unrouted)} but the edge has no host for it: set edge.hosts.{unrouted[0]} or "
                "remove it from identityPlatform.signInBackends",
                "identityPlatform.signInBackends",
                f"edge.hosts.{unrouted[0]}",
            )
    return settings


def authorized_domains(
    settings: IdentityPlatformSettings, edge_enabled: bool, hosts: dict[str, str], project: str
) -> list[str]:
    """The domains Identity Platform accepts sign-in redirects to, in a stable order: Google's auth
    handler domain (the SAML/OIDC callbacks), the sign-in backends' edge hosts (those set, else the
    defaults the edge routes), `localhost` where allowed.
    Without the edge (dev) only the handler domain and `localhost` remain."""
    domains = [f"{project}.firebaseapp.com"]
    backends = settings.sign_in_backends if settings.sign_in_backends is not None else DEFAULT_SIGN_IN_BACKENDS
    if edge_enabled:
        domains += [hosts[backend] for backend in backends if backend in hosts]
    if settings.allow_localhost:
        domains.append("localhost")
    return domains


IdentityPlatformField = Annotated[IdentityPlatformSettings, AfterValidator(check_identity_fits)]
"""The top model's field type: the section, checked against the fields declared before it."""
