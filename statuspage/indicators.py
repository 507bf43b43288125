"""Each public component's availability as PromQL on the application's own metrics.

What the Prometheus source reads (the alert lab's Prometheus, or any that scrapes the app):
the share of good events over a window, from the metric catalogue, never a spelled-out name.
In production the uptime checks answer the same question from outside (`sources.gcp`).
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from alerts.slo import API_AVAILABILITY
from observability import catalogue as m

_REQUESTS = m.HTTP_REQUESTS.name
# A worker pool with no worker answering its ping cannot run tasks: up while at least one does.
_WORKERS_UP = f'(sum({m.CELERY_WORKERS.name}{{service="{m.WORKER_WORKLOAD}"}}) > bool 0)'


@dataclass(frozen=True)
class Indicator:
    """Availability over `$window` as a ratio in [0, 1]; an empty result means no data."""

    ratio: Template

    def query(self, window: str) -> str:
        return self.ratio.substitute(window=window)


def _request_success(selector: str) -> Indicator:
    api = f'service="{m.API_WORKLOAD}",'
    good = f'sum(rate({_REQUESTS}{{{api}{selector}code!~"5.."}}[$window]))'
    total = f"sum(rate({_REQUESTS}{{{api}{selector.rstrip(',')}}}[$window]))"
    return Indicator(Template(f"({good}) / ({total})"))


INDICATORS: dict[str, Indicator] = {
    "api": Indicator(Template(f"({API_AVAILABILITY.good.template}) / ({API_AVAILABILITY.total.template})")),
    "auth": _request_success('route=~"/v1/auth.*",'),
    "tasks": _request_success('route=~"/v1/tasks.*",method="POST",'),
    # A subquery: the fraction of minutes in the window with a worker up.
    "workers": Indicator(Template(f"avg_over_time({_WORKERS_UP}[$window:1m])")),
}
