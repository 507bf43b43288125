"""promtool test files that hold the rendered rules to tests/alert_spec.py: each alert's probe
driven at the specified threshold, guard and `for`, each burn alert's window pairs at the
specified ratios, and the hand-written tests of series that go stale.

The probes (alerts/probes.py) only turn a level into input series; whether the alert must fire
at that level comes from the spec's literals. Used by test_alert_spec.py and by the mutation test.
"""

from __future__ import annotations

from typing import Any

from alerts.model import AlertRule, RuleGroup
from alerts.rules import rule_file_name
from alerts.unittests import RULES_FROM_TESTS, threshold_tests, window_test_file, window_tests

from .alert_spec import SPEC

# Every test file: the cheap ones (short input) and the expensive ones (hours of history), so a
# caller can run the cheap ones first.
CHEAP, EXPENSIVE = "cheap", "expensive"


def _file(group: RuleGroup, step: str, tests: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rule_files": [f"{RULES_FROM_TESTS}/{rule_file_name(group)}"], "evaluation_interval": step, "tests": tests}


def spec_test_files(stack: str, alert: AlertRule, group: RuleGroup) -> dict[str, tuple[str, dict[str, Any]]]:
    """File name -> (cost, promtool test file) holding `alert` to its spec in `stack`."""
    spec = SPEC[(alert.name, alert.severity.value)]
    files: dict[str, tuple[str, dict[str, Any]]] = {}
    base = f"spec-{alert.name}-{alert.severity.value}"
    threshold = spec.threshold_in(stack)
    if spec.windows:
        # A burn alert's level probe: the error ratio at every window alike, so the pair with the
        # lowest ratio decides.
        threshold = (">", min(spec.windows.values()))
    if alert.probe is not None and threshold is not None:
        op, value = threshold
        tests = threshold_tests(alert, threshold=value, for_=spec.for_, guard_threshold=spec.guard, op=op)
        files[f"{base}.test.yml"] = (CHEAP, _file(group, f"{alert.probe.step_seconds}s", tests))
    if alert.window_probes and spec.windows:
        tests = window_tests(alert, thresholds=spec.windows)
        files[f"{base}.windows.test.yml"] = (EXPENSIVE, window_test_file(alert, group, tests))
    for name, (cost, alerts, data) in STALE_SERIES_TESTS.items():
        if (
            f"{alert.name}-{alert.severity.value}" in alerts
            and rule_file_name(group) == data["rule_files"][0].rsplit("/", 1)[1]
        ):
            files[name] = (cost, data)
    return files


def _alerts(name: str, severity: str) -> str:
    return f'ALERTS{{alertname="{name}",alertstate="firing",severity="{severity}"}}'


_BURN_PAGE = "ApiAvailabilityErrorBudgetBurn"
_BURN_PAGE_FIRING = [
    {
        "labels": (
            f'ALERTS{{alertname="{_BURN_PAGE}",alertstate="firing",'
            'service="api",severity="critical",slo="api-availability"}'
        ),
        "value": 1,
    }
]
_NO_WORKERS = "CeleryNoLiveWorkers"
_NO_WORKERS_FIRING = [
    {
        "labels": f'ALERTS{{alertname="{_NO_WORKERS}",alertstate="firing",service="worker",severity="critical"}}',
        "value": 1,
    }
]

# Series that go stale (the cases), written out by hand: file name -> (cost, the alerts
# they are about as `<name>-<severity>`, promtool test file).
STALE_SERIES_TESTS: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    # Six healthy hours, then only 503s: the 200 series stops, so a `1 - good/total` SLI vanishes
    # with it. Errors over total keeps the page firing for the whole outage.
    "spec-stale-good-series.test.yml": (
        EXPENSIVE,
        (f"{_BURN_PAGE}-critical",),
        {
            "rule_files": [f"{RULES_FROM_TESTS}/slo-api-availability.rules.yml"],
            "evaluation_interval": "30s",
            "tests": [
                {
                    "name": "only 503s after 6 healthy hours: the availability page fires and stays firing",
                    "interval": "30s",
                    "input_series": [
                        {"series": 'omni_http_requests_total{service="api",code="200"}', "values": "0+100x720"},
                        {
                            "series": 'omni_http_requests_total{service="api",code="503"}',
                            "values": "0+0x720 100+100x240",
                        },
                    ],
                    "promql_expr_test": [
                        {"expr": _alerts(_BURN_PAGE, "critical"), "eval_time": "5h59m30s", "exp_samples": []},
                        {
                            "expr": _alerts(_BURN_PAGE, "critical"),
                            "eval_time": "6h20m",
                            "exp_samples": _BURN_PAGE_FIRING,
                        },
                        {
                            "expr": _alerts(_BURN_PAGE, "critical"),
                            "eval_time": "6h40m",
                            "exp_samples": _BURN_PAGE_FIRING,
                        },
                        {
                            "expr": _alerts(_BURN_PAGE, "critical"),
                            "eval_time": "7h30m",
                            "exp_samples": _BURN_PAGE_FIRING,
                        },
                    ],
                }
            ],
        },
    ),
    # The workers' gauge stops at 10m (the pool is gone, nobody reports 0). It is stale 5 minutes
    # later; the page follows a minute after. When the API's metrics stop too, the pipeline is
    # down: that is the dead man's switch's page, not this one.
    "spec-workers-gauge-vanishes.test.yml": (
        CHEAP,
        (f"{_NO_WORKERS}-critical",),
        {
            "rule_files": [f"{RULES_FROM_TESTS}/celery.rules.yml"],
            "evaluation_interval": "30s",
            "tests": [
                {
                    "name": "the worker gauge vanishes while the API reports: page",
                    "interval": "30s",
                    "input_series": [
                        {"series": 'omni_celery_workers{service="worker",instance="worker-0"}', "values": "4+0x20"},
                        {"series": 'omni_http_requests_total{service="api",code="200"}', "values": "0+100x80"},
                    ],
                    "promql_expr_test": [
                        {"expr": _alerts(_NO_WORKERS, "critical"), "eval_time": "12m", "exp_samples": []},
                        {
                            "expr": _alerts(_NO_WORKERS, "critical"),
                            "eval_time": "18m",
                            "exp_samples": _NO_WORKERS_FIRING,
                        },
                        {
                            "expr": _alerts(_NO_WORKERS, "critical"),
                            "eval_time": "35m",
                            "exp_samples": _NO_WORKERS_FIRING,
                        },
                    ],
                },
                {
                    "name": "the worker gauge and the API's series vanish together: no page from this alert",
                    "interval": "30s",
                    "input_series": [
                        {"series": 'omni_celery_workers{service="worker",instance="worker-0"}', "values": "4+0x20"},
                        {"series": 'omni_http_requests_total{service="api",code="200"}', "values": "0+100x20"},
                    ],
                    "promql_expr_test": [
                        {"expr": _alerts(_NO_WORKERS, "critical"), "eval_time": "18m", "exp_samples": []},
                        {"expr": _alerts(_NO_WORKERS, "critical"), "eval_time": "35m", "exp_samples": []},
                    ],
                },
            ],
        },
    ),
}
