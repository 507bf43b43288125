"""Run the suite headless against a host and return its statistics as data.

`run_load_test` checks the input and reaches the host before it starts anything, runs Locust in
a process group of its own, reports progress while it runs, and stops the whole group however
the run ends (finished, failed, interrupted), so no Locust process outlives the call.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loadtest import config
from loadtest.config import SuiteSettings
from loadtest.results import RouteStats, Sample, latest_sample, read_stats
from loadtest.shape_plans import SHAPES
from loadtest.thresholds import breaches
from localrun.ports import LOOPBACK, PortInUseError, ensure_port_free
from localrun.processes import stop_process_group

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
PREFLIGHT_TIMEOUT_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 5  # users finish their current request before Locust stops
# Locust's start-up, plus its stop timeout and report writing, beyond the run time itself.
OVERRUN_SECONDS = 60.0
TERMINATE_GRACE_SECONDS = 10.0
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class LoadTestInputError(ValueError):
    """The run was refused before anything started; the message says what to change."""


class LoadTestRunError(RuntimeError):
    """Locust started but did not produce a result; the message carries the end of its log."""


@dataclass(frozen=True)
class RunSettings:
    host: str  # base URL of the API: `https://api.example.com`
    users: int
    spawn_rate: float  # users started per second
    duration_seconds: int
    report_dir: Path  # the CSV and HTML reports and Locust's log go here
    shape: str | None = None  # a name of `loadtest.shapes.SHAPES`; None: a steady ramp-up
    web_port: int | None = None  # also serve Locust's web UI on 127.0.0.1:PORT to watch the run
    suite: SuiteSettings = field(default_factory=SuiteSettings)


@dataclass(frozen=True)
class Progress:
    elapsed_seconds: float
    duration_seconds: int
    sample: Sample | None  # None until Locust has written its first statistics


@dataclass(frozen=True)
class LoadTestResult:
    passed: bool
    exit_code: int  # Locust's: 0 passed, 1 a limit broken
    breaches: tuple[str, ...]
    total: RouteStats
    routes: tuple[RouteStats, ...]
    html_report: Path
    csv_prefix: Path
    log: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "exit_code": self.exit_code,
            "breaches": list(self.breaches),
            "total": self.total.to_json(),
            "routes": [route.to_json() for route in self.routes],
            "html_report": str(self.html_report),
            "csv_prefix": str(self.csv_prefix),
            "log": str(self.log),
        }


def parse_duration(text: str) -> int:
    """`90`, `90s`, `5m`, `1h30m` → seconds; ValueError for anything else."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"duration {text!r} is not like 90s, 5m or 1h30m")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def input_problems(settings: RunSettings) -> list[str]:
    """Every problem with the settings, checked without touching the network."""
    problems = []
    url = urllib.parse.urlsplit(settings.host)
    if url.scheme not in ("http", "https") or not url.hostname:
        problems.append(f"--host {settings.host!r} is not an http(s) URL like https://api.example.com")
    if settings.users < 1:
        problems.append(f"--users must be at least 1, not {settings.users}")
    if settings.spawn_rate <= 0:
        problems.append(f"--spawn-rate must be above 0 users per second, not {settings.spawn_rate:g}")
    if settings.duration_seconds < 1:
        problems.append(f"--duration must be at least 1 s, not {settings.duration_seconds} s")
    if settings.shape is not None and settings.shape not in SHAPES:
        problems.append(
            f"no load shape named {settings.shape!r}; choose one of {', '.join(SHAPES)} (or none: a steady ramp-up)"
        )
    if settings.web_port is not None and not 1 <= settings.web_port <= 65535:
        problems.append(f"--web-port must be a TCP port (1-65535), not {settings.web_port}")
    return problems


def check_host(host: str, health_path: str = config.HEALTH.path, timeout: float = PREFLIGHT_TIMEOUT_SECONDS) -> None:
    """Raise LoadTestInputError unless `GET <host><health_path>` answers 2xx: a run against a
    host that is down or wrong would only measure connection errors."""
    url = host.rstrip("/") + health_path
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise LoadTestInputError(
            f"cannot reach {url}: {reason}. Is the API running, and is --host right? Nothing was started."
        ) from None
    if not 200 <= status < 300:
        raise LoadTestInputError(f"{url} answered {status}: the API is not healthy, so nothing was started")


