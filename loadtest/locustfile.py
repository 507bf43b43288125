"""The Omni API's load test: four kinds of users, an optional load shape, pass/fail limits.

Run it through `omni loadtest run` (which checks the input, reaches the host first and returns
the statistics), or with Locust itself from the repository's root:

    PYTHONPATH=. locust -f loadtest/locustfile.py --headless --host URL -u 50 -r 5 -t 2m

Routes, weights and think times are in `loadtest/config.py`; the run's settings (API key, shape,
limits) in `OMNI_LOADTEST_*` variables. When Locust quits, the limits decide its exit code: 0 when
p95 latency and the error ratio stay under them, 1 otherwise.
"""

from __future__ import annotations

import csv
import logging
import random
import time
import uuid
from typing import Any, cast

import locust.stats
from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtest import config
from loadtest.config import Route
from loadtest.shapes import shape_class
from loadtest.thresholds import Totals, breaches

# The runner's progress reads the CSV history: flush it every second, not every five (Locust's
# documented way to change the interval).
locust.stats.CSV_STATS_FLUSH_INTERVAL_SEC = 1

SETTINGS = config.settings_from_env()
HEADERS = {config.API_KEY_HEADER: SETTINGS.api_key} if SETTINGS.api_key else {}
logger = logging.getLogger("omni.loadtest")


class ApiUser(FastHttpUser):
    """Calls one route at a time and counts an unexpected status as a failure."""

    abstract = True

    def call(self, route: Route, *, body: dict[str, Any] | None = None, **fill: object) -> Any:
        """The decoded JSON body of a successful call, or None after a failure (already counted)."""
        path = route.path.format(**fill)
        with self.client.request(
            route.method, path, name=route.stats_name, json=body, headers=HEADERS, catch_response=True
        ) as response:
            if response.status_code != route.expect:
                response.failure(
                    f"{route.method} {route.stats_name}: expected {route.expect}, got {response.status_code}"
                )
                return None
            try:
                return response.json() if response.text else None
            except ValueError:
                response.failure(f"{route.method} {route.stats_name}: the body is not JSON")
                return None


class CachedReader(ApiUser):
    """Reads the same few hot items over and over: the API should serve them from Redis."""

    weight = config.CACHED_READERS.weight
    wait_time = between(*config.CACHED_READERS.think_seconds)

    @task
    def read_hot_item(self) -> None:
        self.call(config.CACHED_READ, id=random.randint(1, SETTINGS.hot_items))


class UncachedReader(ApiUser):
    """Searches for a term nobody asked for before: every one goes to the database."""

    weight = config.UNCACHED_READERS.weight
    wait_time = between(*config.UNCACHED_READERS.think_seconds)

    @task
    def search(self) -> None:
        self.call(config.UNCACHED_READ, query=uuid.uuid4().hex[:12])


class Writer(ApiUser):
    weight = config.WRITERS.weight
    wait_time = between(*config.WRITERS.think_seconds)

    @task
    def create_item(self) -> None:
        self.call(
            config.WRITE, body={"name": f"loadtest-{uuid.uuid4().hex[:12]}", "price_cents": random.randint(100, 99_999)}
        )


class TaskSubmitter(ApiUser):
    """Starts a background task, then polls it until it is done: the Celery path end to end."""

    weight = config.TASK_SUBMITTERS.weight
    wait_time = between(*config.TASK_SUBMITTERS.think_seconds)

    @task
    def submit_and_poll(self) -> None:
        submitted = self.call(
            config.SUBMIT_TASK, body={"kind": "reindex", "item_id": random.randint(1, SETTINGS.hot_items)}
        )
        if not isinstance(submitted, dict) or "id" not in submitted:
            return
        deadline = time.monotonic() + config.TASK_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(config.TASK_POLL_INTERVAL_SECONDS)  # gevent-patched: other users run meanwhile
            state = self.call(config.POLL_TASK, id=submitted["id"])
            status = state.get("status") if isinstance(state, dict) else None
            if status in (config.TASK_DONE, config.TASK_FAILED) or state is None:
                if status == config.TASK_FAILED:
                    events.request.fire(
                        request_type="TASK",
                        name="task failed",
                        response_time=0,
                        response_length=0,
                        exception=RuntimeError(f"task {submitted['id']} failed"),
                        context={},
                    )
                return
        events.request.fire(
            request_type="TASK",
            name="task timed out",
            response_time=config.TASK_TIMEOUT_SECONDS * 1000,
            response_length=0,
            exception=TimeoutError(f"task {submitted['id']} not done after {config.TASK_TIMEOUT_SECONDS:.0f} s"),
            context={},
        )


if SETTINGS.shape:
    # Locust plays the one shape class it finds in this module.
    LoadShape = shape_class(SETTINGS.shape)


@events.quitting.add_listener
def judge_run(environment: Environment, **_: object) -> None:
    """Set the exit code from the limits (on the master or a local run: workers see a part only)."""
    if isinstance(environment.runner, WorkerRunner):
        return
    total = environment.stats.total
    found = breaches(
        Totals(total.num_requests, total.num_failures, float(total.get_response_time_percentile(0.95) or 0)),
        p95_limit_ms=SETTINGS.p95_limit_ms,
        error_ratio_limit=SETTINGS.error_ratio_limit,
    )
    exceptions = len(environment.runner.exceptions) if environment.runner else 0
    if exceptions:
        found.append(f"the suite itself raised {exceptions} distinct exceptions (see the log)")
    for reason in found:
        logger.error("limit broken: %s", reason)
    environment.process_exit_code = 1 if found else 0


_final_stats: dict[str, Environment] = {}


@events.init.add_listener
def remember_environment(environment: Environment, **_: object) -> None:
    _final_stats["environment"] = environment


@events.quit.add_listener
def write_final_statistics(exit_code: int, **_: object) -> None:
    """Rewrite `<csv prefix>_stats.csv` once the runner has stopped: Locust's own writer only
    flushes it every interval, so the file would miss the run's last second."""
    environment = _final_stats.get("environment")
    options = environment.parsed_options if environment else None
    prefix = getattr(options, "csv_prefix", None)
    if environment is None or not prefix or isinstance(environment.runner, WorkerRunner):
        return
    with open(f"{prefix}_stats.csv", "w", newline="", encoding="utf-8") as handle:
        writer = cast(locust.stats.CSVWriter, csv.writer(handle))  # csv writes rows of any values
        locust.stats.StatsCSV(environment, locust.stats.PERCENTILES_TO_REPORT).requests_csv(writer)
