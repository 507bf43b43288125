"""The price table checked against Google's SKU catalog, and the catalog's figures written back.

A row that names its ``sku_id`` is compared with that SKU: its paid rate (the first rate beyond
the free tier) converted to the row's unit and ``per`` (``cost/catalog.py``). A row without one
gets candidate SKUs for a reviewer to choose from: same service, every region of the row in the
SKU's ``serviceRegions`` (or ``global`` there), a unit that converts, and description words shared with the row's
``sku``, most shared first. Nothing is matched by guessing: a row gains a ``sku_id`` only by a
person writing it.

``write_checked_rows`` rewrites only the checked rows' amount, source, read, basis, verified and
note lines of ``cost/prices.yaml``; every comment, every other row and the order stay byte for
byte, and the result must load before it is written.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import yaml

from cost.catalog import CatalogService, CatalogSku, catalog_dimension, price_in_table_unit, service_id_of_source
from cost.catalog import skus_url as catalog_skus_url
from cost.prices import PriceRow, PriceTable, parse_price_table

Status = Literal["match", "mismatch", "unit-suspect", "no-sku-id", "sku-not-found", "not-comparable", "no-service"]
# `unit-suspect`: the figures differ by exactly 2^30/10^9, so the row's unit (GB or GiB) is likely
# wrong rather than its amount; `--write` leaves it for a person (the estimator's quantity too).
FAILING: tuple[Status, ...] = ("mismatch", "unit-suspect", "sku-not-found", "not-comparable")
CANDIDATES_SHOWN = 5
RELATIVE_TOLERANCE = Decimal("1e-9")  # the catalog's nanos and the table's decimals agree far closer
GB_PER_GIB = Decimal(2) ** 30 / Decimal(10) ** 9
_STOP_WORDS = {"in", "the", "and", "of", "for", "per", "a", "to", "on", "cloud", "google"}


@dataclass(frozen=True)
class Candidate:
    sku: CatalogSku
    price: Decimal  # in the row's unit and per
    shared_words: int


@dataclass(frozen=True)
class RowCheck:
    index: int  # position in the table's rows
    row: PriceRow
    status: Status
    sku: CatalogSku | None = None
    catalog_amount: Decimal | None = None
    candidates: tuple[Candidate, ...] = ()
    detail: str = ""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _service_words(name: str) -> set[str]:
    words = _words(name)
    return words - _STOP_WORDS or words


def services_named_like(name: str, services: Iterable[CatalogService]) -> list[CatalogService]:
    """The catalog service of the same name (ignoring case, punctuation and "Cloud"); without one, those
    whose name holds the table's or is held by it ("Memorystore for Redis" ~ "Cloud Memorystore for Redis")."""
    wanted = _service_words(name)
    named = [(service, _service_words(service.display_name)) for service in services]
    same = [service for service, words in named if words == wanted]
    return same or [service for service, words in named if words and (wanted <= words or words <= wanted)]


def _covers_regions(sku: CatalogSku, row: PriceRow) -> bool:
    """Every region of the row is served by the SKU; a ``global`` SKU serves every region."""
    return "global" in sku.regions or set(row.regions) <= set(sku.regions)


def _agrees(catalog: Decimal, table: float | None) -> bool:
    if table is None:
        return False
    table_amount = Decimal(str(table))
    return abs(catalog - table_amount) <= RELATIVE_TOLERANCE * max(abs(catalog), abs(table_amount))


def _unit_hint(catalog: Decimal, table: float | None) -> str:
    """Google's pages often write GB for GiB: say so when the figures differ by exactly that factor.

    The table's amount is compared in the table's unit, so 0.007 "per GB-hour" read off a page that
    means GiB differs from the catalog's 0.007 per GiBy.h by exactly 2^30/10^9."""
    if table is None or table == 0 or catalog == 0:
        return ""
    ratio = Decimal(str(table)) / catalog
    for factor, hint in ((GB_PER_GIB, "GiB written as GB"), (1 / GB_PER_GIB, "GB written as GiB")):
        if abs(ratio - factor) <= Decimal("1e-6") * factor:
            return f" (the ratio is exactly 2^30/10^9: the row's unit may be {hint})"
    return ""


