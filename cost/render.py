"""The estimate as text, JSON, a diff's cost delta and the pull-request comment's cost line.
Every function returns a string (or lines) and never prints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cost.coverage import Billing
from cost.model import PerRequest, StackEstimate

MOVERS = 3  # biggest movers named in a diff's cost line


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def usd_fine(amount: float) -> str:
    """Small amounts (a request's cost) with enough digits to compare."""
    return f"${amount:.6f}"


def render_text(estimate: StackEstimate, *, details: bool = True) -> str:
    lines = [
        f"omni cost: stack {estimate.stack} ({estimate.region}), monthly estimate in USD at list prices",
        "",
        f"  total     {usd(estimate.total):>12}",
        f"  fixed     {usd(estimate.fixed):>12}   (provisioned: paid whatever the traffic)",
        f"  variable  {usd(estimate.variable):>12}   (grows with the traffic profile below)",
        "",
        "Per component (nearest component above each resource):",
    ]
    for component, amount in estimate.by_component().items():
        lines.append(f"  {usd(amount):>12}  {component}")
    if details:
        lines += ["", "Per resource:"]
        width = max((len(item.resource) for item in estimate.items), default=10)
        for item in estimate.items:
            price = "UNPRICED" if item.unit_price is None else usd(item.monthly)
            mark = "" if item.verified else " *"
            lines.append(
                f"  {price:>12}  {item.resource:<{width}}  {item.what}: {item.quantity:,.4g} {item.unit}{mark}"
            )
    lines += _coverage_lines(estimate)
    lines += _price_lines(estimate)
    lines += ["", "Assumptions (traffic profile; change with options or --profile FILE):"]
    for name, value, description in estimate.profile.assumptions():
        lines.append(f"  {name} = {value}  ({description})")
    lines.append(f"  => mean request duration with the cache: {estimate.profile.mean_duration_with_cache_ms:.2f} ms")
    lines += ["", *LEFT_OUT]
    for note in estimate.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


LEFT_OUT = [
    "Left out: taxes, negotiated discounts, committed use and sustained use discounts, free tiers",
    "(Cloud Run, logging, Trace, uptime checks, Scheduler, Artifact Registry), egress the graph cannot",
    "see (internet, cross-region), log ingestion, support plans and PagerDuty seats.",
]


def _coverage_lines(estimate: StackEstimate) -> list[str]:
    counts = dict.fromkeys(Billing, 0)
    for billing in estimate.coverage.types.values():
        if billing is not None:
            counts[billing.billing] += 1
    lines = [
        "",
        f"Coverage: {estimate.coverage.percent:.0f}% of {len(estimate.coverage.types)} resource types placed "
        f"({counts[Billing.PRICED]} priced, {counts[Billing.FREE]} free, {counts[Billing.USAGE_ONLY]} usage-only)",
    ]
    for resource_type in estimate.coverage.unplaced:
        lines.append(f"  NOT PLACED: {resource_type} (add it to cost/coverage.py)")
    return lines


def _price_lines(estimate: StackEstimate) -> list[str]:
    lines: list[str] = []
    unpriced = estimate.unpriced
    if unpriced:
        lines += ["", f"Unpriced ({len(unpriced)} line items left out: their price row has no amount):"]
        for item in unpriced:
            lines.append(f"  {item.resource}: {item.what} ({item.price_id})")
    unverified = estimate.unverified_rows
    if unverified:
        lines += [
            "",
            f"* Unverified price rows used ({len(unverified)} of {len(estimate.rows_used)}; cost/prices.yaml):",
        ]
        for row in unverified:
            amount = "no amount" if row.amount is None else f"{row.amount:g} USD per {row.per:,} {row.unit}"
            lines.append(f"  {row.id} [{', '.join(row.regions)}] ({row.basis}): {amount}: {row.note}")
    return lines


def render_json(estimate: StackEstimate, per_request: PerRequest | None = None) -> str:
    data: dict[str, Any] = {
        "stack": estimate.stack,
        "region": estimate.region,
        "currency": "USD",
        "monthly": {
            "total": round(estimate.total, 2),
            "fixed": round(estimate.fixed, 2),
            "variable": round(estimate.variable, 2),
        },
        "components": {name: round(amount, 2) for name, amount in estimate.by_component().items()},
        "resources": {name: round(amount, 2) for name, amount in estimate.by_resource().items()},
        "items": [
            {
                "resource": item.resource,
                "type": item.type,
                "component": item.component,
                "what": item.what,
                "quantity": item.quantity,
                "unit": item.unit,
                "price_id": item.price_id,
                "unit_price": item.unit_price,
                "monthly": round(item.monthly, 4),
                "fixed": item.fixed,
                "verified": item.verified,
                "priced": item.priced,
            }
            for item in estimate.items
        ],
        "coverage": {
            "percent": estimate.coverage.percent,
            "types": {
                t: (None if b is None else {"billing": b.billing.value, "reason": b.reason})
                for t, b in estimate.coverage.types.items()
            },
        },
        "unverified_price_rows": sorted({row.id for row in estimate.unverified_rows}),
        "assumptions": {name: value for name, value, _ in estimate.profile.assumptions()},
        "notes": estimate.notes,
    }
    if per_request is not None:
        data["per_request"] = per_request_data(per_request)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def per_request_data(result: PerRequest) -> dict[str, Any]:
    return {
        "requests_per_month": result.requests,
        "per_request": result.per_request,
        "fixed_per_request": result.fixed_per_request,
        "variable_per_request": result.variable_per_request,
        "per_request_without_cache": result.per_request_without_cache,
        "target": result.target,
        "cache_hit_rate": result.cache_hit_rate,
        "database_queries_avoided": result.database_queries_avoided,
    }


def render_per_request(estimate: StackEstimate, result: PerRequest) -> str:
    verdict = "meets" if result.per_request <= result.target else "misses"
    profile = estimate.profile
    target = f"({verdict} the roadmap's target {usd_fine(result.target)})"
    lines = [
        f"omni cost: one API request on stack {estimate.stack} at {result.requests:,} requests a month",
        "",
        f"  per request      {usd_fine(result.per_request)}   {target}",
        f"    fixed part     {usd_fine(result.fixed_per_request)}   ({usd(result.fixed)} a month, shared)",
        f"    variable part  {usd_fine(result.variable_per_request)}   ({usd(result.variable)} a month, grows with it)",
        f"  without cache    {usd_fine(result.per_request_without_cache)}",
        *(
            [f"  (understated: {len(estimate.unpriced)} line items have no price row amount and are left out)"]
            if estimate.unpriced
            else []
        ),
        "",
        "The cache model:",
        f"  a hit ({profile.cache_hit_rate:.1%} of requests: the pooling lab's measured rate unless --cache-hit-rate)",
        f"  takes {profile.cache_hit_duration_ms:g} ms and no database query; a miss takes "
        f"{profile.mean_duration_ms:g} ms and {profile.queries_per_request:g} queries.",
        f"  mean duration {profile.mean_duration_with_cache_ms:.2f} ms with the cache, "
        f"{profile.mean_duration_ms:g} ms without;",
        f"  {result.database_queries_avoided:,.0f} database queries a month avoided. The database is provisioned: the",
        "  queries avoided free its capacity (a smaller tier later), they do not lower this month's bill.",
        "  Busy instance time = requests x mean duration / (concurrency x utilization); below the minimum",
        "  instances it costs nothing more, so at low traffic the fixed part dominates.",
    ]
    return "\n".join(lines) + "\n"


# --- review: the cost delta of a diff ------------------------------------------------------


@dataclass(frozen=True)
class CostDelta:
    stack: str
    before: float
    after: float
    movers: list[tuple[str, float]]  # (resource, change), biggest absolute change first

    @property
    def change(self) -> float:
        return self.after - self.before


def cost_delta(before: StackEstimate, after: StackEstimate) -> CostDelta:
    old, new = before.by_resource(), after.by_resource()
    changes = {name: new.get(name, 0.0) - old.get(name, 0.0) for name in set(old) | set(new)}
    movers = sorted(((n, c) for n, c in changes.items() if abs(c) >= 0.005), key=lambda p: (-abs(p[1]), p[0]))
    return CostDelta(after.stack, before.total, after.total, movers[:MOVERS])


def _signed(amount: float) -> str:
    return ("+" if amount >= 0 else "-") + usd(abs(amount))


def delta_line(delta: CostDelta) -> str:
    """`cost: $1,780.61 -> $1,800.00 a month (+$19.39, +1.1%); biggest movers: x +$19.39`"""
    percent = f", {delta.change / delta.before:+.1%}" if delta.before else ""
    line = f"cost: {usd(delta.before)} -> {usd(delta.after)} a month ({_signed(delta.change)}{percent})"
    if delta.movers:
        line += "; biggest movers: " + ", ".join(f"{name} {_signed(change)}" for name, change in delta.movers)
    return line


def delta_markdown(delta: CostDelta) -> str:
    """The pull-request comment's cost line for one stack."""
    percent = f", {delta.change / delta.before:+.1%}" if delta.before else ""
    line = (
        f"- **`{delta.stack}`** monthly cost: {usd(delta.before)} → {usd(delta.after)} "
        f"(**{_signed(delta.change)}**{percent})"
    )
    if delta.movers:
        line += "; biggest movers: " + ", ".join(f"`{name}` {_signed(change)}" for name, change in delta.movers)
    return line
