"""The usage event's schema and the views' SQL, checked by the real tools of their field: the
Avro schema by fastavro against good and bad events in Pub/Sub's JSON encoding, the SQL parsed
in BigQuery's dialect by sqlglot, transpiled to DuckDB and run on fixture events (duplicates,
a late event, several tenants, a month boundary). Every expected number is written by hand."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

import duckdb
import fastavro
import pytest
import sqlglot

from metering import files

UTC = datetime.UTC
DATASET = "omni_test_usage"


def ts(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def micros(text: str) -> int:
    return int(ts(text).timestamp() * 1_000_000)


GOOD_EVENT: dict[str, Any] = {
    "schema_version": 1,
    "event_id": "6f1c2a8e-8a0b-4d5e-9f7a-2b1c3d4e5f60",
    "tenant_id": "acme",
    "api_key_id": "key_01",
    "plan": "pro",
    "route": "/v1/items/{id}",
    "method": "GET",
    "unit_kind": "request",
    "units": 1,
    "occurred_at": micros("2026-10-31T23:59:59.999999"),
    "received_at": micros("2026-10-31T23:59:59.950000"),
    "request_id": "4bf92f3577b34da6a3ce929d0e0e4736",
}


def decode_and_validate(message: str) -> None:
    """Decode one message and validate it against the schema; raises on either failure."""
    fastavro.validate(read_json_encoded(message)[0], files.event_schema(), raise_errors=True)


def read_json_encoded(message: str) -> list[dict[str, Any]]:
    """Decode a message as Pub/Sub does for a topic with an Avro schema and JSON encoding."""
    return list(fastavro.json_reader(io.StringIO(message), files.event_schema()))


# --- the Avro schema ----------------------------------------------------------------------------
def test_a_good_event_in_json_encoding_is_accepted_by_the_avro_schema():
    [decoded] = read_json_encoded(json.dumps(GOOD_EVENT))
    assert decoded["event_id"] == GOOD_EVENT["event_id"]
    # timestamp-micros: the publisher sends microseconds since the epoch, Avro reads a UTC instant.
    assert decoded["occurred_at"] == ts("2026-10-31T23:59:59.999999")
    assert fastavro.validate(decoded, files.event_schema())


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"units": "1"}, "units is a long, not a string"),
        ({"units": 1.5}, "units is a whole number"),
        ({"tenant_id": None}, "every event names its tenant"),
        ({"occurred_at": "2026-10-31T23:59:59Z"}, "timestamps are microseconds since the epoch"),
        ({"event_id": 42}, "the event id is a string"),
    ],
)
def test_a_bad_event_is_refused_by_the_avro_schema(change: dict[str, Any], why: str):
    event = {**GOOD_EVENT, **change}
    with pytest.raises((fastavro.validation.ValidationError, ValueError, TypeError, AttributeError)):
        decode_and_validate(json.dumps(event))


@pytest.mark.parametrize(
    "missing", ["event_id", "tenant_id", "api_key_id", "units", "occurred_at", "plan", "unit_kind"]
)
def test_an_event_without_a_field_invoicing_needs_is_refused(missing: str):
    event = {key: value for key, value in GOOD_EVENT.items() if key != missing}
    with pytest.raises((fastavro.validation.ValidationError, ValueError, KeyError, TypeError)):
        read_json_encoded(json.dumps(event))


def test_a_malformed_schema_file_is_refused_with_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    broken = tmp_path / "usage_event.avsc"
    broken.write_text(
        json.dumps({"type": "record", "name": "UsageEvent", "fields": [{"name": "units", "type": "integr"}]})
    )
    monkeypatch.setattr(files, "EVENT_SCHEMA", broken)
    monkeypatch.setattr(files, "_relative", lambda path: str(path.name))
    with pytest.raises(files.MeteringFileError, match=r"usage_event.avsc: not a valid Avro schema"):
        files.event_schema_text()


# --- the table agrees with the topic's schema -------------------------------------------------
# Pub/Sub's BigQuery subscription with use_topic_schema: Avro type -> the BigQuery column type
# it writes (Google's "Schema compatibility" table); timestamp-micros goes to TIMESTAMP.
AVRO_TO_BIGQUERY = {"string": "STRING", "int": "INTEGER", "long": "INTEGER", "boolean": "BOOLEAN", "double": "FLOAT"}
# Columns write_metadata adds (the `data` column is not written with use_topic_schema).
PUBSUB_METADATA = {
    "subscription_name": "STRING",
    "message_id": "STRING",
    "publish_time": "TIMESTAMP",
    "attributes": "STRING",
}


def test_the_events_table_has_a_column_of_the_same_name_type_and_requiredness_for_every_avro_field():
    avro = json.loads(files.event_schema_text())
    columns = {column["name"]: column for column in files.table_schema("events")}
    for avro_field in avro["fields"]:
        kind = avro_field["type"]
        expected = (
            "TIMESTAMP"
            if isinstance(kind, dict) and kind.get("logicalType") == "timestamp-micros"
            else AVRO_TO_BIGQUERY[kind]
        )
        column = columns.pop(avro_field["name"])
        assert (column["type"], column["mode"]) == (expected, "REQUIRED"), avro_field["name"]
    # What is left is exactly Pub/Sub's metadata, nullable (BigQuery refuses a REQUIRED column it never fills).
    assert {name: column["type"] for name, column in columns.items()} == PUBSUB_METADATA
    assert {column["mode"] for column in columns.values()} == {"NULLABLE"}


# --- the SQL, in BigQuery's dialect, run by DuckDB ---------------------------------------------
DUCKDB_TYPES = {"STRING": "VARCHAR", "INTEGER": "BIGINT", "TIMESTAMP": "TIMESTAMPTZ", "DATE": "DATE"}
EVENT_COLUMNS = [column["name"] for column in files.table_schema("events")]


def event(
    event_id: str,
    tenant: str,
    units: int,
    occurred: str,
    published: str,
    message_id: str,
    *,
    plan: str = "pro",
    kind: str = "request",
) -> tuple:
    row = {
        "schema_version": 1,
        "event_id": event_id,
        "tenant_id": tenant,
        "api_key_id": f"key_{tenant}",
        "plan": plan,
        "route": "/v1/items/{id}",
        "method": "POST",
        "unit_kind": kind,
        "units": units,
        "occurred_at": ts(occurred),
        "received_at": ts(occurred),
        "request_id": f"req-{event_id}",
        "subscription_name": "omni-test-usage-events-bigquery",
        "message_id": message_id,
        "publish_time": ts(published),
        "attributes": "{}",
    }
    return tuple(row[name] for name in EVENT_COLUMNS)


EVENTS = [
    # acme: 5 units on the last microsecond of October, delivered three times (two redeliveries of
    # message m1 and a republish m9 after a publisher retry): counted once, in October.
    event("e1", "acme", 5, "2026-10-31T23:59:59.999999", "2026-11-01T00:00:00.2", "m1"),
    event("e1", "acme", 5, "2026-10-31T23:59:59.999999", "2026-11-01T00:00:00.2", "m1"),
    event("e1", "acme", 5, "2026-10-31T23:59:59.999999", "2026-11-01T00:00:03", "m9"),
    event("e2", "acme", 7, "2026-10-15T12:00:00", "2026-10-15T12:00:00.1", "m2"),
    # acme: the first microsecond of November is November's.
    event("e3", "acme", 11, "2026-11-01T00:00:00", "2026-11-01T00:00:00.1", "m3"),
    # globex (free plan): 3 units in October, then 4 that occurred in October but arrived on
    # 3 November, after the invoicing run of the 2nd: a late event, still October's.
    event("g1", "globex", 3, "2026-10-02T08:00:00", "2026-10-02T08:00:00.1", "m4", plan="free"),
    event("g2", "globex", 4, "2026-10-30T22:00:00", "2026-11-03T09:00:00", "m5", plan="free"),
    event("g2", "globex", 4, "2026-10-30T22:00:00", "2026-11-03T09:00:01", "m5", plan="free"),
    # initech: two kinds of units in October.
    event("i1", "initech", 1000, "2026-10-20T10:00:00", "2026-10-20T10:00:00.1", "m6", kind="token"),
    event("i2", "initech", 2, "2026-10-20T10:00:00", "2026-10-20T10:00:00.1", "m7"),
]
# What the job invoiced on 2 November for October, before globex's late event arrived.
INVOICES = [
    ("acme", "2026-10-01", "pro", "request", 12),
    ("globex", "2026-10-01", "free", "request", 3),
    ("initech", "2026-10-01", "pro", "token", 1000),
    ("initech", "2026-10-01", "pro", "request", 2),
]


def create_table(db: duckdb.DuckDBPyConnection, table: str) -> None:
    columns = ", ".join(f'"{c["name"]}" {DUCKDB_TYPES[c["type"]]}' for c in files.table_schema(table))
    db.execute(f'CREATE TABLE "{DATASET}"."{table}" ({columns})')


def to_duckdb(view: str) -> str:
    [statement] = sqlglot.transpile(files.render_view(view, DATASET), read="bigquery", write="duckdb")
    return statement


@pytest.fixture
def usage_db() -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    # BigQuery computes DATE(timestamp) in UTC unless told otherwise: so does the session here.
    db.execute("SET TimeZone = 'UTC'")
    db.execute(f'CREATE SCHEMA "{DATASET}"')
    create_table(db, "events")
    create_table(db, "invoices")
    db.executemany(f'INSERT INTO "{DATASET}"."events" VALUES ({", ".join("?" * len(EVENT_COLUMNS))})', EVENTS)
    for tenant, month, plan, kind, units in INVOICES:
        db.execute(
            f"INSERT INTO \"{DATASET}\".\"invoices\" VALUES (?, ?, ?, ?, ?, 0, 'eur', 'in_1', 'ii_1', ?, ?, 'exec-1')",
            [
                tenant,
                datetime.date.fromisoformat(month),
                plan,
                kind,
                units,
                f"test:{tenant}:2026-10",
                ts("2026-11-02T06:05:00"),
            ],
        )
    for view in files.VIEWS:
        db.execute(f'CREATE VIEW "{DATASET}"."{view}" AS {to_duckdb(view)}')
    return db


@pytest.mark.parametrize("view", files.VIEWS)
def test_every_view_parses_as_one_bigquery_query_reading_the_usage_dataset(view: str):
    [tree] = sqlglot.parse(files.render_view(view, DATASET), read="bigquery")
    assert isinstance(tree, sqlglot.exp.Query)
    assert {table.db for table in tree.find_all(sqlglot.exp.Table) if table.db} == {DATASET}


def test_a_duplicate_event_is_counted_once_and_the_first_copy_published_is_kept(usage_db: duckdb.DuckDBPyConnection):
    rows = usage_db.execute(
        f'SELECT event_id, message_id FROM (SELECT event_id, publish_time FROM "{DATASET}".deduplicated_events) d '
        f'JOIN "{DATASET}".events e USING (event_id, publish_time) ORDER BY event_id'
    ).fetchall()
    assert [event_id for event_id, _ in rows] == [
        "e1",
        "e1",
        "e2",
        "e3",
        "g1",
        "g2",
        "i1",
        "i2",
    ]  # e1's m1 landed twice
    counted = usage_db.execute(
        f'SELECT event_id, count(*) FROM "{DATASET}".deduplicated_events GROUP BY event_id ORDER BY event_id'
    ).fetchall()
    assert counted == [("e1", 1), ("e2", 1), ("e3", 1), ("g1", 1), ("g2", 1), ("i1", 1), ("i2", 1)]


def test_monthly_usage_totals_match_to_the_unit_across_the_month_boundary(usage_db: duckdb.DuckDBPyConnection):
    rows = usage_db.execute(
        "SELECT tenant_id, CAST(usage_month AS DATE), plan, unit_kind, units, events "
        f'FROM "{DATASET}".monthly_usage ORDER BY 1, 2, 4'
    ).fetchall()
    assert rows == [
        ("acme", datetime.date(2026, 10, 1), "pro", "request", 12, 2),  # 5 (three copies) + 7
        ("acme", datetime.date(2026, 11, 1), "pro", "request", 11, 1),
        ("globex", datetime.date(2026, 10, 1), "free", "request", 7, 2),  # 3 + the late 4, once
        ("initech", datetime.date(2026, 10, 1), "pro", "request", 2, 1),
        ("initech", datetime.date(2026, 10, 1), "pro", "token", 1000, 1),
    ]


def test_reconciliation_flags_the_late_event_as_under_invoiced_and_nothing_else(usage_db: duckdb.DuckDBPyConnection):
    rows = usage_db.execute(
        f"SELECT tenant_id, CAST(usage_month AS DATE), unit_kind, metered_units, invoiced_units, difference, status "
        f'FROM "{DATASET}".reconciliation ORDER BY 1, 3'
    ).fetchall()
    assert rows == [
        ("acme", datetime.date(2026, 10, 1), "request", 12, 12, 0, "match"),
        ("globex", datetime.date(2026, 10, 1), "request", 7, 3, -4, "under_invoiced"),
        ("initech", datetime.date(2026, 10, 1), "request", 2, 2, 0, "match"),
        ("initech", datetime.date(2026, 10, 1), "token", 1000, 1000, 0, "match"),
    ]  # November is not invoiced yet: not reconciled


def test_reconciliation_flags_an_invoice_line_without_usage_and_a_tenant_left_out(usage_db: duckdb.DuckDBPyConnection):
    usage_db.execute(f"DELETE FROM \"{DATASET}\".invoices WHERE tenant_id = 'initech' AND unit_kind = 'token'")
    usage_db.execute(
        f"INSERT INTO \"{DATASET}\".invoices VALUES ('hooli', DATE '2026-10-01', 'pro', 'request', 9, 0, 'eur', "
        f"'in_2', 'ii_2', 'k', TIMESTAMPTZ '2026-11-02 06:05:00+00', 'exec-1')"
    )
    mismatches = usage_db.execute(
        f'SELECT tenant_id, unit_kind, difference, status FROM "{DATASET}".reconciliation '
        "WHERE status != 'match' ORDER BY 1"
    ).fetchall()
    assert mismatches == [
        ("globex", "request", -4, "under_invoiced"),
        ("hooli", "request", 9, "invoiced_without_usage"),
        ("initech", "token", -1000, "not_invoiced"),
    ]


def test_a_view_templated_with_anything_but_the_dataset_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "monthly_usage.sql").write_text(
        "SELECT * FROM `{project}.{dataset}.events` WHERE occurred_at > '2026-01-01'"
    )
    monkeypatch.setattr(files, "SQL_DIR", tmp_path)
    monkeypatch.setattr(files, "_relative", lambda path: str(path.name))
    with pytest.raises(
        files.MeteringFileError, match=r"monthly_usage.sql: only \{dataset\} is templated, found \{project\}"
    ):
        files.render_view("monthly_usage", DATASET)


def test_a_view_that_is_not_bigquery_sql_is_refused_with_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "monthly_usage.sql").write_text("SELECT tenant_id, SUM(units FROM `{dataset}.events`")
    monkeypatch.setattr(files, "SQL_DIR", tmp_path)
    monkeypatch.setattr(files, "_relative", lambda path: str(path.name))
    with pytest.raises(files.MeteringFileError, match=r"monthly_usage.sql: not valid BigQuery SQL"):
        files.render_view("monthly_usage", DATASET)


def test_the_example_event_in_the_docs_is_accepted_and_falls_on_the_last_microsecond_of_october():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "usage.md").read_text(encoding="utf-8")
    example = docs.split("```json\n", 1)[1].split("```", 1)[0]
    [decoded] = read_json_encoded(" ".join(example.split()))
    assert decoded["occurred_at"] == ts("2026-10-31T23:59:59.999999")
    assert fastavro.validate(decoded, files.event_schema())
