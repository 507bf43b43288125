"""Alerts of the edge (components/edge): 5xx answered at the load balancer, a surge of throttled
or WAF-blocked requests, and certificates that are not served or not renewed.

The load balancer's 5xx include what neither the app nor Cloud Run counts (no healthy backend,
a backend timeout, a TLS or routing failure at the edge), so they page. Throttles and WAF blocks
open tickets: a surge is an attack, a client misbehaving, or a rule with false positives, and
someone decides which in working hours (docs/runbooks). Certificates are watched through the
uptime checks, which request the public hosts over HTTPS with SSL validation: Certificate
Manager publishes no metric of a certificate's state.

Cloud Armor's decisions come from the log-based metrics the edge creates, by rule priority
(stackconfig/armor.py); thresholds sit at the top, each alert carries its promtool scenario and
the probe that holds its signal at a level. A stack without the edge (edge.enabled false, dev)
has none of these alerts: nothing there produces their series.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alerts import probes
from alerts.model import AlertRule, AlertScenario, InputSeries, RuleGroup, Severity, SignalProbe, TrafficGuard
from alerts.resources import probe_steps, window_settle
from observability import catalogue as m
from stackconfig.armor import THROTTLE_PRIORITIES, WAF_PRIORITIES, priority_matcher

if TYPE_CHECKING:
    from stackconfig.monitoring import MonitoringConfig

# --- thresholds -----------------------------------------------------------------------------
EDGE_5XX_RATIO = 0.05  # of all requests at the load balancer, over EDGE_WINDOW
EDGE_WINDOW = "5m"
EDGE_5XX_FOR = "2m"
# Below one request a second a ratio is a handful of requests; the uptime checks watch quiet hours.
EDGE_MIN_REQUESTS_PER_SECOND = 1
# Throttled share of the API's requests: above a tenth, clients are being refused in numbers.
THROTTLED_SHARE = 0.1
# WAF-blocked share: healthy traffic trips the WAF rarely; 2% is an attack or a false-positive rule.
WAF_BLOCKED_SHARE = 0.02
ARMOR_WINDOW = "10m"
ARMOR_FOR = "10m"
# Google-managed certificates renew 30 days before they expire: 21 days left means renewal failed.
CERT_DAYS_LEFT_WARNING = 21
CERT_EXPIRY_FOR = "1h"
# A check that runs but sees no valid certificate for this long: provisioning failed or stalled
# (a new certificate is usually active within an hour of its DNS records).
CERT_MISSING_FOR = "1h"

_STEP = 60
_STEPS = 120
URL_MAP = "url_map_name"
# The priority of the default rule, which accepts what no other rule matched.
DEFAULT_RULE_PRIORITY = 2147483647


def example_url_map(monitoring: MonitoringConfig) -> str:
    """The URL map's name in the scenarios: Pulumi names the edge's resources with a random suffix."""
    return f"{monitoring.base_name}-edge-urls-9f8e7d6"


def example_policy(monitoring: MonitoringConfig) -> str:
    return f"{monitoring.base_name}-edge-armor-5d6e7f8"


def example_check(monitoring: MonitoringConfig) -> str:
    """An uptime check's id: Cloud Monitoring derives it from the display name and a suffix."""
    return f"{monitoring.base_name}-status-check-api-x1y2"


def _counter(series: str, per_minute: float) -> InputSeries:
    return InputSeries(series, f"0+{per_minute:g}x{_STEPS}")


def _gauge(series: str, value: float) -> InputSeries:
    return InputSeries(series, f"{value:g}x{_STEPS}")


def _scenario(
    *series: InputSeries, value: float | None, labels: dict[str, str] | None = None, onset: int = _STEP
) -> AlertScenario:
    """By default for counters: rate() needs two samples, so the condition holds from the second step on."""
    return AlertScenario(
        input_series=series, step_seconds=_STEP, onset_seconds=onset, series_labels=labels or {}, value=value
    )


def _sum_rate(selector: str, window: str, by: str) -> str:
    return f"sum by ({by}) (rate({selector}[{window}]))"


