"""promtool unit tests derived from each alert's scenario and probe (`promtool test rules`).

One test file per alert (name and severity): its rule file and

- the scenario's input series with two checks on the `for` boundary, as kubernetes-mixin's tests
  do: one step before `onset + for` the alert is silent (pending does not count), at `onset + for`
  it fires with its exact labels and annotations. So a `for` doubled fails, and so does one
  halved, unless the half rounds to the same number of evaluations (then it is the same rule).
  promtool expands the annotation templates, so the expected text is expanded here with the same
  functions (`$labels.x`, `$value`, `humanize`, `humanizePercentage`);
- the probe's threshold tests: silent under healthy non-zero traffic and just below the
  threshold (5% off, or the next whole number for counts), firing just above it, and for a
  traffic guard, silent just under the guard's traffic and firing just over it.

The threshold tests take the threshold as an argument: rendered from the rule's own, they pin
the rule files to the objects; tests/alert_spec.py renders them from reviewed literals instead.
"""

from __future__ import annotations

import math
import re
from typing import Any

from alerts.model import AlertRule, AlertScenario, RuleGroup, SignalProbe
from alerts.rules import rule_file_name
from observability.durations import format_duration, parse_duration

# Test files sit in tests/ next to rules/ under the output directory.
RULES_FROM_TESTS = "../rules"

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_LABEL = re.compile(r"^\$labels\.(\w+)$")
_VALUE = re.compile(r"^\$value(?:\s*\|\s*(humanize|humanizePercentage))?$")


def unit_test_file_name(alert: AlertRule) -> str:
    return f"{alert.name}-{alert.severity.value}.test.yml"


def window_test_file_name(alert: AlertRule) -> str:
    """The window-pair tests of a multi-window alert: a file of their own, for their coarser step."""
    return f"{alert.name}-{alert.severity.value}.windows.test.yml"


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


# How far off the threshold "just below" and "just above" are, as a share of it. Smaller than
# any change worth catching (a threshold 20% more or less sensitive fails these tests).
THRESHOLD_MARGIN = 0.05


def probe_levels(probe: SignalProbe, threshold: float, op: str | None = None) -> tuple[float, float]:
    """(a level just on the silent side of `threshold`, a level just past it). `op` is the
    comparison (">", ">=", "<", "<="), by default the probe's own."""
    above = probe.above if op is None else op.startswith(">")
    inclusive = probe.inclusive if op is None else op.endswith("=")
    if probe.integer:
        past = threshold if inclusive else threshold + (1 if above else -1)
        silent = past - 1 if above else past + 1
        return silent, past
    if threshold == 0:
        # A rate above zero: the smallest positive level worth an alert, in the signal's unit.
        return 0.0, THRESHOLD_MARGIN
    low, high = threshold * (1 - THRESHOLD_MARGIN), threshold * (1 + THRESHOLD_MARGIN)
    return (low, high) if above else (high, low)


def _alerts_query(alert: AlertRule) -> str:
    return f'ALERTS{{alertname="{alert.name}",alertstate="firing",severity="{alert.severity.value}"}}'


def _firing_sample(alert: AlertRule, labels: dict[str, str]) -> dict[str, Any]:
    every = {
        "alertname": alert.name,
        "alertstate": "firing",
        **labels,
        **alert.labels,
        "severity": alert.severity.value,
    }
    text = ",".join(f'{name}="{value}"' for name, value in sorted(every.items()))
    return {"labels": f"ALERTS{{{text}}}", "value": 1}


