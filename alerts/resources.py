"""Resource and symptom alerts: Cloud Run, Cloud SQL, Memorystore, Celery, uptime checks, the
scrape pipeline itself, and the always-firing Watchdog.

Fixed thresholds sit at the top (the one place to tune them, as kubernetes-mixin's config
object); those that follow what the stack deploys (the database's connection limit, the API's
instance ceiling and concurrency) and every workload name and selector come from the stack's
MonitoringConfig (stackconfig/monitoring.py), so each group is a function of it. Each alert
carries the promtool scenario that makes it fire and the probe that holds its signal at a level,
so its unit tests are derived data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alerts import probes
from alerts.model import AlertRule, AlertScenario, InputSeries, RuleGroup, Severity, SignalProbe, TrafficGuard
from observability import catalogue as m
from observability.durations import parse_duration
from observability.uptime import UPTIME_FAILING_LOCATIONS

if TYPE_CHECKING:
    from stackconfig.monitoring import MonitoringConfig

# --- thresholds that are the same in every stack -----------------------------------------------
# Cloud Run: a twentieth of the front end's answers are 5xx (includes requests the app never saw).
RUN_5XX_RATIO = 0.05
RUN_CPU_SATURATION = 0.9  # p95 instance CPU utilisation
# The connection limit, its shares and the concurrency ceiling are per stack: MonitoringConfig.
SQL_CPU = 0.9
SQL_DISK_WARNING = 0.85  # days to act: the disk grows automatically, but only up to its limit
SQL_DISK_CRITICAL = 0.95
SQL_REPLICA_LAG_SECONDS = 30  # replica reads this stale surprise users

REDIS_MEMORY = 0.9
CACHE_HIT_RATIO = 0.5
# A collapse (92% -> 2% hits) opens its ticket within 5 minutes: the 3m window falls under 50%
# after 180 s x (0.5 - 0.08) / (0.98 - 0.08) = 84 s, then `for: 1m` and the ticket route's
# 1-minute group_wait: about 215 s. A flushed cache that warms back within about a minute never
# crosses (the window still holds two minutes of hits); one that needs longer deserves a look.
CACHE_HIT_WINDOW = "3m"
CACHE_HIT_FOR = "1m"
# A cache looked up less than once a second (at night, after a deploy) has too few lookups for a
# ratio: 3 cold misses are a 0% hit rate and no problem.
CACHE_MIN_LOOKUPS_PER_SECOND = 1

CELERY_BACKLOG = 100  # messages waiting in one queue
CELERY_TASK_FAILURE_RATIO = 0.1  # of one task's runs
DB_POOL_WAIT_P95_SECONDS = 0.1

TARGETS_DOWN_RATIO = 0.1  # of one job's scrape targets
# The uptime checks' checker locations (Cloud Monitoring's regions): the probe fails some of them.
UPTIME_LOCATIONS = (
    "usa-oregon",
    "usa-virginia",
    "usa-iowa",
    "europe-belgium",
    "asia-singapore",
    "south-america-brazil",
)

# Scenario length: 240 samples 30 s apart outlast every `for` below with room to spare. The step
# is at most half of every `for` (1m and longer), so a `for` halved or doubled fails a test.
STEADY_STEPS = 240
STEADY_STEP = 30
_STEP = STEADY_STEP


def steady_series(series: str, start: float, increment: float = 0) -> InputSeries:
    """A gauge at `start` (increment 0) or a counter growing by `increment` every step."""
    return InputSeries(series, f"{start:g}+{increment:g}x{STEADY_STEPS}")


def steady_scenario(
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


# rate() needs two samples: a counter-based condition holds from the second step on.
_RATE_ONSET = _STEP


def probe_steps(for_: str, settle: int, step: int = STEADY_STEP) -> int:
    """Samples a probe needs: its windows filled, its `for` held, and a few steps to spare."""
    return (settle + parse_duration(for_)) // step + 4


def window_settle(window: str, step: int = STEADY_STEP) -> int:
    """Until a rate window lies inside the test (rate() of a counter that starts in the test
    under-reads until then)."""
    return parse_duration(window) + step


def events_in_window_probe(series: str, window: str, for_: str, labels: dict[str, str]) -> SignalProbe:
    """A counter whose `increase()` over `window` is the level, for `increase(...) > 0` alerts:
    any event at all fires (findings, key events, rejected usage events)."""
    settle = window_settle(window)
    per_second = probes.counter_rate(series, _STEP, probe_steps(for_, settle))
    window_seconds = parse_duration(window)
    return SignalProbe(
        series=lambda level, traffic: per_second(level / window_seconds, traffic),
        healthy=0,
        threshold=0,
        step_seconds=_STEP,
        settle_seconds=settle,
        onset_seconds=_STEP,
        labels=labels,
    )


def _ratio_of_rates(metric: str, bad: str, by: str, window: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{bad}}}[{window}]))\n/\nsum by ({by}) (rate({metric}[{window}]))"


def _gauge_probe(
    series: str, for_: str, healthy: float, threshold: float, labels: dict[str, str], **options
) -> SignalProbe:
    return SignalProbe(
        series=probes.gauge(series, probe_steps(for_, 0)),
        healthy=healthy,
        threshold=threshold,
        step_seconds=_STEP,
        labels=labels,
        **options,
    )


def cloud_run_alerts(monitoring: MonitoringConfig) -> RuleGroup:
    requests = m.RUN_REQUESTS.name
    api_name = monitoring.api.cloud_run_name
    api = f'service_name="{api_name}"'
    api_labels = {"service_name": api_name}
    five_xx = 'response_code_class="5xx"'
    saturation = monitoring.concurrency_saturation
    return RuleGroup(
        name="cloud-run",
        rules=(
            AlertRule(
                name="CloudRunHigh5xxRate",
                expr=f"{_ratio_of_rates(requests, five_xx, 'service_name', '5m')}\n> {RUN_5XX_RATIO:g}",
                for_="5m",
                severity=Severity.WARNING,
                summary="Cloud Run service {{ $labels.service_name }} answers too many 5xx.",
                description=(
                    "{{ $value | humanizePercentage }} of the requests reaching Cloud Run service "
                    "{{ $labels.service_name }} end in 5xx, counted by Cloud Run's front end (so including "
                    "requests the app never saw: cold-start timeouts, crashes, overload). "
                    f"Threshold {RUN_5XX_RATIO:.0%}."
                ),
                scenario=steady_scenario(
                    steady_series(f'{requests}{{{api},response_code_class="2xx"}}', 0, 27),
                    steady_series(f'{requests}{{{api},response_code_class="5xx"}}', 0, 3),
                    labels=api_labels,
                    value=0.1,
                    onset=_RATE_ONSET,
                ),
                probe=SignalProbe(
                    series=probes.share(
                        f'{requests}{{{api},response_code_class="5xx"}}',
                        f'{requests}{{{api},response_code_class="2xx"}}',
                        _STEP,
                        probe_steps("5m", window_settle("5m")),
                    ),
                    healthy=0.002,
                    threshold=RUN_5XX_RATIO,
                    step_seconds=_STEP,
                    settle_seconds=window_settle("5m"),
                    onset_seconds=_RATE_ONSET,
                    labels=api_labels,
                ),
            ),
            AlertRule(
                name="CloudRunCpuSaturated",
                expr=(
                    f"histogram_quantile(0.95, sum by (service_name, le) (rate({m.RUN_CPU.bucket}[5m])))\n"
                    f"> {RUN_CPU_SATURATION:g}"
                ),
                for_="15m",
                severity=Severity.WARNING,
                summary="Cloud Run service {{ $labels.service_name }} is CPU-saturated.",
                description=(
                    "95% of the instances of {{ $labels.service_name }} use up to {{ $value | humanizePercentage }} "
                    "of their CPU: requests queue inside the instances and latency rises before autoscaling reacts."
                ),
                scenario=steady_scenario(
                    steady_series(f'{m.RUN_CPU.bucket}{{{api},le="0.9"}}', 0, 0),
                    steady_series(f'{m.RUN_CPU.bucket}{{{api},le="1"}}', 0, 10),
                    steady_series(f'{m.RUN_CPU.bucket}{{{api},le="+Inf"}}', 0, 10),
                    labels=api_labels,
                    value=0.995,
                    onset=_RATE_ONSET,
                ),
                probe=SignalProbe(
                    series=probes.quantile(
                        m.RUN_CPU.bucket, api_labels, 0.95, _STEP, probe_steps("15m", window_settle("5m"))
                    ),
                    healthy=0.4,
                    threshold=RUN_CPU_SATURATION,
                    traffic=1,
                    step_seconds=_STEP,
                    settle_seconds=window_settle("5m"),
                    onset_seconds=_RATE_ONSET,
                    labels=api_labels,
                ),
            ),
            AlertRule(
                name="CloudRunConcurrencySaturated",
                # The API's ceiling (api.concurrency): other Cloud Run services have their own.
                expr=(
                    "histogram_quantile(0.95, sum by (service_name, le) "
                    f"(rate({m.RUN_CONCURRENCY.bucket}{{{api}}}[5m])))\n"
                    f"> {saturation:g}"
                ),
                for_="15m",
                severity=Severity.WARNING,
                summary="Cloud Run service {{ $labels.service_name }} runs near its concurrency ceiling.",
                description=(
                    "The p95 peak of concurrent requests per instance of {{ $labels.service_name }} is "
                    f"{{{{ $value | humanize }}}}, above {saturation:g} (80% of api.concurrency "
                    f"{monitoring.api_concurrency}): instances are full and new ones are not arriving fast enough."
                ),
                scenario=steady_scenario(
                    steady_series(
                        f'{m.RUN_CONCURRENCY.bucket}{{{api},le="{monitoring.api_concurrency * 0.5:g}"}}', 0, 0
                    ),
                    steady_series(f'{m.RUN_CONCURRENCY.bucket}{{{api},le="{monitoring.api_concurrency:g}"}}', 0, 10),
                    steady_series(f'{m.RUN_CONCURRENCY.bucket}{{{api},le="+Inf"}}', 0, 10),
                    labels=api_labels,
                    # 95% of the way through the bucket from half the ceiling to the ceiling.
                    value=monitoring.api_concurrency * (0.5 + 0.5 * 0.95),
                    onset=_RATE_ONSET,
                ),
                probe=SignalProbe(
                    series=probes.quantile(
                        m.RUN_CONCURRENCY.bucket, api_labels, 0.95, _STEP, probe_steps("15m", window_settle("5m"))
                    ),
                    healthy=monitoring.api_concurrency * 0.25,
                    threshold=saturation,
                    traffic=1,
                    step_seconds=_STEP,
                    settle_seconds=window_settle("5m"),
                    onset_seconds=_RATE_ONSET,
                    labels=api_labels,
                ),
            ),
            _instances_at_ceiling(monitoring),
        ),
    )


def _instances_at_ceiling(monitoring: MonitoringConfig) -> AlertRule:
    ceiling = monitoring.api_max_instances
    name = monitoring.api.cloud_run_name
    active = f'{m.RUN_INSTANCES.name}{{service_name="{name}",state="active"}}'
    labels = {"service_name": name}
    return AlertRule(
        name="CloudRunInstancesAtCeiling",
        expr=f"sum by (service_name) ({active}) >= {ceiling}",
        for_="15m",
        severity=Severity.WARNING,
        summary="Cloud Run service {{ $labels.service_name }} runs at its instance ceiling.",
        description=(
            "{{ $labels.service_name }} has run {{ $value | humanize }} active instances for 15 minutes, its ceiling "
            f"(api.maxInstances {ceiling} in {monitoring.stack}): it cannot scale out further, so more traffic "
            "queues and fails. Raise the ceiling within the connection budget, or find what holds requests."
        ),
        scenario=steady_scenario(steady_series(active, ceiling), labels=labels, value=ceiling),
        probe=_gauge_probe(
            active,
            "15m",
            healthy=max(1, monitoring.api_min_instances),
            threshold=ceiling,
            labels=labels,
            integer=True,
            inclusive=True,
        ),
    )


def cloud_sql_alerts(monitoring: MonitoringConfig) -> RuleGroup:
    database_id = monitoring.database_id
    database = f'database_id="{database_id}"'
    db_labels = {"database_id": database_id}
    backends = f"sum by (database_id) ({m.SQL_BACKENDS.name})"
    app_series = f'{m.SQL_BACKENDS.name}{{{database},database="omni"}}'
    # Cloud SQL's own agents and the operators' sessions, always there beside the application's.
    system_series, system_connections = f'{m.SQL_BACKENDS.name}{{{database},database="postgres"}}', 10
    limit = monitoring.app_connection_limit

    def connections(
        severity: Severity, threshold: int, for_: str, total: int, siblings: dict[Severity, int]
    ) -> AlertRule:
        return AlertRule(
            name="CloudSqlConnectionsNearLimit",
            expr=f"{backends} > {threshold}",
            for_=for_,
            severity=severity,
            summary="Cloud SQL {{ $labels.database_id }} is running out of connections.",
            description=(
                "{{ $labels.database_id }} holds {{ $value | humanize }} connections; the application may open "
                f"{limit} (max_connections {monitoring.max_connections} minus the reserve of "
                f"{monitoring.reserved_connections}) and this alert fires above {threshold}. "
                "Past the limit, new connections fail with `too many connections`."
            ),
            scenario=steady_scenario(
                steady_series(app_series, total - system_connections),
                steady_series(system_series, system_connections),
                labels=db_labels,
                value=total,
                siblings=siblings,
            ),
            probe=SignalProbe(
                series=probes.gauge(
                    app_series,
                    probe_steps(for_, 0),
                    offset=system_connections,
                    fixed=((system_series, system_connections),),
                ),
                healthy=limit // 3,
                threshold=threshold,
                integer=True,
                step_seconds=_STEP,
                labels=db_labels,
            ),
        )

    def disk(severity: Severity, threshold: float, for_: str, used: float, siblings: dict[Severity, int]) -> AlertRule:
        series = f"{m.SQL_DISK.name}{{{database}}}"
        return AlertRule(
            name="CloudSqlDiskNearlyFull",
            expr=f"max by (database_id) ({m.SQL_DISK.name}) > {threshold:g}",
            for_=for_,
            severity=severity,
            summary="Cloud SQL {{ $labels.database_id }} disk is {{ $value | humanizePercentage }} full.",
            description=(
                "The disk of {{ $labels.database_id }} is {{ $value | humanizePercentage }} full "
                f"(threshold {threshold:.0%}). A full disk stops writes; automatic growth has a ceiling and a "
                "rate limit."
            ),
            scenario=steady_scenario(steady_series(series, used), labels=db_labels, value=used, siblings=siblings),
            probe=_gauge_probe(series, for_, healthy=0.4, threshold=threshold, labels=db_labels),
        )

    warning, critical = monitoring.connections_warning, monitoring.connections_critical
    cpu_series = f"{m.SQL_CPU.name}{{{database}}}"
    rules: list[AlertRule] = [
        # The critical scenario also crosses the warning threshold (from 0 s on, firing after 10m).
        connections(Severity.WARNING, warning, "10m", warning + 1, {}),
        connections(Severity.CRITICAL, critical, "5m", critical + 1, {Severity.WARNING: 0}),
        AlertRule(
            name="CloudSqlHighCpu",
            expr=f"max by (database_id) ({m.SQL_CPU.name}) > {SQL_CPU:g}",
            for_="15m",
            severity=Severity.WARNING,
            summary="Cloud SQL {{ $labels.database_id }} CPU is at {{ $value | humanizePercentage }}.",
            description=(
                "{{ $labels.database_id }} has used {{ $value | humanizePercentage }} of its CPU for 15 minutes: "
                "queries slow down and the API's latency SLO follows."
            ),
            scenario=steady_scenario(steady_series(cpu_series, 0.95), labels=db_labels, value=0.95),
            probe=_gauge_probe(cpu_series, "15m", healthy=0.35, threshold=SQL_CPU, labels=db_labels),
        ),
        disk(Severity.WARNING, SQL_DISK_WARNING, "30m", 0.9, {}),
        disk(Severity.CRITICAL, SQL_DISK_CRITICAL, "5m", 0.97, {Severity.WARNING: 0}),
    ]
    if monitoring.producers.read_replica:
        replica = {"database_id": monitoring.replica_database_id}
        lag_series = probes.with_labels(m.SQL_REPLICA_LAG.name, replica)
        rules.append(
            AlertRule(
                name="CloudSqlReplicationLagHigh",
                expr=f"max by (database_id) ({m.SQL_REPLICA_LAG.name}) > {SQL_REPLICA_LAG_SECONDS}",
                for_="10m",
                severity=Severity.WARNING,
                summary="Cloud SQL replica {{ $labels.database_id }} lags {{ $value | humanize }}s behind.",
                description=(
                    "The read replica {{ $labels.database_id }} is {{ $value | humanize }}s behind its primary "
                    f"(threshold {SQL_REPLICA_LAG_SECONDS}s): reads from it return stale data."
                ),
                scenario=steady_scenario(steady_series(lag_series, 120), labels=replica, value=120),
                probe=_gauge_probe(lag_series, "10m", healthy=0.5, threshold=SQL_REPLICA_LAG_SECONDS, labels=replica),
            )
        )
    return RuleGroup(name="cloud-sql", rules=tuple(rules))


def redis_alerts(monitoring: MonitoringConfig) -> RuleGroup:
    cache_labels = {"instance_id": monitoring.cache_instance_id}
    memory_series = probes.with_labels(m.REDIS_MEMORY_RATIO.name, cache_labels)
    evicted_series = probes.with_labels(m.REDIS_EVICTED_KEYS.name, cache_labels)
    cache_requests = m.CACHE_REQUESTS.name
    hit = 'result="hit"'
    lookups = {"service": monitoring.api_service, "cache": "tenant"}
    hits_series = probes.with_labels(cache_requests, {**lookups, "result": "hit"})
    misses_series = probes.with_labels(cache_requests, {**lookups, "result": "miss"})
    hit_settle = window_settle(CACHE_HIT_WINDOW)
    return RuleGroup(
        name="redis",
        rules=(
            AlertRule(
                name="RedisMemoryHigh",
                expr=f"max by (instance_id) ({m.REDIS_MEMORY_RATIO.name}) > {REDIS_MEMORY:g}",
                for_="15m",
                severity=Severity.WARNING,
                summary="Redis {{ $labels.instance_id }} uses {{ $value | humanizePercentage }} of its memory.",
                description=(
                    "Memorystore instance {{ $labels.instance_id }} is at {{ $value | humanizePercentage }} of its "
                    "maximum memory: it is about to evict keys (the cache) or refuse writes (the Celery broker)."
                ),
                scenario=steady_scenario(steady_series(memory_series, 0.95), labels=cache_labels, value=0.95),
                probe=_gauge_probe(memory_series, "15m", healthy=0.5, threshold=REDIS_MEMORY, labels=cache_labels),
            ),
            AlertRule(
                name="RedisEvictingKeys",
                expr=f"sum by (instance_id) (rate({m.REDIS_EVICTED_KEYS.name}[5m])) > 0",
                for_="15m",
                severity=Severity.WARNING,
                summary="Redis {{ $labels.instance_id }} is evicting keys.",
                description=(
                    "Memorystore instance {{ $labels.instance_id }} evicts {{ $value | humanize }} keys per second "
                    "because its memory is full: the cache loses entries early, the broker would lose messages."
                ),
                scenario=steady_scenario(
                    steady_series(evicted_series, 0, 60), labels=cache_labels, value=2, onset=_RATE_ONSET
                ),
                # Healthy is no eviction at all: any rate above zero is the signal.
                probe=SignalProbe(
                    series=probes.counter_rate(evicted_series, _STEP, probe_steps("15m", window_settle("5m"))),
                    healthy=0,
                    threshold=0,
                    step_seconds=_STEP,
                    settle_seconds=window_settle("5m"),
                    onset_seconds=_RATE_ONSET,
                    labels=cache_labels,
                ),
            ),
            AlertRule(
                name="CacheHitRateLow",
                expr=(
                    f"{_ratio_of_rates(cache_requests, hit, 'service, cache', CACHE_HIT_WINDOW)}\n"
                    f"< {CACHE_HIT_RATIO:g}\n"
                    f"and\nsum by (service, cache) (rate({cache_requests}[{CACHE_HIT_WINDOW}])) "
                    f"> {CACHE_MIN_LOOKUPS_PER_SECOND:g}"
                ),
                for_=CACHE_HIT_FOR,
                severity=Severity.WARNING,
                summary="Cache {{ $labels.cache }} of {{ $labels.service }} hits only "
                "{{ $value | humanizePercentage }}.",
                description=(
                    "Only {{ $value | humanizePercentage }} of the {{ $labels.cache }} lookups by "
                    "{{ $labels.service }} "
                    f"hit over the last {CACHE_HIT_WINDOW} (threshold {CACHE_HIT_RATIO:.0%}, with at least "
                    f"{CACHE_MIN_LOOKUPS_PER_SECOND:g} lookup a second): the database serves what the cache should, "
                    "and latency rises."
                ),
                # 500 lookups every 30 s, a fifth of them hits: over the lookup guard from the first
                # rate() on (a counter that starts in the test shows a third of its rate there).
                scenario=steady_scenario(
                    steady_series(hits_series, 0, 100),
                    steady_series(misses_series, 0, 400),
                    labels=lookups,
                    value=0.2,
                    onset=_RATE_ONSET,
                ),
                probe=SignalProbe(
                    series=probes.share(hits_series, misses_series, _STEP, probe_steps(CACHE_HIT_FOR, hit_settle)),
                    healthy=0.92,
                    threshold=CACHE_HIT_RATIO,
                    above=False,
                    traffic=50,
                    step_seconds=_STEP,
                    settle_seconds=hit_settle,
                    onset_seconds=_RATE_ONSET,
                    labels=lookups,
                    guard=TrafficGuard(threshold=CACHE_MIN_LOOKUPS_PER_SECOND, faulty_level=0.02),
                ),
            ),
        ),
    )


def celery_alerts(monitoring: MonitoringConfig) -> RuleGroup:
    tasks = m.CELERY_TASKS.name
    worker = monitoring.worker_service
    task = {"service": worker, "task": "omni.tasks.send_report"}
    queue_series = probes.with_labels(m.CELERY_QUEUE_LENGTH.name, {"service": worker, "queue": "default"})
    workers = f'{m.CELERY_WORKERS.name}{{service="{worker}"}}'
    workers_series = probes.with_labels(m.CELERY_WORKERS.name, {"service": worker, "instance": "worker-0"})
    # The API's request counter: while it arrives, the metrics pipeline works, so a worker gauge
    # that vanished means the workers did (a pipeline outage is the dead man's switch's page).
    api_requests = f'{m.HTTP_REQUESTS.name}{{service="{monitoring.api_service}"}}'
    api_series = probes.with_labels(m.HTTP_REQUESTS.name, {"service": monitoring.api_service, "code": "200"})
    failures_settle = window_settle("10m")
    return RuleGroup(
        name="celery",
        rules=(
            AlertRule(
                name="CeleryQueueBacklog",
                expr=f"max by (queue) ({m.CELERY_QUEUE_LENGTH.name}) > {CELERY_BACKLOG}",
                for_="15m",
                severity=Severity.WARNING,
                summary="Celery queue {{ $labels.queue }} has a backlog of {{ $value | humanize }} messages.",
                description=(
                    "{{ $value | humanize }} messages wait in Celery queue {{ $labels.queue }} "
                    f"(threshold {CELERY_BACKLOG}) and have for 15 minutes: workers cannot keep up or are stuck."
                ),
                scenario=steady_scenario(steady_series(queue_series, 500), labels={"queue": "default"}, value=500),
                probe=_gauge_probe(
                    queue_series, "15m", healthy=5, threshold=CELERY_BACKLOG, labels={"queue": "default"}, integer=True
                ),
            ),
            AlertRule(
                name="CeleryTaskFailures",
                expr=(
                    f'sum by (task) (rate({tasks}{{state="failed"}}[10m]))\n/\n'
                    f'sum by (task) (rate({tasks}{{state=~"succeeded|failed"}}[10m]))\n> {CELERY_TASK_FAILURE_RATIO:g}'
                ),
                for_="10m",
                severity=Severity.WARNING,
                summary="Celery task {{ $labels.task }} fails {{ $value | humanizePercentage }} of its runs.",
                description=(
                    "{{ $value | humanizePercentage }} of the runs of Celery task {{ $labels.task }} fail "
                    f"(threshold {CELERY_TASK_FAILURE_RATIO:.0%}); the task-success SLO counts all tasks together, "
                    "this one points at the task."
                ),
                scenario=steady_scenario(
                    steady_series(probes.with_labels(tasks, {**task, "state": "succeeded"}), 0, 15),
                    steady_series(probes.with_labels(tasks, {**task, "state": "failed"}), 0, 15),
                    labels={"task": task["task"]},
                    value=0.5,
                    onset=_RATE_ONSET,
                ),
                probe=SignalProbe(
                    series=probes.share(
                        probes.with_labels(tasks, {**task, "state": "failed"}),
                        probes.with_labels(tasks, {**task, "state": "succeeded"}),
                        _STEP,
                        probe_steps("10m", failures_settle),
                    ),
                    healthy=0.01,
                    threshold=CELERY_TASK_FAILURE_RATIO,
                    traffic=5,
                    step_seconds=_STEP,
                    settle_seconds=failures_settle,
                    onset_seconds=_RATE_ONSET,
                    labels={"task": task["task"]},
                ),
            ),
            AlertRule(
                name="CeleryNoLiveWorkers",
                # Fewer than one worker answering, or none reporting at all while the API's
                # metrics still arrive: a stale or vanished gauge is the workers gone, not zero
                # news. `* 0` makes the absent branch's value the workers counted: none.
                expr=(f"sum by (service) ({workers}) < 1\nor\n(absent({workers}) * 0 and on () count({api_requests}))"),
                # 1m pages in about 75 s (docs/lab.md). Safe because nothing routine takes every
                # worker away: prod runs 4 pool instances (`workers.instances`; dev runs 1, and
                # nothing pages there), and a rollout moves them between revisions gradually,
                # in-process tasks finishing first.
                for_="1m",
                severity=Severity.CRITICAL,
                summary="No Celery worker of {{ $labels.service }} answers.",
                description=(
                    "{{ $value | humanize }} Celery workers of {{ $labels.service }} answered the last ping for a "
                    "minute (or none reported at all while the API's metrics arrive): no background task runs and the "
                    "queues only grow."
                ),
                scenario=steady_scenario(steady_series(workers_series, 0), labels={"service": worker}, value=0),
                probe=SignalProbe(
                    series=probes.gauge(workers_series, probe_steps("1m", 0), fixed=((api_series, 1000),)),
                    healthy=monitoring.worker_instances,
                    threshold=1,
                    above=False,
                    integer=True,
                    step_seconds=_STEP,
                    labels={"service": worker},
                ),
            ),
        ),
    )


def api_alerts(monitoring: MonitoringConfig) -> RuleGroup:
    wait = m.DB_POOL_WAIT.bucket
    api = {"service": monitoring.api_service}
    settle = window_settle("5m")
    return RuleGroup(
        name="api",
        rules=(
            AlertRule(
                name="ApiDbPoolWaitHigh",
                expr="histogram_quantile(0.95, sum by (service, le) "
                f"(rate({wait}[5m])))\n> {DB_POOL_WAIT_P95_SECONDS:g}",
                for_="10m",
                severity=Severity.INFO,
                summary="Requests of {{ $labels.service }} wait for a database connection.",
                description=(
                    "The p95 wait for a pooled database connection in {{ $labels.service }} is "
                    "{{ $value | humanize }}s: "
                    "pools are exhausted. Look here when latency rises; raise the pool only within the "
                    "connection budget."
                ),
                scenario=steady_scenario(
                    steady_series(probes.with_labels(wait, {**api, "le": "0.1"}), 0, 0),
                    steady_series(probes.with_labels(wait, {**api, "le": "0.25"}), 0, 10),
                    steady_series(probes.with_labels(wait, {**api, "le": "+Inf"}), 0, 10),
                    labels=api,
                    value=0.2425,
                    onset=_RATE_ONSET,
                ),
                probe=SignalProbe(
                    series=probes.quantile(wait, api, 0.95, _STEP, probe_steps("10m", settle)),
                    healthy=0.005,
                    threshold=DB_POOL_WAIT_P95_SECONDS,
                    traffic=20,
                    step_seconds=_STEP,
                    settle_seconds=settle,
                    onset_seconds=_RATE_ONSET,
                    labels=api,
                ),
            ),
        ),
    )


def availability_alerts(monitoring: MonitoringConfig) -> RuleGroup:
    """Is the service reachable, and can we see it: uptime checks, scrape targets, key metrics."""
    passed = m.UPTIME_CHECK_PASSED.name
    check_labels = {"check_id": f"{monitoring.base_name}-status-api"}
    up_labels = {"job": monitoring.api_service}
    rules: list[AlertRule] = []
    if monitoring.producers.uptime_checks:
        rules.append(
            AlertRule(
                name="UptimeCheckFailing",
                expr=f"count by (check_id) ({passed} == 0) >= {UPTIME_FAILING_LOCATIONS}",
                for_="2m",
                severity=Severity.CRITICAL,
                summary="Uptime check {{ $labels.check_id }} fails from {{ $value | humanize }} locations.",
                description=(
                    "Uptime check {{ $labels.check_id }} has failed from {{ $value | humanize }} checker locations for "
                    "2 minutes: users cannot reach the API from the internet."
                ),
                scenario=steady_scenario(
                    *probes.count_of(
                        passed, check_labels, "checker_location", UPTIME_LOCATIONS[:3], 0, 1, STEADY_STEPS
                    )(2, 0),
                    labels=check_labels,
                    value=2,
                ),
                probe=SignalProbe(
                    series=probes.count_of(
                        passed, check_labels, "checker_location", UPTIME_LOCATIONS, 0, 1, probe_steps("2m", 0)
                    ),
                    healthy=0,
                    threshold=UPTIME_FAILING_LOCATIONS,
                    inclusive=True,
                    integer=True,
                    step_seconds=_STEP,
                    labels=check_labels,
                ),
            )
        )
    rules += [
        AlertRule(
            name="ScrapeTargetsDown",
            expr=f"count by (job) ({m.UP.name} == 0)\n/\ncount by (job) ({m.UP.name})\n> {TARGETS_DOWN_RATIO:g}",
            for_="10m",
            severity=Severity.WARNING,
            summary="{{ $value | humanizePercentage }} of the {{ $labels.job }} scrape targets are down.",
            description=(
                "Prometheus cannot scrape {{ $value | humanizePercentage }} of the targets of job {{ $labels.job }}: "
                "their metrics, and the alerts reading them, are missing."
            ),
            scenario=steady_scenario(
                *probes.count_of(m.UP.name, up_labels, "instance", ("api-0", "api-1"), 0, 1, STEADY_STEPS)(1, 0),
                labels=up_labels,
                value=0.5,
            ),
            # 200 targets: 5% off the threshold is a whole number of them.
            probe=SignalProbe(
                series=probes.fraction_of(m.UP.name, up_labels, "instance", 200, 0, 1, probe_steps("10m", 0)),
                healthy=0.01,
                threshold=TARGETS_DOWN_RATIO,
                step_seconds=_STEP,
                labels=up_labels,
            ),
        ),
        _absent_alert("ApiMetricsAbsent", m.HTTP_REQUESTS, monitoring.api_service, "the API's SLO alerts are blind"),
        _absent_alert(
            "WorkerMetricsAbsent", m.CELERY_WORKERS, monitoring.worker_service, "the Celery alerts are blind"
        ),
    ]
    return RuleGroup(name="availability", rules=tuple(rules))


def _absent_alert(name: str, metric: m.Metric, service: str, impact: str) -> AlertRule:
    return AlertRule(
        name=name,
        expr=f'absent({metric.name}{{service="{service}"}})',
        for_="10m",
        severity=Severity.WARNING,
        summary=f"No {metric.name} series from {{{{ $labels.service }}}}.",
        description=(
            f"Prometheus has no {metric.name} series from {{{{ $labels.service }}}} for 10 minutes: the app stopped "
            f"exporting it or nothing scrapes it, and {impact}."
        ),
        # Only an unrelated series: the one it needs is absent.
        scenario=steady_scenario(
            steady_series(f'{m.UP.name}{{job="prometheus",instance="localhost:9090"}}', 1),
            labels={"service": service},
            value=1,
        ),
    )


def watchdog_alerts() -> RuleGroup:
    return RuleGroup(
        name="watchdog",
        rules=(
            AlertRule(
                name="Watchdog",
                # vector(1) has no labels and annotations see only the series' labels: give it one.
                expr='label_replace(vector(1), "service", "alerting", "", "")',
                # A short `for` so a restarted Prometheus resumes the heartbeat within a minute.
                for_="1m",
                severity=Severity.INFO,
                summary="The {{ $labels.service }} pipeline is alive.",
                description=(
                    "Always firing: Prometheus evaluates rules and Alertmanager delivers them to the dead man's switch "
                    "({{ $labels.service }} pipeline). If the heartbeat stops, the switch alerts: monitoring is down."
                ),
                labels={"service": "alerting"},
                scenario=steady_scenario(labels={"service": "alerting"}, value=1),
            ),
        ),
    )


def resource_rule_groups(monitoring: MonitoringConfig) -> tuple[RuleGroup, ...]:
    return (
        cloud_run_alerts(monitoring),
        cloud_sql_alerts(monitoring),
        redis_alerts(monitoring),
        celery_alerts(monitoring),
        api_alerts(monitoring),
        availability_alerts(monitoring),
        watchdog_alerts(),
    )
