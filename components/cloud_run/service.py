"""The Omni API as a Cloud Run service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from stackconfig.cloud_run_sizing import instance_limits
from stackconfig.platform import ApiConfig

from .containers import (
    APP_CONTAINER,
    PORT,
    ContainerSpec,
    check_workload_name,
    container_env,
    http_probe,
    serving_resources,
    vpc_access,
)
from .sidecars import SecretFile, Sidecar, check_sidecars, secret_volumes, sidecar_container

INVOKER_ROLE = "roles/run.invoker"

INGRESS: Mapping[str, str] = {
    "all": "INGRESS_TRAFFIC_ALL",
    "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
    "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
}
LOAD_BALANCER_INGRESS = "internal-and-cloud-load-balancing"


def ingress(setting: str) -> str:
    """The Cloud Run ingress value for the config's `api.ingress`."""
    try:
        return INGRESS[setting]
    except KeyError:
        raise ValueError(f"ingress {setting!r}: expected one of {', '.join(INGRESS)}") from None


@dataclass(frozen=True)
class ApiServiceArgs:
    region: str
    """Region of the service: the network's and the database's."""
    container: ContainerSpec
    """Image, identity, network and environment."""
    settings: ApiConfig = field(default_factory=ApiConfig)
    """Scaling, size, concurrency, ingress, public access and the health path; see `ApiConfig`."""
    deletion_protection: bool = True
    """The provider refuses to delete the service while on; off only for disposable stacks."""
    sidecars: Sequence[Sidecar] = ()
    """Helper containers beside the API (the metrics collector); none by default."""
    secret_files: Sequence[SecretFile] = ()
    """Secret versions the sidecars mount as files."""
    behind_load_balancer: bool = False
    """The edge is in front (components/edge): traffic only through the load balancer
    (`internal-and-cloud-load-balancing`, whatever `settings.ingress` says) and no run.app URL,
    so nothing reaches the API around Cloud Armor."""

    def __post_init__(self) -> None:
        # Refused here, before the component declares anything.
        instance_limits("api", self.settings.cpu, self.settings.memory, self.sidecars)
        ingress(self.settings.ingress)
        check_sidecars(self.sidecars, self.secret_files)


class ApiService(pulumi.ComponentResource):
    """The Omni API: a gen2 Cloud Run service on port 8080 with startup and liveness probes,
    Direct VPC egress, secrets from Secret Manager, and public invocation when configured."""

    service: gcp.cloudrunv2.Service
    invoker: gcp.cloudrunv2.ServiceIamMember | None
    uri: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: ApiServiceArgs, opts: pulumi.ResourceOptions | None = None):
        check_workload_name(name)
        super().__init__("omni:run:ApiService", name, None, opts)
        settings = args.settings
        self.service = gcp.cloudrunv2.Service(
            f"{name}-service",
            name=name,
            location=args.region,
            description="Omni API (managed by Pulumi)",
            labels={"service": "api"},
            ingress=ingress(LOAD_BALANCER_INGRESS if args.behind_load_balancer else settings.ingress),
            default_uri_disabled=args.behind_load_balancer or None,
            deletion_protection=args.deletion_protection,
            # Service-level maximum: it caps the instances of every revision together, so the
            # database connection budget (max instances x pool) holds during a rollout too.
            scaling={"max_instance_count": settings.max_instances},
            template=self._template(args),
            opts=child_options(self, opts),
        )
        self.invoker = None
        if settings.public:
            # Unauthenticated callers through IAM (not `invoker_iam_disabled`), so that the grant
            # is a reviewable resource and turning `public` off removes it.
            self.invoker = gcp.cloudrunv2.ServiceIamMember(
                f"{name}-public-invoker",
                name=self.service.name,
                location=args.region,
                role=INVOKER_ROLE,
                member="allUsers",
                opts=child_options(self, opts),
            )
        self.uri = self.service.uri
        self.name = self.service.name
        self.register_outputs({"uri": self.uri, "name": self.name})

    @staticmethod
    def _template(args: ApiServiceArgs) -> gcp.cloudrunv2.ServiceTemplateArgsDict:
        settings = args.settings
        spec = args.container
        # Request-based billing throttles the CPU between requests, when the collectors scrape
        # and export: with them, the whole instance keeps its CPU (instance-based billing, as
        # Google recommends for the Managed Prometheus sidecar). Without, the API works only
        # inside requests and pays per request; warm instances (min_instances) still avoid cold starts.
        cpu_idle = not args.sidecars
        template: gcp.cloudrunv2.ServiceTemplateArgsDict = {
            "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
            "service_account": spec.service_account_email,
            "max_instance_request_concurrency": settings.concurrency,
            "scaling": {"min_instance_count": settings.min_instances},
            "vpc_access": vpc_access(spec),
            "containers": [
                {
                    "name": APP_CONTAINER,
                    "image": spec.image,
                    "ports": {"container_port": PORT},
                    "envs": container_env(spec),
                    "resources": serving_resources(
                        instance_limits("api", settings.cpu, settings.memory, args.sidecars), cpu_idle=cpu_idle
                    ),
                    # Direct VPC egress may take a minute or more to connect a new instance:
                    # up to 2 minutes (24 x 5 s) to pass before the instance is failed.
                    "startup_probe": http_probe(
                        settings.health_path,
                        PORT,
                        initial_delay_seconds=0,
                        period_seconds=5,
                        timeout_seconds=3,
                        failure_threshold=24,
                    ),
                    # Restart an instance that stops answering for about 45 s.
                    "liveness_probe": http_probe(
                        settings.health_path, PORT, period_seconds=15, timeout_seconds=5, failure_threshold=3
                    ),
                },
                # The same CPU allocation as the API's container: Cloud Run bills the instance.
                *(sidecar_container(sidecar, app_probed=True, cpu_idle=cpu_idle) for sidecar in args.sidecars),
            ],
        }
        if args.secret_files:
            template["volumes"] = secret_volumes(args.secret_files)
        return template
