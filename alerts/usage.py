"""Usage metering and invoicing alerts: events lost on the way in, stuck on the way to BigQuery,
dead-lettered, refused by BigQuery, and invoices that disagree with the metered units.

All but one are tickets: no customer waits on the pipeline, but each means revenue not (or
wrongly) billed until someone acts. Pub/Sub keeps an undelivered message 7 days, so a backlog
older than 3 days pages, before anything is lost. Thresholds sit at the top; each alert carries
the promtool scenario that makes it fire. The pipeline has one topic and one BigQuery
subscription per project; the rules keep the label that names it, for inhibition and the message.
"""

from __future__ import annotations

from alerts.model import AlertRule, AlertScenario, InputSeries, RuleGroup, Severity
from observability import catalogue as m

USAGE_TOPIC = 'topic_id=~".+-usage-events"'
TO_BIGQUERY = 'subscription_id=~".+-usage-events-bigquery"'
PUBLISH_FAILURE_RATIO = 0.01  # of the events the app tried to publish
BACKLOG_AGE_WARNING_SECONDS = 30 * 60  # BigQuery writes normally keep up within seconds
BACKLOG_AGE_CRITICAL_SECONDS = 3 * 24 * 3600  # Pub/Sub drops a message after 7 days
STUCK_WRITE_SECONDS = 300  # failing writes matter once the backlog ages past this

# Scenario data: the prod stack's names.
BIGQUERY_SUBSCRIPTION = 'subscription_id="omni-prod-usage-events-bigquery"'
SUBSCRIPTION_LABELS = {"subscription_id": "omni-prod-usage-events-bigquery"}
_STEPS = 120
_STEP = 60
_RATE_ONSET = _STEP  # rate() needs two samples


def _series(series: str, start: float, increment: float = 0) -> InputSeries:
    return InputSeries(series, f"{start:g}+{increment:g}x{_STEPS}")


def _scenario(
    *series: InputSeries,
    labels: dict[str, str],
    value: float | None,
    onset: int = 0,
    siblings: dict[Severity, int] | None = None,
) -> AlertScenario:
    return AlertScenario(
        input_series=series,
        step_seconds=_STEP,
        onset_seconds=onset,
        series_labels=labels,
        value=value,
        sibling_onsets=siblings or {},
    )


def _backlog_age(severity: Severity, threshold: int, for_: str, age: float, siblings: dict[Severity, int]) -> AlertRule:
    return AlertRule(
        name="UsageBacklogOld",
        expr=f"max by (subscription_id) ({m.PUBSUB_OLDEST_UNACKED.name}{{{TO_BIGQUERY}}}) > {threshold}",
        for_=for_,
        severity=severity,
        summary="Usage events wait {{ $value | humanize }}s in {{ $labels.subscription_id }}.",
        description=(
            "The oldest usage event {{ $labels.subscription_id }} has not written to BigQuery is "
            "{{ $value | humanize }}s "
            f"old (threshold {threshold}s). Monthly usage and invoices miss it until it is written; Pub/Sub drops it "
            "after 7 days."
        ),
        scenario=_scenario(
            _series(f"{m.PUBSUB_OLDEST_UNACKED.name}{{{BIGQUERY_SUBSCRIPTION}}}", age),
            labels=SUBSCRIPTION_LABELS,
            value=age,
            siblings=siblings,
        ),
    )


