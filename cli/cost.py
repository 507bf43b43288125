"""`omni cost`: the monthly cost of a stack from its offline graph, or of one API request.

Composes the offline engine (run the program, record the graph) with the `cost` package (price
the graph). Exit codes: 0 success, 2 bad input (a malformed profile or price table, a failed run).
`omni cost check-prices` checks the price table against Google's Cloud Billing Catalog API: exit 1
when a row disagrees with its SKU, 2 without credentials or when the catalog cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.console import fail, out

if TYPE_CHECKING:
    from cost.catalog import Fetch
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
    ctx: typer.Context,
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
    if ctx.invoked_subcommand is not None:
        return
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


API_KEY_ENV = "GOOGLE_CLOUD_API_KEY"
NO_CREDENTIALS = (
    "no credentials for the Cloud Billing Catalog API: set {env} to an API key (create one with "
    "`gcloud services enable cloudbilling.googleapis.com` then `gcloud services api-keys create "
    "--display-name=omni-prices --api-target=service=cloudbilling.googleapis.com`, or in the console under "
    "APIs & Services > Credentials, restricted to the Cloud Billing API), or sign in with `gcloud auth login` "
    "so that `gcloud auth print-access-token` answers"
)


def gcloud_access_token() -> str | None:
    """An access token from `gcloud auth print-access-token`, or None without gcloud or a signed-in account."""
    import shutil
    import subprocess

    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    try:
        done = subprocess.run(
            [gcloud, "auth", "print-access-token"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = done.stdout.strip()
    return token if done.returncode == 0 and token else None


def catalog_fetch() -> Fetch:
    """The HTTP layer of `check-prices` (tests replace it to run without a network)."""
    from cost.catalog import urllib_fetch

    return urllib_fetch()


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


@app.command("check-prices")
def check_prices(
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding a Cloud Billing API key.")
    ] = API_KEY_ENV,
    services: Annotated[
        list[str] | None,
        typer.Option("--services", help="Check only rows of these table services (repeat, or comma-separated)."),
    ] = None,
    catalog_service: Annotated[
        list[str] | None,
        typer.Option(
            "--catalog-service",
            help="Also search a catalog service for a table service: 'Cloud NAT=Compute Engine' (repeatable).",
        ),
    ] = None,
    write: Annotated[
        bool,
        typer.Option("--write", help="Set every row with a sku_id to the catalog's figure (basis catalog-api)."),
    ] = False,
    prices_file: Annotated[
        Path | None, typer.Option("--prices-file", help="The price table (cost/prices.yaml).")
    ] = None,
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="The API's root (https, or http on 127.0.0.1 for tests).")
    ] = "https://cloudbilling.googleapis.com",
) -> None:
    """Check the price table against Google's Cloud Billing Catalog API (public list prices, USD).

    A row with a sku_id is compared with that SKU, a row without one gets candidates (docs/cost.md).
    Exit 1 when a row disagrees with its SKU and --write was not given; 2 without credentials."""
    import datetime
    import os

    from cost.catalog import CatalogClient, CatalogError, CatalogSku, Credentials
    from cost.price_check import FAILING, check_table, render_checks, write_checked_rows
    from cost.prices import PRICES_FILE, PriceTableError, load_price_table

    if not endpoint.startswith(("https://", "http://127.0.0.1:")):
        fail(f"--endpoint {endpoint!r}: only https (or http on 127.0.0.1) may carry the credentials")
    also_search: dict[str, list[str]] = {}
    for pair in catalog_service or []:
        table_service, separator, catalog_name = pair.partition("=")
        if not separator or not table_service.strip() or not catalog_name.strip():
            fail(
                f"--catalog-service {pair!r}: expected 'TABLE SERVICE=CATALOG SERVICE', e.g. 'Cloud NAT=Compute Engine'"
            )
        also_search.setdefault(table_service.strip(), []).append(catalog_name.strip())
    path = prices_file or PRICES_FILE
    try:
        table = load_price_table(path)
    except PriceTableError as error:
        fail(str(error))
    api_key = os.environ.get(api_key_env, "").strip()
    credentials = Credentials(api_key=api_key) if api_key else None
    if credentials is None:
        token = gcloud_access_token()
        credentials = Credentials(access_token=token) if token else None
    if credentials is None:
        fail(NO_CREDENTIALS.format(env=api_key_env))
    client = CatalogClient(catalog_fetch(), credentials, endpoint)
    cache: dict[str, list[CatalogSku]] = {}

    def skus_of(service_id: str) -> list[CatalogSku]:
        if service_id not in cache:
            cache[service_id] = client.skus(service_id)
        return cache[service_id]

    try:
        checks = check_table(table, client.services(), skus_of, _split(services), also_search)
    except CatalogError as error:
        fail(credentials.redact(str(error)))
    out.print(render_checks(checks), markup=False, end="")
    failing = [check for check in checks if check.status in FAILING]
    if write:
        try:
            text, written = write_checked_rows(path.read_text(encoding="utf-8"), checks, datetime.date.today())
        except (ValueError, PriceTableError) as error:
            fail(f"{path}: not written: {error}")
        path.write_text(text, encoding="utf-8")
        out.print(f"wrote {len(written)} row(s) to {path}: {', '.join(written) or 'none'}", markup=False)
        failing = [check for check in failing if check.status != "mismatch"]
    if failing:
        raise typer.Exit(code=1)
