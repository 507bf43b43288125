"""`omni cost check-prices`: the price table against Google's Cloud Billing Catalog API.

The SKU documents below are written by hand in the shape the API's pages document:
https://docs.cloud.google.com/billing/v1/how-tos/catalog-api ("Get a list of SKUs for a service":
``skus[].skuId, description, category.serviceDisplayName, serviceRegions, pricingInfo[].
pricingExpression.{usageUnit, usageUnitDescription, baseUnit, baseUnitConversionFactor,
displayQuantity, tieredRates[].{startUsageAmount, unitPrice.{currencyCode, units, nanos}}}``,
``nextPageToken``) and the v1 reference of PricingExpression ("the first 20GB is free" is a first
rate at 0 with a zero price). Service and SKU ids are made up (never Google's real ones), so no
test passes for having copied the catalog. Every expected figure is worked by hand in a comment.
"""

from __future__ import annotations

import datetime
import json
import urllib.parse
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from cost.catalog import (
    CatalogClient,
    CatalogError,
    CatalogService,
    Credentials,
    catalog_dimension,
    money,
    parse_sku,
    price_in_table_unit,
)
from cost.price_check import check_table, render_checks, services_named_like, write_checked_rows
from cost.prices import PRICES_FILE, PriceTableError, parse_price_table
from localrun.http_server import BackgroundHTTPServer

RUN_SERVICE = "AAAA-0000-0001"  # made up
SQL_SERVICE = "AAAA-0000-0002"  # made up
JOB_MEMORY_SKU = "ABCD-1234-EF56"  # made up


def usd(units: str, nanos: int) -> dict[str, Any]:
    return {"currencyCode": "USD", "units": units, "nanos": nanos}


def sku_document(
    sku_id: str,
    description: str,
    usage_unit: str,
    rates: list[tuple[float, dict[str, Any]]],
    regions: list[str],
    service_id: str = RUN_SERVICE,
    display_name: str = "Cloud Run",
) -> dict[str, Any]:
    """One Sku as the how-to page shows it."""
    return {
        "name": f"services/{service_id}/skus/{sku_id}",
        "skuId": sku_id,
        "description": description,
        "category": {
            "serviceDisplayName": display_name,
            "resourceFamily": "Compute",
            "resourceGroup": "Memory",
            "usageType": "OnDemand",
        },
        "serviceRegions": regions,
        "pricingInfo": [
            {
                "effectiveTime": "2026-12-01T00:00:00Z",
                "summary": "",
                "pricingExpression": {
                    "usageUnit": usage_unit,
                    "usageUnitDescription": usage_unit,
                    "baseUnit": usage_unit,
                    "baseUnitDescription": usage_unit,
                    "baseUnitConversionFactor": 1,
                    "displayQuantity": 1,
                    "tieredRates": [{"startUsageAmount": start, "unitPrice": price} for start, price in rates],
                },
                "currencyConversionRate": 1,
            }
        ],
        "serviceProviderName": "Google",
    }


# A free tier as the first rate at 0, the paid rate from 360,000 GiB-seconds.
JOB_MEMORY = sku_document(
    JOB_MEMORY_SKU,
    "Jobs Memory in europe-west1 / us-central1",
    "GiBy.s",
    [(0, usd("0", 0)), (360000, usd("0", 2500))],
    ["europe-west1", "us-central1", "europe-north1"],
)


# --- parsing: money, tiers, units ---------------------------------------------------------------


