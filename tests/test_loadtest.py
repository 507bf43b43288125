"""The Locust suite (`loadtest/`) and `omni loadtest run`: users, shapes, limits, real headless runs.

The real runs start Locust against a small API served by the test on 127.0.0.1, for a few
seconds each, and check that no Locust process outlives them.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# The suite's modules import Locust, which patches the standard library with gevent on import;
# these tests only inspect classes, so the pytest process stays unpatched (the runner's Locust
# processes are patched as usual).
os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"

import pytest
from locust.util.load_locustfile import load_locustfile
from typer.testing import CliRunner

from cli.main import app
from loadtest import SUITE_FILES, config
from loadtest.config import SuiteSettings, settings_from_env
from loadtest.runner import (
    LOCUSTFILE,
    LoadTestInputError,
    RunSettings,
    input_problems,
    parse_duration,
    run_load_test,
)
from loadtest.shape_plans import SHAPES, Plan, UnknownShapeError, step
from loadtest.shapes import shape_class
from loadtest.thresholds import Totals, breaches
from localrun.ports import free_port

SUITE_DIR = LOCUSTFILE.parent


# --- the suite ---------------------------------------------------------------------------


def load_suite(monkeypatch: pytest.MonkeyPatch, **variables: str) -> tuple[dict[str, Any], list[Any]]:
    for name in (config.ENV_SHAPE, config.ENV_API_KEY):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return load_locustfile(str(LOCUSTFILE))


def test_the_locustfile_defines_the_four_kinds_of_users_with_the_configured_weights(monkeypatch):
    users, shapes = load_suite(monkeypatch)
    assert {name: cls.weight for name, cls in users.items()} == {
        "CachedReader": config.CACHED_READERS.weight,
        "UncachedReader": config.UNCACHED_READERS.weight,
        "Writer": config.WRITERS.weight,
        "TaskSubmitter": config.TASK_SUBMITTERS.weight,
    }
    assert shapes == []  # no shape named: Locust ramps up to --users at --spawn-rate


def test_a_shape_named_in_the_environment_is_the_one_shape_locust_finds(monkeypatch):
    _, shapes = load_suite(monkeypatch, **{config.ENV_SHAPE: "spike"})
    assert [type(shape).__name__ for shape in shapes] == ["SpikeShape"]


def test_the_suite_imports_only_locust_the_standard_library_and_itself():
    # The ConfigMap ships these files alone into the Locust image.
    allowed = {
        "locust",
        "loadtest",
        "__future__",
        "collections",
        "csv",
        "dataclasses",
        "logging",
        "math",
        "os",
        "random",
        "time",
        "typing",
        "uuid",
    }
    for name in SUITE_FILES:
        tree = ast.parse((SUITE_DIR / name).read_text())
        imported = {
            (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        assert imported <= allowed, f"{name} imports {imported - allowed}"


def test_every_route_is_defined_once_in_the_config():
    assert len({(route.method, route.path) for route in config.ROUTES}) == len(config.ROUTES)
    source = (SUITE_DIR / "locustfile.py").read_text()
    assert not re.search(r"[\"']/v1/", source), "routes belong in loadtest/config.py"


def test_malformed_settings_in_the_environment_name_the_variable():
    with pytest.raises(ValueError, match=config.ENV_P95_LIMIT_MS):
        settings_from_env({config.ENV_P95_LIMIT_MS: "fast"})
    with pytest.raises(ValueError, match="between 0 and 1"):
        settings_from_env({config.ENV_ERROR_RATIO_LIMIT: "5"})
    assert settings_from_env({}) == SuiteSettings()


# --- shapes ------------------------------------------------------------------------------

PLAN = Plan(users=100, spawn_rate=10, run_seconds=100)


@pytest.mark.parametrize(
    ("shape", "second", "expected"),
    [
        ("ramp", 10, (25, 10)),
        ("ramp", 30, (50, 10)),
        ("ramp", 60, (75, 10)),
        ("ramp", 99, (100, 10)),
        ("spike", 20, (20, 10)),
        ("spike", 50, (100, 100)),  # everyone at once
        ("spike", 70, (20, 20)),
        ("soak", 5, (100, 10)),  # spread over the first tenth: 100 users in 10 s
        ("soak", 80, (100, 10)),
    ],
)
def test_a_shape_sets_the_expected_users_at_each_moment(shape, second, expected):
    instance = shape_class(shape)(plan=PLAN)
    instance.start_time = time.perf_counter() - second  # as if the run began `second` seconds ago
    assert instance.tick() == expected


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_ends_with_the_run_time(shape):
    assert step(SHAPES[shape], PLAN, 100.5) is None


def test_a_shape_never_drops_to_zero_users():
    tiny = Plan(users=1, spawn_rate=1, run_seconds=60)
    assert all(step(SHAPES[name], tiny, second)[0] >= 1 for name in SHAPES for second in range(60))  # type: ignore[index]


def test_an_unknown_shape_is_refused_with_the_known_names():
    with pytest.raises(UnknownShapeError, match="ramp, spike, soak"):
        shape_class("zigzag")


# --- thresholds --------------------------------------------------------------------------


def test_a_run_under_both_limits_passes():
    assert breaches(Totals(requests=1000, failures=9, p95_ms=499), p95_limit_ms=500, error_ratio_limit=0.01) == []


def test_a_p95_at_the_limit_fails():
    assert breaches(Totals(1000, 0, 500), p95_limit_ms=500, error_ratio_limit=0.01) == [
        "p95 latency 500 ms is not under 500 ms"
    ]


def test_an_error_ratio_of_one_percent_fails():
    (reason,) = breaches(Totals(1000, 10, 100), p95_limit_ms=500, error_ratio_limit=0.01)
    assert reason.startswith("error ratio 1.00% (10 of 1000 requests)")


def test_a_run_without_requests_fails():
    assert breaches(Totals(0, 0, 0), p95_limit_ms=500, error_ratio_limit=0.01)


# --- bad input ---------------------------------------------------------------------------


def settings(tmp_path: Path, **changes: Any) -> RunSettings:
    base: dict[str, Any] = {
        "host": "http://127.0.0.1:1",
        "users": 5,
        "spawn_rate": 5,
        "duration_seconds": 4,
        "report_dir": tmp_path / "report",
    }
    return RunSettings(**{**base, **changes})


def test_durations_read_like_locusts_run_time():
    assert [parse_duration(text) for text in ("90", "90s", "5m", "1h30m")] == [90, 90, 300, 5400]
    with pytest.raises(ValueError, match="like 90s"):
        parse_duration("soon")


def test_every_bad_setting_is_named_at_once(tmp_path):
    problems = input_problems(settings(tmp_path, host="api.example.com", users=0, spawn_rate=0, shape="zigzag"))
    assert len(problems) == 4
    assert any("--users must be at least 1, not 0" in problem for problem in problems)
    assert any("no load shape named 'zigzag'" in problem for problem in problems)


def test_bad_input_starts_nothing(tmp_path):
    with pytest.raises(LoadTestInputError, match="--users must be at least 1"):
        run_load_test(settings(tmp_path, users=0))
    assert not (tmp_path / "report").exists()


def test_an_unreachable_host_fails_fast_with_a_clear_message(tmp_path):
    started = time.monotonic()
    with pytest.raises(LoadTestInputError, match=r"cannot reach http://127\.0\.0\.1:\d+/healthz: .*Connection refused"):
        run_load_test(settings(tmp_path, host=f"http://127.0.0.1:{free_port()}"))
    assert time.monotonic() - started < 5
    assert not (tmp_path / "report").exists()


def test_a_taken_web_port_is_refused(tmp_path, api):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LoadTestInputError, match=f"127.0.0.1:{port} is already in use"):
            run_load_test(settings(tmp_path, host=api.url, web_port=port))
    assert not (tmp_path / "report").exists()


def test_an_unhealthy_host_is_refused(tmp_path, api):
    api.healthy = False
    with pytest.raises(LoadTestInputError, match="answered 503"):
        run_load_test(settings(tmp_path, host=api.url))


# --- real runs ---------------------------------------------------------------------------


class BurstServer(ThreadingHTTPServer):
    # The standard library's listen backlog is 5: a burst of new users would wait a second for SYN retries.
    request_queue_size = 128
    daemon_threads = True


class FakeApi:
    """The routes of loadtest/config.py on 127.0.0.1, answering as a healthy API would."""

    def __init__(self) -> None:
        self.healthy = True
        self.delay_seconds = 0.0
        self.ids = itertools.count(1)
        self.answered = 0  # requests of the suite's routes (not the pre-flight health check)
        self._lock = threading.Lock()
        handler = self._handler()
        self.server = BurstServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, method: str, path: str) -> tuple[int, Any]:
        if path == "/healthz":
            return (200, {"status": "ok"}) if self.healthy else (503, {"status": "down"})
        with self._lock:
            self.answered += 1
        time.sleep(self.delay_seconds)
        if method == "GET" and re.fullmatch(r"/v1/items/\d+", path):
            return 200, {"id": int(path.rsplit("/", 1)[1])}
        if method == "GET" and path.startswith("/v1/search?q="):
            return 200, []
        if method == "POST" and path == "/v1/items":
            return 201, {"id": next(self.ids)}
        if method == "POST" and path == "/v1/tasks":
            return 202, {"id": str(next(self.ids)), "status": "pending"}
        if method == "GET" and path.startswith("/v1/tasks/"):
            return 200, {"id": path.rsplit("/", 1)[1], "status": "succeeded"}
        return 404, {"error": "no route"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload = api.answer(self.command, self.path)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def locust_processes_writing_to(directory: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "locust" in command and str(directory) in command:
                found.append(int(entry.name))
    return found


def test_omni_loadtest_run_passes_against_a_healthy_api_and_writes_csv_and_html_reports(tmp_path, api):
    result = CliRunner().invoke(
        app,
        [
            "loadtest",
            "run",
            "--host",
            api.url,
            "--users",
            "6",
            "--spawn-rate",
            "6",
            "--duration",
            "4s",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"^\s+\d/4 s  users 6  [\d.]+ req/s  p95 \d+ ms  requests [1-9]", result.output, re.MULTILINE), (
        result.output
    )  # progress
    assert "passed" in result.output
    (run_dir,) = tmp_path.iterdir()
    assert f"report: {run_dir / 'report.html'}" in result.output
    assert "<html" in (run_dir / "report.html").read_text().lower()
    for suffix in ("stats", "stats_history", "failures", "exceptions"):
        assert (run_dir / f"stats_{suffix}.csv").is_file()
    assert locust_processes_writing_to(tmp_path) == []


def test_a_slow_api_breaks_the_p95_limit_and_the_run_returns_the_stats_and_exit_code_1(tmp_path, api):
    api.delay_seconds = 0.6
    result = run_load_test(settings(tmp_path, host=api.url, users=4, spawn_rate=4, duration_seconds=4))
    assert not result.passed
    assert result.exit_code == 1
    assert result.total.requests > 0
    assert result.total.failures == 0
    assert result.total.p95_ms >= 500
    assert result.breaches == (f"p95 latency {result.total.p95_ms:.0f} ms is not under 500 ms",)
    assert {route.name for route in result.routes} >= {config.CACHED_READ.stats_name}
    assert json.loads(json.dumps(result.to_json()))["total"]["p95_ms"] == result.total.p95_ms
    assert locust_processes_writing_to(tmp_path) == []


def test_the_statistics_count_every_request_up_to_the_last_second(tmp_path, api):
    # Locust flushes its CSV every second; the suite rewrites it once the run has stopped.
    result = run_load_test(settings(tmp_path, host=api.url, users=8, spawn_rate=8, duration_seconds=3))
    assert result.passed
    assert result.total.requests == api.answered > 0


def test_omni_loadtest_run_refuses_bad_input_with_exit_code_2(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "loadtest",
            "run",
            "--host",
            "http://127.0.0.1:1",
            "--users",
            "0",
            "--shape",
            "zigzag",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "--users must be at least 1" in result.output
    assert "no load shape named 'zigzag'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_omni_loadtest_lists_the_run_command():
    result = CliRunner().invoke(app, ["loadtest", "--help"])
    assert result.exit_code == 0
    assert "run" in result.output


def test_a_shaped_run_follows_its_shape(tmp_path, api):
    result = run_load_test(settings(tmp_path, host=api.url, users=10, spawn_rate=5, duration_seconds=5, shape="spike"))
    assert result.passed, result.breaches
    log = result.log.read_text()
    assert "Shape test updating to 2 users" in log
    assert "Shape test updating to 10 users" in log
    assert locust_processes_writing_to(tmp_path) == []


def test_an_interrupted_run_leaves_no_locust_process(tmp_path, api):
    def interrupt_once_running(progress: Any) -> None:
        if locust_processes_writing_to(tmp_path):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_load_test(settings(tmp_path, host=api.url, duration_seconds=60), on_progress=interrupt_once_running)
    assert locust_processes_writing_to(tmp_path) == []
