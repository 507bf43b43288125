"""The metric catalogue: one name per metric, the app contract's table (docs/app-contract.md) in step, and
every query of every dashboard and alert reading only catalogued series (or recording rules of our own)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alerts.rules import rule_groups
from observability import catalogue as m
from observability.promql import PromQLError, expand_grafana_variables, parse, selectors
from offline.dashboards import render_dashboards
from offline.monitoring import load_monitoring_config

from .conftest import ROOT

APP_CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "app-contract.md"
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def test_every_metric_has_a_valid_unique_name():
    names = [metric.name for metric in m.ALL_METRICS]
    assert len(names) == len(set(names))
    assert all(METRIC_NAME.match(name) for name in names)
    # No series of one metric is another metric's name (a histogram's _count, say).
    assert len(m.BY_SERIES) == sum(len(metric.series) for metric in m.ALL_METRICS)


def test_app_counters_end_in_total_and_durations_are_in_seconds():
    for metric in m.ALL_METRICS:
        if metric.source is m.Source.APP:
            assert metric.name.startswith("omni_"), metric.name
            assert (metric.kind is m.Kind.COUNTER) == metric.name.endswith("_total"), metric.name
            if "duration" in metric.name or "wait" in metric.name:
                assert metric.name.endswith("_seconds"), metric.name
                assert metric.unit == "s", metric.name


def test_the_latency_slo_bucket_is_one_of_the_histogram_buckets():
    assert float(m.LATENCY_SLO_BUCKET) in m.LATENCY_BUCKETS


def test_only_histograms_have_bucket_series():
    with pytest.raises(ValueError, match="not a histogram"):
        _ = m.HTTP_REQUESTS.bucket
    assert m.HTTP_REQUEST_DURATION.bucket == "omni_http_request_duration_seconds_bucket"


def test_the_app_contract_lists_every_metric_the_application_exposes():
    contract = APP_CONTRACT.read_text(encoding="utf-8")
    table = contract[contract.index("## What the application exposes") :]
    for metric in m.ALL_METRICS:
        if metric.source is m.Source.APP:
            labels = ", ".join(f"`{label}`" for label in metric.labels)
            assert f"| `{metric.name}` | {metric.kind.value} | {labels} |" in table, metric.name


def _recorded() -> set[str]:
    return {
        rule.record for group in rule_groups(load_monitoring_config("prod", ROOT)) for rule in group.recording_rules
    }


def _queries_of_dashboards() -> list[str]:
    queries = []
    for text in render_dashboards("prod").values():
        for panel in json.loads(text)["panels"]:
            queries += [target["expr"] for target in panel.get("targets", [])]
    return queries


def test_every_dashboard_and_alert_query_reads_only_catalogued_series_or_our_recording_rules():
    known = set(m.BY_SERIES) | _recorded()
    queries = _queries_of_dashboards() + [
        expr
        for group in rule_groups(load_monitoring_config("prod", ROOT))
        for rule in group.rules
        for expr in (rule.expr,)
    ]
    assert len(queries) > 100
    unknown = {
        selector.series
        for query in queries
        for selector in selectors(expand_grafana_variables(query))
        if selector.series
    } - known
    assert unknown == set()


def test_a_renamed_metric_is_caught_by_the_parser_not_in_production():
    renamed = f"sum(rate({m.HTTP_REQUESTS.name.replace('http', 'htttp')}[5m]))"
    assert {s.series for s in selectors(renamed)} - set(m.BY_SERIES) == {"omni_htttp_requests_total"}
    with pytest.raises(PromQLError, match="does not parse"):
        parse("sum(rate(omni_http_requests_total[5m])")
