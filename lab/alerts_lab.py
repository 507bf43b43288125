"""The MTTD lab: inject faults into a demo service watched by production's alerting path, time the pages.

What runs is production's path at production's intervals (docs/lab.md): the rule files the
evaluator loads (`alerts.deadman.production_rule_files`) and the Alertmanager configuration it
routes by (`alerts.alertmanager.alertmanager_config`: grouping, inhibition, timings), with only
the receivers pointed at local stand-ins (tickets by webhook instead of email); scrape and
evaluation every 30 s (the stacks' `metrics.scrapeInterval`), the samples served
`ingestion_delay_seconds` late (Managed Prometheus's ingestion), and `notification_delay_seconds`
added to every page (PagerDuty to the phone). The dead man's switch runs as in production: a
stand-in for Cloud Monitoring (a Prometheus evaluating `alerts.deadman.DEADMAN_CHECK` every 30 s,
its own Alertmanager and routing key) watches the control stack and the stacks whose evaluator or
Alertmanager the lab stops.

Each scenario gets its own monitoring stack, all running at once: a demo service, a Prometheus
loading the rendered rule files and an Alertmanager with the rendered configuration, whose
PagerDuty and webhook receivers point at the lab's local receivers. A stack of its own per fault
is needed because the SLO rules `sum()` over every instance of a service: faults sharing one
Prometheus would page for each other. A control stack that never gets a fault runs alongside
for the healthy period. Each stack has its own PagerDuty routing key and webhook paths, so every
event is attributed to the stack that sent it.

Timeline: every stack starts healthy; after `baseline_seconds` each scenario's fault is
injected (T0); the lab waits for the expected page (critical: a PagerDuty trigger naming one of
the scenario's expected alerts) or ticket (warning: a webhook notification naming one), or the
scenario's timeout; then it clears the fault. MTTD = arrival of that first event - T0, and the
result names the alert that event was for. A false page is any PagerDuty trigger from the
control stack, from a scenario stack before its fault, or for an alert the scenario does not
expect; each incident (dedup key) counts once.
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alerts.deadman import DEADMAN_CHECK, HEARTBEAT_SERIES
from alerts.model import Severity
from lab.demo_service import DemoService
from lab.faults import HEALTHY, NAMED_FAULTS, Faults
from lab.history import healthy_rates, write_history_blocks
from lab.monitoring import alertmanager, prometheus
from lab.pagerduty_receiver import PagerDutyEvent, PagerDutyReceiver
from lab.webhook_receiver import WebhookNotification, WebhookReceiver
from localrun.processes import ManagedServer
from stackconfig.platform import MetricsConfig

# Production's intervals: the stacks' scrape interval (MetricsConfig's default; no stack overrides
# it), at which the evaluator evaluates too, and Cloud Monitoring's 30 s evaluation grid.
SCRAPE_INTERVAL = MetricsConfig().scrape_interval
EVALUATION_INTERVAL = SCRAPE_INTERVAL
# Assumed, not measured (no cloud here): a scraped sample is queryable in Managed Prometheus about
# this long after the scrape (the collector's export batching plus Monarch's write path), and a
# page reaches the phone this long after Alertmanager's request to PagerDuty.
INGESTION_DELAY_SECONDS = 15.0
NOTIFICATION_DELAY_SECONDS = 5.0
SCRAPE_JOB = "omni-api"


@dataclass(frozen=True)
class LabTiming:
    """How closely the lab follows production's clock."""

    scrape_interval: str
    evaluation_interval: str
    ingestion_delay_seconds: float
    notification_delay_seconds: float


PRODUCTION_TIMING = LabTiming(SCRAPE_INTERVAL, EVALUATION_INTERVAL, INGESTION_DELAY_SECONDS, NOTIFICATION_DELAY_SECONDS)
# For CI: six times faster sampling and no delays; its figures show the rules, not production.
QUICK_TIMING = LabTiming("5s", "5s", 0.0, 0.0)

