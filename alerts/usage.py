"""Usage metering and invoicing alerts: events lost on the way in, stuck on the way to BigQuery,
dead-lettered, refused by BigQuery, and invoices that disagree with the metered units.

All but one are tickets: no customer waits on the pipeline, but each means revenue not (or
wrongly) billed until someone acts. Pub/Sub keeps an undelivered message 7 days, so a backlog
older than 3 days pages, before anything is lost. Thresholds sit at the top; the topic, the
BigQuery subscription and the invoicing jobs come from the stack's MonitoringConfig
(`monitoring.usage`), and a stack without the pipeline has none of these alerts. Each alert
carries the promtool scenario that makes it fire and the probe that holds its signal at a level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alerts import probes
from alerts.model import AlertRule, InputSeries, RuleGroup, Severity, SignalProbe, TrafficGuard
from alerts.resources import (
    STEADY_STEP,
    STEADY_STEPS,
    events_in_window_probe,
    probe_steps,
    steady_scenario,
    steady_series,
    window_settle,
)
from observability import catalogue as m

if TYPE_CHECKING:
    from stackconfig.monitoring import MonitoringConfig, UsagePipeline

PUBLISH_FAILURE_RATIO = 0.01  # of the events the app tried to publish
BACKLOG_AGE_WARNING_SECONDS = 30 * 60  # BigQuery writes normally keep up within seconds
BACKLOG_AGE_CRITICAL_SECONDS = 3 * 24 * 3600  # Pub/Sub drops a message after 7 days
STUCK_WRITE_SECONDS = 300  # failing writes matter once the backlog ages past this

# Scenarios and probes step by 30 s, at most half of every `for` here (1m and longer), so a `for`
# halved or doubled fails a test; 240 steps outlast every `for`.
_STEP = STEADY_STEP
_RATE_ONSET = _STEP  # rate() needs two samples


def usage_topic(pipeline: UsagePipeline) -> str:
    """The matcher of the usage topic's Pub/Sub metrics."""
    return f'topic_id="{pipeline.topic}"'


def to_bigquery(pipeline: UsagePipeline) -> str:
    """The matcher of the BigQuery subscription's Pub/Sub metrics."""
    return f'subscription_id="{pipeline.bigquery_subscription}"'


def invoicing_jobs(pipeline: UsagePipeline) -> str:
    """The matcher of the invoicing jobs' Cloud Run job metrics."""
    return f'job_name=~"{"|".join(pipeline.jobs)}"'


def _backlog_age(
    pipeline: UsagePipeline, severity: Severity, threshold: int, for_: str, age: float, siblings: dict[Severity, int]
) -> AlertRule:
    labels = {"subscription_id": pipeline.bigquery_subscription}
    series = probes.with_labels(m.PUBSUB_OLDEST_UNACKED.name, labels)
    return AlertRule(
        name="UsageBacklogOld",
        expr=f"max by (subscription_id) ({m.PUBSUB_OLDEST_UNACKED.name}{{{to_bigquery(pipeline)}}}) > {threshold}",
        for_=for_,
        severity=severity,
        summary="Usage events wait {{ $value | humanize }}s in {{ $labels.subscription_id }}.",
        description=(
            "The oldest usage event {{ $labels.subscription_id }} has not written to BigQuery is "
            "{{ $value | humanize }}s "
            f"old (threshold {threshold}s). Monthly usage and invoices miss it until it is written; Pub/Sub drops it "
            "after 7 days."
        ),
        scenario=steady_scenario(steady_series(series, age), labels=labels, value=age, siblings=siblings),
        # Healthy: BigQuery writes keep the oldest message seconds old.
        probe=SignalProbe(
            series=probes.gauge(series, probe_steps(for_, 0)),
            healthy=5,
            threshold=threshold,
            step_seconds=_STEP,
            labels=labels,
        ),
    )


