"""An SLO's rule group: its error-ratio recording rules and its multi-window, multi-burn-rate
alerts (Google SRE workbook; the shape Sloth and kube-prometheus's `KubeAPIErrorBudgetBurn` use).

Each SLO gets one alert name with two severities, as Sloth does: critical (page) when either page
window pair burns too fast, warning (ticket) when either ticket pair does. Same name, same `slo`
label: Alertmanager's "critical inhibits warning with equal alertname and slo" holds by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from alerts.model import AlertRule, AlertScenario, InputSeries, RecordingRule, RuleGroup, Severity
from alerts.slo import BURN_RATE_WINDOWS, ERROR_RATIO_WINDOWS, SLO, SLOS, BurnRateWindow
from observability import catalogue as m
from observability.durations import parse_duration

# How long a burn must last before it notifies. The short window already requires the burn to be
# happening now, so `for` only rides out a one-evaluation glitch (a missed scrape, a counter
# reset). Pages: 30 s, two evaluations at a 15 s interval; a full outage of the 99.9% SLO crosses
# 14.4x over 1h after 52 s, so with Alertmanager's 10 s group_wait it pages in about 1.5 minutes
# even with an hour of healthy history. Tickets: 15 m, nobody reads a ticket sooner, and it keeps
# a slow burn that stops within minutes from opening one.
FOR_BY_SEVERITY = {Severity.CRITICAL: "30s", Severity.WARNING: "15m"}

# Step of the promtool scenarios, equal to `for`: the alert is checked pending at its onset and
# firing one `for` + step later. Coarse enough that the history filling the long windows (6 h,
# 3 d) stays a few hundred evaluations: the 30-day recording rule makes each one cost its
# history, so the run grows with the square of the steps (15 s steps took 4 s per SLO).
TEST_STEP_BY_SEVERITY = {Severity.CRITICAL: 30, Severity.WARNING: 900}


@dataclass(frozen=True)
class CounterTraffic:
    """A counter of the SLI's input and how much it grows per test step, healthy and while failing."""

    series: str
    healthy_increment: int
    failing_increment: int


# The SLI's input series for the promtool scenarios: 10 events per step, all good while healthy
# and all bad while failing (so the error ratio over a window is the failing share of that window).
SLI_TEST_TRAFFIC: dict[str, tuple[CounterTraffic, ...]] = {
    "api-availability": (
        CounterTraffic(f'{m.HTTP_REQUESTS.name}{{service="api",code="200"}}', 10, 0),
        CounterTraffic(f'{m.HTTP_REQUESTS.name}{{service="api",code="503"}}', 0, 10),
    ),
    "api-latency": (
        CounterTraffic(f'{m.HTTP_REQUEST_DURATION.bucket}{{service="api",le="{m.LATENCY_SLO_BUCKET}"}}', 10, 0),
        CounterTraffic(f'{m.HTTP_REQUEST_DURATION.count}{{service="api"}}', 10, 10),
    ),
    "celery-task-success": (
        CounterTraffic(f'{m.CELERY_TASKS.name}{{service="worker",state="succeeded"}}', 10, 0),
        CounterTraffic(f'{m.CELERY_TASKS.name}{{service="worker",state="failed"}}', 0, 10),
    ),
}


def camel_case(kebab: str) -> str:
    return "".join(part.capitalize() for part in kebab.split("-"))


def burn_alert_name(slo: SLO) -> str:
    return f"{camel_case(slo.name)}ErrorBudgetBurn"


def burn_threshold(slo: SLO, window: BurnRateWindow) -> float:
    """The error ratio that burns the budget `factor` times too fast (rounded off float noise)."""
    return round(window.factor * slo.error_budget, 12)


def _windows(severity: Severity) -> tuple[BurnRateWindow, ...]:
    return tuple(window for window in BURN_RATE_WINDOWS if window.severity == severity.value)


def _burn_condition(slo: SLO, severity: Severity, ratio_over) -> str:
    """`(long > t and short > t) or (...)` for the severity's window pairs."""
    pairs = []
    for window in _windows(severity):
        threshold = repr(burn_threshold(slo, window))
        pairs.append(
            f"(\n  {ratio_over(window.long_window)} > {threshold}\nand\n  {ratio_over(window.short_window)} " f"> {threshold}\n)"
        )
    return "\nor\n".join(pairs)


def _standalone_condition(slo: SLO, severity: Severity) -> str:
    """The condition from raw series. The recorded ratios carry `slo` and `service`, which the
    annotations show; the raw `sum()` has no labels, so they are put back on."""
    condition = _burn_condition(slo, severity, lambda window: f"({slo.error_ratio_query(window)})")
    with_slo = f'label_replace(\n{condition}\n, "slo", "{slo.name}", "", "")'
    return f'label_replace({with_slo}, "service", "{slo.service}", "", "")'


def recording_rules(slo: SLO) -> tuple[RecordingRule, ...]:
    labels = {"slo": slo.name, "service": slo.service}
    return tuple(
        RecordingRule(record=slo.error_ratio_record(window), expr=slo.error_ratio_query(window), labels=labels)
        for window in ERROR_RATIO_WINDOWS
    )


