"""The reviewed price table (``cost/prices.yaml``), loaded and validated once per run.

A malformed row is refused before any estimate, naming the row and the field. A row without an
amount (``amount: null``) is a price that could not be found: estimates that need it leave the
line out and name it, they never guess.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PRICES_FILE = Path(__file__).with_name("prices.yaml")

Unit = Literal[
    "vCPU-second",
    "GiB-second",
    "request",
    "vCPU-hour",
    "GiB-hour",
    "GB-hour",
    "GB-month",
    "GiB-month",
    "GB",
    "GiB",
    "TiB",
    "hour",
    "month",
    "execution",
    "sample",
    "span",
    "access",
]


# Where an amount was read. Only Google's own data verifies a row: its pricing page (a stored copy),
# an export of its Cloud Billing Catalog API, or the API itself read by `omni cost check-prices`
# (both name the SKU id).
Basis = Literal["pricing-page", "catalog-export", "catalog-api", "third-party", "recalled", "not-found"]
VERIFYING_BASES = ("pricing-page", "catalog-export", "catalog-api")
CATALOG_API_SOURCE = "https://cloudbilling.googleapis.com/v1/services/"


class PriceTableError(ValueError):
    """The price table is malformed; the message names the row and the field."""


class PriceRow(BaseModel):
    """One SKU in one or more regions, as Google's Cloud Billing catalog names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z]+(\.[a-z0-9_]+)+$", description="The estimators' key, e.g. run.instance.cpu.")
    sku: str = Field(min_length=3, description="The SKU description in the Cloud Billing catalog.")
    sku_id: str | None = Field(
        default=None,
        pattern=r"^[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$",
        description="The catalog's SKU id (e.g. 4856-B847-F1EB), when known; required for a catalog export.",
    )
    service: str = Field(min_length=2)
    regions: tuple[str, ...] = Field(min_length=1, description="Regions the amount applies to, or `global`.")
    unit: Unit
    per: int = Field(default=1, ge=1, description="How many units the amount buys (1,000,000 requests).")
    amount: float | None = Field(ge=0, description="USD list price; null when it could not be found.")
    source: str = Field(pattern=r"^https://", description="The public page or export the amount was read on.")
    read: datetime.date = Field(description="The stored copy's date, or the day it was read.")
    basis: Basis = Field(description="Where the amount came from; only Google's own data verifies it.")
    verified: bool = Field(
        description="True only when read on Google's pricing page or in its Cloud Billing catalog (export or API)."
    )
    note: str = ""

    @field_validator("read", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"must be a date like 2026-12-04, not {value!r}") from None
        return value

    @model_validator(mode="after")
    def _unverified_rows_say_why(self) -> PriceRow:
        if not self.verified and not self.note.strip():
            raise ValueError("an unverified row needs a note saying where the amount came from")
        if self.amount is None and self.verified:
            raise ValueError("a row without an amount cannot be verified")
        if self.verified != (self.basis in VERIFYING_BASES):
            raise ValueError(
                f"basis {self.basis!r} cannot say verified: {str(self.verified).lower()} "
                f"(only {' or '.join(VERIFYING_BASES)} verifies a row)"
            )
        if (self.amount is None) != (self.basis == "not-found"):
            raise ValueError("`amount: null` goes with `basis: not-found`, and only with it")
        if self.basis == "catalog-export" and self.sku_id is None:
            raise ValueError("a row read from a Cloud Billing catalog export names its sku_id")
        if self.basis == "catalog-api" and (self.sku_id is None or not self.source.startswith(CATALOG_API_SOURCE)):
            raise ValueError(
                "a row read from the Cloud Billing Catalog API names its sku_id and, as source, "
                f"the SKU list of its service ({CATALOG_API_SOURCE}<service id>/skus)"
            )
        return self

    @property
    def unit_price(self) -> float | None:
        """USD for one unit (the amount divided by ``per``)."""
        return None if self.amount is None else self.amount / self.per


@dataclass(frozen=True)
class PriceTable:
    """Rows by (id, region); ``global`` rows answer for every region."""

    rows: tuple[PriceRow, ...]

    def find(self, price_id: str, region: str) -> PriceRow:
        for wanted in (region, "global"):
            for row in self.rows:
                if row.id == price_id and wanted in row.regions:
                    return row
        raise KeyError(f"the price table has no row {price_id!r} for region {region!r} (cost/prices.yaml)")

    def ids(self) -> set[str]:
        return {row.id for row in self.rows}


def parse_price_table(data: object, origin: str = "cost/prices.yaml") -> PriceTable:
    """Validate a loaded YAML document; errors name the row (index and id) and the field."""
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise PriceTableError(f"{origin}: expected a mapping with a `rows` list")
    rows: list[PriceRow] = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(data["rows"]):
        label = f"row {index}" + (f" ({raw.get('id')})" if isinstance(raw, dict) and raw.get("id") else "")
        try:
            row = PriceRow.model_validate(raw)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in issue['loc']) or 'row'}: {issue['msg']}" for issue in error.errors()
            )
            raise PriceTableError(f"{origin}: {label}: {problems}") from None
        for region in row.regions:
            if (row.id, region) in seen:
                raise PriceTableError(f"{origin}: {label}: regions: {row.id} is priced twice for {region}")
            seen.add((row.id, region))
        rows.append(row)
    return PriceTable(tuple(rows))


def load_price_table(path: Path = PRICES_FILE) -> PriceTable:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PriceTableError(f"{path}: the price table is missing") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 10x faster
    except yaml.YAMLError as error:
        raise PriceTableError(f"{path}: not valid YAML ({error})") from None
    return parse_price_table(data, str(path.name if path == PRICES_FILE else path))


@cache
def default_price_table() -> PriceTable:
    """The committed table, parsed once per process."""
    return load_price_table()
