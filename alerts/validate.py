"""The lint of alert rules, run before anything is written: PromQL that parses, only catalogued
series or recording rules of these groups, mixtool's naming and templating rules, a runbook
per alert, `for` as a Prometheus duration, one alert per (name, severity).

Pure functions over rule objects; every problem names the alert and what to change.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from alerts.model import AlertRule, RecordingRule, RuleGroup, Severity
from observability import catalogue
from observability.durations import is_duration
from observability.promql import PromQLError, selectors

# docs/runbooks/ of this checkout: AlertRule.runbook_url points at its published copy.
RUNBOOK_DIR = Path(__file__).resolve().parent.parent / "docs" / "runbooks"

CAMEL_CASE = re.compile(r"^(?:[A-Z][a-z0-9]+)+$")
TEMPLATED_LABEL = re.compile(r"\{\{\s*\$labels\.\w+\s*\}\}")


@dataclass(frozen=True)
class RuleProblem:
    rule: str  # the alert's name (and severity), or the recording rule's name
    problem: str  # what is wrong and what to change

    def __str__(self) -> str:
        return f"{self.rule}: {self.problem}"


class AlertRuleError(ValueError):
    """Rules that must not be rendered; the message lists every problem, one a line."""

    def __init__(self, problems: list[RuleProblem]):
        super().__init__("alert rules are invalid:\n" + "\n".join(f"- {problem}" for problem in problems))
        self.problems = problems


def _query_problems(expr: str, known_series: set[str]) -> list[str]:
    try:
        found = selectors(expr)
    except PromQLError as error:
        return [f"its query does not parse ({error.reason}); fix the PromQL"]
    return [
        f"its query reads {selector.series!r}, which is neither in observability/catalogue.py nor a recording rule "
        "of these groups; use a catalogue metric (or add it there)"
        for selector in found
        if selector.series and selector.series not in known_series
    ]


def _alert_problems(alert: AlertRule, known_series: set[str], runbook_dir: Path) -> list[str]:
    problems = []
    if not CAMEL_CASE.fullmatch(alert.name):
        problems.append(
            "the name must be CamelCase (`CloudSqlDiskNearlyFull`): capital first, no dashes or underscores"
        )
    if not isinstance(alert.severity, Severity):
        problems.append("it has no severity; set severity to Severity.CRITICAL (pages), WARNING (ticket) or INFO")
    if "severity" in alert.labels:
        problems.append("set the severity with the `severity` field, not in labels")
    if not is_duration(alert.for_):
        problems.append(f"`for` {alert.for_!r} is not a Prometheus duration; write it like 30s, 5m or 1h")
    for field in ("summary", "description"):
        text = getattr(alert, field)
        if not text or not text.strip():
            problems.append(f"the {field} is empty; say what is wrong, templated with a label")
        elif not TEMPLATED_LABEL.search(text):
            problems.append(f"the {field} is not templated with a label; include one like {{{{ $labels.service }}}}")
    problems += _query_problems(alert.expr, known_series)
    if alert.standalone_expr is not None:
        problems += [f"standalone_expr: {problem}" for problem in _query_problems(alert.standalone_expr, known_series)]
    if not (runbook_dir / f"{alert.name}.md").is_file():
        problems.append(
            f"its runbook is missing; write {runbook_dir / (alert.name + '.md')} (what to check, what to do)"
        )
    if alert.scenario is None:
        problems.append("it has no scenario, so no promtool test; give it the input series that make it fire")
    return problems


def rule_problems(groups: tuple[RuleGroup, ...], runbook_dir: Path = RUNBOOK_DIR) -> list[RuleProblem]:
    """Everything wrong with these groups, in rule order; empty when they may be rendered."""
    problems: list[RuleProblem] = []
    recorded = {rule.record for group in groups for rule in group.recording_rules}
    known_series = set(catalogue.BY_SERIES) | recorded
    for group in groups:
        for rule in group.rules:
            if isinstance(rule, RecordingRule):
                problems += [RuleProblem(rule.record, problem) for problem in _query_problems(rule.expr, known_series)]
            else:
                severity = getattr(rule.severity, "value", "no severity")
                name = f"{rule.name} ({severity})"
                problems += [RuleProblem(name, problem) for problem in _alert_problems(rule, known_series, runbook_dir)]
    keys = Counter((alert.name, alert.severity) for group in groups for alert in group.alerts)
    for (name, severity), count in sorted(keys.items(), key=lambda item: item[0][0]):
        if count > 1:
            problems.append(
                RuleProblem(
                    name,
                    f"{count} alerts share the name and severity {getattr(severity, 'value', severity)}; merge "
                    "them or rename one",
                )
            )
    return problems


def check_rules(groups: tuple[RuleGroup, ...], runbook_dir: Path = RUNBOOK_DIR) -> None:
    """Raise AlertRuleError listing every problem; return quietly when the rules are sound."""
    problems = rule_problems(groups, runbook_dir)
    if problems:
        raise AlertRuleError(problems)
