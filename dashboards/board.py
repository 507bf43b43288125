"""A dashboard as data: its stable uid, title and the question it answers, plus a function from
a stack's facts to its panels. `assemble` adds what every dashboard has in common: the three
template variables, tags, links to the other dashboards, time settings, read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from grafanalib import core
from grafanalib.core import GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR

from stackconfig.monitoring import MonitoringConfig

from . import style
from .builders import Dashboard, DashboardLink, Templating, Time
from .panels import layout

# Grafana migrates older schemas on load; this one matches the panels' fieldConfig layout.
SCHEMA_VERSION = 39


@dataclass(frozen=True)
class ServiceScope:
    """What the `service` variable lists: the label values of `label` on `anchor`."""

    anchor: str  # a series that every service of interest reports
    label: str  # `service` (app metrics) or `service_name` (Cloud Run's)
    default: str


@dataclass(frozen=True)
class BoardContent:
    panels: list[core.Panel]
    service: ServiceScope
    variables: tuple[core.Template, ...] = ()  # after datasource, environment and service
    time_from: str = "now-6h"


@dataclass(frozen=True)
class DashboardSpec:
    uid: str  # stable: links and bookmarks use it; a golden list in the tests pins it
    title: str
    question: str  # what the dashboard answers, for its description and docs/dashboards.md
    build: Callable[[MonitoringConfig], BoardContent]
    tags: tuple[str, ...] = field(default=())
    # Whether the stack has what the board shows (the usage pipeline's board needs the pipeline).
    deployed_in: Callable[[MonitoringConfig], bool] = field(default=lambda facts: True)


def assemble(spec: DashboardSpec, facts: MonitoringConfig) -> core.Dashboard:
    content = spec.build(facts)
    variables = [
        style.datasource_variable(),
        style.environment_variable(facts.project),
        style.service_variable(content.service.anchor, content.service.label, content.service.default),
        *content.variables,
    ]
    return Dashboard(
        uid=spec.uid,
        title=f"Omni / {spec.title}",
        description=spec.question,
        tags=[style.TAG, *spec.tags],
        panels=layout(content.panels),
        templating=Templating(list=variables),
        links=[
            DashboardLink(
                title="Omni dashboards",
                type="dashboards",
                tags=[style.TAG],
                asDropdown=True,
                includeVars=True,
                keepTime=True,
            )
        ],
        time=Time(content.time_from, "now"),
        timezone="utc",
        refresh="1m",
        editable=False,  # provisioned from code: a change made in the UI would be lost
        graphTooltip=GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        schemaVersion=SCHEMA_VERSION,
    )
