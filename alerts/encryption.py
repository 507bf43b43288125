"""Alerts of customer-managed encryption (components/encryption.py): a key version disabled or
scheduled for destruction.

It pages. Nothing in normal operation disables or destroys a version (rotation only adds one,
and the deployer's role cannot do either): each event is a person's or an attacker's act. A
disabled version cuts every data store it protects off from its data (Cloud SQL, Memorystore,
BigQuery stop serving it), and a destroyed one loses that data for good once its scheduled
destruction runs (`encryption.destroyScheduledDays`, 30 by default). Someone must confirm it
was meant, now; docs/runbooks/KeyVersionDisabledOrDestroyed.md. The series is the log-based
metric the encryption component declares, so a stack without keys (dev) has no such alert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alerts import probes
from alerts.model import AlertRule, RuleGroup, Severity
from alerts.resources import STEADY_STEP, events_in_window_probe, steady_scenario, steady_series
from observability import catalogue as m

if TYPE_CHECKING:
    from stackconfig.monitoring import MonitoringConfig

# An event stays visible this long, so a page that was acknowledged late still shows what happened.
KEY_EVENTS_WINDOW = "1h"
KEY_EVENTS_FOR = "1m"
_STEP = STEADY_STEP


def example_key_labels(monitoring: MonitoringConfig) -> dict[str, str]:
    """The labels of one key's events in the scenarios: the stack's key ring, its database key."""
    return {
        "key_ring": f"{monitoring.base_name}-keys",
        "crypto_key": "database",
        "method": "google.cloud.kms.v1.KeyManagementService.DestroyCryptoKeyVersion",
    }


def key_version_disabled_or_destroyed(monitoring: MonitoringConfig) -> AlertRule:
    events = m.KMS_KEY_EVENTS.name
    labels = example_key_labels(monitoring)
    labelled = probes.with_labels(events, labels)
    return AlertRule(
        name="KeyVersionDisabledOrDestroyed",
        expr=f"sum by (key_ring, crypto_key, method) (increase({events}[{KEY_EVENTS_WINDOW}])) > 0",
        for_=KEY_EVENTS_FOR,
        severity=Severity.CRITICAL,
        summary="A version of key {{ $labels.crypto_key }} was disabled or scheduled for destruction.",
        description=(
            "{{ $labels.method }} on a version of the Cloud KMS key {{ $labels.key_ring }}/{{ $labels.crypto_key }} "
            f"in the last {KEY_EVENTS_WINDOW}. Every data store encrypted with that version loses access to its data "
            "(disabled) or loses the data itself once the scheduled destruction runs (destroyed). Nothing in normal "
            "operation does this: confirm who did it and why, or restore the version."
        ),
        scenario=steady_scenario(steady_series(labelled, 0, 1), labels=labels, value=None, onset=_STEP),
        # The level is the events in the window: any at all fires.
        probe=events_in_window_probe(labelled, KEY_EVENTS_WINDOW, KEY_EVENTS_FOR, labels),
    )


def encryption_rule_groups(monitoring: MonitoringConfig) -> tuple[RuleGroup, ...]:
    """The key-event alert, where the stack has customer-managed keys (encryption.enabled)."""
    if not monitoring.producers.key_events:
        return ()
    return (RuleGroup(name="encryption", rules=(key_version_disabled_or_destroyed(monitoring),)),)
