"""The developer portal on Cloud Run: the `omni-portal` image from the stack's registry, run as an
account of its own that holds nothing but (optionally) read access to Identity Platform's browser
key, behind the edge on its own host.

- **Identity**: `<name>` (`omni-prod-portal`). No project role: the portal calls the API over the
  edge like any client (with the signed-in user's credentials), reads no database, cache, bucket or
  API secret, and logs to stdout (Cloud Run ships it without a role on the account). With
  `identity.api_key_secret` set it may access that one secret.
- **Ingress**: behind the edge, `internal-and-cloud-load-balancing` and no run.app URL, so every
  request passes the portal's Cloud Armor policy; without the edge (dev) its run.app URL.
- **Invocation**: public through IAM (`allUsers` may invoke), as the load balancer calls without
  credentials; the portal authenticates its users itself (Identity Platform).
- **Egress**: Direct VPC egress like every workload, so its calls (to the API over the edge, to
  Identity Platform) leave through the stack's NAT under the VPC's firewall rules.
- **Probes**: startup and liveness on `health_path` (docs/portal-contract.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.cloud_run import (
    APP_CONTAINER,
    INGRESS,
    INVOKER_ROLE,
    PORT,
    VPC_EGRESS,
    check_env_names,
    check_workload_name,
    http_probe,
    resource_limits,
    serving_resources,
)
from components.cloud_run.env import env_vars
from components.options import child_options
from stackconfig.portal import PORTAL_IMAGE, PortalSettings

__all__ = ["PORTAL_IMAGE", "Portal", "PortalArgs", "portal_env"]

REQUIRED_APIS = ("run.googleapis.com", "iam.googleapis.com", "storage.googleapis.com")
LOAD_BALANCER_INGRESS = "internal-and-cloud-load-balancing"
SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
# What the portal reads the Identity Platform web API key as (docs/portal-contract.md).
IDENTITY_KEY_ENV = "IDENTITY_PLATFORM_API_KEY"


def portal_env(
    *,
    environment: str,
    release: str | None,
    project: str,
    api_url: pulumi.Input[str],
    reference_url: pulumi.Input[str],
    public_url: str | None,
    tenant_id: str | None,
) -> dict[str, pulumi.Input[str]]:
    """The portal's plain environment (docs/portal-contract.md is this function in prose)."""
    env: dict[str, pulumi.Input[str]] = {
        "OMNI_ENV": environment,
        "PORTAL_RELEASE": release or "placeholder",
        "OMNI_API_URL": api_url,
        "API_REFERENCE_URL": reference_url,
        "IDENTITY_PLATFORM_PROJECT": project,
    }
    if public_url is not None:
        env["PORTAL_PUBLIC_URL"] = public_url
    if tenant_id is not None:
        env["IDENTITY_PLATFORM_TENANT_ID"] = tenant_id
    return env


@dataclass(frozen=True)
class PortalArgs:
    project: str
    region: str
    image: pulumi.Input[str]
    """The portal's image (`Registry.image("omni-portal", release)`), or the placeholder."""
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    """Direct VPC egress like every workload: its calls leave through the stack's NAT, under the
    VPC's firewall rules (components/cloud_run/containers.py `VPC_EGRESS`)."""
    settings: PortalSettings = field(default_factory=PortalSettings)
    """Sizing, probes and Identity Platform settings; see `stackconfig.portal.PortalSettings`."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain settings (the API's and the reference's addresses); secrets never go here."""
    behind_load_balancer: bool = True
    """The edge is in front: load balancer ingress only and no run.app URL. False only where the
    edge is off (dev), where the portal answers on its run.app URL."""
    deletion_protection: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        resource_limits(self.settings.cpu, self.settings.memory)
        check_env_names(self.env, self._secret_env())

    def _secret_env(self) -> dict[str, str]:
        secret = self.settings.identity.api_key_secret
        return {IDENTITY_KEY_ENV: secret} if secret else {}


class Portal(pulumi.ComponentResource):
    """The portal's account, Cloud Run service and public invoker grant."""

    account: gcp.serviceaccount.Account
    service: gcp.cloudrunv2.Service
    name: pulumi.Output[str]
    uri: pulumi.Output[str]
    email: pulumi.Output[str]

    def __init__(self, name: str, args: PortalArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:portal:Portal", name, None, opts)
        child = child_options(self, opts)
        settings = args.settings

        self.account = gcp.serviceaccount.Account(
            f"{name}-account",
            project=args.project,
            account_id=name,
            display_name=f"Omni developer portal ({name})",
            description="Runtime identity of the developer portal: no project role; managed by Pulumi",
            opts=child,
        )
        secret_env = args._secret_env()
        grants = [
            gcp.secretmanager.SecretIamMember(
                f"{name}-identity-key-accessor",
                project=args.project,
                secret_id=secret,
                role=SECRET_ACCESSOR_ROLE,
                member=self.account.member,
                opts=child,
            )
            for secret in secret_env.values()
        ]
        behind = args.behind_load_balancer
        self.service = gcp.cloudrunv2.Service(
            f"{name}-service",
            name=name,
            project=args.project,
            location=args.region,
            description="Omni developer portal (managed by Pulumi)",
            labels={**args.labels, "service": "portal"},
            ingress=INGRESS[LOAD_BALANCER_INGRESS if behind else "all"],
            default_uri_disabled=behind or None,
            deletion_protection=args.deletion_protection,
            scaling={"max_instance_count": settings.max_instances},
            template={
                "service_account": self.account.email,
                "max_instance_request_concurrency": settings.concurrency,
                "scaling": {"min_instance_count": settings.min_instances},
                "vpc_access": {
                    "network_interfaces": [{"network": args.network_id, "subnetwork": args.subnet_id}],
                    "egress": VPC_EGRESS,
                },
                "containers": [
                    {
                        "name": APP_CONTAINER,
                        "image": args.image,
                        "ports": {"container_port": PORT},
                        "envs": env_vars(args.env, secret_env),
                        # Request-based billing: the portal works only inside requests.
                        "resources": serving_resources(resource_limits(settings.cpu, settings.memory), cpu_idle=True),
                        "startup_probe": http_probe(
                            settings.health_path, PORT, period_seconds=5, timeout_seconds=3, failure_threshold=12
                        ),
                        "liveness_probe": http_probe(
                            settings.health_path, PORT, period_seconds=15, timeout_seconds=5, failure_threshold=3
                        ),
                    }
                ],
            },
            # The grant first: a revision that cannot read its secret never becomes ready.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=grants)),
        )
        # The load balancer calls without credentials; the portal signs its users in itself.
        gcp.cloudrunv2.ServiceIamMember(
            f"{name}-public-invoker",
            project=args.project,
            name=self.service.name,
            location=args.region,
            role=INVOKER_ROLE,
            member="allUsers",
            opts=child,
        )
        self.name = self.service.name
        self.uri = self.service.uri
        self.email = self.account.email
        self.register_outputs({"name": self.name, "uri": self.uri, "email": self.email})
