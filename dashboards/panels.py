"""The panel factory: every panel of every dashboard is made here, in the house style, from a
title, a description, its queries and a unit. Nothing else builds grafanalib panels.

Each panel points at the `datasource` variable, carries a description, and links to the
runbooks of the alerts that read what it shows. `layout` places panels left to right in
Grafana's 24-column grid and numbers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import attr
from grafanalib import core
from grafanalib.core import Panel

from . import style
from .builders import GridPos, Stat, Table, Target, TimeSeries
from .runbooks import alerts_reading

GRID_WIDTH = 24
Link = dict[str, Any]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""  # Grafana legend template: "{{route}}"; empty lets Grafana name the series
    instant: bool = False  # one value per series (tables), not a range


def _targets(queries: Sequence[Query], table: bool = False) -> list[core.Target]:
    return [
        Target(
            expr=query.expr,
            legendFormat=query.legend,
            refId=chr(ord("A") + index),
            instant=query.instant,
            format="table" if table else "time_series",
            datasource=style.DATASOURCE,
        )
        for index, query in enumerate(queries)
    ]


def _links(queries: Sequence[Query], extra: Sequence[Link]) -> list[Link]:
    return [*extra, *(style.runbook_link(name) for name in alerts_reading(query.expr for query in queries))]


def _check(title: str, description: str, queries: Sequence[Query]) -> None:
    # Fail at build time, with the panel's name, rather than at lint time with a panel id.
    if not title or not description:
        raise ValueError(f"panel {title!r}: every panel needs a title and a description")
    if not queries:
        raise ValueError(f"panel {title!r}: a panel without a query shows nothing")


def timeseries(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    *,
    thresholds: list[dict[str, Any]] | None = None,
    data_links: Sequence[Link] = (),
    links: Sequence[Link] = (),
    stacked: bool = False,
    min_value: int | None = None,
    max_value: int | None = None,
    width: int = 12,
    height: int = 8,
) -> core.TimeSeries:
    """A graph over time; thresholds are drawn as lines (the target or the limit)."""
    _check(title, description, queries)
    return TimeSeries(
        title=title,
        description=description,
        dataSource=style.DATASOURCE,
        targets=_targets(queries),
        unit=unit,
        thresholds=thresholds or style.thresholds(style.GOOD),
        thresholdsStyleMode="line" if thresholds else "off",
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none"},
        fillOpacity=30 if stacked else 10,
        valueMin=min_value,
        valueMax=max_value,
        legendDisplayMode="table",
        legendCalcs=["mean", "max", "lastNotNull"],
        tooltipMode="multi",
        links=_links(queries, links),
        gridPos=GridPos(h=height, w=width, x=0, y=0),
        extraJson={"fieldConfig": {"defaults": {"links": list(data_links)}}} if data_links else None,
    )


def utilisation(title: str, description: str, queries: Sequence[Query]) -> core.TimeSeries:
    """A share of a capacity (CPU, memory, disk) over time, from 0 to 1, against the utilisation bands."""
    return timeseries(title, description, queries, style.RATIO, thresholds=style.utilisation_thresholds(), max_value=1)


def stat(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    *,
    thresholds: list[dict[str, Any]] | None = None,
    links: Sequence[Link] = (),
    decimals: int | None = None,
    width: int = 6,
    height: int = 4,
) -> core.Stat:
    """One number (the last value), coloured by its thresholds."""
    _check(title, description, queries)
    return Stat(
        title=title,
        description=description,
        dataSource=style.DATASOURCE,
        targets=_targets(queries),
        format=unit,
        thresholds=thresholds or style.thresholds(style.NEUTRAL),
        reduceCalc="lastNotNull",
        decimals=decimals,
        links=_links(queries, links),
        gridPos=GridPos(h=height, w=width, x=0, y=0),
    )


def table(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    *,
    thresholds: list[dict[str, Any]] | None = None,
    links: Sequence[Link] = (),
    width: int = 12,
    height: int = 8,
) -> core.Table:
    """The current value per series, one row each (queries should be instant)."""
    _check(title, description, queries)
    return Table(
        title=title,
        description=description,
        dataSource=style.DATASOURCE,
        targets=_targets(queries, table=True),
        unit=unit,
        thresholds=thresholds or style.thresholds(style.NEUTRAL),
        displayMode="color-text",
        links=_links(queries, links),
        gridPos=GridPos(h=height, w=width, x=0, y=0),
        transformations=[{"id": "merge", "options": {}}],
    )


def layout(panels: Sequence[Panel]) -> list[Panel]:
    """Place panels in reading order, wrapping at the grid's width, and give them ids 1..n."""
    placed: list[Panel] = []
    x = y = row_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        size: core.GridPos = panel.gridPos
        if x + size.w > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        placed.append(attr.evolve(panel, id=panel_id, gridPos=GridPos(h=size.h, w=size.w, x=x, y=y)))
        x += size.w
        row_height = max(row_height, size.h)
    return placed
