"""The production alerting path (docs/alerting.md, "The production path"): one rule evaluator and
one Alertmanager per stack, running exactly the rule files the promtool tests check and the
Alertmanager configuration amtool checks; one page per outage; and a dead man's switch outside
that path, in Cloud Monitoring, that pages when the evaluator, Alertmanager or ingestion stops."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from alerts.alertmanager import (
    OUTAGE_FAMILIES,
    PAGERDUTY,
    TICKET,
    WATCHDOG,
    EmailTickets,
    alertmanager_config,
    route_cases,
)
from alerts.deadman import DEADMAN_CHECK, HEARTBEAT_SERIES, heartbeat_rule_group, production_rule_files
from alerts.render import render_rule_files, to_yaml
from alerts.rules import all_alerts, rule_groups
from alerts.tools import amtool_check_config, amtool_route
from cli.main import app as cli_app
from components.rule_evaluator import collector_scrape, evaluator_config, production_alertmanager_yaml
from lab.monitoring import alertmanager
from lab.pagerduty_receiver import PagerDutyReceiver
from offline.monitoring import load_monitoring_config
from offline.stackfile import read_stack_file
from stackconfig import StackConfigError, load_stack_config
from stackconfig.model import StackConfig

from .conftest import ROOT, STACKS, resources

POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
SERVICE = "gcp:cloudrunv2/service:Service"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET_READER = "gcp:secretmanager/secretIamMember:SecretIamMember"
PROJECT_ROLE = "gcp:projects/iAMMember:IAMMember"
HAS_AMTOOL = shutil.which("amtool") is not None
HAS_PROMTOOL = shutil.which("promtool") is not None


def by_name(graph: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in graph["resources"] if r["name"] == name)


def alerting_pool(graph: dict[str, Any]) -> dict[str, Any]:
    return by_name(graph, f"omni-{graph['stack']}-alerting-pool")


def containers(pool: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in pool["inputs"]["template"]["containers"]}


def mounted(graph: dict[str, Any], secret: str) -> list[str]:
    """The files a secret's versions are mounted as in the alerting instance."""
    volume = next(v for v in alerting_pool(graph)["inputs"]["template"]["volumes"] if v["secret"]["secret"] == secret)
    return sorted(item["path"] for item in volume["secret"]["items"])


def recorded_digest(graph: dict[str, Any], secret: str) -> str:
    """The digest of a secret's files, kept in plain sight (the versions' data is a provider secret)."""
    return by_name(graph, secret)["inputs"]["annotations"]["config-sha256"]


def expected_digest(files: dict[str, str]) -> str:
    """sha256 over each file's name and text, NUL-separated, in name order (docs/alerting.md)."""
    hasher = hashlib.sha256()
    for name, text in sorted(files.items()):
        hasher.update(name.encode() + b"\0" + text.encode() + b"\0")
    return hasher.hexdigest()


def stack_config(project, stack: str) -> StackConfig:
    values, secret_keys = read_stack_file(project.stack_file(stack))
    return load_stack_config(stack, values, secret_keys)


# --- one evaluation path in every stack ---------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_runs_one_evaluator_and_one_alertmanager_in_a_worker_pool_without_ingress(graphs, stack):
    pool = alerting_pool(graphs[stack])
    assert pool["inputs"]["scaling"] == {"scalingMode": "MANUAL", "manualInstanceCount": 1}
    assert sorted(containers(pool)) == ["alertmanager", "collector", "rule-evaluator"]
    # A worker pool has no URL: nothing outside the instance reaches Alertmanager.
    assert not any(r["name"].startswith(f"omni-{stack}-alerting") for r in resources(graphs[stack], SERVICE))