CRITICAL_TARGET_SECONDS = 120.0  # every page within 2 minutes of the fault (issue 14)
WARNING_TARGET_SECONDS = 600.0  # the cache-collapse ticket within 10 minutes (issue 14)
# The switch: window (2m) + `for` (2m) + a scrape and an evaluation of the stand-in (30 s each).
DEADMAN_TARGET_SECONDS = 360.0
CONTROL_STACK = "healthy-control"
# Healthy history each Prometheus starts with: the longest window of a paging burn-rate pair
# (6h, with 30m), so every page window holds production-like traffic from the first evaluation.
DEFAULT_HISTORY_SECONDS = 6 * 3600
REQUESTS_PER_SECOND = 40.0  # the demo's API traffic, live and in the history alike
# What a scenario does at T0: switch a fault on in the demo service, or stop a part of the path.
FAULT, STOP_EVALUATOR, STOP_ALERTMANAGER = "fault", "stop-evaluator", "stop-alertmanager"


@dataclass(frozen=True)
class Scenario:
    """One fault, the alerts that may notice it, and how fast."""

    name: str  # also the demo service's fault name (lab.faults.NAMED_FAULTS)
    description: str
    # The alerts that rightly detect this fault, the fastest first: the first page (or ticket)
    # naming any of them is the detection, and the result says which one it named. A fast
    # symptom page and the SLO burn-rate page behind it both count.
    expected_alerts: tuple[str, ...]
    severity: Severity  # critical: must page (PagerDuty trigger); warning: must open a ticket
    # Other alerts this fault may rightly page for (symptoms of the same failure): no false page.
    related_alerts: frozenset[str] = frozenset()
    action: str = FAULT  # or STOP_EVALUATOR, STOP_ALERTMANAGER: the dead man's switch's scenarios

    @property
    def faults(self) -> Faults:
        return NAMED_FAULTS[self.name] if self.action == FAULT else HEALTHY

    @property
    def deadman(self) -> bool:
        """Detected by the dead man's switch (Cloud Monitoring's stand-in), not the rule path."""
        return self.action != FAULT

    @property
    def target_seconds(self) -> float:
        if self.deadman:
            return DEADMAN_TARGET_SECONDS
        return CRITICAL_TARGET_SECONDS if self.severity is Severity.CRITICAL else WARNING_TARGET_SECONDS


_API_ERRORS = ("ApiHighErrorRate", "ApiAvailabilityErrorBudgetBurn")
_API_LATENCY = ("ApiLatencyHigh", "ApiLatencyErrorBudgetBurn")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("full-outage", "every API request answers 500", _API_ERRORS, Severity.CRITICAL),
    Scenario("error-spike", "20% of API requests answer 500", _API_ERRORS, Severity.CRITICAL),
    Scenario("latency-regression", "90% of API requests take 0.6 to 2.5 s", _API_LATENCY, Severity.CRITICAL),
    Scenario("workers-gone", "no Celery worker answers; tasks stop", ("CeleryNoLiveWorkers",), Severity.CRITICAL),
    Scenario("cache-collapse", "the cache hit ratio falls to 2%", ("CacheHitRateLow",), Severity.WARNING),
    Scenario(
        "evaluator-down", "the rule evaluator stops", (DEADMAN_CHECK.name,), Severity.CRITICAL, action=STOP_EVALUATOR
    ),
    Scenario(
        "alertmanager-down", "Alertmanager stops", (DEADMAN_CHECK.name,), Severity.CRITICAL, action=STOP_ALERTMANAGER
    ),
)
QUICK_SCENARIOS = tuple(scenario for scenario in SCENARIOS if not scenario.deadman)


@dataclass(frozen=True)
class AlertingConfig:
    """What the lab deploys into each stack: rule files, an Alertmanager config renderer, alert severities."""

    rule_files: dict[str, str]  # file name -> Prometheus rule YAML
    # (pagerduty_url, routing_key_file, ticket_webhook_url, watchdog_webhook_url) -> Alertmanager YAML
    render_alertmanager: Callable[[str, Path, str, str], str]
    # Every alert the rules define, with its severities (a burn-rate alert has two: page and ticket).
    alert_severities: dict[str, frozenset[Severity]]


