"""Google's public SKU catalog (the Cloud Billing Catalog API, v1): fetch, parse, convert units.

The response shapes relied on, from the API's reference and how-to pages
(https://docs.cloud.google.com/billing/v1/how-tos/catalog-api, "Get a list of SKUs for a
service"; field meanings from the v1 client reference, e.g.
https://cloud.google.com/python/docs/reference/cloudbilling/latest/google.cloud.billing_v1.types.Sku
and ``...types.PricingExpression``):

- ``GET https://cloudbilling.googleapis.com/v1/services`` ->
  ``{"services": [{"name", "serviceId", "displayName"}], "nextPageToken"}``.
- ``GET .../v1/services/{serviceId}/skus?currencyCode=USD`` ->
  ``{"skus": [Sku], "nextPageToken"}``; a Sku is ``{"name", "skuId", "description",
  "category": {"serviceDisplayName", "resourceFamily", "resourceGroup", "usageType"},
  "serviceRegions": ["europe-west1", ...], "pricingInfo": [PricingInfo]}``.
- ``pricingInfo`` is "a timeline of pricing info for this SKU in chronological order": the last
  entry is the current price. Its ``pricingExpression`` holds ``usageUnit`` (UCUM-like short
  hand: ``s``, ``h``, ``mo``, ``GiBy``, ``GiBy.s``, ``GiBy.mo``, ``count``),
  ``usageUnitDescription``, ``baseUnit``, ``baseUnitConversionFactor``, ``displayQuantity`` and
  ``tieredRates``: ``[{"startUsageAmount", "unitPrice": {"currencyCode", "units", "nanos"}}]``
  sorted by ``startUsageAmount``. The price is per one ``usageUnit``; ``displayQuantity`` is for
  display only. A free tier is a first rate at ``startUsageAmount: 0`` with a zero ``unitPrice``
  and the paid rate starts at the free amount (the reference's example: "the first 20GB is free").
- Money is ``google.type.Money``: ``units`` (an int64, a JSON string) plus ``nanos`` (10^-9 units,
  same sign); either may be omitted when zero (proto3 JSON).
- Pages: every list answers at most ``pageSize`` items (5000 at most) and a ``nextPageToken``
  while more remain; the next page is asked with ``pageToken``. No token: the last page.
- Authentication: an API key (``key=`` query parameter) or an OAuth access token
  (``Authorization: Bearer``).

Amounts are ``Decimal`` throughout: a catalog price is exact (units + nanos) and the conversions
(2^30 bytes, 3600 s, 730 h a month) are exact, so a comparison never rests on float rounding.
The HTTP layer is a function passed in (``Fetch``); ``urllib_fetch`` is the real one.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cost.model import HOURS_PER_MONTH

API_ROOT = "https://cloudbilling.googleapis.com"
PAGE_SIZE = 5000  # the API's maximum page size
TIMEOUT_SECONDS = 30.0

# (url, headers) -> response body. Raises CatalogError (with a one-line message) on failure.
Fetch = Callable[[str, dict[str, str]], bytes]


class CatalogError(RuntimeError):
    """The catalog could not be read (network, HTTP status, an answer not in the documented shape)."""


@dataclass(frozen=True)
class CatalogService:
    service_id: str
    display_name: str


@dataclass(frozen=True)
class TierRate:
    start_usage_amount: Decimal
    unit_price: Decimal  # USD per one usage unit


@dataclass(frozen=True)
class CatalogSku:
    sku_id: str
    description: str
    service_id: str
    service_display_name: str
    regions: tuple[str, ...]
    usage_unit: str
    usage_unit_description: str
    tiers: tuple[TierRate, ...]

    @property
    def paid_rate(self) -> TierRate | None:
        """The rate that applies to the first unit beyond the free tier (leading free rates skipped).

        None when every rate is free. Later, cheaper volume tiers are not the list price a small
        stack pays, so they are left out."""
        return next((tier for tier in self.tiers if tier.unit_price != 0), None)

    @property
    def free_usage(self) -> Decimal:
        """How many usage units the free tier covers (0 without one)."""
        paid = self.paid_rate
        return paid.start_usage_amount if paid is not None else Decimal(0)


def money(value: dict[str, Any]) -> Decimal:
    """A ``google.type.Money`` in USD: ``units`` + ``nanos`` / 10^9."""
    currency = value.get("currencyCode", "USD")
    if currency != "USD":
        raise CatalogError(f"a unit price is in {currency}, not USD (the request asks currencyCode=USD)")
    return Decimal(int(value.get("units") or 0)) + Decimal(int(value.get("nanos") or 0)).scaleb(-9)


def parse_sku(data: dict[str, Any], service_id: str = "") -> CatalogSku:
    """One Sku of a ``skus.list`` answer, its current (last) pricing info."""
    try:
        sku_id = data["skuId"]
        timeline = data.get("pricingInfo") or []
        expression = timeline[-1]["pricingExpression"] if timeline else {}
        tiers = tuple(
            TierRate(Decimal(str(rate.get("startUsageAmount", 0))), money(rate.get("unitPrice") or {}))
            for rate in expression.get("tieredRates", [])
        )
        name = data.get("name", "")
        if not service_id and name.startswith("services/"):
            service_id = name.split("/")[1]
        return CatalogSku(
            sku_id=sku_id,
            description=data.get("description", ""),
            service_id=service_id,
            service_display_name=(data.get("category") or {}).get("serviceDisplayName", ""),
            regions=tuple(data.get("serviceRegions") or ()),
            usage_unit=expression.get("usageUnit", ""),
            usage_unit_description=expression.get("usageUnitDescription", ""),
            tiers=tuple(sorted(tiers, key=lambda tier: tier.start_usage_amount)),
        )
    except (KeyError, TypeError, ValueError, IndexError, ArithmeticError) as error:
        raise CatalogError(f"a SKU is not in the documented shape ({type(error).__name__}: {error})") from None


# --- units ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """A unit as (bytes per unit or None for a count, seconds per unit or None without time)."""

    size: Decimal
    has_bytes: bool
    has_time: bool

    def compatible(self, other: Dimension) -> bool:
        return self.has_bytes == other.has_bytes and self.has_time == other.has_time


_BYTES = {
    "By": Decimal(1),
    "kBy": Decimal(10) ** 3,
    "MBy": Decimal(10) ** 6,
    "GBy": Decimal(10) ** 9,
    "TBy": Decimal(10) ** 12,
    "KiBy": Decimal(2) ** 10,
    "MiBy": Decimal(2) ** 20,
    "GiBy": Decimal(2) ** 30,
    "TiBy": Decimal(2) ** 40,
}
# A month is the table's convention, 730 hours (cost/model.py, as Google's pricing pages).
_SECONDS = {
    "s": Decimal(1),
    "min": Decimal(60),
    "h": Decimal(3600),
    "d": Decimal(86400),
    "mo": Decimal(HOURS_PER_MONTH) * 3600,
}
_COUNTS = {"count", "1"}


def catalog_dimension(usage_unit: str) -> Dimension | None:
    """The dimension of a catalog ``usageUnit`` (``GiBy.mo``, ``h``, ``count``), None if not understood."""
    size = Decimal(1)
    has_bytes = has_time = False
    for factor in usage_unit.strip().split("."):
        if factor in _BYTES and not has_bytes:
            size, has_bytes = size * _BYTES[factor], True
        elif factor in _SECONDS and not has_time:
            size, has_time = size * _SECONDS[factor], True
        elif factor not in _COUNTS:
            return None
    return Dimension(size, has_bytes, has_time)


# The table's units (cost/prices.py `Unit`); a count (vCPU, request, span) has size 1.
TABLE_UNITS: dict[str, Dimension] = {
    "vCPU-second": Dimension(_SECONDS["s"], False, True),
    "GiB-second": Dimension(_BYTES["GiBy"] * _SECONDS["s"], True, True),
    "request": Dimension(Decimal(1), False, False),
    "vCPU-hour": Dimension(_SECONDS["h"], False, True),
    "GiB-hour": Dimension(_BYTES["GiBy"] * _SECONDS["h"], True, True),
    "GB-hour": Dimension(_BYTES["GBy"] * _SECONDS["h"], True, True),
    "GB-month": Dimension(_BYTES["GBy"] * _SECONDS["mo"], True, True),
    "GiB-month": Dimension(_BYTES["GiBy"] * _SECONDS["mo"], True, True),
    "GB": Dimension(_BYTES["GBy"], True, False),
    "GiB": Dimension(_BYTES["GiBy"], True, False),
    "TiB": Dimension(_BYTES["TiBy"], True, False),
    "hour": Dimension(_SECONDS["h"], False, True),
    "month": Dimension(_SECONDS["mo"], False, True),
    "execution": Dimension(Decimal(1), False, False),
    "sample": Dimension(Decimal(1), False, False),
    "span": Dimension(Decimal(1), False, False),
    "access": Dimension(Decimal(1), False, False),
}


def price_in_table_unit(sku: CatalogSku, unit: str, per: int = 1) -> Decimal | None:
    """The SKU's paid rate as the table writes it: USD for ``per`` of the table's ``unit``.

    None when the units are of different kinds (bytes vs counts, with vs without time) or the
    catalog's unit is not understood. A SKU free at every tier costs 0."""
    catalog, table = catalog_dimension(sku.usage_unit), TABLE_UNITS.get(unit)
    if catalog is None or table is None or not catalog.compatible(table):
        return None
    paid = sku.paid_rate
    price = paid.unit_price if paid is not None else Decimal(0)
    return price * table.size / catalog.size * per


