"""Service level objectives as small objects; their recording rules and burn-rate alerts are
derived from them (Google SRE workbook, chapter "Alerting on SLOs"), never written by hand.

An SLO is its service, its objective and two queries: the bad events and all events, each a
`string.Template` whose `$window` is the range to rate over (Sloth's errors over total).
Everything else (the error-ratio recording rules per window, the multi-window multi-burn-rate
alerts, the dashboards' error-budget panels) reads the names this module gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from observability import catalogue as m
from observability.catalogue import API_WORKLOAD, WORKER_WORKLOAD

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
    service: str  # the workload it is about (stackconfig.monitoring's API_WORKLOAD, WORKER_WORKLOAD)
    objective: float  # fraction of events that must be good over SLO_PERIOD, in (0, 1)
    description: str
    # PromQL of bad events per second over `$window`. Errors over total, as Sloth has it: the
    # ratio needs the bad series and the total only, so a good series that goes stale (no 2xx
    # during an outage) cannot make the ratio vanish and an alert resolve mid-outage.
    errors: Template
    total: Template  # PromQL of all events per second over `$window`

    def __post_init__(self) -> None:
        problems = slo_problems(self)
        if problems:
            raise ValueError(f"SLO {self.name!r}: " + "; ".join(problems))

    @property
    def error_budget(self) -> float:
        return round(1 - self.objective, 12)

    @property
    def good(self) -> Template:
        """Good events per second over `$window`: all events minus the bad ones (none when no
        bad series exists yet), for readers that show a success ratio."""
        return Template(f"({self.total.template}) - (({self.errors.template}) or vector(0))")

    def error_ratio_query(self, window: str) -> str:
        """The SLI's error ratio over `window`, from the raw series: 0 while no bad event exists,
        empty only when there is no event at all."""
        errors = self.errors.substitute(window=window)
        total = self.total.substitute(window=window)
        return f"(({errors}) or vector(0))\n/\n({total})"

    @staticmethod
    def error_ratio_record(window: str) -> str:
        """Name of the recording rule holding every SLO's error ratio over `window` (label `slo`)."""
        return f"slo:sli_error:ratio_rate{window}"

    def error_ratio_series(self, window: str) -> str:
        """This SLO's recorded error ratio over `window`, as a PromQL selector."""
        return f'{self.error_ratio_record(window)}{{slo="{self.name}"}}'


# Sloth's metadata series: what the SLO dashboard and other readers take the objective, the budget
# and the period from, instead of repeating the numbers. One series per SLO, label `slo`.
OBJECTIVE_RECORD = "slo:objective:ratio"
ERROR_BUDGET_RECORD = "slo:error_budget:ratio"
PERIOD_DAYS_RECORD = "slo:time_period:days"
CURRENT_BURN_RATE_RECORD = "slo:current_burn_rate:ratio"  # over 5 minutes
PERIOD_BURN_RATE_RECORD = "slo:period_burn_rate:ratio"  # over the whole period
BUDGET_REMAINING_RECORD = "slo:period_error_budget_remaining:ratio"  # 1 unspent, 0 spent, below 0 missed
# The period's ratio is not a rate over 30 days of raw counters (which a restarted evaluator or a
# counter reset distorts, and which is costly): it sums recorded 5-minute event rates, so each
# 5 minutes weighs by its traffic.
ERROR_EVENTS_RECORD = "slo:sli_error_events:rate5m"
EVENTS_RECORD = "slo:sli_events:rate5m"
PERIOD_SOURCE_WINDOW = "5m"
# Every series the SLO rule groups record: what dashboards may read besides catalogued metrics.
SLO_RECORDS = frozenset(
    {f"slo:sli_error:ratio_rate{window}" for window in ERROR_RATIO_WINDOWS}
    | {
        OBJECTIVE_RECORD,
        ERROR_BUDGET_RECORD,
        PERIOD_DAYS_RECORD,
        CURRENT_BURN_RATE_RECORD,
        PERIOD_BURN_RATE_RECORD,
        BUDGET_REMAINING_RECORD,
        ERROR_EVENTS_RECORD,
        EVENTS_RECORD,
    }
)


def slo_problems(slo: SLO) -> list[str]:
    """What is wrong with an SLO's definition, in words; empty when it is sound."""
    problems = []
    if not 0 < slo.objective < 1:
        problems.append(f"objective {slo.objective} must be between 0 and 1, exclusive (0.999 for 99.9%)")
    for field in ("errors", "total"):
        template: Template = getattr(slo, field)
        if "window" not in template.get_identifiers():
            problems.append(f"the {field} query must rate over $window")
    return problems


_API = f'service="{API_WORKLOAD}"'
_WORKER = f'service="{WORKER_WORKLOAD}"'

API_AVAILABILITY = SLO(
    name="api-availability",
    service=API_WORKLOAD,
    objective=0.999,
    description="99.9% of API requests succeed (any status but 5xx).",
    errors=Template(f'sum(rate({m.HTTP_REQUESTS.name}{{{_API},code=~"5.."}}[$window]))'),
    total=Template(f"sum(rate({m.HTTP_REQUESTS.name}{{{_API}}}[$window]))"),
)

API_LATENCY = SLO(
    name="api-latency",
    service=API_WORKLOAD,
    objective=0.95,
    description="95% of API requests are served in under 500 ms.",
    # Requests slower than 500 ms: all of them minus the SLO bucket (one histogram: both series
    # come and go together).
    errors=Template(
        f"sum(rate({m.HTTP_REQUEST_DURATION.count}{{{_API}}}[$window]))\n-\n"
        f'sum(rate({m.HTTP_REQUEST_DURATION.bucket}{{{_API},le="{m.LATENCY_SLO_BUCKET}"}}[$window]))'
    ),
    total=Template(f"sum(rate({m.HTTP_REQUEST_DURATION.count}{{{_API}}}[$window]))"),
)

CELERY_TASK_SUCCESS = SLO(
    name="celery-task-success",
    service=WORKER_WORKLOAD,
    objective=0.99,
    description="99% of Celery tasks succeed (retries that end in success count as success).",
    errors=Template(f'sum(rate({m.CELERY_TASKS.name}{{{_WORKER},state="failed"}}[$window]))'),
    total=Template(f'sum(rate({m.CELERY_TASKS.name}{{{_WORKER},state=~"succeeded|failed"}}[$window]))'),
)

SLOS = (API_AVAILABILITY, API_LATENCY, CELERY_TASK_SUCCESS)
