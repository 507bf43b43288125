"""Fast symptom pages beside the SLO burn-rate alerts: the API answers too many 5xx, or too
many slow responses, right now.

The burn-rate pages (alerts/burnrate.py) wait until 2% of the month's budget is spent over an
hour. By construction that is slow for a partial fault: a 20% error rate needs about 4 minutes
to get there, a 90% latency regression about 48 (docs/lab.md). These alerts page on the
symptom over a short window instead, at a rate far beyond anything healthy, so every critical
fault pages within 2 minutes. The burn-rate alerts stay as the workbook has them: they catch
the slower burns these never see, and they have no traffic guard.

Thresholds are multiples of the SLOs' own budgets and the latency share is counted in the SLI's
own bucket (`le="0.5"`), so these pages and the SLOs measure the same thing.
"""

from __future__ import annotations

from alerts import probes
from alerts.model import AlertRule, AlertScenario, InputSeries, RuleGroup, Severity, SignalProbe, TrafficGuard
from alerts.slo import API_AVAILABILITY, API_LATENCY
from observability import catalogue as m
from observability.durations import parse_duration

# Four scrapes at production's 30 s interval: the fewest rate() stays sound on (one missed
# scrape still leaves three samples). A 20% error rate fills it past 5% in 30 s, a 90% latency
# regression past 25% in 32 s: W (θ - h) / (e - h), with h the healthy ratio (docs/lab.md).
SYMPTOM_WINDOW = "2m"

# Same as the SLO pages: the window already averages two minutes, so a burst of bad requests
# shorter than it cannot be filtered by `for` anyway (it stays in the window for 2 minutes);
# `for` only rides out one odd evaluation, such as a new instance's first samples.
SYMPTOM_FOR = "30s"

# 50x the availability budget (0.1%): the month's budget would be gone in 14 hours, and healthy
# traffic runs at 0.02%. Low enough that a fifth of requests failing pages in about 80 s.
API_ERROR_RATIO = round(50 * API_AVAILABILITY.error_budget, 12)

# 5x the latency budget (5%): a quarter of the requests slower than 500 ms, 25 times the healthy
# 1%. The latency burn-rate page needs 72% (14.4x a 5% budget) held for most of an hour.
API_SLOW_RATIO = round(5 * API_LATENCY.error_budget, 12)

# Below one request a second (120 in the window), a ratio is a handful of requests: 1 failed of
# 3 at night is 33% and pages nobody. A page then needs at least 6 failed (or 30 slow) requests.
# Quieter traffic is still watched by the burn-rate pages and the uptime check.
MIN_REQUESTS_PER_SECOND = 1

_API = f'service="{API_AVAILABILITY.service}"'
_REQUESTS = f"{m.HTTP_REQUESTS.name}{{{_API}}}"
_FAILED_REQUESTS = f'{m.HTTP_REQUESTS.name}{{{_API},code=~"5.."}}'
_FAST_REQUESTS = f'{m.HTTP_REQUEST_DURATION.bucket}{{{_API},le="{m.LATENCY_SLO_BUCKET}"}}'
_TIMED_REQUESTS = f"{m.HTTP_REQUEST_DURATION.count}{{{_API}}}"

# The promtool scenarios step at the `for` so the test checks its boundary exactly: pending at
# the first evaluation that holds, firing one `for` later.
_TEST_STEP = parse_duration(SYMPTOM_FOR)
_TEST_STEPS = 20
# The threshold probes: the window inside the test, the `for` held, a few steps to spare.
_PROBE_SETTLE = parse_duration(SYMPTOM_WINDOW) + _TEST_STEP
_PROBE_STEPS = (_PROBE_SETTLE + parse_duration(SYMPTOM_FOR)) // _TEST_STEP + 4


def _rate(selector: str) -> str:
    return f"sum by (service) (rate({selector}[{SYMPTOM_WINDOW}]))"


def _with_traffic_guard(condition: str, requests: str) -> str:
    """`condition`, only while the API serves at least MIN_REQUESTS_PER_SECOND (the value stays the condition's)."""
    return f"{condition}\nand\n{_rate(requests)} > {MIN_REQUESTS_PER_SECOND:g}"


def _counter(series: str, per_step: int) -> InputSeries:
    return InputSeries(series, f"0+{per_step}x{_TEST_STEPS}")


def _scenario(*series: InputSeries, value: float) -> AlertScenario:
    # rate() needs two samples: the condition holds from the second step on.
    return AlertScenario(
        input_series=series,
        step_seconds=_TEST_STEP,
        onset_seconds=_TEST_STEP,
        series_labels={"service": API_AVAILABILITY.service},
        value=value,
    )


