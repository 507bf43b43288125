"""An SLO's rule group: its error-ratio recording rules and its multi-window, multi-burn-rate
alerts (Google SRE workbook; the shape Sloth and kube-prometheus's `KubeAPIErrorBudgetBurn` use).

Each SLO gets one alert name with two severities, as Sloth does: critical (page) when either page
window pair burns too fast, warning (ticket) when either ticket pair does. Same name, same `slo`
label: Alertmanager's "critical inhibits warning with equal alertname and slo" holds by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from alerts.model import (
    AlertRule,
    AlertScenario,
    InputSeries,
    RecordingRule,
    RuleGroup,
    Severity,
    SignalProbe,
    WindowProbe,
)
from alerts.slo import (
    BUDGET_REMAINING_RECORD,
    BURN_RATE_WINDOWS,
    CURRENT_BURN_RATE_RECORD,
    ERROR_BUDGET_RECORD,
    ERROR_EVENTS_RECORD,
    ERROR_RATIO_WINDOWS,
    EVENTS_RECORD,
    OBJECTIVE_RECORD,
    PERIOD_BURN_RATE_RECORD,
    PERIOD_DAYS_RECORD,
    PERIOD_SOURCE_WINDOW,
    SLO,
    SLO_PERIOD,
    SLOS,
    BurnRateWindow,
)
from observability import catalogue as m
from observability.catalogue import API_WORKLOAD, WORKER_WORKLOAD
from observability.durations import parse_duration

# How long a burn must last before it notifies. The short window already requires the burn to be
# happening now, so `for` only rides out a one-evaluation glitch (a missed scrape, a counter
# reset). Pages: 30 s, two evaluations at a 15 s interval; a full outage of the 99.9% SLO crosses
# 14.4x over 1h after 52 s, so with Alertmanager's 10 s group_wait it pages in about 1.5 minutes
# even with an hour of healthy history. Tickets: 15 m, nobody reads a ticket sooner, and it keeps
# a slow burn that stops within minutes from opening one.
FOR_BY_SEVERITY = {Severity.CRITICAL: "30s", Severity.WARNING: "15m"}

# Step of the promtool scenarios: the alert is checked pending one step before `onset + for` and
# firing at it. Pages: the 30 s of production's evaluation interval (a `for` of 15 s would be the
# same rule there). Tickets: half the `for`, so a `for` halved fails too. Coarse enough that the
# history filling the long windows (6 h, 3 d) stays a few hundred evaluations.
TEST_STEP_BY_SEVERITY = {Severity.CRITICAL: 30, Severity.WARNING: 450}


@dataclass(frozen=True)
class CounterTraffic:
    """A counter of the SLI's input and how much it grows per test step, healthy and while failing."""

    series: str
    healthy_increment: int
    failing_increment: int


@dataclass(frozen=True)
class SliCounters:
    """The SLI's input counters in a test: each series and whether it counts bad, good or all events."""

    bad: str | None  # None: the bad events are all minus good (a latency histogram)
    good: str
    total: str | None  # None: the total is bad plus good

    def per_step(self, bad: float, total: float) -> tuple[tuple[str, float], ...]:
        """Each series with its increase per step, for `bad` of `total` events per step."""
        if self.total is None:
            assert self.bad is not None
            return ((self.bad, bad), (self.good, total - bad))
        return ((self.good, total - bad), (self.total, total))


_API = f'service="{API_WORKLOAD}"'
_WORKER = f'service="{WORKER_WORKLOAD}"'
SLI_TEST_COUNTERS: dict[str, SliCounters] = {
    "api-availability": SliCounters(
        bad=f'{m.HTTP_REQUESTS.name}{{{_API},code="503"}}',
        good=f'{m.HTTP_REQUESTS.name}{{{_API},code="200"}}',
        total=None,
    ),
    "api-latency": SliCounters(
        bad=None,
        good=f'{m.HTTP_REQUEST_DURATION.bucket}{{{_API},le="{m.LATENCY_SLO_BUCKET}"}}',
        total=f"{m.HTTP_REQUEST_DURATION.count}{{{_API}}}",
    ),
    "celery-task-success": SliCounters(
        bad=f'{m.CELERY_TASKS.name}{{{_WORKER},state="failed"}}',
        good=f'{m.CELERY_TASKS.name}{{{_WORKER},state="succeeded"}}',
        total=None,
    ),
}