def burn_rate_alert(slo: SLO, severity: Severity) -> AlertRule:
    windows = _windows(severity)
    explained = " or ".join(
        f"{window.factor:g}x over {window.long_window} and {window.short_window} ({window.budget_spent})" for window in windows
    )
    consequence = "Page: users are failing now." if severity is Severity.CRITICAL else "Ticket: fix it this week."
    return AlertRule(
        name=burn_alert_name(slo),
        expr=_burn_condition(slo, severity, slo.error_ratio_series),
        for_=FOR_BY_SEVERITY[severity],
        severity=severity,
        summary="SLO {{ $labels.slo }} of {{ $labels.service }} is burning its error " f"budget {'fast' if severity is Severity.CRITICAL else 'steadily'}.",
        description=(
            f"{slo.description} The error ratio of SLO {{{{ $labels.slo }}}} burns the {slo.objective:g} objective's "
            f"budget {explained}. {consequence}"
        ),
        labels={"slo": slo.name, "service": slo.service},
        standalone_expr=_standalone_condition(slo, severity),
        scenario=burn_scenario(slo, severity),
    )


def slo_rule_group(slo: SLO) -> RuleGroup:
    """Recording rules first: Prometheus evaluates a group's rules in order, so the alerts read
    ratios of the same evaluation (no one-interval lag, which the 2-minute paging target needs)."""
    alerts = tuple(burn_rate_alert(slo, severity) for severity in (Severity.CRITICAL, Severity.WARNING))
    return RuleGroup(name=f"slo-{slo.name}", rules=recording_rules(slo) + alerts)


def slo_rule_groups() -> tuple[RuleGroup, ...]:
    return tuple(slo_rule_group(slo) for slo in SLOS)


# --- the promtool scenario: healthy history that fills the windows, then a total failure ------


def _first_step_over(
    slo: SLO, windows: tuple[BurnRateWindow, ...], step: int, history_steps: int, last_step: int
) -> int | None:
    """The first step after the failure starts at which any window pair is over its threshold.

    With every event bad from the failure on and a constant event rate, the error ratio over a
    window of W steps, n steps into the failure, is exactly min(n, W) / min(W, H + n) after H
    steps of healthy history (samples sit on the window's edges or the counters start at 0, so
    rate() does not extrapolate and good/total cancels). Computed in exact fractions; a tie
    with the threshold would make the test depend on float rounding.
    """
    for n in range(1, last_step + 1):
        # Evaluated twice, counting a tie as over and as not over: it matters only if they differ.
        verdicts = set()
        for tie_is_over in (False, True):
            holds = []
            for window in windows:
                threshold = Fraction(repr(burn_threshold(slo, window)))
                over = []
                for length in (window.long_window, window.short_window):
                    steps = parse_duration(length) // step
                    if steps == 0:  # a window shorter than the step holds one sample: rate() is empty
                        over.append(False)
                        continue
                    ratio = Fraction(min(n, steps), min(steps, history_steps + n))
                    over.append(ratio > threshold or (tie_is_over and ratio == threshold))
                holds.append(all(over))
            verdicts.add(any(holds))
        if len(verdicts) > 1:
            raise ValueError(f"{slo.name}: a test ratio equals its threshold at step {n}; change the test step")
        if verdicts == {True}:
            return n
    return None


def burn_scenario(slo: SLO, severity: Severity) -> AlertScenario:
    step = TEST_STEP_BY_SEVERITY[severity]
    windows = _windows(severity)
    history_steps = max(parse_duration(window.long_window) for window in windows) // step
    onset_steps = _first_step_over(slo, windows, step, history_steps, history_steps)
    if onset_steps is None:
        raise ValueError(f"{slo.name}: a total failure never crosses the {severity.value} thresholds")
    failing_steps = onset_steps + parse_duration(FOR_BY_SEVERITY[severity]) // step + 2
    last_checked = (history_steps + failing_steps) * step

    siblings = {}
    for other in (Severity.CRITICAL, Severity.WARNING):
        if other is severity:
            continue
        other_onset = _first_step_over(slo, _windows(other), step, history_steps, failing_steps)
        if other_onset is not None and (history_steps + other_onset) * step <= last_checked:
            siblings[other] = (history_steps + other_onset) * step

    series = []
    for counter in SLI_TEST_TRAFFIC[slo.name]:
        healthy_end = counter.healthy_increment * history_steps
        first_failing = healthy_end + counter.failing_increment
        values = (
            f"0+{counter.healthy_increment}x{history_steps} "
            f"{first_failing}+{counter.failing_increment}x{failing_steps - 1}"
        )
        series.append(InputSeries(counter.series, values))
    return AlertScenario(
        input_series=tuple(series),
        step_seconds=step,
        onset_seconds=(history_steps + onset_steps) * step,
        series_labels={"slo": slo.name, "service": slo.service},
        sibling_onsets=siblings,
    )

