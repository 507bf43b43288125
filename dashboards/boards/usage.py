"""Usage and quota: who calls the API (requests per tenant, the owner of an API key), how many
billable units each tenant uses against its plan's monthly quota, who is refused for quota, and
which endpoints. Quota use is projected from the current rate over 30 days, as the cost board
projects spend: a tenant at 100% uses its month's quota in 30 days at this rate."""

from __future__ import annotations

from observability import catalogue as m

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, table, timeseries
from ..stack import StackFacts


def per_tenant(*matchers: str) -> str:
    return q.sum_rate(m.TENANT_REQUESTS.name, *matchers, by=("tenant",))


SECONDS_PER_30_DAYS = 30 * 24 * 3600
QUOTA_WARNING = 0.8
QUOTA_REFUSED = 'code="429"'


def units_per_tenant() -> str:
    return q.sum_rate(m.TENANT_UNITS.name, by=("tenant", "unit_kind"))


def quota_share_at_this_rate() -> str:
    """Units per second x 30 days over the monthly quota, per tenant and unit kind."""
    quota = f"max by (tenant, unit_kind) ({q.selector(m.TENANT_QUOTA.name)})"
    return q.ratio(f"{SECONDS_PER_30_DAYS} * {units_per_tenant()}", quota)


def build(facts: StackFacts) -> BoardContent:
    quota_thresholds = style.thresholds(style.GOOD, (QUOTA_WARNING, style.WARNING), (1.0, style.BAD))
    panels = [
        stat("Active tenants", "Tenants that sent at least one request in the last interval.",
             [Query(f"count ({per_tenant()} > 0)")], style.COUNT, width=8),
        stat("Requests per second", "All tenants' requests per second.",
             [Query(q.sum_rate(m.TENANT_REQUESTS.name))], style.REQUESTS_PER_SECOND, width=8),
        stat("Busiest tenant's share", "The largest tenant's share of all requests: how much one customer "
             "could hurt the others.", [Query(q.ratio(f"max ({per_tenant()})", q.sum_rate(m.TENANT_REQUESTS.name)))],
             style.RATIO, decimals=1, width=8),
        timeseries("Requests per tenant (top 10)", "Requests per second of the ten busiest tenants.",
                   [Query(q.top(10, per_tenant()), "{{tenant}}")], style.REQUESTS_PER_SECOND),
        timeseries("Requests per endpoint (top 10)", "Requests per second of the ten busiest routes.",
                   [Query(q.top(10, q.sum_rate(m.HTTP_REQUESTS.name, by=("route", "method"))), "{{method}} {{route}}")],
                   style.REQUESTS_PER_SECOND),
        table("Top tenants", "The twenty busiest tenants right now, in requests per second.",
              [Query(q.top(20, per_tenant()), instant=True)], style.REQUESTS_PER_SECOND),
        table("Top endpoints", "The twenty busiest routes right now, in requests per second.",
              [Query(q.top(20, q.sum_rate(m.HTTP_REQUESTS.name, by=("route", "method"))), instant=True)],
              style.REQUESTS_PER_SECOND),
        stat("Tenants near their quota",
             f"Tenants using over {QUOTA_WARNING:.0%} of a monthly quota at the current rate.",
             [Query(f"count (max by (tenant) ({quota_share_at_this_rate()}) > {QUOTA_WARNING:g})")], style.COUNT,
             thresholds=style.thresholds(style.GOOD, (1, style.WARNING)), width=8),
        stat("Billable units per second", "Units all tenants use per second, as published in usage events.",
             [Query(q.sum_rate(m.TENANT_UNITS.name))], style.OPS_PER_SECOND, width=8),
        stat("Refused for quota", "Share of requests the API refused with 429 because a tenant's quota ran out.",
             [Query(q.ratio(q.sum_rate(m.TENANT_REQUESTS.name, QUOTA_REFUSED), q.sum_rate(m.TENANT_REQUESTS.name)))],
             style.RATIO, decimals=2, width=8),
        timeseries("Billable units per tenant (top 10)", "Units per second of the ten biggest users, by unit kind.",
                   [Query(q.top(10, units_per_tenant()), "{{tenant}} {{unit_kind}}")], style.OPS_PER_SECOND),
        timeseries("Quota used at this rate (top 10)", "Share of the monthly quota each tenant would use in 30 days at "
                   "its current rate; above 100% it will be refused (429) before the month ends.",
                   [Query(q.top(10, quota_share_at_this_rate()), "{{tenant}} {{unit_kind}}")], style.RATIO,
                   thresholds=quota_thresholds),
        table("Tenants by quota use", "The twenty tenants closest to their quota at the current rate.",
              [Query(q.top(20, quota_share_at_this_rate()), instant=True)], style.RATIO, thresholds=quota_thresholds),
        timeseries("Refused for quota per tenant (top 10)", "Requests per second refused with 429 for the ten tenants "
                   "refused most: a customer to talk to about their plan.",
                   [Query(q.top(10, per_tenant(QUOTA_REFUSED)), "{{tenant}}")], style.REQUESTS_PER_SECOND),
        timeseries("Server error ratio per tenant (top 10)", "The ten tenants with the highest share of 5xx "
                   "answers: an outage one customer feels before the totals move.",
                   [Query(q.top(10, q.ratio(per_tenant(q.SERVER_ERRORS), per_tenant())), "{{tenant}}")],
                   style.RATIO, thresholds=style.error_ratio_thresholds(), width=24),
    ]
    return BoardContent(panels, ServiceScope(m.TENANT_REQUESTS.name, "service", facts.api_service), time_from="now-24h")