def test_a_sku_is_parsed_from_the_documented_shape_and_its_paid_rate_skips_the_free_tier() -> None:
    sku = parse_sku(JOB_MEMORY)

    assert sku.sku_id == JOB_MEMORY_SKU
    assert sku.service_id == RUN_SERVICE  # from "services/{id}/skus/{id}"
    assert sku.service_display_name == "Cloud Run"
    assert sku.regions == ("europe-west1", "us-central1", "europe-north1")
    assert sku.usage_unit == "GiBy.s"
    # units 0, nanos 2500: 2500 * 10^-9 = 0.0000025 USD per GiB-second, from 360,000 free ones.
    assert sku.paid_rate is not None
    assert sku.paid_rate.unit_price == Decimal("0.0000025")
    assert sku.free_usage == 360000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (usd("0", 24000), "0.000024"),  # 24,000 nanos = 24,000 * 10^-9
        (usd("1", 500000000), "1.5"),
        ({"currencyCode": "USD", "nanos": 400}, "0.0000004"),  # units omitted: zero (proto3 JSON)
        ({"currencyCode": "USD", "units": "7"}, "7"),  # nanos omitted
        (usd("-1", -750000000), "-1.75"),  # nanos carry the sign of units
    ],
)
def test_money_is_units_plus_nanos(value: dict[str, Any], expected: str) -> None:
    assert money(value) == Decimal(expected)


def test_a_price_in_another_currency_is_refused() -> None:
    with pytest.raises(CatalogError, match="in EUR, not USD"):
        money({"currencyCode": "EUR", "units": "1"})


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ([(0, usd("0", 0)), (180000, usd("0", 24000)), (1e9, usd("0", 20000))], "0.000024"),  # free, paid, volume
        ([(0, usd("0", 24000))], "0.000024"),  # no free tier
        ([(0, usd("0", 0))], "0"),  # free at every tier
    ],
)
def test_the_rate_beyond_the_free_tier_is_the_list_price(rates: list[Any], expected: str) -> None:
    sku = parse_sku(sku_document("ABCD-0000-0001", "Services CPU", "s", rates, ["europe-west1"]))

    assert price_in_table_unit(sku, "vCPU-second") == Decimal(expected)


def _priced(usage_unit: str, units: str, nanos: int) -> Any:
    return parse_sku(sku_document("ABCD-0000-0002", "x", usage_unit, [(0, usd(units, nanos))], ["europe-west1"]))


@pytest.mark.parametrize(
    ("usage_unit", "units", "nanos", "table_unit", "per", "expected"),
    [
        # 0.000024 per second of a vCPU, as the table's vCPU-second: unchanged.
        ("s", "0", 24000, "vCPU-second", 1, "0.000024"),
        # ... per vCPU-hour: 0.000024 * 3600 = 0.0864.
        ("s", "0", 24000, "vCPU-hour", 1, "0.0864"),
        # 0.02 per GiBy.mo is 0.02 per GiB-month.
        ("GiBy.mo", "0", 20000000, "GiB-month", 1, "0.02"),
        # ... per GB-month: 0.02 * 10^9 / 2^30 = 20,000,000 / 1,073,741,824 = 0.0186264514923095703125.
        ("GiBy.mo", "0", 20000000, "GB-month", 1, "0.0186264514923095703125"),
        # 0.01 per hour, per month at the table's 730 hours: 7.30.
        ("h", "0", 10000000, "month", 1, "7.3"),
        # 0.0000025 per GiB-second is 0.0000025 per GiB-second.
        ("GiBy.s", "0", 2500, "GiB-second", 1, "0.0000025"),
        # 0.0000004 per request, per 1,000,000 requests: 0.40.
        ("count", "0", 400, "request", 1000000, "0.4"),
        # 0.05 per GiBy of data, per TiB: 0.05 * 1024 = 51.2.
        ("GiBy", "0", 50000000, "TiB", 1, "51.2"),
        # 0.1 per GiBy.h, per GB-hour: 0.1 * 10^9 / 2^30 = 100,000,000 / 1,073,741,824 = 0.0931322574615478515625.
        ("GiBy.h", "0", 100000000, "GB-hour", 1, "0.0931322574615478515625"),
    ],
)
def test_a_catalog_price_is_converted_to_the_tables_unit_and_per(
    usage_unit: str, units: str, nanos: int, table_unit: str, per: int, expected: str
) -> None:
    assert price_in_table_unit(_priced(usage_unit, units, nanos), table_unit, per) == Decimal(expected)


