"""The pooling and caching lab: the load suite against a reference API on real PostgreSQL,
PgBouncer and Redis, in four runs (direct connections or PgBouncer, cache off or on).

`run_pooling_lab` starts PostgreSQL (a fresh cluster, seeded), Redis and PgBouncer (transaction
pooling) on 127.0.0.1, then for each run a reference API pointed at PostgreSQL or at PgBouncer,
with its cache on or off, and drives it with the Locust suite while it samples the server's
`pg_stat_activity` every 250 ms. Each run reports its peak of server connections, p50/p95,
throughput, errors and the cache hit rate from Redis's own counters (INFO keyspace_hits and
keyspace_misses). The lab then checks its invariants, writes `results.json` and `report.html`,
and stops everything it started, however it ends.
"""

from __future__ import annotations

import csv
import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from psycopg.conninfo import make_conninfo

from lab import servers
from lab.pooling_model import (
    RUNS,
    ConnectionSample,
    Invariant,
    LatencySample,
    PoolingLabInputError,
    PoolingLabResult,
    PoolingLabSettings,
    RunPlan,
    RunResult,
    input_problems,
)
from lab.pooling_report import render_report
from lab.reference_api import ApiSettings, prepare_database
from lab.servers import DatabaseAccount, PoolSettings
from loadtest.config import SuiteSettings
from loadtest.runner import RunSettings, run_load_test
from localrun.ports import LOOPBACK, ensure_port_free
from localrun.processes import ManagedServer
from observability import catalogue

SAMPLE_INTERVAL_SECONDS = 0.25
LOCUST_FULL_HISTORY = "LOCUST_CSV_FULL_HISTORY"
LOCUST_RESET_STATS = "LOCUST_RESET_STATS"
P95_IMPROVEMENT_FACTOR = 2.0  # the cache must make p95 at least this much better
MIN_HIT_RATE = 0.5


def run_pooling_lab(
    settings: PoolingLabSettings, runs: tuple[RunPlan, ...] = RUNS, on_progress: Callable[[str], None] | None = None
) -> PoolingLabResult:
    """Run the lab and return its measurements and verdict; every server is stopped on return.

    Raises PoolingLabInputError for bad settings, PortInUseError for a taken port (both before
    anything starts), ServerStartError when a server does not start, LoadTestRunError when
    Locust produced no result.
    """
    problems = input_problems(settings)
    if problems:
        raise PoolingLabInputError("; ".join(problems))
    ports = settings.ports
    for what, port in (
        ("PostgreSQL", ports.postgres),
        ("PgBouncer", ports.pgbouncer),
        ("Redis", ports.redis),
        ("the reference API", ports.api),
    ):
        if port:
            ensure_port_free(port, what)
    report = on_progress or (lambda line: None)
    started = time.monotonic()
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    account = DatabaseAccount.generated()
    pids: dict[str, int] = {}
    results: list[RunResult] = []
    with ExitStack() as stack:
        report("starting PostgreSQL, Redis and PgBouncer on 127.0.0.1")
        database = stack.enter_context(
            servers.postgres(
                port=ports.postgres,
                # Every instance's pool at its fullest, plus the lab's own sessions.
                max_connections=settings.api_instances * (settings.api_pool_size + settings.api_max_overflow) + 20,
            )
        )
        pids["postgresql"] = _pid(database)
        _create_application_database(database, account)
        direct_url = _connection_string(database.port, account)
        prepare_database(direct_url, items=max(settings.hot_items, 1000))
        cache = stack.enter_context(servers.redis_server(port=ports.redis))
        pids["redis"] = _pid(cache)
        bouncer = stack.enter_context(
            servers.pgbouncer(
                database.port,
                account,
                PoolSettings(pool_size=settings.pool_size),
                port=ports.pgbouncer,
            )
        )
        pids["pgbouncer"] = _pid(bouncer)
        cache_client = redis.Redis(host=LOOPBACK, port=cache.port)
        stack.callback(cache_client.close)
        for number, plan in enumerate(runs, start=1):
            report(
                f"run {number}/{len(runs)}: {plan.name}, {settings.users} users arriving over "
                f"{settings.warmup_seconds} s, then {settings.duration_seconds} s measured"
            )
            api_settings = ApiSettings(
                database_url=_connection_string(bouncer.port, account) if plan.pooled else direct_url,
                redis_url=servers.redis_url(cache),
                cache=plan.cache,
                pool_size=settings.api_pool_size,
                max_overflow=settings.api_max_overflow,
                item_query_ms=settings.item_query_ms,
            )
            cache_client.flushall()  # every run starts with a cold cache
            result, api_pid = _measure_run(plan, settings, api_settings, database, account, cache_client, report)
            pids[f"reference-api ({plan.name})"] = api_pid
            results.append(result)
    runs_measured = tuple(results)
    invariants = check_invariants(runs_measured, settings.pool_size)
    results_json, html_report = settings.out_dir / "results.json", settings.out_dir / "report.html"
    result = PoolingLabResult(
        settings=settings,
        runs=runs_measured,
        invariants=invariants,
        server_pids=pids,
        results_json=results_json,
        html_report=html_report,
        duration_seconds=time.monotonic() - started,
    )
    results_json.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    html_report.write_text(render_report(result), encoding="utf-8")
    return result


