"""Settings of the edge: the HTTPS load balancer, its hosts, Cloud Armor and Cloud CDN.

Every default is the production choice. The hosts have none: they are the stack's own domain
names, so a stack with the edge on names them (prod and staging), and dev turns the edge off.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .errors import ConfigConflict
from .model_base import ConfigModel

# RFC 1035 labels (letters, digits, inner hyphens, 1-63 characters), at least two of them, a
# top-level label that is not all digits, 253 characters at most: what a certificate's DNS name
# and a URL map host rule take. Lowercase only: hosts are compared as written.
FQDN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
FQDN = re.compile(rf"^(?:{FQDN_LABEL}\.)+(?=[a-z0-9-]*[a-z])(?:{FQDN_LABEL})$")
FQDN_MAX_LENGTH = 253
# Cloud Armor's rate limit intervals (rateLimitOptions.rateLimitThreshold.intervalSec).
RATE_LIMIT_INTERVALS = (10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600)
# HTTP header names (RFC 9110 tokens), lowercase as Cloud Armor's `request.headers` keys are.
HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")
# The preconfigured WAF rule sets the API's policy evaluates (OWASP CRS 3.3, `<set>-v33-stable`).
WAF_RULE_SETS = ("sqli", "xss", "lfi", "rce", "scannerdetection", "protocolattack")
# Cloud Armor takes a sensitivity of 0 to 4 for every rule set (0 enables no signature: turn a set
# off in preview instead); a level above a set's highest signature adds nothing.
WAF_MAX_SENSITIVITY = 4
# Rules of the API's policy that a stack may run in preview (logged, not enforced).
THROTTLE_RULES = ("api-key-throttle", "keyless-ip-throttle")
# The developer portal's own policy: the same denylist and WAF sets, and a per-IP throttle of its own.
PORTAL_THROTTLE_RULE = "portal-ip-throttle"
ARMOR_RULE_NAMES = (*WAF_RULE_SETS, *THROTTLE_RULES, PORTAL_THROTTLE_RULE)


def check_fqdn(host: str) -> str:
    """A fully qualified, lowercase domain name, as a certificate and a host rule take it."""
    if len(host) > FQDN_MAX_LENGTH or not FQDN.fullmatch(host):
        raise ValueError(
            f"{host!r} is not a fully qualified domain name: lowercase labels of letters, digits and inner "
            "hyphens joined by dots, like api.omni.example (no scheme, port, path, wildcard or trailing dot)"
        )
    return host


class EdgeHosts(ConfigModel):
    """One host name per backend of the load balancer. The API's is required while the edge is on;
    a backend without a host is not routed (Grafana then keeps its own run.app URL behind IAP)."""

    api: str | None = Field(default=None, description="The API's public host, like `api.omni.example`. Required.")
    grafana: str | None = Field(
        default=None, description="Grafana's host (behind IAP), like `grafana.omni.example`; unset: not routed."
    )
    status: str | None = Field(
        default=None,
        description=(
            "The status page's host (Cloud CDN in front of its bucket), like `status.omni.example`; unset: not routed."
        ),
    )

    portal: str | None = Field(
        default=None,
        description=(
            "The developer portal's host (its Cloud Run service, and the API reference under `/reference/` through "
            "Cloud CDN), like `portal.omni.example`; required while the edge and the portal are on."
        ),
    )

    @field_validator("api", "grafana", "status", "portal")
    @classmethod
    def _fully_qualified(cls, host: str | None) -> str | None:
        return None if host is None else check_fqdn(host)

    @model_validator(mode="after")
    def _one_backend_per_host(self) -> EdgeHosts:
        seen: dict[str, str] = {}
        for backend, host in self.routed().items():
            if host in seen:
                raise ValueError(
                    f"{host!r} is the host of both {seen[host]} and {backend}: the URL map routes a host to one "
                    "backend; give each its own name"
                )
            seen[host] = backend
        return self

    def routed(self) -> dict[str, str]:
        """Backend name -> host, for the backends that have one."""
        return {backend: host for backend, host in self.model_dump().items() if host is not None}


class RateLimit(ConfigModel):
    """At most `count` requests per `intervalSec` seconds from one client; the excess gets 429."""

    count: int = Field(ge=1, le=1_000_000, description="Requests allowed per interval (1 or more).")
    interval_sec: int = Field(
        default=60,
        description=f"The interval in seconds, one of Cloud Armor's: {', '.join(map(str, RATE_LIMIT_INTERVALS))}.",
    )

    @field_validator("interval_sec")
    @classmethod
    def _armor_interval(cls, interval: int) -> int:
        if interval not in RATE_LIMIT_INTERVALS:
            raise ValueError(f"Cloud Armor counts over {', '.join(map(str, RATE_LIMIT_INTERVALS))} seconds only")
        return interval


class WafSensitivity(ConfigModel):
    """The sensitivity (OWASP paranoia level) of each preconfigured WAF rule set: 1 enables only the
    highest-confidence signatures (fewest false positives); higher levels add more signatures."""

    sqli: int = Field(default=1, ge=1, le=WAF_MAX_SENSITIVITY, description="SQL injection (1-4).")
    xss: int = Field(default=1, ge=1, le=WAF_MAX_SENSITIVITY, description="Cross-site scripting (1-4).")
    lfi: int = Field(default=1, ge=1, le=WAF_MAX_SENSITIVITY, description="Local file inclusion (1-4).")
    rce: int = Field(default=1, ge=1, le=WAF_MAX_SENSITIVITY, description="Remote code execution (1-4).")
    scannerdetection: int = Field(default=1, ge=1, le=WAF_MAX_SENSITIVITY, description="Scanner detection (1-4).")
    protocolattack: int = Field(default=1, ge=1, le=WAF_MAX_SENSITIVITY, description="Protocol attacks (1-4).")


class ArmorSettings(ConfigModel):
    """Cloud Armor on the API's backend: the WAF, the throttles, Adaptive Protection."""

    api_key_header: str = Field(
        default="x-api-key",
        description="The header clients send their API key in (lowercase): the per-key throttle counts by its value.",
    )
    per_api_key: RateLimit = Field(
        default_factory=lambda: RateLimit(count=600, interval_sec=60),
        description="Throttle per API key (the header's value): 600 requests a minute by default, every plan alike.",
    )
    per_ip_without_key: RateLimit = Field(
        default_factory=lambda: RateLimit(count=60, interval_sec=60),
        description=(
            "Throttle per client IP of requests without an API key (health checks, sign-in, probes), so keyless "
            "traffic cannot starve the tenants: 60 a minute by default."
        ),
    )
    per_ip_portal: RateLimit = Field(
        default_factory=lambda: RateLimit(count=300, interval_sec=60),
        description=(
            "Throttle per client IP on the developer portal's host (pages, sign-in, its calls): 300 a minute by "
            "default, room for a browser session and several people behind one NAT."
        ),
    )
    waf: WafSensitivity = Field(default_factory=WafSensitivity, description="Sensitivity of each WAF rule set.")
    preview_rules: list[str] = Field(
        default_factory=list,
        description=(
            "Rules that only log what they would do (Cloud Armor preview mode): a new rule runs here first. "
            f"Names: {', '.join(ARMOR_RULE_NAMES)}. Prod enforces every rule by default."
        ),
    )
    blocked_ip_ranges: list[str] = Field(
        default_factory=list,
        description=(
            "The incident denylist: source IPs or CIDR ranges refused (403) before any other rule, on the API and "
            "at the CDN's edge. Empty by default."
        ),
    )
    adaptive_protection: bool = Field(
        default=True,
        description="Adaptive Protection (layer 7 DDoS defense): learns the API's traffic and alerts on attacks.",
    )

    @field_validator("api_key_header")
    @classmethod
    def _header_name(cls, header: str) -> str:
        if not HEADER_NAME.fullmatch(header):
            raise ValueError(f"{header!r} is not a lowercase HTTP header name, like x-api-key")
        return header

    @field_validator("blocked_ip_ranges")
    @classmethod
    def _ip_ranges(cls, ranges: list[str]) -> list[str]:
        for value in ranges:
            try:
                ipaddress.ip_network(value, strict=True)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not an IP address or CIDR range with its host bits zero, like 203.0.113.0/24"
                ) from None
        if len(set(ranges)) != len(ranges):
            raise ValueError("a range is listed twice")
        return ranges

    @field_validator("preview_rules")
    @classmethod
    def _known_rules(cls, rules: list[str]) -> list[str]:
        unknown = [rule for rule in rules if rule not in ARMOR_RULE_NAMES]
        if unknown:
            raise ValueError(f"unknown rule {', '.join(map(repr, unknown))}; the rules: {', '.join(ARMOR_RULE_NAMES)}")
        if len(set(rules)) != len(rules):
            raise ValueError("a rule is listed twice")
        return rules


