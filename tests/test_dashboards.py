"""The Grafana dashboards: rendered from code for every stack, linted with the dashboard-linter
rule set on parsed PromQL, checked by the real promtool, and driven from the CLI."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from alerts.model import RUNBOOK_BASE_URL
from alerts.rules import rule_groups
from alerts.slo import SLOS
from cli.main import app
from dashboards import style
from dashboards.lint import RULES, Finding, lint_dashboard, lint_dashboards, lint_directory
from dashboards.panels import Query, timeseries
from dashboards.registry import DASHBOARDS
from observability import catalogue as m
from observability.promql import expand_grafana_variables, selectors
from offline.dashboards import render_dashboards, write_dashboards
from offline.monitoring import load_monitoring_config
from stackconfig.connections import connection_budget

from .conftest import ROOT, STACKS

# Links, bookmarks and Grafana's provisioning key on these: changing one is a reviewed decision.
GOLDEN_UIDS = [
    "omni-api-overview",
    "omni-api-latency",
    "omni-api-errors",
    "omni-slo",
    "omni-cloud-run",
    "omni-cloud-sql",
    "omni-redis",
    "omni-celery",
    "omni-usage",
    "omni-usage-pipeline",
    "omni-cost",
    "omni-tracing",
    "omni-edge",
    "omni-security",
    "omni-load-test",
]
runner = CliRunner()


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    """Every stack's rendered files: stack -> file name -> JSON text."""
    return {stack: render_dashboards(stack, ROOT) for stack in STACKS}


def boards(rendered: dict[str, dict[str, str]], stack: str = "dev") -> dict[str, dict[str, Any]]:
    return {json.loads(text)["uid"]: json.loads(text) for text in rendered[stack].values()}


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in dashboard["panels"] if p["title"] == title)


def exprs(item: dict[str, Any]) -> list[str]:
    return [target["expr"] for target in item["targets"]]


