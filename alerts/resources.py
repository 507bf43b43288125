"""Resource and symptom alerts: Cloud Run, Cloud SQL, Memorystore, Celery, uptime checks, the
scrape pipeline itself, and the always-firing Watchdog.

Thresholds sit at the top (the one place to tune them, as kubernetes-mixin's config object);
each alert carries the promtool scenario that makes it fire, so its unit test is derived data.
"""

from __future__ import annotations

from alerts.model import AlertRule, AlertScenario, InputSeries, RuleGroup, Severity
from observability import catalogue as m
from observability.uptime import UPTIME_FAILING_LOCATIONS
from stackconfig.connections import default_max_connections
from stackconfig.platform import ApiConfig, DatabaseConfig

# --- thresholds -----------------------------------------------------------------------------
# Cloud Run: a tenth of the front end's answers are 5xx (includes requests the app never saw).
RUN_5XX_RATIO = 0.05
RUN_CPU_SATURATION = 0.9  # p95 instance CPU utilisation
# p95 of per-instance peak concurrency above 80% of the configured ceiling: scale-out is lagging.
RUN_CONCURRENCY_SATURATION = 0.8 * ApiConfig().concurrency

# Cloud SQL: what the application may open is max_connections minus the operators' reserve
# (stackconfig/connections.py, production defaults). Warning at 80% of it; critical at 95%,
# where the next burst of pool overflow fails with "too many connections".
_DATABASE = DatabaseConfig()
APP_CONNECTION_LIMIT = (_DATABASE.max_connections or default_max_connections(_DATABASE.tier)) - _DATABASE.reserved_connections
SQL_CONNECTIONS_WARNING = int(APP_CONNECTION_LIMIT * 0.8)
SQL_CONNECTIONS_CRITICAL = int(APP_CONNECTION_LIMIT * 0.95)
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

# Scenario length: 120 one-minute samples outlast every `for` below with room to spare.
_STEADY_STEPS = 120
_STEP = 60


def _steady(series: str, start: float, increment: float = 0) -> InputSeries:
    """A gauge at `start` (increment 0) or a counter growing by `increment` every minute."""
    return InputSeries(series, f"{start:g}+{increment:g}x{_STEADY_STEPS}")


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


# rate() needs two samples: a counter-based condition holds from the second step on.
_RATE_ONSET = _STEP


def _ratio_of_rates(metric: str, bad: str, by: str, window: str) -> str:
    return (
        f"sum by ({by}) (rate({metric}{{{bad}}}[{window}]))\n/\n"
        f"sum by ({by}) (rate({metric}[{window}]))"
    )


def cloud_run_alerts() -> RuleGroup:
    requests = m.RUN_REQUESTS.name
    api = 'service_name="omni-prod-api"'
    five_xx = 'response_code_class="5xx"'
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
                    "requests the app never saw: cold-start timeouts, crashes, overload). " f"Threshold {RUN_5XX_RATIO:.0%}."
                ),
                scenario=_scenario(
                    _steady(f'{requests}{{{api},response_code_class="2xx"}}', 0, 54),
                    _steady(f'{requests}{{{api},response_code_class="5xx"}}', 0, 6),
                    labels={"service_name": "omni-prod-api"},
                    value=0.1,
                    onset=_RATE_ONSET,
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
                scenario=_scenario(
                    _steady(f'{m.RUN_CPU.bucket}{{{api},le="0.9"}}', 0, 0),
                    _steady(f'{m.RUN_CPU.bucket}{{{api},le="1"}}', 0, 10),
                    _steady(f'{m.RUN_CPU.bucket}{{{api},le="+Inf"}}', 0, 10),
                    labels={"service_name": "omni-prod-api"},
                    value=0.995,
                    onset=_RATE_ONSET,
                ),
            ),
            AlertRule(
                name="CloudRunConcurrencySaturated",
                expr=(
                    f"histogram_quantile(0.95, sum by (service_name, le) (rate({m.RUN_CONCURRENCY.bucket}[5m])))\n"
                    f"> {RUN_CONCURRENCY_SATURATION:g}"
                ),
                for_="15m",
                severity=Severity.WARNING,
                summary="Cloud Run service {{ $labels.service_name }} runs near its concurrency ceiling.",
                description=(
                    "The p95 peak of concurrent requests per instance of {{ $labels.service_name }} is "
                    f"{{{{ $value | humanize }}}}, above {RUN_CONCURRENCY_SATURATION:g} (80% of api.concurrency "
                    f"{ApiConfig().concurrency}): instances are full and new ones are not arriving fast enough."
                ),
                scenario=_scenario(
                    _steady(f'{m.RUN_CONCURRENCY.bucket}{{{api},le="50"}}', 0, 0),
                    _steady(f'{m.RUN_CONCURRENCY.bucket}{{{api},le="100"}}', 0, 10),
                    _steady(f'{m.RUN_CONCURRENCY.bucket}{{{api},le="+Inf"}}', 0, 10),
                    labels={"service_name": "omni-prod-api"},
                    value=97.5,
                    onset=_RATE_ONSET,
                ),
            ),
        ),
    )