def _measure_run(
    plan: RunPlan,
    settings: PoolingLabSettings,
    api_settings: ApiSettings,
    database: ManagedServer,
    account: DatabaseAccount,
    cache_client: redis.Redis,
    report: Callable[[str], None],
) -> tuple[RunResult, int]:
    run_dir = settings.out_dir / _slug(plan.name)

    with (
        servers.reference_api(api_settings, instances=settings.api_instances, port=settings.ports.api) as api,
        _locust_options(full_history=True, reset_stats=settings.warmup_seconds > 0),
    ):
        hits_before, misses_before = _keyspace_counters(cache_client)
        app_hits_before, app_misses_before = _app_cache_lookups(api.url)
        sampler = ConnectionSampler(servers.admin_connection_string(database), account)
        load_started = time.time()
        sampler.start()
        try:
            load = run_load_test(
                RunSettings(
                    host=api.url,
                    users=settings.users,
                    spawn_rate=settings.users / settings.warmup_seconds if settings.warmup_seconds else settings.users,
                    duration_seconds=settings.warmup_seconds + settings.duration_seconds,
                    report_dir=run_dir,
                    # The lab measures; it does not judge against the SLO's limits.
                    suite=SuiteSettings(hot_items=settings.hot_items),
                )
            )
        finally:
            sampler.stop()
        # Read once the load has stopped, so that Redis and the API count the same lookups.
        hits_after, misses_after = _keyspace_counters(cache_client)
        app_hits_after, app_misses_after = _app_cache_lookups(api.url)
        api_pid = _pid(api)
    latency = read_latency_history(load.csv_prefix, load_started)
    # Locust resets its statistics when the last user has arrived: the first line with them all.
    measured_from = next((sample.at_seconds for sample in latency if sample.users >= settings.users), 0.0)
    samples = tuple(
        replace(sample, at_seconds=round(sample.at_seconds - load_started, 3)) for sample in sampler.samples
    )
    result = RunResult(
        plan=plan,
        peak_server_connections=max((sample.server_connections for sample in samples), default=0),
        measured_peak_server_connections=max(
            (sample.server_connections for sample in samples if sample.at_seconds >= measured_from), default=0
        ),
        requests=load.total.requests,
        failures=load.total.failures,
        p50_ms=load.total.p50_ms,
        p95_ms=load.total.p95_ms,
        requests_per_second=load.total.requests_per_second,
        cache_hits=hits_after - hits_before,
        cache_misses=misses_after - misses_before,
        app_cache_hits=app_hits_after - app_hits_before,
        app_cache_misses=app_misses_after - app_misses_before,
        connections=samples,
        latency=latency,
        measured_from_seconds=measured_from,
        locust_report=load.html_report,
    )
    report(
        f"  {plan.name}: peak {result.peak_server_connections} server connections, p95 {result.p95_ms:.0f} ms, "
        f"{result.requests_per_second:.0f} req/s, {result.failures} errors"
    )
    return result, api_pid


class ConnectionSampler:
    """Counts the app's server connections in `pg_stat_activity` every 250 ms, in a thread."""

    QUERY = """
        SELECT count(*), count(*) FILTER (WHERE state = 'active')
        FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND datname = %(database)s AND usename = %(role)s
    """

    def __init__(
        self, admin_connection_string: str, account: DatabaseAccount, interval_seconds: float = SAMPLE_INTERVAL_SECONDS
    ):
        self._connection_string = admin_connection_string
        self._account = account
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="pg_stat_activity sampler", daemon=True)
        self._samples: list[ConnectionSample] = []
        self._error: BaseException | None = None

    @property
    def samples(self) -> tuple[ConnectionSample, ...]:
        """Every sample, timed in wall-clock seconds (`time.time()`)."""
        return tuple(self._samples)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise RuntimeError(f"sampling pg_stat_activity failed: {self._error}") from self._error

    def _sample(self) -> None:
        parameters = {"database": self._account.database, "role": self._account.app_user}
        try:
            with psycopg.connect(self._connection_string, autocommit=True) as connection:
                while True:
                    row = connection.execute(self.QUERY, parameters).fetchone()
                    assert row is not None  # an aggregate returns one row
                    self._samples.append(ConnectionSample(time.time(), row[0], row[1]))
                    if self._stop.wait(self._interval):
                        return
        except psycopg.Error as error:
            self._error = error