def edge_5xx(monitoring: MonitoringConfig) -> AlertRule:
    requests = m.LB_REQUESTS.name
    five_xx = f'{requests}{{response_code_class="500"}}'
    ratio = f"{_sum_rate(five_xx, EDGE_WINDOW, URL_MAP)}\n/\n{_sum_rate(requests, EDGE_WINDOW, URL_MAP)}"
    url_map = example_url_map(monitoring)
    backend_labels = {
        URL_MAP: url_map,
        "backend_target_name": f"{monitoring.base_name}-edge-api-backend-1a2b3c4",
        "backend_target_type": "BACKEND_SERVICE",
    }
    backend = ",".join(f'{name}="{value}"' for name, value in backend_labels.items())
    settle = window_settle(EDGE_WINDOW, _STEP)
    return AlertRule(
        name="EdgeHigh5xxRate",
        expr=(
            f"{ratio}\n> {EDGE_5XX_RATIO:g}\nand\n"
            f"{_sum_rate(requests, EDGE_WINDOW, URL_MAP)} > {EDGE_MIN_REQUESTS_PER_SECOND:g}"
        ),
        for_=EDGE_5XX_FOR,
        severity=Severity.CRITICAL,
        summary=(
            "Load balancer {{ $labels.url_map_name }} answers {{ $value | humanizePercentage }} of requests with 5xx."
        ),
        description=(
            f"{{{{ $value | humanizePercentage }}}} of the requests at the HTTPS load balancer (URL map "
            f"{{{{ $labels.url_map_name }}}}) ended in 5xx over "
            f"{EDGE_WINDOW} (threshold {EDGE_5XX_RATIO:.0%}, at least one request a second), counted at the edge: "
            "this includes failures the app and Cloud Run never saw (no backend, timeouts, edge errors). Users "
            "are failing now."
        ),
        # 120 of 1200 requests a minute end in 502: 10%.
        scenario=_scenario(
            _counter(
                f'{requests}{{{backend},response_code_class="200",response_code="200",cache_result="DISABLED"}}', 1080
            ),
            _counter(
                f'{requests}{{{backend},response_code_class="500",response_code="502",cache_result="DISABLED"}}', 120
            ),
            value=0.1,
            labels={URL_MAP: url_map},
        ),
        probe=SignalProbe(
            series=probes.share(
                probes.with_labels(requests, {**backend_labels, "response_code_class": "500", "response_code": "502"}),
                probes.with_labels(requests, {**backend_labels, "response_code_class": "200", "response_code": "200"}),
                _STEP,
                probe_steps(EDGE_5XX_FOR, settle, _STEP),
            ),
            healthy=0.002,
            threshold=EDGE_5XX_RATIO,
            step_seconds=_STEP,
            settle_seconds=settle,
            onset_seconds=_STEP,
            labels={URL_MAP: url_map},
            guard=TrafficGuard(threshold=EDGE_MIN_REQUESTS_PER_SECOND, faulty_level=0.5),
        ),
    )


def _armor_share_alert(
    monitoring: MonitoringConfig,
    name: str,
    priorities: tuple[int, ...],
    threshold: float,
    what: str,
    impact: str,
    example_priority: int,
) -> AlertRule:
    decisions = m.ARMOR_DECISIONS.name
    refused = f'{decisions}{{outcome="DENY",{priority_matcher(priorities)}}}'
    policy_labels = {"policy": example_policy(monitoring)}
    policy = f'policy="{example_policy(monitoring)}"'
    settle = window_settle(ARMOR_WINDOW, _STEP)
    return AlertRule(
        name=name,
        expr=(
            f"{_sum_rate(refused, ARMOR_WINDOW, 'policy')}\n/\n"
            f"{_sum_rate(decisions, ARMOR_WINDOW, 'policy')}\n> {threshold:g}"
        ),
        for_=ARMOR_FOR,
        severity=Severity.WARNING,
        summary=(
            f"Cloud Armor {what} {{{{ $value | humanizePercentage }}}} of the API's requests "
            "({{ $labels.policy }})."
        ),
        description=(
            f"Cloud Armor {what} {{{{ $value | humanizePercentage }}}} of the requests to the API (policy "
            f"{{{{ $labels.policy }}}}) over {ARMOR_WINDOW} "
            f"(threshold {threshold:.0%}). {impact}"
        ),
        # 150 of 1000 decisions a minute refused by the rule: 15%.
        scenario=_scenario(
            _counter(f'{decisions}{{{policy},priority="{DEFAULT_RULE_PRIORITY}",outcome="ACCEPT"}}', 850),
            _counter(f'{decisions}{{{policy},priority="{example_priority}",outcome="DENY"}}', 150),
            value=0.15,
            labels=policy_labels,
        ),
        # The level is the share of the decisions the rule refused; the default rule accepts the rest.
        probe=SignalProbe(
            series=probes.share(
                probes.with_labels(decisions, {**policy_labels, "priority": str(example_priority), "outcome": "DENY"}),
                probes.with_labels(
                    decisions, {**policy_labels, "priority": str(DEFAULT_RULE_PRIORITY), "outcome": "ACCEPT"}
                ),
                _STEP,
                probe_steps(ARMOR_FOR, settle, _STEP),
            ),
            healthy=threshold / 20,
            threshold=threshold,
            step_seconds=_STEP,
            settle_seconds=settle,
            onset_seconds=_STEP,
            labels=policy_labels,
        ),
    )


