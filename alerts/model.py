"""The data every alerting artifact is rendered from: alert and recording rules in groups.

Prometheus rule files, the promtool tests' expectations, the Alertmanager routes and the Cloud
Monitoring alert policies all read these objects; none of them is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# Where `docs/runbooks/<AlertName>.md` is published; alerts link there.
RUNBOOK_BASE_URL = "https://github.com/omni-platform/omni-infra/blob/main/docs/runbooks"


class Severity(StrEnum):
    CRITICAL = "critical"  # pages the on-call engineer now (PagerDuty)
    WARNING = "warning"  # opens a ticket for working hours
    INFO = "info"  # context for troubleshooting; notifies nobody


@dataclass(frozen=True)
class InputSeries:
    """One input series of a promtool test: a selector and its values in promtool's notation."""

    series: str  # 'omni_celery_queue_length{service="worker",queue="default"}'
    values: str  # "0+10x120": starts at 0, grows by 10 each step, 121 samples


@dataclass(frozen=True)
class AlertScenario:
    """The data that makes an alert's condition hold, and what the alert then looks like.

    promtool evaluates the rules every `step_seconds` over `input_series` (sampled at the same
    step); the condition holds from `onset_seconds` on, so the alert must be silent at
    onset + for - step and firing at onset + for + step.
    """

    input_series: tuple[InputSeries, ...]
    step_seconds: int
    onset_seconds: int
    series_labels: dict[str, str] = field(default_factory=dict)  # labels the alert gets from its series
    value: float | None = None  # `$value` once firing, when an annotation shows it
    # Onsets of the alert's same-name siblings (other severities) under this data, when they fire too.
    sibling_onsets: dict[Severity, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertRule:
    name: str  # CamelCase; unique per severity: "ApiAvailabilityErrorBudgetBurn" (critical and warning)
    expr: str  # PromQL; may read this project's recording rules
    for_: str  # how long `expr` must hold before the alert fires: "2m"
    severity: Severity
    summary: str  # one line, templated with the alert's labels
    description: str  # what is happening and its impact, templated with labels and $value
    labels: dict[str, str] = field(default_factory=dict)  # besides severity
    # The same condition without recording rules, for evaluators that have none (Cloud
    # Monitoring's PromQL alert policies on Cloud Run); None when `expr` reads raw series only.
    standalone_expr: str | None = None
    # Input series under which `expr` holds: the promtool unit test of this alert is made from it.
    scenario: AlertScenario | None = None

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOK_BASE_URL}/{self.name}.md"

    @property
    def expr_without_recording_rules(self) -> str:
        return self.standalone_expr or self.expr


@dataclass(frozen=True)
class RecordingRule:
    record: str  # level:metric:operations, as the Prometheus naming guide says
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[AlertRule | RecordingRule, ...]
    interval: str | None = None  # evaluation interval; None keeps Prometheus's global one

    @property
    def alerts(self) -> tuple[AlertRule, ...]:
        return tuple(rule for rule in self.rules if isinstance(rule, AlertRule))

    @property
    def recording_rules(self) -> tuple[RecordingRule, ...]:
        return tuple(rule for rule in self.rules if isinstance(rule, RecordingRule))