def threshold_tests(
    alert: AlertRule,
    threshold: float | None = None,
    for_: str | None = None,
    guard_threshold: float | None = None,
    op: str | None = None,
) -> list[dict[str, Any]]:
    """The probe's tests, at `threshold` (default: the rule's own, compared with `op`) after `for_`
    (default: the rule's). Past the threshold, the alert is also checked pending one step before
    `onset + for` and firing at it."""
    probe = alert.probe
    if probe is None:
        return []
    threshold = probe.threshold if threshold is None else threshold
    step = probe.step_seconds
    hold = parse_duration(for_ or alert.for_)
    eval_time = format_duration(probe.settle_seconds + hold + 2 * step)
    silent_level, past_level = probe_levels(probe, threshold, op)
    firing = [_firing_sample(alert, probe.labels)]
    boundary = probe.onset_seconds + hold
    boundary_checks = [
        {"expr": _alerts_query(alert), "eval_time": format_duration(boundary - step), "exp_samples": []},
        {"expr": _alerts_query(alert), "eval_time": format_duration(boundary), "exp_samples": firing},
    ]
    cases: list[tuple[str, float, float, list[dict[str, Any]]]] = [
        (f"healthy: {probe.healthy:g}", probe.healthy, probe.traffic, []),
        (f"just short of the threshold {threshold:g}: {silent_level:g}", silent_level, probe.traffic, []),
        (f"just past the threshold {threshold:g}: {past_level:g}", past_level, probe.traffic, firing),
    ]
    if probe.guard is not None:
        guard = probe.guard.threshold if guard_threshold is None else guard_threshold
        for share, expected in ((1 - THRESHOLD_MARGIN, []), (1 + THRESHOLD_MARGIN, firing)):
            traffic = guard * share
            cases.append(
                (
                    f"level {probe.guard.faulty_level:g} at traffic {traffic:g} (guard {guard:g})",
                    probe.guard.faulty_level,
                    traffic,
                    expected,
                )
            )
    return [
        {
            "name": f"{alert.name} ({alert.severity.value}), {name}",
            "interval": format_duration(step),
            "input_series": [
                {"series": series.series, "values": series.values} for series in probe.series(level, traffic)
            ],
            "promql_expr_test": [
                *(boundary_checks if level == past_level and traffic == probe.traffic else []),
                {"expr": _alerts_query(alert), "eval_time": eval_time, "exp_samples": expected},
            ],
        }
        for name, level, traffic, expected in cases
    ]


def window_tests(alert: AlertRule, thresholds: dict[tuple[str, str], float] | None = None) -> list[dict[str, Any]]:
    """Each window pair alone, just short of its threshold (silent) and just past it (firing).
    `thresholds` maps (long, short) to the threshold to test at (default: the rule's own)."""
    tests = []
    for probe in alert.window_probes:
        threshold = (thresholds or {}).get((probe.long_window, probe.short_window), probe.threshold)
        for share, expected in (
            (1 - THRESHOLD_MARGIN, []),
            (1 + THRESHOLD_MARGIN, [_firing_sample(alert, probe.labels)]),
        ):
            level = threshold * share
            tests.append(
                {
                    "name": f"{alert.name} ({alert.severity.value}), {probe.long_window}/{probe.short_window} "
                    f"alone at {level:g} (threshold {threshold:g})",
                    "interval": format_duration(probe.step_seconds),
                    "input_series": [
                        {"series": series.series, "values": series.values} for series in probe.series(level)
                    ],
                    "promql_expr_test": [
                        {
                            "expr": _alerts_query(alert),
                            "eval_time": format_duration(probe.eval_seconds),
                            "exp_samples": expected,
                        }
                    ],
                }
            )
    return tests


def window_test_file(alert: AlertRule, group: RuleGroup, tests: list[dict[str, Any]]) -> dict[str, Any]:
    steps = {probe.step_seconds for probe in alert.window_probes}
    if len(steps) != 1:
        raise ValueError(f"{alert.name}: window probes step by {sorted(steps)}s; use one step")
    return {
        "rule_files": [f"{RULES_FROM_TESTS}/{rule_file_name(group)}"],
        "evaluation_interval": format_duration(steps.pop()),
        "tests": tests,
    }


def unit_test(alert: AlertRule, group: RuleGroup) -> dict[str, Any]:
    """The promtool test file of one alert, as data."""
    scenario = alert.scenario
    if scenario is None:
        raise ValueError(f"{alert.name}: no scenario, so no promtool test")
    step = scenario.step_seconds
    if step > parse_duration(alert.for_):
        raise ValueError(f"{alert.name}: the scenario's step {step}s must be at most `for` {alert.for_}")
    if alert.probe is not None and alert.probe.step_seconds != step:
        raise ValueError(
            f"{alert.name}: the probe steps by {alert.probe.step_seconds}s, the scenario by {step}s; use one step"
        )
    boundary = scenario.onset_seconds + parse_duration(alert.for_)
    siblings = tuple(rule for rule in group.alerts if rule.name == alert.name and rule is not alert)
    checks = []
    for time in (boundary - step, boundary):
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
                "input_series": [
                    {"series": series.series, "values": series.values} for series in scenario.input_series
                ],
                "alert_rule_test": checks,
            },
            *threshold_tests(alert),
        ],
    }


def unit_tests(groups: tuple[RuleGroup, ...]) -> dict[str, dict[str, Any]]:
    """File name -> promtool test file: one per alert, and one more per multi-window alert."""
    files = {}
    for group in groups:
        for alert in group.alerts:
            files[unit_test_file_name(alert)] = unit_test(alert, group)
            if alert.window_probes:
                files[window_test_file_name(alert)] = window_test_file(alert, group, window_tests(alert))
    return files
