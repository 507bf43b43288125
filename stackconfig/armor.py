"""Cloud Armor rules as data: the API's policy (denylist, WAF, throttles) and the status page's
edge policy, each rule a small named object turned into the provider's rule block.

Rules are evaluated by priority, lowest first, and the first match acts. The order:

1. the incident denylist (`edge.armor.blockedIpRanges`), so a known-bad source never costs more;
2. the preconfigured WAF rule sets (`<set>-v33-stable`, OWASP CRS 3.3), each at its sensitivity;
3. the per-API-key throttle: requests carrying the key header, counted per key value;
4. the per-IP throttle for requests without a key, so keyless traffic cannot starve tenants
   (a throttle keyed on a header would otherwise put every keyless request into one shared bucket);
5. the default rule: allow.

Per-plan limits (a larger plan, a larger quota) are not expressible here: Cloud Armor counts per
key value but cannot look a key's plan up. The per-key throttle is the ceiling every plan shares;
the application enforces each plan's own quota below it (docs/edge.md, "What the application must do").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .edge import PORTAL_THROTTLE_RULE, THROTTLE_RULES, WAF_RULE_SETS, ArmorSettings, RateLimit

if TYPE_CHECKING:  # the provider's typed dicts; importing pulumi_gcp is not needed to build rules
    from pulumi_gcp.compute import (
        SecurityPolicyRuleArgsDict,
        SecurityPolicyRuleMatchArgsDict,
        SecurityPolicyRuleRateLimitOptionsArgsDict,
    )

DEFAULT_RULE_PRIORITY = 2147483647
DENYLIST_PRIORITY = 100
WAF_FIRST_PRIORITY = 1000
API_KEY_THROTTLE_PRIORITY = 2000
KEYLESS_THROTTLE_PRIORITY = 2100
PORTAL_THROTTLE_PRIORITY = 2200
WAF_VERSION = "v33-stable"
# What a client gets: 403 for a request the WAF or the denylist refuses, 429 past a throttle.
BLOCKED_ACTION = "deny(403)"
THROTTLED_ACTION = "deny(429)"
# Basic match conditions take at most this many ranges per rule.
MAX_RANGES_PER_RULE = 10


@dataclass(frozen=True)
class ArmorRule:
    """One rule: its name (what `edge.armor.previewRules` and the dashboards call it), where it
    sits, what it matches (a CEL expression, or source IP ranges) and what it does."""

    name: str
    priority: int
    action: str
    description: str
    expression: str | None = None
    src_ip_ranges: tuple[str, ...] = ()
    preview: bool = False
    rate_limit: RateLimit | None = None
    enforce_on_key: str | None = None  # IP, HTTP_HEADER, ...
    enforce_on_key_name: str | None = None  # the header, for HTTP_HEADER

    def to_args(self) -> SecurityPolicyRuleArgsDict:
        """The provider's `rules` block (gcp.compute.SecurityPolicyRuleArgs as a dict)."""
        if self.expression is not None:
            match: SecurityPolicyRuleMatchArgsDict = {"expr": {"expression": self.expression}}
        else:
            match = {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": list(self.src_ip_ranges)}}
        block: SecurityPolicyRuleArgsDict = {
            "priority": self.priority,
            "action": self.action,
            "description": self.description,
            "match": match,
            "preview": self.preview,
        }
        if self.rate_limit is not None:
            options: SecurityPolicyRuleRateLimitOptionsArgsDict = {
                "conform_action": "allow",
                "exceed_action": THROTTLED_ACTION,
                "enforce_on_key": self.enforce_on_key,
                "rate_limit_threshold": {"count": self.rate_limit.count, "interval_sec": self.rate_limit.interval_sec},
            }
            if self.enforce_on_key_name is not None:
                options["enforce_on_key_name"] = self.enforce_on_key_name
            block["rate_limit_options"] = options
        return block


def waf_expression(rule_set: str, sensitivity: int) -> str:
    """`evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1})`."""
    return f"evaluatePreconfiguredWaf('{rule_set}-{WAF_VERSION}', {{'sensitivity': {sensitivity}}})"


def has_header(header: str) -> str:
    return f"has(request.headers['{header}'])"


def denylist_rules(ranges: tuple[str, ...], first_priority: int = DENYLIST_PRIORITY) -> list[ArmorRule]:
    """The incident denylist, ten ranges a rule (the limit of a basic match)."""
    chunks = [ranges[i : i + MAX_RANGES_PER_RULE] for i in range(0, len(ranges), MAX_RANGES_PER_RULE)]
    return [
        ArmorRule(
            name=f"denylist-{index}",
            priority=first_priority + index,
            action=BLOCKED_ACTION,
            description="Incident denylist (edge.armor.blockedIpRanges)",
            src_ip_ranges=chunk,
        )
        for index, chunk in enumerate(chunks)
    ]


def default_rule() -> ArmorRule:
    return ArmorRule(
        name="default",
        priority=DEFAULT_RULE_PRIORITY,
        action="allow",
        description="Everything no rule above refused",
        src_ip_ranges=("*",),
    )


def waf_rules(settings: ArmorSettings) -> list[ArmorRule]:
    """The preconfigured WAF rule sets, each at its sensitivity, in preview where configured."""
    preview = set(settings.preview_rules)
    sensitivity = settings.waf.model_dump()
    return [
        ArmorRule(
            name=rule_set,
            priority=WAF_FIRST_PRIORITY + index,
            action=BLOCKED_ACTION,
            description=f"WAF {rule_set}-{WAF_VERSION}, sensitivity {sensitivity[rule_set]}",
            expression=waf_expression(rule_set, sensitivity[rule_set]),
            preview=rule_set in preview,
        )
        for index, rule_set in enumerate(WAF_RULE_SETS)
    ]


def api_rules(settings: ArmorSettings) -> list[ArmorRule]:
    """Every rule of the API's policy, in priority order."""
    preview = set(settings.preview_rules)
    waf = waf_rules(settings)
    header = settings.api_key_header
    per_key, keyless = THROTTLE_RULES
    throttles = [
        ArmorRule(
            name=per_key,
            priority=API_KEY_THROTTLE_PRIORITY,
            action="throttle",
            description=(
                f"Per API key ({header}): {settings.per_api_key.count} per {settings.per_api_key.interval_sec}s"
            ),
            expression=has_header(header),
            preview=per_key in preview,
            rate_limit=settings.per_api_key,
            enforce_on_key="HTTP_HEADER",
            enforce_on_key_name=header,
        ),
        ArmorRule(
            name=keyless,
            priority=KEYLESS_THROTTLE_PRIORITY,
            action="throttle",
            description=(
                f"Per client IP without an API key: {settings.per_ip_without_key.count} per "
                f"{settings.per_ip_without_key.interval_sec}s"
            ),
            expression=f"!{has_header(header)}",
            preview=keyless in preview,
            rate_limit=settings.per_ip_without_key,
            enforce_on_key="IP",
        ),
    ]
    return [*denylist_rules(tuple(settings.blocked_ip_ranges)), *waf, *throttles, default_rule()]


def portal_rules(settings: ArmorSettings) -> list[ArmorRule]:
    """The developer portal's policy: the denylist and the WAF as the API has them, then one
    throttle per client IP (a browser carries no API key: the API's per-key rule does not apply)."""
    limit = settings.per_ip_portal
    throttle = ArmorRule(
        name=PORTAL_THROTTLE_RULE,
        priority=PORTAL_THROTTLE_PRIORITY,
        action="throttle",
        description=f"Per client IP on the portal: {limit.count} per {limit.interval_sec}s",
        src_ip_ranges=("*",),
        preview=PORTAL_THROTTLE_RULE in settings.preview_rules,
        rate_limit=limit,
        enforce_on_key="IP",
    )
    return [*denylist_rules(tuple(settings.blocked_ip_ranges)), *waf_rules(settings), throttle, default_rule()]


def edge_rules(settings: ArmorSettings) -> list[ArmorRule]:
    """The status page's edge policy: evaluated before the CDN cache, it takes source IPs and
    regions only, so it carries the incident denylist and the default allow."""
    return [*denylist_rules(tuple(settings.blocked_ip_ranges)), default_rule()]


# Priorities by kind, as the logs (and so the dashboards and alerts) see them.
WAF_PRIORITIES = tuple(WAF_FIRST_PRIORITY + index for index in range(len(WAF_RULE_SETS)))
THROTTLE_PRIORITIES = (API_KEY_THROTTLE_PRIORITY, KEYLESS_THROTTLE_PRIORITY)


def priority_matcher(priorities: tuple[int, ...]) -> str:
    """A PromQL matcher on the log-based metrics' `priority` label: `priority=~"2000|2100"`."""
    return f'priority=~"{"|".join(str(p) for p in priorities)}"'


def rule_names_by_priority(rules: list[ArmorRule]) -> dict[int, str]:
    """Priority -> rule name: Cloud Armor's logs name a rule by its priority."""
    return {rule.priority: rule.name for rule in rules}