def cloud_sql_alerts() -> RuleGroup:
    database = 'database_id="omni-api-prod:omni-prod-pg"'
    db_labels = {"database_id": "omni-api-prod:omni-prod-pg"}
    backends = f"sum by (database_id) ({m.SQL_BACKENDS.name})"

    def connections(severity: Severity, threshold: int, for_: str, app: float, siblings: dict[Severity, int]) -> AlertRule:
        return AlertRule(
            name="CloudSqlConnectionsNearLimit",
            expr=f"{backends} > {threshold}",
            for_=for_,
            severity=severity,
            summary="Cloud SQL {{ $labels.database_id }} is running out of connections.",
            description=(
                "{{ $labels.database_id }} holds {{ $value | humanize }} connections; the application may open "
                f"{APP_CONNECTION_LIMIT} (max_connections minus the reserve) and this alert fires above {threshold}. "
                "Past the limit, new connections fail with `too many connections`."
            ),
            scenario=_scenario(
                _steady(f'{m.SQL_BACKENDS.name}{{{database},database="omni"}}', app),
                _steady(f'{m.SQL_BACKENDS.name}{{{database},database="postgres"}}', 10),
                labels=db_labels,
                value=app + 10,
                siblings=siblings,
            ),
        )

    def disk(severity: Severity, threshold: float, for_: str, used: float, siblings: dict[Severity, int]) -> AlertRule:
        return AlertRule(
            name="CloudSqlDiskNearlyFull",
            expr=f"max by (database_id) ({m.SQL_DISK.name}) > {threshold:g}",
            for_=for_,
            severity=severity,
            summary="Cloud SQL {{ $labels.database_id }} disk is {{ $value | humanizePercentage }} full.",
            description=(
                "The disk of {{ $labels.database_id }} is {{ $value | humanizePercentage }} full "
                f"(threshold {threshold:.0%}). A full disk stops writes; automatic growth has a ceiling and a " "rate limit."
            ),
            scenario=_scenario(_steady(f"{m.SQL_DISK.name}{{{database}}}", used), labels=db_labels, value=used, siblings=siblings),
        )

    return RuleGroup(
        name="cloud-sql",
        rules=(
            # The critical scenario also crosses the warning threshold (from 0 s on, firing after 10m).
            connections(Severity.WARNING, SQL_CONNECTIONS_WARNING, "10m", 390, {}),
            connections(Severity.CRITICAL, SQL_CONNECTIONS_CRITICAL, "5m", 460, {Severity.WARNING: 0}),
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
                scenario=_scenario(_steady(f"{m.SQL_CPU.name}{{{database}}}", 0.95), labels=db_labels, value=0.95),
            ),
            disk(Severity.WARNING, SQL_DISK_WARNING, "30m", 0.9, {}),
            disk(Severity.CRITICAL, SQL_DISK_CRITICAL, "5m", 0.97, {Severity.WARNING: 0}),
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
                scenario=_scenario(
                    _steady(f'{m.SQL_REPLICA_LAG.name}{{database_id="omni-api-prod:omni-prod-pg-replica"}}', 120),
                    labels={"database_id": "omni-api-prod:omni-prod-pg-replica"},
                    value=120,
                ),
            ),
        ),
    )