@pytest.mark.parametrize(
    ("usage_unit", "table_unit"),
    [
        ("GiBy.mo", "hour"),  # bytes against a count
        ("h", "GiB-hour"),  # a count against bytes
        ("GiBy", "GiB-month"),  # without time against with time
        ("count", "month"),
        ("furlong", "hour"),  # not understood: never guessed
        ("", "hour"),
    ],
)
def test_units_of_different_kinds_are_not_compared(usage_unit: str, table_unit: str) -> None:
    assert price_in_table_unit(_priced(usage_unit, "1", 0), table_unit) is None


def test_a_usage_unit_is_read_factor_by_factor() -> None:
    # GiBy.mo: 2^30 bytes for 730 hours of 3600 s = 1,073,741,824 * 2,628,000.
    dimension = catalog_dimension("GiBy.mo")
    assert dimension is not None
    assert (dimension.size, dimension.has_bytes, dimension.has_time) == (Decimal(1073741824 * 2628000), True, True)
    assert catalog_dimension("GiBy.GiBy") is None  # bytes twice: not a unit the table has


# --- the API: paging and credentials --------------------------------------------------------------


class FakeCatalog:
    """Pages of services and SKUs served from dicts, recording every URL asked."""

    def __init__(self, services: list[dict[str, Any]], skus: dict[str, list[dict[str, Any]]], page_size: int = 2):
        self.services = services
        self.skus = skus
        self.page_size = page_size
        self.asked: list[str] = []

    def answer(self, path_and_query: str) -> dict[str, Any]:
        self.asked.append(path_and_query)
        path, _, query = path_and_query.partition("?")
        params = dict(urllib.parse.parse_qsl(query))
        if path == "/v1/services":
            items, key = self.services, "services"
        else:
            service_id = path.split("/")[3]
            items, key = self.skus.get(service_id, []), "skus"
        start = int(params.get("pageToken") or 0)
        page: dict[str, Any] = {key: items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            page["nextPageToken"] = str(start + self.page_size)
        return page

    def fetch(self, url: str, headers: dict[str, str]) -> bytes:
        parsed = urllib.parse.urlsplit(url)
        return json.dumps(self.answer(f"{parsed.path}?{parsed.query}")).encode()


SERVICES = [
    {"name": f"services/{RUN_SERVICE}", "serviceId": RUN_SERVICE, "displayName": "Cloud Run"},
    {"name": f"services/{SQL_SERVICE}", "serviceId": SQL_SERVICE, "displayName": "Cloud SQL"},
    {"name": "services/AAAA-0000-0003", "serviceId": "AAAA-0000-0003", "displayName": "Cloud Run Functions"},
]


def test_every_page_is_read_until_no_next_page_token_is_given() -> None:
    catalog = FakeCatalog(SERVICES, {}, page_size=2)
    client = CatalogClient(catalog.fetch, Credentials(api_key="k3y"))

    services = client.services()

    assert [service.display_name for service in services] == ["Cloud Run", "Cloud SQL", "Cloud Run Functions"]
    first, second = (dict(urllib.parse.parse_qsl(url.partition("?")[2])) for url in catalog.asked)
    assert first == {"pageSize": "5000", "key": "k3y"}
    assert second == {"pageSize": "5000", "key": "k3y", "pageToken": "2"}


def test_skus_are_asked_in_usd_and_an_access_token_goes_in_a_header() -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    def fetch(url: str, headers: dict[str, str]) -> bytes:
        seen.append((url, headers))
        return json.dumps({"skus": [JOB_MEMORY]}).encode()

    skus = CatalogClient(fetch, Credentials(access_token="t0ken")).skus(RUN_SERVICE)

    assert [sku.sku_id for sku in skus] == [JOB_MEMORY_SKU]
    url, headers = seen[0]
    assert url == f"https://cloudbilling.googleapis.com/v1/services/{RUN_SERVICE}/skus?currencyCode=USD&pageSize=5000"
    assert headers["Authorization"] == "Bearer t0ken"


def test_a_failed_request_never_shows_the_key() -> None:
    def fetch(url: str, headers: dict[str, str]) -> bytes:
        raise CatalogError(f"refused {url}")

    with pytest.raises(CatalogError) as caught:
        CatalogClient(fetch, Credentials(api_key="s3cret-key")).services()

    assert "s3cret-key" not in str(caught.value)
    assert "key=***" in str(caught.value)


# --- the table against the catalog -------------------------------------------------------------------


def table_row(**changes: Any) -> dict[str, Any]:
    row = {
        "id": "run.job.memory",
        "sku": "Jobs Memory in europe-west1 / in us-central1 (Tier 1)",
        "service": "Cloud Run",
        "regions": ["europe-west1", "us-central1"],
        "unit": "GiB-second",
        "amount": 0.0000025,
        "source": "https://cloud.google.com/run/pricing",
        "read": "2026-12-04",
        "basis": "recalled",
        "verified": False,
        "note": "recalled",
    }
    row.update(changes)
    return row


def run_check(rows: list[dict[str, Any]], skus: list[dict[str, Any]], **options: Any) -> list[Any]:
    catalog = FakeCatalog(SERVICES, {RUN_SERVICE: skus})
    client = CatalogClient(catalog.fetch, Credentials(api_key="k"))
    return check_table(parse_price_table({"rows": rows}), client.services(), client.skus, **options)


def test_a_row_with_its_sku_id_matches_the_catalogs_figure() -> None:
    (check,) = run_check([table_row(sku_id=JOB_MEMORY_SKU)], [JOB_MEMORY])

    assert check.status == "match"
    assert check.catalog_amount == Decimal("0.0000025")
    assert render_checks([check]).splitlines()[0].startswith("match    run.job.memory [europe-west1, us-central1]")


def test_a_mismatch_is_reported_with_both_figures() -> None:
    (check,) = run_check([table_row(sku_id=JOB_MEMORY_SKU, amount=0.000002)], [JOB_MEMORY])

    assert check.status == "mismatch"
    line = render_checks([check]).splitlines()[0]
    assert line.startswith("MISMATCH run.job.memory")
    assert "table 0.000002 per GiB-second, catalog 0.0000025" in line
    assert JOB_MEMORY_SKU in line


def test_a_mismatch_by_exactly_the_gib_to_gb_factor_is_a_suspect_unit_not_written() -> None:
    # 0.0000025 per GiB-second read as per GB-second would be 0.0000025 * 2^30 / 10^9 = 0.000002684354560.
    row = table_row(sku_id=JOB_MEMORY_SKU, amount=0.00000268435456)
    (check,) = run_check([row], [JOB_MEMORY])

    assert check.status == "unit-suspect"
    assert "the row's unit may be GiB written as GB" in check.detail
    assert render_checks([check]).startswith("UNIT?    run.job.memory")
    # --write leaves it to a person: the row's unit (and the estimator's quantity) is what is wrong.
    text = PRICES_FILE.read_text(encoding="utf-8")
    assert write_checked_rows(text, [check], datetime.date(2026, 12, 6)) == (text, [])


def test_a_sku_id_missing_from_the_catalog_or_not_offered_in_the_rows_region_fails() -> None:
    (missing,) = run_check([table_row(sku_id="FFFF-FFFF-FFFF")], [JOB_MEMORY])
    (elsewhere,) = run_check([table_row(sku_id=JOB_MEMORY_SKU, regions=["asia-east1"])], [JOB_MEMORY])

    assert (missing.status, missing.detail) == ("sku-not-found", "SKU FFFF-FFFF-FFFF is not in Cloud Run")
    assert (elsewhere.status, elsewhere.detail) == ("not-comparable", "the SKU is not offered in asia-east1")


def test_a_row_without_a_sku_id_lists_candidates_of_its_service_region_and_unit() -> None:
    other_region = sku_document(
        "ABCD-0000-0010", "Jobs Memory in asia-east1", "GiBy.s", [(0, usd("0", 3000))], ["asia-east1"]
    )
    other_unit = sku_document(
        "ABCD-0000-0011", "Jobs Memory requests", "count", [(0, usd("0", 400))], ["europe-west1", "us-central1"]
    )
    no_shared_word = sku_document(
        "ABCD-0000-0012", "Services CPU", "GiBy.s", [(0, usd("0", 1))], ["europe-west1", "us-central1"]
    )

    (check,) = run_check([table_row()], [other_region, other_unit, no_shared_word, JOB_MEMORY])

    assert check.status == "no-sku-id"
    assert [candidate.sku.sku_id for candidate in check.candidates] == [JOB_MEMORY_SKU]
    assert check.candidates[0].price == Decimal("0.0000025")
    report = render_checks([check])
    assert f"candidate {JOB_MEMORY_SKU} 'Jobs Memory in europe-west1 / us-central1': 0.0000025 per GiB-second" in report


def test_a_global_sku_serves_a_row_priced_in_regions_and_globally() -> None:
    # Cloud Logging's rows answer for europe-west1, us-central1 and global alike.
    ingestion = sku_document(
        "ABCD-0000-0030", "Log Volume", "GiBy", [(0, usd("0", 0)), (50, usd("0", 500000000))], ["global"]
    )
    row = table_row(
        id="logging.ingestion",
        sku="Log Volume (ingestion)",
        regions=["europe-west1", "us-central1", "global"],
        unit="GiB",
        amount=0.5,
        sku_id="ABCD-0000-0030",
    )

    (check,) = run_check([row], [ingestion])

    # units 0, nanos 500,000,000 per GiBy beyond the first 50: 0.5 per GiB.
    assert (check.status, check.catalog_amount) == ("match", Decimal("0.5"))


@pytest.mark.parametrize(
    ("table_service", "catalog_names", "expected"),
    [
        ("Cloud Run", ["Cloud Run", "Cloud Run Functions"], ["Cloud Run"]),  # the same name wins
        (
            "Memorystore for Redis",
            ["Cloud Memorystore for Redis", "Cloud Memorystore for Memcached"],
            ["Cloud Memorystore for Redis"],
        ),
        ("Pub/Sub", ["Cloud Pub/Sub", "Cloud Run"], ["Cloud Pub/Sub"]),
        ("Cloud NAT", ["Compute Engine", "Networking"], []),  # never guessed: --catalog-service maps it
    ],
)
def test_a_rows_service_is_found_in_the_catalog_by_name(
    table_service: str, catalog_names: list[str], expected: list[str]
) -> None:
    services = [CatalogService(f"AAAA-0000-{index:04d}", name) for index, name in enumerate(catalog_names)]

    assert [service.display_name for service in services_named_like(table_service, services)] == expected


def test_only_the_services_asked_for_are_checked_and_an_unknown_service_is_named() -> None:
    rows = [table_row(), table_row(id="nat.gateway", service="Cloud NAT", unit="hour", amount=0.0014)]

    checks = run_check(rows, [JOB_MEMORY], only_services=["cloud nat"])

    assert [(check.row.id, check.status) for check in checks] == [("nat.gateway", "no-service")]
    assert checks[0].detail == "no catalog service is named like 'Cloud NAT'"
    mapped = run_check(rows, [JOB_MEMORY], only_services=["Cloud NAT"], also_search={"Cloud NAT": ["Cloud Run"]})
    assert mapped[0].status == "no-sku-id"


# --- writing back ---------------------------------------------------------------------------------


def committed_table_with_a_sku_id() -> str:
    """The committed table, with run.job.memory given a (made-up) sku_id as a reviewer would."""
    text = PRICES_FILE.read_text(encoding="utf-8")
    marker = "  - id: run.job.memory\n"
    assert text.count(marker) == 1
    return text.replace(marker, f'{marker}    sku_id: "{JOB_MEMORY_SKU}"\n')


def block_bounds(lines: list[str], row_id: str) -> tuple[int, int]:
    first = lines.index(f"  - id: {row_id}\n")
    end = next(number for number in range(first + 1, len(lines)) if lines[number].startswith("  - id: "))
    return first, end


def test_write_sets_only_the_checked_row_and_keeps_every_other_byte() -> None:
    before = committed_table_with_a_sku_id()
    checks = run_check(_loaded(before)["rows"], [JOB_MEMORY])

    after, written = write_checked_rows(before, checks, datetime.date(2026, 12, 6))

    assert written == ["run.job.memory"]
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    (old_first, old_end), (new_first, new_end) = (
        block_bounds(old, "run.job.memory"),
        block_bounds(new, "run.job.memory"),
    )
    assert new[:new_first] == old[:old_first]  # the header, its comments and every row above
    assert new[new_end:] == old[old_end:]  # every section comment and row below
    block = new[new_first:new_end]
    assert block[:6] == old[old_first : old_first + 6]  # id, sku_id, sku, service, regions, unit untouched
    assert block[6:11] == [
        "    amount: 0.0000025\n",  # was 0.000002 (recalled)
        f'    source: "https://cloudbilling.googleapis.com/v1/services/{RUN_SERVICE}/skus?currencyCode=USD"\n',
        '    read: "2026-12-06"\n',
        "    basis: catalog-api\n",
        "    verified: true\n",
    ]
    assert block[11].startswith(f"    note: \"Cloud Billing Catalog API, SKU {JOB_MEMORY_SKU} 'Jobs Memory in")
    assert "0.0000025 USD per GiBy.s, the first 360000 GiBy.s free" in block[11]
    assert len(block) == 12
    row = next(row for row in parse_price_table(_loaded(after)).rows if row.id == "run.job.memory")
    assert (row.amount, row.basis, row.verified, row.sku_id) == (0.0000025, "catalog-api", True, JOB_MEMORY_SKU)


def _loaded(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


# --- the loader ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "a row read from the Cloud Billing Catalog API names its sku_id"),
        ({"sku_id": JOB_MEMORY_SKU}, "as source, the SKU list of its service"),  # a pricing page as source
        ({"source": f"https://cloudbilling.googleapis.com/v1/services/{RUN_SERVICE}/skus"}, "names its sku_id"),
    ],
)
def test_the_loader_refuses_a_catalog_api_row_without_its_sku_id_or_the_apis_address(
    changes: dict[str, Any], message: str
) -> None:
    row = table_row(basis="catalog-api", verified=True, **changes)

    with pytest.raises(PriceTableError, match=message):
        parse_price_table({"rows": [row]})


