"""The estimate of one stack: line items per resource, totals per component and for the stack,
and the cost of one request. Pure data; ``render`` prints it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cost.coverage import Billing, Coverage, coverage, graph_types
from cost.prices import PriceRow, PriceTable, default_price_table
from cost.profile import ROADMAP_COST_PER_REQUEST, TrafficProfile

HOURS_PER_MONTH = 730  # Google's pricing pages use 730 hours a month
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class LineItem:
    """One priced quantity of one resource."""

    urn: str
    resource: str
    type: str
    component: str
    what: str
    quantity: float
    unit: str
    price_id: str
    unit_price: float | None  # None: the price table has no amount for it
    fixed: bool  # paid whatever the traffic (provisioned); False: grows with usage
    verified: bool

    @property
    def monthly(self) -> float:
        return 0.0 if self.unit_price is None else self.quantity * self.unit_price

    @property
    def priced(self) -> bool:
        return self.unit_price is not None


@dataclass
class StackEstimate:
    stack: str
    region: str
    profile: TrafficProfile
    items: list[LineItem]
    coverage: Coverage
    rows_used: list[PriceRow]
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(item.monthly for item in self.items)

    @property
    def fixed(self) -> float:
        return sum(item.monthly for item in self.items if item.fixed)

    @property
    def variable(self) -> float:
        return sum(item.monthly for item in self.items if not item.fixed)

    @property
    def unpriced(self) -> list[LineItem]:
        return [item for item in self.items if not item.priced]

    @property
    def unverified_rows(self) -> list[PriceRow]:
        return [row for row in self.rows_used if not row.verified]

    def by_resource(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for item in self.items:
            totals[item.resource] = totals.get(item.resource, 0.0) + item.monthly
        return dict(sorted(totals.items(), key=lambda pair: (-pair[1], pair[0])))

    def by_component(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for item in self.items:
            totals[item.component] = totals.get(item.component, 0.0) + item.monthly
        return dict(sorted(totals.items(), key=lambda pair: (-pair[1], pair[0])))


@dataclass(frozen=True)
class PerRequest:
    """The cost of one API request at the profile's traffic, with and without the cache."""

    requests: int
    fixed: float
    variable: float
    variable_without_cache: float
    target: float = ROADMAP_COST_PER_REQUEST
    cache_hit_rate: float = 0.0
    database_queries_avoided: float = 0.0

    @property
    def per_request(self) -> float:
        return (self.fixed + self.variable) / self.requests if self.requests else 0.0

    @property
    def fixed_per_request(self) -> float:
        return self.fixed / self.requests if self.requests else 0.0

    @property
    def variable_per_request(self) -> float:
        return self.variable / self.requests if self.requests else 0.0

    @property
    def per_request_without_cache(self) -> float:
        return (self.fixed + self.variable_without_cache) / self.requests if self.requests else 0.0


def component_of(resource: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str:
    """The component a resource belongs to: its nearest component ancestor by the parent chain,
    as `name (type)`; a resource parented to the stack is its own."""
    parent = by_urn.get(resource.get("parent") or "")
    while parent is not None and parent["type"] != STACK_TYPE:
        if not parent.get("custom", True):
            return f"{parent['name']} ({parent['type']})"
        parent = by_urn.get(parent.get("parent") or "")
    return f"{resource['name']} ({resource['type']})"


def estimate_graph(
    graph: dict[str, Any],
    profile: TrafficProfile | None = None,
    prices: PriceTable | None = None,
    region: str | None = None,
) -> StackEstimate:
    """Price every resource of a recorded graph (``offline.graph`` JSON)."""
    from cost.estimators import Context, estimate_resource

    profile = profile or TrafficProfile()
    prices = prices or default_price_table()
    resources = graph.get("resources", [])
    by_urn = {r["urn"]: r for r in resources}
    region = region or stack_region(graph)
    context = Context(graph=graph, profile=profile, prices=prices, region=region)
    items: list[LineItem] = []
    for resource in resources:
        if not resource.get("custom", True):
            continue
        billing = coverage({resource["type"]}).types[resource["type"]]
        if billing is None or billing.billing is not Billing.PRICED:
            continue
        items += estimate_resource(resource, component_of(resource, by_urn), context)
    items.sort(key=lambda item: (item.component, item.resource, item.what))
    return StackEstimate(
        stack=graph.get("stack", "?"),
        region=region,
        profile=profile,
        items=items,
        coverage=coverage(graph_types(graph)),
        rows_used=sorted(context.rows_used.values(), key=lambda row: (row.id, row.regions)),
        notes=sorted(set(context.notes)),
    )


def stack_region(graph: dict[str, Any]) -> str:
    """The region most regional resources name (Cloud Run `location`, SQL and Redis `region`)."""
    counts: dict[str, int] = {}
    for resource in graph.get("resources", []):
        inputs = resource.get("inputs", {})
        for key in ("region", "location"):
            value = inputs.get(key)
            if isinstance(value, str) and value and value[0].islower() and "-" in value:
                counts[value] = counts.get(value, 0) + 1
    return max(sorted(counts), key=lambda r: counts[r]) if counts else "europe-west1"


def per_request(graph: dict[str, Any], profile: TrafficProfile, prices: PriceTable | None = None) -> PerRequest:
    """The cost of one request: the whole stack's month divided by the month's requests.

    The cache model: a hit takes ``cache_hit_duration_ms`` and no database query, a miss takes
    ``mean_duration_ms`` and ``queries_per_request`` queries. The database is provisioned, so the
    queries avoided free capacity, not money; the shorter mean duration lowers busy instance time.
    """
    with_cache = estimate_graph(graph, profile, prices)
    without = estimate_graph(graph, profile.model_copy(update={"cache_hit_rate": 0.0}), prices)
    return PerRequest(
        requests=profile.requests_per_month,
        fixed=with_cache.fixed,
        variable=with_cache.variable,
        variable_without_cache=without.variable,
        cache_hit_rate=profile.cache_hit_rate,
        database_queries_avoided=profile.requests_per_month * profile.cache_hit_rate * profile.queries_per_request,
    )
