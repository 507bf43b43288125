"""Identity Platform for the product's users: the project's sign-in config, and a tenant per
enterprise customer with its SAML or OIDC identity provider.

- `<name>-config`: multi-tenancy allowed, MFA (TOTP apps; SMS only where asked), email and
  password sign-in with a password always required, no anonymous or phone sign-in, authorized
  domains from the edge's hosts (stackconfig/identity_platform.py), and activity logging, which
  the sign-in and MFA metrics below count. Google cannot delete this config: removing it from
  the program only stops managing it.
- per customer file (identity/customers/<id>.yaml) the stack lists: the tenant `<name>-<id>`
  (SSO only: no password sign-up, no email links) and its provider, `saml.<id>` or `oidc.<id>`.
  A code-flow OIDC provider's client secret lives in Secret Manager (`<name>-<id>-oidc-secret`,
  its version added by an operator, never in the repository or the stack file); the provider is
  declared once the stack says the version exists (`identityPlatform.oidcSecretsAdded`).
- log-based metrics of the activity logs: sign-in attempts and failures, MFA enrolments
  (alerts/identity.py, dashboards/boards/security.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from identity.tenants import SelectedTenant
from observability import catalogue as m
from stackconfig.identity_platform import MfaState

REQUIRED_APIS = ("identitytoolkit.googleapis.com",)
# The activity log of end-user requests (https://cloud.google.com/identity-platform/docs/activity-logging).
ACTIVITY_LOG = "identitytoolkit.googleapis.com%2Frequests"
# Every way a user completes a sign-in: first factors (password, SAML/OIDC, custom token, email
# link, phone) and the second factor; the `method` label is the part after the service name.
SIGN_IN_METHODS = r"AuthenticationService\.SignIn|MfaSignInService\.FinalizeMfaSignIn"
MFA_ENROLMENT_METHOD = r"MfaEnrollmentService\.FinalizeMfaEnrollment"
METHOD_EXTRACTOR = r'REGEXP_EXTRACT(protoPayload.methodName, "\.([A-Za-z]+)$")'
# The error Google gives, like INVALID_LOGIN_CREDENTIALS or INVALID_MFA_PENDING_CREDENTIAL.
REASON_EXTRACTOR = r'REGEXP_EXTRACT(protoPayload.status.message, "^([A-Z_]+)")'


@dataclass(frozen=True)
class IdentityPlatformArgs:
    project: str
    """The project Identity Platform is initialized in (the stack's)."""
    authorized_domains: Sequence[str]
    """Domains sign-in may redirect to: Google's handler domain and the edge's sign-in hosts
    (`stackconfig.identity_platform.authorized_domains`), never written by hand."""
    tenants: Sequence[SelectedTenant] = ()
    """The customers' tenants this stack declares, from their reviewed files."""
    mfa: MfaState = "ENABLED"
    """MFA project-wide: ENABLED (users may enrol a TOTP app), MANDATORY, or DISABLED."""
    sms_second_factor: bool = False
    """Also offer SMS codes as a second factor (billed per message, weaker than TOTP)."""
    totp_adjacent_intervals: int = 1
    """30-second TOTP windows accepted either side of now."""
    email_sign_in: bool = True
    """Email and password sign-in outside the tenants; a password is always required."""
    activity_logging: bool = True
    """Identity Platform's activity logs, and the log-based metrics that count them."""
    protect: bool = True
    """Pulumi `protect` and the provider's `deletion_policy: PREVENT` on the config and every
    tenant: deleting a tenant deletes its users."""


def log_metric_filter(project: str, methods: str, *, failed: bool | None) -> str:
    """The Logging query of one metric: the activity log's entries of `methods`, failed ones
    (`status.code` above 0), successful ones, or all of them."""
    parts = [f'logName="projects/{project}/logs/{ACTIVITY_LOG}"', f'protoPayload.methodName=~"{methods}"']
    if failed is True:
        parts.append("protoPayload.status.code>0")
    elif failed is False:
        parts.append("NOT protoPayload.status.code>0")
    return " AND ".join(parts)


def _user_metric_id(metric: m.Metric) -> str:
    """The log-based metric's id: its Prometheus name without `logging_googleapis_com:user_`."""
    return metric.name.removeprefix(m.LOG_METRIC_PREFIX)


class IdentityPlatform(pulumi.ComponentResource):
    """`<name>-config`, the tenants `<name>-<id>` with their providers, and the activity metrics."""

    config: gcp.identityplatform.Config
    tenants: dict[str, gcp.identityplatform.Tenant]
    tenant_ids: dict[str, pulumi.Output[str]]
    """Tenant ids Google generated, by customer file id: what the sign-in UI passes as `tenantId`."""
    client_secrets: dict[str, gcp.secretmanager.Secret]

    def __init__(self, name: str, args: IdentityPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:identity:IdentityPlatform", name, None, opts)
        child = child_options(self, opts)
        stateful = child_options(self, opts, protect=args.protect)
        deletion_policy = "PREVENT" if args.protect else "DELETE"
        mfa_on = args.mfa != "DISABLED"
        self.config = gcp.identityplatform.Config(
            f"{name}-config",
            project=args.project,
            authorized_domains=list(args.authorized_domains),
            multi_tenant=gcp.identityplatform.ConfigMultiTenantArgs(allow_tenants=True),
            mfa=gcp.identityplatform.ConfigMfaArgs(
                state=args.mfa,
                enabled_providers=["PHONE_SMS"] if mfa_on and args.sms_second_factor else None,
                provider_configs=[
                    gcp.identityplatform.ConfigMfaProviderConfigArgs(
                        state="ENABLED" if mfa_on else "DISABLED",
                        totp_provider_config=gcp.identityplatform.ConfigMfaProviderConfigTotpProviderConfigArgs(
                            adjacent_intervals=args.totp_adjacent_intervals
                        ),
                    )
                ],
            ),
            sign_in=gcp.identityplatform.ConfigSignInArgs(
                allow_duplicate_emails=False,
                email=gcp.identityplatform.ConfigSignInEmailArgs(enabled=args.email_sign_in, password_required=True),
                phone_number=gcp.identityplatform.ConfigSignInPhoneNumberArgs(enabled=False),
                anonymous=gcp.identityplatform.ConfigSignInAnonymousArgs(enabled=False),
            ),
            monitoring=gcp.identityplatform.ConfigMonitoringArgs(
                request_logging=gcp.identityplatform.ConfigMonitoringRequestLoggingArgs(enabled=args.activity_logging)
            ),
            autodelete_anonymous_users=True,
            opts=stateful,
        )
        # Tenants need multi-tenancy allowed first.
        after_config = pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[self.config]))
        self.tenants, self.client_secrets = {}, {}
        callback = f"https://{args.project}.firebaseapp.com/__/auth/handler"
        for selected in args.tenants:
            customer = selected.tenant
            tenant = gcp.identityplatform.Tenant(
                f"{name}-{customer.id}",
                project=args.project,
                display_name=customer.display_name,
                # Enterprise users sign in through their company's IdP only.
                allow_password_signup=False,
                enable_email_link_signin=False,
                disable_auth=False,
                deletion_policy=deletion_policy,
                opts=after_config,
            )
            self.tenants[customer.id] = tenant
            provider_opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[tenant]))
            if customer.saml is not None:
                gcp.identityplatform.TenantInboundSamlConfig(
                    f"{name}-{customer.id}-saml",
                    project=args.project,
                    tenant=tenant.name,
                    name=customer.provider_id,
                    display_name=customer.display_name,
                    enabled=True,
                    idp_config=gcp.identityplatform.TenantInboundSamlConfigIdpConfigArgs(
                        idp_entity_id=customer.saml.idp_entity_id,
                        sso_url=customer.saml.sso_url,
                        sign_request=customer.saml.sign_request,
                        idp_certificates=[
                            gcp.identityplatform.TenantInboundSamlConfigIdpConfigIdpCertificateArgs(
                                x509_certificate=pem
                            )
                            for pem in customer.saml.certificates
                        ],
                    ),
                    # What the customer enters in their IdP: our entity id and the assertion consumer URL.
                    sp_config=gcp.identityplatform.TenantInboundSamlConfigSpConfigArgs(
                        sp_entity_id=args.project, callback_uri=callback
                    ),
                    deletion_policy=deletion_policy,
                    opts=provider_opts,
                )
            elif customer.oidc is not None:
                client_secret: pulumi.Output[str] | None = None
                if customer.needs_client_secret:
                    secret = gcp.secretmanager.Secret(
                        f"{name}-{customer.id}-oidc-secret",
                        project=args.project,
                        secret_id=f"{name}-{customer.id}-oidc-secret",
                        replication=gcp.secretmanager.SecretReplicationArgs(
                            auto=gcp.secretmanager.SecretReplicationAutoArgs()
                        ),
                        deletion_protection=args.protect,
                        opts=stateful,
                    )
                    self.client_secrets[customer.id] = secret
                    if not selected.client_secret_added:
                        pulumi.log.warn(
                            f"identityPlatform.oidcSecretsAdded does not list {customer.id!r}: its OIDC provider "
                            f"{customer.provider_id} is not declared until the client secret has a version "
                            f"(`gcloud secrets versions add {name}-{customer.id}-oidc-secret --data-file=-`, "
                            "docs/identity.md)",
                            resource=self,
                        )
                        continue
                    # Read at deploy time by the deployer, which may read the stack's own secrets only.
                    client_secret = pulumi.Output.secret(
                        gcp.secretmanager.get_secret_version_output(
                            project=args.project, secret=secret.secret_id, opts=pulumi.InvokeOutputOptions(parent=self)
                        ).secret_data
                    )
                gcp.identityplatform.TenantOauthIdpConfig(
                    f"{name}-{customer.id}-oidc",
                    project=args.project,
                    tenant=tenant.name,
                    name=customer.provider_id,
                    display_name=customer.display_name,
                    enabled=True,
                    issuer=customer.oidc.issuer,
                    client_id=customer.oidc.client_id,
                    client_secret=client_secret,
                    deletion_policy=deletion_policy,
                    opts=provider_opts,
                )

        if args.activity_logging:
            self._activity_metrics(name, args, child)
        self.tenant_ids = {customer: tenant.name for customer, tenant in self.tenants.items()}
        self.register_outputs({"tenant_ids": self.tenant_ids})

    def _activity_metrics(self, name: str, args: IdentityPlatformArgs, child: pulumi.ResourceOptions) -> None:
        method_label = gcp.logging.MetricMetricDescriptorLabelArgs(
            key="method", value_type="STRING", description="The sign-in or MFA step"
        )
        reason_label = gcp.logging.MetricMetricDescriptorLabelArgs(
            key="reason", value_type="STRING", description="Google's error, like INVALID_LOGIN_CREDENTIALS"
        )
        metrics = (
            (m.IDENTITY_SIGN_INS, SIGN_IN_METHODS, None, False, "Sign-in attempts (every outcome), by step"),
            (m.IDENTITY_SIGN_IN_FAILURES, SIGN_IN_METHODS, True, True, "Failed sign-ins, by step and error"),
            (m.IDENTITY_MFA_ENROLMENTS, MFA_ENROLMENT_METHOD, False, False, "Second factors enrolled, by step"),
        )
        for metric, methods, failed, with_reason, description in metrics:
            metric_id = _user_metric_id(metric)
            gcp.logging.Metric(
                f"{name}-{metric_id.replace('_', '-')}",
                project=args.project,
                name=metric_id,
                description=f"Identity Platform: {description}, from its activity logs",
                filter=log_metric_filter(args.project, methods, failed=failed),
                metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(
                    metric_kind="DELTA",
                    value_type="INT64",
                    unit="1",
                    labels=[method_label, *([reason_label] if with_reason else [])],
                ),
                label_extractors={
                    "method": METHOD_EXTRACTOR,
                    **({"reason": REASON_EXTRACTOR} if with_reason else {}),
                },
                opts=child,
            )
