"""docs/data-retention.md cannot drift from the graph: every data-holding resource of every stack
matches exactly one inventory row, every row matches something, the retention figures are the
ones each stack's graph declares, and every setting named exists in the configuration reference."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from offline.replacements import STATEFUL_TYPES

from .conftest import ROOT

DOC = ROOT / "docs" / "data-retention.md"
STACKS = ("dev", "staging", "prod")
# Where data sits besides the stateful types: messages in transit, kept up to their retention.
IN_TRANSIT_TYPES = frozenset({"gcp:pubsub/topic:Topic", "gcp:pubsub/subscription:Subscription"})
DAY_MS = 86_400_000


def _section(name: str) -> str:
    text = DOC.read_text()
    start, end = f"<!-- {name}: read by tests/test_data_retention.py -->", f"<!-- /{name} -->"
    assert start in text, f"docs/data-retention.md lost its {name} markers"
    assert end in text, f"docs/data-retention.md lost its {name} markers"
    return text.split(start, 1)[1].split(end, 1)[0]


def inventory() -> list[dict[str, str]]:
    lines = [line for line in _section("inventory").strip().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True)) for line in lines[2:]]


def not_stores() -> set[str]:
    return set(re.findall(r"^- `([^`]+)`:", _section("not-stores"), flags=re.MULTILINE))


def patterns(row: dict[str, str]) -> list[str]:
    return re.findall(r"`([^`]+)`", row["Resource"])


def data_resources(graph: dict[str, Any], stack: str) -> dict[str, dict[str, Any]]:
    """The graph's data-holding resources by name without the stack's `omni-<stack>-` stem."""
    stem = f"omni-{stack}-"
    stores = (STATEFUL_TYPES | IN_TRANSIT_TYPES) - not_stores()
    return {r["name"].removeprefix(stem): r for r in graph["resources"] if r["type"] in stores}


def matches(pattern: str, name: str, type_: str) -> bool:
    """`idp-*` matches by name; `idp-*:identityplatform/tenant` also by type, where names alone
    cannot tell two kinds of resource apart (a tenant `idp-acme`, its secret `idp-acme-oidc-secret`)."""
    glob, _, kind = pattern.partition(":")
    return fnmatch.fnmatchcase(name, glob) and kind in type_


def row_of(name: str, type_: str) -> list[int]:
    return [i for i, row in enumerate(inventory()) if any(matches(p, name, type_) for p in patterns(row))]


def test_the_inventory_has_its_columns() -> None:
    rows = inventory()

    assert rows
    assert list(rows[0]) == ["Resource", "Store", "Personal data", "Retention", "Set by", "Erasure", "Export"]
    for row in rows:
        assert patterns(row), row
        assert row["Personal data"], row
        assert row["Retention"], row


def test_every_type_left_out_is_a_stateful_type_said_to_hold_no_data() -> None:
    assert not_stores() <= STATEFUL_TYPES
    assert not (not_stores() & IN_TRANSIT_TYPES)


@pytest.mark.parametrize("stack", STACKS)
def test_every_data_store_of_the_stack_has_exactly_one_row(graphs, stack: str) -> None:
    stores = data_resources(graphs[stack], stack)
    unlisted = {name: r["type"] for name, r in stores.items() if not row_of(name, r["type"])}
    doubled = {name: row_of(name, r["type"]) for name, r in stores.items() if len(row_of(name, r["type"])) > 1}

    assert unlisted == {}, f"add a row to docs/data-retention.md for {unlisted}"
    assert doubled == {}


def test_every_row_matches_a_store_of_some_stack(graphs) -> None:
    stores = {(name, r["type"]) for stack in STACKS for name, r in data_resources(graphs[stack], stack).items()}
    for row in inventory():
        for pattern in patterns(row):
            assert any(matches(pattern, name, type_) for name, type_ in stores), f"stale row pattern {pattern!r}"


def _days(duration: str) -> str:
    seconds = int(duration.removesuffix("s"))
    return f"{seconds / 86400:g}"


def _named(graph: dict[str, Any], stack: str, name: str) -> dict[str, Any]:
    return data_resources(graph, stack)[name]["inputs"]


# Row (its first pattern) -> the figure each stack's graph declares, as the row must spell it.
FIGURES = {
    "pg": lambda g, s: (
        f"{s} {_named(g, s, 'pg')['settings']['backupConfiguration']['backupRetentionSettings']['retainedBackups']} "
        f"backups / {_named(g, s, 'pg')['settings']['backupConfiguration']['transactionLogRetentionDays']} d PITR"
    ),
    "usage-events": lambda g, s: f"{s} {_named(g, s, 'usage-events')['timePartitioning']['expirationMs'] / DAY_MS:g} d",
    "usage-topic": lambda g, s: f"{s} {_days(_named(g, s, 'usage-bigquery')['messageRetentionDuration'])} d",
    "usage-dead-letter": lambda g, s: (
        f"{s} {_days(_named(g, s, 'usage-dead-letter-sub')['messageRetentionDuration'])} d"
    ),
    "findings-topic": lambda g, s: f"{s} {_days(_named(g, s, 'findings-tickets')['messageRetentionDuration'])} d",
    "audit": lambda g, s: f"{s} {_named(g, s, 'audit')['retentionDays']} d",
}


@pytest.mark.parametrize("first_pattern", sorted(FIGURES))
def test_the_retention_figures_are_what_each_stack_declares(graphs, first_pattern: str) -> None:
    [row] = [row for row in inventory() if patterns(row)[0] == first_pattern]
    for stack in STACKS:
        figure = FIGURES[first_pattern](graphs[stack], stack)
        assert figure in row["Retention"], f"docs/data-retention.md says {row['Retention']!r}; the graph: {figure!r}"


def test_every_setting_named_is_a_config_key() -> None:
    reference = (ROOT / "docs" / "configuration.md").read_text()
    for row in inventory():
        for key in re.findall(r"`([^`]+)`", row["Set by"]):
            assert f"`omni-infra:{key}`" in reference, f"{key} is not a config key (docs/configuration.md)"