# --- the API ----------------------------------------------------------------------------------


def urllib_fetch(timeout: float = TIMEOUT_SECONDS) -> Fetch:
    """The real HTTP layer: GET with urllib, a timeout, and one-line errors that never carry the URL
    (it may hold the API key)."""

    def fetch(url: str, headers: dict[str, str]) -> bytes:
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise CatalogError(f"the catalog answered HTTP {error.code} {error.reason}{_api_message(error)}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise CatalogError(f"the catalog could not be reached ({reason})") from None

    return fetch


def _api_message(error: urllib.error.HTTPError) -> str:
    """Google's error body names the cause (API not enabled, key not valid)."""
    try:
        message = json.loads(error.read() or b"{}").get("error", {}).get("message", "")
    except (ValueError, AttributeError, OSError):
        return ""
    return f": {message.splitlines()[0]}" if message else ""


@dataclass(frozen=True)
class Credentials:
    """An API key (sent as ``key=``) or an OAuth access token (sent as a Bearer header)."""

    api_key: str | None = None
    access_token: str | None = None

    def redact(self, text: str) -> str:
        for secret in (self.api_key, self.access_token):
            if secret:
                text = text.replace(secret, "***")
        return text


class CatalogClient:
    """Lists services and SKUs across pages; every page is one ``fetch``."""

    def __init__(self, fetch: Fetch, credentials: Credentials, api_root: str = API_ROOT):
        self._fetch = fetch
        self._credentials = credentials
        self._root = api_root.rstrip("/")

    def _pages(self, path: str, params: dict[str, str], items: str) -> Iterator[dict[str, Any]]:
        token = ""
        while True:
            query = dict(params, pageSize=str(PAGE_SIZE))
            if token:
                query["pageToken"] = token
            headers = {"Accept": "application/json"}
            if self._credentials.api_key:
                query["key"] = self._credentials.api_key
            elif self._credentials.access_token:
                headers["Authorization"] = f"Bearer {self._credentials.access_token}"
            url = f"{self._root}{path}?{urllib.parse.urlencode(query)}"
            try:
                page = json.loads(self._fetch(url, headers))
            except CatalogError as error:
                raise CatalogError(self._credentials.redact(f"{path}: {error}")) from None
            except ValueError:
                raise CatalogError(f"{path}: the answer is not JSON") from None
            if not isinstance(page, dict):
                raise CatalogError(f"{path}: the answer is not a JSON object")
            yield from page.get(items) or []
            token = page.get("nextPageToken") or ""
            if not token:
                return

    def services(self) -> list[CatalogService]:
        try:
            return [
                CatalogService(item["serviceId"], item.get("displayName", ""))
                for item in self._pages("/v1/services", {}, "services")
            ]
        except (KeyError, TypeError, AttributeError) as error:
            raise CatalogError(f"/v1/services: a service is not in the documented shape ({error!r})") from None

    def skus(self, service_id: str) -> list[CatalogSku]:
        path = f"/v1/services/{urllib.parse.quote(service_id)}/skus"
        return [parse_sku(item, service_id) for item in self._pages(path, {"currencyCode": "USD"}, "skus")]


def skus_url(service_id: str) -> str:
    """The public address of a service's SKU list, written as a row's ``source`` (no key in it)."""
    return f"{API_ROOT}/v1/services/{service_id}/skus?currencyCode=USD"


def service_id_of_source(source: str) -> str | None:
    """The service id in a row's source when it is a ``skus_url``."""
    match = re.match(re.escape(API_ROOT) + r"/v1/services/([^/?]+)/skus", source)
    return match.group(1) if match else None
