"""A stand-in for the Omni API and its Celery workers: synthetic traffic, real metrics, switchable faults.

An internal load loop plays API requests and Celery tasks at a steady rate; each one follows the
current `Faults` (error ratio, slow ratio, live workers, cache hit ratio) and is recorded in the
catalogue's app metrics, which `/metrics` exposes in the Prometheus text format. Durations are
drawn, not slept: the service measures nothing of its own, it plays what the real one would report.

HTTP endpoints:
- `GET /metrics`: the app metrics;
- `GET /faults`: the current faults as JSON;
- `PUT /faults`: replace them with a JSON object of `Faults` fields (missing ones healthy);
- `POST /faults/<name>`: switch to a named fault (`full-outage`, ..., `healthy`);
- `GET /healthz`: 200 while the load loop runs.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from lab.app_metrics import AppMetrics
from lab.faults import HEALTHY, NAMED_FAULTS, Faults
from localrun.http_server import BackgroundHTTPServer, RawResponse

# The `service` label values the rules select on: the API and the Celery workers.
API_SERVICE = "api"
WORKER_SERVICE = "worker"

ROUTES = (("/v1/items", "GET"), ("/v1/items/{id}", "GET"), ("/v1/orders", "POST"), ("/v1/search", "GET"))
TENANTS = ("acme", "globex", "initech")
TASKS = ("omni.tasks.send_webhook", "omni.tasks.reindex_item")
CACHE_NAME = "items"
QUEUE_NAME = "celery"
DB_POOL_SIZE = 20
# Every answered request is one usage event of one `request` unit; each tenant's monthly quota.
UNIT_KIND = "request"
MONTHLY_QUOTA = 50_000_000

TICK_SECONDS = 0.2
SNAPSHOT_SECONDS = 1.0  # resolution of the ingestion delay
HEALTHY_MEDIAN_SECONDS = 0.04  # a healthy request's typical duration
SLOW_SECONDS = (0.6, 2.5)  # a slow request lands past the 500 ms latency SLO, in this range


class TrafficSimulator:
    """Plays requests and tasks into `AppMetrics`, following the faults of the moment."""

    def __init__(
        self, metrics: AppMetrics, *, requests_per_second: float = 40, tasks_per_second: float = 5, seed: int = 0
    ):
        self.metrics = metrics
        self.requests_per_second = requests_per_second
        self.tasks_per_second = tasks_per_second
        self._random = random.Random(seed)
        self._request_debt = 0.0  # fractional requests carried to the next tick
        self._task_debt = 0.0
        self._queue_length = 0.0
        metrics.usage_publish_failures.labels(service=API_SERVICE)  # exposed at 0 from the start
        for tenant in TENANTS:
            metrics.tenant_quota.labels(service=API_SERVICE, tenant=tenant, unit_kind=UNIT_KIND).set(MONTHLY_QUOTA)

    def advance(self, seconds: float, faults: Faults) -> None:
        """Play `seconds` of traffic under `faults`."""
        self._request_debt += self.requests_per_second * seconds
        requests, self._request_debt = int(self._request_debt), self._request_debt % 1
        total_duration = sum(self._request(faults) for _ in range(requests))
        # Little's law: requests in flight = arrival rate x mean time in the system.
        in_flight = total_duration / seconds if seconds > 0 else 0.0
        self.metrics.http_requests_in_flight.labels(service=API_SERVICE).set(round(in_flight))
        in_use = min(DB_POOL_SIZE, round(in_flight))
        self.metrics.db_pool_connections.labels(service=API_SERVICE, state="in_use").set(in_use)
        self.metrics.db_pool_connections.labels(service=API_SERVICE, state="idle").set(DB_POOL_SIZE - in_use)

        self._task_debt += self.tasks_per_second * seconds
        arrived, self._task_debt = int(self._task_debt), self._task_debt % 1
        self._tasks(arrived, faults)

    def _request(self, faults: Faults) -> float:
        rnd = self._random
        route, method = rnd.choice(ROUTES)
        tenant = rnd.choice(TENANTS)
        code = "200"
        if rnd.random() < faults.error_ratio:
            code = "500"
        elif rnd.random() < 0.02:
            code = "404"  # some client errors: they count as good
        if rnd.random() < faults.slow_ratio:
            duration = rnd.uniform(*SLOW_SECONDS)
        else:
            duration = min(rnd.lognormvariate(0, 0.6) * HEALTHY_MEDIAN_SECONDS, 0.45)
        m = self.metrics
        m.http_requests.labels(service=API_SERVICE, route=route, method=method, code=code).inc()
        m.http_request_duration.labels(service=API_SERVICE, route=route, method=method).observe(duration)
        m.tenant_requests.labels(service=API_SERVICE, tenant=tenant, route=route, code=code).inc()
        if code != "500":
            m.usage_events_published.labels(service=API_SERVICE, unit_kind=UNIT_KIND).inc()
            m.tenant_units.labels(service=API_SERVICE, tenant=tenant, unit_kind=UNIT_KIND).inc()
        if method == "GET":
            result = "hit" if rnd.random() < faults.cache_hit_ratio else "miss"
            m.cache_requests.labels(service=API_SERVICE, cache=CACHE_NAME, result=result).inc()
        m.db_pool_wait.labels(service=API_SERVICE).observe(rnd.expovariate(1 / 0.002))
        return duration

    def _tasks(self, arrived: int, faults: Faults) -> None:
        rnd = self._random
        m = self.metrics
        self._queue_length += arrived
        if faults.live_workers > 0:
            # Live workers keep up: they finish what arrived and drain any backlog quickly.
            finished = min(int(self._queue_length), arrived + 10 * faults.live_workers)
            self._queue_length -= finished
            for _ in range(finished):
                task = rnd.choice(TASKS)
                draw = rnd.random()
                state = "failed" if draw < 0.001 else "retried" if draw < 0.003 else "succeeded"
                m.celery_tasks.labels(service=WORKER_SERVICE, task=task, state=state).inc()
                m.celery_task_duration.labels(service=WORKER_SERVICE, task=task).observe(rnd.expovariate(1 / 0.3))
                m.celery_task_queue_wait.labels(service=WORKER_SERVICE, task=task).observe(rnd.expovariate(1 / 0.05))
        m.celery_queue_length.labels(service=WORKER_SERVICE, queue=QUEUE_NAME).set(self._queue_length)
        m.celery_workers.labels(service=WORKER_SERVICE).set(faults.live_workers)


class DemoService:
    """The demo service on 127.0.0.1:`port` (0: a free port), with its load loop, until closed."""

    def __init__(
        self, *, port: int = 0, seed: int = 0, requests_per_second: float = 40, metrics_delay_seconds: float = 0
    ):
        # Ingestion delay: `/metrics` serves what the service reported this long ago, as a
        # scrape that lands in Managed Prometheus `metrics_delay_seconds` late would show it.
        self.metrics_delay_seconds = metrics_delay_seconds
        self._snapshots: deque[tuple[float, bytes]] = deque()
        self.registry = CollectorRegistry()
        self.metrics = AppMetrics(self.registry)
        self._simulator = TrafficSimulator(self.metrics, requests_per_second=requests_per_second, seed=seed)
        self._faults = HEALTHY
        self._server = BackgroundHTTPServer(self._handle, port=port, what="the demo service")
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults) -> None:
        self._faults = faults  # one reference swap: the load loop reads either the old or the new

    def start(self) -> None:
        self._server.start()
        self._stop.clear()
        self._loop = threading.Thread(target=self._run_load, name="demo load loop", daemon=True)
        self._loop.start()

    def close(self) -> None:
        self._stop.set()
        if self._loop is not None:
            self._loop.join(timeout=5)
            self._loop = None
        self._server.close()

    def _run_load(self) -> None:
        last = time.monotonic()
        self._simulator.advance(0, self._faults)  # every series exists from the first scrape
        self._snapshot(last)
        while not self._stop.wait(TICK_SECONDS):
            now = time.monotonic()
            self._simulator.advance(now - last, self._faults)
            last = now
            self._snapshot(now)

    def _snapshot(self, now: float) -> None:
        """Keep the metrics text of each second for the ingestion delay (none without one)."""
        if self.metrics_delay_seconds <= 0 or (self._snapshots and now - self._snapshots[-1][0] < SNAPSHOT_SECONDS):
            return
        self._snapshots.append((now, generate_latest(self.registry)))
        while len(self._snapshots) > 1 and self._snapshots[1][0] <= now - self.metrics_delay_seconds:
            self._snapshots.popleft()

    def metrics_text(self) -> bytes:
        """What a scrape reads now: the live metrics, or those of `metrics_delay_seconds` ago."""
        if self.metrics_delay_seconds <= 0 or not self._snapshots:
            return generate_latest(self.registry)
        return self._snapshots[0][1]

    def _handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method == "GET" and path == "/metrics":
            return 200, RawResponse(self.metrics_text(), CONTENT_TYPE_LATEST)
        if method == "GET" and path == "/healthz":
            alive = self._loop is not None and self._loop.is_alive()
            return (200, {"status": "ok"}) if alive else (503, {"status": "load loop stopped"})
        if method == "GET" and path == "/faults":
            return 200, self._faults.to_json()
        if method == "PUT" and path == "/faults":
            try:
                data = json.loads(body or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("the body must be a JSON object of fault settings")
                self.set_faults(Faults.from_json(data))
            except (ValueError, TypeError) as error:
                return 400, {"error": str(error)}
            return 200, self._faults.to_json()
        if method == "POST" and path.startswith("/faults/"):
            name = path.removeprefix("/faults/")
            if name not in NAMED_FAULTS:
                return 404, {"error": f"no fault named {name!r}; known: {sorted(NAMED_FAULTS)}"}
            self.set_faults(NAMED_FAULTS[name])
            return 200, self._faults.to_json()
        return 404, {"error": f"no route {method} {path}"}

    def __enter__(self) -> DemoService:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