def redis_alerts() -> RuleGroup:
    cache = 'instance_id="projects/omni-api-prod/locations/europe-west1/instances/omni-prod-cache"'
    cache_labels = {"instance_id": "projects/omni-api-prod/locations/europe-west1/instances/omni-prod-cache"}
    cache_requests = m.CACHE_REQUESTS.name
    hit = 'result="hit"'
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
                scenario=_scenario(_steady(f"{m.REDIS_MEMORY_RATIO.name}{{{cache}}}", 0.95), labels=cache_labels, value=0.95),
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
                scenario=_scenario(
                    _steady(f"{m.REDIS_EVICTED_KEYS.name}{{{cache}}}", 0, 120), labels=cache_labels, value=2, onset=_RATE_ONSET
                ),
            ),
            AlertRule(
                name="CacheHitRateLow",
                expr=(
                    f"{_ratio_of_rates(cache_requests, hit, 'service, cache', CACHE_HIT_WINDOW)}\n"
                    f"< {CACHE_HIT_RATIO:g}\n"
                    f"and\nsum by (service, cache) (rate({cache_requests}[{CACHE_HIT_WINDOW}])) " f"> {CACHE_MIN_LOOKUPS_PER_SECOND:g}"
                ),
                for_=CACHE_HIT_FOR,
                severity=Severity.WARNING,
                summary="Cache {{ $labels.cache }} of {{ $labels.service }} hits only " "{{ $value | humanizePercentage }}.",
                description=(
                    "Only {{ $value | humanizePercentage }} of the {{ $labels.cache }} lookups by " "{{ $labels.service }} "
                    f"hit over the last {CACHE_HIT_WINDOW} (threshold {CACHE_HIT_RATIO:.0%}, with at least "
                    f"{CACHE_MIN_LOOKUPS_PER_SECOND:g} lookup a second): the database serves what the cache should, "
                    "and latency rises."
                ),
                # 1,000 lookups a minute, a fifth of them hits: over the lookup guard from the first
                # rate() on (a counter that starts in the test shows a third of its rate there).
                scenario=_scenario(
                    _steady(f'{cache_requests}{{service="api",cache="tenant",result="hit"}}', 0, 200),
                    _steady(f'{cache_requests}{{service="api",cache="tenant",result="miss"}}', 0, 800),
                    labels={"service": "api", "cache": "tenant"},
                    value=0.2,
                    onset=_RATE_ONSET,
                ),
            ),
        ),
    )


def celery_alerts() -> RuleGroup:
    tasks = m.CELERY_TASKS.name
    task = 'service="worker",task="omni.tasks.send_report"'
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
                scenario=_scenario(
                    _steady(f'{m.CELERY_QUEUE_LENGTH.name}{{service="worker",queue="default"}}', 500),
                    labels={"queue": "default"},
                    value=500,
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
                scenario=_scenario(
                    _steady(f'{tasks}{{{task},state="succeeded"}}', 0, 30),
                    _steady(f'{tasks}{{{task},state="failed"}}', 0, 30),
                    labels={"task": "omni.tasks.send_report"},
                    value=0.5,
                    onset=_RATE_ONSET,
                ),
            ),
            AlertRule(
                name="CeleryNoLiveWorkers",
                expr=f'sum by (service) ({m.CELERY_WORKERS.name}{{service="worker"}}) < 1',
                # 1m pages in about 75 s (docs/lab.md). Safe because nothing routine takes every
                # worker away: prod runs 4 pool instances (`workers.instances`; dev runs 1, and
                # nothing pages there), and a rollout moves them between revisions gradually,
                # in-process tasks finishing first. A scrape gap does not page either: without
                # the series the sum is empty, which WorkerMetricsAbsent reports.
                for_="1m",
                severity=Severity.CRITICAL,
                summary="No Celery worker of {{ $labels.service }} answers.",
                description=(
                    "{{ $value | humanize }} Celery workers of {{ $labels.service }} answered the last ping for " "a minute: "
                    "no background task runs and the queues only grow."
                ),
                scenario=_scenario(
                    _steady(f'{m.CELERY_WORKERS.name}{{service="worker",instance="worker-0"}}', 0),
                    labels={"service": "worker"},
                    value=0,
                ),
            ),
        ),
    )


