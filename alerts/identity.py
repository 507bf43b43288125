"""Alerts of Identity Platform (components/identity_platform.py): end users' sign-ins failing in
numbers.

A surge of failed sign-ins is credential stuffing or password spraying against our users, or a
customer's identity provider misconfigured (an expired SAML certificate, a changed OIDC client):
either way someone decides which in working hours, so it opens a ticket (docs/runbooks). The
series are log-based metrics of Identity Platform's activity logs; a stack without them
(identityPlatform.enabled or .activityLogging false) has none of these alerts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alerts import probes
from alerts.model import AlertRule, AlertScenario, InputSeries, RuleGroup, Severity, SignalProbe, TrafficGuard
from observability import catalogue as m
from observability.durations import parse_duration

if TYPE_CHECKING:
    from stackconfig.monitoring import MonitoringConfig

# --- thresholds -----------------------------------------------------------------------------
# Share of sign-in attempts that fail. Typos and expired sessions keep a healthy share near a
# tenth; a third failing is an attack or a broken provider.
SIGN_IN_FAILURE_SHARE = 0.3
SIGN_IN_WINDOW = "15m"
SIGN_IN_FOR = "15m"
# At fewer than 3 attempts a minute a share is a handful of people mistyping.
SIGN_IN_MIN_ATTEMPTS_PER_SECOND = 0.05

_STEP = 60
_STEPS = 120


PROJECT = "project_id"  # the monitored resource's project: the one stack's Identity Platform


def example_project(monitoring: MonitoringConfig) -> str:
    return monitoring.project


def _sum_rate(selector: str) -> str:
    return f"sum by ({PROJECT}) (rate({selector}[{SIGN_IN_WINDOW}]))"


def sign_in_failures(monitoring: MonitoringConfig) -> AlertRule:
    attempts, failures = m.IDENTITY_SIGN_INS.name, m.IDENTITY_SIGN_IN_FAILURES.name
    settle = parse_duration(SIGN_IN_WINDOW) + _STEP
    project = {PROJECT: example_project(monitoring)}
    password = {**project, "method": "SignInWithPassword"}
    return AlertRule(
        name="IdentitySignInFailuresHigh",
        expr=(
            f"{_sum_rate(failures)}\n/\n{_sum_rate(attempts)}\n> {SIGN_IN_FAILURE_SHARE:g}\nand\n"
            f"{_sum_rate(attempts)} > {SIGN_IN_MIN_ATTEMPTS_PER_SECOND:g}"
        ),
        for_=SIGN_IN_FOR,
        severity=Severity.WARNING,
        summary=(
            "{{ $value | humanizePercentage }} of end users' sign-ins fail at Identity Platform "
            "({{ $labels.project_id }})."
        ),
        description=(
            f"{{{{ $value | humanizePercentage }}}} of the sign-in attempts at Identity Platform (project "
            f"{{{{ $labels.project_id }}}}) failed over "
            f"{SIGN_IN_WINDOW} (threshold {SIGN_IN_FAILURE_SHARE:.0%}, at least "
            f"{SIGN_IN_MIN_ATTEMPTS_PER_SECOND * 60:g} attempts a minute): credential stuffing or password spraying "
            "against our users, or a customer's identity provider refusing everyone (expired SAML certificate, "
            "changed OIDC client). The Security dashboard splits the failures by step and error."
        ),
        # 60 of 100 attempts a minute fail with INVALID_LOGIN_CREDENTIALS: 60%.
        scenario=AlertScenario(
            input_series=(
                InputSeries(probes.with_labels(attempts, password), f"0+100x{_STEPS}"),
                InputSeries(
                    probes.with_labels(failures, {**password, "reason": "INVALID_LOGIN_CREDENTIALS"}),
                    f"0+60x{_STEPS}",
                ),
            ),
            step_seconds=_STEP,
            onset_seconds=_STEP,
            series_labels=project,
            value=0.6,
        ),
        # The level is the failed share of the attempts; `also` counts every attempt.
        probe=SignalProbe(
            series=_failed_share(attempts, failures, password),
            healthy=0.1,
            threshold=SIGN_IN_FAILURE_SHARE,
            traffic=1.0,
            step_seconds=_STEP,
            settle_seconds=settle,
            onset_seconds=_STEP,
            labels=project,
            guard=TrafficGuard(threshold=SIGN_IN_MIN_ATTEMPTS_PER_SECOND, faulty_level=0.9),
        ),
    )


def _failed_share(attempts: str, failures: str, labels: dict[str, str]) -> probes.Series:
    """`traffic` attempts a second, `level` of them failed: the failures counter beside the
    attempts counter, which counts every outcome (the two log-based metrics overlap)."""
    steps = (parse_duration(SIGN_IN_WINDOW) + _STEP + parse_duration(SIGN_IN_FOR)) // _STEP + 4

    def make(level: float, traffic: float) -> tuple[InputSeries, ...]:
        total = traffic * _STEP
        return (
            InputSeries(probes.with_labels(attempts, labels), f"0+{total:g}x{steps}"),
            InputSeries(
                probes.with_labels(failures, {**labels, "reason": "INVALID_LOGIN_CREDENTIALS"}),
                f"0+{level * total:g}x{steps}",
            ),
        )

    return make


def identity_rule_groups(monitoring: MonitoringConfig) -> tuple[RuleGroup, ...]:
    """Identity Platform's alerts, where the stack counts its activity logs."""
    if not monitoring.producers.identity_logs:
        return ()
    return (RuleGroup(name="identity", rules=(sign_in_failures(monitoring),)),)
