"""The dead man's switch of the alerting path: what proves, from outside that path, that the rule
evaluator evaluates, that its results reach Managed Prometheus, and that Alertmanager delivers.

The rule path (rule evaluator -> Alertmanager -> PagerDuty) cannot report its own death. Its signals
are therefore checked by Cloud Monitoring, as one alert policy (`AlertingPathDown`) that pages
through Cloud Monitoring's own PagerDuty channel (components/alert_policies.py) and shares nothing
with the path but PagerDuty itself:

- the evaluator's heartbeat: the evaluator records `omni:alerting_path:heartbeat` every
  evaluation. The rule evaluator sends every query, `vector(1)` included, to Managed Prometheus
  and writes every result back through the ingestion API, so the series stops when the
  evaluator stops, cannot query, or cannot write: evaluator down and ingestion down page here.
- Alertmanager's heartbeat: the always-firing `Watchdog` goes from the evaluator to
  Alertmanager, which delivers it every minute to the heartbeat receiver; its counters of
  webhook notifications sent and failed are scraped into Managed Prometheus. No delivered
  heartbeat for 3 minutes (or no counters at all) pages: Alertmanager down, the evaluator no
  longer reaching it, or its dispatcher stuck.
- Alertmanager's PagerDuty deliveries: Alertmanager failed to deliver to PagerDuty (a bad routing key,
  no egress): the pages it holds cannot reach anyone.

The check is data (a PromQL condition and a duration), so the lab evaluates the very same
condition in its stand-in for Cloud Monitoring (docs/lab.md, "The dead man's switch").
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.model import RUNBOOK_BASE_URL, RecordingRule, RuleGroup

HEARTBEAT_SERIES = "omni:alerting_path:heartbeat"
HEARTBEAT_GROUP = "alerting-path"
# How long a heartbeat may be missing before a signal holds: four evaluations at the stack's 30 s
# interval, two Watchdog deliveries (one a minute); the check's `for` then rides out a restart.
SILENCE_WINDOW = "2m"


def heartbeat_rule_group() -> RuleGroup:
    """The evaluator's own rule group: one series, always 1, recorded at every evaluation."""
    return RuleGroup(HEARTBEAT_GROUP, (RecordingRule(HEARTBEAT_SERIES, "vector(1)"),))


def production_rule_files(groups: tuple[RuleGroup, ...]) -> dict[str, str]:
    """The rule files the evaluator loads, and the lab too: the rules' files exactly as rendered
    for the promtool tests, plus the heartbeat group the dead man's switch reads."""
    from alerts.render import render_rule_files

    return render_rule_files((*groups, heartbeat_rule_group()))


@dataclass(frozen=True)
class DeadmanSignal:
    """One way the rule path is seen to be dead: a PromQL query that returns a series then."""

    name: str
    query: str
    meaning: str


def _delivered_heartbeats(window: str) -> str:
    return (
        f'sum(increase(alertmanager_notifications_total{{integration="webhook"}}[{window}]))'
        f' - sum(increase(alertmanager_notifications_failed_total{{integration="webhook"}}[{window}]))'
    )


DEADMAN_SIGNALS: tuple[DeadmanSignal, ...] = (
    DeadmanSignal(
        "evaluator heartbeat missing",
        f"absent_over_time({HEARTBEAT_SERIES}[{SILENCE_WINDOW}])",
        "the rule evaluator is down, cannot query Managed Prometheus, or cannot write to it (ingestion down)",
    ),
    DeadmanSignal(
        "Alertmanager heartbeat not delivered",
        f"({_delivered_heartbeats(SILENCE_WINDOW)}) < 1",
        "Alertmanager no longer gets the Watchdog from the evaluator, or its notification pipeline is stuck",
    ),
    DeadmanSignal(
        "Alertmanager metrics missing",
        f'absent_over_time(alertmanager_notifications_total{{integration="webhook"}}[{SILENCE_WINDOW}])',
        "Alertmanager is down (or the alerting instance's collector is)",
    ),
    DeadmanSignal(
        "Alertmanager cannot reach PagerDuty",
        'sum(increase(alertmanager_notifications_failed_total{integration="pagerduty"}[10m])) > 0',
        "pages fail to reach PagerDuty: a rejected routing key, or no egress to events.pagerduty.com",
    ),
)


@dataclass(frozen=True)
class DeadmanCheck:
    """The dead man's switch as one alert: any signal fires it. One condition, so one incident
    (every signal's result has no labels): evaluator down also stops the Watchdog, and must not
    page a second time for it."""

    name: str
    signals: tuple[DeadmanSignal, ...]
    duration: str
    """How long a signal must hold before it pages: rides out one late evaluation or write."""
    summary: str

    @property
    def query(self) -> str:
        """Every signal summed to one series without labels, so that whichever holds, Cloud
        Monitoring sees the same time series, hence one incident."""
        return "\nor\n".join(f"sum({signal.query})" for signal in self.signals)

    @property
    def description(self) -> str:
        causes = "; ".join(f"{signal.name}: {signal.meaning}" for signal in self.signals)
        return (
            "The alerting path (rule evaluator, Alertmanager, PagerDuty) is not working, so no alert of "
            f"the rules can page. Seen by Cloud Monitoring, outside that path. Possible signals: {causes}."
        )

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOK_BASE_URL}/{self.name}.md"


DEADMAN_CHECK = DeadmanCheck(
    name="AlertingPathDown",
    signals=DEADMAN_SIGNALS,
    # Longer than a fresh Alertmanager takes to deliver its first heartbeat (the Watchdog's `for`
    # and one flush, about 90 s): a new or restarted alerting instance never pages.
    duration="2m",
    summary="The alerting path is down: the rule evaluator or Alertmanager stopped, or ingestion did.",
)