class CdnSettings(ConfigModel):
    """Cloud CDN in front of the status page's bucket. The page is regenerated every minute, so
    TTLs stay short; objects' own Cache-Control (30-300 s, set by the publisher) wins up to `maxTtlSec`."""

    default_ttl_sec: int = Field(
        default=30, ge=0, le=3600, description="How long an object without Cache-Control is cached (seconds)."
    )
    max_ttl_sec: int = Field(default=300, ge=0, le=86400, description="The longest any object is cached (seconds).")
    serve_while_stale_sec: int = Field(
        default=60,
        ge=0,
        le=86400,
        description="How long a stale copy is still served while the bucket cannot be reached (seconds).",
    )

    @model_validator(mode="after")
    def _ttls_ordered(self) -> CdnSettings:
        if self.default_ttl_sec > self.max_ttl_sec:
            raise ValueError(
                f"defaultTtlSec {self.default_ttl_sec} is above maxTtlSec {self.max_ttl_sec}: Cloud CDN refuses it"
            )
        return self


SslProfile = Literal["MODERN", "RESTRICTED"]


class EdgeSettings(ConfigModel):
    """The public front door: one global external Application Load Balancer for every public host."""

    enabled: bool = Field(
        default=True,
        description=(
            "The HTTPS load balancer, certificates, Cloud Armor and CDN. With it on the API takes traffic only "
            "through the load balancer (no run.app URL). Dev turns it off."
        ),
    )
    hosts: EdgeHosts = Field(default_factory=EdgeHosts, description="One host name per backend (see EdgeHosts).")
    ssl_profile: SslProfile = Field(
        default="MODERN",
        description="The TLS policy's profile (with TLS 1.2 at least): MODERN, or RESTRICTED (stricter).",
    )
    log_sample_rate: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description=(
            "Share of the API's requests the load balancer logs (0-1). Cloud Armor's decisions by rule are counted "
            "from these logs, so below 1 the dashboard's blocked and throttled counts are that share of the truth."
        ),
    )
    armor: ArmorSettings = Field(default_factory=ArmorSettings, description="Cloud Armor (see ArmorSettings).")
    cdn: CdnSettings = Field(
        default_factory=CdnSettings, description="Cloud CDN for the status page (see CdnSettings)."
    )

    @field_validator("hosts")
    @classmethod
    def _api_host_required(cls, hosts: EdgeHosts, info: ValidationInfo) -> EdgeHosts:
        if info.data.get("enabled", True) and hosts.api is None:
            raise ValueError(
                "the edge is on and needs the API's host: set hosts.api (like api.omni.example), "
                "or turn the edge off with edge.enabled false"
            )
        return hosts


