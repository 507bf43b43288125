"""Service level objectives as small objects; their recording rules and burn-rate alerts are
derived from them (Google SRE workbook, chapter "Alerting on SLOs"), never written by hand.

An SLO is its service, its objective and two queries: the good events and all events, each a
`string.Template` whose `$window` is the range to rate over. Everything else (the error-ratio
recording rules per window, the multi-window multi-burn-rate alerts, the dashboards' error-budget
panels) reads the names this module gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from observability import catalogue as m

# The compliance period the burn rates are relative to.
SLO_PERIOD = "30d"

# Every window a recording rule exists for: the burn-rate alerts' long and short windows, and the period.
ERROR_RATIO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", SLO_PERIOD)


@dataclass(frozen=True)
class BurnRateWindow:
    """Alert when the error budget burns `factor` times too fast over both windows."""

    severity: str  # critical pages, warning opens a ticket
    long_window: str
    short_window: str
    factor: float
    budget_spent: str  # what firing means, for the alert's description


# The SRE workbook's table (FACTS.md): page at 2% and 5% of the budget, ticket at 10%.
BURN_RATE_WINDOWS = (
    BurnRateWindow("critical", "1h", "5m", 14.4, "2% of the 30-day error budget in 1 hour"),
    BurnRateWindow("critical", "6h", "30m", 6, "5% of the 30-day error budget in 6 hours"),
    BurnRateWindow("warning", "1d", "2h", 3, "10% of the 30-day error budget in 1 day"),
    BurnRateWindow("warning", "3d", "6h", 1, "10% of the 30-day error budget in 3 days"),
)


@dataclass(frozen=True)
class SLO:
    name: str  # kebab-case, the `slo` label of its series: "api-availability"
    service: str  # the workload it is about: "api", "worker"
    objective: float  # fraction of events that must be good over SLO_PERIOD, in (0, 1)
    description: str
    good: Template  # PromQL of good events per second over `$window`
    total: Template  # PromQL of all events per second over `$window`

    def __post_init__(self) -> None:
        problems = slo_problems(self)
        if problems:
            raise ValueError(f"SLO {self.name!r}: " + "; ".join(problems))

    @property
    def error_budget(self) -> float:
        return 1 - self.objective

    def error_ratio_query(self, window: str) -> str:
        """The SLI's error ratio over `window`, from the raw series."""
        good = self.good.substitute(window=window)
        total = self.total.substitute(window=window)
        return f"1 - (({good}) / ({total}))"

    @staticmethod
    def error_ratio_record(window: str) -> str:
        """Name of the recording rule holding every SLO's error ratio over `window` (label `slo`)."""
        return f"slo:sli_error:ratio_rate{window}"

    def error_ratio_series(self, window: str) -> str:
        """This SLO's recorded error ratio over `window`, as a PromQL selector."""
        return f'{self.error_ratio_record(window)}{{slo="{self.name}"}}'


def slo_problems(slo: SLO) -> list[str]:
    """What is wrong with an SLO's definition, in words; empty when it is sound."""
    problems = []
    if not 0 < slo.objective < 1:
        problems.append(f"objective {slo.objective} must be between 0 and 1, exclusive (0.999 for 99.9%)")
    for field in ("good", "total"):
        template: Template = getattr(slo, field)
        if "window" not in template.get_identifiers():
            problems.append(f"the {field} query must rate over $window")
    return problems


_API_REQUESTS = f'{m.HTTP_REQUESTS.name}{{service="api"}}'

API_AVAILABILITY = SLO(
    name="api-availability",
    service="api",
    objective=0.999,
    description="99.9% of API requests succeed (any status but 5xx).",
    good=Template(f'sum(rate({m.HTTP_REQUESTS.name}{{service="api",code!~"5.."}}[$window]))'),
    total=Template(f"sum(rate({_API_REQUESTS}[$window]))"),
)

API_LATENCY = SLO(
    name="api-latency",
    service="api",
    objective=0.95,
    description="95% of API requests are served in under 500 ms.",
    good=Template(
        f'sum(rate({m.HTTP_REQUEST_DURATION.bucket}{{service="api",le="{m.LATENCY_SLO_BUCKET}"}}[$window]))'
    ),
    total=Template(f'sum(rate({m.HTTP_REQUEST_DURATION.count}{{service="api"}}[$window]))'),
)

CELERY_TASK_SUCCESS = SLO(
    name="celery-task-success",
    service="worker",
    objective=0.99,
    description="99% of Celery tasks succeed (retries that end in success count as success).",
    good=Template(f'sum(rate({m.CELERY_TASKS.name}{{state="succeeded"}}[$window]))'),
    total=Template(f'sum(rate({m.CELERY_TASKS.name}{{state=~"succeeded|failed"}}[$window]))'),
)

SLOS = (API_AVAILABILITY, API_LATENCY, CELERY_TASK_SUCCESS)
