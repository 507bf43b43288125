"""SLOs and error budgets, read from alerts.slo: the SLI and the budget left over the 30-day
period, and the burn rate over the alert windows (ratio / (1 - objective))."""

from __future__ import annotations

from alerts.slo import BURN_RATE_WINDOWS, SLO, SLO_PERIOD, SLOS
from observability import catalogue as m

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, timeseries
from ..stack import StackFacts

# The long windows of the multi-window alerts, shortest first: what the burn-rate graph shows.
BURN_WINDOWS = tuple(dict.fromkeys(window.long_window for window in BURN_RATE_WINDOWS))


def error_ratio(slo: SLO, window: str) -> str:
    return q.selector(slo.error_ratio_record(window), f'slo="{slo.name}"')


def burn_rate(slo: SLO, window: str) -> str:
    return f"{error_ratio(slo, window)} / {slo.error_budget:g}"


def burn_rate_thresholds() -> list:
    """A line at each alert's burn factor: orange where a ticket opens, red where it pages."""
    colours = {"critical": style.BAD, "warning": style.WARNING}
    steps = sorted({(window.factor, colours[window.severity]) for window in BURN_RATE_WINDOWS})
    return style.thresholds(style.GOOD, *steps)


def slo_panels(slo: SLO) -> list:
    return [
        stat(f"{slo.name}: SLI over {SLO_PERIOD}", f"{slo.description} Good events over all events in the "
             f"last {SLO_PERIOD}; red below the objective.",
             [Query(f"1 - {error_ratio(slo, SLO_PERIOD)}")], style.RATIO,
             thresholds=style.thresholds(style.BAD, (slo.objective, style.GOOD)), decimals=3),
        stat(f"{slo.name}: error budget left", f"Share of the {SLO_PERIOD} error budget ({slo.error_budget:.2%} "
             "of events) not yet spent; below zero the SLO is missed.",
             [Query(f"1 - ({error_ratio(slo, SLO_PERIOD)} / {slo.error_budget:g})")], style.RATIO,
             thresholds=style.thresholds(style.BAD, (0.25, style.WARNING), (0.5, style.GOOD)), decimals=1),
        timeseries(f"{slo.name}: burn rate", "How fast the error budget burns (1 spends it exactly over "
                   f"{SLO_PERIOD}), over each alert's long window; lines at the alerts' burn factors.",
                   [Query(burn_rate(slo, window), window) for window in BURN_WINDOWS], style.BURN_RATE,
                   thresholds=burn_rate_thresholds()),
    ]


def build(facts: StackFacts) -> BoardContent:
    panels = [panel for slo in SLOS for panel in slo_panels(slo)]
    return BoardContent(panels, ServiceScope(m.HTTP_REQUESTS.name, "service", facts.api_service), time_from="now-7d")
