"""Alert rules as code: the rules, their runbooks, promtool unit tests, Alertmanager routing, the
lint that stops a bad rule, and `omni alerts`. promtool and amtool are the real Debian tools."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from string import Template

import pytest
import yaml
from typer.testing import CliRunner

from alerts.alertmanager import IDENTITY_LABELS, NOBODY, PAGERDUTY, TICKET, WATCHDOG, alertmanager_config
from alerts.deadman import DEADMAN_CHECK
from alerts.model import AlertRule, RuleGroup, Severity
from alerts.render import (
    ALERTMANAGER_FILE,
    render_alertmanager_config,
    render_all,
    render_rule_files,
    render_standalone_rule_files,
    write_all,
)
from alerts.rules import all_alerts, rule_groups
from alerts.slo import API_AVAILABILITY, API_LATENCY, SLO, SLOS
from alerts.symptoms import API_ERROR_RATIO, API_SLOW_RATIO, MIN_REQUESTS_PER_SECOND
from alerts.tools import ToolResult, amtool_check_config, promtool_test_rules, run_checks
from alerts.unittests import expand_template, humanize, humanize_percentage, unit_test_file_name, window_test_file_name
from alerts.validate import RUNBOOK_DIR, AlertRuleError, rule_problems
from cli.main import app
from observability.catalogue import LATENCY_SLO_BUCKET
from observability.durations import format_duration, parse_duration
from observability.promql import selectors
from offline.monitoring import load_monitoring_config

from .conftest import ROOT

# The prod stack's rules: what pages (dev lacks the replica's alert; tests/test_alert_spec.py covers each stack).
GROUPS = rule_groups(load_monitoring_config("prod", ROOT))
ALERTS = all_alerts(GROUPS)
ALERT_IDS = [f"{alert.name}-{alert.severity.value}" for alert in ALERTS]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alerts")
    write_all(out, GROUPS)
    return out


@pytest.fixture(scope="module")
def checks(rendered: Path) -> dict[str, ToolResult]:
    """Every promtool/amtool check of the rendered output, run once."""
    return {result.check: result for result in run_checks(rendered, GROUPS)}


def _rule_file_alerts(rendered: Path) -> list[dict]:
    found = []
    for path in sorted((rendered / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule for rule in group["rules"] if "alert" in rule]
    return found


# --- the rules --------------------------------------------------------------------------------


def test_there_are_more_than_twenty_alert_rules():
    assert len(ALERTS) > 20


def test_every_rendered_alert_has_expr_for_severity_summary_description_and_runbook(rendered: Path):
    alerts = _rule_file_alerts(rendered)
    assert len(alerts) == len(ALERTS)
    for alert in alerts:
        assert alert["expr"], alert["alert"]
        assert parse_duration(alert["for"]) > 0, alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, alert["alert"]
        annotations = alert["annotations"]
        assert re.search(r"\{\{ \$labels\.\w+ \}\}", annotations["summary"]), alert["alert"]
        assert re.search(r"\{\{ \$labels\.\w+ \}\}", annotations["description"]), alert["alert"]
        assert annotations["runbook_url"].endswith(f"docs/runbooks/{alert['alert']}.md")


def test_alert_names_are_camel_case_and_unique_per_severity():
    assert all(re.fullmatch(r"(?:[A-Z][a-z0-9]+)+", alert.name) for alert in ALERTS)
    keys = [(alert.name, alert.severity) for alert in ALERTS]
    assert len(keys) == len(set(keys))


def test_every_severity_is_used_and_critical_alerts_exist_for_each_slo():
    assert {alert.severity for alert in ALERTS} == set(Severity)
    for slo in SLOS:
        severities = {alert.severity for alert in ALERTS if alert.labels.get("slo") == slo.name}
        assert severities == {Severity.CRITICAL, Severity.WARNING}, slo.name


@pytest.mark.parametrize("name", sorted({alert.name for alert in ALERTS}))
def test_every_alert_has_a_runbook_that_says_what_to_check_and_what_to_do(name: str):
    text = (RUNBOOK_DIR / f"{name}.md").read_text()
    assert text.startswith(f"# {name}\n")
    check = text.split("## What to check", 1)[1].split("## What to do", 1)
    assert len(check) == 2, "both sections need content"
    assert check[0].strip(), "both sections need content"
    assert check[1].strip(), "both sections need content"


def test_every_runbook_belongs_to_an_alert():
    # ... or to the dead man's switch of the alerting path, a Cloud Monitoring policy (alerts/deadman.py).
    assert {path.stem for path in RUNBOOK_DIR.glob("*.md")} == {alert.name for alert in ALERTS} | {DEADMAN_CHECK.name}


def test_each_slo_records_its_error_ratio_per_window_and_alerts_at_the_workbook_burn_rates():
    group = next(group for group in GROUPS if group.name == "slo-api-availability")
    records = [rule.record for rule in group.recording_rules]
    assert records == [
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:sli_error_events:rate5m",
        "slo:sli_events:rate5m",
        *(f"slo:sli_error:ratio_rate{window}" for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")),
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
    ]
    page, ticket = sorted(group.alerts, key=lambda alert: alert.severity.value)
    assert page.severity is Severity.CRITICAL
    assert page.for_ == "30s"
    assert 'slo:sli_error:ratio_rate1h{slo="api-availability"} > 0.0144' in page.expr
    assert 'slo:sli_error:ratio_rate5m{slo="api-availability"} > 0.0144' in page.expr
    assert 'slo:sli_error:ratio_rate6h{slo="api-availability"} > 0.006' in page.expr
    assert 'slo:sli_error:ratio_rate30m{slo="api-availability"} > 0.006' in page.expr
    assert 'slo:sli_error:ratio_rate1d{slo="api-availability"} > 0.003' in ticket.expr
    assert 'slo:sli_error:ratio_rate2h{slo="api-availability"} > 0.003' in ticket.expr
    assert 'slo:sli_error:ratio_rate3d{slo="api-availability"} > 0.001' in ticket.expr
    assert 'slo:sli_error:ratio_rate6h{slo="api-availability"} > 0.001' in ticket.expr


def test_every_slo_alert_has_a_standalone_expr_that_reads_raw_series_only():
    slo_alerts = [alert for alert in ALERTS if "slo" in alert.labels]
    assert len(slo_alerts) == 2 * len(SLOS)
    for alert in slo_alerts:
        assert alert.standalone_expr is not None
        series = {selector.series for selector in selectors(alert.expr_without_recording_rules)}
        assert series, alert.name
        assert not any(name.startswith("slo:") for name in series), alert.name


def test_rule_groups_keep_prometheus_global_evaluation_interval():
    assert all(group.interval is None for group in GROUPS)
    for text in render_rule_files(GROUPS).values():
        assert "interval" not in yaml.safe_load(text)["groups"][0]


def test_render_is_deterministic(tmp_path: Path):
    assert render_all(GROUPS) == render_all(GROUPS)
    write_all(tmp_path / "a", GROUPS)
    write_all(tmp_path / "b", GROUPS)
    files_a = sorted(path.relative_to(tmp_path / "a") for path in (tmp_path / "a").rglob("*.yml"))
    files_b = sorted(path.relative_to(tmp_path / "b") for path in (tmp_path / "b").rglob("*.yml"))
    assert files_a == files_b
    assert all((tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes() for name in files_a)


# --- promtool ---------------------------------------------------------------------------------


def test_promtool_check_rules_passes(checks: dict[str, ToolResult]):
    result = checks["promtool check rules"]
    assert result.ok, result.output


def test_promtool_unit_tests_pass(checks: dict[str, ToolResult]):
    result = checks["promtool test rules"]
    assert result.ok, result.output


@pytest.mark.parametrize("alert", ALERTS, ids=ALERT_IDS)
def test_every_alert_has_a_unit_test_silent_before_its_for_boundary_and_firing_at_it(alert: AlertRule, rendered: Path):
    test = yaml.safe_load((rendered / "tests" / unit_test_file_name(alert)).read_text())["tests"][0]
    assert alert.scenario is not None
    boundary = alert.scenario.onset_seconds + parse_duration(alert.for_)
    step = alert.scenario.step_seconds
    assert step <= parse_duration(alert.for_), "a coarser step would blur the boundary"
    before, after = test["alert_rule_test"]
    assert (before["eval_time"], after["eval_time"]) == (format_duration(boundary - step), format_duration(boundary))
    own_severity = alert.severity.value
    assert own_severity not in [entry["exp_labels"]["severity"] for entry in before["exp_alerts"]]
    mine = [entry for entry in after["exp_alerts"] if entry["exp_labels"]["severity"] == own_severity]
    assert len(mine) == 1
    assert mine[0]["exp_labels"] == {**alert.scenario.series_labels, **alert.labels, "severity": own_severity}
    assert set(mine[0]["exp_annotations"]) == {"summary", "description", "runbook_url"}
    assert "{{" not in mine[0]["exp_annotations"]["summary"] + mine[0]["exp_annotations"]["description"]


def test_slo_unit_tests_fill_the_long_windows_with_healthy_history_first():
    for alert in ALERTS:
        if "slo" not in alert.labels:
            continue
        assert alert.scenario is not None
        longest = 6 * 3600 if alert.severity is Severity.CRITICAL else 3 * 86400
        assert alert.scenario.onset_seconds > longest, alert.name
        assert all(
            f"x{longest // alert.scenario.step_seconds} " in series.values for series in alert.scenario.input_series
        )


@pytest.mark.parametrize(
    "alert", [alert for alert in ALERTS if alert.probe], ids=lambda alert: f"{alert.name}-{alert.severity.value}"
)
def test_every_thresholded_alert_is_tested_silent_when_healthy_and_below_and_firing_above(
    alert: AlertRule, rendered: Path
):
    tests = yaml.safe_load((rendered / "tests" / unit_test_file_name(alert)).read_text())["tests"][1:]
    verdicts = [bool(test["promql_expr_test"][-1]["exp_samples"]) for test in tests]
    names = [test["name"] for test in tests]
    assert verdicts[:3] == [False, False, True], names
    assert "healthy" in names[0]
    assert "just short of" in names[1]
    assert "just past" in names[2]
    if alert.probe.guard is not None:
        assert verdicts[3:] == [False, True], "under the traffic guard silent, over it firing"
    # Healthy traffic is traffic: the probe's input series are not all flat zero (except where the
    # healthy state is "none at all", as for evicted keys).
    healthy_values = [series["values"] for series in tests[0]["input_series"]]
    assert alert.probe.threshold == 0 or any(not value.startswith("0+0x") for value in healthy_values), healthy_values


def test_every_alert_without_a_threshold_probe_reads_no_threshold():
    """Only the absent() alerts, the Watchdog and the certificate no check is served go without a
    probe: they compare nothing (the last is `count unless count`)."""
    unprobed = sorted({alert.name for alert in ALERTS if alert.probe is None})
    assert unprobed == ["ApiMetricsAbsent", "EdgeCertificateNotServed", "Watchdog", "WorkerMetricsAbsent"]


def test_each_window_pair_of_a_burn_alert_is_tested_alone(rendered: Path):
    for alert in ALERTS:
        if "slo" not in alert.labels:
            continue
        test_file = yaml.safe_load((rendered / "tests" / window_test_file_name(alert)).read_text())
        pairs = {(probe.long_window, probe.short_window) for probe in alert.window_probes}
        expected = {Severity.CRITICAL: {("1h", "5m"), ("6h", "30m")}, Severity.WARNING: {("1d", "2h"), ("3d", "6h")}}
        assert pairs == expected[alert.severity], alert.name
        assert [bool(test["promql_expr_test"][0]["exp_samples"]) for test in test_file["tests"]] == [False, True] * 2


@pytest.mark.parametrize(
    ("stack", "warning", "critical", "ceiling"), [("dev", 72, 85, 2), ("staging", 312, 370, 4), ("prod", 392, 465, 10)]
)
def test_alerts_render_for_a_stack_takes_its_connection_limit_and_instance_ceiling(
    stack: str, warning: int, critical: int, ceiling: int, tmp_path: Path
):
    """dev's db-custom-1-3840 allows 100 connections, staging's 8 GB tier 400, prod's 16 GB tier 500;
    10 are reserved. The thresholds sit at 80% and 95% of what is left; the ceiling is api.maxInstances."""
    result = runner.invoke(app, ["alerts", "render", "--stack", stack, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    sql = yaml.safe_load((tmp_path / "rules" / "cloud-sql.rules.yml").read_text())["groups"][0]["rules"]
    connections = {
        rule["labels"]["severity"]: rule["expr"] for rule in sql if rule["alert"] == "CloudSqlConnectionsNearLimit"
    }
    assert connections["warning"].endswith(f") > {warning}")
    assert connections["critical"].endswith(f") > {critical}")
    run = yaml.safe_load((tmp_path / "rules" / "cloud-run.rules.yml").read_text())["groups"][0]["rules"]
    at_ceiling = next(rule for rule in run if rule["alert"] == "CloudRunInstancesAtCeiling")
    assert at_ceiling["expr"].endswith(f">= {ceiling}")
    assert f'service_name="omni-{stack}-api"' in at_ceiling["expr"]
    assert any(alert["alert"] == "CloudSqlReplicationLagHigh" for alert in sql) == (stack != "dev"), (
        "dev has no replica"
    )


def test_alerts_render_names_a_stack_whose_file_is_missing(tmp_path: Path):
    result = runner.invoke(app, ["alerts", "render", "--stack", "qa", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "Pulumi.qa.yaml" in result.output


def test_a_wrong_expectation_makes_promtool_test_fail(rendered: Path, tmp_path: Path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for path in (rendered / "rules").glob("*.yml"):
        (tmp_path / "rules" / path.name).write_text(path.read_text())
    name = "CloudSqlDiskNearlyFull-critical.test.yml"
    text = (rendered / "tests" / name).read_text()
    assert "is 97% full" in text
    (tmp_path / "tests" / name).write_text(text.replace("is 97% full", "is 96% full"))
    result = promtool_test_rules(tmp_path)
    assert not result.ok
    assert "FAILED" in result.output
    assert "96% full" in result.output


def test_symptom_pages_read_two_minutes_at_multiples_of_the_slo_budgets_with_a_traffic_guard():
    pages = {alert.name: alert for alert in ALERTS if alert.name in ("ApiHighErrorRate", "ApiLatencyHigh")}
    assert set(pages) == {"ApiHighErrorRate", "ApiLatencyHigh"}
    for alert in pages.values():
        assert alert.severity is Severity.CRITICAL
        assert alert.for_ == "30s"
        assert {found.range for found in selectors(alert.expr)} == {timedelta(minutes=2)}, alert.name
        assert alert.expr.endswith(f"[2m])) > {MIN_REQUESTS_PER_SECOND}"), "the traffic guard comes last"
    assert API_ERROR_RATIO == pytest.approx(50 * API_AVAILABILITY.error_budget) == pytest.approx(0.05)
    assert API_SLOW_RATIO == pytest.approx(5 * API_LATENCY.error_budget) == pytest.approx(0.25)
    assert 'code=~"5.."' in pages["ApiHighErrorRate"].expr
    assert "> 0.05\nand" in pages["ApiHighErrorRate"].expr
    # The latency page counts slow requests in the SLI's own bucket.
    assert f'le="{LATENCY_SLO_BUCKET}"' in pages["ApiLatencyHigh"].expr
    assert "> 0.25\nand" in pages["ApiLatencyHigh"].expr


def _symptom_traffic_test(name: str, failing_per_minute: int, firing: list[str]) -> dict:
    """A third of the requests fail and a third are slow, at 3 x `failing_per_minute` a minute."""
    n = failing_per_minute
    route = 'service="api",route="/v1/items",method="GET"'
    return {
        "name": name,
        "interval": "1m",
        "input_series": [
            {"series": f'omni_http_requests_total{{{route},code="200"}}', "values": f"0+{2 * n}x30"},
            {"series": f'omni_http_requests_total{{{route},code="500"}}', "values": f"0+{n}x30"},
            {"series": f'omni_http_request_duration_seconds_bucket{{{route},le="0.5"}}', "values": f"0+{2 * n}x30"},
            {"series": f"omni_http_request_duration_seconds_count{{{route}}}", "values": f"0+{3 * n}x30"},
        ],
        "promql_expr_test": [
            {
                "expr": 'ALERTS{alertstate="firing"}',
                "eval_time": "20m",
                "exp_samples": [
                    {
                        "labels": f'ALERTS{{alertname="{alert}",alertstate="firing",'
                        'service="api",severity="critical"}',
                        "value": 1,
                    }
                    for alert in firing
                ],
            }
        ],
    }


def test_symptom_pages_ignore_one_failed_request_of_three_at_night_but_page_it_at_daytime_traffic(
    rendered: Path, tmp_path: Path
):
    """33% errors and 33% slow requests: silent at 3 requests a minute (under the guard of one a
    second), both pages at 300 a minute. The guard, not the ratio, keeps the night quiet."""
    shutil.copytree(rendered / "rules", tmp_path / "rules")
    (tmp_path / "tests").mkdir()
    test_file = {
        "rule_files": ["../rules/api-symptoms.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            _symptom_traffic_test("a trickle: 1 of 3 requests a minute fails", 1, []),
            _symptom_traffic_test("daytime: 100 of 300 a minute fail", 100, ["ApiHighErrorRate", "ApiLatencyHigh"]),
        ],
    }
    (tmp_path / "tests" / "trickle.test.yml").write_text(yaml.safe_dump(test_file, sort_keys=False))
    result = promtool_test_rules(tmp_path)
    assert result.ok, result.output


def test_standalone_exprs_pass_the_same_unit_tests_without_recording_rules(rendered: Path, tmp_path: Path):
    """What Cloud Monitoring evaluates (no recording rules) fires exactly when the rules do."""
    (tmp_path / "rules").mkdir()
    for name, text in render_standalone_rule_files(GROUPS).items():
        assert "record:" not in text
        (tmp_path / "rules" / name).write_text(text)
    shutil.copytree(rendered / "tests", tmp_path / "tests")
    result = promtool_test_rules(tmp_path)
    assert result.ok, result.output


def test_annotation_templates_expand_like_prometheus():
    assert humanize(1500) == "1.5k"
    assert humanize(0.2425) == "242.5m"
    assert humanize(0) == "0"
    assert humanize_percentage(0.995) == "99.5%"
    text = "{{ $labels.queue }} has {{ $value | humanize }} messages"
    assert expand_template(text, {"queue": "default"}, 500) == "default has 500 messages"
    with pytest.raises(ValueError, match="do not carry"):
        expand_template("{{ $labels.instance }}", {"queue": "default"}, 1)


# --- Alertmanager -----------------------------------------------------------------------------


def test_amtool_accepts_the_configuration(checks: dict[str, ToolResult]):
    result = checks["amtool check-config"]
    assert result.ok, result.output


@pytest.mark.parametrize("alert", ALERTS, ids=ALERT_IDS)
def test_every_alert_routes_to_the_receiver_of_its_severity(alert: AlertRule, checks: dict[str, ToolResult]):
    expected = {Severity.CRITICAL: PAGERDUTY, Severity.WARNING: TICKET, Severity.INFO: NOBODY}[alert.severity]
    if alert.name == "Watchdog":
        expected = WATCHDOG
    result = checks[f"route {alert.name} ({alert.severity.value}) -> {expected}"]
    assert result.ok, result.output


def test_an_alert_without_severity_still_makes_a_ticket(checks: dict[str, ToolResult]):
    result = checks[f"route UnlabelledAlert (no severity) -> {TICKET}"]
    assert result.ok, result.output


def test_pagerduty_reads_its_routing_key_from_a_file_and_overrides_the_url_only_when_asked(tmp_path: Path):
    production = yaml.safe_load(render_alertmanager_config())
    pagerduty = next(r for r in production["receivers"] if r["name"] == PAGERDUTY)["pagerduty_configs"][0]
    assert pagerduty["routing_key_file"] == "/etc/alertmanager/secrets/pagerduty-routing-key"
    assert "url" not in pagerduty
    assert "routing_key" not in pagerduty

    lab = render_alertmanager_config(
        pagerduty_url="http://127.0.0.1:9999/v2/enqueue",
        routing_key_file="/tmp/key",
        ticket_webhook_url="http://127.0.0.1:9998/",
        watchdog_webhook_url="http://127.0.0.1:9997/",
    )
    (tmp_path / ALERTMANAGER_FILE).write_text(lab)
    result = amtool_check_config(tmp_path)
    assert result.ok, result.output
    receivers = {r["name"]: r for r in yaml.safe_load(lab)["receivers"]}
    assert receivers[PAGERDUTY]["pagerduty_configs"][0]["url"] == "http://127.0.0.1:9999/v2/enqueue"
    assert receivers[TICKET]["webhook_configs"][0]["url"] == "http://127.0.0.1:9998/"
    assert receivers[WATCHDOG]["webhook_configs"][0]["url"] == "http://127.0.0.1:9997/"


def test_pages_wait_briefly_and_the_watchdog_repeats_often():
    routes = {
        route["receiver"]: route
        for route in alertmanager_config(
            pagerduty_url=None, routing_key_file="/k", ticket_webhook_url="http://t/", watchdog_webhook_url="http://w/"
        )["route"]["routes"]
    }
    assert parse_duration(routes[PAGERDUTY]["group_wait"]) <= 30
    assert parse_duration(routes[WATCHDOG]["repeat_interval"]) <= 300


def test_every_label_an_alert_gets_from_its_series_is_an_inhibition_identity_label():
    """Otherwise a critical alert about one database would inhibit the warning about another."""
    for alert in ALERTS:
        assert alert.scenario is not None
        assert set(alert.scenario.series_labels) | set(alert.labels) <= set(IDENTITY_LABELS), alert.name


def test_the_watchdog_always_fires_and_is_never_routed_to_a_person():
    watchdog = next(alert for alert in ALERTS if alert.name == "Watchdog")
    assert "vector(1)" in watchdog.expr
    assert not selectors(watchdog.expr)


# --- bad input: the lint names the alert and what to change -----------------------------------


def _with(alert_name: str, **changes) -> tuple[RuleGroup, ...]:
    """The real groups with one alert changed."""
    return tuple(
        dataclasses.replace(
            group,
            rules=tuple(
                dataclasses.replace(rule, **changes)
                if isinstance(rule, AlertRule) and rule.name == alert_name
                else rule
                for rule in group.rules
            ),
        )
        for group in GROUPS
    )


BAD_INPUTS = {
    "unparsable query": (
        "CeleryQueueBacklog",
        {"expr": "max by (queue) (omni_celery_queue_length > "},
        "does not parse",
    ),
    "unknown metric": ("CeleryQueueBacklog", {"expr": "omni_celery_queue_lenght > 100"}, "omni_celery_queue_lenght"),
    "no severity": ("CeleryQueueBacklog", {"severity": None}, "has no severity"),
    "lowercase name": ("CeleryQueueBacklog", {"name": "celeryQueueBacklog"}, "CamelCase"),
    "untemplated summary": (
        "CeleryQueueBacklog",
        {"summary": "A Celery queue has a backlog."},
        "summary is not templated",
    ),
    "for not a duration": ("CeleryQueueBacklog", {"for_": "15 minutes"}, "not a Prometheus duration"),
    "duplicate name and severity": (
        "CloudSqlHighCpu",
        {"name": "CloudSqlDiskNearlyFull"},
        "share the name and severity",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_a_bad_rule_is_reported_with_its_name_and_what_to_change(case: str, tmp_path: Path):
    name, changes, message = BAD_INPUTS[case]
    groups = _with(name, **changes)
    problems = rule_problems(groups)
    expected_name = changes.get("name", name)
    assert any(problem.rule.startswith(expected_name) and message in problem.problem for problem in problems), problems
    with pytest.raises(AlertRuleError, match=re.escape(expected_name)):
        write_all(tmp_path / "out", groups)
    assert not (tmp_path / "out").exists(), "nothing is written when a rule is invalid"


def test_a_missing_runbook_is_reported_with_the_alert_name(tmp_path: Path):
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    for path in RUNBOOK_DIR.glob("*.md"):
        if path.stem != "RedisEvictingKeys":
            (runbooks / path.name).write_text(path.read_text())
    problems = rule_problems(GROUPS, runbooks)
    assert [str(problem) for problem in problems] == [
        f"RedisEvictingKeys (warning): its runbook is missing; write {runbooks / 'RedisEvictingKeys.md'} "
        "(what to check, what to do)"
    ]


def test_an_slo_objective_outside_zero_and_one_is_refused_with_the_slo_name():
    with pytest.raises(ValueError, match=r"SLO 'api-availability'.*objective 1.5 must be between 0 and 1"):
        SLO(
            name="api-availability",
            service="api",
            objective=1.5,
            description="",
            errors=Template('sum(rate(omni_http_requests_total{code=~"5.."}[$window]))'),
            total=Template("sum(rate(omni_http_requests_total[$window]))"),
        )


def test_the_real_rules_have_no_problems():
    assert rule_problems(GROUPS) == []


# --- omni alerts ------------------------------------------------------------------------------

runner = CliRunner()


def test_alerts_help_lists_render_test_and_list():
    result = runner.invoke(app, ["alerts", "--help"])
    assert result.exit_code == 0
    for command in ("render", "test", "list"):
        assert command in result.output


def test_alerts_render_writes_rules_tests_and_alertmanager_config(tmp_path: Path):
    result = runner.invoke(app, ["alerts", "render", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "alertmanager.yml").is_file()
    assert len(list((tmp_path / "rules").glob("*.rules.yml"))) == len(GROUPS)
    multi_window = [alert for alert in ALERTS if alert.window_probes]
    assert len(multi_window) == 2 * len(SLOS)
    assert len(list((tmp_path / "tests").glob("*.test.yml"))) == len(ALERTS) + len(multi_window)
    assert f"wrote {tmp_path / 'alertmanager.yml'}" in result.output


def test_alerts_render_stops_on_a_bad_rule_and_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(
        "alerts.rules.rule_groups", lambda monitoring=None: _with("CeleryQueueBacklog", name="celery_backlog")
    )
    result = runner.invoke(app, ["alerts", "render", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "celery_backlog" in result.output
    assert "CamelCase" in result.output
    assert not (tmp_path / "out").exists()


def test_alerts_list_prints_every_alert():
    result = runner.invoke(app, ["alerts", "list"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(ALERTS)
    assert lines[0].split()[:2] == ["ApiAvailabilityErrorBudgetBurn", "critical"]


def test_alerts_test_runs_every_tool_check_and_passes(tmp_path: Path):
    result = runner.invoke(app, ["alerts", "test", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for check in (
        "promtool check rules",
        "promtool test rules",
        "amtool check-config",
        "route Watchdog (info) -> watchdog",
    ):
        assert f"✓ {check}" in result.output
    assert f"{len(ALERTS) + 4} passed, 0 failed" in result.output


# --- inhibition, in a real Alertmanager -------------------------------------------------------


@pytest.fixture(scope="module")
def alertmanager(rendered: Path, tmp_path_factory: pytest.TempPathFactory):
    """The rendered alertmanager.yml served by Debian's prometheus-alertmanager on a free local port."""
    binary = shutil.which("prometheus-alertmanager")
    assert binary, "apt-get install prometheus-alertmanager (scripts/apt-test-packages.txt)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = tmp_path_factory.mktemp("alertmanager")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={rendered / ALERTMANAGER_FILE}",
            f"--storage.path={storage}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("Alertmanager did not become ready in 10 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_page_inhibits_its_own_warning_only_in_a_real_alertmanager(alertmanager: str):
    def alert(name: str, severity: str, **labels: str) -> dict:
        return {"labels": {"alertname": name, "severity": severity, **labels}, "annotations": {"summary": name}}

    db_a, db_b = {"database_id": "p:db-a"}, {"database_id": "p:db-b"}
    slo = {"slo": "api-availability", "service": "api"}
    alerts = [
        alert("ApiAvailabilityErrorBudgetBurn", "critical", **slo),
        alert("ApiAvailabilityErrorBudgetBurn", "warning", **slo),  # inhibited: its own page fires
        alert("CloudSqlDiskNearlyFull", "critical", **db_a),
        alert("CloudSqlDiskNearlyFull", "warning", **db_a),  # inhibited
        alert("CloudSqlDiskNearlyFull", "warning", **db_b),  # another database: not inhibited
        alert("CeleryNoLiveWorkers", "critical", service="worker"),
        alert("CeleryQueueBacklog", "warning", queue="default"),  # another alert: not inhibited
        alert("Watchdog", "info", service="alerting"),
        alert("RedisMemoryHigh", "warning", instance_id="cache"),  # the Watchdog inhibits nothing
        # A symptom page is never inhibited (critical), and leaves the SLO's budget ticket alone:
        # the ticket records budget spent, which outlives the page (docs/alerting.md).
        alert("ApiLatencyHigh", "critical", service="api"),
        alert("ApiLatencyErrorBudgetBurn", "warning", slo="api-latency", service="api"),
        alert("ApiHighErrorRate", "critical", service="api"),
    ]
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts", json.dumps(alerts).encode(), {"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=5)
    listed = json.load(urllib.request.urlopen(f"{alertmanager}/api/v2/alerts", timeout=5))
    inhibited = sorted(
        (entry["labels"]["alertname"], entry["labels"]["severity"], entry["labels"].get("database_id", ""))
        for entry in listed
        if entry["status"]["inhibitedBy"]
    )
    assert len(listed) == len(alerts)
    assert inhibited == [
        ("ApiAvailabilityErrorBudgetBurn", "warning", ""),
        ("CloudSqlDiskNearlyFull", "warning", "p:db-a"),
    ]