def check_invariants(runs: tuple[RunResult, ...], pool_size: int) -> tuple[Invariant, ...]:
    """What the lab must show: PgBouncer holds the server connections to its pool; the cache
    hits more than half the time and makes p95 at least twice better, in the same pooling mode."""
    invariants = []
    for run in runs:
        if run.plan.pooled:
            invariants.append(
                Invariant(
                    f"{run.plan.name}: server connections within PgBouncer's pool",
                    run.peak_server_connections <= pool_size,
                    f"peak {run.peak_server_connections}, pool {pool_size} (no reserve pool)",
                )
            )
        if run.plan.cache:
            rate = run.hit_rate
            invariants.append(
                Invariant(
                    f"{run.plan.name}: cache hit rate above {MIN_HIT_RATE:.0%}",
                    rate is not None and rate > MIN_HIT_RATE,
                    f"{run.cache_hits} hits, {run.cache_misses} misses" + (f": {rate:.1%}" if rate is not None else ""),
                )
            )
    for pooled in (False, True):
        without = next((run for run in runs if run.plan.pooled == pooled and not run.plan.cache), None)
        with_cache = next((run for run in runs if run.plan.pooled == pooled and run.plan.cache), None)
        if without is None or with_cache is None:
            continue
        factor = without.p95_ms / with_cache.p95_ms if with_cache.p95_ms > 0 else float("inf")
        invariants.append(
            Invariant(
                f"{'pgbouncer' if pooled else 'direct'}: the cache makes p95 at least {P95_IMPROVEMENT_FACTOR:g}x "
                "better",
                factor >= P95_IMPROVEMENT_FACTOR,
                f"p95 {without.p95_ms:.0f} ms without, {with_cache.p95_ms:.0f} ms with: {factor:.1f}x",
            )
        )
    return tuple(invariants)


def read_latency_history(csv_prefix: Path, clock_zero: float) -> tuple[LatencySample, ...]:
    """Locust's per-second history of the aggregated statistics, in seconds from `clock_zero`
    (a `time.time()`)."""
    path = Path(f"{csv_prefix}_stats_history.csv")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get("Name") == "Aggregated"]
    except FileNotFoundError:
        return ()
    return tuple(
        LatencySample(
            at_seconds=round(_number(row.get("Timestamp")) - clock_zero, 3),
            users=int(_number(row.get("User Count"))),
            requests_per_second=_number(row.get("Requests/s")),
            p50_ms=_number(row.get("50%")),
            p95_ms=_number(row.get("95%")),
        )
        for row in rows
    )


def _create_application_database(database: ManagedServer, account: DatabaseAccount) -> None:
    with psycopg.connect(servers.admin_connection_string(database), autocommit=True) as connection:
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(account.app_user),
                sql.Literal(account.app_password),
            )
        )
        connection.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(account.database),
                sql.Identifier(account.app_user),
            )
        )


def _connection_string(port: int, account: DatabaseAccount) -> str:
    return make_conninfo(
        host=LOOPBACK,
        port=port,
        dbname=account.database,
        user=account.app_user,
        password=account.app_password,
        application_name="omni-reference-api",
    )


def _keyspace_counters(client: redis.Redis) -> tuple[int, int]:
    stats: dict[str, Any] = client.info("stats")  # type: ignore[assignment]  # the sync client returns a dict
    return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])


@contextmanager
def _locust_options(*, full_history: bool, reset_stats: bool) -> Iterator[None]:
    """Locust options the runner has no setting for, through Locust's environment variables, for
    this block only. Full history: `_stats_history.csv` then reports percentiles over Locust's
    recent window (10 s) instead of since the start, which would drag the ramp-up into every
    later point of the latency chart. Reset stats: statistics restart when the last user arrives."""
    wanted = {LOCUST_FULL_HISTORY: full_history, LOCUST_RESET_STATS: reset_stats}
    previous = {name: os.environ.get(name) for name in wanted}
    for name, enabled in wanted.items():
        if enabled:
            os.environ[name] = "true"
        else:
            os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _app_cache_lookups(api_url: str) -> tuple[int, int]:
    """Hits and misses the API's `/metrics` reports, summed over its instances."""
    with urllib.request.urlopen(f"{api_url}/metrics", timeout=5) as response:
        text = response.read().decode("utf-8")
    counted = {"hit": 0.0, "miss": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == catalogue.CACHE_REQUESTS.name and sample.labels.get("result") in counted:
                counted[sample.labels["result"]] += sample.value
    return round(counted["hit"]), round(counted["miss"])


def _pid(server: ManagedServer) -> int:
    assert server.pid is not None  # set once the server started
    return server.pid


def _slug(name: str) -> str:
    return "".join(character if character.isalnum() else "-" for character in name).strip("-").replace("--", "-")


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0
