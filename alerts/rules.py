"""Every rule group Prometheus loads: the SLOs' recording rules and burn-rate alerts, the fast
symptom pages beside them, then the resource alerts. Rendering, validation, the promtool tests,
the Alertmanager route tests and the Cloud Monitoring policies all start here, from one stack's
MonitoringConfig (stackconfig/monitoring.py)."""

from __future__ import annotations

from alerts.burnrate import slo_rule_groups
from alerts.compliance import compliance_rule_groups
from alerts.edge import edge_rule_groups
from alerts.encryption import encryption_rule_groups
from alerts.identity import identity_rule_groups
from alerts.model import AlertRule, RuleGroup
from alerts.resources import resource_rule_groups
from alerts.symptoms import symptom_rule_groups
from alerts.usage import usage_rule_groups
from stackconfig.monitoring import MonitoringConfig, production_defaults


def rule_groups(monitoring: MonitoringConfig | None = None) -> tuple[RuleGroup, ...]:
    """Every group for a stack's monitoring config. Without one, the config model's
    production-safe defaults (`production_defaults()`): what the lab runs, which reads no stack
    file. A stack's rules always come from its config (`omni alerts render --stack`, the program)."""
    monitoring = monitoring or production_defaults()
    return (
        slo_rule_groups()
        + symptom_rule_groups()
        + resource_rule_groups(monitoring)
        + edge_rule_groups(monitoring)
        + usage_rule_groups(monitoring)
        + identity_rule_groups(monitoring)
        + encryption_rule_groups(monitoring)
        + compliance_rule_groups(monitoring)
    )


def all_alerts(groups: tuple[RuleGroup, ...] | None = None) -> tuple[AlertRule, ...]:
    return tuple(alert for group in (groups if groups is not None else rule_groups()) for alert in group.alerts)


def rule_file_name(group: RuleGroup) -> str:
    """One Prometheus rule file per group: `slo-api-availability.rules.yml`."""
    return f"{group.name}.rules.yml"