@pytest.mark.parametrize("stack", STACKS)
def test_the_evaluator_loads_exactly_the_rule_files_the_promtool_tests_check(graphs, stack):
    graph = graphs[stack]
    # The stack's own rules (dev has no edge, no replica): what `omni alerts render --stack` tests.
    tested = render_rule_files(rule_groups(load_monitoring_config(stack, ROOT)))
    heartbeat = render_rule_files((heartbeat_rule_group(),))
    rule_files = {**tested, **heartbeat}
    config = evaluator_config("30s", list(rule_files))
    # Every tested file byte for byte, the heartbeat group the switch reads, and the config.
    assert mounted(graph, f"omni-{stack}-alerting-rules") == sorted([*rule_files, "evaluator.yaml"])
    assert recorded_digest(graph, f"omni-{stack}-alerting-rules") == expected_digest(
        {**rule_files, "evaluator.yaml": config}
    )
    loaded = yaml.safe_load(config)
    assert sorted(Path(path).name for path in loaded["rule_files"]) == sorted(rule_files)
    # At the stack's scrape interval, with Alertmanager beside it on localhost.
    assert loaded["global"]["evaluation_interval"] == "30s"
    assert loaded["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["localhost:9093"]
    assert HEARTBEAT_SERIES in heartbeat["alerting-path.rules.yml"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_evaluator_queries_and_writes_the_stacks_own_project(graphs, project, stack):
    graph = graphs[stack]
    project_id = stack_config(project, stack).project
    evaluator = containers(alerting_pool(graph))["rule-evaluator"]
    assert f"--query.project-id={project_id}" in evaluator["args"]
    assert f"--export.label.project-id={project_id}" in evaluator["args"]
    assert evaluator["image"] == "gke.gcr.io/prometheus-engine/rule-evaluator:v0.15.3-gke.0"
    assert evaluator["dependsOns"] == ["alertmanager"]


@pytest.mark.parametrize("stack", STACKS)
def test_its_identity_may_read_and_write_metrics_and_nothing_else_on_the_project(applied, stack):
    graph = applied[stack]
    grants = [g for g in resources(graph, PROJECT_ROLE) if g["name"].startswith(f"omni-{stack}-alerting-")]
    members = {g["inputs"]["member"] for g in grants}
    assert len(members) == 1
    assert {g["inputs"]["role"] for g in grants} == {
        "roles/monitoring.viewer",
        "roles/monitoring.metricWriter",
    }
    assert not [g for g in resources(graph, PROJECT_ROLE) if g["inputs"]["member"] in members and g not in grants]


@pytest.mark.parametrize("stack", STACKS)
def test_alertmanager_runs_the_rendered_configuration_and_reads_the_routing_key_where_it_pages(graphs, project, stack):
    graph = graphs[stack]
    text = production_alertmanager_yaml(stack_config(project, stack))
    assert recorded_digest(graph, f"omni-{stack}-alerting-alertmanager") == expected_digest({"alertmanager.yml": text})
    config = yaml.safe_load(text)
    receivers = {r["name"]: r for r in config["receivers"]}
    mounts = {m["mountPath"] for m in containers(alerting_pool(graph))["alertmanager"]["volumeMounts"]}
    if stack == "dev":  # nothing pages: its critical alerts open tickets
        assert PAGERDUTY not in receivers
        assert "/etc/alertmanager/secrets" not in mounts
    else:
        key = receivers[PAGERDUTY]["pagerduty_configs"][0]["routing_key_file"]
        assert key == "/etc/alertmanager/secrets/pagerduty-routing-key"
        assert "/etc/alertmanager/secrets" in mounts
    assert receivers[TICKET]["email_configs"][0]["to"] == stack_config(project, stack).alerting.ticket_email
    assert config["global"]["smtp_require_tls"] is True
    # The Watchdog's heartbeat goes round the instance: Alertmanager back to the evaluator.
    assert receivers[WATCHDOG]["webhook_configs"][0]["url"] == "http://localhost:9092/-/healthy"


@pytest.mark.parametrize("stack", STACKS)
def test_alerts_render_writes_the_alertmanager_configuration_the_stack_runs(graphs, stack, tmp_path: Path):
    """What `omni alerts render` (and `test`, and `build`) hands to amtool is byte for byte what the
    stack's Alertmanager is deployed with: its digest is the one recorded on the secret."""
    result = CliRunner().invoke(cli_app, ["alerts", "render", "--stack", stack, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "alertmanager.yml").read_text()
    assert recorded_digest(graphs[stack], f"omni-{stack}-alerting-alertmanager") == expected_digest(
        {"alertmanager.yml": text}
    )
    tickets = next(r for r in yaml.safe_load(text)["receivers"] if r["name"] == TICKET)
    assert "webhook_configs" not in tickets
    assert tickets["email_configs"][0]["to"].startswith("platform-tickets")


@pytest.mark.skipif(not HAS_AMTOOL, reason="amtool is installed by scripts/test")
def test_alerts_test_checks_dev_routes_as_dev_runs_them_critical_alerts_open_tickets(tmp_path: Path):
    result = CliRunner().invoke(cli_app, ["alerts", "test", "--stack", "dev", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "(critical) -> ticket" in result.output
    assert "-> pagerduty" not in result.output


def test_alerts_render_without_a_ticket_inbox_names_the_key_and_writes_nothing(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "stacks", project / "stacks")
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    stack_path = project / "stacks" / "Pulumi.dev.yaml"
    text = stack_path.read_text()
    assert "ticketEmail:" in text
    stack_path.write_text("\n".join(line for line in text.splitlines() if "ticketEmail:" not in line) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli_app, ["alerts", "render", "--stack", "dev", "-C", str(project), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "alerting.ticketEmail" in result.output
    assert "pulumi config set" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_routing_key_secret_has_a_reader_now(applied, stack):
    graph = applied[stack]
    readers = [g for g in resources(graph, SECRET_READER) if g["inputs"]["secretId"].endswith("pagerduty-routing-key")]
    evaluator = {
        g["inputs"]["member"] for g in resources(graph, PROJECT_ROLE) if g["name"].startswith(f"omni-{stack}-alerting-")
    }
    assert [g["inputs"]["member"] for g in readers] == sorted(evaluator)


@pytest.mark.parametrize("stack", STACKS)
def test_the_collector_scrapes_alertmanager_and_the_evaluator_for_the_switch(graphs, stack):
    scrape = collector_scrape("30s")
    assert recorded_digest(graphs[stack], f"omni-{stack}-alerting-rungmp") == expected_digest(
        {"config.yaml": scrape.render()}
    )
    assert sorted(e["port"] for e in scrape.document()["spec"]["endpoints"]) == ["9092", "9093"]


# --- Alertmanager: amtool and a real Alertmanager ------------------------------------------------


def production_config(paging: bool) -> str:
    tickets = EmailTickets(to="tickets@omni.example", smarthost="smtp-relay.gmail.com:587", sender="am@omni.example")
    return to_yaml(alertmanager_config(pagerduty_url=None, routing_key_file="/k", paging=paging, tickets=tickets))


@pytest.mark.skipif(not HAS_AMTOOL, reason="amtool (prometheus-alertmanager) is not installed")
@pytest.mark.parametrize("paging", [True, False], ids=["paging", "dev"])
def test_amtool_accepts_the_production_configuration_and_routes_every_alert(tmp_path, paging):
    (tmp_path / "alertmanager.yml").write_text(production_config(paging), encoding="utf-8")
    assert amtool_check_config(tmp_path).ok
    failures = [case for case in route_cases(all_alerts(), paging=paging) if not amtool_route(tmp_path, case).ok]
    assert failures == []


def test_every_outage_family_names_critical_alerts_the_rules_define():
    severities: dict[str, set[str]] = {}
    for alert in all_alerts():
        severities.setdefault(alert.name, set()).add(alert.severity.value)
    for family, names in OUTAGE_FAMILIES.items():
        for name in names:
            assert name in severities, f"family {family}: no alert {name}"
        assert any("critical" in severities[name] for name in names), family
    members = [name for names in OUTAGE_FAMILIES.values() for name in names]
    assert len(members) == len(set(members)), "an alert belongs to one family"


def wait_for_triggers(receiver: PagerDutyReceiver, count: int, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        triggers = [e for e in receiver.events if e.event_action == "trigger"]
        if len(triggers) >= count:
            return triggers
        time.sleep(0.2)
    return [e for e in receiver.events if e.event_action == "trigger"]


@pytest.mark.skipif(
    shutil.which("prometheus-alertmanager") is None and not Path("/usr/bin/prometheus-alertmanager").exists(),
    reason="prometheus-alertmanager is not installed",
)
def test_a_full_api_outage_is_one_incident_in_a_real_alertmanager(tmp_path):
    key = "0" * 32
    (tmp_path / "key").write_text(key, encoding="utf-8")
    with PagerDutyReceiver({key}) as pagerduty:
        config = to_yaml(
            alertmanager_config(
                pagerduty_url=pagerduty.enqueue_url,
                routing_key_file=str(tmp_path / "key"),
                ticket_webhook_url="http://127.0.0.1:9/tickets",
                watchdog_webhook_url="http://127.0.0.1:9/watchdog",
            )
        )
        with alertmanager(config) as server:

            def post(*alerts: dict[str, Any]) -> None:
                body = json.dumps(list(alerts)).encode()
                urllib.request.urlopen(
                    urllib.request.Request(f"{server.url}/api/v2/alerts", body, {"Content-Type": "application/json"}),
                    timeout=5,
                )

            def alert(name: str, **labels: str) -> dict[str, Any]:
                return {
                    "labels": {"alertname": name, "severity": "critical", **labels},
                    "annotations": {"summary": name},
                }

            # The symptom page, the burn-rate page and the uptime check of one outage, and the
            # workers' page of another cause.
            post(
                alert("ApiHighErrorRate", service="api"),
                alert("ApiAvailabilityErrorBudgetBurn", slo="api-availability", service="api"),
                alert("UptimeCheckFailing", check_id="omni-api-healthz"),
                alert("CeleryNoLiveWorkers", service="worker"),
            )
            triggers = wait_for_triggers(pagerduty, 2, timeout=30)
    incidents: dict[str, set[str]] = {}
    for event in triggers:
        text = json.dumps(event.custom_details) + (event.summary or "")
        incidents.setdefault(event.dedup_key, set()).update(
            name
            for name in (
                "ApiHighErrorRate",
                "ApiAvailabilityErrorBudgetBurn",
                "UptimeCheckFailing",
                "CeleryNoLiveWorkers",
            )
            if name in text
        )
    assert sorted(map(sorted, incidents.values())) == [
        ["ApiAvailabilityErrorBudgetBurn", "ApiHighErrorRate", "UptimeCheckFailing"],
        ["CeleryNoLiveWorkers"],
    ]


# --- Cloud Monitoring: only the dead man's switch ------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_cloud_monitoring_pages_only_for_the_alerting_path_itself(graphs, stack):
    # Every rule pages through Alertmanager; a policy for one of them would page a second time.
    policies = resources(graphs[stack], POLICY)
    assert [p["inputs"]["displayName"] for p in policies] == [DEADMAN_CHECK.name]
    rule_names = {alert.name for alert in all_alerts()}
    assert DEADMAN_CHECK.name not in rule_names


@pytest.mark.parametrize("stack", STACKS)
def test_the_switch_pages_through_its_own_channel_once_the_path_runs(graphs, stack):
    graph = graphs[stack]
    (policy,) = resources(graph, POLICY)
    by_urn = {r["urn"]: r for r in resources(graph, CHANNEL)}
    channels = [by_urn[urn]["inputs"]["type"] for urn in policy["propertyDependencies"]["notificationChannels"]]
    assert channels == (["email"] if stack == "dev" else ["pagerduty"])
    condition = policy["inputs"]["conditions"][0]["conditionPrometheusQueryLanguage"]
    assert condition["query"] == DEADMAN_CHECK.query
    assert condition["duration"] == "120s"
    assert alerting_pool(graph)["urn"] in policy["dependencies"]


@pytest.mark.skipif(not HAS_PROMTOOL, reason="promtool (prometheus) is not installed")
def test_the_switch_is_silent_while_the_path_runs_and_fires_when_the_evaluator_or_alertmanager_stops(tmp_path):
    """promtool evaluates the switch's query as Cloud Monitoring would, on 30 s samples: the
    heartbeat and Alertmanager's counters run for 10 minutes, then one of them stops."""
    rule = {"alert": DEADMAN_CHECK.name, "expr": DEADMAN_CHECK.query, "for": DEADMAN_CHECK.duration}
    (tmp_path / "switch.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "switch", "rules": [rule]}]}), encoding="utf-8"
    )
    sent = 'alertmanager_notifications_total{integration="webhook"}'
    failed = 'alertmanager_notifications_failed_total{integration="webhook"}'
    paged = 'alertmanager_notifications_failed_total{integration="pagerduty"}'
    # 30 s steps: 20 samples = 10 minutes; a heartbeat delivered every other sample (each minute).
    running = {HEARTBEAT_SERIES: "1x19", sent: "0+0.5x19", failed: "0x19", paged: "0x19"}
    healthy_then = "1x19 _x20"

    def case(series: dict[str, str], alerts: list[dict[str, Any]], at: str) -> dict[str, Any]:
        return {
            "interval": "30s",
            "input_series": [{"series": name, "values": values} for name, values in series.items()],
            "alert_rule_test": [{"eval_time": at, "alertname": DEADMAN_CHECK.name, "exp_alerts": alerts}],
        }

    stopped = [{"exp_labels": {}}]
    tests = [
        case(running, [], "9m"),
        # The evaluator stops at 10m: no heartbeat, and Alertmanager's Watchdog stops too.
        case({**running, HEARTBEAT_SERIES: healthy_then}, [], "13m"),
        case({**running, HEARTBEAT_SERIES: healthy_then}, stopped, "14m30s"),
        # Alertmanager stops at 10m: its metrics are gone.
        case(
            {HEARTBEAT_SERIES: "1x40", sent: "0+0.5x19 _x20", failed: "0x19 _x20", paged: "0x19 _x20"},
            stopped,
            "14m30s",
        ),
        # Alertmanager runs but no longer delivers the heartbeat.
        case(
            {**running, HEARTBEAT_SERIES: "1x40", sent: "0+0.5x19 10x20", failed: "0x40", paged: "0x40"},
            stopped,
            "14m30s",
        ),
        # Pages fail to reach PagerDuty.
        case(
            {**running, HEARTBEAT_SERIES: "1x40", sent: "0+0.5x40", failed: "0x40", paged: "0x19 1x20"},
            stopped,
            "12m30s",
        ),
    ]
    (tmp_path / "switch.test.yml").write_text(
        yaml.safe_dump({"rule_files": ["switch.yml"], "evaluation_interval": "30s", "tests": tests}), encoding="utf-8"
    )
    result = subprocess.run(
        ["promtool", "test", "rules", "switch.test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_heartbeat_is_part_of_what_production_loads():
    files = production_rule_files(rule_groups())
    assert yaml.safe_load(files["alerting-path.rules.yml"])["groups"][0]["rules"] == [
        {"record": HEARTBEAT_SERIES, "expr": "vector(1)"}
    ]


# --- its settings ---------------------------------------------------------------------------------


def test_the_alerting_path_settings_default_to_a_relay_and_the_inboxs_domain(project):
    settings = stack_config(project, "prod").alerting_path
    assert settings.smtp_smarthost == "smtp-relay.gmail.com:587"
    assert settings.sender("platform-tickets@omni.example") == "alertmanager@omni.example"
    assert settings.alertmanager_version.startswith("v")


def test_a_bad_relay_address_is_refused_naming_the_key(project):
    values, secret_keys = read_stack_file(project.stack_file("dev"))
    values = {**values, "omni-infra:alertingPath": json.dumps({"smtpSmarthost": "smtp.example.com"})}
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("dev", values, secret_keys)
    assert [problem.key for problem in caught.value.problems] == ["omni-infra:alertingPath.smtpSmarthost"]
    assert "alertingPath.smtpSmarthost" in str(caught.value)