def _probe(series, healthy: float, threshold: float) -> SignalProbe:
    """10 requests a second by default, well over the guard; the guard's tests fail half of them."""
    return SignalProbe(
        series=series,
        healthy=healthy,
        threshold=threshold,
        traffic=10,
        step_seconds=_TEST_STEP,
        settle_seconds=_PROBE_SETTLE,
        onset_seconds=_TEST_STEP,
        labels={"service": API_AVAILABILITY.service},
        guard=TrafficGuard(threshold=MIN_REQUESTS_PER_SECOND, faulty_level=0.5),
    )


def api_high_error_rate() -> AlertRule:
    ratio = f"{_rate(_FAILED_REQUESTS)}\n/\n{_rate(_REQUESTS)}"
    route = f'{_API},route="/v1/items",method="GET"'
    return AlertRule(
        name="ApiHighErrorRate",
        expr=_with_traffic_guard(f"{ratio}\n> {API_ERROR_RATIO:g}", _REQUESTS),
        for_=SYMPTOM_FOR,
        severity=Severity.CRITICAL,
        summary="Service {{ $labels.service }} answers {{ $value | humanizePercentage }} of its requests with 5xx.",
        description=(
            f"{{{{ $value | humanizePercentage }}}} of the requests to {{{{ $labels.service }}}} failed with 5xx over "
            f"the last {SYMPTOM_WINDOW} (threshold {API_ERROR_RATIO:.0%}, 50x the {API_AVAILABILITY.objective:.1%} "
            "SLO's error budget; at least one request a second). Users are failing now; the burn-rate page "
            "follows only if it lasts."
        ),
        # 30 of 300 requests per 30 s fail: 10%. Traffic well over the guard, which rate() over a
        # counter that starts in the test sees at a quarter of its rate after the first step.
        scenario=_scenario(
            _counter(f'{m.HTTP_REQUESTS.name}{{{route},code="200"}}', 270),
            _counter(f'{m.HTTP_REQUESTS.name}{{{route},code="503"}}', 30),
            value=0.1,
        ),
        # Healthy: 0.02% of requests fail, the rate behind the threshold's comment.
        probe=_probe(
            probes.share(
                f'{m.HTTP_REQUESTS.name}{{{route},code="503"}}',
                f'{m.HTTP_REQUESTS.name}{{{route},code="200"}}',
                _TEST_STEP,
                _PROBE_STEPS,
            ),
            healthy=0.0002,
            threshold=API_ERROR_RATIO,
        ),
    )


def api_latency_high() -> AlertRule:
    slow_share = f"1 - (\n{_rate(_FAST_REQUESTS)}\n/\n{_rate(_TIMED_REQUESTS)}\n)"
    return AlertRule(
        name="ApiLatencyHigh",
        expr=_with_traffic_guard(f"{slow_share}\n> {API_SLOW_RATIO:g}", _TIMED_REQUESTS),
        for_=SYMPTOM_FOR,
        severity=Severity.CRITICAL,
        summary="Service {{ $labels.service }} takes over 500 ms for {{ $value | humanizePercentage }} of its "
        "requests.",
        description=(
            f"{{{{ $value | humanizePercentage }}}} of the requests to {{{{ $labels.service }}}} took longer than "
            f"{float(m.LATENCY_SLO_BUCKET) * 1000:g} ms over the last {SYMPTOM_WINDOW} "
            f"(threshold {API_SLOW_RATIO:.0%}, "
            f"5x the latency SLO's {API_LATENCY.error_budget:.0%} budget; at least one request a second). "
            "Users are waiting now."
        ),
        # 150 of 300 requests per 30 s are slower than 500 ms: 50%.
        scenario=_scenario(
            _counter(f'{m.HTTP_REQUEST_DURATION.bucket}{{{_API},le="{m.LATENCY_SLO_BUCKET}"}}', 150),
            _counter(f"{m.HTTP_REQUEST_DURATION.count}{{{_API}}}", 300),
            value=0.5,
        ),
        # Healthy: 1% of requests slower than 500 ms.
        probe=_probe(
            probes.bucket_share(_FAST_REQUESTS, _TIMED_REQUESTS, _TEST_STEP, _PROBE_STEPS),
            healthy=0.01,
            threshold=API_SLOW_RATIO,
        ),
    )


def symptom_rule_groups() -> tuple[RuleGroup, ...]:
    return (RuleGroup(name="api-symptoms", rules=(api_high_error_rate(), api_latency_high())),)
