"""`omni cost`: the monthly cost of a stack from its offline graph, or of one API request.

Composes the offline engine (run the program, record the graph) with the `cost` package (price
the graph). Exit codes: 0 success, 2 bad input (a malformed profile or price table, a failed run).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.console import fail, out

if TYPE_CHECKING:
    from cost.model import StackEstimate
    from cost.profile import TrafficProfile

app = typer.Typer(help="The monthly cost of a stack (or of one API request) from its offline graph.")

BUDGET_TYPE = "gcp:billing/budget:Budget"


def _profile(profile_file: Path | None, overrides: dict[str, Any]) -> TrafficProfile:
    from cost.profile import ProfileError, build_profile, load_profile

    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return load_profile(profile_file, given) if profile_file else build_profile(given, origin="options")
    except ProfileError as error:
        fail(str(error))


def estimate(graph: dict[str, Any], profile: TrafficProfile | None = None) -> StackEstimate:
    """The estimate of one recorded graph; a malformed price table exits 2 naming the row."""
    from cost.model import estimate_graph
    from cost.prices import PriceTableError

    try:
        return estimate_graph(graph, profile)
    except PriceTableError as error:
        fail(str(error))


def budget_amount(graph: dict[str, Any]) -> float | None:
    """The stack's monthly budget in USD, from its declared Cloud Billing budget (if any)."""
    for resource in graph.get("resources", []):
        if resource["type"] == BUDGET_TYPE:
            money = ((resource.get("inputs", {}).get("amount") or {}).get("specifiedAmount")) or {}
            units = money.get("units")
            if units is not None:
                return float(units) + float(money.get("nanos") or 0) / 1e9
    return None


def budget_warning(graph: dict[str, Any], estimate_: StackEstimate) -> str | None:
    """A warning when the estimate already exceeds the declared budget."""
    from cost.render import usd

    amount = budget_amount(graph)
    if amount is not None and estimate_.total > amount:
        return (
            f"{estimate_.stack}: the estimate {usd(estimate_.total)} a month already exceeds the budget "
            f"{usd(amount)} (cost.monthlyBudget); raise the budget or cut the stack"
        )
    return None


def diff_cost_lines(pairs: list[tuple[dict[str, Any], dict[str, Any]]], markdown: bool) -> list[str]:
    """One cost line per stack for `omni diff`: before -> after and the biggest movers."""
    from cost.render import cost_delta, delta_line, delta_markdown

    lines = []
    for before, after in pairs:
        delta = cost_delta(estimate(before), estimate(after))
        lines.append(delta_markdown(delta) if markdown else f"{delta.stack}: {delta_line(delta)}")
    return lines


@app.callback(invoke_without_command=True)
def cost(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")] = "dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
    per_request: Annotated[
        bool,
        typer.Option(
            "--per-request", help="The cost of one API request: fixed and variable parts, the cache's effect."
        ),
    ] = False,
    profile_file: Annotated[
        Path | None, typer.Option("--profile", help="A YAML traffic profile (keys as in docs/cost.md).")
    ] = None,
    requests_per_month: Annotated[
        int | None, typer.Option("--requests-per-month", help="API requests a month.")
    ] = None,
    mean_duration_ms: Annotated[
        float | None, typer.Option("--mean-duration-ms", help="Mean duration of a request that misses the cache.")
    ] = None,
    request_kb: Annotated[float | None, typer.Option("--request-kb", help="Mean request size (kB).")] = None,
    response_kb: Annotated[float | None, typer.Option("--response-kb", help="Mean response size (kB).")] = None,
    cache_hit_rate: Annotated[
        float | None, typer.Option("--cache-hit-rate", help="Share of requests the cache answers (default 0.935).")
    ] = None,
    brief: Annotated[bool, typer.Option("--brief", help="Totals and components only, no line per resource.")] = False,
    project_dir: Annotated[
        Path, typer.Option("--project-dir", "-C", help="Root of the Pulumi project (where Pulumi.yaml is).")
    ] = Path("."),
) -> None:
    """Estimate what a stack costs a month, per resource and per component, from its offline graph."""
    from cli.main import _graph_json, _project
    from cost.model import per_request as cost_per_request
    from cost.render import render_json, render_per_request, render_text

    profile = _profile(
        profile_file,
        {
            "requests_per_month": requests_per_month,
            "mean_duration_ms": mean_duration_ms,
            "request_kb": request_kb,
            "response_kb": response_kb,
            "cache_hit_rate": cache_hit_rate,
        },
    )
    graph = _graph_json(_project(project_dir), stack)
    result = estimate(graph, profile)
    request_cost = cost_per_request(graph, profile) if per_request else None
    if as_json:
        sys.stdout.write(render_json(result, request_cost))
        return
    if request_cost is not None:
        out.print(render_per_request(result, request_cost), markup=False, end="")
        out.print("", markup=False)
    out.print(render_text(result, details=not brief), markup=False, end="")
    warning = budget_warning(graph, result)
    if warning:
        out.print(f"warning: {warning}", markup=False)
