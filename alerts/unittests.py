"""promtool unit tests derived from each alert's scenario (`promtool test rules`).

One test file per alert (name and severity): its rule file, the scenario's input series, and two
checks on the `for` boundary, as kubernetes-mixin's tests do: one step before `onset + for` the
alert is silent (pending does not count), one step after it fires with its exact labels and
annotations. promtool expands the annotation templates, so the expected text is expanded here
with the same functions (`$labels.x`, `$value`, `humanize`, `humanizePercentage`).
"""

from __future__ import annotations

import math
import re
from typing import Any

from alerts.model import AlertRule, AlertScenario, RuleGroup
from alerts.rules import rule_file_name
from observability.durations import format_duration, parse_duration

# Test files sit in tests/ next to rules/ under the output directory.
RULES_FROM_TESTS = "../rules"

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_LABEL = re.compile(r"^\$labels\.(\w+)$")
_VALUE = re.compile(r"^\$value(?:\s*\|\s*(humanize|humanizePercentage))?$")


def unit_test_file_name(alert: AlertRule) -> str:
    return f"{alert.name}-{alert.severity.value}.test.yml"


def _go_g4(value: float) -> str:
    """Go's fmt "%.4g", which Python's ".4g" matches for finite numbers."""
    return format(value, ".4g")


def humanize(value: float) -> str:
    """Prometheus's `humanize`: 4 significant digits with an SI prefix (1500 -> 1.5k, 0.25 -> 250m)."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _go_g4(value)
    prefix = ""
    if abs(value) >= 1:
        for candidate in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = candidate, value / 1000
        return _go_g4(value) + prefix
    for candidate in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = candidate, value * 1000
    return _go_g4(value) + prefix


def humanize_percentage(value: float) -> str:
    return _go_g4(value * 100) + "%"


def expand_template(text: str, labels: dict[str, str], value: float | None) -> str:
    """The annotation as Prometheus renders it; an unsupported template action is an error, so
    a new kind of annotation cannot silently make the expectation wrong."""

    def action(match: re.Match[str]) -> str:
        body = match.group(1).strip()
        if label := _LABEL.fullmatch(body):
            if label.group(1) not in labels:
                # Prometheus would render an empty string: the annotation is broken, not the test.
                raise ValueError(f"{text!r} shows $labels.{label.group(1)}, which the alert's series do not carry")
            return labels[label.group(1)]
        if found := _VALUE.fullmatch(body):
            if value is None:
                raise ValueError(f"the annotation shows $value but the scenario gives no value: {text!r}")
            function = found.group(1)
            if function == "humanize":
                return humanize(value)
            if function == "humanizePercentage":
                return humanize_percentage(value)
            return repr(value) if value != int(value) else str(int(value))  # Go prints a float64 shortest-first
        raise ValueError(f"template action {{{{{body}}}}} is not supported by the test generator: {text!r}")

    return _TEMPLATE.sub(action, text)


def expected_alert(alert: AlertRule, scenario: AlertScenario) -> dict[str, Any]:
    """promtool's `exp_alerts` entry: labels without alertname (promtool adds it), annotations expanded."""
    labels = {**scenario.series_labels, **alert.labels, "severity": alert.severity.value}
    # Templates see the series' labels only: the rule's own labels are added after expansion.
    return {
        "exp_labels": labels,
        "exp_annotations": {
            "summary": expand_template(alert.summary, scenario.series_labels, scenario.value),
            "description": expand_template(alert.description, scenario.series_labels, scenario.value),
            "runbook_url": alert.runbook_url,
        },
    }


def _firing_at(alert: AlertRule, siblings: tuple[AlertRule, ...], time: int) -> list[dict[str, Any]]:
    """Every alert of this name firing at `time` under the alert's scenario, in severity order."""
    scenario = alert.scenario
    assert scenario is not None
    firing = []
    for rule in (alert, *siblings):
        onset = scenario.onset_seconds if rule is alert else scenario.sibling_onsets.get(rule.severity)
        if onset is not None and time - onset >= parse_duration(rule.for_):
            firing.append(expected_alert(rule, scenario))
    return sorted(firing, key=lambda entry: entry["exp_labels"]["severity"])


def unit_test(alert: AlertRule, group: RuleGroup) -> dict[str, Any]:
    """The promtool test file of one alert, as data."""
    scenario = alert.scenario
    if scenario is None:
        raise ValueError(f"{alert.name}: no scenario, so no promtool test")
    step = scenario.step_seconds
    boundary = scenario.onset_seconds + parse_duration(alert.for_)
    siblings = tuple(rule for rule in group.alerts if rule.name == alert.name and rule is not alert)
    checks = []
    for time in (boundary - step, boundary + step):
        checks.append(
            {
                "eval_time": format_duration(time),
                "alertname": alert.name,
                "exp_alerts": _firing_at(alert, siblings, time),
            }
        )
    return {
        "rule_files": [f"{RULES_FROM_TESTS}/{rule_file_name(group)}"],
        "evaluation_interval": format_duration(step),
        "tests": [
            {
                "name": f"{alert.name} ({alert.severity.value}) fires {alert.for_} after its condition holds",
                "interval": format_duration(step),
                "input_series": [{"series": series.series, "values": series.values} for series in scenario.input_series],
                "alert_rule_test": checks,
            }
        ],
    }


def unit_tests(groups: tuple[RuleGroup, ...]) -> dict[str, dict[str, Any]]:
    """File name -> promtool test file, one per alert."""
    return {unit_test_file_name(alert): unit_test(alert, group) for group in groups for alert in group.alerts}
