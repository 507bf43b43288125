"""Usage pipeline: are usage events getting from the app to BigQuery, and do invoices agree with
them? Publishing, Pub/Sub's refusals, the BigQuery subscription's backlog, writes and dead
letters, the invoicing jobs and the reconciliation (components/usage.py, alerts/usage.py)."""

from __future__ import annotations

from alerts.usage import (
    BACKLOG_AGE_CRITICAL_SECONDS,
    BACKLOG_AGE_WARNING_SECONDS,
    PUBLISH_FAILURE_RATIO,
    TO_BIGQUERY,
    USAGE_TOPIC,
)
from observability import catalogue as m

from .. import queries as q
from .. import style
from ..board import BoardContent, ServiceScope
from ..panels import Query, stat, table, timeseries
from ..stack import StackFacts

INVOICING_JOBS = 'job_name=~".+-(invoice|reconcile)"'


def attempted() -> str:
    return f"({q.sum_rate(m.USAGE_EVENTS_PUBLISHED.name)} + {q.sum_rate(m.USAGE_PUBLISH_FAILURES.name)})"


def failure_ratio() -> str:
    return q.ratio(q.sum_rate(m.USAGE_PUBLISH_FAILURES.name), attempted())


def oldest_unwritten(by: tuple[str, ...] = ()) -> str:
    grouping = f" by ({', '.join(by)})" if by else ""
    return f"max{grouping} ({q.selector(m.PUBSUB_OLDEST_UNACKED.name, TO_BIGQUERY)})"


def mismatches(by: tuple[str, ...] = ()) -> str:
    grouping = f" by ({', '.join(by)})" if by else ""
    return f"max{grouping} ({q.selector(m.RECONCILIATION_MISMATCHES.name)})"


def build(facts: StackFacts) -> BoardContent:
    age_thresholds = style.thresholds(
        style.GOOD, (BACKLOG_AGE_WARNING_SECONDS, style.WARNING), (BACKLOG_AGE_CRITICAL_SECONDS, style.BAD)
    )
    any_is_bad = style.thresholds(style.GOOD, (1, style.BAD))
    panels = [
        stat(
            "Events published per second",
            "Usage events the app published and Pub/Sub acknowledged.",
            [Query(q.sum_rate(m.USAGE_EVENTS_PUBLISHED.name))],
            style.OPS_PER_SECOND,
            width=6,
        ),
        stat(
            "Publish failures",
            f"Share of usage events the app could not publish after retries (alert above "
            f"{PUBLISH_FAILURE_RATIO:.0%}): not billed until republished.",
            [Query(failure_ratio())],
            style.RATIO,
            thresholds=style.thresholds(style.GOOD, (PUBLISH_FAILURE_RATIO, style.BAD)),
            decimals=2,
            width=6,
        ),
        stat(
            "Oldest event not in BigQuery",
            "Age of the oldest usage event the BigQuery subscription has not written; Pub/Sub drops it after 7 days.",
            [Query(oldest_unwritten())],
            style.SECONDS,
            thresholds=age_thresholds,
            width=6,
        ),
        stat(
            "Invoice lines that disagree",
            "Invoice lines whose invoiced units differ from the metered units, "
            "in the reconcile job's last run (all billed months).",
            [Query(f"sum ({mismatches(('usage_month',))})")],
            style.COUNT,
            thresholds=any_is_bad,
            width=6,
        ),
        timeseries(
            "Usage events published",
            "Events per second the app published, by unit kind, and the ones it failed to publish.",
            [
                Query(q.sum_rate(m.USAGE_EVENTS_PUBLISHED.name, by=("unit_kind",)), "{{unit_kind}}"),
                Query(q.sum_rate(m.USAGE_PUBLISH_FAILURES.name), "failed"),
            ],
            style.OPS_PER_SECOND,
        ),
        timeseries(
            "Publish requests by response",
            "Publish requests Pub/Sub answered on the usage topic: anything "
            "but success is an event refused (schema or permission).",
            [Query(q.sum_rate(m.PUBSUB_SEND_REQUESTS.name, USAGE_TOPIC, by=("response_class",)), "{{response_class}}")],
            style.REQUESTS_PER_SECOND,
        ),
        timeseries(
            "Backlog to BigQuery",
            "Messages waiting for the BigQuery subscription.",
            [Query(q.sum_of(m.PUBSUB_UNDELIVERED.name, TO_BIGQUERY, by=("subscription_id",)), "{{subscription_id}}")],
            style.COUNT,
        ),
        timeseries(
            "Oldest unwritten event",
            "Age of the oldest message the BigQuery subscription has not "
            "had acknowledged: BigQuery writes normally keep it to seconds.",
            [Query(oldest_unwritten(("subscription_id",)), "{{subscription_id}}")],
            style.SECONDS,
            thresholds=age_thresholds,
        ),
        timeseries(
            "BigQuery writes by response",
            "The BigQuery subscription's write attempts: `ack` rows were "
            "written; any other class is a failed write, retried with backoff.",
            [Query(q.sum_rate(m.PUBSUB_PUSH_REQUESTS.name, TO_BIGQUERY, by=("response_class",)), "{{response_class}}")],
            style.REQUESTS_PER_SECOND,
        ),
        timeseries(
            "Dead letters",
            "Events moved to the dead-letter topic after their last delivery attempt: each is unbilled until replayed.",
            [
                Query(
                    q.sum_rate(m.PUBSUB_DEAD_LETTERS.name, TO_BIGQUERY, by=("subscription_id",)), "{{subscription_id}}"
                )
            ],
            style.OPS_PER_SECOND,
            thresholds=style.thresholds(style.GOOD, (0.000001, style.BAD)),
        ),
        timeseries(
            "Invoicing job executions",
            "Finished executions of the invoice and reconcile jobs, by result.",
            [
                Query(
                    f"sum by (job_name, result) (increase({q.selector(m.RUN_JOB_EXECUTIONS.name, INVOICING_JOBS)}"
                    f"[{style.RATE_INTERVAL}]))",
                    "{{job_name}} {{result}}",
                )
            ],
            style.COUNT,
        ),
        table(
            "Disagreeing invoice lines per month",
            "Per billed month, the invoice lines the last reconcile run found "
            "different from the metered units; `reconciliation` in BigQuery lists them.",
            [Query(mismatches(("usage_month",)), instant=True)],
            style.COUNT,
            thresholds=any_is_bad,
        ),
    ]
    return BoardContent(
        panels, ServiceScope(m.USAGE_EVENTS_PUBLISHED.name, "service", facts.api_service), time_from="now-7d"
    )
