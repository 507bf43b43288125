"""The edge: what the HTTPS load balancer served, how fast, what Cloud Armor refused and why,
and how much of the status page the CDN answered from its cache."""

from __future__ import annotations

from observability import catalogue as m
from stackconfig.armor import THROTTLE_PRIORITIES, WAF_PRIORITIES, priority_matcher
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries

FIVE_XX = 'response_code_class="500"'
FOUR_XX = 'response_code_class="400"'
# Cloud CDN's cache results that served from the cache, against every cacheable lookup.
CACHE_HITS = 'cache_result=~"HIT|PARTIAL_HIT|REVALIDATED_HIT"'
CACHE_LOOKUPS = 'cache_result!="DISABLED"'
DENIED = 'outcome="DENY"'
THROTTLED = priority_matcher(THROTTLE_PRIORITIES)
WAF = priority_matcher(WAF_PRIORITIES)
# Above the alerts' thresholds (alerts/edge.py) the share is red.
THROTTLED_WARNING = 0.05
THROTTLED_BAD = 0.1
WAF_WARNING = 0.01
WAF_BAD = 0.02


def rule_legend(facts: MonitoringConfig) -> str:
    """`priority 1000 sqli, 1001 xss, ...`: what each legend's priority means in this stack."""
    return ", ".join(f"{priority} {name}" for priority, name in facts.armor_rules)


def share(selector_matchers: str, by: tuple[str, ...] = ()) -> str:
    return q.ratio(
        q.sum_rate(m.ARMOR_DECISIONS.name, DENIED, selector_matchers, by=by), q.sum_rate(m.ARMOR_DECISIONS.name, by=by)
    )


def build(facts: MonitoringConfig) -> BoardContent:
    requests = m.LB_REQUESTS.name
    rules = rule_legend(facts)
    panels = [
        stat(
            "Requests per second",
            "Requests the HTTPS load balancer served, every host and backend together.",
            [Query(q.sum_rate(requests))],
            style.REQUESTS_PER_SECOND,
        ),
        stat(
            "5xx at the edge",
            "Share of the load balancer's answers that were 5xx, including failures the app "
            "never saw (no backend, timeouts); EdgeHigh5xxRate pages above 5%.",
            [Query(q.ratio(q.sum_rate(requests, FIVE_XX), q.sum_rate(requests)))],
            style.RATIO,
            thresholds=style.thresholds(style.GOOD, (0.01, style.WARNING), (0.05, style.BAD)),
            decimals=2,
        ),
        stat(
            "Throttled share",
            "Share of the API's requests Cloud Armor's throttles refused with 429 (per API key "
            "and per IP without a key).",
            [Query(share(THROTTLED))],
            style.RATIO,
            thresholds=style.thresholds(style.GOOD, (THROTTLED_WARNING, style.WARNING), (THROTTLED_BAD, style.BAD)),
            decimals=2,
        ),
        stat(
            "CDN hit ratio",
            "Share of cacheable lookups (the status page) Cloud CDN answered from its cache.",
            [Query(q.ratio(q.sum_rate(requests, CACHE_HITS), q.sum_rate(requests, CACHE_LOOKUPS)))],
            style.RATIO,
            thresholds=style.thresholds(style.WARNING, (0.5, style.GOOD)),
            decimals=1,
        ),
        timeseries(
            "Requests by backend",
            "Requests per second to each backend (the API, Grafana, the developer portal, the status "
            "page's and the API reference's buckets), as the URL map routed them by host and path.",
            [Query(q.sum_rate(requests, by=("backend_target_name",)), "{{backend_target_name}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Responses by class",
            "Answers per second by status class: 200, 300 (the HTTP to HTTPS "
            "redirect), 400 (429 and 403 from Cloud Armor among them), 500.",
            [Query(q.sum_rate(requests, by=("response_code_class",)), "{{response_code_class}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Latency at the edge",
            "Percentiles of the time from the first request byte to the last "
            "response byte at the load balancer; the line is the API's 500 ms target.",
            [Query(q.quantile(p, m.LB_LATENCIES), f"p{round(p * 100)}") for p in (0.5, 0.95, 0.99)],
            style.MILLISECONDS,
            thresholds=style.latency_thresholds(1000),
        ),
        timeseries(
            "4xx and 5xx share",
            "Shares of the load balancer's answers that were client errors (Cloud "
            "Armor's refusals included) and server errors.",
            [
                Query(q.ratio(q.sum_rate(requests, FOUR_XX), q.sum_rate(requests)), "4xx"),
                Query(q.ratio(q.sum_rate(requests, FIVE_XX), q.sum_rate(requests)), "5xx"),
            ],
            style.RATIO,
            thresholds=style.thresholds(style.GOOD, (0.05, style.BAD)),
        ),
        timeseries(
            "Refused by Cloud Armor, by rule",
            f"Requests per second each rule of the API's policy refused "
            f"(403 WAF and denylist, 429 throttles), by the rule's priority: {rules}.",
            [Query(q.sum_rate(m.ARMOR_DECISIONS.name, DENIED, by=("priority",)), "{{priority}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Would be refused (rules in preview)",
            "Requests per second the rules in preview mode would "
            f"have refused had they been enforced (staging previews every rule), by priority: {rules}.",
            [Query(q.sum_rate(m.ARMOR_PREVIEW_DECISIONS.name, DENIED, by=("priority",)), "{{priority}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Throttled and WAF-blocked shares",
            "Shares of the API's requests refused by the throttles and "
            "by the WAF rule sets; EdgeThrottledShareHigh opens a ticket above 10%, EdgeWafBlocksHigh above 2%.",
            [Query(share(THROTTLED), "throttled"), Query(share(WAF), "WAF")],
            style.RATIO,
            thresholds=style.thresholds(style.GOOD, (WAF_BAD, style.WARNING), (THROTTLED_BAD, style.BAD)),
        ),
        timeseries(
            "CDN hit ratio",
            "Share of the status page's cacheable lookups served from Cloud CDN's cache; "
            "its objects live 30 to 300 seconds, so a share well below half means the cache is bypassed.",
            [Query(q.ratio(q.sum_rate(requests, CACHE_HITS), q.sum_rate(requests, CACHE_LOOKUPS)), "hit ratio")],
            style.RATIO,
            max_value=1,
        ),
    ]
    return BoardContent(panels, ServiceScope(requests, "backend_target_name", "$__all"))
