"""grafanalib's builders, re-exported for the type checker.

grafanalib declares them with `attr.s`/`attr.ib`, whose generated `__init__` pyright cannot see
(it reports every keyword as unknown). Each is re-exported as a callable returning its class,
so calls type-check and results keep their types; attrs still validates every argument at run time.
"""

from __future__ import annotations

from collections.abc import Callable

from grafanalib import core

Dashboard: Callable[..., core.Dashboard] = core.Dashboard
DashboardLink: Callable[..., core.DashboardLink] = core.DashboardLink
GridPos: Callable[..., core.GridPos] = core.GridPos
Stat: Callable[..., core.Stat] = core.Stat
Table: Callable[..., core.Table] = core.Table
Target: Callable[..., core.Target] = core.Target
Template: Callable[..., core.Template] = core.Template
Templating: Callable[..., core.Templating] = core.Templating
Time: Callable[..., core.Time] = core.Time
TimeSeries: Callable[..., core.TimeSeries] = core.TimeSeries