def project_alerting() -> AlertingConfig:
    """Production's rule files and Alertmanager configuration, receivers pointed at the lab."""
    from alerts.alertmanager import alertmanager_config
    from alerts.deadman import production_rule_files
    from alerts.render import to_yaml
    from alerts.rules import rule_groups

    def render(pagerduty_url: str, routing_key_file: Path, ticket_url: str, watchdog_url: str) -> str:
        return to_yaml(
            alertmanager_config(
                pagerduty_url=pagerduty_url,
                routing_key_file=str(routing_key_file),
                ticket_webhook_url=ticket_url,
                watchdog_webhook_url=watchdog_url,
            )
        )

    severities: dict[str, set[Severity]] = {}
    for group in rule_groups():
        for alert in group.alerts:
            severities.setdefault(alert.name, set()).add(alert.severity)
    alert_severities = {name: frozenset(s) for name, s in severities.items()}
    return AlertingConfig(production_rule_files(rule_groups()), render, alert_severities)


@dataclass(frozen=True)
class ScenarioResult:
    scenario: str
    fault: str  # the scenario's description
    expected_alerts: tuple[str, ...]  # any of them detects the fault
    detected_by: str | None  # the expected alert the first page or ticket named; None: none came
    severity: str
    target_seconds: float
    mttd_seconds: float | None  # None: no matching page or ticket before the timeout
    resolved_seconds: float | None  # from clearing the fault to the resolve, when it came during the run
    # When each other expected alert (the burn-rate page behind a symptom page) first appeared in
    # a notification of the stack, since the fault: it joins the open incident, it does not page.
    later_alerts_seconds: dict[str, float] = field(default_factory=dict)
    incidents: int = 0  # distinct PagerDuty incidents (dedup keys) triggered after the fault

    @property
    def passed(self) -> bool:
        return self.mttd_seconds is not None and self.mttd_seconds < self.target_seconds


@dataclass(frozen=True)
class FalsePage:
    stack: str  # the scenario's name, or the control stack's
    alerts: tuple[str, ...]  # the alerts the page names
    at_seconds: float  # since the stack's fault (negative: before it) or since the lab began
    reason: str


@dataclass(frozen=True)
class LabResult:
    """The table the lab prints, as data."""

    scenarios: tuple[ScenarioResult, ...]
    false_pages: tuple[FalsePage, ...]
    healthy_seconds: float  # how long the control stack ran without a fault
    # Watchdog notifications each stack's dead man's switch got: the alert pipeline delivers.
    watchdog_heartbeats: dict[str, int]
    duration_seconds: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.scenarios) and not self.false_pages

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for row, result in zip(data["scenarios"], self.scenarios, strict=True):
            row["passed"] = result.passed
        data["passed"] = self.passed
        return data


def scenario_problems(scenarios: tuple[Scenario, ...], alerting: AlertingConfig) -> list[str]:
    """Why these scenarios cannot run against these rules; empty when they can."""
    problems = []
    for scenario in scenarios:
        if not scenario.deadman and scenario.name not in NAMED_FAULTS:
            problems.append(f"scenario {scenario.name}: the demo service has no fault of that name")
        if not scenario.expected_alerts:
            problems.append(f"scenario {scenario.name}: it expects no alert; name the alerts that detect it")
        if scenario.deadman:
            if scenario.expected_alerts != (DEADMAN_CHECK.name,):
                problems.append(f"scenario {scenario.name}: the dead man's switch raises only {DEADMAN_CHECK.name}")
            continue
        for expected in scenario.expected_alerts:
            severities = alerting.alert_severities.get(expected)
            if severities is None:
                problems.append(f"scenario {scenario.name}: the rules define no alert {expected}")
            elif scenario.severity not in severities:
                problems.append(
                    f"scenario {scenario.name}: {expected} has no {scenario.severity.value} rule "
                    f"(it has {', '.join(sorted(severity.value for severity in severities))})"
                )
        for related in sorted(scenario.related_alerts - set(alerting.alert_severities)):
            problems.append(f"scenario {scenario.name}: the rules define no alert {related}")
    return problems


