"""SLOs and error budgets, read from the SLO rule groups' recorded series (alerts/burnrate.py):
the SLI over the 30-day period against the recorded objective, the budget left, and the burn
rate over the alert windows against the recorded error budget. No objective or budget is
written into a query: they come from the metadata series (Sloth's `slo:objective:ratio`, ...),
so the dashboard shows what the rule evaluator computes."""

from __future__ import annotations

from alerts.slo import (
    BUDGET_REMAINING_RECORD,
    BURN_RATE_WINDOWS,
    ERROR_BUDGET_RECORD,
    OBJECTIVE_RECORD,
    SLO,
    SLO_PERIOD,
    SLOS,
)
from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries

# The long windows of the multi-window alerts, shortest first: what the burn-rate graph shows.
BURN_WINDOWS = tuple(dict.fromkeys(window.long_window for window in BURN_RATE_WINDOWS))


def recorded(slo: SLO, record: str) -> str:
    return q.selector(record, f'slo="{slo.name}"')


def error_ratio(slo: SLO, window: str) -> str:
    return recorded(slo, slo.error_ratio_record(window))


def burn_rate(slo: SLO, window: str) -> str:
    """The window's error ratio over the recorded budget (both carry `slo` and `service`)."""
    return f"{error_ratio(slo, window)} / on (slo) {recorded(slo, ERROR_BUDGET_RECORD)}"


def burn_rate_thresholds() -> list:
    """A line at each alert's burn factor: orange where a ticket opens, red where it pages."""
    colours = {"critical": style.BAD, "warning": style.WARNING}
    steps = sorted({(window.factor, colours[window.severity]) for window in BURN_RATE_WINDOWS})
    return style.thresholds(style.GOOD, *steps)


def slo_panels(slo: SLO) -> list:
    return [
        stat(
            f"{slo.name}: SLI over {SLO_PERIOD}",
            f"{slo.description} Good events over all events in the "
            f"last {SLO_PERIOD}, beside the objective the rules record; red below the objective.",
            [Query(f"1 - {error_ratio(slo, SLO_PERIOD)}", "SLI"), Query(recorded(slo, OBJECTIVE_RECORD), "objective")],
            style.RATIO,
            thresholds=style.thresholds(style.BAD, (slo.objective, style.GOOD)),
            decimals=3,
        ),
        stat(
            f"{slo.name}: error budget left",
            f"Share of the {SLO_PERIOD} error budget not yet spent, as the "
            "rules record it; below zero the SLO is missed.",
            [Query(recorded(slo, BUDGET_REMAINING_RECORD))],
            style.RATIO,
            thresholds=style.thresholds(style.BAD, (0.25, style.WARNING), (0.5, style.GOOD)),
            decimals=1,
        ),
        timeseries(
            f"{slo.name}: burn rate",
            "How fast the error budget burns (1 spends it exactly over "
            f"{SLO_PERIOD}), over each alert's long window; lines at the alerts' burn factors.",
            [Query(burn_rate(slo, window), window) for window in BURN_WINDOWS],
            style.BURN_RATE,
            thresholds=burn_rate_thresholds(),
        ),
    ]


def build(facts: MonitoringConfig) -> BoardContent:
    panels = [panel for slo in SLOS for panel in slo_panels(slo)]
    return BoardContent(panels, ServiceScope(m.HTTP_REQUESTS.name, "service", facts.api_service), time_from="now-7d")
