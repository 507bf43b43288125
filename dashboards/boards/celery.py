"""Celery: queue depth, task throughput and failures, run time and queue wait, workers."""

from __future__ import annotations

from alerts.slo import CELERY_TASK_SUCCESS
from observability import catalogue as m
from stackconfig.monitoring import MonitoringConfig

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, table, timeseries

QUEUE_DEPTH_WARNING = 100.0  # a few minutes of work at the workers' usual pace
QUEUE_DEPTH_CRITICAL = 1000.0
FAILED = 'state="failed"'


def failure_ratio(by: tuple[str, ...] = ()) -> str:
    finished = 'state=~"succeeded|failed"'
    return q.ratio(q.sum_rate(m.CELERY_TASKS.name, FAILED, by=by), q.sum_rate(m.CELERY_TASKS.name, finished, by=by))


def failure_thresholds() -> list:
    """Red past the task-success SLO's budget (1% of tasks may fail)."""
    return style.thresholds(style.GOOD, (CELERY_TASK_SUCCESS.error_budget, style.BAD))


def build(facts: MonitoringConfig) -> BoardContent:
    queue_thresholds = style.thresholds(
        style.GOOD, (QUEUE_DEPTH_WARNING, style.WARNING), (QUEUE_DEPTH_CRITICAL, style.BAD)
    )
    panels = [
        stat(
            "Messages waiting",
            "Messages in all queues on the broker.",
            [Query(q.sum_of(m.CELERY_QUEUE_LENGTH.name))],
            style.COUNT,
            thresholds=queue_thresholds,
        ),
        stat(
            "Worker processes answering",
            f"Processes that answered the last ping; {facts.stack} runs "
            f"{facts.worker_processes} (instances x concurrency), red below that.",
            [Query(q.sum_of(m.CELERY_WORKERS.name))],
            style.COUNT,
            thresholds=style.thresholds(style.BAD, (float(facts.worker_processes), style.GOOD)),
        ),
        stat(
            "Tasks per second",
            "Tasks finished per second, in any state.",
            [Query(q.sum_rate(m.CELERY_TASKS.name))],
            style.OPS_PER_SECOND,
        ),
        stat(
            "Failure ratio",
            f"Share of finished tasks that failed; the SLO allows {CELERY_TASK_SUCCESS.error_budget:.0%}.",
            [Query(failure_ratio())],
            style.RATIO,
            thresholds=failure_thresholds(),
            decimals=2,
        ),
        timeseries(
            "Queue depth by queue",
            "Messages waiting per queue; a queue that only grows has too few workers or a stuck task.",
            [Query(q.sum_of(m.CELERY_QUEUE_LENGTH.name, by=("queue",)), "{{queue}}")],
            style.COUNT,
            thresholds=queue_thresholds,
        ),
        timeseries(
            "Tasks by state",
            "Tasks finished per second: succeeded, failed, retried.",
            [Query(q.sum_rate(m.CELERY_TASKS.name, by=("state",)), "{{state}}")],
            style.OPS_PER_SECOND,
            stacked=True,
        ),
        timeseries(
            "Failure ratio by task",
            "Per task name, the share of finished runs that failed.",
            [Query(failure_ratio(by=("task",)), "{{task}}")],
            style.RATIO,
            thresholds=failure_thresholds(),
        ),
        # Traces cross the Celery boundary: a slow task's trace starts at the request or beat tick that sent it.
        timeseries(
            "Run time by task (p95)",
            "95th percentile of how long each task runs. Click a point for traces.",
            [Query(q.quantile(0.95, m.CELERY_TASK_DURATION, by=("task",)), "{{task}}")],
            style.SECONDS,
            data_links=[style.trace_link()],
        ),
        timeseries(
            "Queue wait by task (p95)",
            "How long tasks wait in the queue before a worker starts them: "
            "the delay users feel. Click a point for traces.",
            [Query(q.quantile(0.95, m.CELERY_TASK_QUEUE_WAIT, by=("task",)), "{{task}}")],
            style.SECONDS,
            data_links=[style.trace_link()],
        ),
        table(
            "Most failing tasks",
            "The ten tasks failing most often right now, in failures per second.",
            [Query(q.top(10, q.sum_rate(m.CELERY_TASKS.name, FAILED, by=("task",))), instant=True)],
            style.OPS_PER_SECOND,
        ),
    ]
    return BoardContent(panels, ServiceScope(m.CELERY_TASKS.name, "service", facts.worker_service))
