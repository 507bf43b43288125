"""Cost per request: Cloud Run's billable instance time priced at the published per-vCPU-second
and per-GiB-second rates for the API's configured size, plus the per-request fee, over requests."""

from __future__ import annotations

from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries

SECONDS_PER_HOUR = 3600
SECONDS_PER_30_DAYS = 30 * 24 * 3600


def spend_per_second(facts: MonitoringConfig) -> str:
    """USD per second: billable instance-seconds per second x the price of one, plus request fees."""
    price = style.instance_second_price(facts.api_vcpus, facts.api_memory_gib)
    billable = q.sum_rate(m.RUN_BILLABLE_TIME.name)
    requests = q.sum_rate(m.RUN_REQUESTS.name)
    return f"({billable} * {price:.6g} + {requests} * {style.CLOUD_RUN_USD_PER_REQUEST:.6g})"


def cost_per_thousand_requests(facts: MonitoringConfig) -> str:
    return f"1000 * {q.ratio(spend_per_second(facts), q.sum_rate(m.RUN_REQUESTS.name))}"


def build(facts: MonitoringConfig) -> BoardContent:
    price = style.instance_second_price(facts.api_vcpus, facts.api_memory_gib)
    basis = (
        f"Priced for the API's size in {facts.stack}: {facts.api_vcpus:g} vCPU and {facts.api_memory_gib:g} GiB "
        f"at ${style.CLOUD_RUN_USD_PER_VCPU_SECOND:.8f} per vCPU-second and "
        f"${style.CLOUD_RUN_USD_PER_GIB_SECOND:.8f} per "
        f"GiB-second (${price:.8f} per instance-second), plus ${style.CLOUD_RUN_USD_PER_REQUEST * 1e6:.2f} per "
        f"million requests; list prices before free tier and discounts, from {style.CLOUD_RUN_PRICES_SOURCE}."
    )
    panels = [
        stat(
            "Cost per 1,000 requests",
            f"Compute and request fees per thousand requests. {basis}",
            [Query(cost_per_thousand_requests(facts))],
            style.USD,
            decimals=4,
            width=8,
        ),
        stat(
            "Spend rate per hour",
            f"What the service costs per hour at the current rate. {basis}",
            [Query(f"{SECONDS_PER_HOUR} * {spend_per_second(facts)}")],
            style.USD,
            decimals=2,
            width=8,
        ),
        stat(
            "30 days at this rate",
            f"The spend rate projected over 30 days. {basis}",
            [Query(f"{SECONDS_PER_30_DAYS} * {spend_per_second(facts)}")],
            style.USD,
            decimals=0,
            width=8,
        ),
        timeseries(
            "Cost per 1,000 requests",
            f"Cost per thousand requests over time; it falls as instances fill up with concurrent requests. {basis}",
            [Query(cost_per_thousand_requests(facts), "USD")],
            style.USD,
        ),
        timeseries(
            "Billable instances",
            "Billable instance time per second: the number of instances being "
            "billed (with request-based billing, only while they serve requests).",
            [Query(q.sum_rate(m.RUN_BILLABLE_TIME.name), "billable instances")],
            style.COUNT,
        ),
        timeseries(
            "Requests per second",
            "Requests Cloud Run served: the denominator of the cost per request.",
            [Query(q.sum_rate(m.RUN_REQUESTS.name), "requests")],
            style.REQUESTS_PER_SECOND,
        ),
        timeseries(
            "Spend rate per hour",
            f"USD per hour over time. {basis}",
            [Query(f"{SECONDS_PER_HOUR} * {spend_per_second(facts)}", "USD per hour")],
            style.USD,
        ),
    ]
    return BoardContent(
        panels, ServiceScope(m.RUN_BILLABLE_TIME.name, "service_name", facts.api_service), time_from="now-7d"
    )