def threshold_values(item: dict[str, Any]) -> list[float]:
    return [step["value"] for step in item["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]


def project_copy(tmp_path: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The project's Pulumi.yaml and stack files in `tmp_path`, with one stack's config edited."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    path = tmp_path / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    edit(document["config"])
    path.write_text(yaml.safe_dump(document))
    return tmp_path


# --- what is rendered ----------------------------------------------------------------------------


def test_there_are_at_least_twelve_dashboards_with_stable_uids(rendered):
    assert [spec.uid for spec in DASHBOARDS] == GOLDEN_UIDS
    for stack in STACKS:
        # Dev runs no edge (edge.enabled false), so it gets no edge board: nothing would feed it.
        expected = [uid for uid in GOLDEN_UIDS if not (stack == "dev" and uid == "omni-edge")]
        assert list(rendered[stack]) == [f"{uid}.json" for uid in expected]
        assert list(boards(rendered, stack)) == expected


def test_render_is_byte_identical_twice_with_sorted_keys(rendered):
    again = render_dashboards("dev", ROOT)
    assert again == rendered["dev"]
    for text in again.values():
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("stack", STACKS)
def test_every_dashboard_has_the_datasource_environment_and_service_variables(rendered, stack):
    project = load_monitoring_config(stack, ROOT).project
    for uid, dashboard in boards(rendered, stack).items():
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert list(variables)[:3] == ["datasource", "environment", "service"], uid
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        assert variables["datasource"]["current"]["value"] == style.DATASOURCE_UID == "managed-prometheus"
        assert variables["environment"]["query"] == "label_values(project_id)"
        assert variables["environment"]["current"]["value"] == project
        assert dashboard["description"]
        assert dashboard["editable"] is False


def test_every_panel_has_a_title_description_unit_and_templated_query(rendered):
    for uid, dashboard in boards(rendered).items():
        assert len(dashboard["panels"]) >= 6, uid
        for item in dashboard["panels"]:
            assert item["title"], (uid, item["id"])
            assert item["description"], (uid, item["id"])
            assert item["fieldConfig"]["defaults"]["unit"], (uid, item["title"])
            assert item["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert exprs(item)
            assert all('project_id=~"$environment"' in expr for expr in exprs(item))


@pytest.mark.parametrize("stack", STACKS)
def test_lint_passes_on_every_rendered_dashboard(rendered, stack):
    findings = lint_dashboards(json.loads(text) for text in rendered[stack].values())
    assert findings == [], "\n".join(map(str, findings))


def test_every_query_parses_and_reads_only_catalogued_metrics(rendered):
    slo_records = {
        rule.record for group in rule_groups(load_monitoring_config("prod", ROOT)) for rule in group.recording_rules
    }
    used = set()
    for dashboard in boards(rendered, "prod").values():
        for item in dashboard["panels"]:
            for expr in exprs(item):
                used |= {found.series for found in selectors(expand_grafana_variables(expr))}
    assert used - set(m.BY_SERIES) <= slo_records
    # The metrics are all on a dashboard: the API, Cloud Run, Cloud SQL, Redis, Celery. (No
    # Locust series: no stack produces them; the load-test dashboard shows the server's side.)
    for metric in (
        m.HTTP_REQUESTS,
        m.RUN_STARTUP_LATENCIES,
        m.SQL_REPLICA_LAG,
        m.REDIS_EVICTED_KEYS,
        m.CELERY_QUEUE_LENGTH,
        m.TENANT_REQUESTS,
        m.RUN_BILLABLE_TIME,
        m.RUN_REQUEST_LATENCIES,
    ):
        assert set(metric.series) & used, metric.name


def test_the_replication_lag_panels_exist_only_where_the_stack_has_a_replica(rendered):
    """dev runs no read replica: nothing would report a lag, so no panel asks for one."""
    lag = m.SQL_REPLICA_LAG.name
    for stack, has_replica in (("dev", False), ("staging", True), ("prod", True)):
        board = boards(rendered, stack)["omni-cloud-sql"]
        readers = [item["title"] for item in board["panels"] if any(lag in expr for expr in exprs(item))]
        assert readers == (["Replication lag", "Replication lag"] if has_replica else []), stack


def test_every_query_passes_promtool_check_rules(rendered, tmp_path):
    """All queries of every stack as recording rules in one file: the real Prometheus parser."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install the prometheus package (scripts/apt-test-packages.txt)"
    queries = sorted(
        {
            expand_grafana_variables(expr)
            for stack in STACKS
            for dashboard in boards(rendered, stack).values()
            for item in dashboard["panels"]
            for expr in exprs(item)
        }
    )
    rules = [{"record": f"dashboard:query_{index}", "expr": query} for index, query in enumerate(queries)]
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout
    assert len(rules) > 100


# --- what differs per stack -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_connection_panels_show_the_stack_connection_budget(rendered, stack):
    from offline.stackfile import read_stack_file
    from stackconfig.loader import load_stack_config

    config = load_stack_config(stack, *read_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"))
    budget = connection_budget(config.api, config.workers, config.database)
    sql = boards(rendered, stack)["omni-cloud-sql"]
    for title in ("Connections now", "Connections against the budget"):
        assert threshold_values(panel(sql, title)) == [budget.needed, budget.max_connections]
        assert f"max_connections {budget.max_connections}" in panel(sql, title)["description"]


@pytest.mark.parametrize("stack", STACKS)
def test_instance_panels_mark_the_stack_max_instances(rendered, stack):
    facts = load_monitoring_config(stack, ROOT)
    cloud_run = boards(rendered, stack)["omni-cloud-run"]
    assert threshold_values(panel(cloud_run, "Instances by state")) == [
        0.8 * facts.api_max_instances,
        facts.api_max_instances,
    ]
    assert threshold_values(panel(cloud_run, "Concurrent requests per instance")) == [facts.api_concurrency]


def test_a_setting_the_dashboards_do_not_read_changes_no_byte(rendered, tmp_path):
    def sample_more_flow_logs(config: dict[str, Any]) -> None:
        config.setdefault("omni-infra:network", {})["flowLogsSampling"] = 0.9

    assert render_dashboards("dev", project_copy(tmp_path, "dev", sample_more_flow_logs)) == rendered["dev"]


def test_changing_max_instances_changes_only_the_panels_that_show_it(rendered, tmp_path):
    def one_instance_fewer(config: dict[str, Any]) -> None:
        api = config.setdefault("omni-infra:api", {})
        api["maxInstances"] = int(api.get("maxInstances", 10)) - 1

    changed = render_dashboards("prod", project_copy(tmp_path, "prod", one_instance_fewer))
    differing = {name for name in changed if changed[name] != rendered["prod"][name]}
    # Instances against the ceiling, and the connection budget every instance's pool adds to.
    assert differing == {"omni-cloud-run.json", "omni-cloud-sql.json", "omni-load-test.json"}
    before, after = boards(rendered, "prod")["omni-cloud-run"], json.loads(changed["omni-cloud-run.json"])
    changed_panels = {b["title"] for b, a in zip(before["panels"], after["panels"], strict=True) if a != b}
    assert changed_panels == {"Active instances", "Instances by state"}


def test_stacks_differ_in_their_project_but_select_the_same_workload(rendered):
    dev, prod = boards(rendered, "dev")["omni-api-overview"], boards(rendered, "prod")["omni-api-overview"]
    dev_variables = {v["name"]: v["current"]["value"] for v in dev["templating"]["list"]}
    prod_variables = {v["name"]: v["current"]["value"] for v in prod["templating"]["list"]}
    assert dev_variables["environment"] != prod_variables["environment"]
    # `service` is the workload (the collector's label), the same in every stack, as in the alert rules.
    assert (dev_variables["service"], prod_variables["service"]) == ("api", "api")
    assert dev["panels"][:4] == prod["panels"][:4]  # the RED stats hold no per-stack number


def test_cloud_run_metrics_select_the_workload_at_the_end_of_the_service_name(rendered):
    cloud_run = boards(rendered, "prod")["omni-cloud-run"]
    service = next(v for v in cloud_run["templating"]["list"] if v["name"] == "service")
    assert service["regex"] == "/^.+-([a-z]+)$/"
    queries = [t["expr"] for panel in cloud_run["panels"] for t in panel.get("targets", [])]
    assert queries
    assert all('service_name=~".+-$service"' in q for q in queries if "run_googleapis_com" in q)


# --- what particular dashboards show --------------------------------------------------------------


def test_latency_is_drawn_against_the_500_ms_target_with_links_to_cloud_trace(rendered):
    dashboards = boards(rendered)
    latency = panel(dashboards["omni-api-latency"], "p50, p95, p99 against the 500 ms target")
    assert len(exprs(latency)) == 3
    assert all("histogram_quantile" in expr for expr in exprs(latency))
    assert threshold_values(latency) == [0.5]
    for uid in ("omni-api-latency", "omni-tracing"):
        for item in dashboards[uid]["panels"]:
            if item["type"] == "timeseries" and item["fieldConfig"]["defaults"]["unit"] in ("s", "ms"):
                urls = [link["url"] for link in item["fieldConfig"]["defaults"].get("links", [])]
                assert urls, (uid, item["title"])
                assert urls[0].startswith("https://console.cloud.google.com/traces/list?project=${environment}"), (
                    uid,
                    item["title"],
                )


def test_slo_dashboard_reads_the_budget_objective_and_burn_rate_from_the_recorded_metadata(rendered):
    """No objective or budget is written into a query: they come from Sloth's metadata series."""
    slo_board = boards(rendered)["omni-slo"]
    for slo in SLOS:
        scope = f'{{project_id=~"$environment",slo="{slo.name}"}}'
        budget = panel(slo_board, f"{slo.name}: error budget left")
        assert exprs(budget) == [f"slo:period_error_budget_remaining:ratio{scope}"]
        sli = panel(slo_board, f"{slo.name}: SLI over 30d")
        assert exprs(sli) == [f"1 - slo:sli_error:ratio_rate30d{scope}", f"slo:objective:ratio{scope}"]
        burn = panel(slo_board, f"{slo.name}: burn rate")
        assert exprs(burn) == [
            f"slo:sli_error:ratio_rate{window}{scope} / on (slo) slo:error_budget:ratio{scope}"
            for window in ("1h", "6h", "1d", "3d")
        ]
        assert threshold_values(burn) == [1, 3, 6, 14.4]


def test_cost_per_request_prices_the_api_size_of_each_stack(rendered):
    for stack in STACKS:
        facts = load_monitoring_config(stack, ROOT)
        price = facts.api_vcpus * 0.000024 + facts.api_memory_gib * 0.0000025
        cost = panel(boards(rendered, stack)["omni-cost"], "Cost per 1,000 requests")
        assert f"* {price:.6g} " in exprs(cost)[0]
        assert style.CLOUD_RUN_PRICES_SOURCE in cost["description"]


def test_redis_hit_rate_is_red_below_the_50_percent_target(rendered):
    hit_rate = panel(boards(rendered)["omni-redis"], "Cache hit rate")
    steps = hit_rate["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "red", "value": None}, {"color": "green", "value": 0.5}]


def test_a_panel_links_to_the_runbooks_of_the_alerts_reading_its_metric(monkeypatch):
    from dashboards import runbooks

    readers = (("ApiErrorBudgetBurn", m.HTTP_REQUESTS.name, ()), ("RedisMemoryHigh", m.REDIS_MEMORY_RATIO.name, ()))
    monkeypatch.setattr(runbooks, "alert_selectors", lambda: readers)
    built = timeseries("Errors", "5xx per second.", [Query(f"sum(rate({m.HTTP_REQUESTS.name}[5m]))")], "reqps")
    assert built.links == [
        {
            "title": "Runbook: ApiErrorBudgetBurn",
            "url": f"{RUNBOOK_BASE_URL}/ApiErrorBudgetBurn.md",
            "targetBlank": True,
        }
    ]


def test_an_slo_panel_links_only_to_its_own_slo_alerts(monkeypatch):
    from dashboards import runbooks

    readers = tuple((f"Burn{slo.name}", runbooks.SLO_ERROR_RATIO_FAMILY, (("slo", slo.name),)) for slo in SLOS)
    monkeypatch.setattr(runbooks, "alert_selectors", lambda: readers)
    query = f'{SLOS[1].error_ratio_record("30d")}{{slo="{SLOS[1].name}"}}'
    assert runbooks.alerts_reading([query]) == (f"Burn{SLOS[1].name}",)


# --- the lint rules, each proven able to fail ------------------------------------------------------


def _first_target(dashboard: dict[str, Any]) -> dict[str, Any]:
    return dashboard["panels"][0]["targets"][0]


def _variable(dashboard: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in dashboard["templating"]["list"] if v["name"] == name)


BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "template-datasource": lambda d: _variable(d, "datasource")["current"].update(value="some-other-prometheus"),
    "template-required-variables": lambda d: d["templating"].update(
        list=[v for v in d["templating"]["list"] if v["name"] != "environment"]
    ),
    "template-label-promql": lambda d: _variable(d, "service").update(
        query='label_values(omni_http_requests_total{project_id=~"$environment", service)'
    ),
    "template-on-time-change-reload": lambda d: _variable(d, "service").update(refresh=1),
    "uneditable-dashboard": lambda d: d.update(editable=True),
    "dashboard-uid": lambda d: d.update(uid=""),
    "panel-id-unique": lambda d: d["panels"][1].update(id=d["panels"][0]["id"]),
    "panel-title-description": lambda d: d["panels"][0].update(description=""),
    "panel-units": lambda d: d["panels"][0]["fieldConfig"]["defaults"].update(unit="requests"),
    "panel-no-targets": lambda d: d["panels"][0].update(targets=[]),
    "panel-datasource": lambda d: d["panels"][0].update(datasource={"type": "prometheus", "uid": "managed-prometheus"}),
    "target-promql": lambda d: _first_target(d).update(expr="sum(rate(omni_http_requests_total[5m])"),
    "target-rate-interval": lambda d: _first_target(d).update(
        expr=_first_target(d)["expr"].replace("$__rate_interval", "5m")
    ),
    "target-counter-agg": lambda d: _first_target(d).update(
        expr='sum(omni_http_requests_total{project_id=~"$environment",service=~"$service"})'
    ),
    "target-unknown-metric": lambda d: _first_target(d).update(
        expr='sum(rate(omni_http_requests{project_id=~"$environment"}[$__rate_interval]))'
    ),
    "target-required-matchers": lambda d: _first_target(d).update(
        expr=_first_target(d)["expr"].replace(',service=~"$service"', "")
    ),
}


def test_every_lint_rule_has_a_breaking_case():
    assert set(BREAKAGES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(BREAKAGES))
def test_lint_fails_on_a_dashboard_broken_for_each_rule(rendered, rule):
    clean = boards(rendered)["omni-api-overview"]
    assert lint_dashboard(clean) == []
    broken = copy.deepcopy(clean)
    BREAKAGES[rule](broken)
    findings = lint_dashboard(broken)
    assert rule in {finding.rule for finding in findings}, findings
    finding = next(finding for finding in findings if finding.rule == rule)
    assert finding.message
    assert str(finding).startswith(f"{broken['uid'] or broken['title']}: ")


def test_a_finding_names_the_dashboard_panel_rule_and_the_fix(rendered):
    broken = copy.deepcopy(boards(rendered)["omni-api-overview"])
    BREAKAGES["target-rate-interval"](broken)
    [finding] = lint_dashboard(broken)
    first = broken["panels"][0]
    assert finding == Finding("omni-api-overview", first["title"], first["id"], "target-rate-interval", finding.message)
    assert "use [$__rate_interval]" in finding.message
    assert str(finding).startswith(f"omni-api-overview: panel 1 {first['title']!r}: [target-rate-interval]")


def test_two_dashboards_with_one_uid_fail_lint(rendered):
    overview = boards(rendered)["omni-api-overview"]
    findings = lint_dashboards([overview, copy.deepcopy(overview)])
    assert [f.rule for f in findings] == ["dashboard-uid"]


def test_a_renamed_metric_fails_lint_before_production(rendered):
    renamed = copy.deepcopy(boards(rendered)["omni-redis"])
    for item in renamed["panels"]:
        for target in item["targets"]:
            target["expr"] = target["expr"].replace(m.CACHE_REQUESTS.name, "omni_cache_lookups_total")
    assert {f.rule for f in lint_dashboard(renamed)} == {"target-unknown-metric"}


# --- the CLI -----------------------------------------------------------------------------------------


def omni(*args: str):
    return runner.invoke(app, list(args))


def test_cli_help_lists_render_list_and_lint():
    result = omni("dashboards", "--help")
    assert result.exit_code == 0
    for command in ("render", "list", "lint"):
        assert command in result.output


def test_cli_render_writes_one_file_per_dashboard(tmp_path, rendered):
    result = omni("dashboards", "render", "--out", str(tmp_path), "--stack", "prod", "-C", str(ROOT))
    assert result.exit_code == 0, result.output
    assert f"wrote {len(GOLDEN_UIDS)} dashboards" in result.output
    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == rendered["prod"]


def test_cli_list_shows_every_uid_and_question():
    result = omni("dashboards", "list")
    assert result.exit_code == 0
    for spec in DASHBOARDS:
        assert spec.uid in result.output
        assert spec.question in result.output


def test_cli_lint_passes_on_the_rendered_dashboards():
    result = omni("dashboards", "lint", "--stack", "staging", "-C", str(ROOT))
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output


def test_cli_lint_of_a_directory_fails_on_a_broken_dashboard(tmp_path):
    write_dashboards(tmp_path, "dev", ROOT)
    assert omni("dashboards", "lint", str(tmp_path)).exit_code == 0
    path = tmp_path / "omni-celery.json"
    dashboard = json.loads(path.read_text())
    BREAKAGES["target-counter-agg"](dashboard)
    path.write_text(json.dumps(dashboard))
    result = omni("dashboards", "lint", str(tmp_path))
    assert result.exit_code == 1
    assert "omni-celery: panel 1" in result.output
    assert "[target-counter-agg]" in result.output
    assert len(lint_directory(tmp_path)) == 1


def test_cli_refuses_an_unknown_stack_with_exit_2(tmp_path):
    result = omni("dashboards", "render", "--out", str(tmp_path), "--stack", "qa", "-C", str(ROOT))
    assert result.exit_code == 2
    assert "Pulumi.qa.yaml" in result.output


def test_docs_list_every_dashboard_and_every_lint_rule():
    docs = (ROOT / "docs" / "dashboards.md").read_text()
    for spec in DASHBOARDS:
        assert f"| `{spec.uid}` | {spec.title} | {spec.question} |" in docs
    for rule, description in RULES.items():
        assert f"| `{rule}` | {description} |" in docs