def test_the_loader_accepts_a_catalog_api_row_with_both() -> None:
    row = table_row(
        basis="catalog-api",
        verified=True,
        sku_id=JOB_MEMORY_SKU,
        source=f"https://cloudbilling.googleapis.com/v1/services/{RUN_SERVICE}/skus?currencyCode=USD",
    )

    assert parse_price_table({"rows": [row]}).rows[0].verified


# --- the command ------------------------------------------------------------------------------------


@pytest.fixture
def no_gcloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cli.cost.gcloud_access_token", lambda: None)


def test_without_credentials_the_command_exits_2_naming_the_variable_and_how_to_get_a_key(
    monkeypatch: pytest.MonkeyPatch, no_gcloud: None
) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_API_KEY", raising=False)

    result = CliRunner().invoke(app, ["cost", "check-prices"])

    assert result.exit_code == 2
    assert "no credentials for the Cloud Billing Catalog API: set GOOGLE_CLOUD_API_KEY to an API key" in result.output
    assert "gcloud services api-keys create" in result.output
    assert "--api-target=service=cloudbilling.googleapis.com" in result.output


def test_without_a_key_the_token_of_gcloud_is_sent_as_a_bearer_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in `gcloud` on PATH (never the real one, never real credentials).
    fake = tmp_path / "gcloud"
    fake.write_text('#!/bin/sh\n[ "$1 $2" = "auth print-access-token" ] && echo t0ken-from-gcloud\n', encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("GOOGLE_CLOUD_API_KEY", raising=False)
    seen: list[dict[str, str]] = []

    def fetch(url: str, headers: dict[str, str]) -> bytes:
        seen.append(headers)
        assert "key=" not in url
        return b"{}"

    monkeypatch.setattr("cli.cost.catalog_fetch", lambda: fetch)

    result = CliRunner().invoke(app, ["cost", "check-prices", "--services", "Cloud Run"])

    assert seen[0]["Authorization"] == "Bearer t0ken-from-gcloud"
    assert "t0ken-from-gcloud" not in result.output
    assert "NO-SERVICE run.instance.cpu" in result.output  # an empty catalog has no Cloud Run


def test_a_network_error_is_one_line_exit_2_and_never_shows_the_key(
    monkeypatch: pytest.MonkeyPatch, no_gcloud: None
) -> None:
    monkeypatch.setenv("OMNI_TEST_KEY", "s3cret-key")

    def unreachable(url: str, headers: dict[str, str]) -> bytes:
        raise CatalogError(f"the catalog could not be reached ([Errno -3] name resolution failed for {url})")

    monkeypatch.setattr("cli.cost.catalog_fetch", lambda: unreachable)

    result = CliRunner().invoke(app, ["cost", "check-prices", "--api-key-env", "OMNI_TEST_KEY"])

    assert result.exit_code == 2
    assert "error: /v1/services: the catalog could not be reached" in result.output
    assert "s3cret-key" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_googles_refusal_is_one_line_with_its_reason_over_http(
    monkeypatch: pytest.MonkeyPatch, no_gcloud: None
) -> None:
    # The error body Google's APIs answer (google.rpc.Status as JSON: {"error": {"code", "message", "status"}}).
    refusal = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "x"}}
    monkeypatch.setenv("GOOGLE_CLOUD_API_KEY", "s3cret-key")

    with BackgroundHTTPServer(lambda method, path, body: (400, refusal), what="a refusing catalog") as server:
        result = CliRunner().invoke(app, ["cost", "check-prices", "--endpoint", server.url])

    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: /v1/services: the catalog answered HTTP 400 Bad Request: "
        "API key not valid. Please pass a valid API key."
    )