def check_row(index: int, row: PriceRow, skus: list[CatalogSku], searched: list[CatalogService]) -> RowCheck:
    """One row against the SKUs of the services it may be billed under."""
    if not searched:
        return RowCheck(index, row, "no-service", detail=f"no catalog service is named like {row.service!r}")
    if row.sku_id is not None:
        sku = next((sku for sku in skus if sku.sku_id == row.sku_id), None)
        names = ", ".join(service.display_name for service in searched)
        if sku is None:
            return RowCheck(index, row, "sku-not-found", detail=f"SKU {row.sku_id} is not in {names}")
        if not _covers_regions(sku, row):
            missing = ", ".join(sorted(set(row.regions) - set(sku.regions)))
            return RowCheck(index, row, "not-comparable", sku, detail=f"the SKU is not offered in {missing}")
        price = price_in_table_unit(sku, row.unit, row.per)
        if price is None:
            return RowCheck(
                index,
                row,
                "not-comparable",
                sku,
                detail=f"the SKU's unit {sku.usage_unit!r} ({sku.usage_unit_description}) cannot be read as {row.unit}",
            )
        if _agrees(price, row.amount):
            return RowCheck(index, row, "match", sku, price)
        detail = _unit_hint(price, row.amount)
        status: Status = "unit-suspect" if detail else "mismatch"
        return RowCheck(index, row, status, sku, price, detail=detail)
    wanted = _words(row.sku) - _STOP_WORDS
    candidates = []
    for sku in skus:
        price = price_in_table_unit(sku, row.unit, row.per)
        shared = len(wanted & _words(sku.description))
        if price is not None and shared and _covers_regions(sku, row):
            candidates.append(Candidate(sku, price, shared))
    candidates.sort(key=lambda candidate: (-candidate.shared_words, candidate.sku.description, candidate.sku.sku_id))
    return RowCheck(index, row, "no-sku-id", candidates=tuple(candidates[:CANDIDATES_SHOWN]))


def check_table(
    table: PriceTable,
    services: list[CatalogService],
    skus_of: Callable[[str], list[CatalogSku]],
    only_services: Iterable[str] = (),
    also_search: Mapping[str, Iterable[str]] | None = None,
) -> list[RowCheck]:
    """Every row (or the rows of ``only_services``) against the catalog.

    ``skus_of(service_id)`` lists a service's SKUs (the caller caches); ``also_search`` maps a
    table service to catalog display names to search as well (Cloud NAT's SKUs may sit under
    another service's name)."""
    only = {name.lower() for name in only_services}
    extra = {key.lower(): list(names) for key, names in (also_search or {}).items()}
    by_id = {service.service_id: service for service in services}
    checks = []
    for index, row in enumerate(table.rows):
        if only and row.service.lower() not in only:
            continue
        searched = services_named_like(row.service, services)
        searched += [service for service in services if service.display_name in extra.get(row.service.lower(), [])]
        from_source = service_id_of_source(row.source)
        if from_source:
            searched.append(by_id.get(from_source, CatalogService(from_source, from_source)))
        searched = list({service.service_id: service for service in searched}.values())
        skus = [sku for service in searched for sku in skus_of(service.service_id)]
        checks.append(check_row(index, row, skus, searched))
    return checks


# --- the report --------------------------------------------------------------------------------


def plain(amount: Decimal) -> str:
    """An amount as the table writes it: plain decimal, 10 significant digits, no exponent."""
    rounded = Decimal(format(amount, ".10g")).normalize()
    return format(rounded, "f")


def _table_figure(row: PriceRow) -> str:
    amount = "null" if row.amount is None else plain(Decimal(str(row.amount)))
    return f"{amount} per {row.per if row.per != 1 else ''}{' ' if row.per != 1 else ''}{row.unit}"


def _regions(row: PriceRow) -> str:
    return ", ".join(row.regions)