def usage_alerts() -> RuleGroup:
    published, failures = m.USAGE_EVENTS_PUBLISHED.name, m.USAGE_PUBLISH_FAILURES.name
    api = 'service="api"'
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
                scenario=_scenario(
                    _series(f'{published}{{{api},unit_kind="request"}}', 0, 570),
                    _series(f"{failures}{{{api}}}", 0, 30),
                    labels={"service": "api"},
                    value=0.05,
                    onset=_RATE_ONSET,
                ),
            ),
            AlertRule(
                name="UsagePublishRefused",
                expr=(
                    f"sum by (topic_id) (rate({m.PUBSUB_SEND_REQUESTS.name}"
                    f'{{{USAGE_TOPIC},response_class!="success"}}[10m])) > 0'
                ),
                for_="10m",
                severity=Severity.WARNING,
                summary="Pub/Sub refuses usage events on {{ $labels.topic_id }}.",
                description=(
                    "Pub/Sub refuses {{ $value | humanize }} publish requests per second on "
                    "{{ $labels.topic_id }}: events "
                    "that do not match the schema (metering/schema/usage_event.avsc), or a publisher without its grant."
                ),
                scenario=_scenario(
                    _series(
                        f'{m.PUBSUB_SEND_REQUESTS.name}{{topic_id="omni-prod-usage-events",response_class="success"}}',
                        0,
                        600,
                    ),
                    _series(
                        f'{m.PUBSUB_SEND_REQUESTS.name}{{topic_id="omni-prod-usage-events",response_class="invalid"}}',
                        0,
                        6,
                    ),
                    labels={"topic_id": "omni-prod-usage-events"},
                    value=0.1,
                    onset=_RATE_ONSET,
                ),
            ),
            _backlog_age(Severity.WARNING, BACKLOG_AGE_WARNING_SECONDS, "10m", 3600, {}),
            _backlog_age(Severity.CRITICAL, BACKLOG_AGE_CRITICAL_SECONDS, "10m", 4 * 24 * 3600, {Severity.WARNING: 0}),
            AlertRule(
                name="UsageBigQueryWritesFailing",
                expr=(
                    f"sum by (subscription_id) (rate({m.PUBSUB_PUSH_REQUESTS.name}"
                    f'{{{TO_BIGQUERY},response_class!="ack"}}[10m])) > 0\n'
                    f"and\nmax by (subscription_id) ({m.PUBSUB_OLDEST_UNACKED.name}{{{TO_BIGQUERY}}})"
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
                scenario=_scenario(
                    _series(f'{m.PUBSUB_PUSH_REQUESTS.name}{{{BIGQUERY_SUBSCRIPTION},response_class="ack"}}', 0, 60),
                    _series(
                        f'{m.PUBSUB_PUSH_REQUESTS.name}{{{BIGQUERY_SUBSCRIPTION},response_class="internal"}}', 0, 30
                    ),
                    _series(f"{m.PUBSUB_OLDEST_UNACKED.name}{{{BIGQUERY_SUBSCRIPTION}}}", 600),
                    labels=SUBSCRIPTION_LABELS,
                    value=0.5,
                    onset=_RATE_ONSET,
                ),
            ),
            AlertRule(
                name="UsageDeadLetters",
                expr=f"sum by (subscription_id) (increase({m.PUBSUB_DEAD_LETTERS.name}{{{TO_BIGQUERY}}}[15m])) > 0",
                for_="1m",
                severity=Severity.WARNING,
                summary="{{ $labels.subscription_id }} dead-lettered usage events.",
                description=(
                    "Usage events of {{ $labels.subscription_id }} could not be written to BigQuery after every "
                    "delivery attempt and were moved to the dead-letter topic in the last 15 minutes. They are not "
                    "billed until replayed."
                ),
                scenario=_scenario(
                    _series(f"{m.PUBSUB_DEAD_LETTERS.name}{{{BIGQUERY_SUBSCRIPTION}}}", 0, 2),
                    labels=SUBSCRIPTION_LABELS,
                    value=None,
                    onset=_RATE_ONSET,
                ),
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
                scenario=_scenario(
                    InputSeries(f'{m.RECONCILIATION_MISMATCHES.name}{{usage_month="2026-10"}}', f"0 2+0x{_STEPS}"),
                    labels={"usage_month": "2026-10"},
                    value=2,
                    onset=_STEP,
                ),
            ),
            AlertRule(
                name="InvoicingJobFailed",
                expr=(
                    f"sum by (job_name) (increase({m.RUN_JOB_EXECUTIONS.name}"
                    f'{{job_name=~".+-(invoice|reconcile)",result="failed"}}[1h])) > 0'
                ),
                for_="1m",
                severity=Severity.WARNING,
                summary="An execution of {{ $labels.job_name }} failed.",
                description=(
                    "An execution of the job {{ $labels.job_name }} failed in the last hour, after its retries: "
                    "the month "
                    "is not (fully) invoiced, or not reconciled."
                ),
                scenario=_scenario(
                    _series(f'{m.RUN_JOB_EXECUTIONS.name}{{job_name="omni-prod-invoice",result="failed"}}', 0, 1),
                    labels={"job_name": "omni-prod-invoice"},
                    value=None,
                    onset=_RATE_ONSET,
                ),
            ),
        ),
    )


def usage_rule_groups() -> tuple[RuleGroup, ...]:
    return (usage_alerts(),)