def usage_alerts(monitoring: MonitoringConfig, pipeline: UsagePipeline) -> RuleGroup:
    published, failures = m.USAGE_EVENTS_PUBLISHED.name, m.USAGE_PUBLISH_FAILURES.name
    api_labels = {"service": monitoring.api_service}
    api = f'service="{monitoring.api_service}"'
    topic_labels = {"topic_id": pipeline.topic}
    subscription_labels = {"subscription_id": pipeline.bigquery_subscription}
    sent = m.PUBSUB_SEND_REQUESTS.name
    pushed = m.PUBSUB_PUSH_REQUESTS.name
    oldest = m.PUBSUB_OLDEST_UNACKED.name
    dead_letters = probes.with_labels(m.PUBSUB_DEAD_LETTERS.name, subscription_labels)
    job_labels = {"job_name": pipeline.jobs[-1]}
    failed_runs = probes.with_labels(m.RUN_JOB_EXECUTIONS.name, {**job_labels, "result": "failed"})
    month_labels = {"usage_month": "2026-10"}
    mismatches = probes.with_labels(m.RECONCILIATION_MISMATCHES.name, month_labels)
    refused = probes.with_labels(sent, {**topic_labels, "response_class": "invalid"})
    failed_writes = probes.with_labels(pushed, {**subscription_labels, "response_class": "internal"})
    oldest_series = probes.with_labels(oldest, subscription_labels)
    publish_settle = window_settle("5m")
    writes_settle = window_settle("10m")

    def failed_writes_while_aging(level: float, age: float) -> tuple[InputSeries, ...]:
        steps = probe_steps("10m", writes_settle)
        return (
            *probes.counter_rate(failed_writes, _STEP, steps)(level, 0),
            *probes.gauge(oldest_series, steps)(age, 0),
        )

    return RuleGroup(
        name="usage-metering",
        rules=(
            AlertRule(
                name="UsagePublishFailing",
                expr=(
                    f"sum by (service) (rate({failures}[5m]))\n/\n"
                    f"(sum by (service) (rate({published}[5m])) + sum by (service) (rate({failures}[5m])))\n"
                    f"> {PUBLISH_FAILURE_RATIO:g}"
                ),
                for_="10m",
                severity=Severity.WARNING,
                summary=(
                    "The {{ $labels.service }} fails to publish {{ $value | humanizePercentage }} of its usage events."
                ),
                description=(
                    "{{ $value | humanizePercentage }} of the usage events the {{ $labels.service }} tried to publish "
                    f"failed after its client's retries (threshold {PUBLISH_FAILURE_RATIO:.0%}): Pub/Sub "
                    "unreachable, the publisher lacks its grant, or the schema refuses the events. They are not "
                    "billed until republished."
                ),
                scenario=steady_scenario(
                    steady_series(f'{published}{{{api},unit_kind="request"}}', 0, 285),
                    steady_series(f"{failures}{{{api}}}", 0, 15),
                    labels=api_labels,
                    value=0.05,
                    onset=_RATE_ONSET,
                ),
                # Failures are the level's share of the events the API tried to publish.
                probe=SignalProbe(
                    series=probes.share(
                        probes.with_labels(failures, api_labels),
                        probes.with_labels(published, {**api_labels, "unit_kind": "request"}),
                        _STEP,
                        probe_steps("10m", publish_settle),
                    ),
                    healthy=0.001,
                    threshold=PUBLISH_FAILURE_RATIO,
                    step_seconds=_STEP,
                    settle_seconds=publish_settle,
                    onset_seconds=_STEP,
                    labels=api_labels,
                ),
            ),
            AlertRule(
                name="UsagePublishRefused",
                expr=(
                    f'sum by (topic_id) (rate({sent}{{{usage_topic(pipeline)},response_class!="success"}}[10m])) > 0'
                ),
                for_="10m",
                severity=Severity.WARNING,
                summary="Pub/Sub refuses usage events on {{ $labels.topic_id }}.",
                description=(
                    "Pub/Sub refuses {{ $value | humanize }} publish requests per second on "
                    "{{ $labels.topic_id }}: events "
                    "that do not match the schema (metering/schema/usage_event.avsc), or a publisher without its grant."
                ),
                scenario=steady_scenario(
                    steady_series(probes.with_labels(sent, {**topic_labels, "response_class": "success"}), 0, 300),
                    steady_series(refused, 0, 3),
                    labels=topic_labels,
                    value=0.1,
                    onset=_RATE_ONSET,
                ),
                probe=SignalProbe(
                    series=probes.counter_rate(refused, _STEP, probe_steps("10m", writes_settle)),
                    healthy=0,
                    threshold=0,
                    step_seconds=_STEP,
                    settle_seconds=writes_settle,
                    onset_seconds=_STEP,
                    labels=topic_labels,
                ),
            ),
            _backlog_age(pipeline, Severity.WARNING, BACKLOG_AGE_WARNING_SECONDS, "10m", 3600, {}),
            _backlog_age(
                pipeline, Severity.CRITICAL, BACKLOG_AGE_CRITICAL_SECONDS, "10m", 4 * 24 * 3600, {Severity.WARNING: 0}
            ),
            AlertRule(
                name="UsageBigQueryWritesFailing",
                expr=(
                    f"sum by (subscription_id) (rate({pushed}"
                    f'{{{to_bigquery(pipeline)},response_class!="ack"}}[10m])) > 0\n'
                    f"and\nmax by (subscription_id) ({oldest}{{{to_bigquery(pipeline)}}})"
                    f" > {STUCK_WRITE_SECONDS}"
                ),
                for_="10m",
                severity=Severity.WARNING,
                summary="BigQuery refuses the usage events of {{ $labels.subscription_id }}.",
                description=(
                    "The writes of {{ $labels.subscription_id }} to BigQuery fail ({{ $value | humanize }} per "
                    "second) while its backlog ages: a permission, a missing table or a schema mismatch. Events are "
                    "retried with backoff, "
                    "then dead-lettered."
                ),
                scenario=steady_scenario(
                    steady_series(probes.with_labels(pushed, {**subscription_labels, "response_class": "ack"}), 0, 30),
                    steady_series(failed_writes, 0, 15),
                    steady_series(oldest_series, 600),
                    labels=subscription_labels,
                    value=0.5,
                    onset=_RATE_ONSET,
                ),
                # The level is the failed writes per second; the guard is the backlog's age (the
                # probe's `traffic`): failing writes alone, retried while the backlog stays fresh,
                # are no ticket.
                probe=SignalProbe(
                    series=failed_writes_while_aging,
                    healthy=0,
                    threshold=0,
                    traffic=2 * STUCK_WRITE_SECONDS,
                    step_seconds=_STEP,
                    settle_seconds=writes_settle,
                    onset_seconds=_STEP,
                    labels=subscription_labels,
                    guard=TrafficGuard(threshold=STUCK_WRITE_SECONDS, faulty_level=0.5),
                ),
            ),
            AlertRule(
                name="UsageDeadLetters",
                expr=(
                    f"sum by (subscription_id) "
                    f"(increase({m.PUBSUB_DEAD_LETTERS.name}{{{to_bigquery(pipeline)}}}[15m])) > 0"
                ),
                for_="1m",
                severity=Severity.WARNING,
                summary="{{ $labels.subscription_id }} dead-lettered usage events.",
                description=(
                    "Usage events of {{ $labels.subscription_id }} could not be written to BigQuery after every "
                    "delivery attempt and were moved to the dead-letter topic in the last 15 minutes. They are not "
                    "billed until replayed."
                ),
                scenario=steady_scenario(
                    steady_series(dead_letters, 0, 1),
                    labels=subscription_labels,
                    value=None,
                    onset=_RATE_ONSET,
                ),
                probe=events_in_window_probe(dead_letters, "15m", "1m", subscription_labels),
            ),
            AlertRule(
                name="InvoiceReconciliationMismatch",
                expr=f"max by (usage_month) ({m.RECONCILIATION_MISMATCHES.name}) > 0",
                for_="1m",
                severity=Severity.WARNING,
                summary="{{ $value }} invoice lines of {{ $labels.usage_month }} disagree with the metered usage.",
                description=(
                    "The reconcile job found {{ $value }} invoice lines of {{ $labels.usage_month }} whose invoiced "
                    "units differ from the deduplicated metered units (late events, a failed invoice run, a "
                    "double-written line)."
                ),
                # The reconcile job reports no mismatch, then two on its next run.
                scenario=steady_scenario(
                    InputSeries(mismatches, f"0 2+0x{STEADY_STEPS}"),
                    labels=month_labels,
                    value=2,
                    onset=_STEP,
                ),
                probe=SignalProbe(
                    series=probes.gauge(mismatches, probe_steps("1m", 0)),
                    healthy=0,
                    threshold=0,
                    integer=True,
                    step_seconds=_STEP,
                    labels=month_labels,
                ),
            ),
            AlertRule(
                name="InvoicingJobFailed",
                expr=(
                    f"sum by (job_name) (increase({m.RUN_JOB_EXECUTIONS.name}"
                    f'{{{invoicing_jobs(pipeline)},result="failed"}}[1h])) > 0'
                ),
                for_="1m",
                severity=Severity.WARNING,
                summary="An execution of {{ $labels.job_name }} failed.",
                description=(
                    "An execution of the job {{ $labels.job_name }} failed in the last hour, after its retries: "
                    "the month "
                    "is not (fully) invoiced, or not reconciled."
                ),
                scenario=steady_scenario(
                    steady_series(failed_runs, 0, 1),
                    labels=job_labels,
                    value=None,
                    onset=_RATE_ONSET,
                ),
                probe=events_in_window_probe(failed_runs, "1h", "1m", job_labels),
            ),
        ),
    )


def usage_rule_groups(monitoring: MonitoringConfig) -> tuple[RuleGroup, ...]:
    """The pipeline's alerts, where the stack runs it (usage.enabled)."""
    if monitoring.usage is None:
        return ()
    return (usage_alerts(monitoring, monitoring.usage),)