def locust_command(settings: RunSettings, csv_prefix: Path, html_report: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--host",
        settings.host,
        "--users",
        str(settings.users),
        "--spawn-rate",
        f"{settings.spawn_rate:g}",
        "--run-time",
        f"{settings.duration_seconds}s",
        "--stop-timeout",
        str(STOP_TIMEOUT_SECONDS),
        "--csv",
        str(csv_prefix),
        "--html",
        str(html_report),
        "--only-summary",
    ]
    if settings.web_port is None:
        command.append("--headless")
    else:
        # The web UI stays up to watch the run, which starts at once and quits when it ends.
        command += ["--autostart", "--autoquit", "0", "--web-host", LOOPBACK, "--web-port", str(settings.web_port)]
    return command


def run_load_test(settings: RunSettings, on_progress: Callable[[Progress], None] | None = None) -> LoadTestResult:
    """Run the suite headless and return its statistics and verdict.

    Raises LoadTestInputError (nothing started) for bad settings, an unreachable or unhealthy
    host or a taken web port, and LoadTestRunError when Locust failed to produce a result.
    """
    problems = input_problems(settings)
    if problems:
        raise LoadTestInputError("; ".join(problems))
    if settings.web_port is not None:
        try:
            ensure_port_free(settings.web_port, "Locust's web UI")
        except PortInUseError as error:
            raise LoadTestInputError(str(error)) from None
    check_host(settings.host)

    report_dir = settings.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    csv_prefix, html_report, log_path = report_dir / "stats", report_dir / "report.html", report_dir / "locust.log"
    suite = replace(settings.suite, shape=settings.shape)
    suite_variables = suite.environment()
    environment = {
        **os.environ,
        **suite_variables,
        # The locustfile imports the `loadtest` package from the repository's root.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(LOCUSTFILE.parent.parent), os.environ.get("PYTHONPATH")])),
    }
    # Locust's users need gevent's patching, whatever the caller's environment turned off.
    environment.pop("LOCUST_SKIP_MONKEY_PATCH", None)
    for name in (config.ENV_SHAPE, config.ENV_API_KEY):
        if name not in suite_variables:
            environment.pop(name, None)  # a variable left in the caller's shell must not change this run

    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            locust_command(settings, csv_prefix, html_report),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            cwd=report_dir,
            start_new_session=True,
        )
    try:
        deadline = started + settings.duration_seconds + OVERRUN_SECONDS
        while process.poll() is None:
            if on_progress is not None:
                on_progress(Progress(time.monotonic() - started, settings.duration_seconds, latest_sample(csv_prefix)))
            if time.monotonic() > deadline:
                raise LoadTestRunError(
                    f"Locust was still running {OVERRUN_SECONDS:.0f} s after the run time:\n" + _tail(log_path)
                )
            time.sleep(0.5)
    finally:
        stop_locust(process)

    exit_code = process.returncode
    try:
        total, routes = read_stats(csv_prefix)
    except (FileNotFoundError, ValueError) as error:
        raise LoadTestRunError(
            f"Locust exited with code {exit_code} and no statistics ({error}):\n" + _tail(log_path)
        ) from None
    if exit_code not in (0, 1):
        raise LoadTestRunError(f"Locust exited with code {exit_code}:\n" + _tail(log_path))
    found = breaches(total.totals, p95_limit_ms=suite.p95_limit_ms, error_ratio_limit=suite.error_ratio_limit)
    if exit_code == 1 and not found:
        found = [f"Locust reported a failure of the suite itself: see {log_path}"]
    return LoadTestResult(
        passed=exit_code == 0 and not found,
        exit_code=exit_code,
        breaches=tuple(found),
        total=total,
        routes=routes,
        html_report=html_report,
        csv_prefix=csv_prefix,
        log=log_path,
    )


def stop_locust(process: subprocess.Popen[bytes]) -> None:
    """Stop Locust and anything it started: on SIGTERM Locust writes its reports first."""
    stop_process_group(process, TERMINATE_GRACE_SECONDS)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
