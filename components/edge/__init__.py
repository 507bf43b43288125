"""The edge: one global external Application Load Balancer (EXTERNAL_MANAGED) in front of every
public host, with Google-managed certificates, Cloud Armor and Cloud CDN.

- **Front end**: a static global IPv4 address; HTTPS on 443 (a target HTTPS proxy with the
  certificate map and a MODERN TLS policy, TLS 1.2 at least) and HTTP on 80, whose own URL map
  only redirects to HTTPS (301), so no request is ever served in clear text.
- **Routing**: a URL map with one host rule per backend (`edge.hosts`): the API, Grafana, the
  status page, the developer portal; a bucket may also be served under a path of another host
  (`bucket_paths`: the API reference at `/reference/` of the portal's host).
  A request for an unknown host goes to the API's backend, through the same Cloud Armor policy.
- **Backends**: a serverless NEG per Cloud Run service (serverless NEGs take no health check:
  Cloud Run reports its own health), each in a backend service; the API's carries the Cloud Armor
  policy (`armor.py`) and logs every request; another service may get a policy of its own
  (`service_policies`: the portal's WAF, denylist and per-IP throttle); Grafana's stays behind
  IAP, enabled on the Cloud Run service itself (IAP cannot be on both, and the service's IAP
  covers the load balancer's path too).
  The status page's bucket is a backend bucket with Cloud CDN (short TTLs) and an edge policy.
- **Certificates**: Certificate Manager, one Google-managed certificate per host with a DNS
  authorization, selected by a certificate map. DNS authorization rather than a managed SSL
  certificate: the certificate is issued before DNS points at the load balancer (no downtime when
  moving a live host), renewals do not depend on the load balancer answering the CA's HTTP
  challenge, and a host added later gets its own certificate without replacing the others
  (a `ManagedSslCertificate` is immutable: any domain change replaces it).
- **Names**: no child sets `name`; Pulumi names each one from its logical name plus a random
  suffix. A NEG in use by a backend service cannot be deleted, and a certificate or address cannot
  be re-created under the same name while the old one exists: with generated names, a replacement
  creates the new resource, repoints its users, and only then deletes the old one.
- **Observability**: two log-based metrics count the API policy's decisions by rule priority and
  outcome (enforced and preview) from the load balancer's request logs, for the edge dashboard
  and alerts (Cloud Monitoring has no per-rule Cloud Armor metric); Cloud Monitoring's load
  balancer metrics give requests, latency and CDN hits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.options import child_options
from stackconfig.armor import ArmorRule, api_rules, edge_rules
from stackconfig.edge import EdgeSettings

REQUIRED_APIS = ("compute.googleapis.com", "certificatemanager.googleapis.com", "logging.googleapis.com")
SCHEME = "EXTERNAL_MANAGED"
MIN_TLS_VERSION = "TLS_1_2"
# The backend whose policy is Cloud Armor's full set; the others are routed without it.
API_BACKEND = "api"
# Log-based metrics of Cloud Armor's decisions (Managed Prometheus: logging_googleapis_com:user_<name>).
ARMOR_DECISIONS_METRIC = "edge_armor_decisions"
ARMOR_PREVIEW_METRIC = "edge_armor_preview_decisions"
LB_LOG_FILTER = 'resource.type="http_load_balancer"'
PATH_PREFIX = re.compile(r"^/[a-z0-9][a-z0-9-]*$")


def armor_log_metric_filter(field_name: str, policy: str) -> str:
    """The load balancer's request logs that carry a decision of the API's policy in `field_name`
    (`enforcedSecurityPolicy` or `previewSecurityPolicy`)."""
    return f'{LB_LOG_FILTER} AND jsonPayload.{field_name}.name="{policy}"'


def armor_label_extractors(field_name: str) -> dict[str, str]:
    return {
        "policy": f"EXTRACT(jsonPayload.{field_name}.name)",
        "priority": f"EXTRACT(jsonPayload.{field_name}.priority)",
        "outcome": f"EXTRACT(jsonPayload.{field_name}.outcome)",
    }


def check_routes(hosts: Mapping[str, str], services: Mapping[str, Any], buckets: Mapping[str, Any]) -> None:
    """Every host names a backend the args provide, exactly once, and the API has one."""
    both = set(services) & set(buckets)
    if both:
        raise ValueError(f"backend {', '.join(sorted(both))} is both a service and a bucket: give each one kind")
    unknown = sorted(set(hosts) - set(services) - set(buckets))
    if unknown:
        raise ValueError(f"host for backend {', '.join(unknown)}, which the edge was not given")
    if API_BACKEND not in hosts or API_BACKEND not in services:
        raise ValueError("the edge needs the API: a host (edge.hosts.api) and its Cloud Run service")


@dataclass(frozen=True)
class BucketPath:
    """A bucket served through Cloud CDN under a path of another backend's host: requests for
    `<prefix>/...` on that host read the object `<prefix minus its slash>/...` (the API reference
    at `/reference/` on the portal's host)."""

    host_backend: str
    """The backend whose host carries the path (`portal`)."""
    prefix: str
    """`/reference`: the path and the objects' folder."""
    bucket: pulumi.Input[str]
    """The public bucket (objects readable by name)."""

    def __post_init__(self) -> None:
        if not PATH_PREFIX.fullmatch(self.prefix):
            raise ValueError(f"path prefix {self.prefix!r}: one segment like /reference (lowercase, no trailing slash)")


def check_bucket_paths(hosts: Mapping[str, str], bucket_paths: Mapping[str, BucketPath], taken: set[str]) -> None:
    """Each path-routed bucket has a backend name of its own and sits on a routed host."""
    for backend, path in bucket_paths.items():
        if backend in taken:
            raise ValueError(f"backend {backend} is both a path-routed bucket and a host's backend: rename one")
        if path.host_backend not in hosts:
            raise ValueError(
                f"bucket {backend} is routed under {path.prefix} of backend {path.host_backend}, which has no host"
            )


@dataclass(frozen=True)
class EdgeArgs:
    project: str
    region: str
    """The region of the Cloud Run services (their serverless NEGs are regional)."""
    settings: EdgeSettings
    """Hosts, TLS profile, Cloud Armor, CDN: see `stackconfig.edge.EdgeSettings`."""
    services: Mapping[str, pulumi.Input[str]]
    """Backend name -> Cloud Run service name (`api`, `grafana`, later `portal`)."""
    buckets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Backend name -> Cloud Storage bucket served through Cloud CDN (`status`)."""
    bucket_paths: Mapping[str, BucketPath] = field(default_factory=dict)
    """Backend name -> a bucket served through Cloud CDN under a path of another host (`reference`)."""
    service_policies: Mapping[str, Sequence[ArmorRule]] = field(default_factory=dict)
    """Backend name -> the rules of its own Cloud Armor policy (the portal's: `portal_rules`).
    The API's policy is always `settings.armor`'s; a service in neither has none (Grafana: IAP)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the address, the certificates and the policies (the provider adds the stack's)."""

    def __post_init__(self) -> None:
        hosts = self.settings.hosts.routed()
        check_routes(hosts, self.services, self.buckets)
        check_bucket_paths(hosts, self.bucket_paths, {*self.services, *self.buckets})
        unknown = sorted(set(self.service_policies) - set(self.services))
        if unknown or API_BACKEND in self.service_policies:
            raise ValueError(f"own Cloud Armor policy for {', '.join(unknown) or API_BACKEND}: not a non-API service")


class Edge(pulumi.ComponentResource):
    """The load balancer, its certificates, Cloud Armor policies and CDN for `args.settings.hosts`."""

    address: gcp.compute.GlobalAddress
    armor: gcp.compute.SecurityPolicy
    backends: dict[str, gcp.compute.BackendService | gcp.compute.BackendBucket]
    dns_authorizations: dict[str, gcp.certificatemanager.DnsAuthorization]
    ip_address: pulumi.Output[str]
    urls: dict[str, str]
    dns_records: pulumi.Output[list[dict[str, str]]]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:edge:Edge", name, None, opts)
        settings = args.settings
        hosts = settings.hosts.routed()
        child = child_options(self, opts)
        labels = dict(args.labels)

        # --- Cloud Armor -------------------------------------------------------------------
        self.armor = gcp.compute.SecurityPolicy(
            f"{name}-armor",
            project=args.project,
            description="The API's WAF, throttles and denylist (managed by Pulumi)",
            type="CLOUD_ARMOR",
            rules=[rule.to_args() for rule in api_rules(settings.armor)],
            adaptive_protection_config={
                "layer7_ddos_defense_config": {
                    "enable": settings.armor.adaptive_protection,
                    "rule_visibility": "STANDARD",
                }
            },
            # JSON bodies are parsed, so the WAF inspects their values rather than the raw text (fewer
            # false positives on the API's JSON payloads).
            advanced_options_config={"json_parsing": "STANDARD", "log_level": "NORMAL"},
            labels=labels,
            opts=child,
        )
        edge_policy = (
            gcp.compute.SecurityPolicy(
                f"{name}-cdn-armor",
                project=args.project,
                description="Before the CDN cache: the incident denylist (managed by Pulumi)",
                type="CLOUD_ARMOR_EDGE",
                rules=[rule.to_args() for rule in edge_rules(settings.armor)],
                labels=labels,
                opts=child,
            )
            if args.buckets or args.bucket_paths
            else None
        )
        # Every other public service's own policy (the portal's), named `<name>-<backend>-armor`.
        policies = {
            backend: gcp.compute.SecurityPolicy(
                f"{name}-{backend}-armor",
                project=args.project,
                description=f"{backend}: the WAF, its throttle and the denylist (managed by Pulumi)",
                type="CLOUD_ARMOR",
                rules=[rule.to_args() for rule in rules],
                advanced_options_config={"json_parsing": "STANDARD", "log_level": "NORMAL"},
                labels=labels,
                opts=child,
            )
            for backend, rules in sorted(args.service_policies.items())
            if backend in hosts
        }

        # --- backends ------------------------------------------------------------------------
        self.backends = {}
        for backend, service in args.services.items():
            if backend not in hosts:
                continue
            neg = gcp.compute.RegionNetworkEndpointGroup(
                f"{name}-{backend}-neg",
                project=args.project,
                region=args.region,
                network_endpoint_type="SERVERLESS",
                cloud_run={"service": service},
                opts=child,
            )
            armored = backend == API_BACKEND
            policy = self.armor if armored else policies.get(backend)
            self.backends[backend] = gcp.compute.BackendService(
                f"{name}-{backend}-backend",
                project=args.project,
                description=f"{backend} on Cloud Run (managed by Pulumi)",
                load_balancing_scheme=SCHEME,
                backends=[{"group": neg.id}],
                security_policy=policy.id if policy is not None else None,
                # The API's every request is logged: Cloud Armor's decisions are counted from these logs.
                log_config={"enable": True, "sample_rate": settings.log_sample_rate if armored else 1.0},
                opts=child,
            )
        cdn = settings.cdn
        served_buckets = {
            **{backend: bucket for backend, bucket in args.buckets.items() if backend in hosts},
            **{backend: path.bucket for backend, path in args.bucket_paths.items()},
        }
        for backend, bucket in served_buckets.items():
            self.backends[backend] = gcp.compute.BackendBucket(
                f"{name}-{backend}-backend",
                project=args.project,
                description=f"{backend} from Cloud Storage through Cloud CDN (managed by Pulumi)",
                bucket_name=bucket,
                enable_cdn=True,
                compression_mode="AUTOMATIC",
                cdn_policy={
                    # Objects' own Cache-Control wins (the publisher sets 30-300 s); max_ttl caps it.
                    "cache_mode": "CACHE_ALL_STATIC",
                    "default_ttl": cdn.default_ttl_sec,
                    "client_ttl": cdn.default_ttl_sec,
                    "max_ttl": cdn.max_ttl_sec,
                    "serve_while_stale": cdn.serve_while_stale_sec,
                    "negative_caching": True,
                    "request_coalescing": True,
                },
                edge_security_policy=edge_policy.id if edge_policy is not None else None,
                opts=child,
            )

        # --- routing -------------------------------------------------------------------------
        url_map = gcp.compute.URLMap(
            f"{name}-urls",
            project=args.project,
            description="Public hosts to their backends (managed by Pulumi)",
            default_service=self.backends[API_BACKEND].id,
            host_rules=[{"hosts": [host], "path_matcher": backend} for backend, host in sorted(hosts.items())],
            path_matchers=[self._path_matcher(backend, args.bucket_paths) for backend in sorted(hosts)],
            opts=child,
        )
        redirect_map = gcp.compute.URLMap(
            f"{name}-https-redirect",
            project=args.project,
            description="HTTP to HTTPS, for every host (managed by Pulumi)",
            default_url_redirect={
                "https_redirect": True,
                "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT",
                "strip_query": False,
            },
            opts=child,
        )

        # --- certificates --------------------------------------------------------------------
        self.dns_authorizations = {}
        certificates = {}
        for backend, host in sorted(hosts.items()):
            authorization = gcp.certificatemanager.DnsAuthorization(
                f"{name}-{backend}-dns-auth",
                project=args.project,
                location="global",
                domain=host,
                description=f"Proves control of {host} for its certificate (managed by Pulumi)",
                labels=labels,
                opts=child,
            )
            self.dns_authorizations[backend] = authorization
            certificates[backend] = gcp.certificatemanager.Certificate(
                f"{name}-{backend}-cert",
                project=args.project,
                location="global",
                description=f"Google-managed certificate of {host} (managed by Pulumi)",
                managed={"domains": [host], "dns_authorizations": [authorization.id]},
                labels=labels,
                opts=child,
            )
        certificate_map = gcp.certificatemanager.CertificateMap(
            f"{name}-certs",
            project=args.project,
            description="The edge's certificates by host (managed by Pulumi)",
            labels=labels,
            opts=child,
        )
        entries = [
            gcp.certificatemanager.CertificateMapEntry(
                f"{name}-{backend}-cert-entry",
                project=args.project,
                map=certificate_map.name,
                hostname=host,
                certificates=[certificates[backend].id],
                labels=labels,
                # One entry per hostname in a map: the old one goes before its replacement comes.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
            )
            for backend, host in sorted(hosts.items())
        ]

        # --- front end -----------------------------------------------------------------------
        tls_policy = gcp.compute.SSLPolicy(
            f"{name}-tls",
            project=args.project,
            description="TLS 1.2 or later with forward-secret AEAD ciphers (managed by Pulumi)",
            profile=settings.ssl_profile,
            min_tls_version=MIN_TLS_VERSION,
            opts=child,
        )
        self.address = gcp.compute.GlobalAddress(
            f"{name}-ip",
            project=args.project,
            description="The edge's public address: every host's A record (managed by Pulumi)",
            address_type="EXTERNAL",
            ip_version="IPV4",
            labels=labels,
            opts=child,
        )
        https_proxy = gcp.compute.TargetHttpsProxy(
            f"{name}-https",
            project=args.project,
            url_map=url_map.id,
            certificate_map=certificate_map.id.apply(lambda map_id: f"//certificatemanager.googleapis.com/{map_id}"),
            ssl_policy=tls_policy.id,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=entries)),
        )
        http_proxy = gcp.compute.TargetHttpProxy(
            f"{name}-http", project=args.project, url_map=redirect_map.id, opts=child
        )
        for port, proxy in (("443", https_proxy), ("80", http_proxy)):
            gcp.compute.GlobalForwardingRule(
                f"{name}-{'https' if port == '443' else 'http'}-rule",
                project=args.project,
                target=proxy.id,
                ip_address=self.address.address,
                ip_protocol="TCP",
                port_range=port,
                load_balancing_scheme=SCHEME,
                labels=labels,
                opts=child,
            )

        # --- Cloud Armor's decisions, counted from the request logs ----------------------------
        for metric_name, field_name, what in (
            (ARMOR_DECISIONS_METRIC, "enforcedSecurityPolicy", "enforced"),
            (ARMOR_PREVIEW_METRIC, "previewSecurityPolicy", "preview (logged, not enforced)"),
        ):
            gcp.logging.Metric(
                f"{name}-{metric_name.replace('_', '-')}",
                project=args.project,
                name=metric_name,
                description=f"Cloud Armor's {what} decisions at the edge, by policy, rule priority and outcome",
                filter=self.armor.name.apply(
                    lambda policy, field_name=field_name: armor_log_metric_filter(field_name, policy)
                ),
                metric_descriptor={
                    "metric_kind": "DELTA",
                    "value_type": "INT64",
                    "unit": "1",
                    "labels": [
                        {"key": "policy", "value_type": "STRING", "description": "Security policy name"},
                        {"key": "priority", "value_type": "STRING", "description": "Priority of the rule that matched"},
                        {"key": "outcome", "value_type": "STRING", "description": "ACCEPT or DENY"},
                    ],
                },
                label_extractors=armor_label_extractors(field_name),
                opts=child,
            )

        self.ip_address = self.address.address
        self.urls = {backend: f"https://{host}/" for backend, host in hosts.items()}
        self.dns_records = self._dns_records(hosts)
        self.register_outputs({"ip_address": self.ip_address, "urls": self.urls, "dns_records": self.dns_records})

    def _path_matcher(
        self, backend: str, bucket_paths: Mapping[str, BucketPath]
    ) -> gcp.compute.URLMapPathMatcherArgsDict:
        """One host's matcher: its backend by default, and the buckets served under its paths."""
        matcher: gcp.compute.URLMapPathMatcherArgsDict = {
            "name": backend,
            "default_service": self.backends[backend].id,
        }
        if rules := self._path_rules(backend, bucket_paths):
            matcher["path_rules"] = rules
        return matcher

    def _path_rules(
        self, host_backend: str, bucket_paths: Mapping[str, BucketPath]
    ) -> list[gcp.compute.URLMapPathMatcherPathRuleArgsDict]:
        """The path rules of one host: `<prefix>/*` to its bucket; `<prefix>` alone redirects to
        `<prefix>/`, which the bucket's website config serves as `<prefix>/index.html`."""
        rules: list[gcp.compute.URLMapPathMatcherPathRuleArgsDict] = []
        for backend, path in sorted(bucket_paths.items()):
            if path.host_backend != host_backend:
                continue
            rules.append({"paths": [f"{path.prefix}/*"], "service": self.backends[backend].id})
            rules.append(
                {
                    "paths": [path.prefix],
                    "url_redirect": {
                        "path_redirect": f"{path.prefix}/",
                        "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT",
                        "strip_query": False,
                    },
                }
            )
        return rules

    def _dns_records(self, hosts: Mapping[str, str]) -> pulumi.Output[list[dict[str, str]]]:
        """What the domain's owner must publish: an A record per host, and the CNAME that proves
        control of it to Certificate Manager (docs/edge.md)."""
        a_records = self.address.address.apply(
            lambda ip: [{"name": f"{host}.", "type": "A", "data": ip} for _, host in sorted(hosts.items())]
        )
        challenges = [
            authorization.dns_resource_records.apply(
                lambda records: [
                    {"name": r.name or "", "type": r.type or "", "data": r.data or ""} for r in records or []
                ]
            )
            for _, authorization in sorted(self.dns_authorizations.items())
        ]
        return pulumi.Output.all(a_records, *challenges).apply(
            lambda parts: [record for part in parts for record in part]
        )
