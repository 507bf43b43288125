"""The pooling lab's settings, runs and results: what `pooling_lab` measures and `pooling_report` draws."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class PoolingLabInputError(ValueError):
    """The lab was refused before anything started; the message says what to change."""


@dataclass(frozen=True)
class RunPlan:
    """One of the lab's runs: how the API reaches the database, and whether it caches."""

    name: str
    pooled: bool  # through PgBouncer; False: straight to PostgreSQL
    cache: bool


RUNS = (
    # Direct runs first: PgBouncer keeps idle server connections after a run, which would count
    # against a direct run that came after it.
    RunPlan("direct, cache off", pooled=False, cache=False),
    RunPlan("direct, cache on", pooled=False, cache=True),
    RunPlan("pgbouncer, cache off", pooled=True, cache=False),
    RunPlan("pgbouncer, cache on", pooled=True, cache=True),
)


@dataclass(frozen=True)
class LabPorts:
    """Ports on 127.0.0.1; 0: a free one."""

    postgres: int = 0
    pgbouncer: int = 0
    redis: int = 0
    api: int = 0


@dataclass(frozen=True)
class PoolingLabSettings:
    out_dir: Path  # results.json, report.html and each run's Locust reports go here
    users: int = 200
    duration_seconds: int = 40  # per run, measured once every user has arrived
    # The users arrive over the warm-up (users / warmup_seconds per second), then Locust resets
    # its statistics (`--reset-stats`): latency and throughput are the steady state with every
    # user in, pools open and the cache filled. 0: every user at once and measured from the start.
    warmup_seconds: int = 10
    pool_size: int = 20  # PgBouncer's server connections (the API's DB_POOL_SIZE)
    api_instances: int = 4  # uvicorn workers, each an API instance with its own pool
    api_pool_size: int = 20  # connections each instance keeps open (api.dbPoolSize)
    api_max_overflow: int = 10  # api.dbMaxOverflow
    item_query_ms: float = 25.0  # what an uncached item read costs the database
    hot_items: int = 100  # the suite's cached reads pick ids 1..hot_items
    ports: LabPorts = field(default_factory=LabPorts)


@dataclass(frozen=True)
class ConnectionSample:
    at_seconds: float  # `time.time()` in the sampler; from the start of the load in `RunResult`
    server_connections: int  # client backends of the app's role on its database
    active: int  # of which running a query


@dataclass(frozen=True)
class LatencySample:
    at_seconds: float
    users: int
    requests_per_second: float
    p50_ms: float  # over Locust's recent window
    p95_ms: float


@dataclass(frozen=True)
class RunResult:
    plan: RunPlan
    peak_server_connections: int  # warm-up included: the bound must hold through a cold start
    measured_peak_server_connections: int  # once every user is in
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    requests_per_second: float
    # Redis's keyspace_hits and keyspace_misses over the whole run, warm-up included: the cache
    # is flushed before each run, so the rate counts the cold start against the cache.
    cache_hits: int
    cache_misses: int
    # The same lookups as the API counted them in its catalogue metric (omni_cache_requests_total):
    # a check that Redis's counters measure the API's cache and nothing else.
    app_cache_hits: int
    app_cache_misses: int
    connections: tuple[ConnectionSample, ...]  # in seconds from the start of the load
    latency: tuple[LatencySample, ...]  # the same clock
    measured_from_seconds: float  # when every user was in and Locust reset its statistics
    locust_report: Path

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def hit_rate(self) -> float | None:
        """None when the run made no lookup (cache off)."""
        lookups = self.cache_hits + self.cache_misses
        return self.cache_hits / lookups if lookups else None

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.plan.name,
            "pooled": self.plan.pooled,
            "cache": self.plan.cache,
            "peak_server_connections": self.peak_server_connections,
            "measured_peak_server_connections": self.measured_peak_server_connections,
            "requests": self.requests,
            "failures": self.failures,
            "error_ratio": self.error_ratio,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "requests_per_second": self.requests_per_second,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "hit_rate": self.hit_rate,
            "app_cache_hits": self.app_cache_hits,
            "app_cache_misses": self.app_cache_misses,
            "measured_from_seconds": self.measured_from_seconds,
            "connections": [asdict(sample) for sample in self.connections],
            "latency": [asdict(sample) for sample in self.latency],
            "locust_report": str(self.locust_report),
        }


@dataclass(frozen=True)
class Invariant:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PoolingLabResult:
    settings: PoolingLabSettings
    runs: tuple[RunResult, ...]
    invariants: tuple[Invariant, ...]
    server_pids: dict[str, int]  # every server the lab started, stopped by now
    results_json: Path
    html_report: Path
    duration_seconds: float

    @property
    def passed(self) -> bool:
        return all(invariant.passed for invariant in self.invariants)

    def to_json(self) -> dict[str, Any]:
        settings = asdict(self.settings)
        settings["out_dir"] = str(self.settings.out_dir)
        return {
            "passed": self.passed,
            "settings": settings,
            "runs": [run.to_json() for run in self.runs],
            "invariants": [asdict(invariant) for invariant in self.invariants],
            "duration_seconds": self.duration_seconds,
            "results_json": str(self.results_json),
            "html_report": str(self.html_report),
        }


def input_problems(settings: PoolingLabSettings) -> list[str]:
    """Every problem with the settings, found before anything starts."""
    problems = []
    if settings.users < 1:
        problems.append(f"--users must be at least 1, not {settings.users}")
    if settings.duration_seconds < 1:
        problems.append(f"--duration must be at least 1 s, not {settings.duration_seconds} s")
    if settings.warmup_seconds < 0:
        problems.append(f"--warmup must be 0 s or more, not {settings.warmup_seconds} s")
    if settings.pool_size < 1:
        problems.append(f"--pool-size must be at least 1, not {settings.pool_size}")
    if settings.api_instances < 1:
        problems.append(f"--api-instances must be at least 1, not {settings.api_instances}")
    if settings.api_pool_size < 1 or settings.api_max_overflow < 0:
        problems.append("the API's pool needs at least 1 connection and an overflow of 0 or more")
    if settings.item_query_ms < 0:
        problems.append(f"--item-query-ms must be 0 or more, not {settings.item_query_ms:g}")
    if settings.hot_items < 1:
        problems.append(f"hot items must be at least 1, not {settings.hot_items}")
    for name, port in asdict(settings.ports).items():
        if not 0 <= port <= 65535:
            problems.append(f"--{name}-port must be a TCP port (1-65535, or 0 for a free one), not {port}")
    return problems