def api_alerts() -> RuleGroup:
    wait = m.DB_POOL_WAIT.bucket
    return RuleGroup(
        name="api",
        rules=(
            AlertRule(
                name="ApiDbPoolWaitHigh",
                expr="histogram_quantile(0.95, sum by (service, le) " f"(rate({wait}[5m])))\n> {DB_POOL_WAIT_P95_SECONDS:g}",
                for_="10m",
                severity=Severity.INFO,
                summary="Requests of {{ $labels.service }} wait for a database connection.",
                description=(
                    "The p95 wait for a pooled database connection in {{ $labels.service }} is " "{{ $value | humanize }}s: "
                    "pools are exhausted. Look here when latency rises; raise the pool only within the " "connection budget."
                ),
                scenario=_scenario(
                    _steady(f'{wait}{{service="api",le="0.1"}}', 0, 0),
                    _steady(f'{wait}{{service="api",le="0.25"}}', 0, 10),
                    _steady(f'{wait}{{service="api",le="+Inf"}}', 0, 10),
                    labels={"service": "api"},
                    value=0.2425,
                    onset=_RATE_ONSET,
                ),
            ),
        ),
    )


def availability_alerts() -> RuleGroup:
    """Is the service reachable, and can we see it: uptime checks, scrape targets, key metrics."""
    passed = m.UPTIME_CHECK_PASSED.name
    check = 'check_id="omni-api-healthz"'
    return RuleGroup(
        name="availability",
        rules=(
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
                scenario=_scenario(
                    _steady(f'{passed}{{{check},checker_location="usa-oregon"}}', 0),
                    _steady(f'{passed}{{{check},checker_location="europe-belgium"}}', 0),
                    _steady(f'{passed}{{{check},checker_location="asia-singapore"}}', 1),
                    labels={"check_id": "omni-api-healthz"},
                    value=2,
                ),
            ),
            AlertRule(
                name="ScrapeTargetsDown",
                expr=f"count by (job) ({m.UP.name} == 0)\n/\ncount by (job) ({m.UP.name})\n> {TARGETS_DOWN_RATIO:g}",
                for_="10m",
                severity=Severity.WARNING,
                summary="{{ $value | humanizePercentage }} of the {{ $labels.job }} scrape targets are down.",
                description=(
                    "Prometheus cannot scrape {{ $value | humanizePercentage }} of the targets of job " "{{ $labels.job }}: "
                    "their metrics, and the alerts reading them, are missing."
                ),
                scenario=_scenario(
                    _steady(f'{m.UP.name}{{job="api",instance="api-0"}}', 0),
                    _steady(f'{m.UP.name}{{job="api",instance="api-1"}}', 1),
                    labels={"job": "api"},
                    value=0.5,
                ),
            ),
            _absent_alert("ApiMetricsAbsent", m.HTTP_REQUESTS, "api", "the API's SLO alerts are blind"),
            _absent_alert("WorkerMetricsAbsent", m.CELERY_WORKERS, "worker", "the Celery alerts are blind"),
        ),
    )


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
        scenario=_scenario(_steady(f'{m.UP.name}{{job="prometheus",instance="localhost:9090"}}', 1), labels={"service": service}, value=1),
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
                scenario=_scenario(labels={"service": "alerting"}, value=1),
            ),
        ),
    )


def resource_rule_groups() -> tuple[RuleGroup, ...]:
    return (
        cloud_run_alerts(),
        cloud_sql_alerts(),
        redis_alerts(),
        celery_alerts(),
        api_alerts(),
        availability_alerts(),
        watchdog_alerts(),
    )