def render_checks(checks: list[RowCheck]) -> str:
    lines = []
    for check in checks:
        row, head = check.row, f"{check.row.id} [{_regions(check.row)}]"
        compared = ("match", "mismatch", "unit-suspect")
        if check.status in compared and check.sku is not None and check.catalog_amount is not None:
            label = {"match": "match   ", "mismatch": "MISMATCH", "unit-suspect": "UNIT?   "}[check.status]
            lines.append(
                f"{label} {head}: table {_table_figure(row)}, catalog {plain(check.catalog_amount)} "
                f"(SKU {check.sku.sku_id} {check.sku.description!r}){check.detail}"
            )
        elif check.status == "no-sku-id":
            lines.append(f"no sku_id {head}: table {_table_figure(row)} ({row.basis}), sku {row.sku!r}")
            if not check.candidates:
                lines.append("    no candidate SKU (same service, these regions, a unit that converts, shared words)")
            for candidate in check.candidates:
                lines.append(
                    f"    candidate {candidate.sku.sku_id} {candidate.sku.description!r}: {plain(candidate.price)} "
                    f"per {row.per if row.per != 1 else ''}{' ' if row.per != 1 else ''}{row.unit} "
                    f"(catalog {candidate.sku.usage_unit}, {candidate.sku.service_display_name})"
                )
        else:
            lines.append(f"{check.status.upper()} {head}: {check.detail}")
    counts: dict[str, int] = {}
    for check in checks:
        counts[check.status] = counts.get(check.status, 0) + 1
    lines.append("; ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "no rows checked")
    return "\n".join(lines) + "\n"


# --- writing back --------------------------------------------------------------------------------

_ROW_START = re.compile(r"^  - id: ")
_WRITTEN_FIELDS = ("amount", "source", "read", "basis", "verified", "note")


def _row_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line ranges of each row: its `- id:` line and the deeper-indented lines after it."""
    blocks = []
    for number, line in enumerate(lines):
        if _ROW_START.match(line):
            end = number + 1
            while end < len(lines) and lines[end].startswith("    "):
                end += 1
            blocks.append((number, end))
    return blocks


def _written_values(check: RowCheck, today: datetime.date) -> dict[str, str]:
    assert check.sku is not None
    assert check.catalog_amount is not None
    sku, row = check.sku, check.row
    paid = sku.paid_rate
    unit_price = plain(paid.unit_price) if paid is not None else "0"
    free = f", the first {plain(sku.free_usage)} {sku.usage_unit} free" if sku.free_usage else ""
    dimension = catalog_dimension(sku.usage_unit)
    assert dimension is not None
    note = (
        f"Cloud Billing Catalog API, SKU {sku.sku_id} {sku.description!r} ({sku.service_display_name}): "
        f"{unit_price} USD per {sku.usage_unit}{free}; as the table writes it, {plain(check.catalog_amount)} per "
        f"{row.per} {row.unit} (a month is 730 hours). Read by omni cost check-prices."
    )
    return {
        "amount": plain(check.catalog_amount),
        "source": json.dumps(catalog_skus_url(sku.service_id)),
        "read": json.dumps(today.isoformat()),
        "basis": "catalog-api",
        "verified": "true",
        "note": json.dumps(note, ensure_ascii=False),
    }


def write_checked_rows(text: str, checks: list[RowCheck], today: datetime.date) -> tuple[str, list[str]]:
    """The table's text with every matched or mismatched row set to the catalog's figure (a row whose
    unit is suspect is left for a person).

    Returns the new text and the ids written. Raises ``ValueError`` when the file's rows do not line
    up with the parsed table (a hand edit mid-run) and ``PriceTableError`` if the result would not
    load."""
    lines = text.splitlines(keepends=True)
    blocks = _row_blocks(lines)
    written: list[str] = []
    # From the last row up, so the line numbers of the rows above stay valid.
    for check in sorted(checks, key=lambda check: check.index, reverse=True):
        if check.status not in ("match", "mismatch"):
            continue
        first, end = blocks[check.index] if check.index < len(blocks) else (0, 0)
        if lines[first].strip() != f"- id: {check.row.id}":
            raise ValueError(f"row {check.index} of the file is not {check.row.id}; run the check again")
        values = _written_values(check, today)
        block = lines[first:end]
        kept: list[str] = []
        seen: set[str] = set()
        skipping = False
        for line in block:
            key = re.match(r"^    ([a-z_]+):", line)
            if key:
                skipping = key.group(1) in values
                if skipping:
                    seen.add(key.group(1))
                    kept.append(f"    {key.group(1)}: {values[key.group(1)]}\n")
                    continue
            elif skipping:  # a continuation line of a value being replaced
                continue
            kept.append(line)
        kept += [f"    {field}: {values[field]}\n" for field in _WRITTEN_FIELDS if field not in seen]
        lines[first:end] = kept
        written.append(check.row.id)
    result = "".join(lines)
    parse_price_table(yaml.safe_load(result))
    return result, sorted(written)