def _scenario_traffic(slo: SLO) -> tuple[CounterTraffic, ...]:
    """10 events per step, all good while healthy and all bad while failing (so the error ratio
    over a window is the failing share of that window)."""
    healthy = dict(SLI_TEST_COUNTERS[slo.name].per_step(0, 10))
    failing = dict(SLI_TEST_COUNTERS[slo.name].per_step(10, 10))
    return tuple(CounterTraffic(series, int(healthy[series]), int(failing[series])) for series in healthy)


# Events per second in the threshold probes: enough that a ratio 5% off a threshold of 0.1% is
# whole events per step.
PROBE_EVENTS_PER_SECOND = 1000


def sli_probe_series(slo: SLO, step_seconds: int, steps: int):
    """The probe's input: the SLI's counters with the error ratio held at `level` from the start."""

    def series(level: float, traffic: float) -> tuple[InputSeries, ...]:
        total = traffic * step_seconds
        return tuple(
            InputSeries(name, f"0+{increase:g}x{steps}")
            for name, increase in SLI_TEST_COUNTERS[slo.name].per_step(level * total, total)
        )

    return series


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
            f"(\n  {ratio_over(window.long_window)} > {threshold}\nand\n  {ratio_over(window.short_window)} "
            f"> {threshold}\n)"
        )
    return "\nor\n".join(pairs)


def _standalone_condition(slo: SLO, severity: Severity) -> str:
    """The condition from raw series. The recorded ratios carry `slo` and `service`, which the
    annotations show; the raw `sum()` has no labels, so they are put back on."""
    condition = _burn_condition(slo, severity, lambda window: f"({slo.error_ratio_query(window)})")
    with_slo = f'label_replace(\n{condition}\n, "slo", "{slo.name}", "", "")'
    return f'label_replace({with_slo}, "service", "{slo.service}", "", "")'


def recording_rules(slo: SLO) -> tuple[RecordingRule, ...]:
    """Sloth's shape: metadata, the error ratio per window, the period's ratio from recorded
    5-minute event rates, and the burn rates and budget left that the SLO dashboard reads."""
    labels = {"slo": slo.name, "service": slo.service}
    selector = f'{{slo="{slo.name}"}}'
    short = PERIOD_SOURCE_WINDOW
    metadata = (
        RecordingRule(OBJECTIVE_RECORD, f"vector({slo.objective!r})", labels),
        RecordingRule(ERROR_BUDGET_RECORD, f"vector({slo.error_budget!r})", labels),
        RecordingRule(PERIOD_DAYS_RECORD, f"vector({parse_duration(SLO_PERIOD) // 86400})", labels),
    )
    events = (
        RecordingRule(ERROR_EVENTS_RECORD, f"({slo.errors.substitute(window=short)}) or vector(0)", labels),
        RecordingRule(EVENTS_RECORD, slo.total.substitute(window=short), labels),
    )
    ratios = tuple(
        RecordingRule(slo.error_ratio_record(window), slo.error_ratio_query(window), labels)
        for window in ERROR_RATIO_WINDOWS
        if window != SLO_PERIOD
    )
    period = RecordingRule(
        slo.error_ratio_record(SLO_PERIOD),
        f"sum_over_time({ERROR_EVENTS_RECORD}{selector}[{SLO_PERIOD}])\n/\n"
        f"sum_over_time({EVENTS_RECORD}{selector}[{SLO_PERIOD}])",
        labels,
    )
    budget = f"{ERROR_BUDGET_RECORD}{selector}"
    burn = (
        RecordingRule(CURRENT_BURN_RATE_RECORD, f"{slo.error_ratio_series(short)}\n/\n{budget}", labels),
        RecordingRule(PERIOD_BURN_RATE_RECORD, f"{slo.error_ratio_series(SLO_PERIOD)}\n/\n{budget}", labels),
        RecordingRule(BUDGET_REMAINING_RECORD, f"1 - {PERIOD_BURN_RATE_RECORD}{selector}", labels),
    )
    return metadata + events + ratios + (period,) + burn


