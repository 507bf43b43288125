"""Read the pipeline's reviewed files, refusing a malformed one with its path and the reason."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import fastavro
import sqlglot
from fastavro.schema import SchemaParseException
from sqlglot.errors import ParseError

ROOT = Path(__file__).resolve().parent
EVENT_SCHEMA = ROOT / "schema" / "usage_event.avsc"
TABLE_SCHEMAS = {"events": ROOT / "schema" / "usage_events.bq.json", "invoices": ROOT / "schema" / "invoices.bq.json"}
SQL_DIR = ROOT / "sql"
# The views, in the order they must be created: each reads the ones before it.
VIEWS = ("deduplicated_events", "monthly_usage", "reconciliation")
DATASET_PLACEHOLDER = "{dataset}"
BIGQUERY_TYPES = frozenset(
    {
        "STRING",
        "INTEGER",
        "INT64",
        "FLOAT",
        "FLOAT64",
        "BOOLEAN",
        "BOOL",
        "TIMESTAMP",
        "DATE",
        "NUMERIC",
        "BYTES",
        "JSON",
    }
)
BIGQUERY_MODES = frozenset({"REQUIRED", "NULLABLE", "REPEATED"})
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")


class MeteringFileError(ValueError):
    """A reviewed file of the pipeline is malformed: its path and what is wrong."""


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT.parent))


def event_schema_text() -> str:
    """The Avro schema as Pub/Sub receives it, checked by fastavro first."""
    text = EVENT_SCHEMA.read_text(encoding="utf-8")
    try:
        fastavro.parse_schema(json.loads(text))
    except (ValueError, SchemaParseException, KeyError, TypeError) as error:
        raise MeteringFileError(f"{_relative(EVENT_SCHEMA)}: not a valid Avro schema ({error})") from None
    return text


def event_schema() -> Any:
    """The parsed Avro schema, for validating events."""
    return fastavro.parse_schema(json.loads(event_schema_text()))


def table_schema(table: str) -> list[dict[str, str]]:
    """The BigQuery columns of `events` or `invoices`, checked for names, types and modes."""
    path = TABLE_SCHEMAS[table]
    try:
        columns = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise MeteringFileError(f"{_relative(path)}: not JSON ({error})") from None
    names = set()
    for index, column in enumerate(columns):
        where = f"{_relative(path)}: column {index} ({column.get('name', '?')})"
        if not COLUMN_NAME.fullmatch(str(column.get("name", ""))):
            raise MeteringFileError(
                f"{where}: a column name is letters, digits and underscores, not starting with a digit"
            )
        if column.get("type") not in BIGQUERY_TYPES:
            raise MeteringFileError(f"{where}: unknown BigQuery type {column.get('type')!r}")
        if column.get("mode", "NULLABLE") not in BIGQUERY_MODES:
            raise MeteringFileError(f"{where}: mode must be one of {', '.join(sorted(BIGQUERY_MODES))}")
        if column["name"].lower() in names:
            raise MeteringFileError(f"{where}: a second column of that name")
        names.add(column["name"].lower())
    return columns


def table_schema_text(table: str) -> str:
    """What the provider's `schema` input takes: the columns as JSON text."""
    return json.dumps(table_schema(table), sort_keys=True)


def view_sql(view: str) -> str:
    """The view's SQL as reviewed, with `{dataset}` still in it."""
    return (SQL_DIR / f"{view}.sql").read_text(encoding="utf-8")


def render_view(view: str, dataset: str) -> str:
    """The view's query for one dataset, parsed in BigQuery's dialect before it is deployed."""
    path = SQL_DIR / f"{view}.sql"
    sql = view_sql(view)
    if DATASET_PLACEHOLDER not in sql:
        raise MeteringFileError(f"{_relative(path)}: reads no table of the usage dataset ({DATASET_PLACEHOLDER})")
    leftover = re.findall(r"\{[A-Za-z_]+\}", sql.replace(DATASET_PLACEHOLDER, ""))
    if leftover:
        raise MeteringFileError(
            f"{_relative(path)}: only {DATASET_PLACEHOLDER} is templated, found {', '.join(leftover)}"
        )
    rendered = sql.replace(DATASET_PLACEHOLDER, dataset)
    try:
        statements = sqlglot.parse(rendered, read="bigquery")
    except ParseError as error:
        raise MeteringFileError(f"{_relative(path)}: not valid BigQuery SQL ({error})") from None
    if len([s for s in statements if s is not None]) != 1:
        raise MeteringFileError(f"{_relative(path)}: a view is exactly one query")
    return rendered