def test_an_answer_not_in_the_documented_shape_is_refused_not_a_traceback() -> None:
    client = CatalogClient(lambda url, headers: b'{"services": [{"displayName": "no id"}]}', Credentials(api_key="k"))

    with pytest.raises(CatalogError, match="a service is not in the documented shape"):
        client.services()


def test_a_mismatch_exits_1_and_write_sets_the_row_end_to_end_over_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_gcloud: None
) -> None:
    """The real urllib path against a catalog served on 127.0.0.1, with two pages of SKUs."""
    catalog = FakeCatalog(SERVICES, {RUN_SERVICE: [JOB_MEMORY | {"skuId": "ABCD-0000-0020"}, JOB_MEMORY]}, 1)
    prices = tmp_path / "prices.yaml"
    prices.write_text(committed_table_with_a_sku_id(), encoding="utf-8")
    monkeypatch.setenv("GOOGLE_CLOUD_API_KEY", "k3y")
    runner = CliRunner()

    with BackgroundHTTPServer(lambda method, path, body: (200, catalog.answer(path)), what="a fake catalog") as server:
        command = ["cost", "check-prices", "--services", "Cloud Run", "--prices-file", str(prices)]
        checked = runner.invoke(app, [*command, "--endpoint", server.url])
        written = runner.invoke(app, [*command, "--endpoint", server.url, "--write"])
        again = runner.invoke(app, [*command, "--endpoint", server.url])

    assert checked.exit_code == 1, checked.output
    assert "MISMATCH run.job.memory [europe-west1, us-central1]: table 0.000002 per GiB-second, catalog 0.0000025" in (
        checked.output
    )
    assert "no sku_id run.instance.memory" in checked.output
    assert written.exit_code == 0, written.output
    assert f"wrote 1 row(s) to {prices}: run.job.memory" in written.output
    assert again.exit_code == 0, again.output
    assert "match    run.job.memory" in again.output
    sku_pages = [url for url in catalog.asked if url.startswith(f"/v1/services/{RUN_SERVICE}/skus")]
    assert any("pageToken=1" in url for url in sku_pages)  # the second page was asked for
    assert all("key=k3y" in url and "currencyCode=USD" in url for url in sku_pages)
