"""The pooling and caching lab: a short smoke run on real PostgreSQL, PgBouncer and Redis checks
what the lab measures and its invariants; bad input is refused with nothing left running.

The full lab (200 users, 40 s per run) is the benchmark (docs/pooling-lab.md), not a test.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from lab.pooling_lab import check_invariants, run_pooling_lab
from lab.pooling_model import (
    RUNS,
    ConnectionSample,
    PoolingLabInputError,
    PoolingLabResult,
    PoolingLabSettings,
    RunResult,
)
from lab.servers import PGBOUNCER_BINARY, POSTGRES_BIN, REDIS_BINARY
from localrun.ports import LOOPBACK, PortInUseError

SMOKE_POOL_SIZE = 3
SMOKE_API_INSTANCES = 2
SMOKE_API_POOL_SIZE = 4

needs_servers = pytest.mark.skipif(
    not all(os.access(binary, os.X_OK) for binary in (f"{POSTGRES_BIN}/postgres", PGBOUNCER_BINARY, REDIS_BINARY)),
    reason="needs Debian's postgresql, pgbouncer and redis-server (scripts/apt-test-packages.txt)",
)


def _children_of_this_process() -> list[str]:
    """Command lines of the processes this test process started and that still exist."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            if int(fields.get("PPid", "0")) == os.getpid():
                children.append((status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
        except (OSError, ValueError):
            continue  # the process ended while being read
    return children


def _live_processes_in_group(group: int) -> list[int]:
    """Processes of this process group that still run. A zombie does not count: a worker whose
    supervisor died with it is reparented to PID 1 and reaped whenever PID 1 gets to it."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After the command's closing parenthesis: state, ppid, process group.
            state, _, process_group = stat.read_text().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):
            continue
        if int(process_group) == group and state != "Z":
            live.append(int(stat.parent.name))
    return live


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> PoolingLabResult:
    """The lab's four runs, small: 12 users, a 2 s warm-up and 4 s measured each, a PgBouncer
    pool of 3, two API instances that each keep 4 connections open, and 3 hot items."""
    settings = PoolingLabSettings(
        out_dir=tmp_path_factory.mktemp("pooling-lab"),
        users=12,
        duration_seconds=4,
        pool_size=SMOKE_POOL_SIZE,
        api_instances=SMOKE_API_INSTANCES,
        api_pool_size=SMOKE_API_POOL_SIZE,
        api_max_overflow=2,
        hot_items=3,
        warmup_seconds=2,
    )
    return run_pooling_lab(settings)


def _run(result: PoolingLabResult, pooled: bool, cache: bool) -> RunResult:
    return next(run for run in result.runs if run.plan.pooled == pooled and run.plan.cache == cache)


@needs_servers
def test_the_lab_makes_four_runs_that_all_serve_requests_without_errors(smoke: PoolingLabResult) -> None:
    assert [run.plan for run in smoke.runs] == list(RUNS)
    for run in smoke.runs:
        assert run.requests > 0, run.plan.name
        assert run.failures == 0, run.plan.name
        assert run.p95_ms >= run.p50_ms > 0
        assert run.connections
        assert run.latency


@needs_servers
def test_with_pgbouncer_server_connections_never_exceed_the_pool(smoke: PoolingLabResult) -> None:
    for cache in (False, True):
        pooled = _run(smoke, pooled=True, cache=cache)
        assert 0 < pooled.peak_server_connections <= SMOKE_POOL_SIZE
        assert all(sample.server_connections <= SMOKE_POOL_SIZE for sample in pooled.connections)
        # The same API straight to PostgreSQL holds every instance's pool open: the sampler
        # sees them, so the bound above is PgBouncer's doing, not a blind sampler's.
        direct = _run(smoke, pooled=False, cache=cache)
        assert direct.peak_server_connections >= SMOKE_API_INSTANCES * SMOKE_API_POOL_SIZE > SMOKE_POOL_SIZE
    bounds = [i for i in smoke.invariants if "within PgBouncer's pool" in i.name]
    assert len(bounds) == 2
    assert all(invariant.passed for invariant in bounds)


@needs_servers
def test_hit_rate_comes_from_redis_counters_and_agrees_with_the_api(smoke: PoolingLabResult) -> None:
    for pooled in (False, True):
        cached = _run(smoke, pooled=pooled, cache=True)
        # Redis's keyspace_hits/misses over the run equal the lookups the API counted in its own
        # catalogue metric: the counters measure the API's cache-aside reads and nothing else.
        assert (cached.cache_hits, cached.cache_misses) == (cached.app_cache_hits, cached.app_cache_misses)
        assert cached.cache_hits + cached.cache_misses > 0
        assert cached.hit_rate == cached.cache_hits / (cached.cache_hits + cached.cache_misses)
        assert cached.hit_rate is not None
        assert cached.hit_rate > 0.5
        uncached = _run(smoke, pooled=pooled, cache=False)
        assert (uncached.cache_hits, uncached.cache_misses, uncached.hit_rate) == (0, 0, None)


@needs_servers
def test_every_server_the_lab_started_is_stopped(smoke: PoolingLabResult) -> None:
    assert set(smoke.server_pids) >= {"postgresql", "pgbouncer", "redis"}
    assert len(smoke.server_pids) == 3 + len(RUNS)  # one reference API per run
    for name, pid in smoke.server_pids.items():
        # The whole process group: postgres's backends, uvicorn's workers.
        assert _live_processes_in_group(pid) == [], name
    assert _children_of_this_process() == []


@needs_servers
def test_the_lab_writes_results_json_and_a_self_contained_html_report(smoke: PoolingLabResult) -> None:
    written = json.loads(smoke.results_json.read_text())
    assert [run["run"] for run in written["runs"]] == [plan.name for plan in RUNS]
    assert written["passed"] == smoke.passed
    html = smoke.html_report.read_text()
    assert html.count("<svg viewBox") == 3  # connections, p95 and p50 over time
    assert all(plan.name in html for plan in RUNS)
    assert "<script" not in html
    assert "src=" not in html
    assert "href=" not in html  # nothing fetched


def _measured(
    name: str, *, pooled: bool, cache: bool, peak: int = 10, p95: float = 100.0, hits: int = 0, misses: int = 0
) -> RunResult:
    plan = next(plan for plan in RUNS if plan.pooled == pooled and plan.cache == cache)
    return RunResult(
        plan=replace(plan, name=name),
        peak_server_connections=peak,
        measured_peak_server_connections=peak,
        requests=100,
        failures=0,
        p50_ms=p95 / 2,
        p95_ms=p95,
        requests_per_second=10.0,
        cache_hits=hits,
        cache_misses=misses,
        app_cache_hits=hits,
        app_cache_misses=misses,
        connections=(ConnectionSample(0.0, peak, 0),),
        latency=(),
        measured_from_seconds=0.0,
        locust_report=Path("report.html"),
    )


def test_an_invariant_fails_when_pgbouncer_lets_through_more_than_its_pool() -> None:
    runs = (_measured("pgbouncer, cache off", pooled=True, cache=False, peak=21),)
    (bound,) = check_invariants(runs, pool_size=20)
    assert not bound.passed
    assert "peak 21, pool 20" in bound.detail


def test_an_invariant_fails_when_the_cache_hits_half_the_time_or_less() -> None:
    runs = (_measured("direct, cache on", pooled=False, cache=True, hits=50, misses=50),)
    (hit_rate,) = check_invariants(runs, pool_size=20)
    assert not hit_rate.passed
    assert "50.0%" in hit_rate.detail


def test_an_invariant_fails_when_the_cache_does_not_halve_p95_in_the_same_pooling_mode() -> None:
    runs = (
        _measured("direct, cache off", pooled=False, cache=False, p95=100.0),
        _measured("direct, cache on", pooled=False, cache=True, p95=60.0, hits=90, misses=10),
        _measured("pgbouncer, cache off", pooled=True, cache=False, p95=100.0, peak=20),
        _measured("pgbouncer, cache on", pooled=True, cache=True, p95=50.0, hits=90, misses=10, peak=20),
    )
    factors = {i.name: i.passed for i in check_invariants(runs, pool_size=20) if "p95" in i.name}
    assert factors == {
        "direct: the cache makes p95 at least 2x better": False,
        "pgbouncer: the cache makes p95 at least 2x better": True,
    }


def test_users_below_one_are_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(PoolingLabInputError, match="--users must be at least 1, not 0"):
        run_pooling_lab(PoolingLabSettings(out_dir=tmp_path / "lab", users=0))
    assert not (tmp_path / "lab").exists()
    assert _children_of_this_process() == []


def test_a_port_taken_by_another_process_is_named_and_nothing_is_left_running(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = PoolingLabSettings(out_dir=tmp_path / "lab", users=5)
        settings = replace(settings, ports=replace(settings.ports, pgbouncer=port))
        with pytest.raises(
            PortInUseError, match=f"{LOOPBACK}:{port} is already in use, so the lab cannot start PgBouncer"
        ):
            run_pooling_lab(settings)
    assert _children_of_this_process() == []


def test_cli_refuses_bad_input_with_a_clear_message_and_exit_code_2() -> None:
    result = CliRunner().invoke(cli_app, ["lab", "pooling", "--users", "0", "--duration", "0"])
    assert result.exit_code == 2
    assert "--users must be at least 1, not 0" in result.output
    assert "--duration must be at least 1 s, not 0 s" in result.output


def test_cli_lists_the_pooling_lab() -> None:
    result = CliRunner().invoke(cli_app, ["lab", "--help"])
    assert result.exit_code == 0
    assert "pooling" in result.output