LOAD_BALANCER_INGRESS = "internal-and-cloud-load-balancing"


def check_edge_fits(edge: EdgeSettings, stack: dict) -> EdgeSettings:
    """The edge against the rest of the stack (`stack`: the top model's fields validated so far).
    Each refusal names every key involved (`ConfigConflict`), so the loader prints each one's fix."""
    api = stack.get("api")
    if edge.enabled and api is not None:
        if "ingress" in api.model_fields_set and api.ingress != LOAD_BALANCER_INGRESS:
            raise ConfigConflict(
                f"api.ingress {api.ingress!r} with the edge on: the API then takes traffic only through the load "
                f"balancer ({LOAD_BALANCER_INGRESS}); remove api.ingress, or turn the edge off with edge.enabled false",
                "api.ingress",
                "edge.enabled",
            )
        if not api.public:
            raise ConfigConflict(
                "api.public false with the edge on: the load balancer calls the API without credentials, so every "
                "request would be refused; keep api.public true (Cloud Armor and the API's keys guard it)",
                "api.public",
                "edge.enabled",
            )
    grafana, status_page = stack.get("grafana"), stack.get("status_page")
    if edge.hosts.grafana is not None and grafana is not None and not grafana.enabled:
        raise ConfigConflict(
            "edge.hosts.grafana is set but grafana.enabled is false: remove the host or turn Grafana on",
            "edge.hosts.grafana",
            "grafana.enabled",
        )
    if edge.hosts.status is not None and status_page is not None and not status_page.enabled:
        raise ConfigConflict(
            "edge.hosts.status is set but statusPage.enabled is false: remove the host or turn the status page on",
            "edge.hosts.status",
            "statusPage.enabled",
        )
    portal = stack.get("portal")
    if portal is not None and edge.hosts.portal is not None and not portal.enabled:
        raise ConfigConflict(
            "edge.hosts.portal is set but portal.enabled is false: remove the host or turn the portal on",
            "edge.hosts.portal",
            "portal.enabled",
        )
    if portal is not None and edge.enabled and portal.enabled and edge.hosts.portal is None:
        raise ConfigConflict(
            "the portal is on behind the edge but has no host: it would take traffic only from a load balancer that "
            "does not route to it; set edge.hosts.portal (like portal.omni.example), or turn the portal off with "
            "portal.enabled false",
            "edge.hosts.portal",
            "portal.enabled",
        )
    return edge