def alerts_named_in(text: str, alert_names: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The known alert names that occur as whole words in a notification's text, sorted."""
    return tuple(sorted(name for name in alert_names if re.search(rf"\b{re.escape(name)}\b", text)))


def page_text(event: PagerDutyEvent) -> str:
    """Everything a PagerDuty event says about its alerts (Alertmanager puts labels in details)."""
    return "\n".join([event.summary or "", *_strings(event.custom_details)])


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON value, unescaped (so word boundaries stay where they are)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def prometheus_config(
    demo_port: int, alertmanager_port: int, rule_files: list[str], timing: LabTiming = PRODUCTION_TIMING
) -> str:
    config = {
        "global": {"scrape_interval": timing.scrape_interval, "evaluation_interval": timing.evaluation_interval},
        "rule_files": rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
        "scrape_configs": [{"job_name": SCRAPE_JOB, "static_configs": [{"targets": [f"127.0.0.1:{demo_port}"]}]}],
    }
    return yaml.safe_dump(config, sort_keys=False)


DEADMAN_RULE_FILE = "deadman.rules.yml"
WATCHED_LABEL = "watched"


def deadman_rule_file() -> str:
    """Cloud Monitoring's policy as a Prometheus rule: the same query, its duration as `for`."""
    from alerts.render import to_yaml

    rule = {
        "alert": DEADMAN_CHECK.name,
        "expr": DEADMAN_CHECK.query,
        "for": DEADMAN_CHECK.duration,
        "labels": {"severity": "critical"},
        "annotations": {"summary": DEADMAN_CHECK.summary},
    }
    return to_yaml({"groups": [{"name": "cloud-monitoring", "rules": [rule]}]})


def monitor_config(watched: str, evaluator_port: int, alertmanager_port: int, monitor_alertmanager_port: int) -> str:
    """The stand-in for Cloud Monitoring watching one stack: it reads the evaluator's heartbeat (as
    Managed Prometheus stores it) and Alertmanager's metrics (as the collector scrapes them), and
    evaluates the switch every 30 s, Cloud Monitoring's grid."""
    config = {
        "global": {"scrape_interval": "30s", "evaluation_interval": "30s", "external_labels": {WATCHED_LABEL: watched}},
        "rule_files": [DEADMAN_RULE_FILE],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{monitor_alertmanager_port}"]}]}]},
        "scrape_configs": [
            {
                "job_name": "evaluator-heartbeat",
                "metrics_path": "/federate",
                "honor_labels": True,
                "params": {"match[]": [HEARTBEAT_SERIES]},
                "static_configs": [{"targets": [f"127.0.0.1:{evaluator_port}"]}],
            },
            {"job_name": "alertmanager", "static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]},
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def monitor_alertmanager_config(pagerduty_url: str, routing_key_file: Path) -> str:
    """Cloud Monitoring's PagerDuty channel: every incident of a watched stack pages at once."""
    from alerts.render import to_yaml

    return to_yaml(
        {
            "route": {
                "receiver": "pagerduty",
                "group_by": [WATCHED_LABEL],
                "group_wait": "0s",
                "group_interval": "1m",
                "repeat_interval": "4h",
            },
            "receivers": [
                {
                    "name": "pagerduty",
                    "pagerduty_configs": [
                        {"url": pagerduty_url, "routing_key_file": str(routing_key_file), "send_resolved": True}
                    ],
                }
            ],
        }
    )


@dataclass
class LabStack:
    """One isolated monitoring stack (demo, Prometheus, Alertmanager) and what the lab has seen of it."""

    name: str
    scenario: Scenario | None  # None for the control stack
    routing_key: str
    demo: DemoService
    alertmanager: ManagedServer | None = None
    prometheus: ManagedServer | None = None
    watched: bool = False  # a Cloud Monitoring stand-in watches its alerting path
    fault_at: float | None = None  # monotonic T0
    detected_at: float | None = None
    detected_by: str | None = None  # the expected alert the detecting page or ticket named
    cleared_at: float | None = None
    resolved_at: float | None = None
    gave_up: bool = False
    finished: bool = False  # every expected alert came, or the timeout passed: the fault is cleared

    @property
    def ticket_path(self) -> str:
        return f"/tickets/{self.name}"

    @property
    def watchdog_path(self) -> str:
        return f"/watchdog/{self.name}"

    @property
    def waiting(self) -> bool:
        return self.scenario is not None and not self.finished


def run_alerts_lab(
    scenarios: tuple[Scenario, ...],
    *,
    alerting: AlertingConfig | None = None,
    baseline_seconds: float = 30.0,
    healthy_seconds: float = 180.0,
    timeout_per_scenario: float = 300.0,
    history_seconds: int = DEFAULT_HISTORY_SECONDS,
    timing: LabTiming = PRODUCTION_TIMING,
    wait_for_every_alert: bool = True,
    on_progress: Callable[[str], None] = lambda message: None,
) -> LabResult:
    """Run the scenarios at once, each on its own stack, with a healthy control stack alongside.

    `history_seconds` of healthy traffic are backfilled into every Prometheus (lab.history);
    0 starts them empty, which makes every long window as short as the run (see docs/lab.md).
    """
    alerting = alerting or project_alerting()
    problems = scenario_problems(scenarios, alerting)
    if problems:
        raise ValueError("; ".join(problems))
    started = time.monotonic()
    delay = timing.ingestion_delay_seconds
    stacks = [
        LabStack(
            s.name,
            s,
            uuid.uuid4().hex,
            DemoService(seed=index, requests_per_second=REQUESTS_PER_SECOND, metrics_delay_seconds=delay),
            watched=s.deadman,
        )
        for index, s in enumerate(scenarios, start=1)
    ]
    any_deadman = any(s.deadman for s in scenarios)
    stacks.append(
        LabStack(
            CONTROL_STACK,
            None,
            uuid.uuid4().hex,
            DemoService(requests_per_second=REQUESTS_PER_SECOND, metrics_delay_seconds=delay),
            watched=any_deadman,
        )
    )
    monitor_key = uuid.uuid4().hex
    alert_names = frozenset(alerting.alert_severities) | {DEADMAN_CHECK.name}

    with ExitStack() as cleanup, tempfile.TemporaryDirectory(prefix="omni-lab-") as work:
        history = None
        if history_seconds > 0:
            on_progress(f"writing {history_seconds / 3600:g} h of healthy history")
            history = write_history_blocks(
                Path(work), healthy_rates(REQUESTS_PER_SECOND), job=SCRAPE_JOB, end=time.time(), seconds=history_seconds
            )
        pagerduty = cleanup.enter_context(PagerDutyReceiver({stack.routing_key for stack in stacks} | {monitor_key}))
        webhooks = cleanup.enter_context(WebhookReceiver())
        for stack in stacks:
            _start_stack(stack, alerting, pagerduty, webhooks, Path(work), history, timing, cleanup)
            on_progress(
                f"{stack.name}: demo {stack.demo.url}, Prometheus {_url(stack.prometheus)}, "
                f"Alertmanager {_url(stack.alertmanager)}"
            )
        if any_deadman:
            _start_monitors(stacks, pagerduty, monitor_key, Path(work), cleanup, on_progress)
        control_started = time.monotonic()

        on_progress(f"healthy baseline for {baseline_seconds:.0f} s")
        time.sleep(baseline_seconds)
        for stack in stacks:
            if stack.scenario is not None:
                _inject(stack)
                stack.fault_at = time.monotonic()
                on_progress(f"{stack.name}: fault injected ({stack.scenario.description})")

        healthy_until = control_started + healthy_seconds
        while any(stack.waiting for stack in stacks) or time.monotonic() < healthy_until:
            for stack in stacks:
                if stack.scenario is not None:
                    _follow(
                        stack,
                        pagerduty,
                        webhooks,
                        alert_names,
                        monitor_key,
                        timing,
                        timeout_per_scenario,
                        wait_for_every_alert,
                        on_progress,
                    )
            time.sleep(0.25)  # arrival times are recorded by the receivers: polling adds no error
        healthy_observed = time.monotonic() - control_started
        # Everything the receivers got while the stacks ran; the stacks stop as the block ends.
        events, notes = pagerduty.events, webhooks.notifications

    results = tuple(
        _result(stack, events, alert_names, timing, monitor_key) for stack in stacks if stack.scenario is not None
    )
    unexpected = false_pages(stacks, events, alert_names, control_started, monitor_key)
    heartbeats = {stack.name: sum(note.path == stack.watchdog_path for note in notes) for stack in stacks}
    return LabResult(
        scenarios=results,
        false_pages=unexpected,
        healthy_seconds=round(healthy_observed, 1),
        watchdog_heartbeats=heartbeats,
        duration_seconds=round(time.monotonic() - started, 1),
        settings={
            "scrape_interval": timing.scrape_interval,
            "evaluation_interval": timing.evaluation_interval,
            "ingestion_delay_seconds": timing.ingestion_delay_seconds,
            "notification_delay_seconds": timing.notification_delay_seconds,
            "baseline_seconds": baseline_seconds,
            "timeout_per_scenario": timeout_per_scenario,
            "history_seconds": history_seconds,
        },
    )


def _inject(stack: LabStack) -> None:
    """T0: switch the scenario's fault on, or stop the part of the path it takes away."""
    scenario = stack.scenario
    assert scenario is not None
    if scenario.action == STOP_EVALUATOR and stack.prometheus is not None:
        stack.prometheus.stop()
    elif scenario.action == STOP_ALERTMANAGER and stack.alertmanager is not None:
        stack.alertmanager.stop()
    else:
        stack.demo.set_faults(scenario.faults)


def _follow(
    stack: LabStack,
    pagerduty: PagerDutyReceiver,
    webhooks: WebhookReceiver,
    alert_names: frozenset[str],
    monitor_key: str,
    timing: LabTiming,
    timeout: float,
    wait_for_every_alert: bool,
    on_progress: Callable[[str], None],
) -> None:
    """One look at a scenario's stack: detected or timed out yet? Then clear its fault; resolved yet?"""
    scenario = stack.scenario
    assert scenario is not None
    assert stack.fault_at is not None
    now = time.monotonic()
    if stack.waiting:
        if scenario.deadman:
            detected = deadman_detection(stack, pagerduty.events, monitor_key)
        else:
            detected = first_detection(stack, pagerduty.events, webhooks.notifications, alert_names)
        if detected is not None and stack.detected_at is None:
            stack.detected_at, stack.detected_by = detected
            page = stack.detected_at - stack.fault_at + timing.notification_delay_seconds
            on_progress(f"{stack.name}: {stack.detected_by} after {page:.1f} s")
        # The fault stays on until every expected alert (the burn-rate page behind the symptom
        # page) has shown, so that each one's time is measured, or until the timeout.
        seen = later_alerts(stack, pagerduty.events, alert_names, 0.0) if stack.detected_at is not None else {}
        every_alert_came = len(seen) + 1 >= len(scenario.expected_alerts)
        if stack.detected_at is not None and (not wait_for_every_alert or every_alert_came):
            stack.finished = True
        elif now - stack.fault_at > timeout:
            stack.finished = True
            stack.gave_up = stack.detected_at is None
            if stack.gave_up:
                on_progress(f"{stack.name}: no {' or '.join(scenario.expected_alerts)} within {timeout:.0f} s")
    if not stack.waiting and stack.cleared_at is None:
        stack.demo.set_faults(HEALTHY)
        stack.cleared_at = now
    if stack.cleared_at is not None and stack.resolved_at is None and not scenario.deadman:
        stack.resolved_at = _first_resolve(stack, pagerduty.events, webhooks.notifications, alert_names)


def _url(server: ManagedServer | None) -> str:
    return server.url if server else "-"


def _start_monitors(
    stacks: list[LabStack],
    pagerduty: PagerDutyReceiver,
    monitor_key: str,
    key_dir: Path,
    cleanup: ExitStack,
    on_progress: Callable[[str], None],
) -> None:
    """Cloud Monitoring's stand-in: its PagerDuty channel, and one evaluator per watched stack (the
    switch's query sums over the stack's Alertmanager, so stacks cannot share one)."""
    key_file = key_dir / "cloud-monitoring.key"
    key_file.write_text(monitor_key, encoding="utf-8")
    channel = cleanup.enter_context(alertmanager(monitor_alertmanager_config(pagerduty.enqueue_url, key_file)))
    for stack in stacks:
        if stack.watched and stack.prometheus is not None and stack.alertmanager is not None:
            monitor = cleanup.enter_context(
                prometheus(
                    monitor_config(stack.name, stack.prometheus.port, stack.alertmanager.port, channel.port),
                    {DEADMAN_RULE_FILE: deadman_rule_file()},
                )
            )
            on_progress(f"{stack.name}: watched by the dead man's switch at {monitor.url}")


def _start_stack(
    stack: LabStack,
    alerting: AlertingConfig,
    pagerduty: PagerDutyReceiver,
    webhooks: WebhookReceiver,
    key_dir: Path,
    history: Path | None,
    timing: LabTiming,
    cleanup: ExitStack,
) -> None:
    key_file = key_dir / f"{stack.name}.key"
    key_file.write_text(stack.routing_key, encoding="utf-8")
    cleanup.enter_context(stack.demo)
    am_config = alerting.render_alertmanager(
        pagerduty.enqueue_url, key_file, webhooks.url(stack.ticket_path), webhooks.url(stack.watchdog_path)
    )
    stack.alertmanager = cleanup.enter_context(alertmanager(am_config))
    stack.prometheus = cleanup.enter_context(
        prometheus(
            prometheus_config(stack.demo.port, stack.alertmanager.port, sorted(alerting.rule_files), timing),
            alerting.rule_files,
            history_blocks=history,
        )
    )


def first_detection(
    stack: LabStack, events: tuple[PagerDutyEvent, ...], notes: tuple[WebhookNotification, ...], names: frozenset[str]
) -> tuple[float, str] | None:
    """When the first page (or ticket) naming an expected alert arrived, and that alert."""
    scenario = stack.scenario
    assert scenario is not None
    assert stack.fault_at is not None
    found: list[tuple[float, str]] = []
    if scenario.severity is Severity.CRITICAL:
        for event in events:
            if (
                event.routing_key == stack.routing_key
                and event.event_action == "trigger"
                and event.received_monotonic >= stack.fault_at
            ):
                found += _expected_in(scenario, event.received_monotonic, alerts_named_in(page_text(event), names))
    else:
        for note in notes:
            if note.path == stack.ticket_path and note.status == "firing" and note.received_monotonic >= stack.fault_at:
                found += _expected_in(scenario, note.received_monotonic, note.alert_names)
    return min(found, default=None, key=lambda arrival: arrival[0])


def deadman_detection(
    stack: LabStack, events: tuple[PagerDutyEvent, ...], monitor_key: str
) -> tuple[float, str] | None:
    """When Cloud Monitoring's stand-in first paged for this stack's alerting path."""
    assert stack.fault_at is not None
    for event in events:
        if (
            event.routing_key == monitor_key
            and event.event_action == "trigger"
            and event.received_monotonic >= stack.fault_at
            and watched_stack(event) == stack.name
        ):
            return event.received_monotonic, DEADMAN_CHECK.name
    return None


def watched_stack(event: PagerDutyEvent) -> str | None:
    """The stack a page of the switch is about: its group label, first in the summary."""
    match = re.search(r"\] (\S+)", event.summary or "")
    return match.group(1) if match else None


def _expected_in(scenario: Scenario, at: float, named: tuple[str, ...]) -> list[tuple[float, str]]:
    """(at, alert) for the first of the scenario's expected alerts that a notification names."""
    matching = [alert for alert in scenario.expected_alerts if alert in named]
    return [(at, matching[0])] if matching else []


def _first_resolve(
    stack: LabStack, events: tuple[PagerDutyEvent, ...], notes: tuple[WebhookNotification, ...], names: frozenset[str]
) -> float | None:
    """When the alert that detected the fault resolved, after the fault was cleared."""
    scenario, alert = stack.scenario, stack.detected_by
    assert scenario is not None
    assert stack.cleared_at is not None
    if alert is None:
        return None
    if scenario.severity is Severity.CRITICAL:
        times = [
            event.received_monotonic
            for event in events
            if event.routing_key == stack.routing_key
            and event.event_action == "resolve"
            and event.received_monotonic >= stack.cleared_at
            and alert in alerts_named_in(page_text(event), names)
        ]
    else:
        times = [
            note.received_monotonic
            for note in notes
            if note.path == stack.ticket_path
            and note.status == "resolved"
            and note.received_monotonic >= stack.cleared_at
            and alert in note.alert_names
        ]
    return min(times, default=None)


def _result(
    stack: LabStack, events: tuple[PagerDutyEvent, ...], names: frozenset[str], timing: LabTiming, monitor_key: str = ""
) -> ScenarioResult:
    scenario = stack.scenario
    assert scenario is not None
    assert stack.fault_at is not None
    delay = timing.notification_delay_seconds
    mttd = None if stack.detected_at is None else round(stack.detected_at - stack.fault_at + delay, 1)
    later = later_alerts(stack, events, names, delay)
    # Incidents the stack's outage opened: its own pages, or for a stopped path the switch's.
    keys = {
        event.dedup_key
        for event in events
        if event.event_action == "trigger"
        and event.received_monotonic >= stack.fault_at
        and (
            event.routing_key == stack.routing_key
            if not scenario.deadman
            else event.routing_key == monitor_key and watched_stack(event) == stack.name
        )
    }
    resolved = None
    if stack.resolved_at is not None and stack.cleared_at is not None:
        resolved = round(stack.resolved_at - stack.cleared_at, 1)
    return ScenarioResult(
        scenario=scenario.name,
        fault=scenario.description,
        expected_alerts=scenario.expected_alerts,
        detected_by=stack.detected_by,
        severity=scenario.severity.value,
        target_seconds=scenario.target_seconds,
        mttd_seconds=mttd,
        resolved_seconds=resolved,
        later_alerts_seconds=later,
        incidents=len(keys),
    )


def later_alerts(
    stack: LabStack, events: tuple[PagerDutyEvent, ...], names: frozenset[str], delay: float
) -> dict[str, float]:
    """Each expected alert but the detecting one: seconds from the fault to the first page event
    of the stack naming it (the page, or the update of the open incident it joined)."""
    scenario = stack.scenario
    assert scenario is not None
    assert stack.fault_at is not None
    later: dict[str, float] = {}
    for event in events:
        if event.routing_key != stack.routing_key or event.event_action != "trigger":
            continue
        if event.received_monotonic < stack.fault_at:
            continue
        for alert in alerts_named_in(page_text(event), names):
            if alert in scenario.expected_alerts and alert != stack.detected_by and alert not in later:
                later[alert] = round(event.received_monotonic - stack.fault_at + delay, 1)
    return later


def false_pages(
    stacks: list[LabStack],
    events: tuple[PagerDutyEvent, ...],
    names: frozenset[str],
    control_started: float,
    monitor_key: str | None = None,
) -> tuple[FalsePage, ...]:
    """Pages nobody should have got: any from the control stack, any before a stack's fault, any
    for an alert its scenario does not expect (a warning scenario expects no page), any of the dead
    man's switch but for a stack whose path the lab stopped. One per incident."""
    by_key = {stack.routing_key: stack for stack in stacks}
    by_name = {stack.name: stack for stack in stacks}
    seen: set[tuple[str, str]] = set()
    found = []
    for event in events:
        if event.routing_key == monitor_key:
            if event.event_action != "trigger" or ("switch", event.dedup_key) in seen:
                continue
            seen.add(("switch", event.dedup_key))
            watched = by_name.get(watched_stack(event) or "")
            scenario = watched.scenario if watched else None
            if (
                watched is None
                or scenario is None
                or not scenario.deadman
                or watched.fault_at is None
                or event.received_monotonic < watched.fault_at
            ):
                at = event.received_monotonic - control_started
                found.append(
                    FalsePage(
                        watched.name if watched else "?",
                        (DEADMAN_CHECK.name,),
                        round(at, 1),
                        "the dead man's switch paged for a stack whose path runs",
                    )
                )
            continue
        stack = by_key[event.routing_key]
        if event.event_action != "trigger" or (stack.name, event.dedup_key) in seen:
            continue
        seen.add((stack.name, event.dedup_key))
        paged = alerts_named_in(page_text(event), names)
        scenario = stack.scenario
        if scenario is None:
            at, reason = event.received_monotonic - control_started, "page from the healthy control stack"
        else:
            assert stack.fault_at is not None
            at = event.received_monotonic - stack.fault_at
            expected = set(scenario.expected_alerts) | scenario.related_alerts
            if at < 0:
                reason = "page during the healthy baseline, before the fault"
            elif scenario.severity is not Severity.CRITICAL or not paged or not set(paged) <= expected:
                reason = f"page for an alert the {scenario.name} scenario does not expect"
            else:
                continue
        found.append(FalsePage(stack.name, paged, round(at, 1), reason))
    return tuple(found)
