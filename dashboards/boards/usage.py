"""Usage: who calls the API (requests per tenant, the owner of an API key) and which endpoints."""

from __future__ import annotations

from observability import catalogue as m

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, table, timeseries
from stackconfig.monitoring import MonitoringConfig


def per_tenant(*matchers: str) -> str:
    return q.sum_rate(m.TENANT_REQUESTS.name, *matchers, by=("tenant",))


def build(facts: MonitoringConfig) -> BoardContent:
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
        timeseries("Server error ratio per tenant (top 10)", "The ten tenants with the highest share of 5xx "
                   "answers: an outage one customer feels before the totals move.",
                   [Query(q.top(10, q.ratio(per_tenant(q.SERVER_ERRORS), per_tenant())), "{{tenant}}")],
                   style.RATIO, thresholds=style.error_ratio_thresholds(), width=24),
    ]
    return BoardContent(panels, ServiceScope(m.TENANT_REQUESTS.name, "service", facts.api_service), time_from="now-24h")