def throttled_share(monitoring: MonitoringConfig) -> AlertRule:
    return _armor_share_alert(
        monitoring,
        "EdgeThrottledShareHigh",
        THROTTLE_PRIORITIES,
        THROTTLED_SHARE,
        "throttles (429)",
        "Clients are past their per-key or per-IP limit in numbers: a client looping, a tenant outgrowing the "
        "shared limit, or traffic from one source surging.",
        THROTTLE_PRIORITIES[0],
    )


def waf_blocks(monitoring: MonitoringConfig) -> AlertRule:
    return _armor_share_alert(
        monitoring,
        "EdgeWafBlocksHigh",
        WAF_PRIORITIES,
        WAF_BLOCKED_SHARE,
        "WAF rules block (403)",
        "An attack or a scanner, or a WAF rule with false positives refusing real users' requests.",
        WAF_PRIORITIES[0],
    )


def certificate_expiring(monitoring: MonitoringConfig) -> AlertRule:
    days = m.UPTIME_CERT_DAYS_LEFT.name
    check_labels = {"check_id": example_check(monitoring)}
    check = f'check_id="{example_check(monitoring)}"'
    return AlertRule(
        name="EdgeCertificateExpiringSoon",
        expr=f"min by (check_id) ({days}) < {CERT_DAYS_LEFT_WARNING}",
        for_=CERT_EXPIRY_FOR,
        severity=Severity.WARNING,
        summary="The certificate checked by {{ $labels.check_id }} expires in {{ $value | humanize }} days.",
        description=(
            "The certificate served to uptime check {{ $labels.check_id }} expires in {{ $value | humanize }} days. "
            f"Google-managed certificates renew 30 days ahead, so below {CERT_DAYS_LEFT_WARNING} renewal has failed "
            "(usually a DNS authorization record removed or changed); HTTPS stops at expiry."
        ),
        scenario=_scenario(
            _gauge(f'{days}{{{check},checker_location="eur-belgium"}}', 12),
            _gauge(f'{days}{{{check},checker_location="usa-oregon"}}', 12),
            value=12,
            labels=check_labels,
            onset=0,
        ),
        # Healthy: a managed certificate is renewed 30 days ahead, so 60-90 days are left.
        probe=SignalProbe(
            series=probes.gauge(
                probes.with_labels(days, {**check_labels, "checker_location": "usa-oregon"}),
                probe_steps(CERT_EXPIRY_FOR, 0, _STEP),
            ),
            healthy=60,
            threshold=CERT_DAYS_LEFT_WARNING,
            above=False,
            step_seconds=_STEP,
            labels=check_labels,
        ),
    )


def certificate_missing(monitoring: MonitoringConfig) -> AlertRule:
    passed = m.UPTIME_CHECK_PASSED.name
    days = m.UPTIME_CERT_DAYS_LEFT.name
    check = f'check_id="{example_check(monitoring)}"'
    scenario = _scenario(
        _gauge(f'{passed}{{{check},checker_location="eur-belgium"}}', 0),
        _gauge(f'{passed}{{{check},checker_location="usa-oregon"}}', 0),
        # Another check with a certificate: not this alert's business.
        _gauge(f'{passed}{{check_id="other",checker_location="usa-oregon"}}', 1),
        _gauge(f'{days}{{check_id="other",checker_location="usa-oregon"}}', 80),
        value=2,
        labels={"check_id": example_check(monitoring)},
        onset=0,
    )
    return AlertRule(
        name="EdgeCertificateNotServed",
        expr=f"count by (check_id) ({passed})\nunless\ncount by (check_id) ({days})",
        for_=CERT_MISSING_FOR,
        severity=Severity.WARNING,
        summary="Uptime check {{ $labels.check_id }} gets no valid certificate.",
        description=(
            f"Uptime check {{{{ $labels.check_id }}}} has run from {{{{ $value | humanize }}}} locations "
            f"for {CERT_MISSING_FOR} "
            "without being served a valid certificate: the host's Google-managed certificate failed to provision or "
            "was never attached (DNS authorization record missing, A record not pointing at the load balancer)."
        ),
        scenario=scenario,
    )


def edge_rule_groups(monitoring: MonitoringConfig) -> tuple[RuleGroup, ...]:
    """The edge's alerts, where the stack runs the edge (edge.enabled)."""
    if not monitoring.edge:
        return ()
    return (
        RuleGroup(
            name="edge",
            rules=(
                edge_5xx(monitoring),
                throttled_share(monitoring),
                waf_blocks(monitoring),
                certificate_expiring(monitoring),
                certificate_missing(monitoring),
            ),
        ),
    )
