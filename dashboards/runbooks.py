"""Which alerts a panel is about: the alerts whose expressions read a series the panel shows.

A panel links to those alerts' runbooks, so the person looking at a red line is one click away
from what to check and do. The link set follows the alert rules (alerts.rules), never a list kept
by hand: rename an alert and the dashboards' links follow. Two selectors of one series are about
different things when they pin the same label to different values (`slo="api-latency"` versus
`slo="api-availability"`), so those do not link.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache

from alerts.slo import SLO_RECORDS
from observability.promql import VARIABLE_PLACEHOLDER, Selector, expand_grafana_variables, selectors

Pins = tuple[tuple[str, str], ...]  # (label, value) of a selector's equality matchers
# Every series an SLO records (its error ratio over any window, its objective, budget, burn
# rates) is about the same SLO: one family for linking.
SLO_ERROR_RATIO_FAMILY = "slo:sli_error"


def _family(series: str) -> str:
    return SLO_ERROR_RATIO_FAMILY if series in SLO_RECORDS else series


def _pins(selector: Selector) -> Pins:
    return tuple(
        (label, value)
        for label, op, value in selector.matchers
        if op == "=" and label != "__name__" and VARIABLE_PLACEHOLDER not in value
    )


def _compatible(first: Pins, second: Pins) -> bool:
    pinned = dict(first)
    return all(pinned.get(label, value) == value for label, value in second)


@lru_cache(maxsize=1)
def alert_selectors() -> tuple[tuple[str, str, Pins], ...]:
    """(alert name, series family, pins) for every selector of every alert rule."""
    try:
        from alerts.rules import rule_groups
    except ModuleNotFoundError as error:
        # The alert rules are a sibling package; without `alerts.rules` the dashboards render
        # without runbook links rather than not at all.
        if error.name != "alerts.rules":
            raise
        return ()
    from stackconfig.monitoring import production_defaults

    # Every alert some stack has (a read replica's too): a panel links to the alerts reading its
    # series, and a stack renders only panels whose series it produces.
    defaults = production_defaults()
    every = replace(defaults, producers=replace(defaults.producers, read_replica=True, uptime_checks=True))
    return tuple(
        (alert.name, _family(found.series), _pins(found))
        for group in rule_groups(every)
        for alert in group.alerts
        for found in selectors(alert.expr)
    )


def alerts_reading(exprs: Iterable[str]) -> tuple[str, ...]:
    """Names of the alerts that read what the dashboard queries `exprs` read (sorted)."""
    readers = alert_selectors()
    names: set[str] = set()
    for expr in exprs:
        for found in selectors(expand_grafana_variables(expr)):
            pins = _pins(found)
            names.update(
                name
                for name, series, alert_pins in readers
                if series == _family(found.series) and _compatible(pins, alert_pins)
            )
    return tuple(sorted(names))