def burn_rate_alert(slo: SLO, severity: Severity) -> AlertRule:
    windows = _windows(severity)
    explained = " or ".join(
        f"{window.factor:g}x over {window.long_window} and {window.short_window} ({window.budget_spent})"
        for window in windows
    )
    consequence = "Page: users are failing now." if severity is Severity.CRITICAL else "Ticket: fix it this week."
    return AlertRule(
        name=burn_alert_name(slo),
        expr=_burn_condition(slo, severity, slo.error_ratio_series),
        for_=FOR_BY_SEVERITY[severity],
        severity=severity,
        summary="SLO {{ $labels.slo }} of {{ $labels.service }} is burning its error "
        f"budget {'fast' if severity is Severity.CRITICAL else 'steadily'}.",
        description=(
            f"{slo.description} The error ratio of SLO {{{{ $labels.slo }}}} burns the {slo.objective:g} objective's "
            f"budget {explained}. {consequence}"
        ),
        labels={"slo": slo.name, "service": slo.service},
        standalone_expr=_standalone_condition(slo, severity),
        scenario=burn_scenario(slo, severity),
        probe=burn_probe(slo, severity),
        window_probes=window_probes(slo, severity),
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
    for counter in _scenario_traffic(slo):
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


def burn_probe(slo: SLO, severity: Severity) -> SignalProbe:
    """The error ratio held at a level over every window: the severity's lowest burn threshold
    decides (just below it no pair fires, just above the pair with the lowest factor does)."""
    step = TEST_STEP_BY_SEVERITY[severity]
    windows = _windows(severity)
    # Every counter starts at 0 with the test, so each window's ratio is the level from the second
    # sample on (rate() extrapolates bad and total alike).
    settle = 2 * step
    steps = (settle + parse_duration(FOR_BY_SEVERITY[severity])) // step + 4
    return SignalProbe(
        series=sli_probe_series(slo, step, steps),
        healthy=round(slo.error_budget / 10, 12),  # a tenth of the budget: errors, but a healthy month
        threshold=min(burn_threshold(slo, window) for window in windows),
        traffic=PROBE_EVENTS_PER_SECOND,
        step_seconds=step,
        settle_seconds=settle,
        onset_seconds=step,  # rate() needs two samples; from then on every window holds the level
        labels={"slo": slo.name, "service": slo.service},
    )


# The window probes: coarse steps (the short windows still hold two samples or more), healthy
# history four times busier than the failing stretch, so the long windows of the pairs with a
# lower factor stay under their thresholds while the pair under test fills with the level.
WINDOW_PROBE_STEP_BY_SEVERITY = {Severity.CRITICAL: 150, Severity.WARNING: 1800}
WINDOW_PROBE_HEALTHY_TRAFFIC_FACTOR = 4


def window_probes(slo: SLO, severity: Severity) -> tuple[WindowProbe, ...]:
    step = WINDOW_PROBE_STEP_BY_SEVERITY[severity]
    windows = _windows(severity)
    history_steps = max(parse_duration(window.long_window) for window in windows) // step
    counters = SLI_TEST_COUNTERS[slo.name]
    healthy_ratio = slo.error_budget / 10
    total = PROBE_EVENTS_PER_SECOND * step
    busy = total * WINDOW_PROBE_HEALTHY_TRAFFIC_FACTOR
    found = []
    for window in windows:
        failing_steps = (parse_duration(window.long_window) + parse_duration(FOR_BY_SEVERITY[severity])) // step + 2

        def series(level: float, failing_steps: int = failing_steps) -> tuple[InputSeries, ...]:
            history = dict(counters.per_step(healthy_ratio * busy, busy))
            failing = dict(counters.per_step(level * total, total))
            return tuple(
                InputSeries(
                    name,
                    f"0+{history[name]:g}x{history_steps} "
                    f"{history[name] * history_steps + failing[name]:g}+{failing[name]:g}x{failing_steps - 1}",
                )
                for name in history
            )

        found.append(
            WindowProbe(
                long_window=window.long_window,
                short_window=window.short_window,
                threshold=burn_threshold(slo, window),
                series=series,
                step_seconds=step,
                eval_seconds=(history_steps + failing_steps) * step,
                labels={"slo": slo.name, "service": slo.service},
            )
        )
    return tuple(found)
