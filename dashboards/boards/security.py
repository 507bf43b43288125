"""Security: the signals of the controls that guard users and data, one section per control.

Identity Platform's section shows end users' sign-ins, their failures by step and error, and
second factors enrolled (counted from its activity logs, components/identity_platform.py); Cloud
KMS's, key versions disabled or destroyed (components/encryption.py); security findings', what
Security Command Center and Sensitive Data Protection published to the findings topic
(components/security_findings.py). A control joins the board as its own section in `SECTIONS`: a
function from the stack's monitoring config to its panels, empty where the stack has no producer
of its series.
"""

from __future__ import annotations

from collections.abc import Callable

from grafanalib import core

from alerts.identity import SIGN_IN_FAILURE_SHARE
from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries

# Typos and expired sessions keep a healthy failed share near a tenth; the alert opens a ticket above.
SIGN_IN_FAILURE_WARNING = 0.15


def identity_panels(facts: MonitoringConfig) -> list[core.Panel]:
    """End users' sign-ins and MFA, where the stack counts Identity Platform's activity logs."""
    if not facts.producers.identity_logs:
        return []
    attempts, failures = m.IDENTITY_SIGN_INS.name, m.IDENTITY_SIGN_IN_FAILURES.name
    enrolments = m.IDENTITY_MFA_ENROLMENTS.name
    failed_share = q.ratio(q.sum_rate(failures), q.sum_rate(attempts))
    share_thresholds = style.thresholds(
        style.GOOD, (SIGN_IN_FAILURE_WARNING, style.WARNING), (SIGN_IN_FAILURE_SHARE, style.BAD)
    )
    return [
        stat(
            "Sign-ins per second",
            "End users' sign-in attempts at Identity Platform (password, SAML/OIDC, second factor), every outcome.",
            [Query(q.sum_rate(attempts))],
            style.REQUESTS_PER_SECOND,
        ),
        stat(
            "Failed sign-in share",
            "Share of sign-in attempts that failed; IdentitySignInFailuresHigh opens a ticket above "
            f"{SIGN_IN_FAILURE_SHARE:.0%} over 15 minutes.",
            [Query(failed_share)],
            style.RATIO,
            thresholds=share_thresholds,
            decimals=1,
        ),
        stat(
            "MFA enrolments per hour",
            "Second factors end users enrolled, at the current rate, per hour.",
            [Query(f"3600 * {q.sum_rate(enrolments)}")],
            style.COUNT,
        ),
        timeseries(
            "Sign-ins by step",
            "Sign-in attempts per second by step: SignInWithPassword, SignInWithIdp (a customer's SAML or OIDC "
            "provider), FinalizeMfaSignIn (the second factor).",
            [Query(q.sum_rate(attempts, by=("method",)), "{{method}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Failed sign-ins by step and error",
            "Failed attempts per second by step and Google's error: INVALID_LOGIN_CREDENTIALS is wrong passwords, "
            "errors at SignInWithIdp are a customer's provider refusing (docs/runbooks/IdentitySignInFailuresHigh.md).",
            [Query(q.sum_rate(failures, by=("method", "reason")), "{{method}} {{reason}}")],
            style.REQUESTS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Failed sign-in share",
            "Share of sign-in attempts that failed, against the alert's threshold.",
            [Query(failed_share, "failed")],
            style.RATIO,
            thresholds=share_thresholds,
            max_value=1,
        ),
        timeseries(
            "MFA enrolments",
            "Second factors enrolled per second: a rise follows an MFA campaign or identityPlatform.mfa MANDATORY; "
            "a burst without one is worth a look (an attacker adding their own factor to taken-over accounts).",
            [Query(q.sum_rate(enrolments), "enrolments")],
            style.OPS_PER_SECOND,
        ),
    ]


def key_event_panels(facts: MonitoringConfig) -> list[core.Panel]:
    """Cloud KMS key versions disabled or destroyed (components/encryption.py), where the stack has keys."""
    if not facts.producers.key_events:
        return []
    return [
        timeseries(
            "Key versions disabled or destroyed",
            "Cloud KMS key versions disabled or scheduled for destruction per interval, by key and method, from the "
            "Admin Activity audit logs: data encrypted with them becomes unreadable; KeyVersionDisabledOrDestroyed "
            "pages on any.",
            [Query(q.kms_key_events(), "{{crypto_key}} {{method}}")],
            style.COUNT,
            width=24,
        ),
    ]


def findings_panels(facts: MonitoringConfig) -> list[core.Panel]:
    """Findings published to the stack's findings topic, where the stack routes them."""
    if facts.findings_topic is None:
        return []
    return [
        timeseries(
            "Security findings published",
            "Active high and critical Security Command Center findings and Sensitive Data Protection's high-risk "
            f"profiles published to {facts.findings_topic} per interval; SecurityFindingsNew opens a ticket on any "
            "(docs/compliance.md).",
            [Query(q.findings_published(facts.findings_topic), "{{topic_id}}")],
            style.COUNT,
            width=24,
        ),
    ]


# Every control's section, in board order. A section is empty where its producer is absent.
SECTIONS: tuple[Callable[[MonitoringConfig], list[core.Panel]], ...] = (
    identity_panels,
    key_event_panels,
    findings_panels,
)


def deployed(facts: MonitoringConfig) -> bool:
    """Whether any section has something to show in this stack."""
    return any(section(facts) for section in SECTIONS)


def build(facts: MonitoringConfig) -> BoardContent:
    panels = [panel for section in SECTIONS for panel in section(facts)]
    return BoardContent(panels, ServiceScope(m.IDENTITY_SIGN_INS.name, "method", "$__all"))
